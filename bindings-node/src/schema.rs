//! `NativeSchemaRegistry`: the core's registry client and codecs behind the
//! `@kafkajs/confluent-schema-registry` façade (`lib/schemaRegistry/`).
//!
//! Registry requests are async (one promise per call). Encoding and decoding are synchronous
//! calls on schemas loaded before (`load(id)`): a JS value becomes a core `Value` and its bytes
//! in one N-API crossing, and bytes become a JS value in one.
//!
//! What the library (avsc without options) does that the core does not by default, done here:
//! Avro logical types are read and written as their underlying type (the `logicalType`
//! attributes are dropped from the compiled copy; the registered text is unchanged), and a
//! union avsc would wrap (two branches of one kind) is refused with a clear error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::{sys, Env, JsBuffer, JsObject, JsUnknown, NapiRaw, NapiValue, ValueType};
use napi_derive::napi;
use polykafka::schema::avro::{AvroSchema, Resolution};
use polykafka::schema::json::JsonSchema;
use polykafka::schema::protobuf::{MessageRef, ProtobufSchema};
use polykafka::schema::{wire, RegistryClient, RegistryConfig, Schema, SchemaError, SchemaErrorKind, SchemaReference, SchemaType, Value};

/// Prefix of the message of every error thrown from here; `lib/schemaRegistry/errors.js`
/// reads the JSON after it.
const MARKER: &str = "polykafka-schema-error:";

fn error(kind: &str, e: &SchemaError, paths: Vec<String>) -> napi::Error {
    let j = serde_json::json!({
        "kind": kind,
        "status": e.http_status(),
        "errorCode": e.error_code(),
        "retriable": e.retriable(),
        "message": e.message(),
        "paths": paths,
    });
    // not GenericFailure: that status is what a caught panic becomes (lib/native.js)
    napi::Error::new(napi::Status::InvalidArg, format!("{MARKER}{j}"))
}

/// A core error as the façade's kind: `registry` (an HTTP answer), `unreachable`, `argument`
/// (bad settings or schema), `decode`.
fn to_napi(e: SchemaError) -> napi::Error {
    let kind = match e.kind() {
        SchemaErrorKind::Registry => "registry",
        SchemaErrorKind::Unreachable => "unreachable",
        SchemaErrorKind::Config => "argument",
        SchemaErrorKind::Serialization => "decode",
    };
    error(kind, &e, Vec::new())
}

fn argument(message: impl Into<String>) -> napi::Error {
    error("argument", &SchemaError::config(message), Vec::new())
}

/// The settings the façade checked and translated from `{ host, auth, retry }`.
#[napi(object)]
pub struct NativeRegistryConfig {
    pub host: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub retries: u32,
    pub initial_retry_ms: u32,
    pub max_retry_ms: u32,
}

enum Codec {
    /// The compiled writer schema and its identity reading plan.
    Avro(AvroSchema, Resolution),
    Json(JsonSchema),
    Protobuf(ProtobufSchema),
}

struct Loaded {
    codec: Codec,
    /// The schema's references' texts (Avro: for compiling reader schemas that use them).
    references: Vec<String>,
}

#[derive(Default)]
struct Caches {
    by_id: HashMap<i32, Arc<Loaded>>,
    /// (writer id, reader schema text) -> plan
    readers: HashMap<(i32, String), Arc<Resolution>>,
}

#[napi]
pub struct NativeSchemaRegistry {
    client: Arc<RegistryClient>,
    caches: Arc<Mutex<Caches>>,
}

fn lock(c: &Mutex<Caches>) -> std::sync::MutexGuard<'_, Caches> {
    c.lock().unwrap_or_else(|p| p.into_inner())
}

fn schema_of(schema_type: &str, schema: String, references: Option<String>) -> Result<Schema> {
    let t = SchemaType::parse(schema_type).map_err(to_napi)?;
    let mut s = Schema::new(schema, t);
    if let Some(r) = references {
        s.references = serde_json::from_str::<Vec<SchemaReference>>(&r)
            .map_err(|e| argument(format!("invalid schema references (expected [{{ name, subject, version }}]): {e}")))?;
    }
    Ok(s)
}

