"""A confluent-kafka program: create a topic, produce with delivery reports, then consume it
back in a poll loop with rebalance callbacks and synchronous commits.

    python produce_consume.py BOOTSTRAP TOPIC
"""
import sys

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
COUNT = 50

admin = AdminClient({"bootstrap.servers": bootstrap})
for name, future in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).items():
    try:
        future.result()
    except KafkaException as e:
        if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise

delivered = []


def on_delivery(err, msg):
    if err is not None:
        sys.stderr.write("delivery failed: %s\n" % err)
    else:
        delivered.append((msg.partition(), msg.offset()))


producer = Producer({"bootstrap.servers": bootstrap, "client.id": "program"})
for i in range(COUNT):
    while True:
        try:
            producer.produce(topic, key=str(i % 5), value="message %d" % i, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)
producer.flush()
assert len(delivered) == COUNT, delivered


def print_assignment(consumer, partitions):
    print("assigned:", [p.partition for p in partitions])


def on_revoke(consumer, partitions):
    print("revoked:", [p.partition for p in partitions])


consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": topic + "-group",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
})
consumer.subscribe([topic], on_assign=print_assignment, on_revoke=on_revoke)
got, eof = [], set()
try:
    while len(got) < COUNT or len(eof) < 2:
        msg = consumer.poll(timeout=1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                eof.add(msg.partition())
                continue
            raise KafkaException(msg.error())
        got.append(msg.value().decode())
        eof.discard(msg.partition())
        if len(got) % 10 == 0:
            consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=10)
    assert sum(tp.offset for tp in committed) == COUNT, committed
finally:
    consumer.close()

assert sorted(got) == sorted("message %d" % i for i in range(COUNT))
print("consumed %d messages with %s" % (len(got), confluent_kafka.__name__))
