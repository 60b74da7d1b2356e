"""A confluent-kafka style program (produce, then consume back): only the import says polykafka.

    KAFKA_BOOTSTRAP=127.0.0.1:9092 build/venv-python/bin/python bindings-python/demo.py
"""

import os
import sys

import polykafka as confluent_kafka
from polykafka.admin import AdminClient, NewTopic

bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
topic = sys.argv[1] if len(sys.argv) > 1 else "polykafka-python-demo"

admin = AdminClient({"bootstrap.servers": bootstrap})
try:
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
except confluent_kafka.KafkaException as e:
    if e.args[0].code() != confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS:
        raise


def delivery_report(err, msg):
    if err is not None:
        print("delivery failed: %s" % err)
    else:
        print("delivered %s=%s to %s [%d] @ %d" % (
            msg.key().decode(), msg.value().decode(), msg.topic(), msg.partition(), msg.offset()))


producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 10})
for i, fruit in enumerate(["apple", "banana", "cherry", "damson", "elderberry"]):
    producer.produce(topic, key="user-%d" % (i % 2), value=fruit,
                     headers=[("source", b"demo.py"), ("n", str(i))], on_delivery=delivery_report)
    producer.poll(0)
left = producer.flush(30)
print("%d record(s) not delivered" % left)
if left:
    sys.exit(1)

# Consume them back: a new group starting from the beginning, a poll loop, one commit.
consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "demo-%d" % os.getpid(),
                                     "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.subscribe([topic], on_assign=lambda c, parts: print("assigned partitions %s" % [p.partition for p in parts]))
seen = 0
while seen < 5:
    msg = consumer.poll(10)
    if msg is None:
        break
    if msg.error():
        print("consumer error: %s" % msg.error())
        continue
    seen += 1
    print("consumed %s=%s from %s [%d] @ %d headers=%s" % (
        msg.key().decode(), msg.value().decode(), msg.topic(), msg.partition(), msg.offset(), msg.headers()))
consumer.commit(asynchronous=False)
consumer.close()
sys.exit(0 if seen >= 5 else 1)
