//! Avro binary encoding and decoding with schema resolution.
//!
//! `apache-avro` parses the schema text (names, namespaces, references); encoding, decoding
//! and writer/reader resolution are done here over a compiled form: an [`AvroSchema`] is an
//! arena of nodes built once per schema, and a [`Resolution`] is built once per (writer,
//! reader) pair and reused for every record (the trap of resolving per call, avro-rs#310, does
//! not exist here). Encoding picks union branches as fastavro does (the first branch the value
//! fits) and fills a missing field with its default, so the bytes equal confluent-kafka's.
//! Logical types: date, time-millis/-micros, timestamp-millis/-micros, uuid (string) and
//! decimal (bytes or fixed) decode to `Value::Date`/`Time`/`Timestamp`/`Uuid`/`Decimal` and
//! encode from those or from their underlying type, as fastavro does; local-timestamp-*,
//! timestamp-nanos and duration stay their underlying type.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, Schema as AvroParsed, UuidSchema};

use super::error::{SchemaError, SchemaResult};
use super::value::Value;

#[derive(Debug, Clone)]
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed { name: String, size: usize },
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    Uuid,
    /// decimal over bytes (`fixed` None) or a fixed of that size
    Decimal { precision: u32, scale: u32, fixed: Option<usize> },
    Enum { name: String, symbols: Vec<String>, default: Option<String> },
    Array(usize),
    Map(usize),
    Union(Vec<usize>),
    Record { name: String, fields: Vec<Field> },
    /// A named type still being compiled (only while compiling).
    Pending,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    node: usize,
    default: Option<Value>,
}

/// A compiled Avro schema.
#[derive(Debug, Clone)]
pub struct AvroSchema {
    nodes: Vec<Node>,
    root: usize,
    /// The canonical JSON text of the parsed schema.
    canonical: String,
    /// The full name of the top-level named type, if it is one.
    name: Option<String>,
}

fn parse_error(e: impl std::fmt::Display) -> SchemaError {
    SchemaError::serialization(format!("invalid Avro schema: {e}"))
}

struct Compiler<'a> {
    nodes: Vec<Node>,
    named: HashMap<String, usize>,
    names: &'a HashMap<Name, &'a AvroParsed>,
}

impl<'a> Compiler<'a> {
    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn compile(&mut self, s: &AvroParsed) -> SchemaResult<usize> {
        Ok(match s {
            AvroParsed::Null => self.push(Node::Null),
            AvroParsed::Boolean => self.push(Node::Boolean),
            AvroParsed::Int => self.push(Node::Int),
            AvroParsed::Date => self.push(Node::Date),
            AvroParsed::TimeMillis => self.push(Node::TimeMillis),
            AvroParsed::TimeMicros => self.push(Node::TimeMicros),
            AvroParsed::TimestampMillis => self.push(Node::TimestampMillis),
            AvroParsed::TimestampMicros => self.push(Node::TimestampMicros),
            AvroParsed::Long
            | AvroParsed::TimestampNanos
            | AvroParsed::LocalTimestampMillis
            | AvroParsed::LocalTimestampMicros
            | AvroParsed::LocalTimestampNanos => self.push(Node::Long),
            AvroParsed::Float => self.push(Node::Float),
            AvroParsed::Double => self.push(Node::Double),
            AvroParsed::Bytes | AvroParsed::BigDecimal => self.push(Node::Bytes),
            AvroParsed::String => self.push(Node::String),
            AvroParsed::Uuid(UuidSchema::String) => self.push(Node::Uuid),
            AvroParsed::Uuid(UuidSchema::Bytes) => self.push(Node::Bytes),
            AvroParsed::Uuid(UuidSchema::Fixed(f)) | AvroParsed::Duration(f) => self.fixed(f)?,
            AvroParsed::Decimal(d) => {
                let fixed = match &d.inner {
                    InnerDecimalSchema::Bytes => None,
                    InnerDecimalSchema::Fixed(f) => Some(f.size),
                };
                self.push(Node::Decimal { precision: d.precision as u32, scale: d.scale as u32, fixed })
            }
            AvroParsed::Fixed(f) => self.fixed(f)?,
            AvroParsed::Array(a) => {
                let at = self.push(Node::Pending);
                let items = self.compile(&a.items)?;
                self.nodes[at] = Node::Array(items);
                at
            }
            AvroParsed::Map(m) => {
                let at = self.push(Node::Pending);
                let values = self.compile(&m.types)?;
                self.nodes[at] = Node::Map(values);
                at
            }
            AvroParsed::Union(u) => {
                let at = self.push(Node::Pending);
                let mut branches = Vec::with_capacity(u.variants().len());
                for v in u.variants() {
                    branches.push(self.compile(v)?);
                }
                self.nodes[at] = Node::Union(branches);
                at
            }
            AvroParsed::Enum(e) => {
                let name = e.name.fullname(None);
                if let Some(&at) = self.named.get(&name) {
                    return Ok(at);
                }
                let at = self.push(Node::Enum { name: name.clone(), symbols: e.symbols.clone(), default: e.default.clone() });
                self.named.insert(name, at);
                at
            }
            AvroParsed::Record(r) => {
                let name = r.name.fullname(None);
                if let Some(&at) = self.named.get(&name) {
                    return Ok(at);
                }
                let at = self.push(Node::Pending);
                self.named.insert(name.clone(), at);
                let mut fields = Vec::with_capacity(r.fields.len());
                for f in &r.fields {
                    let node = self.compile(&f.schema)?;
                    let default = match &f.default {
                        None => None,
                        Some(json) => Some(self.default_value(node, json).map_err(|e| {
                            parse_error(format!("the default of field '{}' of {name} does not match its type: {e}", f.name))
                        })?),
                    };
                    fields.push(Field { name: f.name.clone(), node, default });
                }
                self.nodes[at] = Node::Record { name, fields };
                at
            }
            AvroParsed::Ref { name } => {
                let full = name.fullname(None);
                if let Some(&at) = self.named.get(&full) {
                    return Ok(at);
                }
                let target = self.names.get(name).ok_or_else(|| parse_error(format!("unknown type {full}")))?;
                self.compile(target)?
            }
        })
    }

