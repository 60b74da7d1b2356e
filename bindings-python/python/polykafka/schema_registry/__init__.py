"""confluent-kafka's ``schema_registry``: the client, its model classes, subject name
strategies, and the serdes in ``.avro`` and ``.json_schema``. Registry access, caching, the
wire format and the encoding are done once, in polykafka's Rust core."""

from ..serialization import MessageField, SerializationContext, SerializationError
from .error import SchemaRegistryError, SchemaRegistryUnreachableError
from .schema_registry_client import RegisteredSchema, Schema, SchemaReference, SchemaRegistryClient

_KEY_SCHEMA_ID = "__key_schema_id"
_VALUE_SCHEMA_ID = "__value_schema_id"
_MAGIC_BYTE = 0
_MAGIC_BYTE_V0 = _MAGIC_BYTE
_MAGIC_BYTE_V1 = 1

__all__ = [
    "MessageField",
    "RegisteredSchema",
    "Schema",
    "SchemaReference",
    "SchemaRegistryClient",
    "SchemaRegistryError",
    "SchemaRegistryUnreachableError",
    "SerializationContext",
    "SerializationError",
    "dual_schema_id_deserializer",
    "prefix_schema_id_serializer",
    "record_subject_name_strategy",
    "topic_record_subject_name_strategy",
    "topic_subject_name_strategy",
]


def topic_subject_name_strategy(ctx, record_name):
    """``{topic}-key`` or ``{topic}-value``."""
    if ctx is None:
        raise ValueError("SerializationContext is required for topic_subject_name_strategy")
    return ctx.topic + "-" + str(ctx.field)


def topic_record_subject_name_strategy(ctx, record_name):
    """``{topic}-{record fullname}``."""
    if ctx is None:
        raise ValueError("SerializationContext is required for topic_record_subject_name_strategy")
    return ctx.topic + "-" + record_name if record_name is not None else None


def record_subject_name_strategy(ctx, record_name):
    """``{record fullname}``."""
    return record_name if record_name is not None else None


def prefix_schema_id_serializer(payload, ctx, schema_id):
    """Marker for the classic framing (0, the 4-byte id, the payload), the one polykafka writes."""
    raise NotImplementedError("polykafka frames in its core; pass this function only as a conf value")


def dual_schema_id_deserializer(payload, ctx, schema_id):
    """Marker for reading the id from the header first, then the payload prefix, as polykafka does."""
    raise NotImplementedError("polykafka reads the framing in its core; pass this function only as a conf value")
