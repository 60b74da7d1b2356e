"""Session windows, conformance with Kafka Streams itself: a session-windowed count
(tests/streams-java/SessionTopology.java with Kafka Streams 4.4.0, and the same topology with
polykafka.streams) on the same generated input, out of order within the grace period and with
late records: the final count per (key, session start, session end) of both outputs (tombstones of
merged sessions applied) is the same, and equals an independent computation of the sessions
here. The input topic has one partition, so stream time (and so lateness) is the same for both.
Kafka Streams runs without its record cache: with it, whether a session the store has expired is
still found to merge with depends on when the cache was last flushed."""

import random
import time

from conftest import unique
from polykafka.streams import KafkaStreams, Serdes, SessionWindowedSerde, SessionWindows, StreamsBuilder
from test_streams import config, create, produce, read_all
from test_streams_conformance import beside_kafka_streams

GAP, GRACE = 60_000, 30_000
LONG = Serdes.Long()
SESSION_KEY = SessionWindowedSerde(Serdes.String())


def generate(n, keys=20, seed=16):
    """(key, value, timestamp): event time moves on 0-6 s per record; one record in 12 is up to
    150 s older than that (within the grace period, merging sessions, or late)."""
    rng = random.Random(seed)
    t = int(time.time() * 1000) - 6 * 3_600_000  # in the past: the broker refuses timestamps an hour ahead
    out = []
    for i in range(n):
        t += rng.randint(0, 6000)
        ts = t - rng.randint(0, 150_000) if rng.random() < 1 / 12 else t
        out.append(("u%02d" % rng.randrange(keys), "e%d" % i, ts))
    return out


def expected(records):
    """Kafka Streams' session semantics, computed independently, record after record: the final
    {(key, start, end): count} and the number of late records dropped. A session ending before the
    store's time (the latest session end written) minus gap + grace is expired: not merged any
    more (it stays in the output)."""
    sessions, stream_time, store_time, late = {}, -1, -1, 0
    for key, _, t in records:
        stream_time = max(stream_time, t)
        mine = sessions.setdefault(key, {})
        live = store_time - (GAP + GRACE) + 1
        merged = [(s, e) for (s, e) in mine if e >= max(t - GAP, live) and s <= t + GAP]
        start, end = min([t] + [s for s, _ in merged]), max([t] + [e for _, e in merged])
        if end < stream_time - GRACE - GAP:
            late += 1
            continue
        count = 1 + sum(mine.pop(w) for w in merged)
        mine[(start, end)] = count
        store_time = max(store_time, end)
    return {(k, s, e): n for k, mine in sessions.items() for (s, e), n in mine.items()}, late


def final_sessions(bootstrap, topic):
    """The output table: the last value per session key, a tombstone removing it."""
    out = {}
    for m in read_all(bootstrap, topic, idle=2.0):
        w = SESSION_KEY.deserialize(m.key())
        if m.value() is None:
            out.pop((w.key, w.start, w.end), None)
        else:
            out[(w.key, w.start, w.end)] = LONG.deserialize(m.value())
    return out


def explain(records, exp, got):
    """What differs, with the input records of the key around each session that differs (their
    index, timestamp and the stream time then)."""
    lines, st, times = [], -1, []
    for _, _, t in records:
        st = max(st, t)
        times.append(st)
    for side, other in (("ours", "theirs"), ("theirs", "ours")):
        for (k, start, end), n in sorted(set(got[side].items()) - set(got[other].items()))[:5]:
            near = [(i, t - start, times[i] - start) for i, (key, _, t) in enumerate(records) if key == k and abs(t - start) < 200_000]
            lines.append("only %s: %s [%d, %d]=%d (expected: %s); records (index, t - start, stream time - start): %s"
                         % (side, k, start, end, n, exp.get((k, start, end)), near))
    return "\n".join(lines)


def build(events, counts):
    b = StreamsBuilder()
    b.stream(events, key_serde=Serdes.String(), value_serde=Serdes.String()).group_by_key() \
        .windowed_by(SessionWindows.of_inactivity_gap_and_grace(GAP, GRACE)).count(materialized="session-counts") \
        .to_stream().to(counts)
    return b.build()


def test_session_counts_same_results_as_kafka_streams(bootstrap, admin):
    events, ours, theirs = unique("sconf-events"), unique("sconf-py-counts"), unique("sconf-java-counts")
    create(admin, events, partitions=1)
    create(admin, ours, theirs)
    records = generate(3000)
    exp, exp_late = expected(records)
    assert exp_late > 0 and any(n > 1 for n in exp.values()), "the input has late records and merged sessions"
    produce(bootstrap, events, records)

    java_app, our_app = unique("sconf-java-app"), unique("sconf-py-app")
    streams = KafkaStreams(build(events, ours), config(bootstrap, our_app))
    with beside_kafka_streams("SessionTopology", bootstrap, events, ours, theirs, streams, our_app, java_app):
        store = streams.store("session-counts")
        stored = {(w.key, w.start, w.end): n for w, n in store.all()}
        u00 = [((w.start, w.end), n) for w, n in store.fetch("u00")]
        got = {"ours": final_sessions(bootstrap, ours), "theirs": final_sessions(bootstrap, theirs)}
    assert got["ours"] == got["theirs"], explain(records, exp, got)
    assert got["ours"] == exp
    assert stored == exp
    assert u00 == sorted(((s, e), n) for (k, s, e), n in exp.items() if k == "u00")
    assert streams.metrics()["late_dropped"] == exp_late
