"""polykafka.streams against the real broker: the seed topology on a generated input checked
against results computed independently (streams_seed.expected), bad input, a raising user
function, restore from the changelog, configuration errors."""

import gc
from datetime import timedelta
import json
import time
from collections import Counter

import confluent_kafka as ck
import pytest

from conftest import unique
from polykafka import KafkaException, Producer
from polykafka.admin import AdminClient, NewTopic
from polykafka.streams import (
    BufferConfig,
    JoinWindows,
    KafkaStreams,
    Serdes,
    SerializationError,
    SessionWindowedSerde,
    SessionWindows,
    State,
    StreamsBuilder,
    StreamsException,
    StreamThreadExceptionResponse,
    Suppressed,
    TimeWindows,
    TimeWindowedSerde,
    Windowed,
)
import streams_seed as seed


def create(admin, *names, partitions=3):
    # retention.ms=-1: the generated event times are months old, and the broker's default 7-day
    # retention would delete a topic's records at its next retention check (every 5 minutes),
    # emptying an input or output topic in the middle of a test.
    fs = admin.create_topics([NewTopic(n, partitions, 1, config={"retention.ms": "-1"}) for n in names])
    for f in fs.values():
        f.result(30)


def produce(bootstrap, topic, records, partitions=None):
    """``records``: (key str, value obj|bytes, timestamp ms|None); keys partitioned as Java's
    producer (murmur2)."""
    # Idempotent: the expected results depend on the order of the records in each partition.
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 5, "enable.idempotence": True})
    for key, value, ts in records:
        v = value if isinstance(value, (bytes, type(None))) else json.dumps(value).encode()
        kw = {"timestamp": ts} if ts is not None else {}
        p.produce(topic, key=key.encode() if key is not None else None, value=v, **kw)
        p.poll(0)
    assert p.flush(30) == 0


