"""Kafka Streams for Python: a processing DSL whose runtime is polykafka's Rust core.

Names follow Kafka Streams in Python style::

    builder = StreamsBuilder()
    events = builder.stream("user-events", key_serde=Serdes.String(), value_serde=Serdes.Json())
    events.filter(lambda k, e: e["eventType"] == "USER_CREATED") \\
          .map_values(lambda e: {"userId": e["userId"]}).to("notifications")
    counts = events.group_by(lambda k, e: e["country"]).count(materialized="user-counts-by-country")
    streams = KafkaStreams(builder.build(), {"application.id": "app", "bootstrap.servers": "..."})
    streams.start()

The core runs the tasks, stores, changelogs and commits; user functions run here, a batch of
records per fused chain of operations with the GIL taken once.
"""

from __future__ import annotations

import enum
import typing
import logging
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

from .. import _native
from ._runner import SourceRecord
from ._runner import (
    AGGREGATE,
    FILTER,
    FILTER_NOT,
    FLAT_MAP,
    FLAT_MAP_VALUES,
    FOREACH,
    JOIN,
    MAP,
    MAP_VALUES,
    PEEK,
    REDUCE,
    SELECT_KEY,
    SERDE,
    SESSION_AGGREGATE,
    SPLIT,
    TOPIC,
    Op,
    Runner,
)
from ._serdes import Serde, Serdes, SerializationError, SessionWindowedSerde, TimeWindowedSerde, Windowed

__all__ = [
    "StreamsBuilder",
    "Topology",
    "KStream",
    "KGroupedStream",
    "TimeWindowedKStream",
    "SessionWindowedKStream",
    "KTable",
    "BranchedKStream",
    "KafkaStreams",
    "State",
    "StreamThreadExceptionResponse",
    "StreamsException",
    "TimeWindows",
    "JoinWindows",
    "SessionWindows",
    "Suppressed",
    "BufferConfig",
    "StrictBufferConfig",
    "EagerBufferConfig",
    "Serde",
    "Serdes",
    "SerializationError",
    "TimeWindowedSerde",
    "SessionWindowedSerde",
    "Windowed",
    "ReadOnlyKeyValueStore",
    "ReadOnlyWindowStore",
    "ReadOnlySessionStore",
    "TimestampExtractor",
    "SourceRecord",
    "FailOnInvalidTimestamp",
    "LogAndSkipOnInvalidTimestamp",
    "UsePartitionTimeOnInvalidTimestamp",
    "WallclockTimestampExtractor",
]

log = logging.getLogger("polykafka.streams")

Duration = Union[timedelta, int, float]


def _ms(d: Duration, what: str) -> int:
    """A duration as milliseconds: a ``timedelta``, or a number of milliseconds."""
    if isinstance(d, timedelta):
        return int(d.total_seconds() * 1000)
    if isinstance(d, bool) or not isinstance(d, (int, float)):
        raise TypeError("%s must be a timedelta or milliseconds, got %s" % (what, type(d).__name__))
    return int(d)


class TimeWindows:
    """Tumbling (or, with :meth:`advance_by`, hopping) windows aligned to the epoch, with a
    grace period after which late records are dropped."""

    def __init__(self, size_ms: int, advance_ms: int, grace_ms: int):
        if size_ms <= 0:
            raise ValueError("window size must be positive, got %d ms" % size_ms)
        if grace_ms < 0:
            raise ValueError("grace period must not be negative, got %d ms" % grace_ms)
        if advance_ms <= 0 or advance_ms > size_ms:
            raise ValueError("window advance must be positive and at most the size (%d ms), got %d ms" % (size_ms, advance_ms))
        self.size_ms = size_ms
        self.advance_ms = advance_ms
        self.grace_ms = grace_ms

    @staticmethod
    def of_size_with_no_grace(size: Duration) -> "TimeWindows":
        s = _ms(size, "size")
        return TimeWindows(s, s, 0)

    @staticmethod
    def of_size_and_grace(size: Duration, grace: Duration) -> "TimeWindows":
        s = _ms(size, "size")
        return TimeWindows(s, s, _ms(grace, "grace"))

    def advance_by(self, advance: Duration) -> "TimeWindows":
        return TimeWindows(self.size_ms, _ms(advance, "advance"), self.grace_ms)

    def __repr__(self):
        return "TimeWindows(size_ms=%d, advance_ms=%d, grace_ms=%d)" % (self.size_ms, self.advance_ms, self.grace_ms)


class TimestampExtractor:
    """Kafka Streams' ``TimestampExtractor``: subclass it and define ``extract(record,
    partition_time)`` returning the record's event time in milliseconds (``record`` is a
    :class:`SourceRecord`: ``key``, ``value`` deserialized, ``timestamp`` as written;
    ``partition_time`` the largest time extracted from the partition so far, -1 while none). A
    negative time drops the record (``metrics()["timestamp_dropped"]``); an exception stops the
    application through the uncaught exception handler, naming the record. A plain function
    ``f(record, partition_time)`` does the same. The built-in extractors below run in the core."""

    _builtin: Optional[str] = None

    def extract(self, record: SourceRecord, partition_time: int) -> int:
        raise NotImplementedError("a TimestampExtractor subclass defines extract(record, partition_time)")


class FailOnInvalidTimestamp(TimestampExtractor):
    """The record's timestamp; a negative one stops the application (the default)."""

    _builtin = "FailOnInvalidTimestamp"


class LogAndSkipOnInvalidTimestamp(TimestampExtractor):
    """The record's timestamp; a record with a negative one is skipped with a warning."""

    _builtin = "LogAndSkipOnInvalidTimestamp"