    fn fixed(&mut self, f: &apache_avro::schema::FixedSchema) -> SchemaResult<usize> {
        let name = f.name.fullname(None);
        if let Some(&at) = self.named.get(&name) {
            return Ok(at);
        }
        let at = self.push(Node::Fixed { name: name.clone(), size: f.size });
        self.named.insert(name, at);
        Ok(at)
    }

    /// A field default (JSON) as the value of `node` (for a union: of its first branch).
    fn default_value(&self, node: usize, json: &serde_json::Value) -> Result<Value, String> {
        let v = match (&self.nodes[node], json) {
            (Node::Union(b), _) => return self.default_value(b[0], json),
            (Node::Null, serde_json::Value::Null) => Value::Null,
            (Node::Boolean, serde_json::Value::Bool(b)) => Value::Bool(*b),
            (Node::Int | Node::Long | Node::Date | Node::TimeMillis | Node::TimeMicros | Node::TimestampMillis | Node::TimestampMicros, serde_json::Value::Number(n)) => {
                Value::Int(n.as_i64().ok_or_else(|| format!("{n} is not an integer"))?)
            }
            (Node::Float | Node::Double, serde_json::Value::Number(n)) => Value::Float(n.as_f64().unwrap_or(0.0)),
            (Node::String | Node::Enum { .. } | Node::Uuid, serde_json::Value::String(s)) => Value::String(s.clone()),
            (Node::Bytes | Node::Fixed { .. } | Node::Decimal { .. }, serde_json::Value::String(s)) => {
                Value::Bytes(s.chars().map(|c| c as u32 as u8).collect())
            }
            (Node::Array(items), serde_json::Value::Array(a)) => {
                Value::Array(a.iter().map(|j| self.default_value(*items, j)).collect::<Result<_, _>>()?)
            }
            (Node::Map(values), serde_json::Value::Object(o)) => Value::Map(
                o.iter().map(|(k, j)| Ok((k.clone(), self.default_value(*values, j)?))).collect::<Result<_, String>>()?,
            ),
            (Node::Record { fields, .. }, serde_json::Value::Object(o)) => {
                let mut out = Vec::with_capacity(fields.len());
                for f in fields {
                    let v = match o.get(&f.name) {
                        Some(j) => self.default_value(f.node, j)?,
                        None => f.default.clone().ok_or_else(|| format!("field '{}' has no value", f.name))?,
                    };
                    out.push((f.name.clone(), v));
                }
                Value::Map(out)
            }
            // a record default may name a type being compiled (recursion): keep it as JSON
            (Node::Pending, j) => Value::from_json(j),
            (_, j) => return Err(format!("{j}")),
        };
        Ok(v)
    }
}

impl AvroSchema {
    /// Parses and compiles `schema` (JSON text); `references` are the texts of the named types
    /// it refers to (schema references).
    pub fn parse(schema: &str, references: &[String]) -> SchemaResult<AvroSchema> {
        let (parsed, refs) = if references.is_empty() {
            (AvroParsed::parse_str(schema).map_err(parse_error)?, Vec::new())
        } else {
            AvroParsed::parse_str_with_list(schema, references).map_err(parse_error)?
        };
        let mut all: Vec<&AvroParsed> = refs.iter().collect();
        all.push(&parsed);
        let resolved = apache_avro::schema::ResolvedSchema::new_with_schemata(all).map_err(parse_error)?;
        let mut c = Compiler { nodes: Vec::new(), named: HashMap::new(), names: resolved.get_names() };
        let root = c.compile(&parsed)?;
        let name = match &parsed {
            AvroParsed::Record(r) => Some(r.name.fullname(None)),
            AvroParsed::Enum(e) => Some(e.name.fullname(None)),
            AvroParsed::Fixed(f) => Some(f.name.fullname(None)),
            _ => None,
        };
        Ok(AvroSchema { nodes: c.nodes, root, canonical: parsed.canonical_form(), name })
    }

    /// The full name of the top-level record/enum/fixed (for the record subject strategies).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The Parsing Canonical Form of the schema.
    pub fn canonical_form(&self) -> &str {
        &self.canonical
    }

