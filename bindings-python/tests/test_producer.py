"""Producer against the real broker: confluent-kafka's behaviour, polykafka's engine."""

import logging
import os
import signal
import threading
import time

import pytest

import polykafka
from polykafka import KafkaError, KafkaException, Producer

from conftest import read_back, unique, wait_child


def conf(bootstrap, **extra):
    c = {"bootstrap.servers": bootstrap}
    c.update({k if k in ("on_delivery", "error_cb", "logger") else k.replace("_", "."): v
              for k, v in extra.items()})
    return c


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_keys_headers_and_compression_read_back(bootstrap, topic, compression):
    p = Producer(conf(bootstrap, compression_type=compression))
    reports = []
    for i in range(20):
        p.produce(topic, value=b"value-%d" % i, key="key-%d" % (i % 4),
                  headers=[("h", b"x%d" % i), ("s", "text"), ("n", None)],
                  on_delivery=lambda err, msg: reports.append((err, msg)))
    assert p.flush(30) == 0
    assert len(reports) == 20 and all(err is None for err, _ in reports)
    by_value = {m.value(): m for _, m in reports}
    msg = by_value[b"value-3"]
    assert msg.topic() == topic and msg.key() == b"key-3" and msg.offset() >= 0
    assert msg.timestamp()[0] == polykafka.TIMESTAMP_CREATE_TIME
    got = read_back(bootstrap, topic, 20)
    assert sorted(m.value() for m in got) == sorted(b"value-%d" % i for i in range(20))
    back = {m.value(): m for m in got}[b"value-3"]
    assert back.key() == b"key-3" and back.headers() == [("h", b"x3"), ("s", b"text"), ("n", None)]
    # Same key, same partition (consistent_random: crc32 of the key).
    parts = {}
    for m in got:
        parts.setdefault(m.key(), set()).add(m.partition())
    assert all(len(s) == 1 for s in parts.values())


def test_callbacks_run_only_in_poll_on_the_callers_thread(bootstrap, topic):
    p = Producer(conf(bootstrap))
    calls = []
    p.produce(topic, b"v", callback=lambda err, msg: calls.append(threading.get_ident()))
    time.sleep(1.0)
    assert calls == []  # delivered by now, but not reported outside poll
    deadline = time.time() + 10
    while not calls and time.time() < deadline:
        p.poll(0.5)
    assert calls == [threading.get_ident()]
    assert p.poll(0) == 0


def test_conf_on_delivery_and_per_message_callback(bootstrap, topic):
    default, own = [], []
    p = Producer(conf(bootstrap, on_delivery=lambda e, m: default.append(m.value())))
    p.produce(topic, b"a")
    p.produce(topic, b"b", on_delivery=lambda e, m: own.append(m.value()))
    assert p.flush(10) == 0
    assert default == [b"a"] and own == [b"b"]


def test_flush_returns_what_is_left_and_len(bootstrap, topic):
    p = Producer(conf(bootstrap, linger_ms=10000))
    for i in range(10):
        p.produce(topic, b"x")
    assert len(p) == 10
    assert p.flush(0) == 10
    assert p.flush(30) == 0
    assert len(p) == 0


def test_full_queue_raises_buffer_error(bootstrap, topic):
    p = Producer(conf(bootstrap, linger_ms=10000, queue_buffering_max_kbytes=4))
    with pytest.raises(BufferError):
        for _ in range(100):
            p.produce(topic, b"x" * 500)
    assert p.flush(30) == 0


def test_too_large_message(bootstrap, topic):
    p = Producer(conf(bootstrap))
    with pytest.raises(KafkaException) as e:
        p.produce(topic, b"x" * (2 * 1024 * 1024))
    assert e.value.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE


def test_unknown_config_key_is_named(bootstrap):
    with pytest.raises(KafkaException) as e:
        Producer(conf(bootstrap, **{"no.such.key": 1}))
    err = e.value.args[0]
    assert err.code() == KafkaError._INVALID_ARG and "no.such.key" in err.str()


