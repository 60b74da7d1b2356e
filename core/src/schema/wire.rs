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

/// Writes a Protobuf message-index path (the message's position: top-level index, then nested
/// ones) as confluent-kafka does: the count and each index as zig-zag varints, and `[0]` (the
/// first message) as the single byte 0.
pub fn write_message_indexes(indexes: &[i32], out: &mut Vec<u8>) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    write_zigzag(indexes.len() as i64, out);
    for &i in indexes {
        write_zigzag(i as i64, out);
    }
}

/// Reads a message-index path; a count of 0 means `[0]`. Returns the path and the bytes used.
pub fn read_message_indexes(bytes: &[u8]) -> SchemaResult<(Vec<i32>, usize)> {
    let mut pos = 0;
    let count = read_zigzag(bytes, &mut pos)?;
    if count == 0 {
        return Ok((vec![0], pos));
    }
    if count < 0 || count as usize > bytes.len() {
        return Err(SchemaError::serialization(format!("invalid Protobuf message-index count {count}")));
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let i = read_zigzag(bytes, &mut pos)?;
        out.push(i32::try_from(i).map_err(|_| SchemaError::serialization(format!("invalid Protobuf message index {i}")))?);
    }
    Ok((out, pos))
}

fn write_zigzag(v: i64, out: &mut Vec<u8>) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn read_zigzag(bytes: &[u8], pos: &mut usize) -> SchemaResult<i64> {
    let mut z: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes
            .get(*pos)
            .ok_or_else(|| SchemaError::serialization("the Protobuf message indexes end too early"))?;
        *pos += 1;
        if shift >= 64 {
            return Err(SchemaError::serialization("invalid varint in the Protobuf message indexes"));
        }
        z |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
        shift += 7;
    }
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

    /// Golden vectors from confluent-kafka 2.16's own `SchemaId(PROTOBUF, 7, None, idx).id_to_bytes()`.
    #[test]
    fn protobuf_message_indexes_as_confluent_kafka() {
        let cases: [(&[i32], &str); 5] = [
            (&[0], "00"),
            (&[1], "0202"),
            (&[0, 2], "040004"),
            (&[3, 1, 64], "0606028001"),
            (&[200], "029003"),
        ];
        for (idx, hex) in cases {
            let mut out = Vec::new();
            write_message_indexes(idx, &mut out);
            let got: String = out.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{idx:?}");
            let (back, n) = read_message_indexes(&out).unwrap();
            assert_eq!((back.as_slice(), n), (idx, out.len()));
        }
        assert!(read_message_indexes(&[0x04, 0x00]).is_err());
        assert!(read_message_indexes(&[0x80]).is_err());
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