#[napi]
impl NativeSchemaRegistry {
    #[napi(constructor, catch_unwind)]
    pub fn new(config: NativeRegistryConfig) -> Result<Self> {
        let mut c = RegistryConfig::new(config.host.trim_end_matches('/'));
        if let Some(user) = config.username {
            c.basic_auth = Some((user, config.password.unwrap_or_default()));
        }
        c.max_retries = config.retries;
        c.retries_wait = Duration::from_millis(config.initial_retry_ms as u64);
        c.retries_max_wait = Duration::from_millis(config.max_retry_ms as u64);
        // the library asks the registry for the latest version on every call
        c.latest_ttl = Some(Duration::ZERO);
        let client = RegistryClient::new(c).map_err(to_napi)?;
        Ok(NativeSchemaRegistry { client: Arc::new(client), caches: Arc::new(Mutex::new(Caches::default())) })
    }

    /// Fetches schema `id` (and its references) and compiles it for `encode`/`decode`;
    /// resolves to `[type, name]` (name: the Avro full name, the first Protobuf message, "").
    #[napi(catch_unwind, ts_return_type = "Promise<string[]>")]
    pub fn load(&self, env: Env, id: i32) -> Result<JsObject> {
        let client = self.client.clone();
        let caches = self.caches.clone();
        crate::error::spawn(&env, async move {
            let schema = client.get_schema(id).await.map_err(to_napi)?;
            let refs = if schema.references.is_empty() {
                Vec::new()
            } else {
                polykafka::schema::serde::reference_sources(&client, &schema).await.map_err(to_napi)?
            };
            let (loaded, name) = compile(&schema, refs).map_err(|e| error("argument", &e, Vec::new()))?;
            lock(&caches).by_id.insert(id, Arc::new(loaded));
            Ok(vec![schema.schema_type.as_str().to_string(), name])
        })
    }

    /// Compiles a schema without references (as the library does before registering it);
    /// returns its name (Avro full name, first Protobuf message, JSON `title`, or "").
    #[napi(catch_unwind)]
    pub fn check(&self, schema_type: String, schema: String) -> Result<String> {
        let s = schema_of(&schema_type, schema, None)?;
        compile(&s, Vec::new()).map(|(_, name)| name).map_err(|e| error("argument", &e, Vec::new()))
    }

    /// Whether schema `id` is loaded.
    #[napi(catch_unwind)]
    pub fn loaded(&self, id: i32) -> bool {
        lock(&self.caches).by_id.contains_key(&id)
    }

    /// Encodes `value` with loaded schema `id`: the Confluent framing (when `framed`) and the
    /// payload. Protobuf: `message_name` picks the message (default: the first), and the
    /// framing carries its index path.
    #[napi(catch_unwind)]
    pub fn encode(&self, env: Env, id: i32, value: JsUnknown, framed: bool, message_name: Option<String>) -> Result<JsBuffer> {
        let loaded = lock(&self.caches).by_id.get(&id).cloned().ok_or_else(|| argument(format!("schema {id} is not loaded")))?;
        let value = from_js(&env, value, 0)?;
        // The bytes are made in a scratch buffer kept per thread, then copied into a JS Buffer:
        // for values of tens of bytes a copy costs less than an external Buffer's finalizer.
        let mut out = ENCODE_SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        out.clear();
        let result = encode_into(&loaded, id, &value, framed, message_name, &mut out)
            .and_then(|()| env.create_buffer_copy(&out).map(|b| b.into_raw()));
        if out.capacity() <= SCRATCH_KEEP {
            ENCODE_SCRATCH.with(|s| *s.borrow_mut() = out);
        }
        result
    }

