#!/usr/bin/env python3
"""Python peers behind the adapter contract of tests/bench/README.md: --lib confluent | kafka-python."""
import argparse
import json
import resource
import sys
import threading
import time
import zlib


def payload(size):
    return bytes(97 + (i * 31 + 7) % 26 for i in range(size))


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def settings(a):
    s = {"batch.size": 1048576, "compression.type": "none", "linger.ms": 5, "acks": "1", "enable.idempotence": False}
    if a.workload in ("P2", "T1", "P4", "M1"):
        s.update({"acks": "all", "enable.idempotence": True})
    if a.workload == "S1":
        s["compression.type"] = a.compression
    if a.workload == "L1":
        s["linger.ms"] = 0
    return s


def m1_partitions(a):
    """M1: every partition of the topics <topic>-0 .. <topic>-(topics-1)."""
    return [(f"{a.topic}-{j}", p) for j in range(a.topics) for p in range(a.partitions)]


def idle_m1(a, producer, consumer, send, KafkaException):
    """M1 with the confluent-kafka API: a producer that wrote one record (key k0) to each topic, or a
    consumer assigned every partition that read what is there, then idle for --idle s between the two
    lines the harness samples /proc at; the producer keeps calling poll(1.0), the consumer consume(10000, 1.0)."""
    v = payload(a.size)
    n = 0
    if a.role == "producer":
        p = producer()
        for j in range(a.topics):
            send(p, v, b"k0", f"{a.topic}-{j}")
        left = p.flush(120)
        n = a.topics - left
        print("M1 idle start", flush=True)
        t_end = time.time() + a.idle
        while time.time() < t_end:
            p.poll(min(1.0, max(0.0, t_end - time.time())))
        print("M1 idle end", flush=True)
        time.sleep(0.5)
        Meter().done(a, n, n * a.size, n * zlib.crc32(v))
        return
    c = consumer()
    total = 0

    def consume():
        nonlocal n, total
        for msg in c.consume(10000, 1.0):
            if msg.error():
                raise KafkaException(msg.error())
            total += zlib.crc32(msg.value())
            n += 1
    while n < a.records:
        consume()
    print("M1 idle start", flush=True)
    t_end = time.time() + a.idle
    while time.time() < t_end:
        consume()
    print("M1 idle end", flush=True)
    time.sleep(0.5)
    Meter().done(a, n, n * a.size, total)
    c.close()


def pct(lat):
    lat.sort()
    if not lat:
        return {"p50": 0, "p99": 0, "p999": 0}
    import math
    at = lambda q: lat[min(len(lat), max(1, math.ceil(len(lat) * q))) - 1]
    return {"p50": at(0.5), "p99": at(0.99), "p999": at(0.999)}


class Meter:
    def __init__(self):
        self.t0 = time.perf_counter()
        self.c0 = usage()[0]

    def done(self, a, records, nbytes, checksum, latency=None, **extra):
        secs = time.perf_counter() - self.t0
        cpu, rss = usage()
        print(json.dumps(dict({"client": a.client, "workload": a.workload, "records": records, "bytes": nbytes,
                               "seconds": secs, "cpu_s": cpu - self.c0, "rss_kb": rss,
                               "checksum": checksum % (1 << 64), "latency_ms": latency}, **extra)), flush=True)


