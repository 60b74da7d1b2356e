//! Schema registry through the C ABI: `pk_schema_registry` (the core's registry client, from
//! confluent-kafka's properties), `pk_schema_serializer` and `pk_schema_deserializer` (the core's
//! serdes with confluent-kafka's settings). Values cross as JSON text, one call per record or
//! one call per batch; the encoding, the wire format and the registry's caches are the core's.
//!
//! JSON has no bytes, instants or decimals, so these cross as one-key objects:
//! `{"$bytes": "<base64>"}` (Avro bytes/fixed), `{"$timestamp_us": n}` (timestamp-millis/-micros,
//! microseconds since the epoch), `{"$date": n}` (days since the epoch), `{"$time_us": n}`
//! (microseconds since midnight), `{"$decimal": "-12.50"}`. On input a logical type may also be
//! given as its underlying Avro value (an integer, a UUID string); on output the decoded value
//! uses these forms (a uuid is a plain string).
//!
//! Errors from the registry keep its HTTP status and error code (pk_error_registry_status,
//! pk_error_registry_code; kind PK_ERROR_KIND_SCHEMA_REGISTRY); an unreachable registry is a
//! retriable PK_ERROR_KIND_CONNECTION error; a value that does not match its schema is a
//! PK_ERROR_KIND_SERIALIZATION error naming the field. Every blocking call honours the
//! pk_cancel token in scope, as the other blocking calls do.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use base64::Engine as _;
use pk::schema::{
    Deserializer, MessageField, RegisteredSchema, RegistryClient, RegistryConfig, Schema, SchemaError, SchemaReference, SchemaResult,
    SchemaType, SerdeConfig, Serializer, Value,
};
use pk::{Error, Result};

use crate::config::pk_config;
use crate::error::pk_error;
use crate::ffi::{bytes, c_str, check_out, guard, guard_void, handle, out, slice, str_len};
use crate::runtime::{block_on, Owner};

enum Fail {
    Core(Error),
    Schema(SchemaError),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Core(e)
    }
}

impl From<SchemaError> for Fail {
    fn from(e: SchemaError) -> Fail {
        Fail::Schema(e)
    }
}

type FResult<T> = std::result::Result<T, Fail>;

/// As `guard`, keeping a schema error's registry status and code.
fn sguard(body: impl FnOnce() -> FResult<()>) -> *mut pk_error {
    let mut schema_err = None;
    let r = guard(|| match body() {
        Ok(()) => Ok(()),
        Err(Fail::Core(e)) => Err(e),
        Err(Fail::Schema(e)) => {
            schema_err = Some(e);
            Ok(())
        }
    });
    match schema_err {
        Some(e) => pk_error::from_schema(&e).into_raw(),
        None => r,
    }
}

fn schema_error(e: &SchemaError) -> *mut pk_error {
    pk_error::from_schema(e).into_raw()
}

/// A schema registry client. Created with pk_schema_registry_new(), freed with
/// pk_schema_registry_free(). Thread-safe; serializers made from it share its caches.
pub struct pk_schema_registry {
    owner: Owner,
    client: Arc<RegistryClient>,
}

/// A schema given to the library. Every pointer is borrowed for the duration of the call.
#[repr(C)]
pub struct pk_schema {
    /// The schema's text (Avro JSON, JSON Schema, .proto text or base64 descriptor),
    /// NUL-terminated.
    pub schema: *const c_char,
    /// "AVRO", "JSON" or "PROTOBUF"; NULL means AVRO.
    pub schema_type: *const c_char,
    /// The references as a JSON array of {"name", "subject", "version"}; NULL for none.
    pub references_json: *const c_char,
}

/// A schema as the registry has it (by id, by subject and version, latest, lookup). Opaque:
/// read it with the pk_registered_schema_* functions, free it with pk_registered_schema_free().
pub struct pk_registered_schema {
    id: i32,
    version: i32,
    subject: CString,
    schema: CString,
    schema_type: CString,
    references_json: CString,
}

/// Bytes the library made (a serialized record, a JSON text). Opaque: read with
/// pk_bytes_data() and pk_bytes_len(), free with pk_bytes_free(). The data is followed by a NUL
/// byte (not counted), so a JSON text can be read as a C string.
pub struct pk_bytes {
    data: Vec<u8>,
}

/// A serializer. Created with pk_schema_serializer_new(), freed with
/// pk_schema_serializer_free(). Thread-safe.
pub struct pk_schema_serializer {
    owner: Owner,
    inner: Arc<Serializer>,
}

/// A deserializer. Created with pk_schema_deserializer_new(), freed with
/// pk_schema_deserializer_free(). Thread-safe.
pub struct pk_schema_deserializer {
    owner: Owner,
    inner: Arc<Deserializer>,
}