    /// Appends the binary encoding of `value` to `out`. A value that does not fit gives a
    /// serialization error naming the field path (`UserEvent.address.zip`); `out` may then hold
    /// part of the encoding.
    pub fn encode(&self, value: &Value, out: &mut Vec<u8>) -> SchemaResult<()> {
        self.enc(self.root, value, out).map_err(|mut path| {
            path.segments.reverse();
            let p = path.segments.join("");
            SchemaError::serialization(format!("{}{}: {}", self.name.as_deref().unwrap_or("value"), p, path.message))
        })
    }

    fn enc(&self, n: usize, v: &Value, out: &mut Vec<u8>) -> Result<(), PathError> {
        match (&self.nodes[n], v) {
            (Node::Null, Value::Null) => {}
            (Node::Boolean, Value::Bool(b)) => out.push(*b as u8),
            (Node::Int, Value::Int(i)) => {
                let i = i32::try_from(*i).map_err(|_| PathError::new(format!("{i} is out of range for an Avro int")))?;
                write_long(i as i64, out)
            }
            (Node::Long, Value::Int(i)) => write_long(*i, out),
            (Node::Float, Value::Float(f)) => out.extend_from_slice(&(*f as f32).to_le_bytes()),
            (Node::Float, Value::Int(i)) => out.extend_from_slice(&(*i as f32).to_le_bytes()),
            (Node::Double, Value::Float(f)) => out.extend_from_slice(&f.to_le_bytes()),
            (Node::Double, Value::Int(i)) => out.extend_from_slice(&(*i as f64).to_le_bytes()),
            (Node::Bytes, Value::Bytes(b)) => {
                write_long(b.len() as i64, out);
                out.extend_from_slice(b);
            }
            (Node::String, Value::String(s)) => {
                write_long(s.len() as i64, out);
                out.extend_from_slice(s.as_bytes());
            }
            (Node::Fixed { size, name }, Value::Bytes(b)) => {
                if b.len() != *size {
                    return Err(PathError::new(format!("{} bytes given for fixed {name} of size {size}", b.len())));
                }
                out.extend_from_slice(b);
            }
            (Node::Date, Value::Date(d)) => write_long(*d as i64, out),
            (Node::Date | Node::TimeMillis, Value::Int(i)) => {
                let i = i32::try_from(*i).map_err(|_| PathError::new(format!("{i} is out of range for an Avro int")))?;
                write_long(i as i64, out)
            }
            (Node::TimeMillis, Value::Time(us)) => write_long(us / 1000, out),
            (Node::TimeMicros, Value::Time(us)) => write_long(*us, out),
            (Node::TimeMicros | Node::TimestampMillis | Node::TimestampMicros, Value::Int(i)) => write_long(*i, out),
            (Node::TimestampMillis, Value::Timestamp(us)) => write_long(us.div_euclid(1000), out),
            (Node::TimestampMicros, Value::Timestamp(us)) => write_long(*us, out),
            (Node::Uuid, Value::Uuid(s) | Value::String(s)) => {
                write_long(s.len() as i64, out);
                out.extend_from_slice(s.as_bytes());
            }
            (Node::Decimal { fixed: None, .. }, Value::Bytes(b)) => {
                write_long(b.len() as i64, out);
                out.extend_from_slice(b);
            }
            (Node::Decimal { fixed: Some(size), .. }, Value::Bytes(b)) => {
                if b.len() != *size {
                    return Err(PathError::new(format!("{} bytes given for a decimal fixed of size {size}", b.len())));
                }
                out.extend_from_slice(b);
            }
            (Node::Decimal { precision, scale, fixed }, Value::Decimal { unscaled, exponent, digits }) => {
                let b = decimal_bytes(*unscaled, *exponent, *digits, *precision, *scale, *fixed).map_err(PathError::new)?;
                if fixed.is_none() {
                    write_long(b.len() as i64, out);
                }
                out.extend_from_slice(&b);
            }
            (Node::Enum { symbols, name, .. }, Value::String(s)) => {
                let i = symbols
                    .iter()
                    .position(|x| x == s)
                    .ok_or_else(|| PathError::new(format!("'{s}' is not a symbol of enum {name} {symbols:?}")))?;
                write_long(i as i64, out);
            }
            (Node::Array(items), Value::Array(a)) => {
                if !a.is_empty() {
                    write_long(a.len() as i64, out);
                    for (i, x) in a.iter().enumerate() {
                        self.enc(*items, x, out).map_err(|e| e.at(format!("[{i}]")))?;
                    }
                }
                out.push(0);
            }
            (Node::Map(values), Value::Map(m)) => {
                if !m.is_empty() {
                    write_long(m.len() as i64, out);
                    for (k, x) in m {
                        write_long(k.len() as i64, out);
                        out.extend_from_slice(k.as_bytes());
                        self.enc(*values, x, out).map_err(|e| e.at(format!("[{k:?}]")))?;
                    }
                }
                out.push(0);
            }
            (Node::Record { fields, .. }, Value::Map(m)) => {
                for f in fields {
                    let x = m.iter().find(|(k, _)| *k == f.name).map(|(_, x)| x);
                    match (x, &f.default) {
                        (Some(x), _) => self.enc(f.node, x, out),
                        (None, Some(d)) => self.enc(f.node, d, out),
                        (None, None) => self.enc(f.node, &Value::Null, out).map_err(|_| PathError::new("missing (the field has no default)")),
                    }
                    .map_err(|e| e.at(format!(".{}", f.name)))?;
                }
            }
            (Node::Union(branches), v) => {
                let i = match branches.iter().position(|b| self.fits(*b, v)) {
                    Some(i) => i,
                    None => {
                        // the error of the branch of the value's shape says which field is wrong
                        if let Some(b) = branches.iter().find(|b| self.same_shape(**b, v)) {
                            self.enc(*b, v, &mut Vec::new())?;
                        }
                        return Err(PathError::new(format!(
                            "{} does not fit any branch of the union {}",
                            describe(v),
                            self.union_names(branches)
                        )));
                    }
                };
                write_long(i as i64, out);
                self.enc(branches[i], v, out)?;
            }
            (node, v) => return Err(PathError::new(format!("{} given where {} is expected", describe(v), self.node_name(node)))),
        }
        Ok(())
    }