    /// Decodes `bytes`: framed (the id read from them) or, with `id`, a bare payload of schema
    /// `id`. `reader` is an Avro reader schema's text.
    #[napi(catch_unwind)]
    pub fn decode(&self, env: Env, bytes: JsBuffer, id: Option<i32>, reader: Option<String>) -> Result<JsUnknown> {
        let bytes = bytes.into_value()?;
        let (id, payload) = match id {
            Some(id) => (id, &bytes[..]),
            None => match wire::read(&bytes, None) {
                Ok((wire::SchemaId::Id(id), payload)) => (id, payload),
                Ok((wire::SchemaId::Guid(g), _)) => return Err(argument(format!("a schema GUID ({g}) is not supported here"))),
                Err(e) => return Err(error("argument", &e, Vec::new())),
            },
        };
        let loaded = lock(&self.caches).by_id.get(&id).cloned().ok_or_else(|| argument(format!("schema {id} is not loaded")))?;
        let value = match (&loaded.codec, reader) {
            (Codec::Avro(_, identity), None) => identity.decode(payload).map_err(to_napi)?,
            (Codec::Avro(w, _), Some(r)) => {
                let key = (id, r);
                let plan = lock(&self.caches).readers.get(&key).cloned();
                let plan = match plan {
                    Some(p) => p,
                    None => {
                        let reader = AvroSchema::parse(&avsc_view(&key.1)?, &loaded.references).map_err(|e| error("argument", &e, Vec::new()))?;
                        let p = Arc::new(Resolution::new(w, &reader).map_err(|e| error("argument", &e, Vec::new()))?);
                        lock(&self.caches).readers.insert(key, p.clone());
                        p
                    }
                };
                plan.decode(payload).map_err(to_napi)?
            }
            (Codec::Json(j), _) => j.decode(payload, true).map_err(|e| {
                let p = json_path(e.message());
                if p.is_empty() {
                    to_napi(e)
                } else {
                    error("validation", &e, p)
                }
            })?,
            (Codec::Protobuf(p), _) => {
                let (indexes, n) = wire::read_message_indexes(payload).map_err(to_napi)?;
                let m = p.message_at(&indexes).map_err(to_napi)?;
                p.decode(&m, &payload[n..]).map_err(to_napi)?
            }
        };
        to_js(&env, &value)
    }

    /// POST /subjects/{subject}/versions; resolves to the id.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn register(&self, env: Env, subject: String, schema_type: String, schema: String, references: Option<String>) -> Result<JsObject> {
        let schema = schema_of(&schema_type, schema, references)?;
        let client = self.client.clone();
        crate::error::spawn(&env, async move { client.register(&subject, &schema, false).await.map_err(to_napi) })
    }

    /// POST /subjects/{subject}: the id of `schema` under `subject`.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn lookup(&self, env: Env, subject: String, schema_type: String, schema: String, references: Option<String>) -> Result<JsObject> {
        let schema = schema_of(&schema_type, schema, references)?;
        let client = self.client.clone();
        crate::error::spawn(&env, async move { client.lookup_schema(&subject, &schema, false).await.map(|r| r.id).map_err(to_napi) })
    }

    /// GET /subjects/{subject}/versions/{version} (None: latest): resolves to the id.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn version_id(&self, env: Env, subject: String, version: Option<i32>) -> Result<JsObject> {
        let client = self.client.clone();
        crate::error::spawn(&env, async move {
            match version {
                Some(v) => client.get_version(&subject, v).await,
                None => client.get_latest_version(&subject).await,
            }
            .map(|r| r.id)
            .map_err(to_napi)
        })
    }

    /// GET /config/{subject}: the subject's own compatibility level.
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn get_compatibility(&self, env: Env, subject: String) -> Result<JsObject> {
        let client = self.client.clone();
        crate::error::spawn(&env, async move { client.get_compatibility(Some(&subject)).await.map_err(to_napi) })
    }

    /// PUT /config/{subject}.
    #[napi(catch_unwind, ts_return_type = "Promise<string>")]
    pub fn set_compatibility(&self, env: Env, subject: String, level: String) -> Result<JsObject> {
        let client = self.client.clone();
        crate::error::spawn(&env, async move { client.set_compatibility(Some(&subject), &level).await.map_err(to_napi) })
    }

    /// The text, type and references (JSON) of schema `id`.
    #[napi(catch_unwind, ts_return_type = "Promise<string[]>")]
    pub fn schema_text(&self, env: Env, id: i32) -> Result<JsObject> {
        let client = self.client.clone();
        crate::error::spawn(&env, async move {
            let s = client.get_schema(id).await.map_err(to_napi)?;
            let refs = serde_json::to_string(&s.references).unwrap_or_else(|_| "[]".into());
            Ok(vec![s.schema_str, s.schema_type.as_str().to_string(), refs])
        })
    }
}

