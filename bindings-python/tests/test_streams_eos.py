"""processing.guarantee=exactly_once_v2 against the real broker, with the seed topology running
in processes of its own (streams_eos_app.py):

- crash: the instance is SIGKILLed in the middle of processing (after some commits, with input
  still to come) and started again; the final outputs a read_committed consumer sees equal the
  reference computed independently (streams_seed.expected): nothing counted twice. The same run
  under at_least_once prints how many updates were repeated.
- failover: two instances share the tasks; one is SIGKILLed; the other restores its tasks from
  their changelogs and finishes with the reference results; the restore rate is printed.

Event time is moved to the last hours (see ``setup``). The input has no late records (``late_every=0``): stream time is not kept across a restart
(a restarted task starts it again from the records it reads), so a record late by more than the
grace could be counted after a restart where the reference drops it.
"""

import json
import pathlib
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import confluent_kafka as ck
from confluent_kafka.admin import AdminClient as CkAdmin

from conftest import unique
from polykafka.streams import Serdes, TimeWindowedSerde
from test_streams import create, produce, wait_for
import streams_seed as seed

HERE = pathlib.Path(__file__).resolve().parent
WINDOWED = TimeWindowedSerde(Serdes.String(), seed.WINDOW.total_seconds() * 1000)
TOPIC_KEYS = ("events", "orders", "notifications", "country_counts", "windowed_counts", "enriched")


class App:
    """One instance of the seed application in a process of its own; ``metrics`` is the last
    line it printed."""

    def __init__(self, bootstrap, app, topics, config):
        arg = json.dumps({"bootstrap": bootstrap, "app": app, "topics": topics, "config": config})
        self.proc = subprocess.Popen([sys.executable, str(HERE / "streams_eos_app.py"), arg], cwd=HERE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.metrics = {}
        self.log = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.metrics = json.loads(line)
            except ValueError:
                self.log = (self.log + [line.rstrip()])[-40:]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(120)
        self.reader.join(10)
        return self.proc.returncode

    def __repr__(self):
        return "App(pid %d, rc %s, metrics %s, log %s)" % (self.proc.pid, self.proc.poll(), self.metrics, self.log[-10:])


class Outputs:
    """The seed's outputs as a read_committed consumer sees them: notifications counted, the last
    value per key of the counts."""

    def __init__(self, bootstrap, topics):
        self.bootstrap = bootstrap
        self.topics = topics
        self.c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("eos-reader"),
                              "enable.auto.commit": False, "isolation.level": "read_committed"})
        tps = []
        for key in ("notifications", "country_counts", "windowed_counts"):
            t = topics[key]
            for p in self.c.list_topics(t, timeout=10).topics[t].partitions:
                tps.append(ck.TopicPartition(t, p, ck.OFFSET_BEGINNING))
        self.c.assign(tps)
        self.notes, self.by_country, self.windowed = Counter(), {}, {}

    def poll(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            for m in self.c.consume(1000, 0.2):
                if m.error():
                    continue
                if m.topic() == self.topics["notifications"]:
                    self.notes[json.dumps(json.loads(m.value()), sort_keys=True)] += 1
                elif m.topic() == self.topics["country_counts"]:
                    self.by_country[m.key().decode()] = Serdes.Long().deserialize(m.value())
                else:
                    w = WINDOWED.deserialize(m.key())
                    self.windowed[(w.key, w.start)] = Serdes.Long().deserialize(m.value())

    def reached(self, exp):
        """Every output at least where the reference ends (counted twice would go beyond)."""
        return (sum(self.notes.values()) >= sum(exp["notifications"].values())
                and all(self.by_country.get(c, 0) >= n for c, n in exp["by_country"].items())
                and all(self.windowed.get(k, 0) >= n for k, n in exp["windowed"].items()))

    def wait(self, exp, apps, timeout=120):
        deadline = time.time() + timeout
        while not self.reached(exp):
            short = [(k, n, self.windowed.get(k)) for k, n in sorted(exp["windowed"].items()) if self.windowed.get(k, 0) < n]
            assert time.time() < deadline, "outputs not reached: %d/%d notifications, %s vs %s, %d windows short %s; input %s; %s" % (
                sum(self.notes.values()), sum(exp["notifications"].values()), self.by_country, exp["by_country"],
                len(short), short[:8], input_order(self.bootstrap, self.topics["events"]), apps)
            self.poll(1)
        self.poll(3)  # anything beyond the reference that is still coming

    def repeated(self, exp):
        """Updates beyond the reference: notifications sent twice, counts counted twice."""
        return {
            "notifications": sum(self.notes.values()) - sum(exp["notifications"].values()),
            "country_counts": sum(v - exp["by_country"].get(k, 0) for k, v in self.by_country.items()),
            "windowed_counts": sum(v - exp["windowed"].get(k, 0) for k, v in self.windowed.items()),
        }

    def close(self):
        self.c.close()


def input_order(bootstrap, topic):
    """Per partition of ``topic``: records, and how far the most out-of-order record lags behind
    the largest timestamp before it (ms): the generator keeps it under 50 s, so more means the
    input itself is out of order (for a failure message)."""
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("eos-order"), "enable.auto.commit": False})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in parts])
        top, worst, n, idle = {}, {}, {}, time.time()
        while time.time() - idle < 3:
            for m in c.consume(1000, 0.5):
                if m.error():
                    continue
                idle = time.time()
                p, ts = m.partition(), m.timestamp()[1]
                n[p] = n.get(p, 0) + 1
                worst[p] = max(worst.get(p, 0), top.get(p, ts) - ts)
                top[p] = max(top.get(p, ts), ts)
        return {p: (n[p], worst[p]) for p in sorted(n)}
    finally:
        c.close()