    fn same_shape(&self, n: usize, v: &Value) -> bool {
        matches!(
            (&self.nodes[n], v),
            (Node::Record { .. } | Node::Map(_), Value::Map(_))
                | (Node::Array(_), Value::Array(_))
                | (Node::Enum { .. }, Value::String(_))
                | (Node::Decimal { .. }, Value::Decimal { .. })
        )
    }

    fn union_names(&self, branches: &[usize]) -> String {
        let names: Vec<String> = branches.iter().map(|b| self.node_name(&self.nodes[*b])).collect();
        format!("[{}]", names.join(", "))
    }

    fn node_name(&self, node: &Node) -> String {
        match node {
            Node::Null => "null".into(),
            Node::Boolean => "boolean".into(),
            Node::Int => "int".into(),
            Node::Long => "long".into(),
            Node::Float => "float".into(),
            Node::Double => "double".into(),
            Node::Bytes => "bytes".into(),
            Node::String => "string".into(),
            Node::Fixed { name, .. } | Node::Enum { name, .. } | Node::Record { name, .. } => name.clone(),
            Node::Date => "date".into(),
            Node::TimeMillis => "time-millis".into(),
            Node::TimeMicros => "time-micros".into(),
            Node::TimestampMillis => "timestamp-millis".into(),
            Node::TimestampMicros => "timestamp-micros".into(),
            Node::Uuid => "uuid".into(),
            Node::Decimal { precision, scale, .. } => format!("decimal({precision},{scale})"),
            Node::Array(_) => "array".into(),
            Node::Map(_) => "map".into(),
            Node::Union(b) => self.union_names(b),
            Node::Pending => "?".into(),
        }
    }

