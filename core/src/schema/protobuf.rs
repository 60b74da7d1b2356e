//! Dynamic Protobuf: a `.proto` text as registered (schemaType PROTOBUF) compiled at run time,
//! its imports taken from the schema's references (by the reference's `name`, the import path)
//! and from the files every registry knows (`google/protobuf/*.proto`, `confluent/meta.proto`,
//! `confluent/type/decimal.proto`); values encoded into and decoded from its messages. A schema
//! (or reference) registered as confluent-kafka's Python client registers it, the base64 of
//! the serialized `FileDescriptorProto`, is read as well.
//!
//! A [`Value`] map is a message: keys are the field names as written in the `.proto`; enums
//! are their value names (a number is accepted too, and an unknown number reads back as a
//! number); 64-bit integers are numbers; bytes are bytes; repeated fields are arrays; map
//! fields are maps (keys as text); a oneof is whichever of its fields is set. Reading gives
//! every field: scalars at their default when absent, a message or an optional field that is
//! not set as null, and of a oneof only the field that is set. A `google.protobuf.Timestamp`
//! also accepts a timestamp value when writing.

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage as _};
use protox::file::{File, FileResolver, GoogleFileResolver};

use super::error::{SchemaError, SchemaResult};
use super::value::Value;

/// The name the compiled schema's own file gets (nothing refers to it).
const MAIN_FILE: &str = "polykafka/registered.proto";

/// `confluent/meta.proto`: the options Confluent's tools put on files, messages and fields.
const CONFLUENT_META: &str = r#"syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
option go_package = "../confluent";
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}
extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
"#;

/// `confluent/type/decimal.proto`: Confluent's decimal message.
const CONFLUENT_DECIMAL: &str = r#"syntax = "proto3";
package confluent.type;
option go_package = "../types";
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
"#;

/// Which message of the schema a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRef<'a> {
    /// The first message of the file (index path `[0]`), as confluent-kafka's default.
    First,
    /// A message by its full name (`package.Outer.Inner`) or, when unambiguous, its name.
    Name(&'a str),
    /// A message by its index path (top-level index, then nested ones).
    Indexes(&'a [i32]),
}

/// Imports resolved from the references' texts, then the files every registry knows.
struct Resolver {
    references: Vec<(String, String)>,
    google: GoogleFileResolver,
}

/// A schema's file: `.proto` text, or the base64 of a serialized `FileDescriptorProto` (what
/// confluent-kafka's Python client registers and a registry may keep as given).
fn open_source(name: &str, text: &str) -> Result<File, protox::Error> {
    if let Some(mut fd) = descriptor_of(text) {
        fd.name = Some(name.to_string());
        return Ok(File::from_file_descriptor_proto(fd));
    }
    File::from_source(name, text)
}

fn descriptor_of(text: &str) -> Option<prost_types::FileDescriptorProto> {
    use base64::Engine as _;
    let t = text.trim();
    // .proto text always has a space, a semicolon or a brace; base64 has none of them
    if t.is_empty() || t.contains(|c: char| c.is_whitespace() || c == ';' || c == '{') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(t).ok()?;
    prost_types::FileDescriptorProto::decode(bytes.as_slice()).ok()
}

impl FileResolver for Resolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if let Some((_, text)) = self.references.iter().find(|(n, _)| n == name) {
            return open_source(name, text);
        }
        match name {
            "confluent/meta.proto" => File::from_source(name, CONFLUENT_META),
            "confluent/type/decimal.proto" => File::from_source(name, CONFLUENT_DECIMAL),
            _ => self.google.open_file(name),
        }
    }
}

struct MainResolver {
    main: String,
    rest: Resolver,
}

impl FileResolver for MainResolver {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == MAIN_FILE {
            return open_source(name, &self.main);
        }
        self.rest.open_file(name)
    }
}

/// A compiled `.proto` schema.
#[derive(Debug, Clone)]
pub struct ProtobufSchema {
    pool: DescriptorPool,
    /// The top-level messages of the schema's own file, in order.
    messages: Vec<MessageDescriptor>,
}