def test_bad_value_types():
    # As confluent-kafka (tests/test_error_paths.py checks both).
    with pytest.raises(KafkaException) as e:
        Producer({"bootstrap.servers": "127.0.0.1:9092", "linger.ms": [1]})
    assert e.value.args[0].code() == KafkaError._INVALID_ARG and "linger.ms" in e.value.args[0].str()
    with pytest.raises(TypeError):
        Producer("bootstrap.servers")


def test_unknown_topic(bootstrap):
    p = Producer(conf(bootstrap, allow_auto_create_topics=False, message_timeout_ms=3000,
                      topic_metadata_propagation_max_ms=2000))
    errors = []
    try:
        p.produce(unique("missing"), b"v", on_delivery=lambda e, m: errors.append(e))
        p.flush(10)
    except KafkaException as e:
        errors.append(e.args[0])
    assert len(errors) == 1
    assert errors[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)


def test_produce_batch_crosses_once(bootstrap, topic):
    p = Producer(conf(bootstrap))
    got = []
    msgs = [{"value": b"b%d" % i, "key": b"k"} for i in range(50)]
    msgs.append({"value": b"y" * (2 * 1024 * 1024)})  # too large: reported in its dict
    n = p.produce_batch(topic, msgs, on_delivery=lambda e, m: got.append(m.value()))
    assert n == 50
    assert msgs[-1]["_error"].code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert p.flush(30) == 0
    assert sorted(got) == sorted(b"b%d" % i for i in range(50))


def test_purge_fails_queued_records(bootstrap, topic):
    p = Producer(conf(bootstrap, linger_ms=10000))
    errs = []
    for _ in range(5):
        p.produce(topic, b"x", on_delivery=lambda e, m: errs.append(e))
    p.purge()
    p.poll(1)
    assert len(errs) == 5 and all(e is not None and e.code() == KafkaError._PURGE_QUEUE for e in errs)
    assert p.flush(5) == 0


def test_context_manager_and_close(bootstrap, topic):
    got = []
    with Producer(conf(bootstrap)) as p:
        p.produce(topic, b"v", on_delivery=lambda e, m: got.append(e))
    assert got == [None]
    with pytest.raises(RuntimeError, match="Producer has been closed"):
        p.produce(topic, b"again")


def test_logs_go_to_the_conf_logger(bootstrap, topic):
    records = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("polykafka.test")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Collect())
    p = Producer(conf(bootstrap, debug="all", logger=logger, enable_idempotence=True))
    p.produce(topic, b"v")
    p.flush(10)
    p.poll(0)
    assert any(r.levelno == logging.DEBUG for r in records)


def test_poll_is_interrupted_by_a_signal(bootstrap):
    p = Producer(conf(bootstrap))

    class Interrupted(Exception):
        pass

    def handler(signum, frame):
        raise Interrupted()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        start = time.time()
        with pytest.raises(Interrupted):
            p.poll(None)  # nothing in flight: would wait forever
        assert time.time() - start < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_gil_is_released_while_waiting(bootstrap):
    p = Producer(conf(bootstrap))
    ticks = []
    t = threading.Thread(target=lambda: p.poll(1.0))
    t.start()
    end = time.time() + 0.8
    while time.time() < end:
        ticks.append(1)
        time.sleep(0.001)
    t.join()
    assert len(ticks) > 100


def test_forked_child_creates_a_producer(bootstrap, topic):
    parent = Producer(conf(bootstrap))
    parent.produce(topic, b"parent")
    assert parent.flush(10) == 0  # the runtime is running in the parent
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            with pytest.raises(KafkaException):
                parent.produce(topic, b"stale handle")  # a clear error, not a hang
            child = Producer(conf(bootstrap))
            done = []
            child.produce(topic, b"child", on_delivery=lambda e, m: done.append(e))
            child.flush(20)
            code = 0 if done == [None] else 3
        finally:
            os._exit(code)
    status = wait_child(pid, 60)
    if status is None:
        pytest.fail("the forked child hung")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert sorted(m.value() for m in read_back(bootstrap, topic, 2)) == [b"child", b"parent"]