/// A Protobuf record's framing, read by pk_schema_deserializer_deserialize_encoded(). Opaque:
/// read with the pk_encoded_record_* functions, free with pk_encoded_record_free().
pub struct pk_encoded_record {
    schema_id: i32,
    indexes: Vec<i32>,
    message_name: CString,
    payload: Vec<u8>,
}

fn c_string(s: impl Into<Vec<u8>>) -> CString {
    CString::new(s).unwrap_or_else(|e| {
        let mut b = e.into_vec();
        b.retain(|c| *c != 0);
        CString::new(b).unwrap_or_default()
    })
}

fn props_of(config: *const pk_config) -> Result<Vec<(String, String)>> {
    if config.is_null() {
        return Ok(Vec::new());
    }
    let c = handle(config, "config")?;
    Ok(c.props.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn schema_in(s: *const pk_schema, what: &str) -> FResult<Schema> {
    let s = handle(s, what)?;
    let text = c_str(s.schema, &format!("{what}.schema"))?;
    let schema_type =
        if s.schema_type.is_null() { SchemaType::Avro } else { SchemaType::parse(c_str(s.schema_type, &format!("{what}.schema_type"))?)? };
    let references = if s.references_json.is_null() {
        Vec::new()
    } else {
        let text = c_str(s.references_json, &format!("{what}.references_json"))?;
        serde_json::from_str::<Vec<SchemaReference>>(text).map_err(|e| {
            Error::invalid(format!("{what}.references_json is not a JSON array of {{name, subject, version}}: {e}"))
        })?
    };
    Ok(Schema { schema_str: text.to_string(), schema_type, references })
}

fn registered_out(r: RegisteredSchema) -> pk_registered_schema {
    pk_registered_schema {
        id: r.id,
        version: r.version,
        subject: c_string(r.subject),
        references_json: c_string(serde_json::to_string(&r.schema.references).unwrap_or_else(|_| "[]".into())),
        schema_type: c_string(r.schema.schema_type.as_str()),
        schema: c_string(r.schema.schema_str),
    }
}

fn live_registry<'a>(r: *const pk_schema_registry) -> Result<&'a pk_schema_registry> {
    let r = handle(r, "registry")?;
    r.owner.check("schema registry client")?;
    Ok(r)
}

fn field(is_key: bool) -> MessageField {
    if is_key {
        MessageField::Key
    } else {
        MessageField::Value
    }
}

/// Creates a registry client from confluent-kafka's properties in `config` (borrowed: copied):
/// `url` (comma-separated for several), `basic.auth.user.info`, `basic.auth.credentials.source`,
/// `bearer.auth.token`, `timeout` (seconds), `max.retries`, `retries.wait.ms`,
/// `retries.max.wait.ms`, `cache.latest.ttl.sec`, `cache.capacity`, `ssl.ca.location`,
/// `ssl.certificate.location`, `ssl.key.location`. An unknown key or a bad value is a
/// PK_ERROR_KIND_CONFIG error naming it. No request is made here. The caller frees
/// `*out_registry` with pk_schema_registry_free().
#[no_mangle]
pub extern "C" fn pk_schema_registry_new(config: *const pk_config, out_registry: *mut *mut pk_schema_registry) -> *mut pk_error {
    sguard(|| {
        handle(config, "config")?;
        check_out(out_registry, "out_registry")?;
        let props = props_of(config)?;
        let cfg = RegistryConfig::from_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let client = {
            let _entered = crate::runtime::runtime()?.enter();
            RegistryClient::new(cfg)?
        };
        let r = Box::new(pk_schema_registry { owner: Owner::current(), client: Arc::new(client) });
        Ok(out(out_registry, "out_registry", Box::into_raw(r))?)
    })
}

/// Frees a registry client. `registry` is consumed; NULL is allowed. Serializers made from it
/// keep working (they share the client).
#[no_mangle]
pub extern "C" fn pk_schema_registry_free(registry: *mut pk_schema_registry) {
    guard_void(|| {
        if !registry.is_null() {
            // SAFETY: a pointer from pk_schema_registry_new, freed once.
            drop(unsafe { Box::from_raw(registry) });
        }
    })
}

/// Registers `schema` (borrowed) under `subject` and writes its id to `*out_id` (cached: the
/// same schema again makes no request). An incompatible schema is the registry's 409.
#[no_mangle]
pub extern "C" fn pk_schema_registry_register(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    schema: *const pk_schema,
    normalize: bool,
    out_id: *mut i32,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        let s = schema_in(schema, "schema")?;
        check_out(out_id, "out_id")?;
        let id = block_on("pk_schema_registry_register", r.client.register(subject, &s, normalize))??;
        Ok(out(out_id, "out_id", id)?)
    })
}

fn registered_call<F>(what: &str, out_schema: *mut *mut pk_registered_schema, fut: F) -> FResult<()>
where
    F: std::future::Future<Output = SchemaResult<RegisteredSchema>>,
{
    check_out(out_schema, "out_schema")?;
    let r = block_on(what, fut)??;
    Ok(out(out_schema, "out_schema", Box::into_raw(Box::new(registered_out(r))))?)
}

