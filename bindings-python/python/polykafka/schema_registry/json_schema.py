"""``JSONSerializer`` and ``JSONDeserializer`` with confluent-kafka's arguments and conf keys.
Validation (drafts 4 to 2020-12) and framing run in the Rust core."""

from .. import _native
from ..serialization import Deserializer, SerializationError, Serializer
from ._common import call, header_schema_id, is_key, native_conf, native_schema
from .schema_registry_client import Schema

__all__ = ["JSONDeserializer", "JSONSerializer"]

_SERIALIZER_KEYS = ("auto.register.schemas", "normalize.schemas", "use.schema.id", "use.latest.version", "validate")
_DESERIALIZER_KEYS = ("use.latest.version", "validate")


def _as_schema(schema_str):
    if schema_str is None:
        return None
    if isinstance(schema_str, Schema):
        return schema_str
    if isinstance(schema_str, str):
        return Schema(schema_str, "JSON")
    raise TypeError("You must pass either str or Schema")


class JSONSerializer(Serializer):
    """``JSONSerializer(schema_str, schema_registry_client, to_dict=None, conf=None)``.
    conf: ``auto.register.schemas``, ``normalize.schemas``, ``use.schema.id``,
    ``use.latest.version``, ``subject.name.strategy``, ``validate`` (True)."""

    def __init__(self, schema_str, schema_registry_client, to_dict=None, conf=None, rule_conf=None,
                 rule_registry=None):
        if rule_conf or rule_registry:
            raise ValueError("data contract rules are not supported by polykafka")
        if to_dict is not None and not callable(to_dict):
            raise ValueError("to_dict must be callable with the signature to_dict(object, SerializationContext)->dict")
        self._registry = schema_registry_client
        self._schema = _as_schema(schema_str)
        self._to_dict = to_dict
        self._native = call(_native.SchemaSerializer, schema_registry_client._native, "JSON",
                            native_schema(self._schema), native_conf(conf, _SERIALIZER_KEYS))

    def __call__(self, obj, ctx=None):
        if obj is None:
            return None
        key = is_key(ctx)
        value = self._to_dict(obj, ctx) if self._to_dict is not None else obj
        return call(self._native.serialize, ctx.topic, key, value)


class JSONDeserializer(Deserializer):
    """``JSONDeserializer(schema_str, from_dict=None, schema_registry_client=None, conf=None)``.
    polykafka needs the registry client (it checks the schema id the data names)."""

    def __init__(self, schema_str, from_dict=None, schema_registry_client=None, conf=None, rule_conf=None,
                 rule_registry=None):
        if rule_conf or rule_registry:
            raise ValueError("data contract rules are not supported by polykafka")
        if schema_registry_client is None:
            raise ValueError("polykafka's JSONDeserializer needs schema_registry_client")
        if from_dict is not None and not callable(from_dict):
            raise ValueError("from_dict must be callable with the signature from_dict(dict, SerializationContext) -> object")
        self._registry = schema_registry_client
        self._schema = _as_schema(schema_str)
        self._from_dict = from_dict
        self._native = call(_native.SchemaDeserializer, schema_registry_client._native, "JSON",
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
