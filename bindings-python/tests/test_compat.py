"""The same test bodies against confluent-kafka and polykafka: the tests check real
confluent-kafka behaviour, and polykafka must show the same."""

import importlib
import threading

import pytest

from conftest import read_back, unique


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


def test_delivery_reports(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    reports = []
    for i in range(10):
        p.produce(topic, value="v%d" % i, key=b"k%d" % i, headers={"a": "1", "b": b"2"},
                  callback=lambda err, msg: reports.append((err, msg, threading.get_ident())))
    assert len(p) == 10
    assert p.flush(30) == 0
    assert len(p) == 0
    assert len(reports) == 10
    for i, (err, msg, thread) in enumerate(sorted(reports, key=lambda r: r[1].value())):
        assert err is None and thread == threading.get_ident()
        assert msg.error() is None
        assert msg.topic() == topic and msg.value() == b"v%d" % i and msg.key() == b"k%d" % i
        assert msg.headers() is None  # delivery reports carry no headers
        assert msg.partition() in (0, 1, 2) and msg.offset() >= 0
        ts_type, ts = msg.timestamp()
        assert ts_type == ck.TIMESTAMP_CREATE_TIME and ts > 0
        assert len(msg) == len(msg.value())
        assert msg.latency() is not None and msg.latency() >= 0


def test_consistent_random_is_the_default_partitioner(ck, bootstrap, topic):
    """crc32 of the key, as librdkafka: both clients put each key on the same partition."""
    p = ck.Producer({"bootstrap.servers": bootstrap})
    where = {}
    for k in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]:
        p.produce(topic, b"v", key=k, on_delivery=lambda e, m: where.__setitem__(m.key(), m.partition()))
    p.flush(30)
    # Partitions librdkafka's consistent_random gives for 3 partitions.
    import zlib
    assert where == {k.encode(): zlib.crc32(k.encode()) % 3
                     for k in ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]}


def test_error_codes_and_exceptions(ck, bootstrap, topic):
    with pytest.raises(ck.KafkaException) as e:
        ck.Producer({"bootstrap.servers": bootstrap, "no.such.property": "x"})
    err = e.value.args[0]
    assert isinstance(err, ck.KafkaError)
    assert err.code() == ck.KafkaError._INVALID_ARG and err.name() == "_INVALID_ARG"
    assert "no.such.property" in err.str()
    assert not err.fatal() and not err.txn_requires_abort()

    p = ck.Producer({"bootstrap.servers": bootstrap})
    with pytest.raises(ck.KafkaException) as e:
        p.produce(topic, b"x" * (2 * 1024 * 1024))
    assert e.value.args[0].code() == ck.KafkaError.MSG_SIZE_TOO_LARGE
    assert e.value.args[0].name() == "MSG_SIZE_TOO_LARGE"

    assert ck.KafkaError._MSG_TIMED_OUT == -192 and ck.KafkaError._PARTITION_EOF == -191
    assert ck.KafkaError(ck.KafkaError._TIMED_OUT) == ck.KafkaError._TIMED_OUT
    assert ck.OFFSET_BEGINNING == -2 and ck.OFFSET_END == -1
    assert ck.OFFSET_STORED == -1000 and ck.OFFSET_INVALID == -1001


def test_buffer_error_then_poll_makes_room(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "queue.buffering.max.kbytes": 4,
                     "linger.ms": 50})
    sent = 0
    with pytest.raises(BufferError):
        for _ in range(1000):
            p.produce(topic, b"x" * 500)
            sent += 1
    assert 0 < sent < 1000
    assert p.flush(30) == 0
    p.produce(topic, b"x" * 500)  # room again
    assert p.flush(30) == 0


def test_flush_timeout_returns_queued(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5000})
    for _ in range(7):
        p.produce(topic, b"x")
    assert p.flush(0) == 7
    assert p.flush(30) == 0


def test_admin_round_trip(ck, bootstrap):
    admin_mod = importlib.import_module(ck.__name__ + ".admin")
    a = admin_mod.AdminClient({"bootstrap.servers": bootstrap})
    name = unique("compat")
    fs = a.create_topics([admin_mod.NewTopic(name, num_partitions=2, replication_factor=1)])
    assert fs[name].result(30) is None
    import time
    deadline = time.time() + 10
    md = a.list_topics(timeout=10)
    while name not in md.topics and time.time() < deadline:  # metadata propagation
        time.sleep(0.2)
        md = a.list_topics(timeout=10)
    assert len(md.topics[name].partitions) == 2
    p = ck.Producer({"bootstrap.servers": bootstrap})
    p.produce(name, b"hello", key=b"k")
    assert p.flush(30) == 0
    assert [m.value() for m in read_back(bootstrap, name, 1)] == [b"hello"]
    assert a.delete_topics([name])[name].result(30) is None


def test_produce_batch_errors_per_message_and_bad_types(ck, bootstrap, topic):
    """produce_batch: a message the broker path refuses gets `_error` in its dict and the others
    go; a message of the wrong type raises before anything is queued."""
    p = ck.Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 10000})
    got = []
    msgs = [{"value": b"v%d" % i, "key": b"k%d" % i} for i in range(20)]
    msgs.insert(7, {"value": b"x" * 20000})
    n = p.produce_batch(topic, msgs, on_delivery=lambda err, msg: got.append((err, msg.value())))
    assert n == 20
    assert msgs[7]["_error"].code() == ck.KafkaError.MSG_SIZE_TOO_LARGE
    assert all("_error" not in m for i, m in enumerate(msgs) if i != 7)
    assert p.flush(30) == 0
    assert sorted(v for err, v in got if err is None) == sorted(b"v%d" % i for i in range(20))

    before = len(p)
    with pytest.raises(TypeError):
        p.produce_batch(topic, [{"value": b"fine"}, {"value": 12345}])
    assert len(p) == before, "nothing queued from a batch that raised"
    assert p.flush(30) == 0
