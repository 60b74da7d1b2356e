"""Timestamp extractors (Kafka Streams' ``Consumed.withTimestampExtractor``).

Conformance with Kafka Streams itself: tests/streams-java/TimestampTopology.java (Kafka Streams
4.4.0) and the same topology here count events per key in tumbling windows over an event time
their extractor takes from the value ("p": the partition time it is given; negative: dropped).
Every record is written with the same timestamp, so only the extractor orders time. The final
count per (key, window) of both outputs is the same and equals an independent computation here.
Then the error paths: an extractor that raises reaches the uncaught exception handler naming the
record, and nothing is committed past it; a wrong return type is a TypeError there; a wrong
argument is refused when the topology is built; the built-in extractors run in the core."""

import random
import time

import confluent_kafka as ck
import pytest

from polykafka import KafkaException
from conftest import unique
from polykafka.streams import (
    KafkaStreams,
    LogAndSkipOnInvalidTimestamp,
    Serdes,
    State,
    StreamsBuilder,
    TimestampExtractor,
    TimeWindowedSerde,
    TimeWindows,
    WallclockTimestampExtractor,
)
from test_streams import config, create, produce, read_all, wait_for
from test_streams_conformance import beside_kafka_streams

SIZE, GRACE = 60_000, 30_000
LONG = Serdes.Long()
WINDOWED = TimeWindowedSerde(Serdes.String(), SIZE)
WRITTEN_AT = int(time.time() * 1000) - 7 * 3_600_000


def generate(n, keys=20, seed=19):
    """(key, value, timestamp): the value is the event time, moving on 0-6 s per record; one in 12
    is up to 150 s older (within the grace period, or late); one in 40 is "p" (the partition
    time), one in 50 a negative time. All are written at the same time."""
    rng = random.Random(seed)
    t = WRITTEN_AT - 3_600_000
    out = []
    for _ in range(n):
        t += rng.randint(0, 6000)
        r = rng.random()
        if r < 1 / 50:
            value = str(-rng.randint(1, 1000))
        elif r < 1 / 50 + 1 / 40:
            value = "p"
        else:
            value = str(t - rng.randint(0, 150_000) if rng.random() < 1 / 12 else t)
        out.append(("u%02d" % rng.randrange(keys), value.encode(), WRITTEN_AT))
    return out


def expected(records):
    """Kafka Streams' semantics, computed independently: {(key, window start): count}, and the
    numbers of records dropped for a negative time and for lateness."""
    counts, partition_time, stream_time, negative, late = {}, -1, -1, 0, 0
    for key, value, _ in records:
        t = partition_time if value == b"p" else int(value)
        if t < 0:
            negative += 1
            continue
        partition_time = max(partition_time, t)
        stream_time = max(stream_time, t)
        start = t - t % SIZE
        if start + SIZE <= stream_time - GRACE:
            late += 1
            continue
        counts[(key, start)] = counts.get((key, start), 0) + 1
    return counts, negative, late


def from_value(record, partition_time):
    return partition_time if record.value == "p" else int(record.value)


def build(events, counts, extractor=from_value):
    b = StreamsBuilder()
    b.stream(events, key_serde=Serdes.String(), value_serde=Serdes.String(), timestamp_extractor=extractor).group_by_key() \
        .windowed_by(TimeWindows.of_size_and_grace(SIZE, GRACE)).count(materialized="event-time-counts") \
        .to_stream().to(counts, key_serde=WINDOWED, value_serde=LONG)
    return b.build()


def final_counts(bootstrap, topic):
    out = {}
    for m in read_all(bootstrap, topic, idle=2.0):
        w = WINDOWED.deserialize(m.key())
        out[(w.key, w.start)] = LONG.deserialize(m.value())
    return out


