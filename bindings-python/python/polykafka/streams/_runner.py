"""Runs the user functions of a topology for the core, a whole batch per call.

The core calls ``run_chain(chain, records)`` for a fused chain of user nodes and
``combine(node, records, operands)`` for aggregators, reducers and joiners; both hold the GIL for
the whole batch. Records are ``(key bytes|None, value bytes|None, timestamp)``.
"""

from __future__ import annotations

import traceback

# Operations of user nodes.
FILTER = 1
FILTER_NOT = 2
MAP = 3
MAP_VALUES = 4
FLAT_MAP = 5
FLAT_MAP_VALUES = 6
SELECT_KEY = 7
PEEK = 8
FOREACH = 9
SPLIT = 10
SERDE = 11  # no function: the serdes change (re-encoding for a sink or a repartition)

# Combining nodes.
REDUCE = 20
AGGREGATE = 21
JOIN = 22
TOPIC = 23  # to() with a TopicNameExtractor: fn(key, value) -> the record's topic name
SESSION_AGGREGATE = 24  # fn: (initializer, aggregator, merger)


class Op:
    __slots__ = ("kind", "fn", "key_in", "value_in", "key_out", "value_out", "extra")

    def __init__(self, kind, fn, key_in, value_in, key_out, value_out, extra=None):
        self.kind = kind
        self.fn = fn
        self.key_in = key_in
        self.value_in = value_in
        self.key_out = key_out
        self.value_out = value_out
        self.extra = extra


def _apply(steps, pos, key, value, out):
    """Runs ``steps[pos:]`` on one (key, value), appending ``(port, key, value)`` to ``out``."""
    n = len(steps)
    while pos < n:
        kind, fn = steps[pos]
        pos += 1
        if kind == MAP_VALUES:
            value = fn(value)
        elif kind == FILTER:
            if not fn(key, value):
                return
        elif kind == FILTER_NOT:
            if fn(key, value):
                return
        elif kind == MAP:
            key, value = fn(key, value)
        elif kind == SELECT_KEY:
            key = fn(key, value)
        elif kind == PEEK:
            fn(key, value)
        elif kind == FOREACH:
            fn(key, value)
            return
        elif kind == FLAT_MAP:
            for k2, v2 in fn(key, value):
                _apply(steps, pos, k2, v2, out)
            return
        elif kind == FLAT_MAP_VALUES:
            for v2 in fn(value):
                _apply(steps, pos, key, v2, out)
            return
        elif kind == SPLIT:
            port = fn(key, value)
            if port is not None:
                out.append((port, key, value))
            return
        # SERDE: nothing to do on the objects.
    out.append((0, key, value))


class SourceRecord:
    """What a timestamp extractor is given: the record's deserialized key and value, and the
    timestamp it was written with (milliseconds; -1 when it has none)."""

    __slots__ = ("key", "value", "timestamp")

    def __init__(self, key, value, timestamp):
        self.key = key
        self.value = value
        self.timestamp = timestamp

    def __repr__(self):
        return "SourceRecord(key=%r, value=%r, timestamp=%d)" % (self.key, self.value, self.timestamp)


