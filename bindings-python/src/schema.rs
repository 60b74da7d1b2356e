//! Schema registry serdes for `polykafka.schema_registry`: the core's registry client,
//! serializer and deserializer, with Python values converted to the core's `Value` in one walk
//! (no per-field call back into Python). Errors leave as `_native.SchemaError(kind,
//! http_status, error_code, message, retriable)`; the Python package turns them into
//! confluent-kafka's classes.

use std::collections::HashMap;
use std::sync::Arc;

use polykafka::schema::{
    self, Deserializer, MessageField, MessageRef, RegistryClient, RegistryConfig, Schema, SchemaError, SchemaErrorKind, SchemaReference, SchemaType,
    SerdeConfig, Serializer, Value,
};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::runtime;

pyo3::create_exception!(_native, SchemaError_, PyException);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SchemaRegistryClient>()?;
    m.add_class::<SchemaSerializer>()?;
    m.add_class::<SchemaDeserializer>()?;
    m.add_function(pyo3::wrap_pyfunction!(protobuf_framing, m)?)?;
    m.add("SchemaError", m.py().get_type::<SchemaError_>())?;
    Ok(())
}

fn to_pyerr(e: SchemaError) -> PyErr {
    let kind = match e.kind() {
        SchemaErrorKind::Registry => "registry",
        SchemaErrorKind::Unreachable => "unreachable",
        SchemaErrorKind::Serialization => "serialization",
        SchemaErrorKind::Config => "config",
    };
    SchemaError_::new_err((kind, e.http_status(), e.error_code(), e.message().to_string(), e.retriable()))
}

type RefTuple = (String, String, i32);
type SchemaTuple = (String, String, Vec<RefTuple>);

fn schema_from(schema_str: String, schema_type: &str, references: Vec<RefTuple>) -> PyResult<Schema> {
    Ok(Schema {
        schema_str,
        schema_type: SchemaType::parse(schema_type).map_err(to_pyerr)?,
        references: references.into_iter().map(|(name, subject, version)| SchemaReference { name, subject, version }).collect(),
    })
}

fn schema_tuple(s: Schema) -> SchemaTuple {
    (
        s.schema_str,
        s.schema_type.as_str().to_string(),
        s.references.into_iter().map(|r| (r.name, r.subject, r.version)).collect(),
    )
}

fn registered_tuple(r: schema::RegisteredSchema) -> (i32, String, i32, SchemaTuple) {
    (r.id, r.subject, r.version, schema_tuple(r.schema))
}

/// The core's registry client.
#[pyclass(module = "polykafka._native", frozen)]
pub struct SchemaRegistryClient {
    inner: Arc<RegistryClient>,
}

impl SchemaRegistryClient {
    fn call<T: Send, F: std::future::Future<Output = schema::SchemaResult<T>> + Send>(&self, py: Python<'_>, fut: F) -> PyResult<T> {
        let handle = runtime::handle()?;
        runtime::run(py, &handle, fut)?.map_err(to_pyerr)
    }
}

