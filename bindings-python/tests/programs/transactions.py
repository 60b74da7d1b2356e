"""A confluent-kafka exactly-once program: read an input topic, write a transformed copy in
transactions that also commit the consumer's offsets, abort one transaction on purpose.

    python transactions.py BOOTSTRAP TOPIC
"""
import sys

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, base = sys.argv[1], sys.argv[2]
src, dst = base + "-in", base + "-out"
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(src, 3, 1), NewTopic(dst, 1, 1)]).values():
    f.result()

feeder = Producer({"bootstrap.servers": bootstrap})
for i in range(30):
    feeder.produce(src, value=b"%d" % i)
feeder.flush()

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": base + "-eos",
                     "auto.offset.reset": "earliest", "enable.auto.commit": False,
                     "isolation.level": "read_committed"})
consumer.subscribe([src])
producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": base + "-txn"})
producer.init_transactions()

processed, aborted_once = 0, False
while processed < 30:
    msgs = consumer.consume(num_messages=10, timeout=1.0)
    msgs = [m for m in msgs if not m.error()]
    if not msgs:
        continue
    producer.begin_transaction()
    try:
        for m in msgs:
            producer.produce(dst, value=b"squared %d" % (int(m.value()) ** 2))
        if not aborted_once:
            aborted_once = True
            raise RuntimeError("simulated failure")
        producer.send_offsets_to_transaction(
            consumer.position(consumer.assignment()), consumer.consumer_group_metadata())
        producer.commit_transaction()
        processed += len(msgs)
    except RuntimeError:
        producer.abort_transaction()
        # Rewind to the committed offsets: the aborted batch is processed again.
        for tp in consumer.committed(consumer.assignment()):
            if tp.offset < 0:
                tp.offset = -2  # OFFSET_BEGINNING
            consumer.seek(tp)
    except KafkaException as e:
        if e.args[0].txn_requires_abort():
            producer.abort_transaction()
        else:
            raise
consumer.close()

check = Consumer({"bootstrap.servers": bootstrap, "group.id": base + "-check",
                  "auto.offset.reset": "earliest"})
check.subscribe([dst])
out = []
while len(out) < 30:
    for m in check.consume(100, 1.0):
        if not m.error():
            out.append(m.value())
assert check.consume(100, 2.0) == []
check.close()
assert sorted(out) == sorted(b"squared %d" % (i * i) for i in range(30)), out
print("exactly once: %d results" % len(out))
