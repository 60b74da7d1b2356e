//! The value every binding passes to and gets from the serdes: JSON's shapes plus bytes, so a
//! Python dict, a JS object or a Go map crosses the boundary as one tree.

/// A schema-less value: what a record (map), list, string, number, bytes or null becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Fields in order (a record's order when decoded).
    Map(Vec<(String, Value)>),
    /// A point in time: microseconds since 1970-01-01T00:00:00Z (Avro timestamp-millis/-micros).
    Timestamp(i64),
    /// Days since 1970-01-01 (Avro date).
    Date(i32),
    /// Microseconds since midnight (Avro time-millis/-micros).
    Time(i64),
    /// A UUID in its 8-4-4-4-12 text form (Avro uuid).
    Uuid(String),
    /// A decimal number `unscaled * 10^exponent` written with `digits` significant digits
    /// (Avro decimal).
    Decimal { unscaled: i128, exponent: i32, digits: u32 },
}

impl Value {
    /// The value of `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Timestamp(_) => "timestamp",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::Uuid(_) => "uuid",
            Value::Decimal { .. } => "decimal",
        }
    }

    /// From JSON (a number that fits an i64 becomes `Int`).
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect()),
        }
    }

    /// To JSON. Bytes become a string of their code points 0-255 (Avro's JSON encoding of
    /// bytes); a non-finite float is an error.
    pub fn to_json(&self) -> Result<serde_json::Value, String> {
        Ok(match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .ok_or_else(|| format!("{f} cannot be written as JSON"))?,
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::Bytes(b) => serde_json::Value::String(b.iter().map(|&c| c as char).collect()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(|v| v.to_json()).collect::<Result<_, _>>()?),
            Value::Timestamp(_) | Value::Date(_) | Value::Time(_) | Value::Uuid(_) | Value::Decimal { .. } => {
                return Err(format!("a {} is not JSON serializable (convert it in to_dict)", self.type_name()))
            }
            Value::Map(m) => {
                let mut o = serde_json::Map::with_capacity(m.len());
                for (k, v) in m {
                    o.insert(k.clone(), v.to_json()?);
                }
                serde_json::Value::Object(o)
            }
        })
    }
}
