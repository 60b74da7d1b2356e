"""produce() never waits, against confluent-kafka and polykafka with the same bodies: a topic
that does not exist, a bootstrap where nothing listens, the queue's record bound, purge().
(issue "Drop-in gaps", point 1 and 2.)"""

import importlib
import time

import pytest

from conftest import unique


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


def test_produce_to_missing_topic_returns_at_once(ck, bootstrap):
    topic = unique("missing")
    p = ck.Producer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False,
                     "message.timeout.ms": 3000})
    reports = []
    start = time.monotonic()
    p.produce(topic, value=b"x", on_delivery=lambda err, msg: reports.append(err))
    assert time.monotonic() - start < 1.0, "produce() waited"
    assert len(p) == 1
    assert p.flush(30) == 0
    assert len(reports) == 1 and reports[0] is not None
    assert reports[0].code() in (ck.KafkaError.UNKNOWN_TOPIC_OR_PART, ck.KafkaError._UNKNOWN_TOPIC,
                                 ck.KafkaError._MSG_TIMED_OUT), reports[0]
    # The topic was not created by our attempt.
    md = importlib.import_module(ck.__name__ + ".admin").AdminClient(
        {"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    assert topic not in md.topics or md.topics[topic].error is not None


def test_produce_with_unreachable_bootstrap_queues_then_times_out(ck, dead_bootstrap):
    p = ck.Producer({"bootstrap.servers": dead_bootstrap, "message.timeout.ms": 3000})
    reports = []
    start = time.monotonic()
    for i in range(5):
        p.produce("t", value=b"v%d" % i, on_delivery=lambda err, msg: reports.append(err))
    assert time.monotonic() - start < 1.0, "produce() waited"
    # librdkafka also counts its connection-error events waiting to be served.
    assert len(p) >= 5
    start = time.monotonic()
    assert p.flush(1.0) >= 5
    assert time.monotonic() - start < 5.0
    assert p.flush(30) == 0
    assert len(reports) == 5
    assert all(e is not None and e.code() == ck.KafkaError._MSG_TIMED_OUT for e in reports), reports


def test_queue_buffering_max_messages_bounds_the_queue(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "queue.buffering.max.messages": 10,
                     "linger.ms": 60000})
    for i in range(10):
        p.produce(topic, value=b"v")
    with pytest.raises(BufferError):
        p.produce(topic, value=b"v")
    assert len(p) == 10
    # Room again once records are delivered.
    assert p.flush(30) == 0
    for i in range(10):
        p.produce(topic, value=b"v")
    assert len(p) == 10
    assert p.flush(30) == 0


def test_produce_batch_never_waits_either(ck, dead_bootstrap):
    if not hasattr(ck.Producer, "produce_batch"):
        pytest.skip("this confluent-kafka has no produce_batch")
    p = ck.Producer({"bootstrap.servers": dead_bootstrap, "message.timeout.ms": 2000})
    reports = []
    start = time.monotonic()
    n = p.produce_batch("t", [{"value": b"a"}, {"value": b"b"}],
                        on_delivery=lambda err, msg: reports.append(err))
    assert time.monotonic() - start < 1.0
    assert n == 2
    assert p.flush(30) == 0
    assert len(reports) == 2 and all(e is not None for e in reports)


def test_purge_in_queue_only(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 10000})
    reports = []
    for i in range(5):
        p.produce(topic, value=b"v%d" % i, on_delivery=lambda err, msg: reports.append(err))
    p.purge(in_queue=False, in_flight=False)
    assert len(p) == 5, "nothing purged when neither queue is named"
    p.purge(in_queue=True, in_flight=False, blocking=False)
    p.poll(0)
    assert p.flush(10) == 0
    assert len(reports) == 5
    assert all(e is not None and e.code() == ck.KafkaError._PURGE_QUEUE for e in reports), reports


def test_purge_in_flight(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    warm = []
    p.produce(topic, value=b"warm", on_delivery=lambda err, msg: warm.append(err))
    assert p.flush(30) == 0 and warm == [None]
    reports = []
    for i in range(200):
        p.produce(topic, value=b"v%d" % i, on_delivery=lambda err, msg: reports.append(err))
    p.purge(in_queue=True, in_flight=True)
    assert p.flush(30) == 0
    assert len(reports) == 200
    codes = {e.code() if e is not None else None for e in reports}
    # Every record is purged (queued or in flight) or, for librdkafka, may have been delivered
    # before the purge reached it; none is left without a report.
    assert codes <= {ck.KafkaError._PURGE_QUEUE, ck.KafkaError._PURGE_INFLIGHT, None}, codes
    assert codes & {ck.KafkaError._PURGE_QUEUE, ck.KafkaError._PURGE_INFLIGHT}, codes


def test_default_queue_bound_is_librdkafkas(ck, dead_bootstrap):
    """Without queue.buffering.max.messages, the bound is librdkafka's 100000 records (not
    Java's unbounded count): the 100001st record queued when nothing can be sent is BufferError."""
    p = ck.Producer({"bootstrap.servers": dead_bootstrap, "message.timeout.ms": 60000})
    try:
        for i in range(100000):
            p.produce("t", value=b"v")
        # confluent-kafka's len() also counts error events waiting for poll().
        assert len(p) >= 100000
        with pytest.raises(BufferError):
            p.produce("t", value=b"v")
    finally:
        p.purge()
        p.flush(5)


def test_delivery_report_only_error(ck, bootstrap, topic):
    """delivery.report.only.error: successful records get no callback, failed ones do."""
    reports = []
    p = ck.Producer({"bootstrap.servers": bootstrap, "delivery.report.only.error": True,
                     "allow.auto.create.topics": False, "message.timeout.ms": 3000,
                     "on_delivery": lambda err, msg: reports.append(err)})
    for i in range(5):
        p.produce(topic, value=b"v")
    assert p.flush(30) == 0
    assert reports == []
    # A record that fails at delivery (its topic never appears) is reported.
    p.produce(unique("missing"), value=b"v")
    assert p.flush(30) == 0
    assert len(reports) == 1 and reports[0] is not None, reports
