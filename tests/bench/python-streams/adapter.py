"""The streams cases (K1, K2) of tests/bench/README.md with a Python stream processor:
polykafka.streams (ours), Quix Streams or Faust, the same topology and measured window.

    adapter.py --lib polykafka|quix|faust --workload K1|K2 --bootstrap H:P --topic T --records N
               --size B [--keys K]

Reads T (filled by the harness: null keys, the record index in the first 8 bytes of each value),
writes T-out; consumer group / application id bench-T; commits every second. The window runs from
the first record a user function sees to the end of the library's shutdown (its last commit);
startup_s (start to that first record) is printed beside it. One JSON line on stdout.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True, choices=["polykafka", "quix", "faust"])
ap.add_argument("--workload", required=True)
ap.add_argument("--bootstrap", required=True)
ap.add_argument("--topic", required=True)
ap.add_argument("--records", type=int, required=True)
ap.add_argument("--size", type=int, default=100)
ap.add_argument("--partitions", type=int, default=1)
ap.add_argument("--keys", type=int, default=10_000)
a = ap.parse_args()
OUT = a.topic + "-out"
APP = "bench-" + a.topic
N = a.records
K1_WANT = sum(1 for i in range(N) if i % 4)


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Progress:
    """The window's start (first record seen) and its end condition (every output produced)."""

    def __init__(self):
        self.first = None
        self.seen = 0
        self.last = {}
        self.total = 0
        self.done = threading.Event()

    def start(self):
        if self.first is None:
            self.first = (time.monotonic(), cpu())

    def mapped(self):
        # K1: one more record through map_values
        self.seen += 1
        if self.seen == K1_WANT:
            self.done.set()

    def counted(self, key, count):
        # K2: the latest count of every key sums to N once every record is counted
        self.total += count - self.last.get(key, 0)
        self.last[key] = count
        if self.total == N:
            self.done.set()


P = Progress()


def index(v: bytes) -> int:
    return int.from_bytes(v[:8], "big")


def k1_keep(v: bytes) -> bool:
    P.start()
    return index(v) % 4 != 0


def k1_map(v: bytes) -> bytes:
    P.mapped()
    return v[8:] + v[:8]


def k2_key(v: bytes) -> str:
    P.start()
    return "k%d" % (index(v) % a.keys)


def run_polykafka():
    from polykafka.streams import KafkaStreams, Serdes, StreamsBuilder
    b = StreamsBuilder()
    src = b.stream(a.topic, key_serde=Serdes.Bytes(), value_serde=Serdes.Bytes())
    if a.workload == "K1":
        src.filter(lambda k, v: k1_keep(v)).map_values(k1_map).to(OUT)
    else:
        counts = src.group_by(lambda k, v: k2_key(v), key_serde=Serdes.String(), name="by-key").count(materialized="counts")
        counts.to_stream().peek(P.counted).to(OUT, key_serde=Serdes.String(), value_serde=Serdes.Long())
    s = KafkaStreams(b.build(), {"application.id": APP, "bootstrap.servers": a.bootstrap, "commit.interval.ms": 1000})
    s.start()
    deadline = time.monotonic() + 900
    while not P.done.wait(0.05):
        if s.exception() is not None:
            sys.exit(f"error: the application failed: {s.exception()}")
        if time.monotonic() > deadline:
            sys.exit("error: not done after 900 s")
    if not s.close(60):
        sys.exit("error: close() did not finish within 60 s")


def run_quix():
    from quixstreams import Application
    state = tempfile.mkdtemp(prefix="quix-bench-")
    app = Application(broker_address=a.bootstrap, consumer_group=APP, auto_offset_reset="earliest",
                      commit_interval=1.0, state_dir=state, loglevel="WARNING")
    src = app.topic(a.topic, key_deserializer="bytes", value_deserializer="bytes")
    out = app.topic(OUT, key_serializer="bytes", value_serializer="bytes")
    sdf = app.dataframe(src)

    def stop_when_done():
        P.done.wait()
        app.stop()

    if a.workload == "K1":
        sdf = sdf.filter(k1_keep).apply(k1_map)
        sdf.to_topic(out)
    else:
        def count(value, key, timestamp, headers, state):
            c = state.get("count", 0) + 1
            state.set("count", c)
            P.counted(key, c)
            return c.to_bytes(8, "big")
        sdf = sdf.group_by(k2_key, name="by-key")
        sdf = sdf.apply(count, stateful=True, metadata=True)
        out = app.topic(OUT, key_serializer="str", value_serializer="bytes")
        sdf.to_topic(out)
    threading.Thread(target=stop_when_done, daemon=True).start()
    try:
        app.run()
    finally:
        shutil.rmtree(state, ignore_errors=True)


def run_faust():
    import asyncio
    import faust
    app = faust.App(APP, broker="kafka://" + a.bootstrap, store="memory://", topic_partitions=a.partitions,
                    broker_commit_interval=1.0, consumer_auto_offset_reset="earliest", web_enabled=False,
                    topic_replication_factor=1, table_standby_replicas=0)
    src = app.topic(a.topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    out = app.topic(OUT, key_serializer="raw", value_serializer="raw")
    worker = faust.Worker(app, loglevel="WARNING", quiet=True)

    def stop_when_done():
        if P.done.is_set():
            asyncio.ensure_future(worker.stop())

    if a.workload == "K1":
        @app.agent(src)
        async def k1(stream):
            async for v in stream:
                if k1_keep(v):
                    await out.send(value=k1_map(v))
                    stop_when_done()
    else:
        counts = app.Table("counts", default=int, partitions=a.partitions, key_type=str, value_type=int)

        @app.agent(src)
        async def k2(stream):
            async for key, v in stream.group_by(k2_key, name="by-key").items():
                key = key.decode() if isinstance(key, bytes) else key
                counts[key] += 1
                c = counts[key]
                P.counted(key, c)
                await out.send(key=key.encode(), value=c.to_bytes(8, "big"))
                stop_when_done()
    try:
        worker.execute_from_commandline()
    except SystemExit:
        pass


def main():
    started = time.monotonic()
    {"polykafka": run_polykafka, "quix": run_quix, "faust": run_faust}[a.lib]()
    end = time.monotonic()
    if not P.done.is_set() or P.first is None:
        sys.exit("error: stopped before every record was processed")
    t0, cpu0 = P.first
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # On a line of its own: Faust writes terminal escapes to stdout without a newline.
    sys.stdout.write("\n")
    print(json.dumps({"client": {"polykafka": "polykafka-python-streams", "quix": "quix-streams", "faust": "faust"}[a.lib],
                      "workload": a.workload, "records": N, "bytes": N * a.size, "seconds": round(end - t0, 6),
                      "cpu_s": round(cpu() - cpu0, 4), "rss_kb": rss, "checksum": None, "latency_ms": None,
                      "startup_s": round(t0 - started, 3)}))


if a.workload not in ("K1", "K2"):
    sys.exit(f"error: unknown workload {a.workload}")
main()