/// The registered schema under `subject` equal to `schema` (borrowed): its id, version and
/// text. 40401/40403 when there is none. The caller frees `*out_schema`.
#[no_mangle]
pub extern "C" fn pk_schema_registry_lookup(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    schema: *const pk_schema,
    normalize: bool,
    out_schema: *mut *mut pk_registered_schema,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        let s = schema_in(schema, "schema")?;
        registered_call("pk_schema_registry_lookup", out_schema, r.client.lookup_schema(subject, &s, normalize))
    })
}

/// The schema with `id` (cached forever). Its subject is "" and version 0 (an id may be under
/// several subjects). 40403 when there is none. The caller frees `*out_schema`.
#[no_mangle]
pub extern "C" fn pk_schema_registry_get_by_id(
    registry: *mut pk_schema_registry,
    id: i32,
    out_schema: *mut *mut pk_registered_schema,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let c = r.client.clone();
        registered_call("pk_schema_registry_get_by_id", out_schema, async move {
            let schema = c.get_schema(id).await?;
            Ok(RegisteredSchema { id, subject: String::new(), version: 0, schema })
        })
    })
}

/// The latest version under `subject` (cached for cache.latest.ttl.sec; forever when unset).
/// The caller frees `*out_schema`.
#[no_mangle]
pub extern "C" fn pk_schema_registry_get_latest(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    out_schema: *mut *mut pk_registered_schema,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        registered_call("pk_schema_registry_get_latest", out_schema, r.client.get_latest_version(subject))
    })
}

/// Version `version` of `subject` (cached). The caller frees `*out_schema`.
#[no_mangle]
pub extern "C" fn pk_schema_registry_get_version(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    version: i32,
    out_schema: *mut *mut pk_registered_schema,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        registered_call("pk_schema_registry_get_version", out_schema, r.client.get_version(subject, version))
    })
}

fn write_ints(values: &[i32], out_values: *mut i32, capacity: usize, out_len: *mut usize) -> Result<()> {
    if capacity > 0 && out_values.is_null() {
        return Err(Error::invalid(format!("out_values is NULL but capacity is {capacity}")));
    }
    for (i, v) in values.iter().take(capacity).enumerate() {
        // SAFETY: out_values has room for `capacity` values (the caller's contract).
        unsafe { out_values.add(i).write(*v) };
    }
    out(out_len, "out_len", values.len())
}

/// The version numbers under `subject`: up to `capacity` written to `out_values` (may be NULL
/// when `capacity` is 0), and their total number to `*out_len` (call again with a larger
/// array when it is above `capacity`).
#[no_mangle]
pub extern "C" fn pk_schema_registry_get_versions(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    out_values: *mut i32,
    capacity: usize,
    out_len: *mut usize,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        check_out(out_len, "out_len")?;
        let v = block_on("pk_schema_registry_get_versions", r.client.get_versions(subject))??;
        Ok(write_ints(&v, out_values, capacity, out_len)?)
    })
}

/// Deletes `subject` (soft; hard with `permanent`, after a soft delete) and writes the deleted
/// versions as pk_schema_registry_get_versions() does.
#[no_mangle]
pub extern "C" fn pk_schema_registry_delete_subject(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    permanent: bool,
    out_values: *mut i32,
    capacity: usize,
    out_len: *mut usize,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        check_out(out_len, "out_len")?;
        let v = block_on("pk_schema_registry_delete_subject", r.client.delete_subject(subject, permanent))??;
        Ok(write_ints(&v, out_values, capacity, out_len)?)
    })
}

/// Every subject. The caller frees `*out_list` with pk_string_list_free().
#[no_mangle]
pub extern "C" fn pk_schema_registry_get_subjects(
    registry: *mut pk_schema_registry,
    out_list: *mut *mut crate::admin::pk_string_list,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        check_out(out_list, "out_list")?;
        let v = block_on("pk_schema_registry_get_subjects", r.client.get_subjects())??;
        Ok(out(out_list, "out_list", crate::admin::string_list(v))?)
    })
}

/// Whether `schema` (borrowed) is compatible with `version` of `subject` (-1: the latest).
#[no_mangle]
pub extern "C" fn pk_schema_registry_test_compatibility(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    schema: *const pk_schema,
    version: i32,
    out_compatible: *mut bool,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = c_str(subject, "subject")?;
        let s = schema_in(schema, "schema")?;
        check_out(out_compatible, "out_compatible")?;
        let v = if version < 0 { None } else { Some(version) };
        let ok = block_on("pk_schema_registry_test_compatibility", r.client.test_compatibility(subject, &s, v))??;
        Ok(out(out_compatible, "out_compatible", ok)?)
    })
}

