"""Conformance with Kafka Streams itself: the seed's topology runs with Kafka Streams (Java,
tests/streams-java/SeedTopology.java, the kafka-streams jar of the broker's version) and with
polykafka.streams (streams_seed.build) on the same generated input; the final value per key of
every output (per window for the windowed counts) is the same, and equals the results computed
independently in streams_seed.expected.

Input size: STREAMS_CONFORMANCE_EVENTS (default 10,000 here to keep `make test` short; the
issue's 100,000 is `STREAMS_CONFORMANCE_EVENTS=100000`)."""

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import time
from collections import Counter

import confluent_kafka as ck

import streams_join_seed as join_seed
import streams_seed as seed
from conftest import REPO, unique
from polykafka.streams import KafkaStreams, Serdes, State, TimeWindowedSerde
from test_streams import caught_up, config, create, produce, read_all, wait_for

EVENTS = int(os.environ.get("STREAMS_CONFORMANCE_EVENTS", "10000"))
WAIT = 180 + EVENTS // 200  # seconds per phase: generous, this is not a timing test


LONG = Serdes.Long()
WINDOWED = TimeWindowedSerde(Serdes.String(), 300_000)


def _notification(m, acc):
    acc[json.dumps(json.loads(m.value()), sort_keys=True)] += 1


def _count(m, acc):
    acc[m.key().decode()] = LONG.deserialize(m.value())


def _windowed(m, acc):
    w = WINDOWED.deserialize(m.key())
    acc[(w.key, w.start)] = LONG.deserialize(m.value())


def _enriched(m, acc):
    v = json.loads(m.value())
    acc[v["orderId"]] = v


# Output -> (how a record updates the final values, the initial final values).
OUTPUTS = {
    "notifications": (_notification, Counter),
    "country_counts": (_count, dict),
    "windowed_counts": (_windowed, dict),
    "enriched": (_enriched, dict),
}


class Tail:
    """The final values of an output topic so far, read incrementally by one open consumer
    (re-reading everything on every check would starve the stream thread of the GIL)."""

    def __init__(self, bootstrap, topic, output):
        self.c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("tail"), "enable.auto.commit": False})
        parts = self.c.list_topics(topic, timeout=10).topics[topic].partitions
        self.c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in parts])
        self.update, make = OUTPUTS[output]
        self.values = make()

    def read(self):
        while True:
            ms = self.c.consume(10000, 0.3)
            if not ms:
                return self.values
            for m in ms:
                if not m.error():
                    self.update(m, self.values)

    def close(self):
        self.c.close()


def tail_of(f, n=3000):
    """The last n characters (None: all) written so far to the file f."""
    text = pathlib.Path(f.name).read_text()
    return text if n is None else text[-n:]


def stop(java):
    """SIGTERM to the Java application (it closes Kafka Streams), SIGKILL after 60 s."""
    java.send_signal(signal.SIGTERM)
    try:
        java.wait(timeout=60)
    except subprocess.TimeoutExpired:
        java.kill()
        java.wait()


@contextlib.contextmanager
def beside_kafka_streams(main, bootstrap, events, ours, theirs, streams, our_app, java_app):
    """Runs tests/streams-java's topology ``main`` (args: bootstrap, ``java_app``, ``events``,
    ``theirs``) and ``streams`` (application ``our_app``, started here) on the same input; yields
    once both processed all of ``events``; then closes both and checks Kafka Streams ran."""
    classpath = subprocess.run([str(REPO / "tests/streams-java/build.sh")], check=True, capture_output=True, text=True).stdout.strip()
    java_log = tempfile.NamedTemporaryFile(mode="w+", prefix=main + "-", suffix=".log")
    java = subprocess.Popen(["java", "-cp", classpath, main, bootstrap, java_app, events, theirs],
                            stdout=java_log, stderr=subprocess.STDOUT, text=True)
    streams.start()
    try:
        for app in (our_app, java_app):
            wait_for(lambda: caught_up(bootstrap, app, [events]), timeout=WAIT, what=app + " to process the input",
                     detail=lambda: (java.poll(), tail_of(java_log), streams.metrics()))
        assert streams.state() == State.RUNNING
        yield
    finally:
        streams.close(60)
        stop(java)
        log = tail_of(java_log, None)
        java_log.close()
    assert "STATE RUNNING" in log, log[-3000:]