def read_all(bootstrap, topic, idle=3.0, timeout=60.0, first_wait=15.0):
    """Every record of ``topic`` until none came for ``idle`` seconds (``first_wait`` before the
    first one: on a loaded machine the first fetch alone can take longer than ``idle``)."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in parts])
        out, last, deadline = [], time.time(), time.time() + timeout
        while time.time() - last < (idle if out else max(idle, first_wait)) and time.time() < deadline:
            m = c.poll(0.3)
            if m is not None and not m.error():
                out.append(m)
                last = time.time()
        return out
    finally:
        c.close()


def wait_for(cond, timeout=120.0, what="condition", detail=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s%s" % (what, "" if detail is None else ": %s" % (detail(),)))


def config(bootstrap, app, **extra):
    c = {"application.id": app, "bootstrap.servers": bootstrap, "commit.interval.ms": 200,
         "consumer.fetch.max.wait.ms": 100}
    c.update(extra)
    return c


def test_seed_topology_gives_the_independently_computed_results(bootstrap, admin):
    topics = {k: unique("st-" + k) for k in ("events", "orders", "notifications", "country_counts", "windowed_counts", "enriched")}
    create(admin, *topics.values())
    app = unique("seed-app")
    events = seed.generate(3000, 120, 30)
    orders = seed.orders_for(400)
    exp = seed.expected(events, orders, 3)
    assert exp["late"] > 10  # the input really has late records

    states = []
    streams = KafkaStreams(seed.build(topics), config(bootstrap, app))
    streams.set_state_listener(lambda new, old: states.append((old, new)))
    assert streams.state() == State.CREATED
    streams.start()
    try:
        produce(bootstrap, topics["events"], [(u, ev, ts) for u, ev, ts in events])
        counts = streams.store("user-counts-by-country")
        wait_for(lambda: {c: counts.get(c) for c in seed.COUNTRIES if counts.get(c)} == exp["by_country"], what="country counts",
                 detail=lambda: (dict(counts.all()), exp["by_country"], streams.state(), streams.metrics()))
        assert streams.state() == State.RUNNING
        assert dict(counts.all()) == exp["by_country"]
        # Orders after the counts are complete: each joins the final count of its country.
        produce(bootstrap, topics["orders"], [(c, o, None) for c, o in orders])
        wait_for(lambda: streams.metrics()["processed"] >= len(events) * 2 + len(orders), what="orders processed", detail=streams.metrics)
        wait_for(lambda: streams.metrics()["late_dropped"] == exp["late"], what="late records counted",
                 detail=lambda: (exp["late"], streams.metrics()))

        notes = read_all(bootstrap, topics["notifications"])
        assert Counter(json.dumps(json.loads(m.value()), sort_keys=True) for m in notes) == exp["notifications"]

        last = {}
        for m in read_all(bootstrap, topics["country_counts"]):
            last[m.key().decode()] = Serdes.Long().deserialize(m.value())
        assert last == exp["by_country"]

        ws = TimeWindowedSerde(Serdes.String(), seed.WINDOW.total_seconds() * 1000)
        windowed = {}
        for m in read_all(bootstrap, topics["windowed_counts"]):
            w = ws.deserialize(m.key())
            assert w.end - w.start == 300_000
            windowed[(w.key, w.start)] = Serdes.Long().deserialize(m.value())
        assert windowed == exp["windowed"]
        # The window store answers the same.
        wstore = streams.store("windowed-counts")
        user, start = next(iter(exp["windowed"]))
        assert (start, exp["windowed"][(user, start)]) in list(wstore.fetch(user, start, start))
        assert {(w.key, w.start): v for w, v in wstore.all()} == exp["windowed"]

        enriched = {}
        for m in read_all(bootstrap, topics["enriched"]):
            v = json.loads(m.value())
            enriched[v["orderId"]] = v
        assert enriched == exp["enriched"]
        assert any(v["userCount"] is None for v in enriched.values())
    finally:
        assert streams.close(30)
    assert streams.state() == State.NOT_RUNNING
    assert (State.CREATED, State.REBALANCING) in states and (State.REBALANCING, State.RUNNING) in states
    assert states[-2:] == [(State.RUNNING, State.PENDING_SHUTDOWN), (State.PENDING_SHUTDOWN, State.NOT_RUNNING)] or states[-1] == (State.PENDING_SHUTDOWN, State.NOT_RUNNING)
    # The internal topics, named and sized as Kafka Streams does.
    md = admin.list_topics(timeout=10).topics
    assert len(md["%s-user-counts-by-country-repartition" % app].partitions) == 3
    assert len(md["%s-user-counts-by-country-changelog" % app].partitions) == 3
    assert len(md["%s-windowed-counts-changelog" % app].partitions) == 3


def count_app(topic, out):
    b = StreamsBuilder()
    s = b.stream(topic, key_serde=Serdes.String(), value_serde=Serdes.Json())
    s.group_by(lambda k, v: v["k"]).count(materialized="counts").to_stream().to(out, value_serde=Serdes.Long())
    return b.build()


def test_restore_from_changelog_after_restart(bootstrap, admin, tmp_path):
    src, out = unique("st-src"), unique("st-out")
    create(admin, src, out)
    app = unique("restore-app")
    keys = ["k%d" % i for i in range(50)]
    first = [(None, {"k": keys[i % 50]}, None) for i in range(1000)]
    produce(bootstrap, src, first)
    here, elsewhere = str(tmp_path / "here"), str(tmp_path / "elsewhere")
    s1 = KafkaStreams(count_app(src, out), config(bootstrap, app, **{"state.dir": here}))
    s1.start()
    try:
        store = s1.store("counts")
        wait_for(lambda: store.get("k0") == 20 and store.get("k49") == 20, what="first counts")
        assert s1.metrics()["restored"] == 0
    finally:
        assert s1.close(30)
    # A new instance on another state.dir (another machine): the counts come back from the
    # changelog, then go on.
    s2 = KafkaStreams(count_app(src, out), config(bootstrap, app, **{"state.dir": elsewhere}))
    s2.start()
    try:
        store = s2.store("counts")
        wait_for(lambda: s2.state() == State.RUNNING, what="running")
        wait_for(lambda: store.get("k0") == 20, what="restored")
        assert s2.metrics()["restored"] >= 50
        assert s2.metrics()["processed"] == 0  # nothing read twice: the offsets were committed
        produce(bootstrap, src, [(None, {"k": k}, None) for k in keys])
        wait_for(lambda: all(store.get(k) == 21 for k in keys), what="counts after restore")
        assert dict(store.range("k0", "k1")) == {"k0": 21, "k1": 21}
    finally:
        assert s2.close(30)
    # Back on the first state.dir, once the first instance is gone (its state directory is
    # locked while it exists): the table on disk and its checkpoint, plus the changelog records
    # written since (the second instance's 50 updates at most), not the whole changelog.
    del s1, s2, store
    gc.collect()
    s3 = KafkaStreams(count_app(src, out), config(bootstrap, app, **{"state.dir": here}))
    s3.start()
    try:
        store = s3.store("counts")
        wait_for(lambda: s3.state() == State.RUNNING and store.get("k0") == 21, what="restored from the checkpoint")
        assert all(store.get(k) == 21 for k in keys)
        assert 0 < s3.metrics()["restored"] <= 50, s3.metrics()
        produce(bootstrap, src, [(None, {"k": k}, None) for k in keys])
        wait_for(lambda: all(store.get(k) == 22 for k in keys), what="counts after the checkpoint restore")
    finally:
        assert s3.close(30)
    last = {m.key().decode(): Serdes.Long().deserialize(m.value()) for m in read_all(bootstrap, out)}
    assert last == {k: 22 for k in keys}


def passthrough(src, out):
    b = StreamsBuilder()
    b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json()).map_values(lambda v: {"n": v["n"] * 2}).to(out)
    return b.build()


@pytest.mark.parametrize("handler", ["log_and_continue", "log_and_fail", "dead_letter"])
def test_record_that_cannot_be_deserialized_goes_to_the_handler(bootstrap, admin, handler):
    src, out, dlq = unique("st-src"), unique("st-out"), unique("st-dlq")
    create(admin, src, out, dlq, partitions=1)
    produce(bootstrap, src, [("a", {"n": 1}, None), ("b", b"{not json", None), ("c", {"n": 3}, None)])
    extra = {}
    if handler == "dead_letter":
        extra = {"errors.dead.letter.queue.topic.name": dlq, "default.deserialization.exception.handler": "log_and_continue"}
    else:
        extra = {"default.deserialization.exception.handler": handler}
    s = KafkaStreams(passthrough(src, out), config(bootstrap, unique("deser-app"), **extra))
    failures = []
    s.set_uncaught_exception_handler(lambda e: failures.append(e) or StreamThreadExceptionResponse.SHUTDOWN_CLIENT)
    s.start()
    try:
        if handler == "log_and_fail":
            wait_for(lambda: s.state() == State.ERROR, what="ERROR state")
            (e,) = failures
            assert isinstance(e, StreamsException) and e.kind == "deserialization"
            assert (e.topic, e.partition, e.offset) == (src, 0, 1)
            assert "JSON" in str(e)
            got = [json.loads(m.value()) for m in read_all(bootstrap, out, idle=2)]
            assert got in ([], [{"n": 2}])  # nothing past the bad record
        else:
            wait_for(lambda: s.metrics()["processed"] == 3, what="processed")
            assert s.metrics()["deserialization_skipped"] == 1
            got = [json.loads(m.value()) for m in read_all(bootstrap, out, idle=2)]
            assert got == [{"n": 2}, {"n": 6}]
            assert s.state() == State.RUNNING and failures == []
    finally:
        s.close(30)
    if handler == "dead_letter":
        (m,) = read_all(bootstrap, dlq, idle=2)
        assert m.value() == b"{not json" and m.key() == b"b"
        h = dict(m.headers())
        assert h["__streams.errors.topic"] == src.encode()
        assert h["__streams.errors.offset"] == b"1"
        assert b"JSON" in h["__streams.errors.message"]


def test_raising_user_function_reaches_the_handler_and_nothing_past_it_is_committed(bootstrap, admin):
    src, out = unique("st-src"), unique("st-out")
    create(admin, src, out, partitions=1)
    app = unique("raise-app")
    # The first batch is processed and committed; then one record makes the function raise.
    produce(bootstrap, src, [("k", {"n": i}, None) for i in range(5)])

    def f(v):
        if v["n"] == 7:
            raise ValueError("seven is not allowed")
        return v

    b = StreamsBuilder()
    b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json()).map_values(f).to(out)
    s = KafkaStreams(b.build(), config(bootstrap, app))
    failures = []
    s.set_uncaught_exception_handler(lambda e: failures.append(e))
    s.start()
    try:
        wait_for(lambda: len(read_all(bootstrap, out, idle=0.5)) == 5, what="first outputs")
        wait_for(lambda: s.metrics()["commits"] >= 1, what="a commit")
        produce(bootstrap, src, [("k", {"n": i}, None) for i in range(5, 10)])
        wait_for(lambda: s.state() == State.ERROR, what="ERROR state")
    finally:
        s.close(30)
    (e,) = failures
    assert e.kind == "user" and (e.topic, e.partition, e.offset) == (src, 0, 7)
    assert isinstance(e.__cause__, ValueError) and "seven" in str(e)
    assert s.exception() is e
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": app})
    try:
        (tp,) = c.committed([ck.TopicPartition(src, 0)], timeout=10)
    finally:
        c.close()
    assert 5 <= tp.offset <= 7, tp.offset  # never past the record that raised


def test_split_merge_flat_map_reduce_aggregate(bootstrap, admin):
    src, small, big, merged, sums = (unique("st-" + n) for n in ("src", "small", "big", "merged", "sums"))
    create(admin, src, small, big, merged, sums, partitions=2)
    b = StreamsBuilder()
    s = b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Long())
    branches = s.flat_map_values(lambda v: [v, v + 1000]).split("b-").branch(lambda k, v: v < 1000, name="small").default_branch(name="big")
    branches["b-small"].to(small)
    branches["b-big"].to(big)
    branches["b-small"].merge(branches["b-big"]).filter_not(lambda k, v: v % 2 == 1).to(merged)
    g = s.group_by_key()
    g.reduce(lambda a, v: a + v, materialized="sum").to_stream().to(sums)
    g.aggregate(lambda: {"n": 0, "max": None}, lambda k, v, a: {"n": a["n"] + 1, "max": max(v, a["max"] or v)}, materialized="stats")
    app = unique("ops-app")
    produce(bootstrap, src, [("k%d" % (i % 4), Serdes.Long().serialize(i), None) for i in range(40)])
    st = KafkaStreams(b.build(), config(bootstrap, app))
    st.start()
    try:
        stats = st.store("stats")
        wait_for(lambda: all((stats.get("k%d" % j) or {}).get("n") == 10 for j in range(4)), what="aggregates")
        assert stats.get("k3") == {"n": 10, "max": 39}
        assert st.store("sum").get("k1") == sum(range(1, 40, 4))
    finally:
        st.close(30)
    longs = lambda t: sorted(Serdes.Long().deserialize(m.value()) for m in read_all(bootstrap, t, idle=2))
    assert longs(small) == list(range(40))
    assert longs(big) == list(range(1000, 1040))
    assert longs(merged) == [v for v in list(range(40)) + list(range(1000, 1040)) if v % 2 == 0]
    last = {m.key().decode(): Serdes.Long().deserialize(m.value()) for m in read_all(bootstrap, sums, idle=2)}
    assert last == {"k%d" % j: sum(range(j, 40, 4)) for j in range(4)}


def test_configuration_and_topology_errors(bootstrap, admin):
    def topo():
        b = StreamsBuilder()
        b.stream("x").to("y")
        return b.build()

    for bad, says in [
        ({}, "application.id"),
        ({"application.id": "a", "processing.guarantee": "exactly_once_v2", "isolation.level": "read_uncommitted"}, "contradicts"),
        ({"application.id": "a", "processing.guarantee": "exactly_once_v2", "transactional.id": "t"}, "transactional.id"),
        ({"application.id": "a", "processing.guarantee": "exactly_twice"}, "processing.guarantee"),
        ({"application.id": "a", "processing.guarantee": "exactly_once_v2", "commit.interval.ms": 20000}, "transaction.timeout.ms"),
        ({"application.id": "a", "state.dir": ""}, "state.dir"),
        ({"application.id": "a", "statestore.cache.max.bytes": -1}, "statestore.cache.max.bytes"),
        ({"application.id": "a", "group.id": "g"}, "group.id"),
        ({"application.id": "a b"}, "application.id"),
    ]:
        with pytest.raises(KafkaException, match=says):
            KafkaStreams(topo(), {"bootstrap.servers": bootstrap, **bad})
    b = StreamsBuilder()
    s = b.stream("x", key_serde=Serdes.String())
    with pytest.raises(TypeError):
        s.filter("not a function")
    with pytest.raises(TypeError):
        s.to("y", value_serde="json")
    with pytest.raises(ValueError):
        from polykafka.streams import TimeWindows
        TimeWindows.of_size_and_grace(0, 0)
    # A source topic that does not exist: the instance stops in ERROR with the topic named.
    missing = unique("st-missing")
    b = StreamsBuilder()
    b.stream(missing).to("y")
    st = KafkaStreams(b.build(), config(bootstrap, unique("missing-app")))
    st.start()
    try:
        wait_for(lambda: st.state() == State.ERROR, what="ERROR")
        assert missing in str(st.exception()) or "does not exist" in str(st.exception())
    finally:
        st.close(10)
    with pytest.raises(KeyError):
        KafkaStreams(topo(), config(bootstrap, "a")).store("nope")


def caught_up(bootstrap, group, topics):
    """True when the group ``group`` has committed every record of ``topics`` (the application
    has processed them and its outputs are written)."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = [ck.TopicPartition(t, p) for t in topics for p in c.list_topics(t, timeout=10).topics[t].partitions]
        for tp in c.committed(tps, timeout=10):
            _, high = c.get_watermark_offsets(ck.TopicPartition(tp.topic, tp.partition), timeout=10)
            if high > 0 and tp.offset < high:
                return False
        return True
    finally:
        c.close()