/// Sets the compatibility level ("BACKWARD", "NONE", ...) of `subject`, or the global one when
/// `subject` is NULL.
#[no_mangle]
pub extern "C" fn pk_schema_registry_set_compatibility(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    level: *const c_char,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = if subject.is_null() { None } else { Some(c_str(subject, "subject")?) };
        let level = c_str(level, "level")?;
        block_on("pk_schema_registry_set_compatibility", r.client.set_compatibility(subject, level))??;
        Ok(())
    })
}

/// The compatibility level of `subject`, or the global one when `subject` is NULL, as a
/// NUL-terminated text in `*out_level` (the caller frees it with pk_bytes_free()).
#[no_mangle]
pub extern "C" fn pk_schema_registry_get_compatibility(
    registry: *mut pk_schema_registry,
    subject: *const c_char,
    out_level: *mut *mut pk_bytes,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let subject = if subject.is_null() { None } else { Some(c_str(subject, "subject")?) };
        check_out(out_level, "out_level")?;
        let level = block_on("pk_schema_registry_get_compatibility", r.client.get_compatibility(subject))??;
        Ok(out(out_level, "out_level", new_bytes(level.into_bytes()))?)
    })
}

/// The schema's id. `schema` is borrowed; NULL gives -1.
#[no_mangle]
pub extern "C" fn pk_registered_schema_id(schema: *const pk_registered_schema) -> i32 {
    handle(schema, "schema").map(|s| s.id).unwrap_or(-1)
}

/// The schema's version under its subject (0 when read by id). NULL gives -1.
#[no_mangle]
pub extern "C" fn pk_registered_schema_version(schema: *const pk_registered_schema) -> i32 {
    handle(schema, "schema").map(|s| s.version).unwrap_or(-1)
}

/// The subject ("" when read by id), borrowed from `schema`. NULL gives "".
#[no_mangle]
pub extern "C" fn pk_registered_schema_subject(schema: *const pk_registered_schema) -> *const c_char {
    handle(schema, "schema").map(|s| s.subject.as_ptr()).unwrap_or(c"".as_ptr())
}

/// The schema's text, borrowed from `schema`. NULL gives "".
#[no_mangle]
pub extern "C" fn pk_registered_schema_text(schema: *const pk_registered_schema) -> *const c_char {
    handle(schema, "schema").map(|s| s.schema.as_ptr()).unwrap_or(c"".as_ptr())
}

/// "AVRO", "JSON" or "PROTOBUF", borrowed from `schema`. NULL gives "".
#[no_mangle]
pub extern "C" fn pk_registered_schema_type(schema: *const pk_registered_schema) -> *const c_char {
    handle(schema, "schema").map(|s| s.schema_type.as_ptr()).unwrap_or(c"".as_ptr())
}

/// The references as a JSON array of {"name", "subject", "version"}, borrowed. NULL gives "".
#[no_mangle]
pub extern "C" fn pk_registered_schema_references_json(schema: *const pk_registered_schema) -> *const c_char {
    handle(schema, "schema").map(|s| s.references_json.as_ptr()).unwrap_or(c"".as_ptr())
}

/// Frees a registered schema. `schema` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_registered_schema_free(schema: *mut pk_registered_schema) {
    guard_void(|| {
        if !schema.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(schema) });
        }
    })
}

fn new_bytes(mut data: Vec<u8>) -> *mut pk_bytes {
    data.push(0);
    Box::into_raw(Box::new(pk_bytes { data }))
}

/// The bytes, borrowed from `b` (valid until pk_bytes_free), followed by a NUL byte. NULL gives
/// NULL.
#[no_mangle]
pub extern "C" fn pk_bytes_data(b: *const pk_bytes) -> *const u8 {
    handle(b, "bytes").map(|b| b.data.as_ptr()).unwrap_or(std::ptr::null())
}

/// The number of bytes (without the trailing NUL). NULL gives 0.
#[no_mangle]
pub extern "C" fn pk_bytes_len(b: *const pk_bytes) -> usize {
    handle(b, "bytes").map(|b| b.data.len() - 1).unwrap_or(0)
}

/// Frees bytes. `b` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_bytes_free(b: *mut pk_bytes) {
    guard_void(|| {
        if !b.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(b) });
        }
    })
}

fn serde_props(conf: *const pk_config) -> Result<Vec<(String, String)>> {
    props_of(conf)
}

/// Creates a serializer of `format` ("AVRO", "JSON" or "PROTOBUF") with `schema` (borrowed; NULL
/// only with use.latest.version or use.schema.id) and confluent-kafka's serializer settings in
/// `conf` (borrowed, NULL for the defaults): `auto.register.schemas` (true),
/// `use.latest.version`, `use.schema.id`, `normalize.schemas`, `subject.name.strategy`
/// (TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy), `validate` (JSON). An
/// unknown key or a schema that does not parse fails here. The serializer shares `registry`'s
/// client (the registry may be freed first). The caller frees `*out_serializer`.
#[no_mangle]
pub extern "C" fn pk_schema_serializer_new(
    registry: *mut pk_schema_registry,
    format: *const c_char,
    schema: *const pk_schema,
    conf: *const pk_config,
    out_serializer: *mut *mut pk_schema_serializer,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let format = SchemaType::parse(c_str(format, "format")?)?;
        let schema = if schema.is_null() { None } else { Some(schema_in(schema, "schema")?) };
        check_out(out_serializer, "out_serializer")?;
        let props = serde_props(conf)?;
        let cfg = SerdeConfig::from_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())), format, true)?;
        let inner = Serializer::new(r.client.clone(), format, schema, cfg)?;
        let s = Box::new(pk_schema_serializer { owner: Owner::current(), inner: Arc::new(inner) });
        Ok(out(out_serializer, "out_serializer", Box::into_raw(s))?)
    })
}

