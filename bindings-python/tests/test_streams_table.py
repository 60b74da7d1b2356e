"""KTable ``filter``, ``filter_not`` and ``map_values``, conformance with Kafka Streams itself:
tests/streams-java/TableTopology.java (Kafka Streams 4.4.0) and the same topology here count
events per key, keep the counts not divisible by 3 and multiply them by 10. The final table of
both outputs (a key removed by the filter as a tombstone) is the same and equals an independent
computation; then ``filter_not``, and the errors: a derived table has no store to join."""

import json
import random
from collections import Counter

import pytest

from conftest import unique
from polykafka import KafkaException
from polykafka.streams import KafkaStreams, Serdes, StreamsBuilder
from test_streams import config, create, produce, read_all, wait_for
from test_streams_conformance import beside_kafka_streams

LONG = Serdes.Long()


def final_table(bootstrap, topic):
    """The derived table: the last value per key, a tombstone removing the key. (Whether a key
    that never passed the filter gets a tombstone depends on when each side flushed its updates:
    Kafka Streams sends none for it when the old value did not pass either, nor do we; but its
    record cache and our batches see different old values.)"""
    out = {}
    for m in read_all(bootstrap, topic, idle=2.0):
        if m.value() is None:
            out.pop(m.key().decode(), None)
        else:
            out[m.key().decode()] = LONG.deserialize(m.value())
    return out


def build(events, out, keep_not=False):
    b = StreamsBuilder()
    counts = b.stream(events, key_serde=Serdes.String(), value_serde=Serdes.String()).group_by_key().count()
    derived = counts.filter_not(lambda k, n: n % 3 != 0) if keep_not else counts.filter(lambda k, n: n % 3 != 0)
    derived.map_values(lambda n: n * 10).to_stream().to(out, value_serde=LONG)
    return b.build()


def test_filter_and_map_values_same_results_as_kafka_streams(bootstrap, admin):
    events, ours, theirs, not_out = unique("tbl-events"), unique("tbl-py"), unique("tbl-java"), unique("tbl-not")
    create(admin, events, partitions=1)
    create(admin, ours, theirs, not_out)
    rng = random.Random(24)
    records = [("k%02d" % rng.randrange(40), b"x", None) for _ in range(2000)]
    produce(bootstrap, events, records)
    counts = Counter(k for k, _, _ in records)
    exp = {k: n * 10 for k, n in counts.items() if n % 3 != 0}
    assert 0 < len(exp) < len(counts)

    our_app = unique("tbl-py-app")
    streams = KafkaStreams(build(events, ours), config(bootstrap, our_app))
    with beside_kafka_streams("TableTopology", bootstrap, events, ours, theirs, streams, our_app, unique("tbl-java-app")):
        pass
    got_ours, got_theirs = final_table(bootstrap, ours), final_table(bootstrap, theirs)
    assert got_ours == got_theirs
    assert got_ours == exp

    s = KafkaStreams(build(events, not_out, keep_not=True), config(bootstrap, unique("tbl-not-app")))
    s.start()
    try:
        wait_for(lambda: s.metrics()["processed"] == len(records), what="processed")
    finally:
        s.close(30)
    exp_not = {k: n * 10 for k, n in counts.items() if n % 3 == 0}
    wait_for(lambda: final_table(bootstrap, not_out) == exp_not, timeout=30, what="filter_not's table",
             detail=lambda: final_table(bootstrap, not_out))


def test_a_derived_table_has_no_store_to_join(bootstrap, admin):
    b = StreamsBuilder()
    counts = b.stream("t1", key_serde=Serdes.String()).group_by_key().count()
    filtered = counts.filter(lambda k, n: n > 1)
    with pytest.raises(KafkaException, match="filtered or mapped table, which has no store"):
        b.stream("t2", key_serde=Serdes.String()).join(filtered, lambda v, n: v)
    with pytest.raises(TypeError, match="expected a function"):
        counts.map_values(42)


def test_builder_table_keeps_the_latest_value_per_key_joins_and_deletes(bootstrap, admin):
    users, orders, out, derived = unique("tbl-users"), unique("tbl-orders"), unique("tbl-enriched"), unique("tbl-derived")
    create(admin, users, orders, out, derived, partitions=1)
    produce(bootstrap, users, [("u1", {"name": "Ann"}, None), ("u2", {"name": "Bob"}, None), ("u1", {"name": "Ann B"}, None),
                               ("u3", {"name": "Cy"}, None), ("u3", None, None)])
    b = StreamsBuilder()
    table = b.table(users, key_serde=Serdes.String(), value_serde=Serdes.Json(), materialized="users-table")
    b.stream(orders, key_serde=Serdes.String(), value_serde=Serdes.Json()) \
        .left_join(table, lambda o, u: {**o, "user": u and u["name"]}).to(out)
    table.map_values(lambda u: u["name"].upper(), value_serde=Serdes.String()).to_stream().to(derived, value_serde=Serdes.String())
    s = KafkaStreams(b.build(), config(bootstrap, unique("tbl-join-app")))
    s.start()
    try:
        wait_for(lambda: s.metrics()["processed"] == 5, what="the users read")
        produce(bootstrap, orders, [("u1", {"o": 1}, None), ("u2", {"o": 2}, None), ("u3", {"o": 3}, None), ("u9", {"o": 4}, None)])
        wait_for(lambda: s.metrics()["processed"] == 9, what="the orders read")
        store = s.store("users-table")
        stored = {k: v for k, v in store.all()}
        assert (store.get("u1"), store.get("u3")) == ({"name": "Ann B"}, None)
    finally:
        s.close(30)
    assert stored == {"u1": {"name": "Ann B"}, "u2": {"name": "Bob"}}
    enriched = [json.loads(m.value()) for m in read_all(bootstrap, out, idle=1.0)]
    assert enriched == [{"o": 1, "user": "Ann B"}, {"o": 2, "user": "Bob"}, {"o": 3, "user": None}, {"o": 4, "user": None}]
    table_out = {}
    for m in read_all(bootstrap, derived, idle=1.0):
        table_out[m.key().decode()] = m.value() and m.value().decode()
    assert table_out == {"u1": "ANN B", "u2": "BOB", "u3": None}, "u3's deletion reaches the derived table"
    with pytest.raises(TypeError, match="one topic"):
        StreamsBuilder().table([users])
