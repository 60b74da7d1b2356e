"""stats_cb: the statistics JSON every statistics.interval.ms, from poll()/flush()/consume().
The same test bodies run against confluent-kafka (librdkafka's statistics) and polykafka: both
give JSON with the same field names and the same counts."""

import importlib
import json
import time

import pytest

from conftest import unique


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


def poll_until(poll, snapshots, done, timeout=30.0):
    """Polls until the last snapshot satisfies `done`; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poll()
        if snapshots and done(snapshots[-1]):
            return snapshots[-1]
    pytest.fail("no statistics snapshot as expected; last: %s" % (snapshots[-1:] or None))


def nodes(snapshot):
    return [b for b in snapshot["brokers"].values() if b["nodeid"] >= 0]


def warm_up(ck, bootstrap, topic):
    """One record per partition first: the leaders are ready, so no produce of the test is
    retried (librdkafka counts retransmissions in txmsgs)."""
    p = ck.Producer({"bootstrap.servers": bootstrap})
    for n in range(3):
        p.produce(topic, value=b"warm-up", partition=n)
    assert p.flush(30) == 0


def test_producer_stats_cb(ck, bootstrap, topic):
    warm_up(ck, bootstrap, topic)
    snapshots = []
    p = ck.Producer({"bootstrap.servers": bootstrap, "client.id": "stats-py",
                     "statistics.interval.ms": 100, "linger.ms": 5,
                     "stats_cb": lambda text: snapshots.append(json.loads(text))})
    for i in range(10):
        p.produce(topic, value=b"value-%04d" % i, partition=0)
    for i in range(5):
        p.produce(topic, value=b"value-%04d" % i, partition=1)
    assert p.flush(30) == 0
    last = poll_until(lambda: p.poll(0.2), snapshots, lambda s: s["txmsgs"] == 15)
    assert last["type"] == "producer" and last["client_id"] == "stats-py"
    assert last["msg_cnt"] == 0 and last["msg_size"] == 0
    assert last["txmsg_bytes"] >= 15 * 10
    assert last["tx"] >= 2 and last["rx"] >= 2 and last["tx_bytes"] > 0 and last["rx_bytes"] > 0
    parts = last["topics"][topic]["partitions"]
    assert parts["0"]["txmsgs"] == 10 and parts["1"]["txmsgs"] == 5
    assert all(b["state"] == "UP" and b["connects"] >= 1 for b in nodes(last))
    # Round trips: librdkafka's rtt window covers one interval, so look at every snapshot.
    rtts = [b["rtt"] for s in snapshots for b in nodes(s) if b["rtt"]["cnt"] > 0]
    # (librdkafka's percentiles come from an HDR histogram and may round past max.)
    assert rtts and all(0 < r["min"] <= r["avg"] <= r["max"] and r["p50"] <= r["p99"] for r in rtts), rtts[:3]


def test_consumer_stats_cb(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        p.produce(topic, value=b"v%d" % i, partition=0)
    for i in range(5):
        p.produce(topic, value=b"v%d" % i, partition=1)
    assert p.flush(30) == 0
    snapshots = []
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("stats-group"),
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "statistics.interval.ms": 100,
                     "stats_cb": lambda text: snapshots.append(json.loads(text))})
    try:
        c.subscribe([topic])
        got = []
        deadline = time.monotonic() + 30
        while len(got) < 15 and time.monotonic() < deadline:
            got += [m for m in c.consume(15 - len(got), 0.5) if m.error() is None]
        assert len(got) == 15
        c.commit(asynchronous=False)

        def settled(s):
            parts = s.get("topics", {}).get(topic, {}).get("partitions", {})
            return s["rxmsgs"] == 15 and all(
                parts.get(str(n), {}).get("committed_offset") == end for n, end in [(0, 10), (1, 5)])

        last = poll_until(lambda: c.poll(0.2), snapshots, settled)
        assert last["type"] == "consumer"
        parts = last["topics"][topic]["partitions"]
        for n, end in [(0, 10), (1, 5)]:
            assert parts[str(n)]["hi_offset"] == end, parts[str(n)]
            assert parts[str(n)]["app_offset"] == end, parts[str(n)]
            assert parts[str(n)]["consumer_lag"] == 0, parts[str(n)]
            assert parts[str(n)]["rxmsgs"] == end, parts[str(n)]
        assert last["cgrp"]["state"] == "up" and last["cgrp"]["assignment_size"] == 3, last["cgrp"]
        assert last["cgrp"]["rebalance_cnt"] >= 1
        assert any(b["rtt"]["cnt"] > 0 for s in snapshots for b in nodes(s))
    finally:
        c.close()


def test_statistics_interval_must_be_a_number(ck, bootstrap):
    with pytest.raises(ck.KafkaException):
        ck.Producer({"bootstrap.servers": bootstrap, "statistics.interval.ms": "often"})
