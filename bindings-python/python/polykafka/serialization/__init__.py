"""confluent-kafka's ``serialization`` module: contexts, the error class and the simple serdes.

``SerializationContext(topic, field, headers=None)`` tells a serializer which topic and part of a
record a value is for; ``SerializationError`` (a ``KafkaException``) is raised when a value cannot
be turned into bytes or back.
"""

import struct as _struct
from enum import Enum

from .._errors import KafkaException

__all__ = [
    "Deserializer",
    "DoubleDeserializer",
    "DoubleSerializer",
    "IntegerDeserializer",
    "IntegerSerializer",
    "MessageField",
    "SerializationContext",
    "SerializationError",
    "Serializer",
    "StringDeserializer",
    "StringSerializer",
]


class MessageField(str, Enum):
    """Which part of a record a value is."""

    NONE = "none"
    KEY = "key"
    VALUE = "value"

    def __str__(self):
        return str(self.value)


class SerializationContext(object):
    """Metadata of one serialization: ``topic``, ``field`` (a ``MessageField``), ``headers``."""

    __slots__ = ["topic", "field", "headers"]

    def __init__(self, topic, field, headers=None):
        self.topic = topic
        self.field = field
        self.headers = headers


class SerializationError(KafkaException):
    """A value could not be serialized or deserialized."""

    pass


class Serializer(object):
    """Base of the serializers: ``serializer(obj, ctx)`` returns bytes (or None)."""

    __slots__ = []

    def __call__(self, obj, ctx=None):
        raise NotImplementedError

    def close(self):
        pass


class Deserializer(object):
    """Base of the deserializers: ``deserializer(value, ctx)`` returns an object (or None)."""

    __slots__ = []

    def __call__(self, value, ctx=None):
        raise NotImplementedError

    def close(self):
        pass


def _pack(fmt, obj):
    if obj is None:
        return None
    try:
        return _struct.pack(fmt, obj)
    except _struct.error as e:
        raise SerializationError(str(e))


def _unpack(fmt, value):
    if value is None:
        return None
    try:
        return _struct.unpack(fmt, value)[0]
    except _struct.error as e:
        raise SerializationError(str(e))


class DoubleSerializer(Serializer):
    """A float as IEEE 754 binary64, big-endian (Java's DoubleSerializer)."""

    def __call__(self, obj, ctx=None):
        return _pack(">d", obj)


class DoubleDeserializer(Deserializer):
    def __call__(self, value, ctx=None):
        return _unpack(">d", value)


class IntegerSerializer(Serializer):
    """An int as a 32-bit big-endian signed integer (Java's IntegerSerializer)."""

    def __call__(self, obj, ctx=None):
        return _pack(">i", obj)


class IntegerDeserializer(Deserializer):
    def __call__(self, value, ctx=None):
        return _unpack(">i", value)


class StringSerializer(Serializer):
    """A str encoded with ``codec`` (UTF-8 by default)."""

    def __init__(self, codec="utf_8"):
        self.codec = codec

    def __call__(self, obj, ctx=None):
        if obj is None:
            return None
        try:
            return obj.encode(self.codec)
        except UnicodeError as e:  # only these, as confluent-kafka: a wrong type or codec is the caller's error
            raise SerializationError(str(e))


class StringDeserializer(Deserializer):
    """Bytes decoded with ``codec`` (UTF-8 by default)."""

    def __init__(self, codec="utf_8"):
        self.codec = codec

    def __call__(self, value, ctx=None):
        if value is None:
            return None
        try:
            return value.decode(self.codec)
        except UnicodeError as e:  # only these, as confluent-kafka: a wrong type or codec is the caller's error
            raise SerializationError(str(e))
