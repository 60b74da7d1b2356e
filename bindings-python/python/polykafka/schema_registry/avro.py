"""``AvroSerializer`` and ``AvroDeserializer`` with confluent-kafka's arguments and conf keys.
Encoding, decoding and schema resolution run in the Rust core, one call per value."""

import json as _json

from .. import _native
from ..serialization import Deserializer, SerializationError, Serializer
from ._common import AvroValueError, call, header_schema_id, is_key, native_conf, native_schema
from .schema_registry_client import Schema

__all__ = ["AvroDeserializer", "AvroSerializer"]

_SERIALIZER_KEYS = ("auto.register.schemas", "normalize.schemas", "use.schema.id", "use.latest.version")
_DESERIALIZER_KEYS = ("use.latest.version",)


def _as_schema(schema_str):
    if schema_str is None:
        return None
    if isinstance(schema_str, Schema):
        return schema_str
    if isinstance(schema_str, str):
        try:
            _json.loads(schema_str)
        except ValueError:
            # a bare type name such as "string" is a valid Avro schema too
            schema_str = _json.dumps(schema_str.strip())
        return Schema(schema_str, "AVRO")
    raise TypeError("You must pass either schema string or schema object")


class AvroSerializer(Serializer):
    """``AvroSerializer(schema_registry_client, schema_str=None, to_dict=None, conf=None)``:
    serializer(obj, ctx) gives Confluent-framed Avro bytes. conf: ``auto.register.schemas``
    (True), ``normalize.schemas`` (False), ``use.schema.id`` (None), ``use.latest.version``
    (False), ``subject.name.strategy`` (topic_subject_name_strategy)."""

    def __init__(self, schema_registry_client, schema_str=None, to_dict=None, conf=None, rule_conf=None,
                 rule_registry=None):
        if rule_conf or rule_registry:
            raise ValueError("data contract rules are not supported by polykafka")
        if to_dict is not None and not callable(to_dict):
            raise ValueError("to_dict must be callable with the signature to_dict(object, SerializationContext)->dict")
        self._registry = schema_registry_client
        self._schema = _as_schema(schema_str)
        self._to_dict = to_dict
        self._native = call(_native.SchemaSerializer, schema_registry_client._native, "AVRO",
                            native_schema(self._schema), native_conf(conf, _SERIALIZER_KEYS))

    def __call__(self, obj, ctx=None):
        if obj is None:
            return None
        key = is_key(ctx)
        value = self._to_dict(obj, ctx) if self._to_dict is not None else obj
        return call(self._native.serialize, ctx.topic, key, value, value_error=AvroValueError)


class AvroDeserializer(Deserializer):
    """``AvroDeserializer(schema_registry_client, schema_str=None, from_dict=None,
    return_record_name=False, conf=None)``: deserializer(data, ctx) gives a dict (or what
    ``from_dict`` makes of it). ``schema_str`` is the reader schema (data written with an
    older compatible schema is resolved to it). conf: ``use.latest.version``,
    ``subject.name.strategy``."""

    def __init__(self, schema_registry_client, schema_str=None, from_dict=None, return_record_name=False, conf=None,
                 rule_conf=None, rule_registry=None):
        if rule_conf or rule_registry:
            raise ValueError("data contract rules are not supported by polykafka")
        if from_dict is not None and not callable(from_dict):
            raise ValueError("from_dict must be callable with the signature from_dict(SerializationContext, dict) -> object")
        if not isinstance(return_record_name, bool):
            raise ValueError("return_record_name must be a boolean value")
        if return_record_name:
            raise ValueError("return_record_name=True is not supported by polykafka yet")
        self._registry = schema_registry_client
        self._schema = _as_schema(schema_str)
        self._from_dict = from_dict
        self._native = call(_native.SchemaDeserializer, schema_registry_client._native, "AVRO",
                            native_schema(self._schema), native_conf(conf, _DESERIALIZER_KEYS))

    def __call__(self, data, ctx=None):
        if data is None:
            return None
        if len(data) <= 5 and header_schema_id(ctx) is None:
            raise SerializationError(
                "Expecting data framing of length 6 bytes or more but total data size is {} bytes. This message "
                "was not produced with a Confluent Schema Registry serializer".format(len(data)))
        key = is_key(ctx)
        value = call(self._native.deserialize, ctx.topic, key, bytes(data), header_schema_id(ctx))
        if self._from_dict is not None:
            return self._from_dict(value, ctx)
        return value
