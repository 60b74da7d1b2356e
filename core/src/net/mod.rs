//! Connections to brokers: framing and pipelining ([`connection`]), TLS ([`tls`]), SASL
//! ([`sasl`]).

pub mod connection;
pub(crate) mod sasl;
pub mod tls;

pub use connection::{ApiVersions, Connection, Security};
