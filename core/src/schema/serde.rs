//! Serializers and deserializers as confluent-kafka has them: a schema format (Avro, JSON
//! Schema), a registry client and confluent-kafka's settings (`auto.register.schemas`,
//! `use.latest.version`, `use.schema.id`, `normalize.schemas`, `subject.name.strategy`,
//! `validate`). One call per value; the hot path takes the id and the compiled schema from a
//! map and makes no request after the first record of a subject.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::avro::{AvroSchema, Resolution};
use super::client::{RegistryClient, Schema, SchemaType};
use super::error::{SchemaError, SchemaResult};
use super::json::{parse_payload, JsonSchema};
use super::protobuf::{MessageRef, ProtobufSchema};
use super::value::Value;
use super::wire::{self, MessageField, SchemaId, SubjectNameStrategy};

/// The settings of a serializer or deserializer.
#[derive(Debug, Clone)]
pub struct SerdeConfig {
    pub auto_register_schemas: bool,
    pub use_latest_version: bool,
    pub use_schema_id: Option<i32>,
    pub normalize_schemas: bool,
    pub subject_name_strategy: SubjectNameStrategy,
    /// JSON Schema: validate values (on by default).
    pub validate: bool,
}

impl Default for SerdeConfig {
    fn default() -> Self {
        SerdeConfig {
            auto_register_schemas: true,
            use_latest_version: false,
            use_schema_id: None,
            normalize_schemas: false,
            subject_name_strategy: SubjectNameStrategy::TopicName,
            validate: true,
        }
    }
}

impl SerdeConfig {
    /// Parses confluent-kafka's serde `conf` (values as text: `true`/`false`, numbers, the
    /// strategy's name). `serializer` says which keys are allowed.
    pub fn from_properties<'a>(
        props: impl IntoIterator<Item = (&'a str, &'a str)>,
        format: SchemaType,
        serializer: bool,
    ) -> SchemaResult<SerdeConfig> {
        let mut c = SerdeConfig::default();
        let flag = |key: &str, v: &str| -> SchemaResult<bool> {
            match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(SchemaError::config(format!("{key} must be a boolean, got '{v}'"))),
            }
        };
        let mut unknown = Vec::new();
        for (k, v) in props {
            match (k, serializer) {
                ("auto.register.schemas", true) => c.auto_register_schemas = flag(k, v)?,
                ("normalize.schemas", true) => c.normalize_schemas = flag(k, v)?,
                ("use.schema.id", true) => {
                    c.use_schema_id = Some(v.trim().parse().map_err(|_| SchemaError::config(format!("use.schema.id must be an integer, got '{v}'")))?)
                }
                ("use.latest.version", _) => c.use_latest_version = flag(k, v)?,
                ("subject.name.strategy", _) => c.subject_name_strategy = SubjectNameStrategy::parse(v)?,
                ("validate", _) if format == SchemaType::Json => c.validate = flag(k, v)?,
                _ => unknown.push(k.to_string()),
            }
        }
        if !unknown.is_empty() {
            unknown.sort();
            return Err(SchemaError::config(format!("Unrecognized properties: {}", unknown.join(", "))));
        }
        if c.use_latest_version && c.auto_register_schemas && serializer {
            return Err(SchemaError::config("cannot enable both use.latest.version and auto.register.schemas"));
        }
        Ok(c)
    }
}

/// A compiled schema of either format.
#[derive(Debug)]
pub enum Compiled {
    Avro(AvroSchema),
    Json(JsonSchema),
    /// A Protobuf schema compiled from its `.proto` text: dynamic messages from values, and
    /// the framing of messages the binding encoded itself (generated classes).
    Protobuf(ProtobufSchema),
}

impl Compiled {
    /// Compiles `schema` with the texts of its references (dependencies first). Protobuf
    /// imports and JSON `$ref`s need the references' names: see [`Compiled::compile_named`].
    pub fn compile(schema: &Schema, references: &[String]) -> SchemaResult<Compiled> {
        let named: Vec<(String, String)> = references.iter().map(|t| (String::new(), t.clone())).collect();
        Compiled::compile_named(schema, &named)
    }