class UsePartitionTimeOnInvalidTimestamp(TimestampExtractor):
    """The record's timestamp; a negative one is replaced by the partition time (and stops the
    application while that is not known)."""

    _builtin = "UsePartitionTimeOnInvalidTimestamp"


class WallclockTimestampExtractor(TimestampExtractor):
    """The wall-clock time when the record is read."""

    _builtin = "WallclockTimestampExtractor"


class SessionWindows:
    """Session windows: a key's records less than the inactivity gap apart form one session
    ``[first, last]`` (a record bridging two sessions merges them); late records are dropped once
    stream time passes a session's end plus gap plus grace. Checked by the core."""

    def __init__(self, gap_ms: int, grace_ms: int):
        error = _native.session_windows_error(int(gap_ms), int(grace_ms))
        if error is not None:
            raise ValueError(error)
        self.gap_ms = int(gap_ms)
        self.grace_ms = int(grace_ms)

    @staticmethod
    def of_inactivity_gap_with_no_grace(inactivity_gap: Duration) -> "SessionWindows":
        return SessionWindows(_ms(inactivity_gap, "inactivity gap"), 0)

    @staticmethod
    def of_inactivity_gap_and_grace(inactivity_gap: Duration, grace: Duration) -> "SessionWindows":
        return SessionWindows(_ms(inactivity_gap, "inactivity gap"), _ms(grace, "grace"))

    def __repr__(self):
        return "SessionWindows(gap_ms=%d, grace_ms=%d)" % (self.gap_ms, self.grace_ms)


class JoinWindows:
    """The windows of a stream-stream join: a record at ``t`` joins the other stream's records
    of its key from ``t - before`` to ``t + after`` (both included); ``grace`` more of stream time
    is left for late records. Left/outer results without a partner come once the window closed."""

    def __init__(self, before_ms: int, after_ms: int, grace_ms: int):
        if grace_ms < 0:
            raise ValueError("grace period must not be negative, got %d ms" % grace_ms)
        if before_ms + after_ms < 0:
            raise ValueError("join window interval (before + after) must not be negative, got %d + %d ms" % (before_ms, after_ms))
        self.before_ms = before_ms
        self.after_ms = after_ms
        self.grace_ms = grace_ms

    @staticmethod
    def of_time_difference_and_grace(time_difference: Duration, grace: Duration) -> "JoinWindows":
        d = _ms(time_difference, "time_difference")
        if d < 0:
            raise ValueError("join time difference must not be negative, got %d ms" % d)
        return JoinWindows(d, d, _ms(grace, "grace"))

    @staticmethod
    def of_time_difference_with_no_grace(time_difference: Duration) -> "JoinWindows":
        return JoinWindows.of_time_difference_and_grace(time_difference, 0)

    def before(self, time_difference: Duration) -> "JoinWindows":
        return JoinWindows(_ms(time_difference, "before"), self.after_ms, self.grace_ms)

    def after(self, time_difference: Duration) -> "JoinWindows":
        return JoinWindows(self.before_ms, _ms(time_difference, "after"), self.grace_ms)

    def size_ms(self) -> int:
        return self.before_ms + self.after_ms

    def __repr__(self):
        return "JoinWindows(before_ms=%d, after_ms=%d, grace_ms=%d)" % (self.before_ms, self.after_ms, self.grace_ms)


def _positive(n, what):
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise ValueError("%s must be a positive int, got %r" % (what, n))
    return n


class BufferConfig:
    """How much a suppression may buffer (Kafka Streams' ``Suppressed.BufferConfig``):
    :meth:`unbounded`, or :meth:`max_records` / :meth:`max_bytes` followed by
    :meth:`shut_down_when_full` (a strict bound: the application stops with an error when it is
    reached)."""

    def __init__(self, max_records: Optional[int], max_bytes: Optional[int]):
        self.max_records = max_records
        self.max_bytes = max_bytes

    @staticmethod
    def unbounded() -> "StrictBufferConfig":
        return StrictBufferConfig(None, None)

    @staticmethod
    def max_records(records: int) -> "EagerBufferConfig":
        return EagerBufferConfig(_positive(records, "max_records"), None)

    @staticmethod
    def max_bytes(byte_count: int) -> "EagerBufferConfig":
        return EagerBufferConfig(None, _positive(byte_count, "max_bytes"))

    def with_max_records(self, records: int) -> "BufferConfig":
        return type(self)(_positive(records, "max_records"), self.max_bytes)

    def with_max_bytes(self, byte_count: int) -> "BufferConfig":
        return type(self)(self.max_records, _positive(byte_count, "max_bytes"))

    def with_no_bound(self) -> "StrictBufferConfig":
        return StrictBufferConfig(None, None)

    def shut_down_when_full(self) -> "StrictBufferConfig":
        return StrictBufferConfig(self.max_records, self.max_bytes)

    def emit_early_when_full(self) -> "EagerBufferConfig":
        return EagerBufferConfig(self.max_records, self.max_bytes)

    def __repr__(self):
        return "%s(max_records=%r, max_bytes=%r)" % (type(self).__name__, self.max_records, self.max_bytes)


class StrictBufferConfig(BufferConfig):
    """A bound that stops the application when reached (or no bound)."""


class EagerBufferConfig(BufferConfig):
    """A bound at which results would be emitted early: not allowed for final results
    (:meth:`Suppressed.until_window_closes`), as in Kafka Streams."""


