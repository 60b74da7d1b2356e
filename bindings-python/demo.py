"""A confluent-kafka style producer program: only the import says polykafka.

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
sys.exit(1 if left else 0)