    /// Whether `v` can be encoded as node `n` (fastavro's `validate`, used to pick a union branch).
    fn fits(&self, n: usize, v: &Value) -> bool {
        match (&self.nodes[n], v) {
            (Node::Null, Value::Null) | (Node::Boolean, Value::Bool(_)) | (Node::String, Value::String(_)) => true,
            (Node::Bytes, Value::Bytes(_)) => true,
            (Node::Int, Value::Int(i)) => i32::try_from(*i).is_ok(),
            (Node::Long, Value::Int(_)) => true,
            (Node::Float | Node::Double, Value::Int(_) | Value::Float(_)) => true,
            (Node::Fixed { size, .. }, Value::Bytes(b)) => b.len() == *size,
            (Node::Date, Value::Date(_)) | (Node::TimeMillis | Node::TimeMicros, Value::Time(_)) => true,
            (Node::TimestampMillis | Node::TimestampMicros, Value::Timestamp(_)) => true,
            (Node::Date | Node::TimeMillis, Value::Int(i)) => i32::try_from(*i).is_ok(),
            (Node::TimeMicros | Node::TimestampMillis | Node::TimestampMicros, Value::Int(_)) => true,
            (Node::Uuid, Value::Uuid(_) | Value::String(_)) => true,
            (Node::Decimal { fixed: None, .. }, Value::Bytes(_)) => true,
            (Node::Decimal { fixed: Some(size), .. }, Value::Bytes(b)) => b.len() == *size,
            (Node::Decimal { precision, scale, fixed }, Value::Decimal { unscaled, exponent, digits }) => {
                decimal_bytes(*unscaled, *exponent, *digits, *precision, *scale, *fixed).is_ok()
            }
            (Node::Enum { symbols, .. }, Value::String(s)) => symbols.iter().any(|x| x == s),
            (Node::Array(items), Value::Array(a)) => a.iter().all(|x| self.fits(*items, x)),
            (Node::Map(values), Value::Map(m)) => m.iter().all(|(_, x)| self.fits(*values, x)),
            (Node::Record { fields, .. }, Value::Map(m)) => fields.iter().all(|f| match m.iter().find(|(k, _)| *k == f.name) {
                Some((_, x)) => self.fits(f.node, x),
                None => f.default.is_some() || self.fits(f.node, &Value::Null),
            }),
            (Node::Union(b), v) => b.iter().any(|b| self.fits(*b, v)),
            _ => false,
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "None/null".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Int(i) => format!("int {i}"),
        Value::Float(f) => format!("float {f}"),
        Value::String(s) if s.len() <= 40 => format!("string {s:?}"),
        other => other.type_name().to_string(),
    }
}

/// The two's-complement big-endian bytes of a decimal at the schema's scale, as fastavro
/// writes them (bytes: (bit length of |unscaled| + 8) / 8 bytes; fixed: sign-extended).
fn decimal_bytes(unscaled: i128, exponent: i32, digits: u32, precision: u32, scale: u32, fixed: Option<usize>) -> Result<Vec<u8>, String> {
    if digits > precision {
        return Err("The decimal precision is bigger than allowed by schema".into());
    }
    let delta = exponent as i64 + scale as i64;
    if delta < 0 {
        return Err("Scale provided in schema does not match the decimal".into());
    }
    let factor = 10i128.checked_pow(delta as u32).ok_or("the decimal is too large")?;
    let v = unscaled.checked_mul(factor).ok_or("the decimal is too large")?;
    let bits = 128 - v.unsigned_abs().leading_zeros() as usize;
    let n = match fixed {
        None => (bits + 8) / 8,
        Some(size) => {
            if (bits + 8) / 8 > size {
                return Err(format!("the decimal does not fit a fixed of {size} bytes"));
            }
            size
        }
    };
    let full = v.to_be_bytes();
    let mut out = Vec::with_capacity(n);
    let fill = if v < 0 { 0xff } else { 0 };
    for _ in 16..n {
        out.push(fill);
    }
    out.extend_from_slice(&full[16usize.saturating_sub(n)..]);
    Ok(out)
}

fn decimal_value(bytes: &[u8], precision: u32, scale: u32) -> SchemaResult<Value> {
    if bytes.len() > 16 && !bytes[..bytes.len() - 16].iter().all(|b| *b == 0 || *b == 0xff) {
        return Err(SchemaError::serialization("a decimal wider than 128 bits is not supported"));
    }
    let tail = &bytes[bytes.len().saturating_sub(16)..];
    let negative = tail.first().is_some_and(|b| b & 0x80 != 0);
    let mut full = [if negative { 0xffu8 } else { 0 }; 16];
    full[16 - tail.len()..].copy_from_slice(tail);
    let _ = precision;
    let unscaled = i128::from_be_bytes(full);
    let digits = unscaled.unsigned_abs().to_string().len() as u32;
    Ok(Value::Decimal { unscaled, exponent: -(scale as i32), digits })
}

struct PathError {
    segments: Vec<String>,
    message: String,
}

impl PathError {
    fn new(message: impl Into<String>) -> PathError {
        PathError { segments: Vec::new(), message: message.into() }
    }
    fn at(mut self, segment: String) -> PathError {
        self.segments.push(segment);
        self
    }
}

fn write_long(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn eof() -> SchemaError {
        SchemaError::serialization("the Avro payload ends too early")
    }
    fn byte(&mut self) -> SchemaResult<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(Self::eof)?;
        self.pos += 1;
        Ok(b)
    }
    fn long(&mut self) -> SchemaResult<i64> {
        let mut z: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift >= 64 {
                return Err(SchemaError::serialization("invalid Avro varint (too long)"));
            }
            z |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }
    fn take(&mut self, n: usize) -> SchemaResult<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(Self::eof)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn len(&mut self) -> SchemaResult<usize> {
        let n = self.long()?;
        usize::try_from(n).map_err(|_| SchemaError::serialization(format!("invalid Avro length {n}")))
    }
    fn string(&mut self) -> SchemaResult<String> {
        let n = self.len()?;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| SchemaError::serialization("an Avro string is not UTF-8"))
    }
    /// The count of the next block of an array or map (a negative count has its byte size next).
    fn block(&mut self) -> SchemaResult<usize> {
        let n = self.long()?;
        if n < 0 {
            self.long()?;
            return Ok(n.unsigned_abs() as usize);
        }
        Ok(n as usize)
    }
}

/// How to read one writer node as one reader node.
#[derive(Debug, Clone)]
enum Step {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    IntAsFloat,
    LongAsFloat,
    FloatAsDouble,
    Bytes,
    String,
    BytesAsString,
    StringAsBytes,
    Fixed(usize),
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    Uuid,
    Decimal { precision: u32, scale: u32, fixed: Option<usize> },
    /// Writer symbol index -> reader symbol (an unknown symbol takes the reader's default).
    Enum(Vec<Result<String, String>>),
    Array(usize),
    Map(usize),
    /// Per writer branch, the step of the branch (or why it cannot be read).
    WriterUnion(Vec<Result<usize, String>>),
    /// Per writer field, where it goes (None: skipped, read with the writer's own step); then
    /// the reader's field names and the defaults of reader fields the writer lacks.
    Record { fields: Vec<(Option<usize>, usize)>, names: Vec<String>, defaults: Vec<(usize, Value)> },
    Pending,
}

/// A compiled reading plan from a writer schema to a reader schema; build once per pair.
#[derive(Debug, Clone)]
pub struct Resolution {
    steps: Vec<Step>,
    root: usize,
}

struct Resolver<'a> {
    w: &'a AvroSchema,
    r: &'a AvroSchema,
    steps: Vec<Step>,
    memo: HashMap<(usize, usize), usize>,
}

impl<'a> Resolver<'a> {
    fn push(&mut self, s: Step) -> usize {
        self.steps.push(s);
        self.steps.len() - 1
    }