impl ProtobufSchema {
    /// Compiles `schema` (`.proto` text); `references` are `(import name, .proto text)` of the
    /// files it imports (its registry references, recursively).
    pub fn parse(schema: &str, references: &[(String, String)]) -> SchemaResult<ProtobufSchema> {
        let resolver =
            MainResolver { main: schema.to_string(), rest: Resolver { references: references.to_vec(), google: GoogleFileResolver::new() } };
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler
            .open_file(MAIN_FILE)
            .map_err(|e| SchemaError::serialization(format!("invalid Protobuf schema: {}", describe(&e))))?;
        let pool = compiler.descriptor_pool();
        let file = pool
            .get_file_by_name(MAIN_FILE)
            .ok_or_else(|| SchemaError::serialization("invalid Protobuf schema: the file did not compile"))?;
        let messages: Vec<MessageDescriptor> = file.messages().collect();
        if messages.is_empty() {
            return Err(SchemaError::serialization("invalid Protobuf schema: it defines no message"));
        }
        Ok(ProtobufSchema { pool, messages })
    }

    /// The full name of the first message (the record name of the record subject strategies).
    pub fn name(&self) -> Option<&str> {
        self.messages.first().map(|m| m.full_name())
    }

    /// The message `which` names.
    pub fn message(&self, which: MessageRef<'_>) -> SchemaResult<MessageDescriptor> {
        match which {
            MessageRef::First => Ok(self.messages[0].clone()),
            MessageRef::Indexes(path) => self.message_at(path),
            MessageRef::Name(name) => {
                let name = name.strip_prefix('.').unwrap_or(name);
                if let Some(m) = self.pool.get_message_by_name(name) {
                    return Ok(m);
                }
                let mut found = Vec::new();
                let mut stack = self.messages.clone();
                while let Some(m) = stack.pop() {
                    if m.name() == name {
                        found.push(m.clone());
                    }
                    stack.extend(m.child_messages());
                }
                match found.len() {
                    1 => Ok(found.remove(0)),
                    0 => Err(SchemaError::serialization(format!("the Protobuf schema has no message '{name}'"))),
                    _ => Err(SchemaError::serialization(format!("the Protobuf schema has several messages named '{name}': give the full name"))),
                }
            }
        }
    }

    /// The message at an index path (Confluent's message indexes).
    pub fn message_at(&self, path: &[i32]) -> SchemaResult<MessageDescriptor> {
        let bad = || SchemaError::serialization(format!("the Protobuf schema has no message at index path {path:?}"));
        let (&first, rest) = path.split_first().ok_or_else(bad)?;
        let mut m = usize::try_from(first).ok().and_then(|i| self.messages.get(i)).cloned().ok_or_else(bad)?;
        for &i in rest {
            let i = usize::try_from(i).map_err(|_| bad())?;
            let child = m.child_messages().nth(i);
            m = child.ok_or_else(bad)?;
        }
        Ok(m)
    }

    /// The index path of a message of this schema's file.
    pub fn indexes_of(&self, message: &MessageDescriptor) -> SchemaResult<Vec<i32>> {
        let mut path = Vec::new();
        let mut m = message.clone();
        loop {
            match m.parent_message() {
                Some(parent) => {
                    let i = parent.child_messages().position(|c| c == m).unwrap_or(0);
                    path.push(i as i32);
                    m = parent;
                }
                None => {
                    let i = self
                        .messages
                        .iter()
                        .position(|c| *c == m)
                        .ok_or_else(|| SchemaError::serialization(format!("the message {} is not in the schema's file", message.full_name())))?;
                    path.push(i as i32);
                    break;
                }
            }
        }
        path.reverse();
        Ok(path)
    }

    /// Appends the encoding of `value` as `message`.
    pub fn encode(&self, message: &MessageDescriptor, value: &Value, out: &mut Vec<u8>) -> SchemaResult<()> {
        let msg = to_message(message, value, message.name())?;
        msg.encode(out).map_err(|e| SchemaError::serialization(format!("cannot encode {}: {e}", message.full_name())))
    }