def produce_phase(bootstrap, apps, batches):
    """Produces ``batches`` ({topic: records}), then waits until every application of ``apps``
    (application ids) processed them: the next phase then comes after, in any order of topics."""
    for topic, records in batches.items():
        produce(bootstrap, topic, records)
    for app in apps:
        wait_for(lambda: caught_up(bootstrap, app, list(batches)), timeout=120, what="%s to process the phase" % app)


def joined_values(bootstrap, topic):
    return sorted((m.key().decode(), m.value().decode(), m.timestamp()[1]) for m in read_all(bootstrap, topic, idle=1.0, first_wait=1.0))


def test_stream_stream_joins_inner_left_outer_with_window_bounds(bootstrap, admin):
    left, right = unique("sj-left"), unique("sj-right")
    outs = {kind: unique("sj-" + kind) for kind in ("inner", "left", "outer")}
    create(admin, left, right, *outs.values(), partitions=2)
    b = StreamsBuilder()
    ls = b.stream(left, key_serde=Serdes.String(), value_serde=Serdes.String())
    rs = b.stream(right, key_serde=Serdes.String(), value_serde=Serdes.String())
    windows = JoinWindows.of_time_difference_and_grace(1000, 500)
    calls = []

    def joiner(lv, rv):
        calls.append(1)
        return "%s+%s" % (lv, rv)

    ls.join(rs, joiner, windows).to(outs["inner"])
    ls.left_join(rs, joiner, windows, name="lr").to(outs["left"])
    ls.outer_join(rs, joiner, windows).to(outs["outer"])
    app = unique("sj-app")
    streams = KafkaStreams(b.build(), config(bootstrap, app))
    streams.start()
    try:
        # a (10 s) joins x (+1 s, the window's bound) and z (-1 s); y (+1.001 s) is outside.
        produce_phase(bootstrap, [app], {left: [("k", b"a", 10_000)], right: [("k", b"x", 11_000), ("k", b"y", 11_001), ("k", b"z", 9_000)]})
        # b (20 s) closes y's window (outer: null+y); b waits for partners.
        produce_phase(bootstrap, [app], {left: [("k", b"b", 20_000)]})
        got = {kind: joined_values(bootstrap, t) for kind, t in outs.items()}
        joined = [("k", "a+x", 11_000), ("k", "a+z", 10_000)]
        assert got["inner"] == got["left"] == sorted(joined), got
        assert got["outer"] == sorted(joined + [("k", "None+y", 11_001)]), got
        # w (30 s) closes b's window; "late" (2 s) is behind stream time by more than its window
        # and grace: it joins nothing, left and outer emit it with null at once, the store drops it.
        produce_phase(bootstrap, [app], {left: [("k", b"late", 2_000)], right: [("k", b"w", 30_000)]})
        got = {kind: joined_values(bootstrap, t) for kind, t in outs.items()}
        assert got["inner"] == sorted(joined), got
        assert got["left"] == sorted(joined + [("k", "b+None", 20_000), ("k", "late+None", 2_000)]), got
        assert got["outer"] == sorted(joined + [("k", "None+y", 11_001), ("k", "b+None", 20_000), ("k", "late+None", 2_000)]), got
        assert streams.metrics()["late_dropped"] >= 1
        assert streams.state() == State.RUNNING
    finally:
        streams.close(60)
    assert len(calls) >= 9


