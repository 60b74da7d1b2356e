//! How keys and values are shown: text, base64, raw bytes, or decoded through the schema registry
//! (the core's `schema` module) by the schema id in the record (its magic byte or its
//! `__key_schema_id`/`__value_schema_id` header).

use std::sync::Arc;

use polykafka::schema::wire::{self, MessageField, SchemaId};
use polykafka::schema::{Deserializer, RegistryClient, RegistryConfig, SchemaType, SerdeConfig};
use polykafka::ConsumerRecord;

use base64::Engine as _;

use crate::args::DataFormat;
use crate::output::Failure;

/// A field made ready for output.
pub enum Shown {
    Null,
    /// UTF-8 text, or JSON text of a decoded value (`json` true).
    Text { text: String, json: bool },
    Base64(String),
    Raw(Vec<u8>),
}

impl Shown {
    /// The bytes for plain or formatted output.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Shown::Null => b"",
            Shown::Text { text, .. } | Shown::Base64(text) => text.as_bytes(),
            Shown::Raw(b) => b,
        }
    }

    /// The JSON value and, when not plain text, its encoding name.
    pub fn json(&self) -> (serde_json::Value, Option<&'static str>) {
        match self {
            Shown::Null => (serde_json::Value::Null, None),
            Shown::Text { text, json: false } => (serde_json::Value::String(text.clone()), None),
            Shown::Text { text, json: true } => {
                (serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone())), Some("decoded"))
            }
            Shown::Base64(b) => (serde_json::Value::String(b.clone()), Some("base64")),
            Shown::Raw(b) => (serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b)), Some("base64")),
        }
    }
}

pub struct Decoder {
    key: DataFormat,
    value: DataFormat,
    registry: Option<Arc<RegistryClient>>,
    /// One deserializer per schema type, made on first use.
    deserializers: [Option<Deserializer>; 3],
    /// JSON output: bytes that are not text are base64 instead of raw.
    for_json: bool,
}

fn type_slot(t: SchemaType) -> usize {
    match t {
        SchemaType::Avro => 0,
        SchemaType::Json => 1,
        SchemaType::Protobuf => 2,
    }
}

impl Decoder {
    pub fn new(key: DataFormat, value: DataFormat, registry_url: Option<&str>, for_json: bool) -> Result<Decoder, Failure> {
        let needs = |f: DataFormat| matches!(f, DataFormat::Avro | DataFormat::Json | DataFormat::Protobuf);
        if (needs(key) || needs(value)) && registry_url.is_none() {
            return Err(Failure::Usage(
                "decoding through the schema registry needs its URL: --registry URL, SCHEMA_REGISTRY_URL or the profile's schema.registry.url".into(),
            ));
        }
        if for_json && (key == DataFormat::Raw || value == DataFormat::Raw) {
            return Err(Failure::Usage("raw bytes cannot go in JSON output (-J): use base64 or text".into()));
        }
        let registry = match registry_url {
            Some(url) => Some(Arc::new(
                RegistryClient::new(RegistryConfig::new(url)).map_err(|e| Failure::Usage(format!("schema registry {url}: {e}")))?,
            )),
            None => None,
        };
        Ok(Decoder { key, value, registry, deserializers: [None, None, None], for_json })
    }

    pub async fn key(&mut self, r: &ConsumerRecord) -> Result<Shown, Failure> {
        self.show(r, MessageField::Key, self.key).await
    }

    pub async fn value(&mut self, r: &ConsumerRecord) -> Result<Shown, Failure> {
        self.show(r, MessageField::Value, self.value).await
    }

    async fn show(&mut self, r: &ConsumerRecord, field: MessageField, format: DataFormat) -> Result<Shown, Failure> {
        let bytes = match field {
            MessageField::Key => r.key.as_deref(),
            MessageField::Value => r.value.as_deref(),
        };
        let Some(bytes) = bytes else { return Ok(Shown::Null) };
        let name = if field == MessageField::Key { "key" } else { "value" };
        let header = r.headers.iter().find(|h| h.key == field.header_name()).and_then(|h| h.value.as_deref());
        let here = || format!("{name} of {}-{}@{}", r.topic, r.partition, r.offset);
        let schema_type = match format {
            DataFormat::Avro => Some(SchemaType::Avro),
            DataFormat::Json => Some(SchemaType::Json),
            DataFormat::Protobuf => Some(SchemaType::Protobuf),
            DataFormat::Auto if self.registry.is_some() && (header.is_some() || bytes.len() >= 5 && bytes[0] == wire::MAGIC_BYTE) => {
                match self.writer_type(bytes, header).await {
                    Ok(t) => Some(t),
                    // Not registry framing after all (a text value starting with NUL, an id the
                    // registry does not know): shown as bytes, like any other.
                    Err(_) => None,
                }
            }
            _ => None,
        };
        if let Some(t) = schema_type {
            let text = self.decode(t, &r.topic, field, bytes, header).await.map_err(|e| Failure::Io(format!("{}: {e}", here())))?;
            return Ok(Shown::Text { text, json: true });
        }
        Ok(match format {
            DataFormat::Base64 => Shown::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
            DataFormat::Raw => Shown::Raw(bytes.to_vec()),
            DataFormat::Text => match std::str::from_utf8(bytes) {
                Ok(s) => Shown::Text { text: s.to_string(), json: false },
                Err(e) => return Err(Failure::Io(format!("{} is not UTF-8 text ({e}): use --{name}-format base64 or raw", here()))),
            },
            // Auto: text when it reads as text (UTF-8 without control characters but tab and
            // line ends), else base64 in JSON and the bytes as they are elsewhere.
            _ => match std::str::from_utf8(bytes) {
                Ok(s) if !s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) => {
                    Shown::Text { text: s.to_string(), json: false }
                }
                _ if self.for_json => Shown::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
                _ => Shown::Raw(bytes.to_vec()),
            },
        })
    }

    async fn writer_type(&self, bytes: &[u8], header: Option<&[u8]>) -> Result<SchemaType, String> {
        let registry = self.registry.as_ref().ok_or("no registry")?;
        let (id, _) = wire::read(bytes, header).map_err(|e| e.to_string())?;
        let schema = match id {
            SchemaId::Id(i) => registry.get_schema(i).await,
            SchemaId::Guid(g) => registry.get_schema_by_guid(&g).await,
        }
        .map_err(|e| e.to_string())?;
        Ok(schema.schema_type)
    }

    async fn decode(&mut self, t: SchemaType, topic: &str, field: MessageField, bytes: &[u8], header: Option<&[u8]>) -> Result<String, String> {
        let slot = type_slot(t);
        if self.deserializers[slot].is_none() {
            let client = self.registry.clone().ok_or("no schema registry")?;
            self.deserializers[slot] = Some(Deserializer::new(client, t, None, SerdeConfig::default()).map_err(|e| e.to_string())?);
        }
        let d = self.deserializers[slot].as_ref().ok_or("no deserializer")?;
        let v = d.deserialize(topic, field, bytes, header).await.map_err(|e| e.to_string())?;
        let j = v.to_json()?;
        Ok(j.to_string())
    }
}
