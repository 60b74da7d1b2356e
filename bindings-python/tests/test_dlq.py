"""polykafka.dlq.RetryingHandler on the real broker: retries with the failing partition paused
while the others flow, the dead-letter copy with every header, the commit after it, records that
do not deserialize, and a SIGKILL between the copy and the commit."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import confluent_kafka as ck

import polykafka
from polykafka.admin import NewTopic
from polykafka.aio import AIOConsumer
from polykafka.dlq import AIORetryingHandler, RetryingHandler
from polykafka.serialization import SerializationError

from conftest import read_back, unique


def consumer(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100}
    conf.update(extra)
    return polykafka.Consumer(conf)


def produce(bootstrap, records):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    for topic, partition, key, value, headers in records:
        p.produce(topic, value=value, key=key, partition=partition, headers=headers)
    assert p.flush(30) == 0


def committed(bootstrap, group, topic, partition):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return c.committed([ck.TopicPartition(topic, partition)], timeout=10)[0].offset
    finally:
        c.close()


def new_topics(admin, *names, partitions=1):
    futures = admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    for f in futures.values():
        f.result(30)


def test_a_failing_record_is_retried_then_dead_lettered_while_other_partitions_flow(bootstrap, admin, topic):
    dlq = topic + "-dlq"
    new_topics(admin, dlq)
    produce(bootstrap, [
        (topic, 0, b"k-bad", b"bad", [("trace", b"t-1"), ("trace", b"t-2")]),
        (topic, 0, None, b"after-bad", None),
        (topic, 1, None, b"p1-a", None),
    ])
    group = unique("dlq")
    c = consumer(bootstrap, group)
    c.subscribe([topic])
    seen = []

    def handle(msg):
        seen.append(msg.value())
        if msg.value() == b"bad":
            if seen.count(b"bad") == 1:
                # Records arriving on another partition while partition 0 waits for its retry.
                produce(bootstrap, [(topic, 1, None, b"p1-b", None), (topic, 1, None, b"p1-c", None)])
            raise ValueError("cannot handle bad")

    handler = RetryingHandler(c, handle, max_retries=2, backoff_ms=1000, max_backoff_ms=5000)
    deadline = time.time() + 60
    while b"after-bad" not in seen or b"p1-c" not in seen:
        assert time.time() < deadline, seen
        handler.poll(0.5)
    handler.close()
    assert seen.count(b"bad") == 3, seen
    last_bad = len(seen) - 1 - seen[::-1].index(b"bad")
    assert seen.index(b"p1-b") < last_bad and seen.index(b"p1-c") < last_bad, seen
    assert seen.index(b"after-bad") > last_bad, seen

    [copy] = read_back(bootstrap, dlq, 1)
    assert (copy.key(), copy.value()) == (b"k-bad", b"bad")
    assert copy.headers() == [
        ("trace", b"t-1"), ("trace", b"t-2"), ("retry-count", b"2"), ("original-topic", topic.encode()),
        ("original-partition", b"0"), ("original-offset", b"0"), ("error", b"cannot handle bad"),
        ("error-type", b"ValueError"),
    ]
    c.close()
    assert committed(bootstrap, group, topic, 0) >= 1


def test_a_record_that_does_not_deserialize_goes_to_the_dead_letter_topic_untouched(bootstrap, admin, topic):
    dlq = unique("dlq-named")
    new_topics(admin, dlq)
    raw = b"\x00\x00\x00\x00\x07\xff not what the deserializer wants"
    produce(bootstrap, [(topic, 2, b"k", raw, None), (topic, 2, b"k2", b'{"fine": 1}', None)])

    def value_deserializer(value, ctx):
        if not value.startswith(b"{"):
            raise SerializationError("unknown magic byte")
        return value.decode()

    group = unique("dlq")
    c = polykafka.DeserializingConsumer({"bootstrap.servers": bootstrap, "group.id": group,
                                         "auto.offset.reset": "earliest", "value.deserializer": value_deserializer})
    c.subscribe([topic])
    handled = []
    handler = RetryingHandler(c, lambda m: handled.append(m.value()), dlq_topic=dlq)
    deadline = time.time() + 60
    while not handled:
        assert time.time() < deadline
        handler.poll(0.5)
    handler.close()
    assert handled == ['{"fine": 1}']
    [copy] = read_back(bootstrap, dlq, 1)
    assert copy.value() == raw
    headers = dict(copy.headers())
    assert (headers["retry-count"], headers["error-type"]) == (b"0", b"SerializationError")
    c.close()
    assert committed(bootstrap, group, topic, 2) >= 1


def test_an_unknown_schema_id_goes_to_the_dead_letter_topic_untouched(bootstrap, admin, topic):
    """Avro through the schema registry: a record naming a schema id the registry does not
    have is dead-lettered at once with its bytes; the valid record after it is handled."""
    from test_schema_registry import USER_V1, _registry_url, event
    from polykafka.schema_registry import SchemaRegistryClient
    from polykafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from polykafka.serialization import MessageField, SerializationContext

    new_topics(admin, topic + "-dlq")
    client = SchemaRegistryClient({"url": _registry_url()})
    good = AvroSerializer(client, USER_V1)(event(1), SerializationContext(topic, MessageField.VALUE))
    unknown = b"\x00" + (2 ** 31 - 7).to_bytes(4, "big") + b"\x02"
    produce(bootstrap, [(topic, 0, b"a", unknown, [("trace", b"t")]), (topic, 0, b"b", good, None)])
    c = polykafka.DeserializingConsumer({"bootstrap.servers": bootstrap, "group.id": unique("dlq"),
                                         "auto.offset.reset": "earliest",
                                         "value.deserializer": AvroDeserializer(client)})
    c.subscribe([topic])
    handled = []
    handler = RetryingHandler(c, lambda m: handled.append(m.value()))
    deadline = time.time() + 60
    while not handled:
        assert time.time() < deadline
        handler.poll(0.5)
    handler.close()
    c.close()
    assert handled == [event(1)]
    [copy] = read_back(bootstrap, topic + "-dlq", 1)
    assert copy.value() == unknown and copy.key() == b"a"
    headers = dict(copy.headers())
    assert (headers["trace"], headers["retry-count"], headers["original-offset"]) == (b"t", b"0", b"0")


def test_a_handler_error_on_a_deserialized_message_keeps_the_bytes_read(bootstrap, admin, topic):
    new_topics(admin, topic + "-dlq")
    produce(bootstrap, [(topic, 0, b"k", b"41", None)])
    c = polykafka.DeserializingConsumer({"bootstrap.servers": bootstrap, "group.id": unique("dlq"),
                                         "auto.offset.reset": "earliest",
                                         "value.deserializer": lambda v, ctx: int(v)})
    c.subscribe([topic])

    def handle(msg):
        assert msg.value() == 41
        raise KeyError("no such order")

    handler = RetryingHandler(c, handle, max_retries=0)
    deadline = time.time() + 60
    while not read_back(bootstrap, topic + "-dlq", 1, timeout=0.5):
        assert time.time() < deadline
        handler.poll(0.5)
    handler.close()
    [copy] = read_back(bootstrap, topic + "-dlq", 1)
    assert copy.value() == b"41"
    assert dict(copy.headers())["error-type"] == b"KeyError"
    c.close()


def test_non_blocking_retries_go_through_the_retry_topic(bootstrap, admin, topic):
    retry_topic, dlq = topic + "-retry", topic + "-dlq"
    new_topics(admin, retry_topic, dlq)
    produce(bootstrap, [(topic, 0, b"k", b"flaky", None)])
    c = consumer(bootstrap, unique("dlq"))
    c.subscribe([topic, retry_topic])
    attempts = []

    def handle(msg):
        attempts.append((msg.topic(), dict(msg.headers() or []).get("retry-count")))
        if len(attempts) < 3:
            raise ConnectionError("service down")

    handler = RetryingHandler(c, handle, max_retries=3, backoff_ms=200, retry_topic=retry_topic)
    deadline = time.time() + 60
    while len(attempts) < 3:
        assert time.time() < deadline, attempts
        handler.poll(0.5)
    handler.close()
    c.close()
    # Succeeded on the second copy: nothing in the dead-letter topic.
    assert attempts == [(topic, None), (retry_topic, b"1"), (retry_topic, b"2")]
    copies = read_back(bootstrap, retry_topic, 2)
    assert {dict(m.headers())["original-topic"] for m in copies} == {topic.encode()}
    assert read_back(bootstrap, dlq, 1, timeout=2) == []


def test_the_asyncio_handler_retries_then_dead_letters(bootstrap, admin, topic):
    new_topics(admin, topic + "-dlq")
    produce(bootstrap, [(topic, 1, b"k", b"bad", None), (topic, 1, None, b"good", None)])
    seen = []

    async def handle(msg):
        seen.append(msg.value())
        await asyncio.sleep(0)
        if msg.value() == b"bad":
            raise ValueError("async failure")

    async def main():
        c = AIOConsumer({"bootstrap.servers": bootstrap, "group.id": unique("dlq"), "auto.offset.reset": "earliest"})
        await c.subscribe([topic])
        handler = AIORetryingHandler(c, handle, max_retries=1, backoff_ms=100)
        deadline = time.time() + 60
        while b"good" not in seen:
            assert time.time() < deadline, seen
            await handler.poll(0.5)
        await handler.close()
        await c.close()

    asyncio.run(main())
    assert seen == [b"bad", b"bad", b"good"]
    [copy] = read_back(bootstrap, topic + "-dlq", 1)
    assert dict(copy.headers())["retry-count"] == b"1"
    assert dict(copy.headers())["error"] == b"async failure"


def test_with_offsets_stored_by_the_application_the_handler_stores_them(bootstrap, admin, topic):
    """enable.auto.offset.store=false (the at-least-once setting): the handler stores each
    message's offset once it succeeded or was dead-lettered; closing commits them."""
    new_topics(admin, topic + "-dlq")
    produce(bootstrap, [(topic, 0, None, b"ok-1", None), (topic, 0, None, b"bad", None), (topic, 0, None, b"ok-2", None)])
    group = unique("dlq")
    c = consumer(bootstrap, group, **{"enable.auto.offset.store": False})
    c.subscribe([topic])
    seen = []

    def handle(msg):
        seen.append(msg.value())
        if msg.value() == b"bad":
            raise ValueError("bad")

    handler = RetryingHandler(c, handle, max_retries=0)
    deadline = time.time() + 60
    while b"ok-2" not in seen:
        assert time.time() < deadline, seen
        handler.poll(0.5)
    handler.close()
    c.close()
    assert committed(bootstrap, group, topic, 0) == 3