fn live_ser<'a>(s: *const pk_schema_serializer) -> Result<&'a pk_schema_serializer> {
    let s = handle(s, "serializer")?;
    s.owner.check("schema serializer")?;
    Ok(s)
}

/// Serializes one value given as JSON text (`json`, `json_len`; length 0: NUL-terminated) for
/// `topic`'s key or value: the schema id is found or registered as the settings say (one
/// request for the first record of a subject, none after), and `*out_bytes` gets the framed
/// record (the caller frees it with pk_bytes_free()). A value that does not match the schema
/// is a PK_ERROR_KIND_SERIALIZATION error naming the field.
#[no_mangle]
pub extern "C" fn pk_schema_serializer_serialize(
    serializer: *mut pk_schema_serializer,
    topic: *const c_char,
    is_key: bool,
    json: *const c_char,
    json_len: usize,
    out_bytes: *mut *mut pk_bytes,
) -> *mut pk_error {
    sguard(|| {
        let s = live_ser(serializer)?;
        let topic = c_str(topic, "topic")?;
        let json = str_len(json, json_len, "json")?;
        check_out(out_bytes, "out_bytes")?;
        let value = value_from_json_text(json)?;
        let bytes = block_on("pk_schema_serializer_serialize", s.inner.serialize(topic, field(is_key), &value))??;
        Ok(out(out_bytes, "out_bytes", new_bytes(bytes))?)
    })
}

/// Serializes `n` values in one call: `jsons[i]` (`json_lens[i]`; 0: NUL-terminated). Fills
/// `out_bytes` and `out_errors` (arrays of `n`, written, not read): for each value either its
/// bytes (error NULL) or its error (bytes NULL); a bad value fails alone. The caller frees each
/// with pk_bytes_free() / pk_error_free(). The call itself fails (writing nothing) only on a
/// bad argument.
#[no_mangle]
pub extern "C" fn pk_schema_serializer_serialize_batch(
    serializer: *mut pk_schema_serializer,
    topic: *const c_char,
    is_key: bool,
    jsons: *const *const c_char,
    json_lens: *const usize,
    n: usize,
    out_bytes: *mut *mut pk_bytes,
    out_errors: *mut *mut pk_error,
) -> *mut pk_error {
    sguard(|| {
        let s = live_ser(serializer)?;
        let topic = c_str(topic, "topic")?;
        let texts = slice(jsons, n, "jsons")?;
        let lens = slice(json_lens, n, "json_lens")?;
        if n > 0 {
            check_out(out_bytes, "out_bytes")?;
            check_out(out_errors, "out_errors")?;
        }
        let mut values = Vec::with_capacity(n);
        for (i, (p, l)) in texts.iter().zip(lens).enumerate() {
            values.push(str_len(*p, *l, &format!("jsons[{i}]")).map_err(Fail::Core).and_then(|t| value_from_json_text(t).map_err(Fail::Schema)));
        }
        let ser = s.inner.clone();
        let f = field(is_key);
        let results = block_on("pk_schema_serializer_serialize_batch", async {
            let mut out = Vec::with_capacity(values.len());
            for v in &values {
                out.push(match v {
                    Ok(v) => ser.serialize(topic, f, v).await.map_err(|e| schema_error(&e)),
                    Err(Fail::Schema(e)) => Err(schema_error(e)),
                    Err(Fail::Core(e)) => Err(crate::error::raw(e)),
                });
            }
            out
        })?;
        for (i, r) in results.into_iter().enumerate() {
            let (b, e) = match r {
                Ok(b) => (new_bytes(b), std::ptr::null_mut()),
                Err(e) => (std::ptr::null_mut(), e),
            };
            // SAFETY: both arrays have room for `n` (the caller's contract).
            unsafe {
                out_bytes.add(i).write(b);
                out_errors.add(i).write(e);
            }
        }
        Ok(())
    })
}