    /// Decodes `payload` as `message`.
    pub fn decode(&self, message: &MessageDescriptor, payload: &[u8]) -> SchemaResult<Value> {
        let msg = DynamicMessage::decode(message.clone(), payload)
            .map_err(|e| SchemaError::serialization(format!("the payload is not a valid {} message: {e}", message.full_name())))?;
        Ok(from_message(&msg))
    }
}

fn describe(e: &protox::Error) -> String {
    match e.file() {
        Some(f) if f != MAIN_FILE => format!("{e} (in {f})"),
        _ => e.to_string(),
    }
}

fn field_error(path: &str, message: impl std::fmt::Display) -> SchemaError {
    SchemaError::serialization(format!("field {path}: {message}"))
}

fn to_message(desc: &MessageDescriptor, value: &Value, path: &str) -> SchemaResult<DynamicMessage> {
    let mut msg = DynamicMessage::new(desc.clone());
    if desc.full_name() == "google.protobuf.Timestamp" {
        if let Value::Timestamp(micros) = value {
            let seconds = micros.div_euclid(1_000_000);
            let nanos = (micros.rem_euclid(1_000_000) * 1000) as i32;
            msg.set_field_by_name("seconds", prost_reflect::Value::I64(seconds));
            msg.set_field_by_name("nanos", prost_reflect::Value::I32(nanos));
            return Ok(msg);
        }
    }
    let Value::Map(entries) = value else {
        return Err(field_error(path, format!("expected a map for message {}, got {}", desc.full_name(), value.type_name())));
    };
    let mut oneofs: Vec<(String, String)> = Vec::new();
    for (name, v) in entries {
        let field_path = format!("{path}.{name}");
        let field = desc
            .get_field_by_name(name)
            .ok_or_else(|| field_error(&field_path, format!("message {} has no such field", desc.full_name())))?;
        if matches!(v, Value::Null) {
            continue;
        }
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            if let Some((_, other)) = oneofs.iter().find(|(o, _)| o == oneof.name()) {
                return Err(field_error(&field_path, format!("oneof '{}' already has field '{other}' set", oneof.name())));
            }
            oneofs.push((oneof.name().to_string(), name.clone()));
        }
        let pv = field_value(&field, v, &field_path)?;
        msg.set_field(&field, pv);
    }
    Ok(msg)
}

fn field_value(field: &FieldDescriptor, v: &Value, path: &str) -> SchemaResult<prost_reflect::Value> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else { unreachable!("a map field's kind is its entry message") };
        let (kf, vf) = (entry.map_entry_key_field(), entry.map_entry_value_field());
        let Value::Map(items) = v else {
            return Err(field_error(path, format!("expected a map, got {}", v.type_name())));
        };
        let mut out = std::collections::HashMap::with_capacity(items.len());
        for (k, item) in items {
            let item_path = format!("{path}[{k}]");
            let key = map_key(&kf.kind(), k, &item_path)?;
            out.insert(key, single_value(&vf.kind(), item, &item_path)?);
        }
        return Ok(prost_reflect::Value::Map(out));
    }
    if field.is_list() {
        let Value::Array(items) = v else {
            return Err(field_error(path, format!("expected an array (repeated field), got {}", v.type_name())));
        };
        let kind = field.kind();
        let list = items
            .iter()
            .enumerate()
            .map(|(i, item)| single_value(&kind, item, &format!("{path}[{i}]")))
            .collect::<SchemaResult<Vec<_>>>()?;
        return Ok(prost_reflect::Value::List(list));
    }
    single_value(&field.kind(), v, path)
}