def results(tails):
    """Final values per key of each output."""
    return {
        "notifications": tails["notifications"].read(),
        "by_country": tails["country_counts"].read(),
        "windowed": tails["windowed_counts"].read(),
        "enriched": tails["enriched"].read(),
    }


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
    # Its output goes to a file: a pipe nobody reads until the end fills up and blocks the app.
    java_log = tempfile.NamedTemporaryFile(mode="w+", prefix="seed-topology-", suffix=".log")
    java = subprocess.Popen(
        ["java", "-cp", classpath, "SeedTopology", bootstrap, java_app,
         theirs["events"], theirs["orders"], theirs["notifications"], theirs["country_counts"], theirs["windowed_counts"], theirs["enriched"]],
        stdout=java_log, stderr=subprocess.STDOUT, text=True)
    streams = KafkaStreams(seed.build(ours), config(bootstrap, unique("conf-py-app")))
    streams.start()
    tails = {side: {n: Tail(bootstrap, t[n], n) for n in names} for side, t in (("ours", ours), ("theirs", theirs))}
    try:
        def counts_done(side):
            return tails[side]["country_counts"].read() == exp["by_country"]

        wait_for(lambda: counts_done("ours"), timeout=WAIT, what="our country counts", detail=streams.metrics)
        wait_for(lambda: java.poll() is None and counts_done("theirs"), timeout=WAIT, what="Kafka Streams' country counts",
                 detail=lambda: (java.poll(), results(tails["theirs"])["by_country"], tail_of(java_log)))
        produce(bootstrap, inputs["orders"], [(c, o, None) for c, o in orders])
        for side in ("ours", "theirs"):
            wait_for(lambda: len(tails[side]["enriched"].read()) == len(orders), timeout=WAIT, what=side + " enriched orders")
        time.sleep(2)  # the windowed counts' last updates (Kafka Streams' cache flushes at commit)
        got = {side: {k: (dict(v) if isinstance(v, dict) else v) for k, v in results(tails[side]).items()} for side in tails}
    finally:
        streams.close(60)
        stop(java)
        log = tail_of(java_log, None)
        java_log.close()
        for t in tails.values():
            for x in t.values():
                x.close()
    assert "STATE RUNNING" in log, log[-3000:]
    for what in ("notifications", "by_country", "windowed", "enriched"):
        assert got["ours"][what] == got["theirs"][what], what
        assert got["ours"][what] == exp[what], what
    assert streams.metrics()["late_dropped"] == exp["late"] > 0


JOIN_PHASES = int(os.environ.get("STREAMS_CONFORMANCE_JOIN_PHASES", "4"))


def _joined(bootstrap, topic):
    return Counter((m.key().decode(), tuple(json.loads(m.value())[f] for f in ("orderId", "eventId")), m.timestamp()[1])
                   for m in read_all(bootstrap, topic, idle=2.0))


def _finals(bootstrap, topic):
    out = Counter()
    for m in read_all(bootstrap, topic, idle=2.0):
        w = WINDOWED.deserialize(m.key())
        out[(w.key, w.start, LONG.deserialize(m.value()))] += 1
    return out


def test_join_and_suppress_same_results_as_kafka_streams(bootstrap, admin):
    """Orders left- and outer-joined with user events within 5 minutes, and a suppressed
    windowed count (tests/streams-java/JoinTopology.java and streams_join_seed.build), on the same
    phased input with out-of-order and late records: the same joined records (key, value,
    timestamp, as multisets) and the same single final count per window, equal to
    streams_join_seed.expected."""
    classpath = subprocess.run([str(REPO / "tests/streams-java/build.sh")], check=True, capture_output=True, text=True).stdout.strip()
    names = ("left_joined", "outer_joined", "final_counts")
    inputs = {"orders": unique("jconf-orders"), "events": unique("jconf-events")}
    ours = dict(inputs, **{n: unique("jconf-py-" + n) for n in names})
    theirs = dict(inputs, **{n: unique("jconf-java-" + n) for n in names})
    create(admin, *inputs.values(), *[ours[n] for n in names], *[theirs[n] for n in names])
    phases = join_seed.generate(JOIN_PHASES, users=15, orders_per_phase=40, events_per_phase=80, late_per_phase=4)
    exp_left, exp_outer, exp_counts = join_seed.expected(phases)

    java_app, our_app = unique("jconf-java-app"), unique("jconf-py-app")
    java_log = tempfile.NamedTemporaryFile(mode="w+", prefix="join-topology-", suffix=".log")
    java = subprocess.Popen(
        ["java", "-cp", classpath, "JoinTopology", bootstrap, java_app,
         inputs["orders"], inputs["events"], theirs["left_joined"], theirs["outer_joined"], theirs["final_counts"]],
        stdout=java_log, stderr=subprocess.STDOUT, text=True)
    streams = KafkaStreams(join_seed.build(ours), config(bootstrap, our_app))
    streams.start()
    try:
        wait_for(lambda: java.poll() is None and "STATE RUNNING" in tail_of(java_log, None), timeout=WAIT, what="Kafka Streams running",
                 detail=lambda: tail_of(java_log))
        wait_for(lambda: streams.state() == State.RUNNING, timeout=WAIT, what="polykafka.streams running")
        for orders, events in phases:
            # Kafka Streams looks for closed windows of unjoined records at most once a second of
            # wall-clock time: the next phase must not come sooner.
            time.sleep(1.5)
            produce(bootstrap, inputs["orders"], orders)
            produce(bootstrap, inputs["events"], events)
            for app in (our_app, java_app):
                wait_for(lambda: caught_up(bootstrap, app, list(inputs.values())), timeout=WAIT, what=app + " to process a phase",
                         detail=lambda: (java.poll(), tail_of(java_log), streams.metrics()))
        got = {side: {"left": _joined(bootstrap, t["left_joined"]), "outer": _joined(bootstrap, t["outer_joined"]),
                      "finals": _finals(bootstrap, t["final_counts"])} for side, t in (("ours", ours), ("theirs", theirs))}
    finally:
        streams.close(60)
        stop(java)
        java_log.close()
    for what in ("left", "outer", "finals"):
        assert got["ours"][what] == got["theirs"][what], (what, got["ours"][what] - got["theirs"][what], got["theirs"][what] - got["ours"][what])
    assert got["ours"]["left"] == exp_left
    assert got["ours"]["outer"] == exp_outer
    assert got["ours"]["finals"] == Counter((k, start, n) for (k, start), n in exp_counts.items())
    assert streams.metrics()["late_dropped"] > 0