fn compile(schema: &Schema, refs: Vec<(String, String)>) -> std::result::Result<(Loaded, String), SchemaError> {
    Ok(match schema.schema_type {
        SchemaType::Avro => {
            let texts: Vec<String> = refs.into_iter().map(|(_, t)| t).collect();
            let mut all = texts.clone();
            all.push(schema.schema_str.clone());
            check_unions(&all).map_err(SchemaError::config)?;
            let view = avsc_view(&schema.schema_str).map_err(|e| SchemaError::config(e.to_string()))?;
            let ref_views: Vec<String> =
                texts.iter().map(|t| avsc_view(t)).collect::<Result<_>>().map_err(|e| SchemaError::config(e.to_string()))?;
            let a = AvroSchema::parse(&view, &ref_views)?;
            let identity = Resolution::identity(&a)?;
            let name = a.name().unwrap_or_default().to_string();
            (Loaded { codec: Codec::Avro(a, identity), references: ref_views }, name)
        }
        SchemaType::Json => {
            (Loaded { codec: Codec::Json(JsonSchema::parse_with_references(&schema.schema_str, &refs)?), references: Vec::new() }, String::new())
        }
        SchemaType::Protobuf => {
            let p = ProtobufSchema::parse(&schema.schema_str, &refs)?;
            let name = p.name().unwrap_or_default().to_string();
            (Loaded { codec: Codec::Protobuf(p), references: Vec::new() }, name)
        }
    })
}