class Feeder(threading.Thread):
    """Produces the events in chunks with pauses, so the application is killed while input is
    still coming."""

    def __init__(self, bootstrap, topic, events, chunk=300, pause=0.2):
        super().__init__(daemon=True)
        self.args = (bootstrap, topic, events, chunk, pause)
        self.sent = 0
        self.error = None

    def run(self):
        bootstrap, topic, events, chunk, pause = self.args
        try:
            for i in range(0, len(events), chunk):
                produce(bootstrap, topic, events[i:i + chunk])
                self.sent = min(i + chunk, len(events))
                time.sleep(pause)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = e


def setup(admin, n_events=12000, users=300):
    topics = {k: unique("eos-" + k) for k in TOPIC_KEYS}
    create(admin, *topics.values())
    # Event time moved to the last hours (by whole windows): the broker deletes windowed
    # changelog records older than the changelog's retention.ms (size + grace + 1 day) by their
    # timestamps, as it does Kafka Streams', and a restore would miss them.
    size = int(seed.WINDOW.total_seconds() * 1000)
    shift = (int(time.time() * 1000) - 2 * 3_600_000 - seed.BASE_MS) // size * size
    events = [(u, ev, ts + shift) for u, ev, ts in seed.generate(n_events, users, 60, late_every=0)]
    return topics, events, seed.expected(events, [], 3)


def settings(guarantee, **extra):
    # One commit interval for both guarantees (Kafka Streams' defaults: 100 ms under
    # exactly_once_v2, 30 s under at_least_once), long enough to hold some work when killed.
    c = {"processing.guarantee": guarantee, "commit.interval.ms": 1000, "consumer.fetch.max.wait.ms": 100, "max.poll.records": 200}
    c.update(extra)
    return c