fn map_key(kind: &Kind, k: &str, path: &str) -> SchemaResult<MapKey> {
    let bad = |what: &str| field_error(path, format!("map key '{k}' is not {what}"));
    Ok(match kind {
        Kind::String => MapKey::String(k.to_string()),
        Kind::Bool => MapKey::Bool(match k {
            "true" => true,
            "false" => false,
            _ => return Err(bad("a bool")),
        }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(k.parse().map_err(|_| bad("an int32"))?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(k.parse().map_err(|_| bad("an int64"))?),
        Kind::Uint32 | Kind::Fixed32 => MapKey::U32(k.parse().map_err(|_| bad("a uint32"))?),
        Kind::Uint64 | Kind::Fixed64 => MapKey::U64(k.parse().map_err(|_| bad("a uint64"))?),
        other => return Err(field_error(path, format!("{other:?} cannot be a map key"))),
    })
}

fn int_of(v: &Value, path: &str, what: &str) -> SchemaResult<i128> {
    match v {
        Value::Int(i) => Ok(*i as i128),
        Value::String(s) => s.trim().parse::<i128>().map_err(|_| field_error(path, format!("expected {what}, got the string '{s}'"))),
        Value::Float(f) if f.fract() == 0.0 && f.is_finite() && f.abs() < 1.9e19 => Ok(*f as i128),
        other => Err(field_error(path, format!("expected {what}, got {}", other.type_name()))),
    }
}

fn ranged<T: TryFrom<i128>>(v: &Value, path: &str, what: &str) -> SchemaResult<T> {
    let i = int_of(v, path, what)?;
    T::try_from(i).map_err(|_| field_error(path, format!("{i} is out of range for {what}")))
}

fn single_value(kind: &Kind, v: &Value, path: &str) -> SchemaResult<prost_reflect::Value> {
    use prost_reflect::Value as P;
    let mismatch = |what: &str| field_error(path, format!("expected {what}, got {}", v.type_name()));
    Ok(match kind {
        Kind::Double => match v {
            Value::Float(f) => P::F64(*f),
            Value::Int(i) => P::F64(*i as f64),
            _ => return Err(mismatch("a double")),
        },
        Kind::Float => match v {
            Value::Float(f) => P::F32(*f as f32),
            Value::Int(i) => P::F32(*i as f32),
            _ => return Err(mismatch("a float")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => P::I32(ranged(v, path, "an int32")?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => P::I64(ranged(v, path, "an int64")?),
        Kind::Uint32 | Kind::Fixed32 => P::U32(ranged(v, path, "a uint32")?),
        Kind::Uint64 | Kind::Fixed64 => P::U64(ranged(v, path, "a uint64")?),
        Kind::Bool => match v {
            Value::Bool(b) => P::Bool(*b),
            _ => return Err(mismatch("a bool")),
        },
        Kind::String => match v {
            Value::String(s) => P::String(s.clone()),
            Value::Uuid(s) => P::String(s.clone()),
            _ => return Err(mismatch("a string")),
        },
        Kind::Bytes => match v {
            Value::Bytes(b) => P::Bytes(b.clone().into()),
            _ => return Err(mismatch("bytes")),
        },
        Kind::Enum(e) => match v {
            Value::String(s) => P::EnumNumber(
                e.get_value_by_name(s)
                    .ok_or_else(|| field_error(path, format!("'{s}' is not a value of enum {}", e.full_name())))?
                    .number(),
            ),
            Value::Int(_) => {
                let n: i32 = ranged(v, path, "an enum number")?;
                if e.get_value(n).is_none() && e.parent_file().syntax() == prost_reflect::Syntax::Proto2 {
                    return Err(field_error(path, format!("{n} is not a value of enum {}", e.full_name())));
                }
                P::EnumNumber(n)
            }
            _ => return Err(mismatch(&format!("a value name of enum {}", e.full_name()))),
        },
        Kind::Message(m) => P::Message(to_message(m, v, path)?),
    })
}

fn from_message(msg: &DynamicMessage) -> Value {
    let desc = msg.descriptor();
    let mut out = Vec::with_capacity(desc.fields().len());
    for field in desc.fields() {
        let in_real_oneof = field.containing_oneof().is_some_and(|o| !o.is_synthetic());
        let set = msg.has_field(&field);
        if in_real_oneof && !set {
            continue;
        }
        let v = if !set && field.supports_presence() {
            Value::Null
        } else {
            from_field(&field, &msg.get_field(&field))
        };
        out.push((field.name().to_string(), v));
    }
    Value::Map(out)
}

fn from_field(field: &FieldDescriptor, v: &prost_reflect::Value) -> Value {
    match v {
        prost_reflect::Value::List(items) => Value::Array(items.iter().map(|i| from_single(&field.kind(), i)).collect()),
        prost_reflect::Value::Map(items) => {
            let vk = match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other,
            };
            let mut entries: Vec<(String, Value)> = items.iter().map(|(k, v)| (key_text(k), from_single(&vk, v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(entries)
        }
        other => from_single(&field.kind(), other),
    }
}

fn key_text(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(i) => i.to_string(),
        MapKey::I64(i) => i.to_string(),
        MapKey::U32(i) => i.to_string(),
        MapKey::U64(i) => i.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn from_single(kind: &Kind, v: &prost_reflect::Value) -> Value {
    use prost_reflect::Value as P;
    match v {
        P::Bool(b) => Value::Bool(*b),
        P::I32(i) => Value::Int(*i as i64),
        P::I64(i) => Value::Int(*i),
        P::U32(i) => Value::Int(*i as i64),
        // beyond i64 a uint64 reads as its decimal text (the value type has no u64)
        P::U64(i) => i64::try_from(*i).map(Value::Int).unwrap_or_else(|_| Value::String(i.to_string())),
        P::F32(f) => Value::Float(*f as f64),
        P::F64(f) => Value::Float(*f),
        P::String(s) => Value::String(s.clone()),
        P::Bytes(b) => Value::Bytes(b.to_vec()),
        P::EnumNumber(n) => match kind {
            Kind::Enum(e) => e.get_value(*n).map(|ev| Value::String(ev.name().to_string())).unwrap_or(Value::Int(*n as i64)),
            _ => Value::Int(*n as i64),
        },
        P::Message(m) => from_message(m),
        P::List(items) => Value::Array(items.iter().map(|i| from_single(kind, i)).collect()),
        P::Map(items) => Value::Map(items.iter().map(|(k, v)| (key_text(k), from_single(kind, v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"
syntax = "proto3";
package shop.v1;
import "google/protobuf/timestamp.proto";

message Order {
  enum Status { NEW = 0; PAID = 1; SHIPPED = 2; }
  message Line { string sku = 1; uint32 qty = 2; }
  string id = 1;
  int64 total_cents = 2;
  Status status = 3;
  repeated Line lines = 4;
  map<string, int32> tags = 5;
  bytes blob = 6;
  oneof payment { string card = 7; string voucher = 8; }
  google.protobuf.Timestamp at = 9;
  optional double discount = 10;
  map<int64, string> notes = 11;
}
message Other { sint64 n = 1; }
"#;

    fn order() -> Value {
        Value::Map(vec![
            ("id".into(), Value::String("o-1".into())),
            ("total_cents".into(), Value::Int(9_007_199_254_740_993)),
            ("status".into(), Value::String("PAID".into())),
            (
                "lines".into(),
                Value::Array(vec![Value::Map(vec![("sku".into(), Value::String("a".into())), ("qty".into(), Value::Int(2))])]),
            ),
            ("tags".into(), Value::Map(vec![("x".into(), Value::Int(-1))])),
            ("blob".into(), Value::Bytes(vec![0, 255])),
            ("voucher".into(), Value::String("V".into())),
            ("at".into(), Value::Timestamp(1_700_000_000_123_456)),
            ("notes".into(), Value::Map(vec![("-5".into(), Value::String("n".into()))])),
        ])
    }

    #[test]
    fn round_trip_every_shape() {
        let s = ProtobufSchema::parse(SHOP, &[]).unwrap();
        assert_eq!(s.name(), Some("shop.v1.Order"));
        let m = s.message(MessageRef::First).unwrap();
        let mut out = Vec::new();
        s.encode(&m, &order(), &mut out).unwrap();
        let back = s.decode(&m, &out).unwrap();
        assert_eq!(back.get("id"), Some(&Value::String("o-1".into())));
        assert_eq!(back.get("total_cents"), Some(&Value::Int(9_007_199_254_740_993)));
        assert_eq!(back.get("status"), Some(&Value::String("PAID".into())));
        assert_eq!(
            back.get("lines"),
            Some(&Value::Array(vec![Value::Map(vec![("sku".into(), Value::String("a".into())), ("qty".into(), Value::Int(2))])]))
        );
        assert_eq!(back.get("tags"), Some(&Value::Map(vec![("x".into(), Value::Int(-1))])));
        assert_eq!(back.get("blob"), Some(&Value::Bytes(vec![0, 255])));
        assert_eq!(back.get("voucher"), Some(&Value::String("V".into())));
        assert_eq!(back.get("card"), None, "the unset member of a oneof is absent");
        assert_eq!(
            back.get("at"),
            Some(&Value::Map(vec![("seconds".into(), Value::Int(1_700_000_000)), ("nanos".into(), Value::Int(123_456_000))]))
        );
        assert_eq!(back.get("discount"), Some(&Value::Null), "an unset optional reads as null");
        assert_eq!(back.get("notes"), Some(&Value::Map(vec![("-5".into(), Value::String("n".into()))])));
    }

    #[test]
    fn defaults_and_unset_messages() {
        let s = ProtobufSchema::parse(SHOP, &[]).unwrap();
        let m = s.message(MessageRef::First).unwrap();
        let back = s.decode(&m, &[]).unwrap();
        assert_eq!(back.get("id"), Some(&Value::String(String::new())));
        assert_eq!(back.get("total_cents"), Some(&Value::Int(0)));
        assert_eq!(back.get("status"), Some(&Value::String("NEW".into())));
        assert_eq!(back.get("lines"), Some(&Value::Array(vec![])));
        assert_eq!(back.get("at"), Some(&Value::Null));
    }

    #[test]
    fn known_bytes() {
        // Other{n: -2}: field 1 sint64 (tag 0x08), zig-zag(-2) = 3
        let s = ProtobufSchema::parse(SHOP, &[]).unwrap();
        let m = s.message(MessageRef::Name("Other")).unwrap();
        let mut out = Vec::new();
        s.encode(&m, &Value::Map(vec![("n".into(), Value::Int(-2))]), &mut out).unwrap();
        assert_eq!(out, [0x08, 0x03]);
        assert_eq!(s.indexes_of(&m).unwrap(), vec![1]);
        let line = s.message(MessageRef::Name("shop.v1.Order.Line")).unwrap();
        // Order's nested types in order: Line, then the map entries (TagsEntry, NotesEntry)
        assert_eq!(s.indexes_of(&line).unwrap(), vec![0, 0]);
        assert_eq!(s.message(MessageRef::Indexes(&[0, 0])).unwrap().full_name(), "shop.v1.Order.Line");
        assert!(s.message(MessageRef::Indexes(&[2])).is_err());
        assert!(s.message(MessageRef::Indexes(&[0, 9])).is_err());
    }

    #[test]
    fn errors_name_the_field_path() {
        let s = ProtobufSchema::parse(SHOP, &[]).unwrap();
        let m = s.message(MessageRef::First).unwrap();
        let cases: Vec<(Value, &str)> = vec![
            (Value::Map(vec![("nope".into(), Value::Int(1))]), "Order.nope"),
            (Value::Map(vec![("id".into(), Value::Int(1))]), "Order.id: expected a string, got int"),
            (
                Value::Map(vec![(
                    "lines".into(),
                    Value::Array(vec![Value::Map(vec![("qty".into(), Value::Int(-1))])]),
                )]),
                "Order.lines[0].qty: -1 is out of range for a uint32",
            ),
            (Value::Map(vec![("status".into(), Value::String("LOST".into()))]), "Order.status: 'LOST' is not a value"),
            (
                Value::Map(vec![("card".into(), Value::String("c".into())), ("voucher".into(), Value::String("v".into()))]),
                "Order.voucher: oneof 'payment' already has field 'card' set",
            ),
            (Value::Map(vec![("tags".into(), Value::Map(vec![("k".into(), Value::String("v".into()))]))]), "Order.tags[k]: expected an int32"),
            (Value::Map(vec![("notes".into(), Value::Map(vec![("k".into(), Value::String("v".into()))]))]), "Order.notes[k]: map key 'k'"),
            (Value::String("x".into()), "expected a map for message shop.v1.Order"),
        ];
        for (v, want) in cases {
            let e = s.encode(&m, &v, &mut Vec::new()).unwrap_err();
            assert!(e.to_string().contains(want), "{e} should contain {want}");
        }
        let e = s.decode(&m, &[0x0a, 0x05, b'a']).unwrap_err();
        assert!(e.to_string().contains("not a valid shop.v1.Order"), "{e}");
    }

    /// The base64 of a serialized FileDescriptorProto (confluent-kafka's Python registration),
    /// for the schema and for its references.
    #[test]
    fn serialized_descriptors_as_schema_text() {
        use base64::Engine as _;
        let dep = "syntax = \"proto3\";\npackage common;\nmessage Money { string currency = 1; int64 units = 2; }\n";
        let main = "syntax = \"proto3\";\nimport \"common/money.proto\";\nmessage Price { common.Money amount = 1; }\n";
        let b64 = |name: &str, text: &str, refs: &[(String, String)]| {
            let s = ProtobufSchema::parse(text, refs).unwrap();
            let mut fd = s.pool.get_file_by_name(MAIN_FILE).unwrap().file_descriptor_proto().clone();
            fd.name = Some(name.to_string());
            base64::engine::general_purpose::STANDARD.encode(fd.encode_to_vec())
        };
        let dep64 = b64("common/money.proto", dep, &[]);
        let refs = vec![("common/money.proto".to_string(), dep.to_string())];
        let main64 = b64("price.proto", main, &refs);
        let refs64 = vec![("common/money.proto".to_string(), dep64)];
        let s = ProtobufSchema::parse(&main64, &refs64).unwrap();
        assert_eq!(s.name(), Some("Price"));
        let m = s.message(MessageRef::First).unwrap();
        let v = Value::Map(vec![(
            "amount".into(),
            Value::Map(vec![("currency".into(), Value::String("EUR".into())), ("units".into(), Value::Int(3))]),
        )]);
        let mut out = Vec::new();
        s.encode(&m, &v, &mut out).unwrap();
        assert_eq!(s.decode(&m, &out).unwrap(), v);
        assert!(ProtobufSchema::parse("bm90IGEgZGVzY3JpcHRvcg", &[]).is_err());
    }

    #[test]
    fn imports_from_references_and_bad_schemas() {
        let dep = "syntax = \"proto3\";\npackage common;\nmessage Money { string currency = 1; int64 units = 2; }\n";
        let main = "syntax = \"proto3\";\nimport \"common/money.proto\";\nimport \"confluent/meta.proto\";\nmessage Price { common.Money amount = 1 [(confluent.field_meta).doc = \"x\"]; }\n";
        let refs = vec![("common/money.proto".to_string(), dep.to_string())];
        let s = ProtobufSchema::parse(main, &refs).unwrap();
        let m = s.message(MessageRef::First).unwrap();
        let v = Value::Map(vec![(
            "amount".into(),
            Value::Map(vec![("currency".into(), Value::String("EUR".into())), ("units".into(), Value::Int(3))]),
        )]);
        let mut out = Vec::new();
        s.encode(&m, &v, &mut out).unwrap();
        assert_eq!(s.decode(&m, &out).unwrap(), v);
        let e = ProtobufSchema::parse(main, &[]).unwrap_err();
        assert!(e.to_string().contains("common/money.proto"), "{e}");
        let e = ProtobufSchema::parse("syntax = \"proto3\"; message A { strin x = 1; }", &[]).unwrap_err();
        assert!(e.to_string().contains("invalid Protobuf schema"), "{e}");
        let e = ProtobufSchema::parse("syntax = \"proto3\"; enum E { A = 0; }", &[]).unwrap_err();
        assert!(e.to_string().contains("no message"), "{e}");
    }
}