#[pymethods]
impl SchemaRegistryClient {
    /// `conf`: confluent-kafka's keys with values as text.
    #[new]
    fn new(conf: HashMap<String, String>) -> PyResult<Self> {
        let cfg = RegistryConfig::from_properties(conf.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(to_pyerr)?;
        Ok(SchemaRegistryClient { inner: Arc::new(RegistryClient::new(cfg).map_err(to_pyerr)?) })
    }

    fn register_schema(&self, py: Python<'_>, subject: String, schema_str: String, schema_type: String, references: Vec<RefTuple>, normalize: bool) -> PyResult<i32> {
        let s = schema_from(schema_str, &schema_type, references)?;
        let c = self.inner.clone();
        self.call(py, async move { c.register(&subject, &s, normalize).await })
    }

    fn lookup_schema(&self, py: Python<'_>, subject: String, schema_str: String, schema_type: String, references: Vec<RefTuple>, normalize: bool) -> PyResult<(i32, String, i32, SchemaTuple)> {
        let s = schema_from(schema_str, &schema_type, references)?;
        let c = self.inner.clone();
        self.call(py, async move { c.lookup_schema(&subject, &s, normalize).await.map(registered_tuple) })
    }

    fn get_schema(&self, py: Python<'_>, schema_id: i32) -> PyResult<SchemaTuple> {
        let c = self.inner.clone();
        self.call(py, async move { c.get_schema(schema_id).await.map(schema_tuple) })
    }

    fn get_latest_version(&self, py: Python<'_>, subject: String) -> PyResult<(i32, String, i32, SchemaTuple)> {
        let c = self.inner.clone();
        self.call(py, async move { c.get_latest_version(&subject).await.map(registered_tuple) })
    }

    fn get_version(&self, py: Python<'_>, subject: String, version: i32) -> PyResult<(i32, String, i32, SchemaTuple)> {
        let c = self.inner.clone();
        self.call(py, async move { c.get_version(&subject, version).await.map(registered_tuple) })
    }

    fn get_versions(&self, py: Python<'_>, subject: String) -> PyResult<Vec<i32>> {
        let c = self.inner.clone();
        self.call(py, async move { c.get_versions(&subject).await })
    }

    fn get_subjects(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let c = self.inner.clone();
        self.call(py, async move { c.get_subjects().await })
    }

    fn delete_subject(&self, py: Python<'_>, subject: String, permanent: bool) -> PyResult<Vec<i32>> {
        let c = self.inner.clone();
        self.call(py, async move { c.delete_subject(&subject, permanent).await })
    }

    fn delete_version(&self, py: Python<'_>, subject: String, version: i32, permanent: bool) -> PyResult<i32> {
        let c = self.inner.clone();
        self.call(py, async move { c.delete_version(&subject, version, permanent).await })
    }

    #[pyo3(signature = (subject, schema_str, schema_type, references, version=None))]
    fn test_compatibility(&self, py: Python<'_>, subject: String, schema_str: String, schema_type: String, references: Vec<RefTuple>, version: Option<i32>) -> PyResult<bool> {
        let s = schema_from(schema_str, &schema_type, references)?;
        let c = self.inner.clone();
        self.call(py, async move { c.test_compatibility(&subject, &s, version).await })
    }

    #[pyo3(signature = (subject=None))]
    fn get_compatibility(&self, py: Python<'_>, subject: Option<String>) -> PyResult<String> {
        let c = self.inner.clone();
        self.call(py, async move { c.get_compatibility(subject.as_deref()).await })
    }

    #[pyo3(signature = (level, subject=None))]
    fn set_compatibility(&self, py: Python<'_>, level: String, subject: Option<String>) -> PyResult<String> {
        let c = self.inner.clone();
        self.call(py, async move { c.set_compatibility(subject.as_deref(), &level).await })
    }
}

fn format_of(name: &str) -> PyResult<SchemaType> {
    SchemaType::parse(name).map_err(to_pyerr)
}

/// A serializer: `serialize(topic, is_key, obj)` gives the framed bytes.
#[pyclass(module = "polykafka._native", frozen)]
pub struct SchemaSerializer {
    inner: Arc<Serializer>,
}

#[pymethods]
impl SchemaSerializer {
    /// `schema`: (text, type, references) or None; `conf`: the serde keys as text.
    #[new]
    #[pyo3(signature = (client, format, schema, conf))]
    fn new(client: &SchemaRegistryClient, format: &str, schema: Option<SchemaTuple>, conf: HashMap<String, String>) -> PyResult<Self> {
        let format = format_of(format)?;
        let schema = schema.map(|(s, t, r)| schema_from(s, &t, r)).transpose()?;
        let cfg = SerdeConfig::from_properties(conf.iter().map(|(k, v)| (k.as_str(), v.as_str())), format, true).map_err(to_pyerr)?;
        let inner = Serializer::new(client.inner.clone(), format, schema, cfg).map_err(to_pyerr)?;
        Ok(SchemaSerializer { inner: Arc::new(inner) })
    }

