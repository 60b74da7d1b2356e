"""Serdes: how keys and values become bytes, as Kafka Streams' ``Serdes``."""

from __future__ import annotations

import json
import struct
from typing import Any, Generic, NamedTuple, Optional, TypeVar

T = TypeVar("T")

_LONG = struct.Struct(">q")


class SerializationError(ValueError):
    """A key or value that a serde cannot (de)serialize."""


class Serde(Generic[T]):
    """Serializes ``T`` to bytes and back; ``None`` (Kafka's null) stays ``None``."""

    name = "Serde"

    def serialize(self, obj: Optional[T]) -> Optional[bytes]:
        raise NotImplementedError

    def deserialize(self, data: Optional[bytes]) -> Optional[T]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return "Serdes.%s()" % self.name

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))


class _Bytes(Serde[bytes]):
    name = "Bytes"

    def serialize(self, obj):
        if obj is None:
            return None
        if not isinstance(obj, (bytes, bytearray, memoryview)):
            raise SerializationError("Serdes.Bytes() serializes bytes, got %s" % type(obj).__name__)
        return bytes(obj)

    def deserialize(self, data):
        return data


class _String(Serde[str]):
    name = "String"

    def serialize(self, obj):
        if obj is None:
            return None
        if not isinstance(obj, str):
            raise SerializationError("Serdes.String() serializes str, got %s" % type(obj).__name__)
        return obj.encode("utf-8")

    def deserialize(self, data):
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise SerializationError("Serdes.String(): not UTF-8: %s" % e) from e


class _Long(Serde[int]):
    """8 bytes, big-endian, signed: Kafka's ``LongSerializer``."""

    name = "Long"

    def serialize(self, obj):
        if obj is None:
            return None
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise SerializationError("Serdes.Long() serializes int, got %s" % type(obj).__name__)
        try:
            return _LONG.pack(obj)
        except struct.error as e:
            raise SerializationError("Serdes.Long(): %d does not fit in 64 bits" % obj) from e

    def deserialize(self, data):
        if data is None:
            return None
        if len(data) != 8:
            raise SerializationError("Serdes.Long(): size of data received is not 8 but %d" % len(data))
        return _LONG.unpack(data)[0]


class _Json(Serde[Any]):
    """UTF-8 JSON, compact (Kafka's ``JsonSerializer`` writes the same bytes for plain data)."""

    name = "Json"

    def serialize(self, obj):
        if obj is None:
            return None
        try:
            return json.dumps(obj, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise SerializationError("Serdes.Json(): %s" % e) from e

    def deserialize(self, data):
        if data is None:
            return None
        try:
            return json.loads(data)
        except (UnicodeDecodeError, ValueError) as e:
            raise SerializationError("Serdes.Json(): not JSON: %s" % e) from e


class Windowed(NamedTuple):
    """A key of a windowed table: the record key and its window ``[start, end)`` in ms."""

    key: Any
    start: int
    end: int


class TimeWindowedSerde(Serde[Windowed]):
    """Kafka Streams' time-windowed key format: the inner key's bytes, then the window start as
    8 bytes big-endian (``WindowedSerdes.timeWindowedSerdeFrom(inner, size)``)."""

    name = "TimeWindowed"

    def __init__(self, inner: Serde, window_size_ms: int):
        self.inner = inner
        self.window_size_ms = int(window_size_ms)

    def serialize(self, obj):
        if obj is None:
            return None
        if not isinstance(obj, Windowed):
            raise SerializationError("TimeWindowedSerde serializes Windowed keys, got %s" % type(obj).__name__)
        inner = self.inner.serialize(obj.key) or b""
        return inner + _LONG.pack(obj.start)

    def deserialize(self, data):
        if data is None:
            return None
        if len(data) < 8:
            raise SerializationError("a windowed key has at least 8 bytes, got %d" % len(data))
        start = _LONG.unpack(data[-8:])[0]
        return Windowed(self.inner.deserialize(data[:-8]), start, start + self.window_size_ms)

    def __repr__(self):
        return "TimeWindowedSerde(%r, %d)" % (self.inner, self.window_size_ms)

    def __eq__(self, other):
        return isinstance(other, TimeWindowedSerde) and other.inner == self.inner and other.window_size_ms == self.window_size_ms

    def __hash__(self):
        return hash((TimeWindowedSerde, self.inner, self.window_size_ms))


class Serdes:
    """The built-in serdes: ``Serdes.String()``, ``Serdes.Long()``, ``Serdes.Json()``,
    ``Serdes.Bytes()``."""

    @staticmethod
    def String() -> Serde[str]:
        return _String()

    @staticmethod
    def Long() -> Serde[int]:
        return _Long()

    @staticmethod
    def Json() -> Serde[Any]:
        return _Json()

    @staticmethod
    def Bytes() -> Serde[bytes]:
        return _Bytes()


class SessionWindowedSerde(Serde[Windowed]):
    """Kafka Streams' session-windowed key format: the inner key's bytes, then the session's end
    and start as 8 bytes big-endian each (``WindowedSerdes.sessionWindowedSerdeFrom(inner)``).
    A session's end is inclusive: a session of one record has ``start == end``."""

    name = "SessionWindowed"

    def __init__(self, inner: Serde):
        self.inner = inner

    def serialize(self, obj):
        if obj is None:
            return None
        if not isinstance(obj, Windowed):
            raise SerializationError("SessionWindowedSerde serializes Windowed keys, got %s" % type(obj).__name__)
        inner = self.inner.serialize(obj.key) or b""
        return inner + _LONG.pack(obj.end) + _LONG.pack(obj.start)

    def deserialize(self, data):
        if data is None:
            return None
        if len(data) < 16:
            raise SerializationError("a session-windowed key has at least 16 bytes, got %d" % len(data))
        end = _LONG.unpack(data[-16:-8])[0]
        start = _LONG.unpack(data[-8:])[0]
        return Windowed(self.inner.deserialize(data[:-16]), start, end)

    def __repr__(self):
        return "SessionWindowedSerde(%r)" % (self.inner,)

    def __eq__(self, other):
        return isinstance(other, SessionWindowedSerde) and other.inner == self.inner

    def __hash__(self):
        return hash((SessionWindowedSerde, self.inner))