def suppressed_counts(topic, out, buffer=None):
    b = StreamsBuilder()
    (b.stream(topic, key_serde=Serdes.String(), value_serde=Serdes.String())
        .group_by_key()
        .windowed_by(TimeWindows.of_size_and_grace(10_000, 2_000))
        .count(materialized="counts")
        .suppress(Suppressed.until_window_closes(buffer or BufferConfig.unbounded()).with_name("finals"))
        .to_stream()
        .to(out, value_serde=Serdes.Long()))
    return b.build()


def final_counts(bootstrap, topic):
    w = TimeWindowedSerde(Serdes.String(), 10_000)
    return sorted((w.deserialize(m.key()).key, w.deserialize(m.key()).start, Serdes.Long().deserialize(m.value()))
                  for m in read_all(bootstrap, topic, idle=1.0, first_wait=1.0))


def test_suppress_until_window_closes_one_final_result_per_window_across_a_restart(bootstrap, admin):
    topic, out = unique("sup-in"), unique("sup-out")
    create(admin, topic, out, partitions=2)
    app = unique("sup-app")
    streams = KafkaStreams(suppressed_counts(topic, out), config(bootstrap, app))
    streams.start()
    try:
        produce_phase(bootstrap, [app], {topic: [("k1", "a", 1_000), ("k1", "b", 5_000), ("k2", "c", 9_000), ("k1", "d", 11_000)]})
        # Stream time 11 s: [0, 10 s) closes at 12 s (end + grace): nothing yet.
        assert final_counts(bootstrap, out) == []
        # e closes [0, 10 s); the late record after it (3 s) changes nothing.
        produce_phase(bootstrap, [app], {topic: [("k1", "e", 12_000), ("k2", "late", 3_000)]})
        assert final_counts(bootstrap, out) == [("k1", 0, 2), ("k2", 0, 1)]
        assert streams.metrics()["late_dropped"] >= 1
    finally:
        assert streams.close(60)
    # A new instance restores the buffer ([10 s, 20 s) of k1 is pending) and emits it once when
    # its window closes, and nothing emitted before again.
    streams = KafkaStreams(suppressed_counts(topic, out), config(bootstrap, app))
    streams.start()
    try:
        produce_phase(bootstrap, [app], {topic: [("k1", "f", 22_000)]})
        assert final_counts(bootstrap, out) == [("k1", 0, 2), ("k1", 10_000, 2), ("k2", 0, 1)]
        assert streams.metrics()["restored"] > 0
    finally:
        streams.close(60)


