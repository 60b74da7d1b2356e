"""The demo's pipeline, Python's part: a producer (confluent-kafka's API) writes the user events and
the orders, Avro-encoded through the schema registry. Node's streams application
(bindings-node/demo_streams.js) counts the sign-ups per country and minute and enriches the orders
with them; Go (bindings-c/go/examples/enriched-orders) prints the enriched orders.

    KAFKA_BOOTSTRAP=... SCHEMA_REGISTRY_URL=... python bindings-python/demo_pipeline.py PREFIX events|orders BASE_MS

`events` creates PREFIX-user-events, PREFIX-orders and PREFIX-enriched-orders (one partition each),
registers the orders' schema and writes 12 user events over three minutes from BASE_MS (a whole
minute); `orders` writes 6 orders in those minutes. The data is fixed, so what the pipeline prints can be checked.
"""

import os
import sys
import time

import polykafka as confluent_kafka
from polykafka.admin import AdminClient, NewTopic
from polykafka.schema_registry import Schema, SchemaRegistryClient
from polykafka.schema_registry.avro import AvroSerializer
from polykafka.serialization import StringSerializer

bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
registry_url = os.environ.get("SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081")
prefix, what, base = sys.argv[1], sys.argv[2], int(sys.argv[3])

USER_EVENT = """
{"type": "record", "name": "UserEvent", "namespace": "com.example.events", "fields": [
  {"name": "userId", "type": "string"},
  {"name": "eventType", "type": "string"},
  {"name": "country", "type": "string"},
  {"name": "timestamp", "type": "long"}
]}
"""
ORDER = """
{"type": "record", "name": "Order", "namespace": "com.example.events", "fields": [
  {"name": "orderId", "type": "string"},
  {"name": "userId", "type": "string"},
  {"name": "country", "type": "string"},
  {"name": "amountCents", "type": "long"},
  {"name": "timestamp", "type": "long"}
]}
"""

# (second since BASE_MS, user, event type, country)
EVENTS = [
    (5, "ana", "USER_CREATED", "DE"), (12, "ben", "USER_CREATED", "FR"), (20, "ana", "PAGE_VIEW", "DE"),
    (31, "carl", "USER_CREATED", "DE"), (44, "ben", "CLICK", "FR"),
    (65, "dora", "USER_CREATED", "DE"), (70, "eve", "USER_CREATED", "US"), (81, "carl", "LOGOUT", "DE"),
    (125, "finn", "USER_CREATED", "FR"), (133, "gus", "USER_CREATED", "FR"), (140, "hana", "USER_CREATED", "US"),
    (150, "eve", "PAGE_VIEW", "US"),
]
# (second since BASE_MS, order id, user, country, amount in cents)
ORDERS = [
    (50, "o-1", "ana", "DE", 4_990), (52, "o-2", "ben", "FR", 1_250), (55, "o-3", "zoe", "US", 300),
    (90, "o-4", "dora", "DE", 12_000), (160, "o-5", "finn", "FR", 899), (170, "o-6", "kai", "JP", 2_500),
]

if what == "events":
    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"{prefix}-{t}" for t in ("user-events", "orders", "enriched-orders")]
    for name, f in admin.create_topics([NewTopic(n, num_partitions=1, replication_factor=1) for n in names]).items():
        f.result(30)
    print("python created", ", ".join(names))
    topic, schema = f"{prefix}-user-events", USER_EVENT
    records = [(user, {"userId": user, "eventType": kind, "country": country, "timestamp": base + s * 1000}) for s, user, kind, country in EVENTS]
elif what == "orders":
    topic, schema = f"{prefix}-orders", ORDER
    records = [(oid, {"orderId": oid, "userId": user, "country": country, "amountCents": cents, "timestamp": base + s * 1000})
               for s, oid, user, country, cents in ORDERS]
else:
    sys.exit(f"events or orders, not {what!r}")

registry = SchemaRegistryClient({"url": registry_url})
if what == "events":
    # Both subjects exist before Node's application starts: it reads with their schemas.
    registry.register_schema(f"{prefix}-orders-value", Schema(ORDER, "AVRO"))
producer = confluent_kafka.SerializingProducer({
    "bootstrap.servers": bootstrap,
    "key.serializer": StringSerializer("utf_8"),
    "value.serializer": AvroSerializer(registry, schema),  # registers <topic>-value on the first record
})
failed = []
for key, value in records:
    producer.produce(topic, key=key, value=value, timestamp=value["timestamp"],
                     on_delivery=lambda err, msg: failed.append(err) if err else None)
producer.flush(30)
if failed or len(producer) > 0:
    sys.exit(f"not delivered: {failed}")
schema_id = registry.get_latest_version(topic + "-value").schema_id
print(f"python wrote {len(records)} {what} to {topic} (Avro, schema id {schema_id}), "
      f"from {time.strftime('%H:%M:%S', time.gmtime(records[0][1]['timestamp'] / 1000))} to "
      f"{time.strftime('%H:%M:%S', time.gmtime(records[-1][1]['timestamp'] / 1000))} UTC")