class Suppressed:
    """``KTable.suppress(Suppressed.until_window_closes(Suppressed.BufferConfig.unbounded()))``:
    one final result per window of a windowed table, once stream time passes the window's end
    plus its grace."""

    BufferConfig = BufferConfig

    def __init__(self, buffer_config: StrictBufferConfig, name: Optional[str] = None):
        self.buffer_config = buffer_config
        self.name = name

    @staticmethod
    def until_window_closes(buffer_config: StrictBufferConfig) -> "Suppressed":
        if not isinstance(buffer_config, StrictBufferConfig):
            raise TypeError(
                "until_window_closes() takes a strict buffer config: BufferConfig.unbounded(), or a bound with "
                ".shut_down_when_full() (emitting early would not give final results)"
            )
        return Suppressed(buffer_config)

    def with_name(self, name: str) -> "Suppressed":
        """The buffer store is then ``<name>-store`` (changelog ``<application.id>-<name>-store-changelog``)."""
        if not isinstance(name, str) or not name:
            raise TypeError("the name of a suppression is a non-empty str")
        return Suppressed(self.buffer_config, name)


class _Store:
    __slots__ = ("name", "key_serde", "value_serde", "windows")

    def __init__(self, name, key_serde, value_serde, windows):
        self.name = name
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.windows = windows


class StreamsBuilder:
    """Builds a topology; :meth:`build` gives it to :class:`KafkaStreams`."""

    def __init__(self):
        self._native = _native.TopologyBuilderNative()
        self._runner = Runner()
        self._stores: Dict[str, _Store] = {}
        self._built = False

    def _user(self, parent: int, kind: int, fn, key_in, value_in, key_out, value_out, ports: int = 0) -> int:
        if fn is not None and not callable(fn):
            raise TypeError("expected a function, got %s" % type(fn).__name__)
        if ports:
            node = self._native.split(parent, ports)
        elif kind == SERDE:
            node = self._native.serde(parent)  # no node of Kafka Streams' (takes no name index)
        else:
            node = self._native.user(parent)
        self._runner.add(node, Op(kind, fn, key_in, value_in, key_out, value_out))
        if kind in (MAP, FLAT_MAP, SELECT_KEY):
            self._native.mark_key_changing(node)  # an aggregation after it repartitions (the core decides)
        return node

    def stream(
        self,
        topics: Union[str, Iterable[str]],
        key_serde: Optional[Serde] = None,
        value_serde: Optional[Serde] = None,
        timestamp_extractor: Union[TimestampExtractor, Callable[[SourceRecord, int], int], None] = None,
    ) -> "KStream":
        """A stream of the records of ``topics`` (default serdes: bytes). ``timestamp_extractor``
        (Kafka Streams' ``Consumed.withTimestampExtractor``) gives each record its event time; by
        default the record's timestamp (``default.timestamp.extractor``)."""
        names = [topics] if isinstance(topics, str) else list(topics)
        key_serde, value_serde = _check_serde(key_serde, "key_serde") or Serdes.Bytes(), _check_serde(value_serde, "value_serde") or Serdes.Bytes()
        _check_extractor(timestamp_extractor)
        node = self._native.source(names)
        self._extractor(node, key_serde, value_serde, timestamp_extractor)
        return KStream(self, node, key_serde, value_serde)

    def table(
        self,
        topic: str,
        key_serde: Optional[Serde] = None,
        value_serde: Optional[Serde] = None,
        materialized: Optional[str] = None,
        timestamp_extractor: Union[TimestampExtractor, Callable[[SourceRecord, int], int], None] = None,
    ) -> "KTable":
        """The table of ``topic``: its latest value per key (a record with a null value deletes
        its key), in the store ``materialized`` (default Kafka Streams' ``<topic>-STATE-STORE-<n>``)
        with its own changelog topic; queryable, joinable, and ``filter``/``map_values`` derive
        from it. Records with a null key are skipped."""
        if not isinstance(topic, str):
            raise TypeError("table() reads one topic (a str), got %s" % type(topic).__name__)
        key_serde, value_serde = _check_serde(key_serde, "key_serde") or Serdes.Bytes(), _check_serde(value_serde, "value_serde") or Serdes.Bytes()
        _check_extractor(timestamp_extractor)
        source, node, store = self._native.table(topic, materialized)
        self._extractor(source, key_serde, value_serde, timestamp_extractor)
        self._stores[store] = _Store(store, key_serde, value_serde, None)
        return KTable(self, node, key_serde, value_serde, store, None)

    def _extractor(self, source: int, key_serde: Serde, value_serde: Serde, extractor) -> None:
        if isinstance(extractor, TimestampExtractor):
            self._native.timestamp_extractor(source, extractor._builtin or "user")
            if extractor._builtin is None:
                self._runner.extractors[source] = (key_serde.deserialize, value_serde.deserialize, extractor.extract)
        elif extractor is not None:
            self._native.timestamp_extractor(source, "user")
            self._runner.extractors[source] = (key_serde.deserialize, value_serde.deserialize, extractor)

    def build(self) -> "Topology":
        if self._built:
            raise RuntimeError("this StreamsBuilder was already built")
        self._built = True
        return Topology(self)


class Topology:
    """A built topology, for one :class:`KafkaStreams`."""

    def __init__(self, builder: StreamsBuilder):
        self._builder = builder
        self._used = False


def _check_extractor(x) -> None:
    if x is not None and not callable(x) and not isinstance(x, TimestampExtractor):
        raise TypeError("timestamp_extractor must be a TimestampExtractor or a function (record, partition_time) -> int, got %s" % type(x).__name__)


def _check_serde(s: Optional[Serde], what: str) -> Optional[Serde]:
    if s is not None and not isinstance(s, Serde):
        raise TypeError("%s must be a Serde (Serdes.String(), ...), got %s" % (what, type(s).__name__))
    return s