    /// Compiles `schema` with its references as `(name, text)`, dependencies first; the name is
    /// the reference's `name` (a Protobuf import path, a JSON Schema `$ref` URL).
    pub fn compile_named(schema: &Schema, references: &[(String, String)]) -> SchemaResult<Compiled> {
        match schema.schema_type {
            SchemaType::Avro => {
                let texts: Vec<String> = references.iter().map(|(_, t)| t.clone()).collect();
                Ok(Compiled::Avro(AvroSchema::parse(&schema.schema_str, &texts)?))
            }
            SchemaType::Json => Ok(Compiled::Json(JsonSchema::parse_with_references(&schema.schema_str, references)?)),
            SchemaType::Protobuf => Ok(Compiled::Protobuf(ProtobufSchema::parse(&schema.schema_str, references)?)),
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            Compiled::Avro(a) => a.name(),
            Compiled::Json(j) => j.title(),
            Compiled::Protobuf(p) => p.name(),
        }
    }
}

/// Fetches a schema's references (recursively, dependencies first) as `(name, text)`; a
/// reference's name is the one its referrer gave it.
pub async fn reference_sources(client: &RegistryClient, schema: &Schema) -> SchemaResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, String, i32, bool)> =
        schema.references.iter().rev().map(|r| (r.name.clone(), r.subject.clone(), r.version, false)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((name, subject, version, expanded)) = stack.pop() {
        let r = client.get_version(&subject, version).await?;
        if expanded {
            if seen.insert((name.clone(), subject, version)) {
                out.push((name, r.schema.schema_str));
            }
            continue;
        }
        if !seen.contains(&(name.clone(), subject.clone(), version)) {
            stack.push((name, subject, version, true));
            for d in r.schema.references.iter().rev() {
                stack.push((d.name.clone(), d.subject.clone(), d.version, false));
            }
        }
    }
    Ok(out)
}

async fn compile_with_references(client: &RegistryClient, schema: &Schema) -> SchemaResult<Compiled> {
    let refs = if schema.references.is_empty() { Vec::new() } else { reference_sources(client, schema).await? };
    Compiled::compile_named(schema, &refs)
}

/// When a subject's latest version was fetched, its id and compiled schema.
type LatestEntry = (std::time::Instant, i32, Arc<Compiled>);
/// A deserializer's plans: per writer schema id (and the subject whose latest is the reader).
type Plans = HashMap<(SchemaId, Option<String>), Arc<Plan>>;

/// Turns values into framed bytes.
pub struct Serializer {
    client: Arc<RegistryClient>,
    format: SchemaType,
    schema: Option<Schema>,
    own: Option<Arc<Compiled>>,
    config: SerdeConfig,
    /// subject -> the id the serializer's own schema has there (auto register / lookup / use.schema.id)
    known: Mutex<HashMap<String, (i32, Arc<Compiled>)>>,
    by_id: Mutex<HashMap<i32, Arc<Compiled>>>,
    /// subject -> its latest version's id and schema, kept for `cache.latest.ttl.sec`
    latest: Mutex<HashMap<String, LatestEntry>>,
}

impl Serializer {
    /// A serializer of `format` with `schema` (may be None only with `use.latest.version` or
    /// `use.schema.id`). The schema is parsed here: a bad schema fails now.
    pub fn new(client: Arc<RegistryClient>, format: SchemaType, schema: Option<Schema>, config: SerdeConfig) -> SchemaResult<Serializer> {
        if let Some(s) = &schema {
            if s.schema_type != format {
                return Err(SchemaError::config(format!("a {} schema given to a {} serializer", s.schema_type.as_str(), format.as_str())));
            }
        }
        if schema.is_none() && !config.use_latest_version && config.use_schema_id.is_none() {
            return Err(SchemaError::config("a schema is needed unless use.latest.version or use.schema.id is set"));
        }
        let own = match &schema {
            Some(s) if s.references.is_empty() => Some(Arc::new(Compiled::compile(s, &[])?)),
            _ => None,
        };
        Ok(Serializer {
            client,
            format,
            schema,
            own,
            config,
            known: Mutex::new(HashMap::new()),
            by_id: Mutex::new(HashMap::new()),
            latest: Mutex::new(HashMap::new()),
        })
    }

    pub fn format(&self) -> SchemaType {
        self.format
    }