# ------------------------------------------------------------------------------- confluent-kafka
def confluent(a):
    from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING, KafkaException
    s = settings(a)
    counts = {"ok": 0, "failed": 0}

    def on_delivery(err, msg):
        if err is None:
            counts["ok"] += 1
        else:
            if counts["failed"] == 0:
                print(f"delivery failed: {err}", file=sys.stderr)
            counts["failed"] += 1

    def producer(extra=None):
        conf = {"bootstrap.servers": a.bootstrap, "queue.buffering.max.messages": 1000000,
                "queue.buffering.max.kbytes": 1048576, "on_delivery": on_delivery}
        conf.update({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in s.items()})
        # P4/M1: Java's partitioner for keyed records (librdkafka's default is consistent_random: CRC-32)
        if a.workload in ("P4", "M1"):
            conf["partitioner"] = "murmur2_random"
        conf.update(extra or {})
        return Producer(conf)

    def consumer():
        c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": f"bench-{a.topic}", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        c.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in range(a.partitions)])
        return c

    def consumer_of(tps):
        c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": f"bench-{a.topic}", "enable.auto.commit": False,
                      "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
        c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in tps])
        return c

    def send(p, v, key=None, topic=None):
        while True:
            try:
                p.produce(topic or a.topic, v, key)
                return
            except BufferError:
                p.poll(0.001)

    if a.workload == "M1":
        idle_m1(a, producer, lambda: consumer_of(m1_partitions(a)), send, KafkaException=KafkaException)
    elif a.workload in ("P1", "P2", "P3", "P4", "S1", "T1"):
        t1 = a.workload == "T1"
        p = producer({"transactional.id": f"bench-{a.topic}"} if t1 else None)
        if t1:
            p.init_transactions(30)
        v = payload(a.size)
        keys = [f"k{j}".encode() for j in range(10000)] if a.workload == "P4" else None
        m = Meter()
        for i in range(a.records):
            if t1 and i % a.txn_size == 0:
                if i:
                    p.commit_transaction(60)
                p.begin_transaction()
            send(p, v, keys[i % 10000] if keys else None)
            if i % 1000 == 0:
                p.poll(0)
        if t1:
            p.commit_transaction(60)
        p.flush(300)
        ok = counts["ok"]
        m.done(a, ok, ok * a.size, ok * zlib.crc32(v), failed=counts["failed"])
    elif a.workload == "C1":
        c = consumer()
        n = nbytes = total = 0
        m = Meter()
        idle = time.time()
        while n < a.records:
            msgs = c.consume(10000, 0.5)
            if not msgs:
                if time.time() - idle > 30:
                    print(f"no record for 30 s after {n}", file=sys.stderr)
                    break
                continue
            idle = time.time()
            for msg in msgs:
                if msg.error():
                    raise KafkaException(msg.error())
                v = msg.value()
                total += zlib.crc32(v)
                nbytes += len(v)
            n += len(msgs)
        m.done(a, n, nbytes, total)
        c.close()
    elif a.workload == "L1":
        c = consumer()
        p = producer()
        send(p, b"w")
        p.flush(30)
        t_end = time.time() + 30
        while time.time() < t_end:
            msgs = c.consume(10, 0.1)
            if any(len(x.value() or b"") < 8 for x in msgs if not x.error()):
                break
        total_n = int(round(a.rate * a.duration))
        period = 1.0 / a.rate
        m = Meter()
        start = time.perf_counter()

        def run():
            v = bytearray(payload(max(a.size, 8)))
            for i in range(total_n):
                d = start + i * period - time.perf_counter()
                if d > 0:
                    time.sleep(d)
                v[:8] = i.to_bytes(8, "big")
                send(p, bytes(v))
                p.poll(0)
            p.flush(30)

        th = threading.Thread(target=run)
        th.start()
        lat, total, nbytes = [], 0, 0
        idle = time.time()
        while len(lat) < total_n:
            # poll(), not consume(n, timeout): consume waits for n records or the whole timeout.
            msg = c.poll(0.1)
            msgs = [msg] if msg is not None else []
            now = time.perf_counter()
            if not msgs and time.time() - idle > 10:
                print(f"no record for 10 s after {len(lat)}", file=sys.stderr)
                break
            for msg in msgs:
                if msg.error():
                    raise KafkaException(msg.error())
                v = msg.value()
                if len(v) < 8:
                    continue
                i = int.from_bytes(v[:8], "big")
                lat.append((now - (start + i * period)) * 1e3)
                total += zlib.crc32(v)
                nbytes += len(v)
                idle = time.time()
        th.join()
        n = len(lat)
        m.done(a, n, nbytes, total, pct(lat), rate=a.rate)
        c.close()


