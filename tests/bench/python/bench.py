#!/usr/bin/env python3
"""Produce and consume throughput and CPU per message: polykafka vs confluent-kafka on the
same broker. Not a test.

    build/venv-python/bin/python tests/bench/python/bench.py [--count N] [--size BYTES]

Bootstrap: $KAFKA_BOOTSTRAP, else build/cluster/cluster.env. Each client produces N records
per-message (produce() + poll(0) every 1000) and, for polykafka, with produce_batch; then
consumes them back with a poll loop and with consume(1000). CPU is user+system time of the
process (resource.getrusage), so it includes the client's own threads.
"""

import argparse
import importlib
import os
import pathlib
import resource
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[3]


def bootstrap():
    if os.environ.get("KAFKA_BOOTSTRAP"):
        return os.environ["KAFKA_BOOTSTRAP"]
    for line in (ROOT / "build/cluster/cluster.env").read_text().splitlines():
        if line.startswith("KAFKA_BOOTSTRAP="):
            return line.split("=", 1)[1]
    raise SystemExit("no cluster: run tests/cluster/kafka up")


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Meter:
    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), cpu()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.cpu = cpu() - self.c0


def make_topic(mod, bs, partitions):
    admin = importlib.import_module(mod.__name__ + ".admin")
    name = "bench-py-%s" % uuid.uuid4().hex[:10]
    client = admin.AdminClient({"bootstrap.servers": bs})  # kept alive until the result
    client.create_topics(
        [admin.NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)
    time.sleep(1)  # metadata propagation
    return name


PRODUCER_CONF = {"linger.ms": 5, "batch.size": 1048576, "queue.buffering.max.kbytes": 1048576,
                 "queue.buffering.max.messages": 1000000,
                 "compression.type": "none", "acks": "all"}


def produce_each(mod, bs, topic, n, value):
    p = mod.Producer(dict(PRODUCER_CONF, **{"bootstrap.servers": bs}))
    p.produce(topic, value)  # metadata
    p.flush(30)
    with Meter() as m:
        for i in range(n):
            while True:
                try:
                    p.produce(topic, value)
                    break
                except BufferError:
                    p.poll(0.01)
            if i % 1000 == 0:
                p.poll(0)
        assert p.flush(120) == 0
    return m


def produce_each_with_callbacks(mod, bs, topic, n, value):
    p = mod.Producer(dict(PRODUCER_CONF, **{"bootstrap.servers": bs}))
    p.produce(topic, value)
    p.flush(30)
    count = [0]

    def cb(err, msg):
        count[0] += 1
    with Meter() as m:
        for i in range(n):
            while True:
                try:
                    p.produce(topic, value, on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.01)
            if i % 1000 == 0:
                p.poll(0)
        assert p.flush(120) == 0
    assert count[0] == n
    return m


def produce_batch(mod, bs, topic, n, value):
    p = mod.Producer(dict(PRODUCER_CONF, **{"bootstrap.servers": bs}))
    if not hasattr(p, "produce_batch"):
        return None
    p.produce(topic, value)
    p.flush(30)
    batch = [{"value": value} for _ in range(1000)]
    with Meter() as m:
        sent = 0
        while sent < n:
            sent += p.produce_batch(topic, batch)
            p.poll(0)
        assert p.flush(120) == 0
    return m


def consume_poll(mod, bs, topic, n):
    c = mod.Consumer({"bootstrap.servers": bs, "group.id": "bench-" + uuid.uuid4().hex,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    first = None
    while first is None or first.error():
        first = c.poll(10)
    got = 1
    with Meter() as m:
        while got < n:
            msg = c.poll(5)
            if msg is None:
                break
            if not msg.error():
                msg.value()
                got += 1
    c.close()
    assert got >= n, got
    return m


def consume_batch(mod, bs, topic, n):
    c = mod.Consumer({"bootstrap.servers": bs, "group.id": "bench-" + uuid.uuid4().hex,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    while got == 0:
        got = len([x for x in c.consume(1, 10) if not x.error()])
    with Meter() as m:
        while got < n:
            msgs = c.consume(1000, 5)
            if not msgs:
                break
            for msg in msgs:
                if not msg.error():
                    msg.value()
                    got += 1
    c.close()
    assert got >= n, got
    return m


def aio_consume_lag(mod, bs, topic, n):
    """AIOConsumer.consume(1000) throughput and the event loop's worst lag meanwhile (a task
    sleeping 1 ms measures how late it wakes)."""
    import asyncio
    aio = importlib.import_module(mod.__name__ + ".aio")

    async def body():
        c = aio.AIOConsumer({"bootstrap.servers": bs, "group.id": "bench-" + uuid.uuid4().hex,
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        await c.subscribe([topic])
        got = 0
        while got == 0:
            got = len([x for x in await c.consume(1, 10) if not x.error()])
        lag = [0.0]
        stop = [False]

        async def ticker():
            while not stop[0]:
                t = time.perf_counter()
                await asyncio.sleep(0.001)
                lag[0] = max(lag[0], time.perf_counter() - t - 0.001)
        tick = asyncio.ensure_future(ticker())
        with Meter() as m:
            while got < n:
                msgs = await c.consume(1000, 5)
                if not msgs:
                    break
                got += sum(1 for x in msgs if not x.error())
        stop[0] = True
        await tick
        await c.close()
        m.lag = lag[0]
        return m
    return asyncio.run(body())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--clients", default="confluent_kafka,polykafka")
    args = ap.parse_args()
    bs = bootstrap()
    value = b"x" * args.size
    rows = []
    for name in args.clients.split(","):
        mod = importlib.import_module(name)
        topic = make_topic(mod, bs, 3)
        for label, fn in [("produce", produce_each), ("produce+callback", produce_each_with_callbacks),
                          ("produce_batch", produce_batch)]:
            m = fn(mod, bs, topic, args.count, value)
            if m is not None:
                rows.append((name, label, args.count, m))
        total = 1 + 2 * args.count + (args.count if hasattr(mod.Producer, "produce_batch") else 0) + 2
        for label, fn in [("consume poll()", consume_poll), ("consume(1000)", consume_batch),
                          ("aio consume(1000)", aio_consume_lag)]:
            m = fn(mod, bs, topic, args.count)
            rows.append((name, label, args.count, m))
    print("%d messages of %d bytes, broker %s" % (args.count, args.size, bs))
    print("%-16s %-18s %12s %10s %14s %14s" % ("client", "operation", "msg/s", "MB/s", "CPU us/msg",
                                             "loop lag ms"))
    for name, label, n, m in rows:
        lag = "%.1f" % (m.lag * 1000) if hasattr(m, "lag") else ""
        print("%-16s %-18s %12.0f %10.1f %14.2f %14s" % (
            name, label, n / m.wall, n * args.size / m.wall / 1e6, m.cpu / n * 1e6, lag))


if __name__ == "__main__":
    main()
