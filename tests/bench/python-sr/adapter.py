#!/usr/bin/env python3
"""S2 behind the adapter contract of tests/bench/README.md: the seed's UserEvent records through
a schema registry with Avro, one code path for both libraries (--lib confluent_kafka | polykafka,
confluent-kafka's API).

S2:  AvroSerializer(client, USER_EVENT)(value, ctx) then Producer.produce, per record (the schema
     is registered by one call before the window); poll(0) every 1000; flush.
S2C: the topic is filled first (same serializer, outside the window); then Consumer.consume(10000)
     on the assigned partition and AvroDeserializer(client)(msg.value(), ctx) per record.
checksum: S2C the sum of the decoded `timestamp` fields (the harness knows the expected sum);
S2 the sum of CRC-32 of the serialized values (informational: ids differ between registries)."""
import argparse
import importlib
import json
import resource
import sys
import time
import zlib

USER_EVENT = """{"type": "record", "name": "UserEvent", "namespace": "com.example.events",
  "fields": [{"name": "userId", "type": "string"}, {"name": "eventType", "type": "string"},
             {"name": "timestamp", "type": "long"},
             {"name": "metadata", "type": ["null", "string"], "default": null}]}"""
BASE_TS = 1764921600000
KINDS = ("USER_CREATED", "USER_UPDATED", "USER_DELETED")


def values(n):
    return [{"userId": "user-%d" % (i % 10000), "eventType": KINDS[i % 3], "timestamp": BASE_TS + i,
             "metadata": None if i % 2 else "m%d" % i} for i in range(n)]


def usage():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def produce_all(lib, a, ser, ctx, vals, meter=None):
    acked = {"ok": 0, "failed": 0}

    def on_delivery(err, msg):
        acked["failed" if err is not None else "ok"] += 1

    p = lib.Producer({"bootstrap.servers": a.bootstrap, "acks": "1", "linger.ms": 5, "batch.size": 1048576,
                      "enable.idempotence": False, "compression.type": "none", "on_delivery": on_delivery})
    total, crc = 0, 0
    t0, c0 = time.perf_counter(), usage()[0]
    for i, v in enumerate(vals):
        data = ser(v, ctx)
        total += len(data)
        crc += zlib.crc32(data)
        while True:
            try:
                p.produce(a.topic, value=data, partition=0)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 999:
            p.poll(0)
    left = p.flush(120)
    secs, cpu = time.perf_counter() - t0, usage()[0] - c0
    if left or acked["failed"]:
        raise SystemExit("%d records not acknowledged, %d failed" % (left, acked["failed"]))
    return acked["ok"], total, crc, secs, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--records", type=int, required=True)
    ap.add_argument("--size", type=int)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--registry", required=True)
    a = ap.parse_args()
    lib = importlib.import_module(a.lib)
    sr = importlib.import_module(a.lib + ".schema_registry")
    avro = importlib.import_module(a.lib + ".schema_registry.avro")
    serialization = importlib.import_module(a.lib + ".serialization")
    client = sr.SchemaRegistryClient({"url": a.registry})
    ctx = serialization.SerializationContext(a.topic, serialization.MessageField.VALUE)
    ser = avro.AvroSerializer(client, USER_EVENT)
    ser(values(1)[0], ctx)  # registers the schema, outside the window
    vals = values(a.records)
    if a.workload == "S2":
        n, nbytes, crc, secs, cpu = produce_all(lib, a, ser, ctx, vals)
        checksum = crc
    elif a.workload == "S2C":
        produce_all(lib, a, ser, ctx, vals)
        de = avro.AvroDeserializer(client)
        c = lib.Consumer({"bootstrap.servers": a.bootstrap, "group.id": "bench-s2c-%s" % a.topic,
                          "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        c.assign([lib.TopicPartition(a.topic, 0, lib.OFFSET_BEGINNING)])
        n, nbytes, checksum = 0, 0, 0
        deadline = time.time() + 300
        t0, c0 = None, None
        while n < a.records and time.time() < deadline:
            msgs = c.consume(10000, 0.5)
            if t0 is None and msgs:
                t0, c0 = time.perf_counter(), usage()[0]
            for m in msgs:
                if m.error() is not None:
                    raise SystemExit("consume error: %s" % m.error())
                raw = m.value()
                v = de(raw, ctx)
                n += 1
                nbytes += len(raw)
                checksum += v["timestamp"]
        secs, cpu = time.perf_counter() - t0, usage()[0] - c0
        c.close()
    else:
        raise SystemExit("unknown workload " + a.workload)
    print(json.dumps({"client": ("polykafka-python-sr" if a.lib == "polykafka" else "confluent-kafka-sr"), "workload": a.workload, "records": n, "bytes": nbytes, "seconds": secs,
                      "cpu_s": cpu, "rss_kb": usage()[1], "checksum": checksum % (1 << 64), "latency_ms": None}),
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
