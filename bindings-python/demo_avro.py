"""The seed's UserEvent, Avro-encoded through the schema registry with confluent-kafka's API:
Python writes, then Node (bindings-node/demo_avro.js) and Go (bindings-c/go/examples/avro-demo)
read the same records through the same engine.

    KAFKA_BOOTSTRAP=... SCHEMA_REGISTRY_URL=... build/venv-python/bin/python bindings-python/demo_avro.py TOPIC
"""

import os
import sys
import time

import polykafka as confluent_kafka
from polykafka.admin import AdminClient, NewTopic
from polykafka.schema_registry import SchemaRegistryClient
from polykafka.schema_registry.avro import AvroSerializer
from polykafka.serialization import StringSerializer

bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
registry_url = os.environ.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081")
topic = sys.argv[1] if len(sys.argv) > 1 else "polykafka-user-events"

# user-event.avsc, as the seed writes it.
USER_EVENT = """
{
  "type": "record",
  "name": "UserEvent",
  "namespace": "com.example.events",
  "fields": [
    {"name": "userId", "type": "string"},
    {"name": "eventType", "type": "string"},
    {"name": "timestamp", "type": "long"},
    {"name": "metadata", "type": ["null", "string"], "default": null}
  ]
}
"""

admin = AdminClient({"bootstrap.servers": bootstrap})
try:
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(30)
except confluent_kafka.KafkaException as e:
    if e.args[0].code() != confluent_kafka.KafkaError.TOPIC_ALREADY_EXISTS:
        raise

registry = SchemaRegistryClient({"url": registry_url})
producer = confluent_kafka.SerializingProducer({
    "bootstrap.servers": bootstrap,
    "key.serializer": StringSerializer("utf_8"),
    # Registers the schema under "<topic>-value" (TopicNameStrategy) on the first record.
    "value.serializer": AvroSerializer(registry, USER_EVENT),
})
now = int(time.time() * 1000)
events = [
    {"userId": "123", "eventType": "USER_CREATED", "timestamp": now, "metadata": None},
    {"userId": "123", "eventType": "USER_UPDATED", "timestamp": now + 1, "metadata": "email changed"},
    {"userId": "456", "eventType": "USER_CREATED", "timestamp": now + 2, "metadata": None},
]
failed = []
for event in events:
    producer.produce(topic, key=event["userId"], value=event,
                     on_delivery=lambda err, msg: failed.append(err) if err else print(
                         "python wrote %s [%d] @ %d (%d bytes: magic 0, schema id %d)" % (
                             msg.topic(), msg.partition(), msg.offset(), len(msg.value()),
                             int.from_bytes(msg.value()[1:5], "big"))))
producer.flush(30)
if failed or len(producer) > 0:
    sys.exit("not delivered: %s" % failed)
print("subject %s-value: latest schema id %d" % (topic, registry.get_latest_version(topic + "-value").schema_id))