# --------------------------------------------------------------------------------- kafka-python
def kafka_python(a):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    s = settings(a)
    if a.workload in ("P1", "P2", "P3", "P4", "S1") or (a.workload == "M1" and a.role == "producer"):
        kw = dict(bootstrap_servers=a.bootstrap, acks=1 if s["acks"] == "1" else "all", linger_ms=s["linger.ms"],
                  batch_size=s["batch.size"], max_request_size=2097152,
                  compression_type=None if s["compression.type"] == "none" else s["compression.type"])
        if s["enable.idempotence"]:
            kw["enable_idempotence"] = True
        p = KafkaProducer(**kw)
        if a.workload == "M1":
            # M1: one record (key k0) to each topic, then idle (the producer's own thread runs on).
            v = payload(a.size)
            futs = [p.send(f"{a.topic}-{j}", v, key=b"k0") for j in range(a.topics)]
            p.flush(120)
            ok = sum(1 for f in futs if f.succeeded())
            print("M1 idle start", flush=True)
            time.sleep(a.idle)
            print("M1 idle end", flush=True)
            time.sleep(0.5)
            Meter().done(a, ok, ok * a.size, ok * zlib.crc32(v))
            p.close()
            return
        p.partitions_for(a.topic)
        v = payload(a.size)
        keys = [f"k{j}".encode() for j in range(10000)] if a.workload == "P4" else None
        m = Meter()
        # P4: kafka-python's default partitioner is Java's murmur2
        futs = [p.send(a.topic, v, key=keys[i % 10000]) for i in range(a.records)] if keys else \
            [p.send(a.topic, v) for _ in range(a.records)]
        p.flush(300)
        ok = sum(1 for f in futs if f.succeeded())
        failed = len(futs) - ok
        if failed:
            print(f"delivery failed: {next(f.exception for f in futs if not f.succeeded())}", file=sys.stderr)
        m.done(a, ok, ok * a.size, ok * zlib.crc32(v), failed=failed)
        p.close()
    elif a.workload in ("C1", "M1"):
        c = KafkaConsumer(bootstrap_servers=a.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
                          group_id=None, isolation_level="read_committed")
        tps = [TopicPartition(a.topic, p) for p in range(a.partitions)] if a.workload == "C1" else \
            [TopicPartition(f"{a.topic}-{j}", p) for j in range(a.topics) for p in range(a.partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        n = nbytes = total = 0
        m = Meter()
        idle = time.time()
        while n < a.records:
            got = c.poll(timeout_ms=1000 if a.workload == "M1" else 500, max_records=10000)
            if not got and a.workload != "M1":
                if time.time() - idle > 30:
                    print(f"no record for 30 s after {n}", file=sys.stderr)
                    break
                continue
            idle = time.time()
            for recs in got.values():
                for r in recs:
                    total += zlib.crc32(r.value)
                    nbytes += len(r.value)
                n += len(recs)
        if a.workload == "M1":
            # M1: every record there is read (above); now idle, poll(1 s) after poll.
            print("M1 idle start", flush=True)
            t_end = time.time() + a.idle
            while time.time() < t_end:
                for recs in c.poll(timeout_ms=1000, max_records=10000).values():
                    n += len(recs)
                    total += sum(zlib.crc32(r.value) for r in recs)
            print("M1 idle end", flush=True)
            time.sleep(0.5)
            m = Meter()
        m.done(a, n, nbytes, total)
        c.close()
    else:
        print(f"kafka-python adapter does not offer {a.workload}", file=sys.stderr)
        sys.exit(2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True, choices=["confluent", "kafka-python"])
    for f in ("--workload", "--bootstrap", "--topic"):
        ap.add_argument(f, required=True)
    ap.add_argument("--compression", default="none")
    for f, d in (("--records", 1000000), ("--size", 100), ("--partitions", 1), ("--txn-size", 1000)):
        ap.add_argument(f, type=int, default=d)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--role", default="producer", choices=["producer", "consumer"])
    ap.add_argument("--topics", type=int, default=1)
    ap.add_argument("--idle", type=float, default=30)
    a = ap.parse_args()
    a.client = "confluent-kafka" if a.lib == "confluent" else "kafka-python"
    (confluent if a.lib == "confluent" else kafka_python)(a)


if __name__ == "__main__":
    main()