    /// `message`: for Protobuf, the message's full name (None: the file's first message).
    #[pyo3(signature = (topic, is_key, obj, message=None))]
    fn serialize<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        is_key: bool,
        obj: &Bound<'py, PyAny>,
        message: Option<String>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let value = to_value(obj, 0)?;
        let field = if is_key { MessageField::Key } else { MessageField::Value };
        let ser = self.inner.clone();
        let handle = runtime::handle()?;
        let bytes = runtime::run(py, &handle, async move {
            let which = message.as_deref().map_or(MessageRef::First, MessageRef::Name);
            ser.serialize_message(&topic, field, which, &value).await
        })?
        .map_err(to_pyerr)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Frames a message encoded by the caller (Protobuf): prefix, message indexes, payload.
    #[pyo3(signature = (topic, is_key, record_name, message_indexes, payload))]
    fn serialize_encoded<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        is_key: bool,
        record_name: Option<String>,
        message_indexes: Vec<i32>,
        payload: Vec<u8>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let field = if is_key { MessageField::Key } else { MessageField::Value };
        let ser = self.inner.clone();
        let handle = runtime::handle()?;
        let bytes = runtime::run(py, &handle, async move {
            ser.serialize_encoded(&topic, field, record_name.as_deref(), &message_indexes, &payload).await
        })?
        .map_err(to_pyerr)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// A deserializer: `deserialize(topic, is_key, data, header)` gives the value.
#[pyclass(module = "polykafka._native", frozen)]
pub struct SchemaDeserializer {
    inner: Arc<Deserializer>,
}

#[pymethods]
impl SchemaDeserializer {
    #[new]
    #[pyo3(signature = (client, format, schema, conf))]
    fn new(client: &SchemaRegistryClient, format: &str, schema: Option<SchemaTuple>, conf: HashMap<String, String>) -> PyResult<Self> {
        let format = format_of(format)?;
        let schema = schema.map(|(s, t, r)| schema_from(s, &t, r)).transpose()?;
        let cfg = SerdeConfig::from_properties(conf.iter().map(|(k, v)| (k.as_str(), v.as_str())), format, false).map_err(to_pyerr)?;
        let inner = Deserializer::new(client.inner.clone(), format, schema, cfg).map_err(to_pyerr)?;
        Ok(SchemaDeserializer { inner: Arc::new(inner) })
    }

    #[pyo3(signature = (topic, is_key, data, header=None))]
    fn deserialize<'py>(&self, py: Python<'py>, topic: String, is_key: bool, data: &[u8], header: Option<&[u8]>) -> PyResult<Bound<'py, PyAny>> {
        let field = if is_key { MessageField::Key } else { MessageField::Value };
        let de = self.inner.clone();
        let handle = runtime::handle()?;
        let data = data.to_vec();
        let header = header.map(|h| h.to_vec());
        let value = runtime::run(py, &handle, async move { de.deserialize(&topic, field, &data, header.as_deref()).await })?.map_err(to_pyerr)?;
        from_value(py, value)
    }

    /// Reads a Protobuf record's framing: (message indexes, encoded message); the schema it
    /// names must exist and be Protobuf.
    #[pyo3(signature = (data, header=None))]
    fn deserialize_encoded<'py>(&self, py: Python<'py>, data: &[u8], header: Option<&[u8]>) -> PyResult<(Vec<i32>, Bound<'py, PyBytes>)> {
        let de = self.inner.clone();
        let handle = runtime::handle()?;
        let data = data.to_vec();
        let header = header.map(|h| h.to_vec());
        let (indexes, payload) = runtime::run(py, &handle, async move {
            de.deserialize_encoded(&data, header.as_deref()).await.map(|(_, _, i, p)| (i, p.to_vec()))
        })?
        .map_err(to_pyerr)?;
        Ok((indexes, PyBytes::new(py, &payload)))
    }
}

/// (schema id, GUID, message indexes, encoded message)
type Framing<'py> = (Option<i32>, Option<String>, Vec<i32>, Bound<'py, PyBytes>);