class KStream:
    """A record stream."""

    def __init__(self, builder: StreamsBuilder, node: int, key_serde: Serde, value_serde: Serde):
        self._b = builder
        self._node = node
        self.key_serde = key_serde
        self.value_serde = value_serde

    def _op(self, kind, fn, key_serde=None, value_serde=None) -> "KStream":
        ks = key_serde or self.key_serde
        vs = value_serde or self.value_serde
        node = self._b._user(self._node, kind, fn, self.key_serde, self.value_serde, ks, vs)
        return KStream(self._b, node, ks, vs)

    def filter(self, predicate: Callable[[Any, Any], bool]) -> "KStream":
        return self._op(FILTER, predicate)

    def filter_not(self, predicate: Callable[[Any, Any], bool]) -> "KStream":
        return self._op(FILTER_NOT, predicate)

    def map(self, mapper: Callable[[Any, Any], Tuple[Any, Any]]) -> "KStream":
        """``mapper(key, value) -> (key, value)``."""
        return self._op(MAP, mapper)

    def map_values(self, mapper: Callable[[Any], Any]) -> "KStream":
        return self._op(MAP_VALUES, mapper)

    def flat_map(self, mapper: Callable[[Any, Any], Iterable[Tuple[Any, Any]]]) -> "KStream":
        return self._op(FLAT_MAP, mapper)

    def flat_map_values(self, mapper: Callable[[Any], Iterable[Any]]) -> "KStream":
        return self._op(FLAT_MAP_VALUES, mapper)

    def select_key(self, mapper: Callable[[Any, Any], Any]) -> "KStream":
        return self._op(SELECT_KEY, mapper)

    def peek(self, action: Callable[[Any, Any], None]) -> "KStream":
        return self._op(PEEK, action)

    def foreach(self, action: Callable[[Any, Any], None]) -> None:
        self._op(FOREACH, action)

    def merge(self, other: "KStream") -> "KStream":
        if not isinstance(other, KStream) or other._b is not self._b:
            raise TypeError("merge() takes a KStream of the same StreamsBuilder")
        node = self._b._native.merge(self._node, other._node)
        return KStream(self._b, node, self.key_serde, self.value_serde)

    def split(self, prefix: str = "") -> "BranchedKStream":
        return BranchedKStream(self, prefix)

    def _with_serdes(self, key_serde: Optional[Serde], value_serde: Optional[Serde]) -> "KStream":
        """This stream re-encoded with other serdes (a no-op when they are the same)."""
        ks = _check_serde(key_serde, "key_serde") or self.key_serde
        vs = _check_serde(value_serde, "value_serde") or self.value_serde
        if ks == self.key_serde and vs == self.value_serde:
            return self
        return self._op(SERDE, None, ks, vs)

    def to(self, topic: Union[str, Callable[[Any, Any], str]], key_serde: Optional[Serde] = None, value_serde: Optional[Serde] = None) -> None:
        """Writes the records to ``topic`` (with the given serdes, default the stream's), or to
        the topic ``topic(key, value)`` returns for each record (Kafka Streams'
        ``TopicNameExtractor``; the topics must exist, a ``None`` or empty name stops the
        application as a failing function does)."""
        s = self._with_serdes(key_serde, value_serde)
        if callable(topic):
            node = self._b._native.sink_per_record(s._node)
            self._b._runner.add(node, Op(TOPIC, topic, s.key_serde, s.value_serde, s.key_serde, s.value_serde))
            return
        if not isinstance(topic, str):
            raise TypeError("to() takes a topic name or a function of (key, value) returning one, got %s" % type(topic).__name__)
        self._b._native.sink(s._node, topic)

    def repartition(self, name: Optional[str] = None, key_serde: Optional[Serde] = None, value_serde: Optional[Serde] = None) -> "KStream":
        """The records through the topic ``<application.id>-<name>-repartition`` (default name
        Kafka Streams' ``KSTREAM-REPARTITION-<n>``), partitioned by their key: after a key change,
        before a join. The topic has the partition count of the upstream sources."""
        s = self._with_serdes(key_serde, value_serde)
        node = self._b._native.repartition_stream(s._node, name)
        return KStream(self._b, node, s.key_serde, s.value_serde)

    def group_by_key(self, key_serde: Optional[Serde] = None, value_serde: Optional[Serde] = None) -> "KGroupedStream":
        return KGroupedStream(self._with_serdes(key_serde, value_serde), None)

    def group_by(self, selector: Callable[[Any, Any], Any], key_serde: Optional[Serde] = None, value_serde: Optional[Serde] = None, name: Optional[str] = None) -> "KGroupedStream":
        """Groups by a new key: the records go through the repartition topic
        ``<application.id>-<name>-repartition`` (name: ``name``, else the store's)."""
        if not callable(selector):
            raise TypeError("group_by() takes a function (key, value) -> new key")
        ks = _check_serde(key_serde, "key_serde") or self.key_serde
        vs = _check_serde(value_serde, "value_serde") or self.value_serde
        # The key selection is made now, as Kafka Streams' groupBy does (its name index).
        return KGroupedStream(self._op(SELECT_KEY, selector, ks, vs), name)

    def join(self, other: Union["KTable", "KStream"], joiner: Callable[[Any, Any], Any], windows: Optional[JoinWindows] = None,
             name: Optional[str] = None, value_serde: Optional[Serde] = None) -> "KStream":
        """With a :class:`KTable`: each record joined with the table's value of its key. With a
        :class:`KStream` and ``windows`` (:class:`JoinWindows`): each pair of records of the same
        key within the windows, ``joiner(value, other_value)``, at the later timestamp of the
        two. ``name`` names the join's stores (``<name>-this-join-store``, ...);
        ``value_serde``: of the joined values (default: this stream's)."""
        if isinstance(other, KStream):
            return self._stream_join(other, joiner, windows, "inner", name, value_serde)
        self._table_only(windows, name, value_serde)
        return self._join(other, joiner, False)

    def left_join(self, other: Union["KTable", "KStream"], joiner: Callable[[Any, Any], Any], windows: Optional[JoinWindows] = None,
                  name: Optional[str] = None, value_serde: Optional[Serde] = None) -> "KStream":
        """As :meth:`join`, and a record without a partner is joined with ``None`` (with a stream:
        once its window has closed)."""
        if isinstance(other, KStream):
            return self._stream_join(other, joiner, windows, "left", name, value_serde)
        self._table_only(windows, name, value_serde)
        return self._join(other, joiner, True)

    def outer_join(self, other: "KStream", joiner: Callable[[Any, Any], Any], windows: JoinWindows,
                   name: Optional[str] = None, value_serde: Optional[Serde] = None) -> "KStream":
        """As :meth:`left_join` of two streams, and records of ``other`` without a partner too
        (``joiner(None, other_value)``)."""
        if not isinstance(other, KStream):
            raise TypeError("outer_join() takes a KStream")
        return self._stream_join(other, joiner, windows, "outer", name, value_serde)

    @staticmethod
    def _table_only(windows, name, value_serde):
        if windows is not None or name is not None or value_serde is not None:
            raise TypeError("a stream-table join takes no windows, name or value_serde")

    def _stream_join(self, other, joiner, windows, kind, name, value_serde):
        if other._b is not self._b:
            raise TypeError("join() takes a KStream of the same StreamsBuilder")
        if not isinstance(windows, JoinWindows):
            raise TypeError("a stream-stream join takes JoinWindows (JoinWindows.of_time_difference_and_grace(...)), got %s" % type(windows).__name__)
        if not callable(joiner):
            raise TypeError("the joiner must be a function (value, other_value) -> joined value")
        if name is not None and not isinstance(name, str):
            raise TypeError("the join's name is a str")
        b = self._b
        out = _check_serde(value_serde, "value_serde") or self.value_serde
        this, that, joined = b._native.stream_join(self._node, other._node, windows.before_ms, windows.after_ms, windows.grace_ms, kind, name or None)
        b._runner.add(this, Op(JOIN, joiner, self.key_serde, self.value_serde, self.key_serde, out, other.value_serde))
        # The other side's node gets (its value, this side's value): swapped back for the joiner.
        b._runner.add(that, Op(JOIN, lambda v, o: joiner(o, v), other.key_serde, other.value_serde, self.key_serde, out, self.value_serde))
        return KStream(b, joined, self.key_serde, out)

    def _join(self, table, joiner, left):
        if not isinstance(table, KTable) or table._b is not self._b:
            raise TypeError("join() takes a KTable of the same StreamsBuilder")
        if table._windows is not None:
            raise TypeError("a stream-table join needs a table that is not windowed")
        if not callable(joiner):
            raise TypeError("the joiner must be a function (value, table_value) -> joined value")
        node = self._b._native.join_table(self._node, table._node, left)
        op = Op(JOIN, joiner, self.key_serde, self.value_serde, self.key_serde, self.value_serde, table.value_serde)
        self._b._runner.add(node, op)
        return KStream(self._b, node, self.key_serde, self.value_serde)


