//! The Confluent wire format and subject names.
//!
//! Classic framing: byte 0, the schema id as 4-byte big-endian, the payload. Newer framing
//! (confluent-kafka 2.x): byte 1 and a 16-byte schema GUID, in front of the payload or as the
//! value of a `__key_schema_id`/`__value_schema_id` header (then the payload has no prefix).
//! We write the classic framing and read all three.

use super::error::{SchemaError, SchemaResult};

pub const MAGIC_BYTE: u8 = 0;
pub const MAGIC_BYTE_V1: u8 = 1;
pub const KEY_SCHEMA_ID_HEADER: &str = "__key_schema_id";
pub const VALUE_SCHEMA_ID_HEADER: &str = "__value_schema_id";

/// Which part of a record a value is (confluent-kafka's `MessageField`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageField {
    Key,
    Value,
}

impl MessageField {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageField::Key => "key",
            MessageField::Value => "value",
        }
    }
    pub fn header_name(self) -> &'static str {
        match self {
            MessageField::Key => KEY_SCHEMA_ID_HEADER,
            MessageField::Value => VALUE_SCHEMA_ID_HEADER,
        }
    }
}

/// The schema a framed payload names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchemaId {
    Id(i32),
    /// A GUID, as the registry prints it (8-4-4-4-12 hex).
    Guid(String),
}

/// Writes the classic prefix: 0 and the id.
pub fn write_prefix(id: i32, out: &mut Vec<u8>) {
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
}

fn read_framed(bytes: &[u8], what: &str) -> SchemaResult<(SchemaId, usize)> {
    match bytes.first() {
        None => Err(SchemaError::serialization(format!("{what} is empty: no magic byte"))),
        Some(&MAGIC_BYTE) => {
            if bytes.len() < 5 {
                return Err(SchemaError::serialization(format!("{what} is too short ({} bytes) for a schema id", bytes.len())));
            }
            let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
            Ok((SchemaId::Id(id), 5))
        }
        Some(&MAGIC_BYTE_V1) => {
            if bytes.len() < 17 {
                return Err(SchemaError::serialization(format!("{what} is too short ({} bytes) for a schema GUID", bytes.len())));
            }
            let g = uuid::Uuid::from_slice(&bytes[1..17]).map_err(|e| SchemaError::serialization(e.to_string()))?;
            Ok((SchemaId::Guid(g.hyphenated().to_string()), 17))
        }
        Some(&other) => Err(SchemaError::serialization(format!(
            "Unexpected magic byte {other}. This message was not produced with a Confluent Schema Registry serializer"
        ))),
    }
}

/// Reads the schema id and returns it with the payload: from the `__key_schema_id` /
/// `__value_schema_id` header when there is one, else from the prefix of `bytes`.
pub fn read<'a>(bytes: &'a [u8], header: Option<&[u8]>) -> SchemaResult<(SchemaId, &'a [u8])> {
    if let Some(h) = header {
        let (id, _) = read_framed(h, "the schema id header")?;
        return Ok((id, bytes));
    }
    let (id, n) = read_framed(bytes, "the message")?;
    Ok((id, &bytes[n..]))
}

/// How a subject is named (`subject.name.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SubjectNameStrategy {
    /// `{topic}-key` / `{topic}-value` (the default).
    #[default]
    TopicName,
    /// `{topic}-{record fullname}`.
    TopicRecordName,
    /// `{record fullname}`.
    RecordName,
}

impl SubjectNameStrategy {
    pub fn parse(name: &str) -> SchemaResult<SubjectNameStrategy> {
        match name {
            "topic_subject_name_strategy" | "TopicNameStrategy" | "topic" => Ok(SubjectNameStrategy::TopicName),
            "topic_record_subject_name_strategy" | "TopicRecordNameStrategy" | "topic_record" => {
                Ok(SubjectNameStrategy::TopicRecordName)
            }
            "record_subject_name_strategy" | "RecordNameStrategy" | "record" => Ok(SubjectNameStrategy::RecordName),
            other => Err(SchemaError::config(format!(
                "unknown subject.name.strategy '{other}' (topic_subject_name_strategy, topic_record_subject_name_strategy or record_subject_name_strategy)"
            ))),
        }
    }

    /// The subject for `topic`/`field` and a record named `record_name`.
    pub fn subject(self, topic: &str, field: MessageField, record_name: Option<&str>) -> SchemaResult<String> {
        let record = || {
            record_name.ok_or_else(|| {
                SchemaError::serialization("the subject name strategy needs a record name, and the schema names none")
            })
        };
        Ok(match self {
            SubjectNameStrategy::TopicName => format!("{topic}-{}", field.as_str()),
            SubjectNameStrategy::TopicRecordName => format!("{topic}-{}", record()?),
            SubjectNameStrategy::RecordName => record()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_prefix_round_trip() {
        let mut out = Vec::new();
        write_prefix(258, &mut out);
        out.extend_from_slice(b"xy");
        assert_eq!(&out[..5], &[0, 0, 0, 1, 2]);
        let (id, payload) = read(&out, None).unwrap();
        assert_eq!(id, SchemaId::Id(258));
        assert_eq!(payload, b"xy");
    }

    #[test]
    fn guid_prefix_and_header() {
        let g = uuid::Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        let mut framed = vec![1u8];
        framed.extend_from_slice(g.as_bytes());
        framed.push(7);
        let (id, payload) = read(&framed, None).unwrap();
        assert_eq!(id, SchemaId::Guid(g.to_string()));
        assert_eq!(payload, &[7]);
        let (id, payload) = read(&[9, 9], Some(&framed[..17])).unwrap();
        assert_eq!(id, SchemaId::Guid(g.to_string()));
        assert_eq!(payload, &[9, 9]);
    }

    #[test]
    fn bad_framing_is_a_serialization_error() {
        for bad in [&b""[..], &b"\x05abcde"[..], &b"\x00\x01"[..]] {
            let e = read(bad, None).unwrap_err();
            assert_eq!(e.kind(), crate::schema::SchemaErrorKind::Serialization, "{bad:?}: {e}");
        }
    }

    #[test]
    fn subject_names() {
        let s = SubjectNameStrategy::TopicName;
        assert_eq!(s.subject("t", MessageField::Value, None).unwrap(), "t-value");
        assert_eq!(SubjectNameStrategy::TopicRecordName.subject("t", MessageField::Key, Some("a.B")).unwrap(), "t-a.B");
        assert_eq!(SubjectNameStrategy::RecordName.subject("t", MessageField::Key, Some("a.B")).unwrap(), "a.B");
        assert!(SubjectNameStrategy::RecordName.subject("t", MessageField::Key, None).is_err());
    }
}