/// The schema as avsc reads it without options: `logicalType` attributes dropped, so logical
/// types are their underlying type.
fn avsc_view(text: &str) -> Result<String> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                o.remove("logicalType");
                for (k, x) in o.iter_mut() {
                    if k != "default" {
                        strip(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_str(text).map_err(|e| argument(format!("invalid Avro schema: {e}")))?;
    strip(&mut v);
    Ok(v.to_string())
}

/// avsc's kind of a union branch (its "bucket"): two branches of one kind make avsc wrap the
/// union (`{ "int": 1 }` values), which polykafka does not do.
fn check_unions(texts: &[String]) -> std::result::Result<(), String> {
    let mut named: HashMap<String, &'static str> = HashMap::new();
    let mut docs = Vec::new();
    for t in texts {
        let v: serde_json::Value = serde_json::from_str(t).map_err(|e| format!("invalid Avro schema: {e}"))?;
        collect_names(&v, "", &mut named);
        docs.push(v);
    }
    for d in &docs {
        check(d, &named)?;
    }
    return Ok(());

    fn kind_of_type(t: &str) -> Option<&'static str> {
        Some(match t {
            "null" => "null",
            "boolean" => "boolean",
            "int" | "long" | "float" | "double" => "number",
            "bytes" | "fixed" => "buffer",
            "string" | "enum" => "string",
            "array" => "array",
            "map" | "record" | "error" => "object",
            _ => return None,
        })
    }
    fn collect_names(v: &serde_json::Value, ns: &str, named: &mut HashMap<String, &'static str>) {
        match v {
            serde_json::Value::Object(o) => {
                let mut ns = ns.to_string();
                if let (Some(serde_json::Value::String(t)), Some(serde_json::Value::String(n))) = (o.get("type"), o.get("name")) {
                    if let Some(k) = kind_of_type(t).filter(|_| matches!(t.as_str(), "record" | "error" | "enum" | "fixed")) {
                        if let Some(serde_json::Value::String(s)) = o.get("namespace") {
                            ns = s.clone();
                        }
                        let full = if n.contains('.') || ns.is_empty() { n.clone() } else { format!("{ns}.{n}") };
                        if let Some((space, short)) = full.rsplit_once('.') {
                            ns = space.to_string();
                            named.insert(short.to_string(), k);
                        }
                        named.insert(full, k);
                    }
                }
                for (k, x) in o {
                    if k != "default" {
                        collect_names(x, &ns, named);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect_names(x, ns, named)),
            _ => {}
        }
    }
    fn branch_kind(b: &serde_json::Value, named: &HashMap<String, &'static str>) -> Option<&'static str> {
        match b {
            serde_json::Value::String(s) => kind_of_type(s).or_else(|| named.get(s).copied()),
            serde_json::Value::Object(o) => match o.get("type") {
                Some(serde_json::Value::String(t)) => kind_of_type(t).or_else(|| named.get(t).copied()),
                Some(other) => branch_kind(other, named),
                None => None,
            },
            _ => None,
        }
    }
    /// Walks a schema node (not a field list) and checks every union in it.
    fn check(v: &serde_json::Value, named: &HashMap<String, &'static str>) -> std::result::Result<(), String> {
        match v {
            serde_json::Value::Array(branches) => {
                let mut seen: Vec<&'static str> = Vec::new();
                for b in branches {
                    if let Some(k) = branch_kind(b, named) {
                        if seen.contains(&k) {
                            return Err(format!(
                                "the union {v} has two branches of one kind ({k}): avsc would wrap its values ({{ \"<branch>\": value }}), which polykafka does not support"
                            ));
                        }
                        seen.push(k);
                    }
                    check(b, named)?;
                }
                Ok(())
            }
            serde_json::Value::Object(o) => {
                if let Some(t @ (serde_json::Value::Array(_) | serde_json::Value::Object(_))) = o.get("type") {
                    check(t, named)?
                }
                if let Some(serde_json::Value::Array(fields)) = o.get("fields") {
                    for f in fields {
                        if let Some(t) = f.get("type") {
                            check(t, named)?;
                        }
                    }
                }
                for k in ["items", "values"] {
                    if let Some(x) = o.get(k) {
                        check(x, named)?;
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The field path of an Avro encoding error (`Name.a.b[2]: ...`) as avsc's path segments.
fn avro_path(message: &str, name: Option<&str>) -> Vec<String> {
    let rest = match name {
        Some(n) => message.strip_prefix(n),
        None => message.strip_prefix("value"),
    };
    let Some(rest) = rest else { return Vec::new() };
    let mut out = Vec::new();
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                out.push(rest[start..j].to_string());
                i = j;
            }
            b'[' if b.get(i + 1) == Some(&b'"') => {
                // a Rust-quoted map key
                let mut j = i + 2;
                let mut key = String::new();
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' && j + 1 < b.len() {
                        j += 1;
                    }
                    key.push(b[j] as char);
                    j += 1;
                }
                out.push(key);
                i = j + 2;
            }
            b'[' => {
                let end = rest[i..].find(']').map(|e| i + e).unwrap_or(b.len());
                out.push(rest[i + 1..end].to_string());
                i = end + 1;
            }
            _ => break,
        }
    }
    out
}

/// The instance path of a JSON Schema error (`... at /a/b: ...`), as ajv's `instancePath`.
fn json_path(message: &str) -> Vec<String> {
    const AT: &str = "does not match the JSON schema at ";
    match message.find(AT) {
        Some(i) => {
            let rest = &message[i + AT.len()..];
            let p = rest.split(": ").next().unwrap_or("");
            vec![if p == "/" { String::new() } else { p.to_string() }]
        }
        None => Vec::new(),
    }
}

/// Encodes `value` with a loaded schema into `out` (see `encode`).
fn encode_into(loaded: &Loaded, id: i32, value: &Value, framed: bool, message_name: Option<String>, out: &mut Vec<u8>) -> Result<()> {
    if framed {
        wire::write_prefix(id, out);
    }
    let invalid = |e: SchemaError, paths: Vec<String>| error("validation", &e, paths);
    match &loaded.codec {
        Codec::Avro(a, _) => a.encode(value, out).map_err(|e| {
            let p = avro_path(e.message(), a.name());
            invalid(e, p)
        })?,
        Codec::Json(j) => j.encode(value, true, out).map_err(|e| {
            let p = json_path(e.message());
            invalid(e, p)
        })?,
        Codec::Protobuf(p) => {
            let which = match &message_name {
                Some(n) => MessageRef::Name(n),
                None => MessageRef::First,
            };
            let m = p.message(which).map_err(|e| error("argument", &e, Vec::new()))?;
            if framed {
                let indexes = p.indexes_of(&m).map_err(to_napi)?;
                wire::write_message_indexes(&indexes, out);
            }
            p.encode(&m, value, out).map_err(|e| invalid(e, Vec::new()))?
        }
    }
    Ok(())
}

thread_local! {
    static ENCODE_SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(256));
}

/// A scratch buffer that grew past this (one large value) is not kept.
const SCRATCH_KEEP: usize = 1 << 16;

const MAX_DEPTH: usize = 100;

/// A JS string's UTF-8: one N-API call into a stack buffer for short strings (the usual
/// field names and values), napi-rs's two (length, then copy) for longer ones.
fn utf8(env: &Env, v: &impl NapiRaw) -> Result<String> {
    let mut buf = [0u8; 256];
    let mut n = 0usize;
    // SAFETY: `v` is a live string value of this call; the buffer has the given size.
    check(unsafe { sys::napi_get_value_string_utf8(env.raw(), v.raw(), buf.as_mut_ptr().cast(), buf.len(), &mut n) })?;
    // N-API writes whole characters only: a result this short cannot have been cut.
    if n + 4 < buf.len() {
        return String::from_utf8(buf[..n].to_vec()).map_err(|e| napi::Error::from_reason(e.to_string()));
    }
    let s: napi::JsString = unsafe { napi::JsString::from_raw_unchecked(env.raw(), v.raw()) };
    s.into_utf8()?.into_owned()
}

/// A JS value as a core `Value`: numbers with no fraction are ints; properties set to
/// `undefined` are left out (a record field then takes its default, as avsc).
fn from_js(env: &Env, v: JsUnknown, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(error("validation", &SchemaError::serialization(format!("the value is nested deeper than {MAX_DEPTH} levels (a cycle?)")), Vec::new()));
    }
    Ok(match v.get_type()? {
        ValueType::Undefined | ValueType::Null => Value::Null,
        ValueType::Boolean => Value::Bool(v.coerce_to_bool()?.get_value()?),
        ValueType::Number => {
            // SAFETY: the type was just checked.
            let n = unsafe { v.cast::<napi::JsNumber>() }.get_double()?;
            if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.2e18 {
                Value::Int(n as i64)
            } else {
                Value::Float(n)
            }
        }
        ValueType::String => Value::String(utf8(env, &v)?),
        ValueType::BigInt => {
            let b = unsafe { v.cast::<napi::JsBigInt>() };
            let (i, lossless) = b.get_i64()?;
            if !lossless {
                return Err(error("validation", &SchemaError::serialization("a BigInt out of the range of a 64-bit integer"), Vec::new()));
            }
            Value::Int(i)
        }
        ValueType::Object => {
            if v.is_buffer()? {
                let b = JsBuffer::try_from(v)?.into_value()?;
                Value::Bytes(b.to_vec())
            } else if v.is_array()? {
                let o: JsObject = unsafe { v.cast() };
                let n = o.get_array_length()?;
                let mut a = Vec::with_capacity(n as usize);
                for i in 0..n {
                    a.push(from_js(env, o.get_element::<JsUnknown>(i)?, depth + 1)?);
                }
                Value::Array(a)
            } else if v.is_date()? {
                let d: napi::JsDate = unsafe { v.cast() };
                Value::Timestamp((d.value_of()? * 1000.0) as i64)
            } else {
                let o: JsObject = unsafe { v.cast() };
                let names = o.get_property_names()?;
                let n = names.get_array_length()?;
                let mut m = Vec::with_capacity(n as usize);
                for i in 0..n {
                    // the name as a JS string looks the property up (no second string made)
                    let key = names.get_element::<napi::JsString>(i)?;
                    let x = o.get_property::<_, JsUnknown>(key)?;
                    if x.get_type()? == ValueType::Undefined {
                        continue;
                    }
                    m.push((utf8(env, &key)?, from_js(env, x, depth + 1)?));
                }
                Value::Map(m)
            }
        }
        other => {
            return Err(error(
                "validation",
                &SchemaError::serialization(format!("a JS {other:?} cannot be encoded")),
                Vec::new(),
            ))
        }
    })
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(napi::Status::from(status), "an N-API call failed while converting a value".to_string()))
    }
}

/// `o[k] = v`; a short name is NUL-terminated on the stack (napi-rs's `set_named_property`
/// allocates a CString per call, which is per field of every decoded record).
fn set_named(env: &Env, o: &JsObject, k: &str, v: JsUnknown) -> Result<()> {
    let mut buf = [0u8; 64];
    if k.len() < buf.len() && !k.as_bytes().contains(&0) {
        buf[..k.len()].copy_from_slice(k.as_bytes());
        // SAFETY: `o` and `v` are live values of this call's scope; `buf` holds `k` and a NUL.
        return check(unsafe { sys::napi_set_named_property(env.raw(), o.raw(), buf.as_ptr().cast(), v.raw()) });
    }
    // SAFETY: the same object, through napi-rs (it reports a name with a NUL)
    let mut o = unsafe { JsObject::from_raw_unchecked(env.raw(), o.raw()) };
    o.set_named_property(k, v)
}

/// A core `Value` as a JS value (bytes as a Buffer; 64-bit ints as numbers, as avsc's long).
fn to_js(env: &Env, v: &Value) -> Result<JsUnknown> {
    Ok(match v {
        Value::Null => env.get_null()?.into_unknown(),
        Value::Bool(b) => env.get_boolean(*b)?.into_unknown(),
        Value::Int(i) => env.create_double(*i as f64)?.into_unknown(),
        Value::Float(f) => env.create_double(*f)?.into_unknown(),
        Value::String(s) | Value::Uuid(s) => env.create_string(s)?.into_unknown(),
        Value::Bytes(b) => env.create_buffer_with_data(b.clone())?.into_raw().into_unknown(),
        Value::Array(a) => {
            let mut arr = env.create_array_with_length(a.len())?;
            for (i, x) in a.iter().enumerate() {
                arr.set_element(i as u32, to_js(env, x)?)?;
            }
            arr.into_unknown()
        }
        Value::Map(m) => {
            let o = env.create_object()?;
            for (k, x) in m {
                let v = to_js(env, x)?;
                set_named(env, &o, k, v)?;
            }
            o.into_unknown()
        }
        Value::Timestamp(us) => env.create_date(*us as f64 / 1000.0)?.into_unknown(),
        Value::Date(d) => env.create_double(*d as f64)?.into_unknown(),
        Value::Time(us) => env.create_double(*us as f64)?.into_unknown(),
        Value::Decimal { unscaled, exponent, .. } => env.create_string(&format!("{unscaled}e{exponent}"))?.into_unknown(),
    })
}