class BranchedKStream:
    """``split()``: each record goes to the first branch whose predicate holds."""

    def __init__(self, stream: KStream, prefix: str):
        self._stream = stream
        self._prefix = prefix
        self._branches: List[Tuple[str, Callable]] = []
        self._done = False

    def branch(self, predicate: Callable[[Any, Any], bool], name: Optional[str] = None) -> "BranchedKStream":
        if self._done:
            raise RuntimeError("this split is finished")
        if not callable(predicate):
            raise TypeError("branch() takes a predicate (key, value) -> bool")
        self._branches.append((self._prefix + (name or str(len(self._branches) + 1)), predicate))
        return self

    def default_branch(self, name: Optional[str] = None) -> Dict[str, KStream]:
        return self._finish(self._prefix + (name or "0"))

    def no_default_branch(self) -> Dict[str, KStream]:
        return self._finish(None)

    def _finish(self, default: Optional[str]) -> Dict[str, KStream]:
        if self._done:
            raise RuntimeError("this split is finished")
        self._done = True
        preds = [p for _, p in self._branches]
        n = len(preds)

        def choose(k, v):
            for i, p in enumerate(preds):
                if p(k, v):
                    return i
            return n if default is not None else None

        s = self._stream
        ports = n + (1 if default is not None else 0)
        b = s._b
        split = b._user(s._node, SPLIT, choose, s.key_serde, s.value_serde, s.key_serde, s.value_serde, ports=max(ports, 1))
        names = [name for name, _ in self._branches] + ([default] if default is not None else [])
        out = {}
        for port, name in enumerate(names):
            node = b._native.branch(split, port)
            out[name] = KStream(b, node, s.key_serde, s.value_serde)
        return out


def _store_name(b: StreamsBuilder, materialized: Optional[str], reduce: bool) -> str:
    if materialized is not None and not isinstance(materialized, str):
        raise TypeError("materialized is the store's name (a str)")
    return b._native.aggregate_store_name(materialized, reduce)


