"""The Python soak program (tests/soak/run): confluent-kafka's API on polykafka. Arguments: BOOTSTRAP TOPIC GROUP
RECORDS CHUNK. Produces CHUNK records (key, ~150-byte value, a `seq` header), consumes them back in its group,
commits, repeats until RECORDS went both ways; prints `progress N` after each chunk and `ok N` at the end, or
`FAIL ...` (exit 2) when a record is missing, doubled, out of order or damaged."""
import importlib
import os
import sys

# SOAK_CLIENT=confluent_kafka runs the same program on the mirrored library (tests/soak/run --mirrored).
client = importlib.import_module(os.environ.get("SOAK_CLIENT", "polykafka"))
Consumer, Producer = client.Consumer, client.Producer

boot, topic, group, total, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
PAD = b"x" * 130


def fail(msg):
    print(f"FAIL {msg}", flush=True)
    sys.exit(2)


failed = []
producer = Producer({"bootstrap.servers": boot, "linger.ms": 5})
consumer = Consumer({"bootstrap.servers": boot, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest"})


def report(err, msg):
    if err is not None:
        failed.append(str(err))


expected = 0
while expected < total:
    end = min(expected + chunk, total)
    for seq in range(expected, end):
        value = b"%012d|" % seq + PAD
        while True:
            try:
                producer.produce(topic, value, key=b"key-%d" % (seq % 100), headers=[("seq", b"%d" % seq)],
                                 on_delivery=report)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(60) != 0:
        fail(f"flush left records unsent at {expected}")
    if failed:
        fail(f"delivery failed: {failed[0]}")
    if expected == 0:
        # Subscribed once the producer made the topic (auto-created), so the group assigns its partition at once.
        consumer.subscribe([topic])
    idle = 0
    while expected < end:
        msgs = consumer.consume(1000, 1.0)
        if not msgs:
            idle += 1
            if idle > 60:
                fail(f"nothing consumed for 60 s at {expected} (chunk ends at {end})")
            continue
        idle = 0
        for m in msgs:
            if m.error():
                fail(f"consume error {m.error()}")
            seq = int(m.value()[:12])
            if seq != expected:
                fail(f"read {seq}, expected {expected}")
            if m.key() != b"key-%d" % (seq % 100) or m.headers() != [("seq", b"%d" % seq)] or len(m.value()) != 143:
                fail(f"record {seq} damaged: key {m.key()!r} headers {m.headers()!r} value length {len(m.value())}")
            expected += 1
    if expected != end:
        fail(f"read past the chunk: {expected} > {end}")
    consumer.commit(asynchronous=False)
    print(f"progress {expected}", flush=True)
consumer.close()
producer.flush(10)
print(f"ok {expected}", flush=True)
