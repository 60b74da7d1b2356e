//! Schema registry serdes: a client for Confluent's registry API ([`client`]), the Confluent
//! wire format ([`wire`]), Avro ([`avro`]), JSON Schema ([`json`]) and Protobuf ([`protobuf`])
//! codecs over a value type
//! every binding can build from its dicts/objects ([`value`]), and serializers/deserializers
//! with confluent-kafka's settings ([`serde`]).
//!
//! Crates: `reqwest` (async HTTP on tokio, built with `rustls-no-provider` and given the
//! engine's rustls configuration with the ring provider, so one TLS stack serves Kafka and the
//! registry; no aws-lc-rs build); `apache-avro` only to parse schemas (names, namespaces,
//! references), with encoding, decoding and resolution done here over a form compiled once
//! per schema (pair); `jsonschema` without default features (no second HTTP/TLS stack).
//! Protobuf: `protox` compiles `.proto` text at run time in pure Rust (no `protoc` binary, no
//! build script; a custom file resolver serves imports from the registry references and the
//! well-known files) into a descriptor pool, and `prost-reflect` (same author, same `prost`
//! 0.14 underneath, the pair the `protox` docs are written for) encodes and decodes dynamic
//! messages over it. Both are maintained and need no C toolchain.

pub mod avro;
pub mod client;
pub mod error;
pub mod json;
pub mod protobuf;
pub mod serde;
pub mod value;
pub mod wire;

pub use client::{RegisteredSchema, RegistryClient, RegistryConfig, Schema, SchemaReference, SchemaType};
pub use protobuf::{MessageRef, ProtobufSchema};
pub use error::{SchemaError, SchemaErrorKind, SchemaResult};
pub use serde::{Deserializer, SerdeConfig, Serializer};
pub use value::Value;
pub use wire::{MessageField, SchemaId, SubjectNameStrategy};