def test_suppress_buffer_bound_stops_with_a_clear_error(bootstrap, admin):
    topic, out = unique("supb-in"), unique("supb-out")
    create(admin, topic, out, partitions=1)
    produce(bootstrap, topic, [("k1", "a", 1_000), ("k2", "b", 2_000), ("k3", "c", 3_000)])
    streams = KafkaStreams(suppressed_counts(topic, out, BufferConfig.max_records(2).shut_down_when_full()), config(bootstrap, unique("supb-app")))
    streams.start()
    try:
        wait_for(lambda: streams.state() == State.ERROR, timeout=120, what="state ERROR")
        e = streams.exception()
        assert "suppression buffer 'finals-store' is full" in str(e) and "3 records (max 2)" in str(e), e
    finally:
        streams.close(30)
    assert final_counts(bootstrap, out) == []


def test_join_and_suppress_bad_input(bootstrap, admin):
    b = StreamsBuilder()
    s1, s2 = b.stream(unique("bad-a")), b.stream(unique("bad-b"))
    with pytest.raises(TypeError, match="JoinWindows"):
        s1.join(s2, lambda a, c: a)
    with pytest.raises(TypeError, match="outer_join"):
        s1.outer_join(s2.group_by_key().count(), lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(5))
    with pytest.raises(ValueError, match="must not be negative"):
        JoinWindows.of_time_difference_and_grace(-1, 0)
    with pytest.raises(ValueError, match="before \\+ after"):
        JoinWindows.of_time_difference_with_no_grace(5).before(-6)
    with pytest.raises(TypeError, match="strict buffer config"):
        Suppressed.until_window_closes(BufferConfig.max_records(5))
    with pytest.raises(TypeError, match="windowed table"):
        s1.group_by_key().count().suppress(Suppressed.until_window_closes(BufferConfig.unbounded()))
    with pytest.raises(ValueError, match="positive"):
        BufferConfig.max_bytes(0)
    with pytest.raises(KafkaException, match="already exists"):
        s1.join(s2, lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(5), name="dup")
        s1.join(s2, lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(5), name="dup")