    fn step(&mut self, wn: usize, rn: usize, path: &str) -> Result<usize, String> {
        if let Some(&s) = self.memo.get(&(wn, rn)) {
            return Ok(s);
        }
        let (w, r) = (&self.w.nodes[wn], &self.r.nodes[rn]);
        let simple = match (w, r) {
            (Node::Union(_), _) => None,
            (_, Node::Union(_)) => None,
            (Node::Null, Node::Null) => Some(Step::Null),
            (Node::Boolean, Node::Boolean) => Some(Step::Boolean),
            (Node::Int, Node::Int) => Some(Step::Int),
            (Node::Int | Node::Long, Node::Long) => Some(Step::Long),
            (Node::Int, Node::Float) => Some(Step::IntAsFloat),
            (Node::Long, Node::Float | Node::Double) => Some(Step::LongAsFloat),
            (Node::Int, Node::Double) => Some(Step::IntAsFloat),
            (Node::Float, Node::Float) => Some(Step::Float),
            (Node::Float, Node::Double) => Some(Step::FloatAsDouble),
            (Node::Double, Node::Double) => Some(Step::Double),
            (Node::Bytes, Node::Bytes) => Some(Step::Bytes),
            (Node::String, Node::String) => Some(Step::String),
            (Node::Bytes, Node::String) => Some(Step::BytesAsString),
            (Node::String, Node::Bytes) => Some(Step::StringAsBytes),
            (Node::Fixed { size: a, .. }, Node::Fixed { size: b, .. }) if a == b => Some(Step::Fixed(*a)),
            (Node::Date, Node::Date) => Some(Step::Date),
            (Node::TimeMillis, Node::TimeMillis) => Some(Step::TimeMillis),
            (Node::TimeMicros, Node::TimeMicros) => Some(Step::TimeMicros),
            (Node::TimestampMillis, Node::TimestampMillis) => Some(Step::TimestampMillis),
            (Node::TimestampMicros, Node::TimestampMicros) => Some(Step::TimestampMicros),
            (Node::Uuid | Node::String, Node::Uuid) => Some(Step::Uuid),
            (Node::Decimal { fixed: wf, .. }, Node::Decimal { precision, scale, fixed }) if wf == fixed => {
                Some(Step::Decimal { precision: *precision, scale: *scale, fixed: *fixed })
            }
            // a logical type read as its underlying type (or the reverse): the underlying value
            (Node::Date | Node::TimeMillis, Node::Int) | (Node::Int, Node::Date | Node::TimeMillis) => Some(Step::Int),
            (Node::Date | Node::TimeMillis, Node::Long) => Some(Step::Long),
            (Node::TimeMicros | Node::TimestampMillis | Node::TimestampMicros, Node::Long)
            | (Node::Long, Node::TimeMicros | Node::TimestampMillis | Node::TimestampMicros) => Some(Step::Long),
            (Node::Uuid, Node::String) => Some(Step::String),
            (Node::Decimal { fixed: None, .. }, Node::Bytes) => Some(Step::Bytes),
            (Node::Enum { symbols: ws, .. }, Node::Enum { symbols: rs, default, name }) => Some(Step::Enum(
                ws.iter()
                    .map(|s| {
                        if rs.contains(s) {
                            Ok(s.clone())
                        } else {
                            default.clone().ok_or_else(|| format!("{path}: symbol '{s}' is not in the reader's enum {name}"))
                        }
                    })
                    .collect(),
            )),
            _ => None,
        };
        if let Some(s) = simple {
            let at = self.push(s);
            self.memo.insert((wn, rn), at);
            return Ok(at);
        }
        match (w.clone(), r.clone()) {
            (Node::Union(wb), _) => {
                let at = self.push(Step::Pending);
                self.memo.insert((wn, rn), at);
                let mut branches = Vec::with_capacity(wb.len());
                for b in wb {
                    branches.push(self.step(b, rn, path));
                }
                self.steps[at] = Step::WriterUnion(branches);
                Ok(at)
            }
            (_, Node::Union(rb)) => {
                // the first reader branch the writer type can be read as
                for b in &rb {
                    if let Ok(s) = self.step(wn, *b, path) {
                        self.memo.insert((wn, rn), s);
                        return Ok(s);
                    }
                }
                Err(format!("{path}: the writer's {} fits no branch of the reader's union", self.w.node_name(w)))
            }
            (Node::Array(wi), Node::Array(ri)) => {
                let at = self.push(Step::Pending);
                self.memo.insert((wn, rn), at);
                let items = self.step(wi, ri, &format!("{path}[]"))?;
                self.steps[at] = Step::Array(items);
                Ok(at)
            }
            (Node::Map(wv), Node::Map(rv)) => {
                let at = self.push(Step::Pending);
                self.memo.insert((wn, rn), at);
                let values = self.step(wv, rv, &format!("{path}[]"))?;
                self.steps[at] = Step::Map(values);
                Ok(at)
            }
            (Node::Record { fields: wf, name: wname }, Node::Record { fields: rf, name: rname }) => {
                let at = self.push(Step::Pending);
                self.memo.insert((wn, rn), at);
                let mut fields = Vec::with_capacity(wf.len());
                for f in &wf {
                    let fpath = format!("{path}.{}", f.name);
                    match rf.iter().position(|x| x.name == f.name) {
                        Some(j) => fields.push((Some(j), self.step(f.node, rf[j].node, &fpath)?)),
                        None => {
                            let own = self.own_step(f.node, &fpath)?;
                            fields.push((None, own))
                        }
                    }
                }
                let mut defaults = Vec::new();
                for (j, f) in rf.iter().enumerate() {
                    if !wf.iter().any(|x| x.name == f.name) {
                        let d = f.default.clone().ok_or_else(|| {
                            format!("{path}.{}: the reader's {rname} has the field and no default; the writer's {wname} lacks it", f.name)
                        })?;
                        defaults.push((j, d));
                    }
                }
                let names = rf.iter().map(|f| f.name.clone()).collect();
                self.steps[at] = Step::Record { fields, names, defaults };
                Ok(at)
            }
            (w, r) => Err(format!("{path}: the writer's {} cannot be read as the reader's {}", self.w.node_name(&w), self.r.node_name(&r))),
        }
    }