    async fn compiled_by_id(&self, id: i32) -> SchemaResult<Arc<Compiled>> {
        if let Some(c) = self.by_id.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(c.clone());
        }
        let schema = self.client.get_schema(id).await?;
        let c = Arc::new(compile_with_references(&self.client, &schema).await?);
        self.by_id.lock().unwrap_or_else(|p| p.into_inner()).insert(id, c.clone());
        Ok(c)
    }

    async fn own_compiled(&self) -> SchemaResult<Arc<Compiled>> {
        if let Some(c) = &self.own {
            return Ok(c.clone());
        }
        let schema = self.schema.as_ref().ok_or_else(|| SchemaError::config("no schema given"))?;
        Ok(Arc::new(compile_with_references(&self.client, schema).await?))
    }

    /// The schema id and compiled writer schema for a record of `topic`/`field`.
    async fn writer(&self, topic: &str, field: MessageField, record_name: Option<&str>) -> SchemaResult<(i32, Arc<Compiled>)> {
        let record_name = record_name.map(str::to_string).or_else(|| self.own.as_ref().and_then(|c| c.name().map(str::to_string)));
        let subject = self.config.subject_name_strategy.subject(topic, field, record_name.as_deref())?;
        if !self.config.use_latest_version {
            if let Some(k) = self.known.lock().unwrap_or_else(|p| p.into_inner()).get(&subject) {
                return Ok(k.clone());
            }
        } else if let Some((at, id, c)) = self.latest.lock().unwrap_or_else(|p| p.into_inner()).get(&subject) {
            if self.client.config().latest_ttl.is_none_or(|ttl| at.elapsed() < ttl) {
                return Ok((*id, c.clone()));
            }
        }
        let found = if let Some(id) = self.config.use_schema_id {
            (id, self.compiled_by_id(id).await?)
        } else if self.config.use_latest_version {
            // the client caches the latest version (for cache.latest.ttl.sec)
            let latest = self.client.get_latest_version(&subject).await?;
            let c = self.compiled_by_id(latest.id).await?;
            self.latest
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(subject.clone(), (std::time::Instant::now(), latest.id, c.clone()));
            (latest.id, c)
        } else {
            let schema = self.schema.as_ref().ok_or_else(|| SchemaError::config("no schema given"))?;
            let id = if self.config.auto_register_schemas {
                self.client.register(&subject, schema, self.config.normalize_schemas).await?
            } else {
                self.client.lookup_schema(&subject, schema, self.config.normalize_schemas).await?.id
            };
            (id, self.own_compiled().await?)
        };
        if !self.config.use_latest_version {
            self.known.lock().unwrap_or_else(|p| p.into_inner()).insert(subject, found.clone());
        }
        Ok(found)
    }

    /// Serializes `value` for `topic`/`field`: the classic framing and the payload (for
    /// Protobuf, as the first message of the schema).
    pub async fn serialize(&self, topic: &str, field: MessageField, value: &Value) -> SchemaResult<Vec<u8>> {
        self.serialize_message(topic, field, MessageRef::First, value).await
    }

    /// Serializes `value` as the Protobuf message `message` of the schema (for Avro and JSON
    /// Schema only [`MessageRef::First`] is accepted): the classic framing, the message-index
    /// path and the encoded message.
    pub async fn serialize_message(&self, topic: &str, field: MessageField, message: MessageRef<'_>, value: &Value) -> SchemaResult<Vec<u8>> {
        if self.format != SchemaType::Protobuf && message != MessageRef::First {
            return Err(SchemaError::config(format!("a message name or index path is for Protobuf, this serializer writes {}", self.format.as_str())));
        }
        // the record name (record subject strategies) of a named message, from the own schema
        let record_name = match (&self.own, message) {
            (_, MessageRef::First) => None,
            (Some(c), m) => match &**c {
                Compiled::Protobuf(p) => Some(p.message(m)?.full_name().to_string()),
                _ => None,
            },
            (None, MessageRef::Name(n)) => Some(n.to_string()),
            (None, MessageRef::Indexes(_)) => None,
        };
        let (id, compiled) = self.writer(topic, field, record_name.as_deref()).await?;
        let mut out = Vec::with_capacity(64);
        wire::write_prefix(id, &mut out);
        match &*compiled {
            Compiled::Avro(a) => a.encode(value, &mut out)?,
            Compiled::Json(j) => j.encode(value, self.config.validate, &mut out)?,
            Compiled::Protobuf(p) => {
                let desc = p.message(message)?;
                wire::write_message_indexes(&p.indexes_of(&desc)?, &mut out);
                p.encode(&desc, value, &mut out)?;
            }
        }
        Ok(out)
    }

    /// Frames a message the caller encoded (Protobuf from generated classes): the classic
    /// prefix, the message-index path (`[0]` for the first message of the file) and `payload`.
    /// `record_name` is the message's full name, for the record subject strategies.
    pub async fn serialize_encoded(
        &self,
        topic: &str,
        field: MessageField,
        record_name: Option<&str>,
        message_indexes: &[i32],
        payload: &[u8],
    ) -> SchemaResult<Vec<u8>> {
        if self.format != SchemaType::Protobuf {
            return Err(SchemaError::serialization(format!("serialize_encoded is for Protobuf, this serializer writes {}", self.format.as_str())));
        }
        let (id, _) = self.writer(topic, field, record_name).await?;
        let mut out = Vec::with_capacity(payload.len() + 8);
        wire::write_prefix(id, &mut out);
        wire::write_message_indexes(message_indexes, &mut out);
        out.extend_from_slice(payload);
        Ok(out)
    }
}