def test_join_of_sources_not_co_partitioned_is_a_clear_error(bootstrap, admin):
    left, right, out = unique("cop-left"), unique("cop-right"), unique("cop-out")
    create(admin, left, partitions=3)
    create(admin, right, out, partitions=2)
    b = StreamsBuilder()
    b.stream(left).join(b.stream(right), lambda a, c: a, JoinWindows.of_time_difference_with_no_grace(1000)).to(out)
    streams = KafkaStreams(b.build(), config(bootstrap, unique("cop-app")))
    streams.start()
    try:
        wait_for(lambda: streams.state() == State.ERROR, timeout=60, what="state ERROR")
        msg = str(streams.exception())
        assert "not co-partitioned" in msg and "%s (3 partitions)" % left in msg and "%s (2 partitions)" % right in msg, msg
    finally:
        streams.close(30)


def test_stream_join_stores_are_restored_after_a_restart(bootstrap, admin):
    left, right, out = unique("sjr-left"), unique("sjr-right"), unique("sjr-out")
    create(admin, left, right, out, partitions=1)
    app = unique("sjr-app")

    def topology():
        b = StreamsBuilder()
        ls = b.stream(left, key_serde=Serdes.String(), value_serde=Serdes.String())
        rs = b.stream(right, key_serde=Serdes.String(), value_serde=Serdes.String())
        ls.left_join(rs, lambda lv, rv: "%s+%s" % (lv, rv), JoinWindows.of_time_difference_and_grace(1000, 500), name="j").to(out)
        return b.build()

    streams = KafkaStreams(topology(), config(bootstrap, app))
    streams.start()
    try:
        produce_phase(bootstrap, [app], {left: [("k", b"a", 10_000)]})
    finally:
        assert streams.close(60)
    # a waits in the restored stores: x joins it, and it never comes with null.
    streams = KafkaStreams(topology(), config(bootstrap, app))
    streams.start()
    try:
        produce_phase(bootstrap, [app], {right: [("k", b"x", 10_900)]})
        produce_phase(bootstrap, [app], {left: [("k", b"b", 30_000)]})
        assert joined_values(bootstrap, out) == [("k", "a+x", 10_900)]
        assert streams.metrics()["restored"] >= 2
    finally:
        streams.close(60)