/// Reads a Protobuf record's framing without a registry: (schema id or None, GUID or None,
/// message indexes, encoded message).
#[pyfunction]
#[pyo3(signature = (data, header=None))]
fn protobuf_framing<'py>(py: Python<'py>, data: &[u8], header: Option<&[u8]>) -> PyResult<Framing<'py>> {
    let (id, payload) = schema::wire::read(data, header).map_err(to_pyerr)?;
    let (indexes, n) = schema::wire::read_message_indexes(payload).map_err(to_pyerr)?;
    let (id, guid) = match id {
        schema::SchemaId::Id(i) => (Some(i), None),
        schema::SchemaId::Guid(g) => (None, Some(g)),
    };
    Ok((id, guid, indexes, PyBytes::new(py, &payload[n..])))
}

const MAX_DEPTH: usize = 256;

/// Python classes the conversions check and build: datetime's, uuid.UUID, decimal.Decimal.
struct Classes {
    datetime: PyObject,
    date: PyObject,
    time: PyObject,
    timedelta: PyObject,
    epoch: PyObject,
    uuid: PyObject,
    decimal: PyObject,
    mktime: PyObject,
}

static CLASSES: pyo3::sync::GILOnceCell<Classes> = pyo3::sync::GILOnceCell::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let dt = py.import("datetime")?;
        let utc = dt.getattr("timezone")?.getattr("utc")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("tzinfo", utc)?;
        let epoch = dt.getattr("datetime")?.call((1970, 1, 1), Some(&kwargs))?;
        Ok(Classes {
            datetime: dt.getattr("datetime")?.unbind(),
            date: dt.getattr("date")?.unbind(),
            time: dt.getattr("time")?.unbind(),
            timedelta: dt.getattr("timedelta")?.unbind(),
            epoch: epoch.unbind(),
            uuid: py.import("uuid")?.getattr("UUID")?.unbind(),
            decimal: py.import("decimal")?.getattr("Decimal")?.unbind(),
            mktime: py.import("time")?.getattr("mktime")?.unbind(),
        })
    })
}

fn value_error(message: String) -> PyErr {
    SchemaError_::new_err(("serialization", 0u16, -1i32, message, false))
}

/// datetime, date, time, UUID and Decimal as fastavro takes them (a naive datetime is local
/// time, as fastavro's `mktime`).
fn to_logical(obj: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    let py = obj.py();
    let c = classes(py)?;
    if obj.is_instance(c.datetime.bind(py))? {
        if obj.getattr("tzinfo")?.is_none() {
            let secs: f64 = c.mktime.bind(py).call1((obj.call_method0("timetuple")?,))?.extract()?;
            let us: i64 = obj.getattr("microsecond")?.extract()?;
            return Ok(Some(Value::Timestamp((secs as i64) * 1_000_000 + us)));
        }
        let delta = obj.call_method1("__sub__", (c.epoch.bind(py),))?;
        let days: i64 = delta.getattr("days")?.extract()?;
        let seconds: i64 = delta.getattr("seconds")?.extract()?;
        let micros: i64 = delta.getattr("microseconds")?.extract()?;
        return Ok(Some(Value::Timestamp((days * 86_400 + seconds) * 1_000_000 + micros)));
    }
    if obj.is_instance(c.date.bind(py))? {
        let ordinal: i64 = obj.call_method0("toordinal")?.extract()?;
        return Ok(Some(Value::Date((ordinal - 719_163) as i32)));
    }
    if obj.is_instance(c.time.bind(py))? {
        let h: i64 = obj.getattr("hour")?.extract()?;
        let m: i64 = obj.getattr("minute")?.extract()?;
        let s: i64 = obj.getattr("second")?.extract()?;
        let us: i64 = obj.getattr("microsecond")?.extract()?;
        return Ok(Some(Value::Time(((h * 60 + m) * 60 + s) * 1_000_000 + us)));
    }
    if obj.is_instance(c.uuid.bind(py))? {
        return Ok(Some(Value::Uuid(obj.str()?.to_cow()?.into_owned())));
    }
    if obj.is_instance(c.decimal.bind(py))? {
        let t = obj.call_method0("as_tuple")?;
        let sign: i64 = t.getattr("sign")?.extract()?;
        let digits: Vec<u8> = t.getattr("digits")?.extract()?;
        let exponent: i32 = t
            .getattr("exponent")?
            .extract()
            .map_err(|_| value_error(format!("{obj} cannot be written as an Avro decimal")))?;
        if digits.len() > 38 {
            return Err(value_error(format!("{obj} has more than 38 digits")));
        }
        let mut unscaled: i128 = 0;
        for d in &digits {
            unscaled = unscaled * 10 + *d as i128;
        }
        if sign == 1 {
            unscaled = -unscaled;
        }
        return Ok(Some(Value::Decimal { unscaled, exponent, digits: digits.len() as u32 }));
    }
    Ok(None)
}