class KGroupedStream:
    """A grouped stream, to aggregate."""

    def __init__(self, stream: KStream, name: Optional[str]):
        self._stream = stream
        self._name = name  # of the repartition topic, when there is one

    @typing.overload
    def windowed_by(self, windows: TimeWindows) -> "TimeWindowedKStream": ...
    @typing.overload
    def windowed_by(self, windows: SessionWindows) -> "SessionWindowedKStream": ...
    def windowed_by(self, windows):
        if isinstance(windows, SessionWindows):
            return SessionWindowedKStream(self, windows)
        if not isinstance(windows, TimeWindows):
            raise TypeError("windowed_by() takes TimeWindows or SessionWindows")
        return TimeWindowedKStream(self, windows)

    def _grouped(self, store: str) -> KStream:
        """The stream to aggregate: through a repartition topic when the keys changed upstream
        (group_by, or group_by_key after map/select_key/flat_map; the core decides)."""
        s = self._stream
        node = s._b._native.grouped(s._node, self._name or store)
        return s if node == s._node else KStream(s._b, node, s.key_serde, s.value_serde)

    def _aggregate(self, kind, fn, materialized, value_serde, windows) -> "KTable":
        b = self._stream._b
        store = _store_name(b, materialized, kind == REDUCE)
        g = self._grouped(store)
        w = None if windows is None else (windows.size_ms, windows.advance_ms, windows.grace_ms)
        native_kind = "count" if kind is None else "combine"
        node = b._native.aggregate(g._node, store, native_kind, w)
        if kind is not None:
            b._runner.add(node, Op(kind, fn, g.key_serde, g.value_serde, g.key_serde, value_serde, value_serde))
        key_serde = g.key_serde if windows is None else TimeWindowedSerde(g.key_serde, windows.size_ms)
        b._stores[store] = _Store(store, g.key_serde, value_serde, windows)
        return KTable(b, node, key_serde, value_serde, store, windows)

    def count(self, materialized: Optional[str] = None) -> "KTable":
        """Counts per key into the store ``materialized`` (values: Long)."""
        return self._aggregate(None, None, materialized, Serdes.Long(), self._windows())

    def reduce(self, reducer: Callable[[Any, Any], Any], materialized: Optional[str] = None) -> "KTable":
        if not callable(reducer):
            raise TypeError("reduce() takes a function (aggregate, value) -> aggregate")
        return self._aggregate(REDUCE, reducer, materialized, self._stream.value_serde, self._windows())

    def aggregate(self, initializer: Callable[[], Any], aggregator: Callable[[Any, Any, Any], Any], materialized: Optional[str] = None, value_serde: Optional[Serde] = None) -> "KTable":
        """``aggregator(key, value, aggregate) -> aggregate``; the store's values use
        ``value_serde`` (default JSON)."""
        if not callable(initializer) or not callable(aggregator):
            raise TypeError("aggregate() takes an initializer () -> aggregate and an aggregator (key, value, aggregate) -> aggregate")
        return self._aggregate(AGGREGATE, (initializer, aggregator), materialized, _check_serde(value_serde, "value_serde") or Serdes.Json(), self._windows())

    def _windows(self):
        return None


class TimeWindowedKStream(KGroupedStream):
    """A grouped stream aggregated per time window; keys of the result are :class:`Windowed`."""

    def __init__(self, grouped: KGroupedStream, windows: TimeWindows):
        super().__init__(grouped._stream, grouped._name)
        self._time_windows = windows

    def windowed_by(self, windows):
        raise TypeError("this stream is already windowed")

    def _windows(self):
        return self._time_windows


class SessionWindowedKStream:
    """A grouped stream aggregated per session (:class:`SessionWindows`); keys of the result are
    :class:`Windowed` with the session's ``start`` and ``end`` (both inclusive), in Kafka
    Streams' session-windowed format (:class:`SessionWindowedSerde`)."""

    def __init__(self, grouped: KGroupedStream, windows: SessionWindows):
        self._grouped = grouped
        self._session_windows = windows

    def _aggregate(self, kind, fn, materialized, value_serde) -> "KTable":
        g0 = self._grouped
        b = g0._stream._b
        store = _store_name(b, materialized, kind == REDUCE)
        g = g0._grouped(store)
        w = self._session_windows
        node = b._native.session_aggregate(g._node, store, "count" if kind is None else "combine", w.gap_ms, w.grace_ms)
        if kind is not None:
            b._runner.add(node, Op(kind, fn, g.key_serde, g.value_serde, g.key_serde, value_serde, value_serde))
        b._stores[store] = _Store(store, g.key_serde, value_serde, w)
        return KTable(b, node, SessionWindowedSerde(g.key_serde), value_serde, store, w)

    def count(self, materialized: Optional[str] = None) -> "KTable":
        """Counts per session into the session store ``materialized`` (values: Long)."""
        return self._aggregate(None, None, materialized, Serdes.Long())

    def reduce(self, reducer: Callable[[Any, Any], Any], materialized: Optional[str] = None) -> "KTable":
        """``reducer(aggregate, value)``; two sessions merge with ``reducer(aggregate, other)``."""
        if not callable(reducer):
            raise TypeError("reduce() takes a function (aggregate, value) -> aggregate")
        return self._aggregate(REDUCE, reducer, materialized, self._grouped._stream.value_serde)

    def aggregate(
        self,
        initializer: Callable[[], Any],
        aggregator: Callable[[Any, Any, Any], Any],
        merger: Callable[[Any, Any, Any], Any],
        materialized: Optional[str] = None,
        value_serde: Optional[Serde] = None,
    ) -> "KTable":
        """``aggregator(key, value, aggregate) -> aggregate``; ``merger(key, aggregate1,
        aggregate2) -> aggregate`` combines two sessions a record bridges (Kafka Streams'
        ``Merger``); values use ``value_serde`` (default JSON)."""
        if not callable(initializer) or not callable(aggregator):
            raise TypeError("aggregate() takes an initializer () -> aggregate and an aggregator (key, value, aggregate) -> aggregate")
        if not callable(merger):
            raise TypeError("aggregate() over session windows takes a merger (key, aggregate1, aggregate2) -> aggregate")
        serde = _check_serde(value_serde, "value_serde") or Serdes.Json()
        return self._aggregate(SESSION_AGGREGATE, (initializer, aggregator, merger), materialized, serde)