enum Plan {
    Avro(Resolution),
    Json(Arc<Compiled>),
    /// The writer's schema (to find the message by its index path) and the reader's, if any
    /// (the message of the same full name is read with it).
    Protobuf(ProtobufSchema, Option<ProtobufSchema>),
}

fn expect_protobuf(c: Compiled) -> SchemaResult<ProtobufSchema> {
    match c {
        Compiled::Protobuf(p) => Ok(p),
        _ => Err(SchemaError::serialization("the reader schema is not Protobuf")),
    }
}

/// Turns framed bytes into values.
pub struct Deserializer {
    client: Arc<RegistryClient>,
    format: SchemaType,
    reader: Option<Schema>,
    config: SerdeConfig,
    plans: Mutex<Plans>,
}

impl Deserializer {
    /// A deserializer of `format`; `reader` is the schema to read as (None: the writer's, or
    /// the subject's latest with `use.latest.version`). A bad reader schema fails now.
    pub fn new(client: Arc<RegistryClient>, format: SchemaType, reader: Option<Schema>, config: SerdeConfig) -> SchemaResult<Deserializer> {
        if let Some(s) = &reader {
            if s.references.is_empty() {
                Compiled::compile(s, &[])?;
            }
        }
        Ok(Deserializer { client, format, reader, config, plans: Mutex::new(HashMap::new()) })
    }

    async fn writer_schema(&self, id: &SchemaId) -> SchemaResult<Schema> {
        match id {
            SchemaId::Id(id) => self.client.get_schema(*id).await,
            SchemaId::Guid(g) => self.client.get_schema_by_guid(g).await,
        }
    }

    async fn plan(&self, id: SchemaId, topic: &str, field: MessageField) -> SchemaResult<Arc<Plan>> {
        let latest_subject = if self.reader.is_none() && self.config.use_latest_version {
            Some(self.config.subject_name_strategy.subject(topic, field, None)?)
        } else {
            None
        };
        self.plan_for(id, latest_subject).await
    }