def test_event_time_from_the_value_same_results_as_kafka_streams(bootstrap, admin):
    events, ours, theirs = unique("tsconf-events"), unique("tsconf-py-counts"), unique("tsconf-java-counts")
    create(admin, events, partitions=1)
    create(admin, ours, theirs)
    records = generate(5000)
    exp, exp_negative, exp_late = expected(records)
    assert exp_negative > 0 and exp_late > 0 and any(v == b"p" for _, v, _ in records), "the input exercises every path"
    produce(bootstrap, events, records)

    java_app, our_app = unique("tsconf-java-app"), unique("tsconf-py-app")
    streams = KafkaStreams(build(events, ours), config(bootstrap, our_app))
    with beside_kafka_streams("TimestampTopology", bootstrap, events, ours, theirs, streams, our_app, java_app):
        stored = {(w.key, w.start): n for w, n in streams.store("event-time-counts").all()}
        got = {"ours": final_counts(bootstrap, ours), "theirs": final_counts(bootstrap, theirs)}
    assert got["ours"] == got["theirs"], sorted(set(got["ours"].items()) ^ set(got["theirs"].items()))[:10]
    assert got["ours"] == exp
    assert stored == exp
    m = streams.metrics()
    assert (m["timestamp_dropped"], m["late_dropped"]) == (exp_negative, exp_late)


class FromJson(TimestampExtractor):
    def extract(self, record, partition_time):
        if record.value == "boom":
            raise ValueError("no event time in %r" % record.value)
        if record.value == "text":
            return "soon"
        return int(record.value)


@pytest.mark.parametrize("bad", ["boom", "text"])
def test_an_extractor_that_fails_reaches_the_handler_naming_the_record(bootstrap, admin, bad):
    src, out = unique("ts-fail-src"), unique("ts-fail-out")
    create(admin, src, out, partitions=1)
    app = unique("ts-fail-app")
    produce(bootstrap, src, [("k", str(1000 * i).encode(), None) for i in range(5)])
    s = KafkaStreams(build(src, out, FromJson()), config(bootstrap, app))
    failures = []
    s.set_uncaught_exception_handler(lambda e: failures.append(e))
    s.start()
    try:
        wait_for(lambda: s.metrics()["processed"] == 5 and s.metrics()["commits"] >= 1, what="first records processed")
        produce(bootstrap, src, [("k", b"6000", None), ("k", bad.encode(), None), ("k", b"7000", None)])
        wait_for(lambda: s.state() == State.ERROR, what="ERROR state")
    finally:
        s.close(30)
    (e,) = failures
    assert e.kind == "user" and (e.topic, e.partition, e.offset) == (src, 0, 6), e
    cause = {"boom": ValueError, "text": TypeError}[bad]
    assert isinstance(e.__cause__, cause), repr(e.__cause__)
    assert ("no event time" if bad == "boom" else "must return an int") in str(e)
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": app})
    try:
        (tp,) = c.committed([ck.TopicPartition(src, 0)], timeout=10)
    finally:
        c.close()
    assert 5 <= tp.offset <= 6, tp.offset  # never past the record the extractor failed on


def test_built_in_extractors_and_bad_arguments(bootstrap, admin):
    src, out = unique("ts-builtin-src"), unique("ts-builtin-out")
    create(admin, src, out, partitions=1)
    with pytest.raises(TypeError, match="timestamp_extractor must be a TimestampExtractor or a function"):
        StreamsBuilder().stream(src, timestamp_extractor=42)
    with pytest.raises(KafkaException, match="default.timestamp.extractor"):
        KafkaStreams(build(src, out, None), config(bootstrap, unique("ts-app"), **{"default.timestamp.extractor": "com.example.Mine"}))
    # Written long ago, counted at the time read; a record without a timestamp is skipped.
    produce(bootstrap, src, [("k", b"x", 1000), ("k", b"y", 2000)])
    before = int(time.time() * 1000)
    s = KafkaStreams(build(src, out, WallclockTimestampExtractor()), config(bootstrap, unique("ts-wallclock")))
    s.start()
    try:
        wait_for(lambda: s.metrics()["processed"] == 2, what="processed")
        windows = [(w.start, n) for w, n in s.store("event-time-counts").all()]
    finally:
        s.close(30)
    assert sum(n for _, n in windows) == 2 and all(start >= before - SIZE for start, _ in windows), (windows, before)
    s = KafkaStreams(build(src, out, LogAndSkipOnInvalidTimestamp()), config(bootstrap, unique("ts-skip")))
    s.start()
    try:
        wait_for(lambda: s.metrics()["processed"] == 2, what="processed")
        assert sorted((w.start, n) for w, n in s.store("event-time-counts").all()) == [(0, 2)]
    finally:
        s.close(30)