def test_to_with_a_topic_per_record(bootstrap, admin):
    """``to(extractor)``: each record goes to the topic the function names (Kafka Streams'
    TopicNameExtractor); a function returning something that is not a topic name stops the
    application with the record's position."""
    src, even, odd = unique("tpr-src"), unique("tpr-even"), unique("tpr-odd")
    create(admin, src, even, odd, partitions=1)
    produce(bootstrap, src, [(str(i), {"n": i}, None) for i in range(10)])
    b = StreamsBuilder()
    b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json()).to(
        lambda k, v: None if v["n"] == 10 else (even if v["n"] % 2 == 0 else odd), value_serde=Serdes.Json())
    s = KafkaStreams(b.build(), config(bootstrap, unique("tpr-app")))
    failures = []
    s.set_uncaught_exception_handler(lambda e: failures.append(e) or StreamThreadExceptionResponse.SHUTDOWN_CLIENT)
    s.start()
    try:
        assert sorted(json.loads(m.value())["n"] for m in read_all(bootstrap, even)) == [0, 2, 4, 6, 8]
        assert sorted(json.loads(m.value())["n"] for m in read_all(bootstrap, odd)) == [1, 3, 5, 7, 9]
        produce(bootstrap, src, [("10", {"n": 10}, None)])
        wait_for(lambda: s.state() == State.ERROR, what="ERROR state")
        (e,) = failures
        assert (e.topic, e.partition, e.offset, e.kind) == (src, 0, 10, "user")
        assert "returned no topic name" in str(e)
    finally:
        s.close(30)
    # A function returning a non-str is a user failure naming the type.
    b = StreamsBuilder()
    b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json()).filter(lambda k, v: v["n"] == 0).to(lambda k, v: 42)
    s = KafkaStreams(b.build(), config(bootstrap, unique("tpr-app")))
    s.start()
    try:
        wait_for(lambda: s.state() == State.ERROR, what="ERROR state")
        assert "must return a str, got int" in str(s.exception())
    finally:
        s.close(30)
    with pytest.raises(TypeError):
        StreamsBuilder().stream(src).to(42)


def test_group_by_key_after_a_key_change_repartitions(bootstrap, admin):
    """As Kafka Streams: after select_key (or map, flat_map) the records are in the partition of
    their old key, so group_by_key goes through a repartition topic named after the store; each
    country's count is whole, not split over the tasks of the input's three partitions. A join of
    such a stream is refused (Kafka Streams repartitions it; not yet here)."""
    src = unique("rk-src")
    create(admin, src, partitions=3)
    countries = ["fr", "de", "jp"]
    produce(bootstrap, src, [("u%d" % i, {"country": countries[i % 3]}, None) for i in range(90)])
    b = StreamsBuilder()
    s = b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json())
    s.select_key(lambda k, v: v["country"]).filter(lambda k, v: True).group_by_key().count(materialized="by-country")
    app = unique("rk-app")
    streams = KafkaStreams(b.build(), config(bootstrap, app))
    streams.start()
    try:
        store = streams.store("by-country")
        wait_for(lambda: sorted(store.all()) == [("de", 30), ("fr", 30), ("jp", 30)], what="whole counts",
                 detail=lambda: list(store.all()))
    finally:
        assert streams.close(30)
    assert app + "-by-country-repartition" in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    b = StreamsBuilder()
    s = b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json())
    table = b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json()).group_by_key().count()
    with pytest.raises(KafkaException, match="keys were changed.*call repartition"):
        s.map(lambda k, v: (v["country"], v)).left_join(table, lambda v, n: n)
    # repartition() first: orders moved to their country's partition find its count.
    orders, out = unique("rk-orders"), unique("rk-out")
    create(admin, orders, out, partitions=3)
    b = StreamsBuilder()
    by_country = b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json()) \
        .select_key(lambda k, v: v["country"]).group_by_key().count(materialized="n")
    b.stream(orders, key_serde=Serdes.String(), value_serde=Serdes.Json()) \
        .map(lambda k, v: (v["country"], v["country"])).repartition(name="moved", value_serde=Serdes.String()) \
        .left_join(by_country, lambda c, n: "%s:%s" % (c, n)).to(out, value_serde=Serdes.String())
    streams = KafkaStreams(b.build(), config(bootstrap, unique("rk-app")))
    streams.start()
    try:
        store = streams.store("n")
        wait_for(lambda: sorted(store.all()) == [("de", 30), ("fr", 30), ("jp", 30)], what="counts", detail=lambda: list(store.all()))
        produce(bootstrap, orders, [("o%d" % i, {"country": countries[i % 3]}, None) for i in range(12)])
        got = sorted(m.value().decode() for m in read_all(bootstrap, out))
        assert got == sorted("%s:30" % countries[i % 3] for i in range(12)), got
    finally:
        assert streams.close(30)


def session_app(src, counts, finals, lists):
    """Per key and session (gap 10 s, grace 30 s): a count (to ``counts``, and suppressed to ``finals``) and
    the list of values (an aggregate with a merger, to ``lists``)."""
    b = StreamsBuilder()
    clicks = b.stream(src, key_serde=Serdes.String(), value_serde=Serdes.Json())
    n = clicks.group_by_key().windowed_by(SessionWindows.of_inactivity_gap_and_grace(timedelta(seconds=10), 30_000)).count(materialized="sessions")
    n.to_stream().to(counts)
    n.suppress(Suppressed.until_window_closes(BufferConfig.unbounded())).to_stream().to(finals)
    clicks.group_by_key().windowed_by(SessionWindows.of_inactivity_gap_and_grace(10_000, timedelta(seconds=30))) \
        .aggregate(list, lambda k, v, a: a + [v], lambda k, a, c: a + c, materialized="lists").to_stream().to(lists)
    return b.build()