/// Frames a message the caller encoded (Protobuf from generated code): the classic prefix with
/// the schema id found or registered as the settings say, the message-index path
/// (`message_indexes`, `indexes_len`; [0] for the first message of the file) and `payload`.
/// `record_name` (the message's full name, NULL if unknown) serves the record subject
/// strategies. Only for a PROTOBUF serializer. The caller frees `*out_bytes`.
#[no_mangle]
pub extern "C" fn pk_schema_serializer_serialize_encoded(
    serializer: *mut pk_schema_serializer,
    topic: *const c_char,
    is_key: bool,
    record_name: *const c_char,
    message_indexes: *const i32,
    indexes_len: usize,
    payload: *const u8,
    payload_len: usize,
    out_bytes: *mut *mut pk_bytes,
) -> *mut pk_error {
    sguard(|| {
        let s = live_ser(serializer)?;
        let topic = c_str(topic, "topic")?;
        let record_name = if record_name.is_null() { None } else { Some(c_str(record_name, "record_name")?) };
        let indexes = slice(message_indexes, indexes_len, "message_indexes")?;
        let payload = bytes(payload, payload_len, "payload")?;
        check_out(out_bytes, "out_bytes")?;
        let b = block_on(
            "pk_schema_serializer_serialize_encoded",
            s.inner.serialize_encoded(topic, field(is_key), record_name, indexes, payload),
        )??;
        Ok(out(out_bytes, "out_bytes", new_bytes(b))?)
    })
}

/// Frees a serializer. `serializer` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_schema_serializer_free(serializer: *mut pk_schema_serializer) {
    guard_void(|| {
        if !serializer.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(serializer) });
        }
    })
}

/// Creates a deserializer of `format` with an optional reader schema (`schema`, borrowed; NULL:
/// the writer's schema, or the subject's latest with use.latest.version) and confluent-kafka's
/// deserializer settings in `conf` (borrowed, NULL for the defaults): `use.latest.version`,
/// `subject.name.strategy`, `validate` (JSON). The caller frees `*out_deserializer`.
#[no_mangle]
pub extern "C" fn pk_schema_deserializer_new(
    registry: *mut pk_schema_registry,
    format: *const c_char,
    schema: *const pk_schema,
    conf: *const pk_config,
    out_deserializer: *mut *mut pk_schema_deserializer,
) -> *mut pk_error {
    sguard(|| {
        let r = live_registry(registry)?;
        let format = SchemaType::parse(c_str(format, "format")?)?;
        let schema = if schema.is_null() { None } else { Some(schema_in(schema, "schema")?) };
        check_out(out_deserializer, "out_deserializer")?;
        let props = serde_props(conf)?;
        let cfg = SerdeConfig::from_properties(props.iter().map(|(k, v)| (k.as_str(), v.as_str())), format, false)?;
        let inner = Deserializer::new(r.client.clone(), format, schema, cfg)?;
        let d = Box::new(pk_schema_deserializer { owner: Owner::current(), inner: Arc::new(inner) });
        Ok(out(out_deserializer, "out_deserializer", Box::into_raw(d))?)
    })
}

fn live_de<'a>(d: *const pk_schema_deserializer) -> Result<&'a pk_schema_deserializer> {
    let d = handle(d, "deserializer")?;
    d.owner.check("schema deserializer")?;
    Ok(d)
}

/// Deserializes one framed record (`data`, `data_len`) of `topic`'s key or value into JSON text
/// in `*out_json` (NUL-terminated; the caller frees it with pk_bytes_free()). `header`
/// (`header_len`; NULL when absent) is the value of the record's `__key_schema_id` /
/// `__value_schema_id` header, if it has one. Bytes without the magic byte, an unknown schema
/// id (the registry's 40403) or a payload that does not decode are errors.
#[no_mangle]
pub extern "C" fn pk_schema_deserializer_deserialize(
    deserializer: *mut pk_schema_deserializer,
    topic: *const c_char,
    is_key: bool,
    data: *const u8,
    data_len: usize,
    header: *const u8,
    header_len: usize,
    out_json: *mut *mut pk_bytes,
) -> *mut pk_error {
    sguard(|| {
        let d = live_de(deserializer)?;
        let topic = c_str(topic, "topic")?;
        let data = bytes(data, data_len, "data")?;
        let header = if header.is_null() { None } else { Some(bytes(header, header_len, "header")?) };
        check_out(out_json, "out_json")?;
        let v = block_on("pk_schema_deserializer_deserialize", d.inner.deserialize(topic, field(is_key), data, header))??;
        let mut text = Vec::with_capacity(128);
        value_to_json(&v, &mut text)?;
        Ok(out(out_json, "out_json", new_bytes(text))?)
    })
}

