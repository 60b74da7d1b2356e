"""AdminClient against the real broker: confluent-kafka's shapes (dicts of futures)."""

import concurrent.futures

import pytest

from polykafka import KafkaError, KafkaException
from polykafka.admin import (AdminClient, AlterConfigOpType, ClusterMetadata, ConfigEntry,
                             ConfigResource, NewPartitions, NewTopic, ResourceType)

from conftest import unique


def test_create_list_delete_topics(bootstrap):
    a = AdminClient({"bootstrap.servers": bootstrap})
    names = [unique("adm"), unique("adm")]
    fs = a.create_topics([NewTopic(n, 2, 1, config={"retention.ms": "60000"}) for n in names])
    assert set(fs) == set(names)
    assert all(isinstance(f, concurrent.futures.Future) for f in fs.values())
    for f in fs.values():
        assert f.result(30) is None
    md = a.list_topics(timeout=10)
    assert isinstance(md, ClusterMetadata) and md.brokers
    for n in names:
        assert n in md.topics and sorted(md.topics[n].partitions) == [0, 1]
        assert md.topics[n].partitions[0].leader in md.brokers
    one = a.list_topics(names[0], timeout=10)
    assert list(one.topics) == [names[0]]
    # Creating it again fails in its future, with the broker's code.
    again = a.create_topics([NewTopic(names[0], 1, 1)])[names[0]]
    with pytest.raises(KafkaException) as e:
        again.result(30)
    assert e.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS
    for f in a.delete_topics(names).values():
        assert f.result(30) is None


def test_create_partitions(bootstrap, topic):
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_partitions([NewPartitions(topic, 5)])[topic].result(30)
    assert len(a.list_topics(topic, timeout=10).topics[topic].partitions) == 5


def test_describe_and_alter_configs(bootstrap, topic):
    a = AdminClient({"bootstrap.servers": bootstrap})
    res = ConfigResource(ResourceType.TOPIC, topic)
    res.add_incremental_config(ConfigEntry("retention.ms", "123456",
                                           incremental_operation=AlterConfigOpType.SET))
    a.incremental_alter_configs([res])[res].result(30)
    import time
    deadline = time.time() + 15
    while True:  # a config change reaches the broker's view asynchronously
        configs = a.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
        entries = list(configs.values())[0].result(30)
        if entries["retention.ms"].value == "123456" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert entries["retention.ms"].value == "123456"
    assert not entries["retention.ms"].is_default


def test_unknown_config_key(bootstrap):
    with pytest.raises(KafkaException) as e:
        AdminClient({"bootstrap.servers": bootstrap, "nope.nope": "1"})
    assert e.value.args[0].code() == KafkaError._INVALID_ARG