    /// A step that reads writer node `wn` as itself (to skip a field the reader does not have).
    fn own_step(&mut self, wn: usize, path: &str) -> Result<usize, String> {
        let mut inner = Resolver { w: self.w, r: self.w, steps: std::mem::take(&mut self.steps), memo: HashMap::new() };
        let s = inner.step(wn, wn, path);
        self.steps = inner.steps;
        s
    }
}

impl Resolution {
    /// Plans reading data written with `writer` as `reader`; an incompatible pair is a
    /// serialization error naming the field path.
    pub fn new(writer: &AvroSchema, reader: &AvroSchema) -> SchemaResult<Resolution> {
        let mut r = Resolver { w: writer, r: reader, steps: Vec::new(), memo: HashMap::new() };
        let root = r
            .step(writer.root, reader.root, reader.name.as_deref().unwrap_or("value"))
            .map_err(|e| SchemaError::serialization(format!("the writer's schema cannot be read with the reader's: {e}")))?;
        Ok(Resolution { steps: r.steps, root })
    }

    /// Plans reading data written with `schema` as itself.
    pub fn identity(schema: &AvroSchema) -> SchemaResult<Resolution> {
        Resolution::new(schema, schema)
    }

    /// Decodes one datum; trailing bytes are an error.
    pub fn decode(&self, bytes: &[u8]) -> SchemaResult<Value> {
        let mut r = Reader { buf: bytes, pos: 0 };
        let v = self.read(self.root, &mut r)?;
        if r.pos != bytes.len() {
            return Err(SchemaError::serialization(format!(
                "{} bytes left after the Avro datum (is the schema the writer's?)",
                bytes.len() - r.pos
            )));
        }
        Ok(v)
    }