CHILD = r"""
import sys, polykafka
from polykafka.aio import AIOConsumer
from polykafka.dlq import AIORetryingHandler, RetryingHandler
bootstrap, topic, group, delay = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = polykafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                        "enable.auto.commit": False, "session.timeout.ms": 6000})
c.subscribe([topic])
def handle(msg):
    raise RuntimeError("always fails")
h = RetryingHandler(c, handle, max_retries=0)
h._queue._delay_commits_for_tests(delay)
print("started", flush=True)
while True:
    h.poll(0.2)
"""


def test_sigkill_between_the_dead_letter_copy_and_the_commit_loses_nothing(bootstrap, admin, tmp_path):
    topic = unique("dlq-kill")
    dlq = topic + "-dlq"
    new_topics(admin, topic, dlq)
    produce(bootstrap, [(topic, 0, b"k", b"doomed", None)])
    group = unique("dlq-kill")
    script = tmp_path / "child.py"
    script.write_text(CHILD)

    def run(delay_ms):
        return subprocess.Popen([sys.executable, str(script), bootstrap, topic, group, str(delay_ms)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # The child writes the copy, then waits 30 s before committing: it is killed in between.
    child = run(30000)
    try:
        assert read_back(bootstrap, dlq, 1, timeout=60), "the copy was not written"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert committed(bootstrap, group, topic, 0) < 0, "the offset was committed before the kill"

    # After the restart the record is delivered again: dead-lettered again, then committed.
    child = run(0)
    try:
        deadline = time.time() + 60
        while committed(bootstrap, group, topic, 0) != 1:
            assert time.time() < deadline and child.poll() is None, child.stderr.read() if child.poll() is not None else ""
            time.sleep(0.5)
    finally:
        child.kill()
        child.wait(30)
    copies = read_back(bootstrap, dlq, 2)
    assert [m.value() for m in copies] == [b"doomed", b"doomed"], "at least once, never lost"
