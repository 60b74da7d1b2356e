"""Conformance with Kafka Streams itself: the seed's topology runs with Kafka Streams (Java,
tests/streams-java/SeedTopology.java, the kafka-streams jar of the broker's version) and with
polykafka.streams (streams_seed.build) on the same generated input; the final value per key of
every output (per window for the windowed counts) is the same, and equals the results computed
independently in streams_seed.expected.

Input size: STREAMS_CONFORMANCE_EVENTS (default 10,000 here to keep `make test` short; the
issue's 100,000 is `STREAMS_CONFORMANCE_EVENTS=100000`)."""

import json
import os
import pathlib
import signal
import subprocess
import time
from collections import Counter

import confluent_kafka as ck

import streams_seed as seed
from conftest import REPO, unique
from polykafka.streams import KafkaStreams, Serdes, TimeWindowedSerde
from test_streams import config, create, produce, wait_for

EVENTS = int(os.environ.get("STREAMS_CONFORMANCE_EVENTS", "10000"))


class Tail:
    """Every record of a topic so far, read by one consumer kept open."""

    def __init__(self, bootstrap, topic):
        self.c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("tail"), "enable.auto.commit": False})
        parts = self.c.list_topics(topic, timeout=10).topics[topic].partitions
        self.c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in parts])
        self.records = []

    def read(self):
        while True:
            ms = self.c.consume(10000, 0.3)
            if not ms:
                return self.records
            self.records.extend(m for m in ms if not m.error())

    def close(self):
        self.c.close()


def results(tails):
    """Final values per key of each output."""
    long = Serdes.Long()
    ws = TimeWindowedSerde(Serdes.String(), 300_000)
    out = {
        "notifications": Counter(json.dumps(json.loads(m.value()), sort_keys=True) for m in tails["notifications"].read()),
        "by_country": {m.key().decode(): long.deserialize(m.value()) for m in tails["country_counts"].read()},
        "windowed": {},
        "enriched": {},
    }
    for m in tails["windowed_counts"].read():
        w = ws.deserialize(m.key())
        out["windowed"][(w.key, w.start)] = long.deserialize(m.value())
    for m in tails["enriched"].read():
        v = json.loads(m.value())
        out["enriched"][v["orderId"]] = v
    return out


def test_seed_topology_same_results_as_kafka_streams(bootstrap, admin):
    classpath = subprocess.run([str(REPO / "tests/streams-java/build.sh")], check=True, capture_output=True, text=True).stdout.strip()
    names = ("notifications", "country_counts", "windowed_counts", "enriched")
    inputs = {"events": unique("conf-events"), "orders": unique("conf-orders")}
    ours = dict(inputs, **{n: unique("conf-py-" + n) for n in names})
    theirs = dict(inputs, **{n: unique("conf-java-" + n) for n in names})
    create(admin, *inputs.values(), *[ours[n] for n in names], *[theirs[n] for n in names])
    events = seed.generate(EVENTS, max(100, EVENTS // 25), 30)
    orders = seed.orders_for(500)
    exp = seed.expected(events, orders, 3)
    produce(bootstrap, inputs["events"], events)

    java_app = unique("conf-java-app")
    java = subprocess.Popen(
        ["java", "-cp", classpath, "SeedTopology", bootstrap, java_app,
         theirs["events"], theirs["orders"], theirs["notifications"], theirs["country_counts"], theirs["windowed_counts"], theirs["enriched"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    streams = KafkaStreams(seed.build(ours), config(bootstrap, unique("conf-py-app")))
    streams.start()
    tails = {side: {n: Tail(bootstrap, t[n]) for n in names} for side, t in (("ours", ours), ("theirs", theirs))}
    try:
        def counts_done(side):
            return results(tails[side])["by_country"] == exp["by_country"]

        wait_for(lambda: counts_done("ours"), timeout=180, what="our country counts", detail=streams.metrics)
        wait_for(lambda: java.poll() is None and counts_done("theirs"), timeout=180, what="Kafka Streams' country counts",
                 detail=lambda: (java.poll(), results(tails["theirs"])["by_country"]))
        produce(bootstrap, inputs["orders"], [(c, o, None) for c, o in orders])
        for side in ("ours", "theirs"):
            wait_for(lambda: len(results(tails[side])["enriched"]) == len(orders), timeout=180, what=side + " enriched orders")
        time.sleep(2)  # the windowed counts' last updates (Kafka Streams' cache flushes at commit)
        got = {side: results(tails[side]) for side in tails}
    finally:
        streams.close(60)
        java.send_signal(signal.SIGTERM)
        try:
            log, _ = java.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            java.kill()
            log, _ = java.communicate()
        for t in tails.values():
            for x in t.values():
                x.close()
    assert "STATE RUNNING" in log, log[-3000:]
    for what in ("notifications", "by_country", "windowed", "enriched"):
        assert got["ours"][what] == got["theirs"][what], what
        assert got["ours"][what] == exp[what], what
    assert streams.metrics()["late_dropped"] == exp["late"] > 0
