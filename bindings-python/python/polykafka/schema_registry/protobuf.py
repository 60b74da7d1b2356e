"""``ProtobufSerializer`` and ``ProtobufDeserializer`` with confluent-kafka's arguments and
conf keys, for generated message classes. The message is encoded by its class; framing (the
schema id and the message-index path), registration and the registry lookups are done by the
Rust core. The schema is registered as confluent-kafka registers it (the file's serialized
descriptor, base64), its imports as schema references (well-known types skipped).

polykafka also reads and writes dicts without generated classes (the core's dynamic messages):
``ProtobufSerializer(Schema(proto_text, "PROTOBUF", references), client, conf,
message_name=None)`` takes dicts (field names as in the ``.proto``, enums by name) and encodes
them as the file's first message or ``message_name``; ``ProtobufDeserializer(None, conf,
schema_registry_client=client)`` gives dicts of whichever message the bytes name."""

import base64

from .. import _native
from ..serialization import Deserializer, SerializationError, Serializer
from ._common import call, header_schema_id, is_key, native_conf, native_schema
from .schema_registry_client import Schema, SchemaReference

__all__ = ["ProtobufDeserializer", "ProtobufSerializer", "reference_subject_name_strategy"]

_SERIALIZER_KEYS = ("auto.register.schemas", "normalize.schemas", "use.schema.id", "use.latest.version")
_DESERIALIZER_KEYS = ("use.latest.version",)
_KNOWN = ("google/protobuf/", "google/type/", "confluent/")


def reference_subject_name_strategy(ctx, schema_ref):
    """The subject of an imported file: its name."""
    return schema_ref.name if schema_ref is not None else None


def _message_indexes(desc):
    """The message's path in its file: top-level index, then nested ones."""
    path = []
    current = desc
    while current.containing_type is not None:
        parent = current.containing_type
        path.append(list(parent.nested_types).index(current))
        current = parent
    path.append(list(desc.file.message_types_by_name).index(current.name))
    path.reverse()
    return path


def _schema_of(file_desc, refs):
    return Schema(base64.standard_b64encode(file_desc.serialized_pb).decode("ascii"), "PROTOBUF", refs)


def _split_conf(conf, extra):
    conf = dict(conf or {})
    out = {}
    for key, default in extra.items():
        value = conf.pop(key, default)
        if not isinstance(value, type(default)) and not callable(default):
            raise ValueError("%s must be a %s value" % (key, type(default).__name__))
        out[key] = value
    return conf, out


class ProtobufSerializer(Serializer):
    """``ProtobufSerializer(msg_type, schema_registry_client, conf=None)``. conf:
    ``auto.register.schemas``, ``normalize.schemas``, ``use.schema.id``, ``use.latest.version``,
    ``subject.name.strategy``, ``skip.known.types`` (True), ``reference.subject.name.strategy``,
    ``use.deprecated.format`` (False; True is refused as by confluent-kafka)."""

    def __init__(self, msg_type, schema_registry_client, conf=None, rule_conf=None, rule_registry=None,
                 message_name=None):
        if rule_conf or rule_registry:
            raise ValueError("data contract rules are not supported by polykafka")
        self._registry = schema_registry_client
        self._dynamic = isinstance(msg_type, Schema)
        if self._dynamic:
            if msg_type.schema_type != "PROTOBUF":
                raise ValueError("the schema must be a PROTOBUF schema, not %s" % msg_type.schema_type)
            self._message_name = message_name
            conf, _extra = _split_conf(conf, {"skip.known.types": True, "use.deprecated.format": False})
            self._native = call(_native.SchemaSerializer, schema_registry_client._native, "PROTOBUF",
                                native_schema(msg_type), native_conf(conf, _SERIALIZER_KEYS))
            return
        if message_name is not None:
            raise ValueError("message_name is for a Schema; a generated class is its own message")
        conf, extra = _split_conf(conf, {"skip.known.types": True, "use.deprecated.format": False,
                                         "reference.subject.name.strategy": reference_subject_name_strategy})
        if extra["use.deprecated.format"]:
            raise ValueError("use.deprecated.format is no longer supported")
        if not callable(extra["reference.subject.name.strategy"]):
            raise ValueError("reference.subject.name.strategy must be callable")
        self._msg_class = msg_type
        desc = msg_type.DESCRIPTOR
        self._name = desc.full_name
        self._indexes = _message_indexes(desc)
        self._skip_known = extra["skip.known.types"]
        self._ref_subject = extra["reference.subject.name.strategy"]
        self._conf = native_conf(conf, _SERIALIZER_KEYS)
        self._auto_register = self._conf.get("auto.register.schemas", "true") == "true"
        self._native = None

    def _references(self, file_desc, ctx):
        refs = []
        for dep in file_desc.dependencies:
            if self._skip_known and dep.name.startswith(_KNOWN):
                continue
            schema = _schema_of(dep, self._references(dep, ctx))
            subject = self._ref_subject(ctx, dep)
            if self._auto_register:
                self._registry.register_schema(subject, schema)
            version = self._registry.lookup_schema(subject, schema).version
            refs.append(SchemaReference(dep.name, subject, version))
        return refs

    def __call__(self, message, ctx=None):
        if message is None:
            return None
        if self._dynamic:
            return call(self._native.serialize, ctx.topic, is_key(ctx), message, self._message_name)
        if not isinstance(message, self._msg_class):
            raise ValueError("message must be of type {} not {}".format(self._msg_class, type(message)))
        key = is_key(ctx)
        if self._native is None:
            file_desc = self._msg_class.DESCRIPTOR.file
            schema = _schema_of(file_desc, self._references(file_desc, ctx))
            self._native = call(_native.SchemaSerializer, self._registry._native, "PROTOBUF", native_schema(schema),
                                self._conf)
        return call(self._native.serialize_encoded, ctx.topic, key, self._name, self._indexes,
                    message.SerializeToString())


class ProtobufDeserializer(Deserializer):
    """``ProtobufDeserializer(message_type, conf=None, schema_registry_client=None)``: gives
    ``message_type`` instances. With a client, the schema the data names must exist and be
    Protobuf. conf: ``use.latest.version``, ``subject.name.strategy``, ``use.deprecated.format``."""

    def __init__(self, message_type, conf=None, schema_registry_client=None, rule_conf=None, rule_registry=None):
        if rule_conf or rule_registry:
            raise ValueError("data contract rules are not supported by polykafka")
        conf, extra = _split_conf(conf, {"use.deprecated.format": False})
        if extra["use.deprecated.format"]:
            raise ValueError("use.deprecated.format is no longer supported")
        self._msg_class = message_type
        self._registry = schema_registry_client
        nconf = native_conf(conf, _DESERIALIZER_KEYS)
        self._native = None
        if message_type is None and schema_registry_client is None:
            raise ValueError("a message_type, or a schema_registry_client to read dicts, is needed")
        if schema_registry_client is not None:
            self._native = call(_native.SchemaDeserializer, schema_registry_client._native, "PROTOBUF", None, nconf)

    def __call__(self, data, ctx=None):
        if data is None:
            return None
        header = header_schema_id(ctx) if ctx is not None else None
        if self._msg_class is None:
            return call(self._native.deserialize, ctx.topic if ctx is not None else "", is_key(ctx), bytes(data), header)
        if self._native is not None:
            _indexes, payload = call(self._native.deserialize_encoded, bytes(data), header)
        else:
            _id, _guid, _indexes, payload = call(_native.protobuf_framing, bytes(data), header)
        msg = self._msg_class()
        try:
            msg.ParseFromString(payload)
        except Exception as e:
            raise SerializationError(str(e))
        return msg