class Runner:
    def __init__(self):
        self.ops = {}
        # source node -> (key deserializer, value deserializer, extract(record, partition_time))
        self.extractors = {}
        self._chains = {}
        # The exception of the last failed user function (for the uncaught exception handler).
        self.last_exception = None

    def add(self, node, op):
        self.ops[node] = op

    def _compile(self, chain):
        c = self._chains.get(chain)
        if c is None:
            ops = [self.ops[n] for n in chain]
            steps = [(o.kind, o.fn) for o in ops]
            first, last = ops[0], ops[-1]
            c = (steps, first.key_in.deserialize, first.value_in.deserialize, last.key_out.serialize, last.value_out.serialize)
            self._chains[chain] = c
        return c

    def _fail(self, i, kind, e):
        self.last_exception = e
        return (i, kind, "%s: %s" % (type(e).__name__, e))

    def run_chain(self, chain, records):
        steps, kd, vd, ks, vs = self._compile(tuple(chain))
        out = []
        append = out.append
        produced = []
        # The common case, a chain of one-to-one steps, without the general loop.
        simple = all(k in (MAP_VALUES, FILTER) for k, _ in steps)
        for i, (k, v, ts) in enumerate(records):
            try:
                key = kd(k)
                value = vd(v)
            except Exception as e:  # noqa: BLE001 - any serde failure goes to the handler
                return out, self._fail(i, "deserialization", e)
            try:
                if simple:
                    keep = True
                    for kind, fn in steps:
                        if kind == MAP_VALUES:
                            value = fn(value)
                        elif not fn(key, value):
                            keep = False
                            break
                    if keep:
                        append((i, 0, ks(key), vs(value), ts))
                    continue
                produced.clear()
                _apply(steps, 0, key, value, produced)
                for port, key2, value2 in produced:
                    append((i, port, ks(key2), vs(value2), ts))
            except Exception as e:  # noqa: BLE001 - reported with the record's position
                return out, self._fail(i, "user", e)
        return out, None

    def combine(self, node, records, operands):
        op = self.ops[node]
        kd, vd = op.key_in.deserialize, op.value_in.deserialize
        od = op.extra.deserialize if op.extra is not None else None
        vs = op.value_out.serialize
        fn = op.fn
        kind = op.kind
        out = []
        for i, ((k, v, _ts), o) in enumerate(zip(records, operands)):
            try:
                key = kd(k)
                value = vd(v)
                other = od(o) if o is not None else None
            except Exception as e:  # noqa: BLE001
                return out, self._fail(i, "deserialization", e)
            try:
                if kind == TOPIC:
                    topic = fn(key, value)
                    if topic is not None and not isinstance(topic, str):
                        raise TypeError("the topic name extractor of to() must return a str, got %s" % type(topic).__name__)
                    out.append(topic.encode() if topic else None)
                    continue
                if kind == REDUCE:
                    result = value if other is None else fn(other, value)
                elif kind == AGGREGATE or kind == SESSION_AGGREGATE:
                    init, agg = fn[0], fn[1]
                    result = agg(key, value, init() if other is None else other)
                else:
                    result = fn(value, other)
                out.append(vs(result))
            except Exception as e:  # noqa: BLE001
                return out, self._fail(i, "user", e)
        return out, None


    def extract_timestamps(self, source, records, partition_time):
        """The event time of each record of one partition (``partition_time``: the largest time
        extracted from it so far, -1 while none; it moves with each record's)."""
        kd, vd, fn = self.extractors[source]
        out = []
        for i, (k, v, ts) in enumerate(records):
            try:
                key = kd(k)
                value = vd(v)
            except Exception as e:  # noqa: BLE001
                return out, self._fail(i, "deserialization", e)
            try:
                t = fn(SourceRecord(key, value, ts), partition_time)
                if type(t) is not int:  # noqa: E721 - bool is not a time
                    raise TypeError("a timestamp extractor must return an int (milliseconds), got %s" % type(t).__name__)
                if not -(1 << 63) <= t < (1 << 63):
                    raise OverflowError("the timestamp %d does not fit in 64 bits" % t)
            except Exception as e:  # noqa: BLE001
                return out, self._fail(i, "user", e)
            out.append(t)
            if t > partition_time:
                partition_time = t
        return out, None

    def merge(self, node, records, operands):
        """Session merging: each record's value is a merged session's aggregate, its operand the
        aggregate merged so far (None: the initializer's value first, as Kafka Streams). A
        reduce merges with its reducer (``aggregate is None ? other : reducer(aggregate, other)``)."""
        op = self.ops[node]
        kd, ad, vs = op.key_in.deserialize, op.extra.deserialize, op.value_out.serialize
        out = []
        for i, ((k, v, _ts), o) in enumerate(zip(records, operands)):
            try:
                key = kd(k)
                other = ad(v)
                so_far = ad(o) if o is not None else None
            except Exception as e:  # noqa: BLE001
                return out, self._fail(i, "deserialization", e)
            try:
                if op.kind == REDUCE:
                    result = other if so_far is None else op.fn(so_far, other)
                else:
                    init, _agg, merger = op.fn
                    result = merger(key, init() if so_far is None else so_far, other)
                out.append(vs(result))
            except Exception as e:  # noqa: BLE001
                return out, self._fail(i, "user", e)
        return out, None


def format_exception(e):
    return "".join(traceback.format_exception_only(type(e), e)).strip()