class KTable:
    """A changelog stream: the latest value per key, kept in a store."""

    def __init__(self, builder, node, key_serde, value_serde, store, windows):
        self._b = builder
        self._node = node
        self.key_serde = key_serde
        self.value_serde = value_serde
        self.store_name = store
        self._windows = windows

    def to_stream(self) -> KStream:
        node = self._b._native.to_stream(self._node)
        return KStream(self._b, node, self.key_serde, self.value_serde)

    def _table_op(self, kind, fn, value_serde=None) -> "KTable":
        if not callable(fn):
            raise TypeError("expected a function, got %s" % type(fn).__name__)
        vs = _check_serde(value_serde, "value_serde") or self.value_serde
        node = self._b._native.table_user(self._node, kind != MAP_VALUES)
        self._b._runner.add(node, Op(kind, fn, self.key_serde, self.value_serde, self.key_serde, vs))
        return KTable(self._b, node, self.key_serde, vs, None, self._windows)

    def filter(self, predicate: Callable[[Any, Any], bool]) -> "KTable":
        """The table of the keys whose value passes ``predicate(key, value)``: an update it
        refuses removes the key (a tombstone downstream), as Kafka Streams' ``KTable.filter``.
        Not materialized: it has no store and cannot be joined (join the table it comes from)."""
        return self._table_op(FILTER, predicate)

    def filter_not(self, predicate: Callable[[Any, Any], bool]) -> "KTable":
        return self._table_op(FILTER_NOT, predicate)

    def map_values(self, mapper: Callable[[Any], Any], value_serde: Optional[Serde] = None) -> "KTable":
        """``mapper(value)`` over every update (a removal stays a removal, the mapper is not
        called for it); ``value_serde`` for the new values (default: this table's)."""
        return self._table_op(MAP_VALUES, mapper, value_serde)

    def suppress(self, suppressed: Suppressed) -> "KTable":
        """Only the final result of each window (``Suppressed.until_window_closes``): a window's
        latest value once stream time passes its end plus grace, never one of an open window. The
        buffer is a store with a changelog (``<name>-store``, default
        ``KTABLE-SUPPRESS-STATE-STORE-<n>``), so a restart neither loses nor repeats results."""
        if not isinstance(suppressed, Suppressed):
            raise TypeError("suppress() takes Suppressed.until_window_closes(...)")
        if self._windows is None:
            raise TypeError("until_window_closes() suppresses a windowed table (windowed_by(...) before the aggregation)")
        b = self._b
        cfg = suppressed.buffer_config
        node, _store = b._native.suppress(self._node, suppressed.name or None, cfg.max_records, cfg.max_bytes)
        return KTable(b, node, self.key_serde, self.value_serde, None, self._windows)


class State(enum.Enum):
    CREATED = "CREATED"
    REBALANCING = "REBALANCING"
    RUNNING = "RUNNING"
    PENDING_SHUTDOWN = "PENDING_SHUTDOWN"
    NOT_RUNNING = "NOT_RUNNING"
    PENDING_ERROR = "PENDING_ERROR"
    ERROR = "ERROR"

    def is_running_or_rebalancing(self) -> bool:
        return self in (State.RUNNING, State.REBALANCING)


class StreamThreadExceptionResponse(enum.Enum):
    """What the uncaught exception handler may answer. Only ``SHUTDOWN_CLIENT`` is implemented:
    the instance stops (state ERROR)."""

    SHUTDOWN_CLIENT = "SHUTDOWN_CLIENT"


class StreamsException(Exception):
    """What stopped processing: ``kind`` is ``"user"`` (a user function raised; its exception is
    ``__cause__``), ``"deserialization"`` (a record that cannot be deserialized, with
    ``log_and_fail``) or ``"kafka"``; ``topic``, ``partition``, ``offset`` name the source
    record (``None``/-1 for ``"kafka"``)."""

    def __init__(self, message: str, kind: str, topic: Optional[str], partition: int, offset: int):
        super().__init__(message)
        self.kind = kind
        self.topic = topic
        self.partition = partition
        self.offset = offset


def _config_items(config: Mapping[str, Any]) -> List[Tuple[str, str]]:
    if not isinstance(config, Mapping):
        raise TypeError("the configuration is a dict of Kafka Streams properties")
    out = []
    for k, v in config.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, timedelta):
            v = str(int(v.total_seconds() * 1000))
        out.append((str(k), str(v)))
    return out


