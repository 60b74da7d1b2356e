//! Wire formats on top of the `kafka-protocol` crate: the record batch codec (v2, with
//! compression) lives in [`records`].

pub mod records;