fn to_value(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(SchemaError_::new_err(("serialization", 0u16, -1i32, "the value is nested too deeply".to_string(), false)));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.downcast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.downcast::<PyInt>() {
        return match i.extract::<i64>() {
            Ok(v) => Ok(Value::Int(v)),
            Err(_) => Err(SchemaError_::new_err(("serialization", 0u16, -1i32, format!("{i} does not fit a 64-bit integer"), false))),
        };
    }
    if let Ok(f) = obj.downcast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if let Ok(s) = obj.downcast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(Value::Bytes(b.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.downcast::<PyByteArray>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    if let Ok(d) = obj.downcast::<PyDict>() {
        let mut out = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.downcast::<PyString>().map_err(|_| {
                SchemaError_::new_err(("serialization", 0u16, -1i32, format!("a map key must be a str, not {}", k.get_type()), false))
            })?;
            out.push((key.to_cow()?.into_owned(), to_value(&v, depth + 1)?));
        }
        return Ok(Value::Map(out));
    }
    if let Ok(l) = obj.downcast::<PyList>() {
        return l.iter().map(|x| to_value(&x, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Ok(t) = obj.downcast::<PyTuple>() {
        return t.iter().map(|x| to_value(&x, depth + 1)).collect::<PyResult<_>>().map(Value::Array);
    }
    if let Some(v) = to_logical(obj)? {
        return Ok(v);
    }
    Err(SchemaError_::new_err((
        "serialization",
        0u16,
        -1i32,
        format!("cannot serialize a value of type {} (give dicts, lists, str, bytes, int, float, bool or None; use to_dict)", obj.get_type()),
        false,
    )))
}

fn from_value(py: Python<'_>, v: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::Int(i) => i.into_pyobject(py)?.into_any(),
        Value::Float(f) => PyFloat::new(py, f).into_any(),
        Value::String(s) => PyString::new(py, &s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, &b).into_any(),
        Value::Array(a) => {
            let items = a.into_iter().map(|x| from_value(py, x)).collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        Value::Timestamp(us) => {
            let c = classes(py)?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("microseconds", us)?;
            let delta = c.timedelta.bind(py).call((), Some(&kwargs))?;
            c.epoch.bind(py).call_method1("__add__", (delta,))?
        }
        Value::Date(d) => classes(py)?.date.bind(py).call_method1("fromordinal", (d as i64 + 719_163,))?,
        Value::Time(us) => {
            let (s, us) = (us.div_euclid(1_000_000), us.rem_euclid(1_000_000));
            classes(py)?.time.bind(py).call1((s / 3600, (s / 60) % 60, s % 60, us))?
        }
        Value::Uuid(u) => classes(py)?.uuid.bind(py).call1((u,))?,
        Value::Decimal { unscaled, exponent, .. } => classes(py)?.decimal.bind(py).call1((format!("{unscaled}E{exponent}"),))?,
        Value::Map(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, from_value(py, x)?)?;
            }
            d.into_any()
        }
    })
}