class KafkaStreams:
    """A running instance of a topology. More instances with the same ``application.id`` share
    the work."""

    def __init__(self, topology: Topology, config: Mapping[str, Any]):
        if not isinstance(topology, Topology):
            raise TypeError("KafkaStreams takes the Topology of StreamsBuilder.build()")
        if topology._used:
            raise RuntimeError("this Topology is already used by a KafkaStreams")
        b = topology._builder
        self._runner = b._runner
        self._stores = dict(b._stores)
        self._native = _native.KafkaStreamsNative(b._native, self._runner, _config_items(config))
        topology._used = True
        self._handler = None
        self._exception: Optional[StreamsException] = None

    def describe(self) -> str:
        return self._native.describe()

    def start(self) -> None:
        self._native.start()

    def close(self, timeout: Union[timedelta, float, None] = None) -> bool:
        """Stops, committing what was processed; True when done within ``timeout`` (a
        ``timedelta`` or seconds, as confluent-kafka's timeouts; None: no limit)."""
        if isinstance(timeout, timedelta):
            timeout = timeout.total_seconds()
        t = None if timeout is None else float(timeout)
        return self._native.close(t)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def state(self) -> State:
        return State(self._native.state())

    def set_state_listener(self, listener: Callable[[State, State], None]) -> None:
        """``listener(new_state, old_state)``, called on the stream thread."""
        if not callable(listener):
            raise TypeError("the state listener is a function (new_state, old_state)")
        self._native.set_state_listener(lambda new, old: listener(State(new), State(old)))

    def set_uncaught_exception_handler(self, handler: Callable[[StreamsException], Optional[StreamThreadExceptionResponse]]) -> None:
        """``handler(exception)``, called on the stream thread when processing stops on an error;
        the instance then shuts down (state ERROR)."""
        if not callable(handler):
            raise TypeError("the handler is a function (exception) -> StreamThreadExceptionResponse")
        self._handler = handler
        self._native.set_uncaught_exception_handler(self._on_failure)

    def _on_failure(self, failure: dict) -> None:
        e = self._make_exception(failure)
        answer = self._handler(e)
        if answer not in (None, StreamThreadExceptionResponse.SHUTDOWN_CLIENT):
            log.error("uncaught exception handler answered %r: only SHUTDOWN_CLIENT is implemented; shutting down the client", answer)

    def _make_exception(self, f: dict) -> StreamsException:
        e = StreamsException(f["message"], f["kind"], f["topic"], f["partition"], f["offset"])
        if f["kind"] != "kafka" and self._runner.last_exception is not None:
            e.__cause__ = self._runner.last_exception
        self._exception = e
        return e

    def exception(self) -> Optional[StreamsException]:
        """What stopped the instance, if something did."""
        f = self._native.failure()
        if f is None:
            return None
        return self._exception or self._make_exception(f)

    def metrics(self) -> Dict[str, Any]:
        """Counters: processed, late_dropped, timestamp_dropped, dropped, deserialization_skipped, dead_lettered,
        restored, restore_seconds, commits."""
        return self._native.metrics()

    def store(self, name: str) -> Union["ReadOnlyKeyValueStore", "ReadOnlyWindowStore", "ReadOnlySessionStore"]:
        """Interactive queries on the store ``name`` over this instance's tasks."""
        s = self._stores.get(name)
        if s is None:
            raise KeyError("the topology has no store named %r" % name)
        if isinstance(s.windows, SessionWindows):
            return ReadOnlySessionStore(self._native, s)
        if s.windows is not None:
            return ReadOnlyWindowStore(self._native, s)
        return ReadOnlyKeyValueStore(self._native, s)


class ReadOnlyKeyValueStore:
    def __init__(self, native, store: _Store):
        self._n = native
        self._s = store

    def get(self, key: Any) -> Any:
        raw = self._n.store_get(self._s.name, self._s.key_serde.serialize(key))
        return None if raw is None else self._s.value_serde.deserialize(raw)

    def range(self, start: Any = None, end: Any = None) -> Iterator[Tuple[Any, Any]]:
        """Keys from ``start`` to ``end`` (both included) in the order of their bytes."""
        ks, vs = self._s.key_serde, self._s.value_serde
        lo = None if start is None else ks.serialize(start)
        hi = None if end is None else ks.serialize(end)
        return iter([(ks.deserialize(k), vs.deserialize(v)) for k, v in self._n.store_range(self._s.name, lo, hi)])

    def all(self) -> Iterator[Tuple[Any, Any]]:
        return self.range()


def _epoch_ms(t: Union[datetime, int]) -> int:
    if isinstance(t, datetime):
        return int(t.timestamp() * 1000)
    return int(t)


class ReadOnlyWindowStore:
    def __init__(self, native, store: _Store):
        self._n = native
        self._s = store

    def fetch(self, key: Any, time_from: Union[datetime, int], time_to: Union[datetime, int]) -> Iterator[Tuple[int, Any]]:
        """``(window start ms, value)`` of ``key``'s windows starting in ``[time_from, time_to]``."""
        raw = self._n.store_fetch(self._s.name, self._s.key_serde.serialize(key), _epoch_ms(time_from), _epoch_ms(time_to))
        return iter([(start, self._s.value_serde.deserialize(v)) for start, v in raw])

    def all(self) -> Iterator[Tuple[Windowed, Any]]:
        ws = TimeWindowedSerde(self._s.key_serde, self._s.windows.size_ms)
        return iter([(ws.deserialize(k), self._s.value_serde.deserialize(v)) for k, v in self._n.store_all(self._s.name)])


class ReadOnlySessionStore:
    """The sessions of a session-windowed aggregation's store."""

    def __init__(self, native, store: _Store):
        self._n = native
        self._s = store

    def find_sessions(self, key: Any, earliest_session_end: Union[datetime, int], latest_session_start: Union[datetime, int]) -> Iterator[Tuple[Windowed, Any]]:
        """``key``'s sessions ending at ``earliest_session_end`` or later and starting at
        ``latest_session_start`` or earlier, by end (Kafka Streams' ``findSessions``)."""
        raw = self._n.store_find_sessions(self._s.name, self._s.key_serde.serialize(key), _epoch_ms(earliest_session_end), _epoch_ms(latest_session_start))
        return iter([(Windowed(key, start, end), self._s.value_serde.deserialize(v)) for start, end, v in raw])

    def fetch(self, key: Any) -> Iterator[Tuple[Windowed, Any]]:
        """Every session of ``key``, by end."""
        return self.find_sessions(key, 0, 2**63 - 1)

    def all(self) -> Iterator[Tuple[Windowed, Any]]:
        ws = SessionWindowedSerde(self._s.key_serde)
        return iter([(ws.deserialize(k), self._s.value_serde.deserialize(v)) for k, v in self._n.store_all(self._s.name)])