/// Reads a Protobuf record's framing (`data`; `header` as in
/// pk_schema_deserializer_deserialize()): the schema it names must exist and be Protobuf, with
/// a message at the record's index path. The caller frees `*out_record` with
/// pk_encoded_record_free().
#[no_mangle]
pub extern "C" fn pk_schema_deserializer_deserialize_encoded(
    deserializer: *mut pk_schema_deserializer,
    data: *const u8,
    data_len: usize,
    header: *const u8,
    header_len: usize,
    out_record: *mut *mut pk_encoded_record,
) -> *mut pk_error {
    sguard(|| {
        let d = live_de(deserializer)?;
        let data = bytes(data, data_len, "data")?;
        let header = if header.is_null() { None } else { Some(bytes(header, header_len, "header")?) };
        check_out(out_record, "out_record")?;
        let (id, name, indexes, payload) = block_on("pk_schema_deserializer_deserialize_encoded", async {
            let (id, _, indexes, payload) = d.inner.deserialize_encoded(data, header).await?;
            let name = d.inner.message_name(&id, &indexes).await?;
            Ok::<_, SchemaError>((id, name, indexes, payload))
        })??;
        let schema_id = match id {
            pk::schema::SchemaId::Id(i) => i,
            pk::schema::SchemaId::Guid(_) => -1,
        };
        let rec = pk_encoded_record { schema_id, indexes, message_name: c_string(name), payload: payload.to_vec() };
        Ok(out(out_record, "out_record", Box::into_raw(Box::new(rec)))?)
    })
}

/// Frees a deserializer. `deserializer` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_schema_deserializer_free(deserializer: *mut pk_schema_deserializer) {
    guard_void(|| {
        if !deserializer.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(deserializer) });
        }
    })
}

/// The schema id of the record (-1 when it named its schema by GUID). NULL gives -1.
#[no_mangle]
pub extern "C" fn pk_encoded_record_schema_id(r: *const pk_encoded_record) -> i32 {
    handle(r, "record").map(|r| r.schema_id).unwrap_or(-1)
}

/// The message-index path, borrowed from `r`; its length in `*out_len`. NULL gives NULL, 0.
#[no_mangle]
pub extern "C" fn pk_encoded_record_indexes(r: *const pk_encoded_record, out_len: *mut usize) -> *const i32 {
    let (p, n) = handle(r, "record").map(|r| (r.indexes.as_ptr(), r.indexes.len())).unwrap_or((std::ptr::null(), 0));
    let _ = out(out_len, "out_len", n);
    p
}

/// The full name (`package.Outer.Inner`) of the record's message in its writer schema,
/// borrowed from `r` (NUL-terminated). NULL gives NULL.
#[no_mangle]
pub extern "C" fn pk_encoded_record_message_name(r: *const pk_encoded_record) -> *const c_char {
    handle(r, "record").map(|r| r.message_name.as_ptr()).unwrap_or(std::ptr::null())
}

/// The encoded message, borrowed from `r`; its length in `*out_len`. NULL gives NULL, 0.
#[no_mangle]
pub extern "C" fn pk_encoded_record_payload(r: *const pk_encoded_record, out_len: *mut usize) -> *const u8 {
    let (p, n) = handle(r, "record").map(|r| (r.payload.as_ptr(), r.payload.len())).unwrap_or((std::ptr::null(), 0));
    let _ = out(out_len, "out_len", n);
    p
}

/// Frees an encoded record. `r` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_encoded_record_free(r: *mut pk_encoded_record) {
    guard_void(|| {
        if !r.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(r) });
        }
    })
}

// --- values as JSON text --------------------------------------------------------------------

const MAX_DEPTH: usize = 256;

fn value_from_json_text(text: &str) -> SchemaResult<Value> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| SchemaError::serialization(format!("the value is not valid JSON: {e}")))?;
    value_from_json(&json, 0)
}

fn tagged_int(v: &serde_json::Value, tag: &str) -> SchemaResult<i64> {
    v.as_i64().ok_or_else(|| SchemaError::serialization(format!("{{\"{tag}\": ...}} needs an integer, got {v}")))
}

fn value_from_json(json: &serde_json::Value, depth: usize) -> SchemaResult<Value> {
    if depth > MAX_DEPTH {
        return Err(SchemaError::serialization("the value is nested too deeply"));
    }
    Ok(match json {
        serde_json::Value::Array(a) => Value::Array(a.iter().map(|x| value_from_json(x, depth + 1)).collect::<SchemaResult<_>>()?),
        serde_json::Value::Object(o) => {
            if o.len() == 1 {
                let (k, v) = o.iter().next().expect("one entry");
                match k.as_str() {
                    "$bytes" => {
                        let s = v.as_str().ok_or_else(|| SchemaError::serialization("{\"$bytes\": ...} needs a base64 string"))?;
                        let b = base64::engine::general_purpose::STANDARD
                            .decode(s)
                            .map_err(|e| SchemaError::serialization(format!("{{\"$bytes\": ...}} is not base64: {e}")))?;
                        return Ok(Value::Bytes(b));
                    }
                    "$timestamp_us" => return Ok(Value::Timestamp(tagged_int(v, k)?)),
                    "$time_us" => return Ok(Value::Time(tagged_int(v, k)?)),
                    "$date" => {
                        let d = tagged_int(v, k)?;
                        let d = i32::try_from(d).map_err(|_| SchemaError::serialization(format!("date {d} out of range")))?;
                        return Ok(Value::Date(d));
                    }
                    "$decimal" => {
                        let s = v.as_str().ok_or_else(|| SchemaError::serialization("{\"$decimal\": ...} needs a string"))?;
                        return parse_decimal(s);
                    }
                    _ => {}
                }
            }
            Value::Map(o.iter().map(|(k, v)| Ok((k.clone(), value_from_json(v, depth + 1)?))).collect::<SchemaResult<_>>()?)
        }
        other => Value::from_json(other),
    })
}