def crash_and_restart(bootstrap, admin, guarantee):
    topics, events, exp = setup(admin)
    app = unique("eos-crash-app")
    conf = settings(guarantee)
    feeder = Feeder(bootstrap, topics["events"], events)
    first = App(bootstrap, app, topics, conf)
    out = Outputs(bootstrap, topics)
    try:
        feeder.start()
        wait_for(lambda: first.metrics.get("commits", 0) >= 3 and first.metrics.get("processed", 0) >= 3000,
                 timeout=120, what="some commits", detail=lambda: first)
        first.kill()
        at_kill = dict(first.metrics, sent=feeder.sent)
        # Killed in the middle: each event is processed twice (events, then the repartition).
        assert at_kill["processed"] < 2 * len(events), at_kill
        second = App(bootstrap, app, topics, conf)
        try:
            feeder.join(120)
            assert feeder.error is None, feeder.error
            # The reference assumes the generator's order in each partition (out of order by
            # less than 50 s, within the grace): the producer must have kept it.
            order = input_order(bootstrap, topics["events"])
            assert all(late < 50_000 for _, late in order.values()), "the input is out of order: %s" % order
            out.wait(exp, [second])
        finally:
            assert second.stop() == 0, second
        print("\n%s: killed at %s; restarted instance %s; repeated updates %s" % (guarantee, at_kill, second.metrics, out.repeated(exp)))
        return out, exp
    finally:
        if first.proc.poll() is None:
            first.kill()
        out.close()


def test_exactly_once_v2_crash_and_restart_counts_nothing_twice(bootstrap, admin):
    out, exp = crash_and_restart(bootstrap, admin, "exactly_once_v2")
    assert out.notes == exp["notifications"]
    assert out.by_country == exp["by_country"]
    assert out.windowed == exp["windowed"]
    assert out.repeated(exp) == {"notifications": 0, "country_counts": 0, "windowed_counts": 0}


def test_at_least_once_crash_and_restart_repeats_updates(bootstrap, admin):
    out, exp = crash_and_restart(bootstrap, admin, "at_least_once")
    # Nothing is lost; what was processed after the last commit is counted again (printed).
    assert out.reached(exp)
    assert set(out.by_country) == set(exp["by_country"]) and set(out.windowed) == set(exp["windowed"])


def members(bootstrap, group):
    """(member id, partitions assigned) of the group's members, as the broker describes them."""
    a = CkAdmin({"bootstrap.servers": bootstrap})
    try:
        d = a.describe_consumer_groups([group])[group].result(10)
        return [(m.member_id, [(tp.topic, tp.partition) for tp in m.assignment.topic_partitions]) for m in d.members]
    except ck.KafkaException:
        return []


def test_failover_the_survivor_restores_the_killed_instances_tasks(bootstrap, admin):
    topics, events, exp = setup(admin, 24000, 600)
    app = unique("eos-failover-app")
    conf = settings("exactly_once_v2", **{"consumer.session.timeout.ms": 6000, "consumer.heartbeat.interval.ms": 1000})
    feeder = Feeder(bootstrap, topics["events"], events, pause=0.3)
    a = App(bootstrap, app, topics, conf)
    b = App(bootstrap, app, topics, conf)
    out = Outputs(bootstrap, topics)
    try:
        wait_for(lambda: len(members(bootstrap, app)) == 2 and all(parts for _, parts in members(bootstrap, app)),
                 timeout=120, what="both instances with partitions", detail=lambda: (members(bootstrap, app), a, b))
        feeder.start()
        wait_for(lambda: all(x.metrics.get("commits", 0) >= 2 and x.metrics.get("processed", 0) > 6000 for x in (a, b)),
                 timeout=120, what="both instances processing", detail=lambda: (a, b))
        before = dict(b.metrics)
        a.kill()
        feeder.join(180)
        assert feeder.error is None, feeder.error
        out.wait(exp, [b])
        after = dict(b.metrics)
        assert b.stop() == 0, b
        assert out.notes == exp["notifications"]
        assert out.by_country == exp["by_country"]
        assert out.windowed == exp["windowed"]
        restored = after["restored"] - before["restored"]
        seconds = after["restore_seconds"] - before["restore_seconds"]
        assert restored > 0, (before, after)
        print("\nfailover: the survivor restored %d changelog records in %.3f s: %.0f records/s (before the kill %s, at the end %s)"
              % (restored, seconds, restored / seconds if seconds else float("nan"), before, after))
    finally:
        for x in (a, b):
            if x.proc.poll() is None:
                x.kill()
        out.close()