    fn read(&self, s: usize, r: &mut Reader) -> SchemaResult<Value> {
        Ok(match &self.steps[s] {
            Step::Null => Value::Null,
            Step::Boolean => match r.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(SchemaError::serialization(format!("invalid Avro boolean byte {b}"))),
            },
            Step::Int | Step::Long => Value::Int(r.long()?),
            Step::IntAsFloat | Step::LongAsFloat => Value::Float(r.long()? as f64),
            Step::Float | Step::FloatAsDouble => {
                let b = r.take(4)?;
                Value::Float(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            }
            Step::Double => {
                let b = r.take(8)?;
                Value::Float(f64::from_le_bytes(b.try_into().map_err(|_| Reader::eof())?))
            }
            Step::Bytes | Step::StringAsBytes => {
                let n = r.len()?;
                Value::Bytes(r.take(n)?.to_vec())
            }
            Step::String | Step::BytesAsString => Value::String(r.string()?),
            Step::Fixed(n) => Value::Bytes(r.take(*n)?.to_vec()),
            Step::Date => {
                let d = r.long()?;
                Value::Date(i32::try_from(d).map_err(|_| SchemaError::serialization(format!("date {d} out of range")))?)
            }
            Step::TimeMillis => Value::Time(r.long()?.saturating_mul(1000)),
            Step::TimeMicros => Value::Time(r.long()?),
            Step::TimestampMillis => Value::Timestamp(r.long()?.saturating_mul(1000)),
            Step::TimestampMicros => Value::Timestamp(r.long()?),
            Step::Uuid => Value::Uuid(r.string()?),
            Step::Decimal { precision, scale, fixed } => {
                let n = match fixed {
                    Some(n) => *n,
                    None => r.len()?,
                };
                decimal_value(r.take(n)?, *precision, *scale)?
            }
            Step::Enum(symbols) => {
                let i = r.len()?;
                match symbols.get(i) {
                    Some(Ok(s)) => Value::String(s.clone()),
                    Some(Err(e)) => return Err(SchemaError::serialization(e.clone())),
                    None => return Err(SchemaError::serialization(format!("enum index {i} out of range"))),
                }
            }
            Step::Array(items) => {
                let mut out = Vec::new();
                loop {
                    let n = r.block()?;
                    if n == 0 {
                        break;
                    }
                    out.reserve(n.min(4096));
                    for _ in 0..n {
                        out.push(self.read(*items, r)?);
                    }
                }
                Value::Array(out)
            }
            Step::Map(values) => {
                let mut out = Vec::new();
                loop {
                    let n = r.block()?;
                    if n == 0 {
                        break;
                    }
                    for _ in 0..n {
                        let k = r.string()?;
                        out.push((k, self.read(*values, r)?));
                    }
                }
                Value::Map(out)
            }
            Step::WriterUnion(branches) => {
                let i = r.len()?;
                match branches.get(i) {
                    Some(Ok(s)) => self.read(*s, r)?,
                    Some(Err(e)) => return Err(SchemaError::serialization(e.clone())),
                    None => return Err(SchemaError::serialization(format!("union index {i} out of range"))),
                }
            }
            Step::Record { fields, names, defaults } => {
                let mut slots: Vec<Option<Value>> = vec![None; names.len()];
                for (target, step) in fields {
                    let v = self.read(*step, r)?;
                    if let Some(j) = target {
                        slots[*j] = Some(v);
                    }
                }
                for (j, d) in defaults {
                    slots[*j] = Some(d.clone());
                }
                Value::Map(names.iter().cloned().zip(slots.into_iter().map(|v| v.unwrap_or(Value::Null))).collect())
            }
            Step::Pending => return Err(SchemaError::serialization("internal: unresolved step")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER_V1: &str = r#"{"type":"record","name":"User","namespace":"ex","fields":[
        {"name":"name","type":"string"},{"name":"age","type":"int"},
        {"name":"email","type":["null","string"],"default":null},
        {"name":"tags","type":{"type":"array","items":"string"}},
        {"name":"next","type":["null","User"],"default":null}]}"#;

    fn user() -> Value {
        Value::Map(vec![
            ("name".into(), Value::String("ann".into())),
            ("age".into(), Value::Int(3)),
            ("email".into(), Value::String("a@b".into())),
            ("tags".into(), Value::Array(vec![Value::String("x".into())])),
            ("next".into(), Value::Null),
        ])
    }

    #[test]
    fn round_trip_with_recursion() {
        let s = AvroSchema::parse(USER_V1, &[]).unwrap();
        let mut out = Vec::new();
        s.encode(&user(), &mut out).unwrap();
        // name "ann", age 3, union branch 1 "a@b", one-item block "x" then 0, union branch 0
        assert_eq!(out, b"\x06ann\x06\x02\x06a@b\x02\x02x\x00\x00");
        let v = Resolution::identity(&s).unwrap().decode(&out).unwrap();
        assert_eq!(v, user());
    }

    #[test]
    fn wrong_field_names_the_path() {
        let s = AvroSchema::parse(USER_V1, &[]).unwrap();
        let mut v = user();
        if let Value::Map(m) = &mut v {
            m[3].1 = Value::Array(vec![Value::Int(1)]);
        }
        let e = s.encode(&v, &mut Vec::new()).unwrap_err();
        assert!(e.message().contains("ex.User.tags[0]"), "{e}");
    }

    #[test]
    fn reader_with_a_defaulted_field() {
        let w = AvroSchema::parse(USER_V1, &[]).unwrap();
        let r = AvroSchema::parse(
            r#"{"type":"record","name":"User","namespace":"ex","fields":[
            {"name":"age","type":"long"},{"name":"name","type":"string"},
            {"name":"country","type":"string","default":"NZ"}]}"#,
            &[],
        )
        .unwrap();
        let mut out = Vec::new();
        w.encode(&user(), &mut out).unwrap();
        let v = Resolution::new(&w, &r).unwrap().decode(&out).unwrap();
        assert_eq!(
            v,
            Value::Map(vec![
                ("age".into(), Value::Int(3)),
                ("name".into(), Value::String("ann".into())),
                ("country".into(), Value::String("NZ".into())),
            ])
        );
    }

    #[test]
    fn decimal_bytes_as_fastavro() {
        // Decimal("1.23") at scale 2: 123 -> 0x7b; Decimal("-1.28"): -128 -> (7+8)/8 = 1 byte... 0x80? fastavro
        // sizes by |v|: bit_length(128)=8 -> 2 bytes ff 80
        assert_eq!(decimal_bytes(123, -2, 3, 5, 2, None).unwrap(), vec![0x7b]);
        assert_eq!(decimal_bytes(-128, -2, 3, 5, 2, None).unwrap(), vec![0xff, 0x80]);
        assert_eq!(decimal_bytes(5, 0, 1, 5, 2, None).unwrap(), vec![0x01, 0xf4]);
        assert_eq!(decimal_bytes(-1, -2, 1, 5, 2, Some(4)).unwrap(), vec![0xff; 4]);
        assert!(decimal_bytes(1, -3, 1, 5, 2, None).is_err());
        assert!(decimal_bytes(123456, 0, 6, 5, 0, None).is_err());
        assert_eq!(decimal_value(&[0xff, 0x80], 5, 2).unwrap(), Value::Decimal { unscaled: -128, exponent: -2, digits: 3 });
    }

    #[test]
    fn reader_field_without_default_is_refused() {
        let w = AvroSchema::parse(USER_V1, &[]).unwrap();
        let r = AvroSchema::parse(r#"{"type":"record","name":"User","namespace":"ex","fields":[{"name":"zip","type":"int"}]}"#, &[]).unwrap();
        let e = Resolution::new(&w, &r).unwrap_err();
        assert!(e.message().contains("User.zip"), "{e}");
    }
}