def test_session_windows_merge_drop_late_suppress_and_restore(bootstrap, admin, tmp_path):
    src, counts, finals, lists = unique("ss-src"), unique("ss-counts"), unique("ss-finals"), unique("ss-lists")
    create(admin, src, counts, finals, lists, partitions=1)
    app = unique("ss-app")
    ws = SessionWindowedSerde(Serdes.String())
    s1 = KafkaStreams(session_app(src, counts, finals, lists), config(bootstrap, app, **{"state.dir": str(tmp_path / "one")}))
    s1.start()
    try:
        # k@10.5 s bridges k's sessions [1 s] and [20 s]; k@60 s closes them; j@15.5 s is late then
        # (its session would end before 60 s - 30 s - 10 s; j's [15 s] is expired, not merged).
        produce_phase(bootstrap, [app], {src: [("k", "a", 1000), ("k", "b", 20_000), ("j", "x", 15_000), ("k", "c", 10_500), ("k", "d", 60_000),
                                               ("j", "y", 15_500)]})
        store = s1.store("sessions")
        assert list(store.fetch("k")) == [(Windowed("k", 1000, 20_000), 3), (Windowed("k", 60_000, 60_000), 1)]
        assert list(store.find_sessions("k", 20_001, 70_000)) == [(Windowed("k", 60_000, 60_000), 1)]
        assert list(store.fetch("j")) == [(Windowed("j", 15_000, 15_000), 1)]
        assert [(w.start, v) for w, v in s1.store("lists").fetch("k")] == [(1000, ["a", "b", "c"]), (60_000, ["d"])]
        assert s1.metrics()["late_dropped"] == 2
    finally:
        assert s1.close(30)
    table, removed = {}, []
    for m in read_all(bootstrap, counts, idle=1.0):
        w = ws.deserialize(m.key())
        if m.value() is None:
            removed.append(w)
            table.pop(w, None)
        else:
            table[w] = Serdes.Long().deserialize(m.value())
    assert Windowed("k", 1000, 1000) in removed and Windowed("k", 20_000, 20_000) in removed, removed
    assert table == {Windowed("k", 1000, 20_000): 3, Windowed("j", 15_000, 15_000): 1, Windowed("k", 60_000, 60_000): 1}
    assert [(ws.deserialize(m.key()), Serdes.Long().deserialize(m.value())) for m in read_all(bootstrap, finals, idle=1.0)] == \
        [(Windowed("j", 15_000, 15_000), 1), (Windowed("k", 1000, 20_000), 3)]
    # Another state.dir: the sessions come back from the changelogs and go on.
    s2 = KafkaStreams(session_app(src, counts, finals, lists), config(bootstrap, app, **{"state.dir": str(tmp_path / "two")}))
    s2.start()
    try:
        produce_phase(bootstrap, [app], {src: [("k", "e", 65_000)]})
        assert list(s2.store("sessions").fetch("k")) == [(Windowed("k", 1000, 20_000), 3), (Windowed("k", 60_000, 65_000), 2)]
        assert [(w.start, w.end, v) for w, v in s2.store("lists").fetch("k")] == [(1000, 20_000, ["a", "b", "c"]), (60_000, 65_000, ["d", "e"])]
        assert s2.metrics()["restored"] > 0
    finally:
        assert s2.close(30)


def test_session_windows_bad_input():
    with pytest.raises(ValueError, match="inactivity gap must be positive, got 0 ms"):
        SessionWindows.of_inactivity_gap_with_no_grace(0)
    with pytest.raises(ValueError, match="inactivity gap must be positive"):
        SessionWindows.of_inactivity_gap_with_no_grace(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="grace period must not be negative"):
        SessionWindows.of_inactivity_gap_and_grace(1000, -1)
    with pytest.raises(TypeError, match="inactivity gap must be a timedelta"):
        SessionWindows.of_inactivity_gap_with_no_grace("1s")
    grouped = StreamsBuilder().stream("t").group_by_key().windowed_by(SessionWindows.of_inactivity_gap_with_no_grace(1000))
    with pytest.raises(TypeError, match="merger"):
        grouped.aggregate(list, lambda k, v, a: a, None)
    with pytest.raises(TypeError):
        grouped.aggregate(list, lambda k, v, a: a)  # the merger is required, as in Kafka Streams
    with pytest.raises(TypeError, match="TimeWindows or SessionWindows"):
        StreamsBuilder().stream("t").group_by_key().windowed_by(1000)
    with pytest.raises(TypeError, match="not windowed"):
        b = StreamsBuilder()
        table = b.stream("t").group_by_key().windowed_by(SessionWindows.of_inactivity_gap_with_no_grace(1000)).count()
        b.stream("u").join(table, lambda v, n: v)
    ws = SessionWindowedSerde(Serdes.String())
    assert ws.serialize(Windowed("k", 5, 300_000)) == b"k" + (300_000).to_bytes(8, "big") + (5).to_bytes(8, "big")
    with pytest.raises(SerializationError, match="at least 16 bytes"):
        ws.deserialize(b"short")