    /// The plan of writer schema `id` read as `latest_subject`'s latest version (None: as the
    /// reader schema, or the writer's), compiled once and cached.
    async fn plan_for(&self, id: SchemaId, latest_subject: Option<String>) -> SchemaResult<Arc<Plan>> {
        let key = (id.clone(), latest_subject.clone());
        if let Some(p) = self.plans.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(p.clone());
        }
        let writer = self.writer_schema(&id).await?;
        if writer.schema_type != self.format {
            return Err(SchemaError::serialization(format!(
                "the writer's schema ({id:?}) is {}, this deserializer reads {}",
                writer.schema_type.as_str(),
                self.format.as_str()
            )));
        }
        let reader = match (&self.reader, &latest_subject) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(subject)) => Some(self.client.get_latest_version(subject).await?.schema),
            (None, None) => None,
        };
        let plan = match self.format {
            SchemaType::Avro => {
                let w = match compile_with_references(&self.client, &writer).await? {
                    Compiled::Avro(a) => a,
                    _ => unreachable!("an AVRO schema compiles to Avro"),
                };
                let resolution = match reader {
                    None => Resolution::identity(&w)?,
                    Some(r) => match compile_with_references(&self.client, &r).await? {
                        Compiled::Avro(r) => Resolution::new(&w, &r)?,
                        _ => return Err(SchemaError::serialization("the reader schema is not Avro")),
                    },
                };
                Plan::Avro(resolution)
            }
            SchemaType::Json => {
                let s = reader.unwrap_or(writer);
                Plan::Json(Arc::new(compile_with_references(&self.client, &s).await?))
            }
            SchemaType::Protobuf => {
                let w = expect_protobuf(compile_with_references(&self.client, &writer).await?)?;
                let r = match reader {
                    Some(r) => Some(expect_protobuf(compile_with_references(&self.client, &r).await?)?),
                    None => None,
                };
                Plan::Protobuf(w, r)
            }
        };
        let plan = Arc::new(plan);
        self.plans.lock().unwrap_or_else(|p| p.into_inner()).insert(key, plan.clone());
        Ok(plan)
    }

    /// Reads the framing of a Protobuf record: the schema (checked to exist and to be
    /// Protobuf), the message-index path and the encoded message, for the binding to decode
    /// with its generated class.
    pub async fn deserialize_encoded<'a>(
        &self,
        bytes: &'a [u8],
        header: Option<&[u8]>,
    ) -> SchemaResult<(SchemaId, Schema, Vec<i32>, &'a [u8])> {
        let (id, payload) = wire::read(bytes, header)?;
        let (indexes, n) = wire::read_message_indexes(payload)?;
        let writer = self.writer_schema(&id).await?;
        if writer.schema_type != SchemaType::Protobuf {
            return Err(SchemaError::serialization(format!(
                "the writer's schema ({id:?}) is {}, this deserializer reads PROTOBUF",
                writer.schema_type.as_str()
            )));
        }
        Ok((id, writer, indexes, &payload[n..]))
    }

    /// The full name (`package.Outer.Inner`) of the message at index path `indexes` of the
    /// Protobuf writer schema `id` (compiled once and cached): what a binding looks its
    /// generated type up by after [`Deserializer::deserialize_encoded`].
    pub async fn message_name(&self, id: &SchemaId, indexes: &[i32]) -> SchemaResult<String> {
        let plan = self.plan_for(id.clone(), None).await?;
        match &*plan {
            Plan::Protobuf(w, _) => Ok(w.message_at(indexes)?.full_name().to_string()),
            _ => Err(SchemaError::serialization(format!("the writer's schema ({id:?}) is not Protobuf"))),
        }
    }

    /// Deserializes `bytes` of `topic`/`field`. `header` is the value of the
    /// `__key_schema_id`/`__value_schema_id` header when the record has one.
    pub async fn deserialize(&self, topic: &str, field: MessageField, bytes: &[u8], header: Option<&[u8]>) -> SchemaResult<Value> {
        let (id, mut payload) = wire::read(bytes, header)?;
        let mut indexes = Vec::new();
        if self.format == SchemaType::Protobuf {
            let (i, n) = wire::read_message_indexes(payload)?;
            indexes = i;
            payload = &payload[n..];
        }
        if self.format == SchemaType::Json && !self.config.validate {
            // no schema needed to read JSON without validation, but the id must still exist
            self.writer_schema(&id).await?;
            return Ok(Value::from_json(&parse_payload(payload)?));
        }
        let plan = self.plan(id, topic, field).await?;
        match &*plan {
            Plan::Avro(r) => r.decode(payload),
            Plan::Json(c) => match &**c {
                Compiled::Json(j) => j.decode(payload, self.config.validate),
                _ => Err(SchemaError::serialization("internal: a JSON plan without a JSON schema")),
            },
            Plan::Protobuf(w, r) => {
                let desc = w.message_at(&indexes)?;
                match r {
                    None => w.decode(&desc, payload),
                    Some(r) => {
                        let rd = r.message(MessageRef::Name(desc.full_name())).map_err(|_| {
                            SchemaError::serialization(format!("the reader schema has no message {} (the writer's)", desc.full_name()))
                        })?;
                        r.decode(&rd, payload)
                    }
                }
            }
        }
    }
}
