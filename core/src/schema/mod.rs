//! Schema registry serdes: a client for Confluent's registry API ([`client`]), the Confluent
//! wire format ([`wire`]), Avro ([`avro`]) and JSON Schema ([`json`]) codecs over a value type
//! every binding can build from its dicts/objects ([`value`]), and serializers/deserializers
//! with confluent-kafka's settings ([`serde`]).
//!
//! Crates: `reqwest` (async HTTP on tokio, built with `rustls-no-provider` and given the
//! engine's rustls configuration with the ring provider, so one TLS stack serves Kafka and the
//! registry; no aws-lc-rs build); `apache-avro` only to parse schemas (names, namespaces,
//! references), with encoding, decoding and resolution done here over a form compiled once
//! per schema (pair); `jsonschema` without default features (no second HTTP/TLS stack).

pub mod avro;
pub mod client;
pub mod error;
pub mod json;
pub mod serde;
pub mod value;
pub mod wire;

pub use client::{RegisteredSchema, RegistryClient, RegistryConfig, Schema, SchemaReference, SchemaType};
pub use error::{SchemaError, SchemaErrorKind, SchemaResult};
pub use serde::{Deserializer, SerdeConfig, Serializer};
pub use value::Value;
pub use wire::{MessageField, SchemaId, SubjectNameStrategy};
