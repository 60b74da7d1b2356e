"""SerializingProducer and DeserializingConsumer against the broker and the registry: the same
test bodies with confluent-kafka's classes and polykafka's, and records crossing between the
two (each producer with each consumer)."""

import importlib
import struct

import pytest

from conftest import unique
from test_schema_registry import USER_V1, _registry_url, event

PAIRS = [("confluent_kafka", "confluent_kafka"), ("polykafka", "polykafka"),
         ("confluent_kafka", "polykafka"), ("polykafka", "confluent_kafka")]


class Lib(object):
    def __init__(self, name):
        self.top = importlib.import_module(name)
        self.sr = importlib.import_module(name + ".schema_registry")
        self.avro = importlib.import_module(name + ".schema_registry.avro")
        self.ser = importlib.import_module(name + ".serialization")
        self.error = importlib.import_module(name + ".error")


@pytest.fixture(scope="module")
def url():
    return _registry_url()


@pytest.fixture(params=PAIRS, ids=["%s-to-%s" % (a[:2], b[:2]) for a, b in PAIRS])
def pair(request):
    return Lib(request.param[0]), Lib(request.param[1])


def producer(lib, bootstrap, url, seen=None):
    avro = lib.avro.AvroSerializer(lib.sr.SchemaRegistryClient({"url": url}), USER_V1)

    def value_serializer(obj, ctx):
        if seen is not None:
            seen.append((ctx.topic, str(ctx.field), ctx.headers))
        return avro(obj, ctx)

    return lib.top.SerializingProducer({"bootstrap.servers": bootstrap, "linger.ms": 5,
                                        "key.serializer": lib.ser.StringSerializer("utf_8"),
                                        "value.serializer": value_serializer})


def consumer(lib, bootstrap, url):
    return lib.top.DeserializingConsumer({
        "bootstrap.servers": bootstrap, "group.id": unique("sd"), "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "key.deserializer": lib.ser.StringDeserializer("utf_8"),
        "value.deserializer": lib.avro.AvroDeserializer(lib.sr.SchemaRegistryClient({"url": url}))})


def poll_until(c, n, timeout=30.0):
    import time
    out, errors, deadline = [], [], time.time() + timeout
    while len(out) + len(errors) < n and time.time() < deadline:
        try:
            m = c.poll(0.5)
        except Exception as e:  # noqa: BLE001 - collected to be checked by the test
            errors.append(e)
            continue
        if m is not None:
            out.append(m)
    return out, errors


def test_round_trip_with_headers(pair, bootstrap, topic, url):
    pl, cl = pair
    seen = []
    p = producer(pl, bootstrap, url, seen)
    assert isinstance(p, pl.top.Producer)
    for i in range(5):
        p.produce(topic, key="k%d" % i, value=event(i), partition=0, headers={"h": b"%d" % i})
    assert p.flush(30) == 0
    assert seen[0] == (topic, "value", {"h": b"0"})
    c = consumer(cl, bootstrap, url)
    assert isinstance(c, cl.top.Consumer)
    try:
        c.subscribe([topic])
        msgs, errors = poll_until(c, 5)
        assert errors == []
        assert [m.key() for m in msgs] == ["k%d" % i for i in range(5)]
        for i, m in enumerate(msgs):
            want = event(i)
            got = m.value()
            assert got["user_id"] == want["user_id"] and got["tags"] == want["tags"] and got["payload"] == want["payload"]
            assert got["at"] == want["at"]
            assert dict(m.headers()) == {"h": b"%d" % i}
        with pytest.raises(NotImplementedError):
            c.consume(1, 0.1)
    finally:
        c.close()


def test_serialization_errors_produce_nothing(pair, bootstrap, topic, url):
    pl, cl = pair
    p = producer(pl, bootstrap, url)
    bad = dict(event(1), user_id=7)
    with pytest.raises(pl.error.ValueSerializationError) as ei:
        p.produce(topic, key="bad", value=bad, partition=0)
    assert isinstance(ei.value, pl.ser.SerializationError) and isinstance(ei.value, pl.top.KafkaException)
    assert ei.value.exception is not None
    assert ei.value.args[0].code() == pl.top.KafkaError._VALUE_SERIALIZATION

    def broken_key(obj, ctx):
        raise RuntimeError("no key for you")

    pk = pl.top.SerializingProducer({"bootstrap.servers": bootstrap, "key.serializer": broken_key})
    with pytest.raises(pl.error.KeySerializationError, match="no key for you") as ei:
        pk.produce(topic, key="x", value=b"v", partition=0)
    assert ei.value.args[0].code() == pl.top.KafkaError._KEY_SERIALIZATION
    pk.flush(10)
    p.produce(topic, key="good", value=event(2), partition=0)
    assert p.flush(30) == 0
    c = consumer(cl, bootstrap, url)
    try:
        c.subscribe([topic])
        msgs, errors = poll_until(c, 1)
        msgs2, errors2 = poll_until(c, 1, timeout=2)
        assert errors == errors2 == [] and msgs2 == []
        assert [m.key() for m in msgs] == ["good"], "nothing was produced for the failed records"
    finally:
        c.close()


def test_bad_record_is_an_error_with_its_position_and_not_skipped(pair, bootstrap, topic, url):
    """A record the value deserializer cannot read raises ValueDeserializationError carrying
    the record (topic, partition, offset, raw bytes); the records around it still arrive."""
    pl, cl = pair
    p = producer(pl, bootstrap, url)
    p.produce(topic, key="a", value=event(1), partition=0)
    p.flush(30)
    raw = pl.top.Producer({"bootstrap.servers": bootstrap})
    raw.produce(topic, key=b"b", value=b"\x07not avro", partition=0)
    raw.produce(topic, key=b"c", value=b"\x00" + struct.pack(">I", 2 ** 31 - 7) + b"\x02", partition=0)
    raw.flush(30)
    p.produce(topic, key="d", value=event(4), partition=0)
    p.flush(30)
    c = consumer(cl, bootstrap, url)
    try:
        c.subscribe([topic])
        msgs, errors = poll_until(c, 4)
        assert [m.key() for m in msgs] == ["a", "d"]
        assert len(errors) == 2
        for e, offset, value in zip(errors, (1, 2), (b"\x07not avro", None)):
            assert isinstance(e, cl.error.ValueDeserializationError), repr(e)
            assert isinstance(e, cl.error.ConsumeError) and isinstance(e, cl.ser.SerializationError)
            assert e.args[0].code() == cl.top.KafkaError._VALUE_DESERIALIZATION
            m = e.kafka_message
            assert (m.topic(), m.partition(), m.offset()) == (topic, 0, offset)
            if value is not None:
                assert m.value() == value
    finally:
        c.close()


def test_conf_errors(pair, bootstrap):
    pl, _ = pair
    with pytest.raises(Exception):
        pl.top.SerializingProducer({"bootstrap.servers": bootstrap, "no.such.key": 1})
    with pytest.raises(Exception):
        pl.top.DeserializingConsumer({"bootstrap.servers": bootstrap})  # no group.id


def test_readme_avro_example_runs(bootstrap, url, capsys):
    """The README's schema registry example, run as written against this suite's broker and
    registry (its topic and group made unique)."""
    import pathlib
    import re
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Schema registry", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    topic = unique("user-events")
    code = (code.replace("localhost:9092", bootstrap).replace("http://localhost:8081", url)
            .replace('"user-events"', repr(topic)).replace('"user-events-reader"', repr(unique("reader"))))
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "{'userId': '123', 'eventType': 'USER_CREATED', 'timestamp': 1764921600000, 'metadata': None}" in out
