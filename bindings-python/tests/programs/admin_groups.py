"""A confluent-kafka admin program: topics, cluster, consumer groups and their offsets.

    python admin_groups.py BOOTSTRAP TOPIC
"""
import sys

from confluent_kafka import (ConsumerGroupTopicPartitions, Consumer, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic = sys.argv[1], sys.argv[2]
group = topic + "-group"
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result()

cluster = admin.describe_cluster(request_timeout=10).result()
print("cluster %s with %d node(s)" % (cluster.cluster_id, len(cluster.nodes)))

p = Producer({"bootstrap.servers": bootstrap})
for i in range(5):
    p.produce(topic, b"x")
p.flush()
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
c.subscribe([topic])
n = 0
while n < 5:
    m = c.poll(1.0)
    if m is not None and not m.error():
        n += 1
c.commit(asynchronous=False)
for g, f in admin.describe_consumer_groups([group]).items():
    d = f.result()
    print("group %s: %s, %d member(s)" % (g, d.state, len(d.members)))
c.close()

groups = admin.list_consumer_groups(request_timeout=10).result()
assert group in [g.group_id for g in groups.valid]
req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0)])]
offsets = admin.list_consumer_group_offsets(req)[group].result()
assert [tp.offset for tp in offsets.topic_partitions] == [5], offsets.topic_partitions
admin.alter_consumer_group_offsets(
    [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, 1)])])[group].result()
offsets = admin.list_consumer_group_offsets(req)[group].result()
assert [tp.offset for tp in offsets.topic_partitions] == [1]
admin.delete_consumer_groups([group], request_timeout=10)[group].result()
try:
    admin.delete_consumer_groups([group])[group].result()
    raise SystemExit("deleted twice")
except KafkaException as e:
    print("second delete:", e.args[0].name())
admin.delete_topics([topic])[topic].result()
print("admin ok")