/// "-12.50" -> unscaled -1250, exponent -2, 4 digits.
fn parse_decimal(s: &str) -> SchemaResult<Value> {
    let bad = || SchemaError::serialization(format!("'{s}' is not a decimal number"));
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    let digits_str = format!("{int}{frac}");
    if !digits_str.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let trimmed = digits_str.trim_start_matches('0');
    if trimmed.len() > 38 {
        return Err(SchemaError::serialization(format!("'{s}' has more than 38 digits")));
    }
    let mut unscaled: i128 = 0;
    for b in trimmed.bytes() {
        unscaled = unscaled * 10 + (b - b'0') as i128;
    }
    if neg {
        unscaled = -unscaled;
    }
    Ok(Value::Decimal { unscaled, exponent: -(frac.len() as i32), digits: trimmed.len().max(1) as u32 })
}

fn format_decimal(unscaled: i128, exponent: i32) -> String {
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let text = if exponent >= 0 {
        format!("{digits}{}", "0".repeat(exponent as usize))
    } else {
        let scale = (-exponent) as usize;
        let padded = if digits.len() <= scale { format!("{}{digits}", "0".repeat(scale - digits.len() + 1)) } else { digits };
        let (i, f) = padded.split_at(padded.len() - scale);
        format!("{i}.{f}")
    };
    if neg {
        format!("-{text}")
    } else {
        text
    }
}

/// Writes `v` as JSON text, a record's fields in the schema's order.
fn value_to_json(v: &Value, out: &mut Vec<u8>) -> SchemaResult<()> {
    match v {
        Value::Bytes(b) => {
            out.extend_from_slice(b"{\"$bytes\":\"");
            out.extend_from_slice(base64::engine::general_purpose::STANDARD.encode(b).as_bytes());
            out.extend_from_slice(b"\"}");
        }
        Value::Timestamp(us) => out.extend_from_slice(format!("{{\"$timestamp_us\":{us}}}").as_bytes()),
        Value::Date(d) => out.extend_from_slice(format!("{{\"$date\":{d}}}").as_bytes()),
        Value::Time(us) => out.extend_from_slice(format!("{{\"$time_us\":{us}}}").as_bytes()),
        Value::Uuid(u) => string_json(u, out),
        Value::Decimal { unscaled, exponent, .. } => {
            out.extend_from_slice(format!("{{\"$decimal\":\"{}\"}}", format_decimal(*unscaled, *exponent)).as_bytes())
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value_to_json(x, out)?;
            }
            out.push(b']');
        }
        Value::Map(m) => {
            out.push(b'{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string_json(k, out);
                out.push(b':');
                value_to_json(x, out)?;
            }
            out.push(b'}');
        }
        Value::String(s) => string_json(s, out),
        Value::Float(f) if !f.is_finite() => {
            return Err(SchemaError::serialization(format!("the decoded value {f} cannot be written as JSON")))
        }
        other => {
            let j = other.to_json().map_err(SchemaError::serialization)?;
            serde_json::to_writer(&mut *out, &j).map_err(|e| SchemaError::serialization(e.to_string()))?;
        }
    }
    Ok(())
}

fn string_json(s: &str, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_trip() {
        for s in ["-12.50", "0.05", "123", "0", "-0.001"] {
            let v = parse_decimal(s).unwrap();
            let Value::Decimal { unscaled, exponent, .. } = v else { panic!() };
            assert_eq!(format_decimal(unscaled, exponent), s);
        }
        assert!(parse_decimal("1e5").is_err());
        assert!(parse_decimal("").is_err());
    }

    #[test]
    fn tagged_values() {
        let v = value_from_json_text(r#"{"b":{"$bytes":"AAEC"},"t":{"$timestamp_us":5},"m":{"$bytes":"x","y":1}}"#).unwrap();
        assert_eq!(v.get("b"), Some(&Value::Bytes(vec![0, 1, 2])));
        assert_eq!(v.get("t"), Some(&Value::Timestamp(5)));
        assert!(matches!(v.get("m"), Some(Value::Map(_))));
        assert!(value_from_json_text(r#"{"$bytes":"!!"}"#).is_err());
        let mut out = Vec::new();
        value_to_json(&Value::Map(vec![("z".into(), Value::Bytes(vec![0, 1, 2])), ("a".into(), Value::String("\"".into()))]), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"z":{"$bytes":"AAEC"},"a":"\""}"#);
    }
}
