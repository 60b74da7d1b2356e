"""Shared by the serdes: error translation from the native module, conf checking."""

from .. import _native
from ..serialization import MessageField, SerializationError
from .error import SchemaRegistryError, SchemaRegistryUnreachableError


class AvroValueError(SerializationError, TypeError, ValueError):
    """A value does not match its Avro schema (the message names the field path). It is a
    ``TypeError`` and a ``ValueError`` as fastavro's errors are under confluent-kafka, and a
    ``SerializationError``."""


def translate(e, value_error=SerializationError):
    """The confluent-kafka exception for a ``_native.SchemaError``."""
    kind, status, code, message, _retriable = e.args
    if kind == "registry":
        return SchemaRegistryError(status, code, message)
    if kind == "unreachable":
        return SchemaRegistryUnreachableError(message)
    if kind == "config":
        return ValueError(message)
    return value_error(message)


def call(fn, *args, value_error=SerializationError):
    try:
        return fn(*args)
    except _native.SchemaError as e:
        raise translate(e, value_error) from None


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def is_key(ctx):
    if ctx is None:
        raise TypeError("SerializationContext cannot be None")
    return ctx.field == MessageField.KEY or str(ctx.field) == "key"


def header_schema_id(ctx):
    """The value of the ``__key_schema_id``/``__value_schema_id`` header, if any."""
    headers = getattr(ctx, "headers", None)
    if not headers:
        return None
    name = "__key_schema_id" if is_key(ctx) else "__value_schema_id"
    items = headers.items() if isinstance(headers, dict) else headers
    for k, v in items:
        if k == name:
            return v if isinstance(v, (bytes, bytearray)) or v is None else bytes(v)
    return None


_STRATEGIES = {
    "topic_subject_name_strategy": "topic_subject_name_strategy",
    "topic_record_subject_name_strategy": "topic_record_subject_name_strategy",
    "record_subject_name_strategy": "record_subject_name_strategy",
}

# keys confluent-kafka accepts that polykafka only accepts at their default value
_DEFAULT_ONLY = {
    "use.latest.with.metadata": (None,),
    "subject.name.strategy.type": (None,),
    "subject.name.strategy.conf": (None,),
    "validate.strict": (False,),
    "validate.strict.allow.default": (False,),
    "validation.rules.fail.fast": (False,),
    "validation.rules.executor": (None,),
}


def native_conf(conf, allowed):
    """confluent-kafka's serde conf as text for the native module. A key given a value
    polykafka does not implement raises ValueError (never silently ignored)."""
    out = {}
    unknown = []
    for key, value in (conf or {}).items():
        if key == "subject.name.strategy":
            if value is None:
                continue
            name = getattr(value, "__name__", None)
            if name not in _STRATEGIES or not callable(value):
                raise ValueError(
                    "subject.name.strategy: polykafka supports topic_subject_name_strategy, "
                    "topic_record_subject_name_strategy and record_subject_name_strategy, not %r" % (value,))
            out[key] = _STRATEGIES[name]
        elif key in ("schema.id.serializer", "schema.id.deserializer"):
            name = getattr(value, "__name__", None)
            expected = "prefix_schema_id_serializer" if key == "schema.id.serializer" else "dual_schema_id_deserializer"
            if name != expected:
                raise ValueError("%s: polykafka writes the classic framing and reads both; only %s is supported"
                                 % (key, expected))
        elif key == "validation.rules.execution":
            if str(getattr(value, "name", value)).upper() not in ("DISABLED", "NONE"):
                raise ValueError("validation.rules.execution: data contract rules are not supported by polykafka")
        elif key in _DEFAULT_ONLY:
            if value not in _DEFAULT_ONLY[key]:
                raise ValueError("%s is not supported by polykafka (only its default %r)" % (key, _DEFAULT_ONLY[key][0]))
        elif key in allowed:
            if value is None:
                continue
            if key != "use.schema.id" and not isinstance(value, bool):
                raise ValueError("%s must be a boolean value" % key)
            if key == "use.schema.id" and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError("use.schema.id must be an int value")
            out[key] = text(value)
        else:
            unknown.append(key)
    if unknown:
        raise ValueError("Unrecognized properties: {}".format(", ".join(unknown)))
    return out


def native_schema(schema):
    if schema is None:
        return None
    refs = [(r.name, r.subject, r.version) for r in (schema.references or [])]
    return (schema.schema_str, schema.schema_type or "AVRO", refs)
