"""Schema registry serdes against the real registry (``tests/cluster/registry up``), the same
test bodies run against confluent-kafka's ``schema_registry`` and polykafka's, and bytes
crossing between the two.

The registry: ``SCHEMA_REGISTRY_URL``, else this suite's own instance (see ``_registry_url``). Every subject name is
unique, so a shared registry is fine.
"""

import datetime
import decimal
import fcntl
import importlib
import os
import pathlib
import struct
import subprocess
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
LIBS = ["confluent_kafka", "polykafka"]


def _env_url(path):
    """The SCHEMA_REGISTRY_URL of an env file, if the registry there answers."""
    import socket
    from urllib.parse import urlparse

    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("SCHEMA_REGISTRY_URL="):
            url = line.split("=", 1)[1].strip()
            u = urlparse(url)
            try:
                socket.create_connection((u.hostname, u.port), timeout=2).close()
            except OSError:
                return None
            return url
    return None


def _registry_url():
    """``SCHEMA_REGISTRY_URL``; else the schema tests' own instance (``build/cluster-schema-tests``,
    ports 8086/8087, shared with the core's tests), started once and reused as test.sh does with
    the Kafka cluster. Not the shared one of ``tests/cluster/registry up``: ``tests/run`` stops
    that one while suites run."""
    url = os.environ.get("SCHEMA_REGISTRY_URL")
    if url:
        return url
    own = REPO / "build/cluster-schema-tests"
    own.mkdir(parents=True, exist_ok=True)
    # Test workers run in parallel (test.sh: pytest-xdist): one starts it, the others wait.
    with open(own / "registry.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = _env_url(own / "registry.env")
        if url:
            return url
        env = dict(os.environ, POLYKAFKA_BUILD=str(own), REGISTRY_PORT="8086", REGISTRY_MANAGEMENT_PORT="8087")
        subprocess.run([str(REPO / "tests/cluster/registry"), "up"], check=True, timeout=300, env=env)
        url = _env_url(own / "registry.env")
    if not url:
        pytest.fail("the registry started but does not answer")
    return url


@pytest.fixture(scope="module")
def url():
    return _registry_url()


class Lib(object):
    """One implementation's modules."""

    def __init__(self, name):
        self.name = name
        self.sr = importlib.import_module(name + ".schema_registry")
        self.avro = importlib.import_module(name + ".schema_registry.avro")
        self.json = importlib.import_module(name + ".schema_registry.json_schema")
        self.ser = importlib.import_module(name + ".serialization")
        self.error = importlib.import_module(name + ".schema_registry.error")

    def ctx(self, topic, field="value", headers=None):
        f = self.ser.MessageField.KEY if field == "key" else self.ser.MessageField.VALUE
        return self.ser.SerializationContext(topic, f, headers)


@pytest.fixture(params=LIBS)
def lib(request):
    return Lib(request.param)


@pytest.fixture(params=[("confluent_kafka", "polykafka"), ("polykafka", "confluent_kafka")], ids=["ck-to-pk", "pk-to-ck"])
def pair(request):
    return Lib(request.param[0]), Lib(request.param[1])


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


USER_V1 = """{"type": "record", "name": "UserEvent", "namespace": "polykafka.test", "fields": [
  {"name": "user_id", "type": "string"},
  {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["LOGIN", "LOGOUT", "PURCHASE"]}},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
  {"name": "amount", "type": ["null", "double"], "default": null},
  {"name": "ratio", "type": "float"},
  {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": "long"}},
  {"name": "payload", "type": "bytes"},
  {"name": "address", "type": ["null", {"type": "record", "name": "Address", "fields": [
     {"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "int"], "default": null}]}],
   "default": null},
  {"name": "ok", "type": "boolean"}]}"""

USER_V2 = USER_V1.replace(
    '{"name": "ok", "type": "boolean"}]}',
    '{"name": "ok", "type": "boolean"}, {"name": "country", "type": "string", "default": "NZ"}]}')


def event(i=1):
    return {
        "user_id": "user-%d" % i,
        "kind": "PURCHASE",
        "at": datetime.datetime(2026, 12, 5, 8, 0, i, 123000, tzinfo=datetime.timezone.utc),
        "amount": -12.75 * i,
        "ratio": 0.5,
        "tags": ["a", "b", "ü"],
        "attrs": {"x": -1, "y": 1 << 40},
        "payload": b"\x00\xff" * i,
        "address": {"city": "Wellington", "zip": 6011},
        "ok": True,
    }


ORDER_JSON = """{"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object",
 "properties": {"id": {"type": "integer"}, "note": {"type": "string"},
   "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"},
     "qty": {"type": "integer", "minimum": 1}}, "required": ["sku", "qty"]}}},
 "required": ["id", "items"]}"""

ORDER = {"id": 42, "note": "first", "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}]}


# --- the client ---------------------------------------------------------------------------

def test_client_register_lookup_fetch(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    subject = unique("client") + "-value"
    schema = lib.sr.Schema(USER_V1, "AVRO")
    schema_id = c.register_schema(subject, schema)
    assert isinstance(schema_id, int)
    assert c.register_schema(subject, schema) == schema_id
    fetched = c.get_schema(schema_id)
    assert fetched.schema_type == "AVRO" and "UserEvent" in fetched.schema_str
    found = c.lookup_schema(subject, schema)
    assert (found.schema_id, found.subject, found.version) == (schema_id, subject, 1)
    latest = c.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert c.get_version(subject, 1).schema_id == schema_id
    assert c.get_versions(subject) == [1]
    assert subject in c.get_subjects()
    assert c.test_compatibility(subject, lib.sr.Schema(USER_V2, "AVRO")) is True
    assert c.delete_subject(subject) == [1]
    with pytest.raises(lib.sr.SchemaRegistryError) as e:
        c.get_latest_version(unique("never-registered"))
    assert (e.value.http_status_code, e.value.error_code) == (404, 40401)


def test_client_conf_errors(lib, url):
    with pytest.raises(ValueError, match="bogus"):
        lib.sr.SchemaRegistryClient({"url": url, "bogus": 1})
    with pytest.raises(ValueError):
        lib.sr.SchemaRegistryClient({"basic.auth.user.info": "a:b"})


def test_incompatible_schema_is_the_registrys_409(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("incompat")
    c.set_compatibility(topic + "-value", "BACKWARD")
    ser = lib.avro.AvroSerializer(c, USER_V1)
    ser(event(), lib.ctx(topic))
    bad = USER_V1.replace('{"name": "ok", "type": "boolean"}]}',
                          '{"name": "ok", "type": "boolean"}, {"name": "zip", "type": "int"}]}')
    with pytest.raises(lib.sr.SchemaRegistryError) as e:
        lib.avro.AvroSerializer(c, bad)(dict(event(), zip=1), lib.ctx(topic))
    assert e.value.http_status_code == 409 and e.value.error_code == 409
    assert e.value.error_message


def test_unreachable_registry(lib):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = lib.sr.SchemaRegistryClient({"url": "http://127.0.0.1:%d" % port, "max.retries": 1, "retries.wait.ms": 10})
    # confluent-kafka lets its HTTP library's ConnectError (a TransportError) through;
    # polykafka raises SchemaRegistryUnreachableError, a ConnectionError and a SchemaRegistryError
    expected = "TransportError" if lib.name == "confluent_kafka" else "ConnectionError"
    t0 = time.monotonic()
    with pytest.raises(Exception) as e:
        lib.avro.AvroSerializer(c, USER_V1)(event(), lib.ctx(unique("dead")))
    assert expected in [k.__name__ for k in type(e.value).__mro__], type(e.value).__mro__
    with pytest.raises(Exception) as e:
        c.get_schema(1)
    assert expected in [k.__name__ for k in type(e.value).__mro__], type(e.value).__mro__
    assert time.monotonic() - t0 < 60
    if lib.name == "polykafka":
        with pytest.raises(lib.sr.SchemaRegistryError) as e:
            c.get_schema(2)
        assert e.value.retriable and e.value.http_status_code == -1


# --- Avro -------------------------------------------------------------------------------

def test_avro_round_trip(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("avro")
    ser = lib.avro.AvroSerializer(c, USER_V1)
    de = lib.avro.AvroDeserializer(c)
    for i in range(1, 4):
        data = ser(event(i), lib.ctx(topic))
        assert data[0] == 0
        assert de(data, lib.ctx(topic)) == event(i)
    assert ser(None, lib.ctx(topic)) is None and de(None, lib.ctx(topic)) is None
    # the key side uses the -key subject
    ser(event(), lib.ctx(topic, "key"))
    assert c.get_latest_version(topic + "-key").schema_id == struct.unpack(">I", ser(event(), lib.ctx(topic, "key"))[1:5])[0]


def test_avro_cross(pair, url):
    writer, reader = pair
    topic = unique("cross")
    data = writer.avro.AvroSerializer(writer.sr.SchemaRegistryClient({"url": url}), USER_V1)(event(3), writer.ctx(topic))
    value = reader.avro.AvroDeserializer(reader.sr.SchemaRegistryClient({"url": url}))(data, reader.ctx(topic))
    assert value == event(3)


def test_avro_bytes_identical_to_confluent_kafka(url):
    ck, pk = Lib("confluent_kafka"), Lib("polykafka")
    topic = unique("same")
    records = [event(i) for i in range(1, 5)]
    records.append(dict(event(), amount=None, address=None, tags=[], attrs={}, payload=b"", ok=False, at=-5000))
    records.append(dict(event(), address={"city": "", "zip": None}, amount=3))
    theirs = ck.avro.AvroSerializer(ck.sr.SchemaRegistryClient({"url": url}), USER_V1)
    ours = pk.avro.AvroSerializer(pk.sr.SchemaRegistryClient({"url": url}), USER_V1)
    for r in records:
        assert ours(r, pk.ctx(topic)) == theirs(r, ck.ctx(topic)), r


LOGICAL = """{"type": "record", "name": "Logical", "fields": [
  {"name": "day", "type": {"type": "int", "logicalType": "date"}},
  {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
  {"name": "tu", "type": {"type": "long", "logicalType": "time-micros"}},
  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
  {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
  {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
  {"name": "big", "type": {"type": "fixed", "name": "Big", "size": 9, "logicalType": "decimal", "precision": 20, "scale": 4}},
  {"name": "maybe", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": null}]}"""


def logical(i):
    return {
        "day": datetime.date(2026, 12, 5) - datetime.timedelta(days=40000 * i),
        "tm": datetime.time(23, 59, 58, 123000),
        "tu": datetime.time(1, 2, 3, 456789),
        "ts": datetime.datetime(1960 + i, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc),
        "id": uuid.UUID(int=0x1234567890ABCDEF * i),
        "price": decimal.Decimal("-128.00") if i % 2 else decimal.Decimal("12345678.9"),
        "big": decimal.Decimal("-%d.5" % (10 ** (i + 5))),
        "maybe": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc) if i % 2 else None,
    }


def test_avro_logical_types(url):
    """Logical types: the same bytes as confluent-kafka (fastavro) and the same Python values back."""
    ck, pk = Lib("confluent_kafka"), Lib("polykafka")
    topic = unique("logical")
    theirs = ck.avro.AvroSerializer(ck.sr.SchemaRegistryClient({"url": url}), LOGICAL)
    ours = pk.avro.AvroSerializer(pk.sr.SchemaRegistryClient({"url": url}), LOGICAL)
    their_de = ck.avro.AvroDeserializer(ck.sr.SchemaRegistryClient({"url": url}))
    our_de = pk.avro.AvroDeserializer(pk.sr.SchemaRegistryClient({"url": url}))
    for i in range(1, 5):
        r = logical(i)
        data = ours(r, pk.ctx(topic))
        assert data == theirs(r, ck.ctx(topic)), r
        assert our_de(data, pk.ctx(topic)) == their_de(data, ck.ctx(topic)) == r


def test_avro_primitive_schema(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("prim")
    ser = lib.avro.AvroSerializer(c, '"string"')
    data = ser("héllo", lib.ctx(topic, "key"))
    assert data[5:] == b"\x0ch\xc3\xa9llo"
    assert lib.avro.AvroDeserializer(c)(data, lib.ctx(topic, "key")) == "héllo"


def test_avro_schema_evolution(lib, url):
    """v1 written, read with a v2 reader schema that adds a defaulted field; then v2 registers
    as version 2 and use.latest.version reads old bytes as v2."""
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("evolve")
    v1 = lib.avro.AvroSerializer(c, USER_V1)(event(), lib.ctx(topic))
    value = lib.avro.AvroDeserializer(c, USER_V2)(v1, lib.ctx(topic))
    assert value == dict(event(), country="NZ")
    v2 = lib.avro.AvroSerializer(c, USER_V2)(dict(event(), country="AU"), lib.ctx(topic))
    assert v2[1:5] != v1[1:5]
    assert c.get_latest_version(topic + "-value").version == 2
    latest = lib.avro.AvroDeserializer(c, conf={"use.latest.version": True})
    assert latest(v1, lib.ctx(topic)) == dict(event(), country="NZ")
    assert latest(v2, lib.ctx(topic)) == dict(event(), country="AU")
    # a serializer with use.latest.version writes with version 2's id
    ser = lib.avro.AvroSerializer(c, USER_V2, conf={"use.latest.version": True, "auto.register.schemas": False})
    assert ser(dict(event(), country="AU"), lib.ctx(topic)) == v2


def test_avro_auto_register_off_needs_a_registered_schema(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    ser = lib.avro.AvroSerializer(c, USER_V1, conf={"auto.register.schemas": False})
    with pytest.raises(lib.sr.SchemaRegistryError) as e:
        ser(event(), lib.ctx(unique("unregistered")))
    assert e.value.http_status_code == 404


def test_avro_subject_name_strategies(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("strategy")
    ser = lib.avro.AvroSerializer(c, USER_V1, conf={"subject.name.strategy": lib.sr.topic_record_subject_name_strategy})
    data = ser(event(), lib.ctx(topic))
    reg = c.get_latest_version(topic + "-polykafka.test.UserEvent")
    assert reg.schema_id == struct.unpack(">I", data[1:5])[0]


def test_avro_schema_id_in_a_header(lib, url):
    """The newer framing: the id in the __value_schema_id header, the payload bare."""
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("header")
    framed = lib.avro.AvroSerializer(c, USER_V1)(event(), lib.ctx(topic))
    headers = [("__value_schema_id", framed[:5])]
    assert lib.avro.AvroDeserializer(c)(framed[5:], lib.ctx(topic, headers=headers)) == event()


def test_avro_value_not_matching_the_schema(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    ser = lib.avro.AvroSerializer(c, USER_V1)
    topic = unique("badvalue")
    with pytest.raises((TypeError, ValueError)) as e:
        ser(dict(event(), at="yesterday"), lib.ctx(topic))
    assert "at" in str(e.value)
    with pytest.raises((TypeError, ValueError)):
        ser({k: v for k, v in event().items() if k != "user_id"}, lib.ctx(topic))
    if lib.name == "polykafka":
        with pytest.raises(lib.ser.SerializationError) as e:
            ser(dict(event(), address={"city": 7}), lib.ctx(topic))
        assert "polykafka.test.UserEvent.address" in str(e.value) and "city" in str(e.value)


def test_avro_bytes_without_magic_byte(lib, url):
    de = lib.avro.AvroDeserializer(lib.sr.SchemaRegistryClient({"url": url}))
    with pytest.raises(lib.ser.SerializationError):
        de(b"\x07not framed at all", lib.ctx("t"))
    with pytest.raises(lib.ser.SerializationError):
        de(b"\x00\x01", lib.ctx("t"))


def test_avro_unknown_schema_id(lib, url):
    de = lib.avro.AvroDeserializer(lib.sr.SchemaRegistryClient({"url": url}))
    with pytest.raises(lib.sr.SchemaRegistryError) as e:
        de(b"\x00\x3a\xde\x68\xb1\x02\x02", lib.ctx("t"))
    assert (e.value.http_status_code, e.value.error_code) == (404, 40403)


def test_serde_conf_errors(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    with pytest.raises(ValueError, match="bogus"):
        lib.avro.AvroSerializer(c, USER_V1, conf={"bogus": True})
    with pytest.raises(ValueError):
        lib.avro.AvroSerializer(c, USER_V1, conf={"auto.register.schemas": "yes"})
    with pytest.raises(ValueError):
        lib.avro.AvroSerializer(c, USER_V1, conf={"use.latest.version": True, "auto.register.schemas": True})


def test_to_dict_and_from_dict(lib, url):
    class User(object):
        def __init__(self, d):
            self.d = d

    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("todict")
    ser = lib.avro.AvroSerializer(c, USER_V1, to_dict=lambda u, ctx: u.d)
    de = lib.avro.AvroDeserializer(c, from_dict=lambda d, ctx: User(d))
    assert de(ser(User(event()), lib.ctx(topic)), lib.ctx(topic)).d == event()


# --- JSON Schema -----------------------------------------------------------------------

def test_json_round_trip(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("json")
    data = lib.json.JSONSerializer(ORDER_JSON, c)(ORDER, lib.ctx(topic))
    assert data[0] == 0
    assert lib.json.JSONDeserializer(None, schema_registry_client=c)(data, lib.ctx(topic)) == ORDER
    assert lib.json.JSONDeserializer(ORDER_JSON, schema_registry_client=c)(data, lib.ctx(topic)) == ORDER


def test_json_cross(pair, url):
    writer, reader = pair
    topic = unique("jcross")
    data = writer.json.JSONSerializer(ORDER_JSON, writer.sr.SchemaRegistryClient({"url": url}))(ORDER, writer.ctx(topic))
    de = reader.json.JSONDeserializer(ORDER_JSON, schema_registry_client=reader.sr.SchemaRegistryClient({"url": url}))
    assert de(data, reader.ctx(topic)) == ORDER


def test_json_value_not_matching_the_schema(lib, url):
    ser = lib.json.JSONSerializer(ORDER_JSON, lib.sr.SchemaRegistryClient({"url": url}))
    topic = unique("jbad")
    with pytest.raises(lib.ser.SerializationError):
        ser({"id": 1, "items": [{"sku": "A", "qty": 0}]}, lib.ctx(topic))
    with pytest.raises(lib.ser.SerializationError):
        ser({"id": "one", "items": []}, lib.ctx(topic))
    # validate=False lets it through
    data = lib.json.JSONSerializer(ORDER_JSON, lib.sr.SchemaRegistryClient({"url": url}), conf={"validate": False})(
        {"id": "one", "items": []}, lib.ctx(topic))
    assert data[0] == 0


def test_json_deserializer_validates(lib, url):
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("jval")
    data = lib.json.JSONSerializer(ORDER_JSON, c, conf={"validate": False})({"id": "one", "items": []}, lib.ctx(topic))
    with pytest.raises(lib.ser.SerializationError):
        lib.json.JSONDeserializer(ORDER_JSON, schema_registry_client=c)(data, lib.ctx(topic))


# --- the simple serdes --------------------------------------------------------------------

@pytest.mark.parametrize("name,value", [("String", "héllo"), ("Integer", -7), ("Double", 2.5)])
def test_simple_serdes_match(name, value):
    ck, pk = Lib("confluent_kafka"), Lib("polykafka")
    ours = getattr(pk.ser, name + "Serializer")()(value, None)
    assert ours == getattr(ck.ser, name + "Serializer")()(value, None)
    assert getattr(pk.ser, name + "Deserializer")()(ours, None) == value
    assert getattr(pk.ser, name + "Serializer")()(None, None) is None


def test_simple_serde_errors(lib):
    with pytest.raises(lib.ser.SerializationError):
        lib.ser.IntegerSerializer()(1 << 40, None)
    with pytest.raises(lib.ser.SerializationError):
        lib.ser.IntegerDeserializer()(b"\x00", None)
    with pytest.raises(lib.ser.SerializationError):
        lib.ser.StringDeserializer()(b"\xff\xfe", None)


def test_avro_schema_references(lib, url):
    """A schema naming a type registered under another subject (a schema reference)."""
    c = lib.sr.SchemaRegistryClient({"url": url})
    address_subject = unique("address")
    address = '{"type": "record", "name": "Address", "namespace": "polykafka.test", "fields": [{"name": "city", "type": "string"}]}'
    c.register_schema(address_subject, lib.sr.Schema(address, "AVRO"))
    person = lib.sr.Schema(
        '{"type": "record", "name": "Person", "namespace": "polykafka.test", "fields": ['
        '{"name": "name", "type": "string"}, {"name": "home", "type": "polykafka.test.Address"}]}',
        "AVRO", [lib.sr.SchemaReference("polykafka.test.Address", address_subject, 1)])
    topic = unique("refs")
    value = {"name": "ann", "home": {"city": "Wellington"}}
    data = lib.avro.AvroSerializer(c, person)(value, lib.ctx(topic))
    assert data[5:] == b"\x06ann\x14Wellington"
    assert lib.avro.AvroDeserializer(lib.sr.SchemaRegistryClient({"url": url}))(data, lib.ctx(topic)) == value
    assert len(c.get_latest_version(topic + "-value").schema.references) == 1


# --- Protobuf (generated classes; built here from descriptors, as protoc's output would be) ---

def proto_classes():
    """Order (imports Money from another file and google.protobuf.Timestamp), with a nested
    Line, and a second top-level message Other."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from google.protobuf import timestamp_pb2

    F = descriptor_pb2.FieldDescriptorProto
    tag = uuid.uuid4().hex[:10]
    money = descriptor_pb2.FileDescriptorProto(name="money_%s.proto" % tag, package="pk.money", syntax="proto3")
    m = money.message_type.add(name="Money")
    m.field.add(name="units", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    m.field.add(name="currency", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    orders = descriptor_pb2.FileDescriptorProto(name="orders_%s.proto" % tag, package="pk.orders", syntax="proto3",
                                                dependency=[money.name, "google/protobuf/timestamp.proto"])
    other = orders.message_type.add(name="Other")
    other.field.add(name="x", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    o = orders.message_type.add(name="Order")
    o.field.add(name="id", number=1, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    o.field.add(name="note", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    o.field.add(name="total", number=3, type=F.TYPE_MESSAGE, type_name=".pk.money.Money", label=F.LABEL_OPTIONAL)
    o.field.add(name="at", number=4, type=F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp", label=F.LABEL_OPTIONAL)
    o.field.add(name="lines", number=5, type=F.TYPE_MESSAGE, type_name=".pk.orders.Order.Line", label=F.LABEL_REPEATED)
    line = o.nested_type.add(name="Line")
    line.field.add(name="sku", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(money)
    pool.Add(orders)
    get = lambda name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))  # noqa: E731
    return get("pk.orders.Order"), get("pk.orders.Order.Line"), get("pk.orders.Other"), get("pk.money.Money")


def an_order(Order, i=1):
    o = Order(id=i, note="n%d" % i)
    o.total.units = 100 * i
    o.total.currency = "NZD"
    o.at.seconds = 1700000000 + i
    o.lines.add(sku="A-%d" % i)
    o.lines.add(sku="B")
    return o


def protobuf_lib(lib):
    return importlib.import_module(lib.name + ".schema_registry.protobuf")


def test_protobuf_round_trip_and_references(lib, url):
    pb = protobuf_lib(lib)
    Order, Line, Other, Money = proto_classes()
    c = lib.sr.SchemaRegistryClient({"url": url})
    topic = unique("proto")
    ser = pb.ProtobufSerializer(Order, c, {"use.deprecated.format": False})
    data = ser(an_order(Order), lib.ctx(topic))
    assert data[0] == 0 and data[5] == 0x02 and data[6] == 0x02  # message indexes [1]: Order is the 2nd message
    de = pb.ProtobufDeserializer(Order, {"use.deprecated.format": False}, schema_registry_client=c)
    assert de(data, lib.ctx(topic)) == an_order(Order)
    # the import is a schema reference (the well-known Timestamp is skipped)
    refs = c.get_latest_version(topic + "-value").schema.references
    assert [r.name for r in refs] == [Money.DESCRIPTOR.file.name]
    # a nested message: indexes [1, 0]; the first message: the single byte 0
    line = pb.ProtobufSerializer(Line, c, {"use.deprecated.format": False})(Line(sku="x"), lib.ctx(topic + "l"))
    assert line[5:8] == b"\x04\x02\x00"
    first = pb.ProtobufSerializer(Other, c, {"use.deprecated.format": False})(Other(x=3), lib.ctx(topic + "o"))
    assert first[5:] == b"\x00\x08\x03"


def test_protobuf_cross_and_identical_bytes(url):
    ck, pk = Lib("confluent_kafka"), Lib("polykafka")
    Order, Line, Other, Money = proto_classes()
    topic = unique("pcross")
    theirs = protobuf_lib(ck).ProtobufSerializer(Order, ck.sr.SchemaRegistryClient({"url": url}), {"use.deprecated.format": False})
    ours = protobuf_lib(pk).ProtobufSerializer(Order, pk.sr.SchemaRegistryClient({"url": url}), {"use.deprecated.format": False})
    their_de = protobuf_lib(ck).ProtobufDeserializer(Order, {"use.deprecated.format": False})
    our_de = protobuf_lib(pk).ProtobufDeserializer(Order, {"use.deprecated.format": False},
                                                   schema_registry_client=pk.sr.SchemaRegistryClient({"url": url}))
    for i in range(1, 4):
        a, b = ours(an_order(Order, i), pk.ctx(topic)), theirs(an_order(Order, i), ck.ctx(topic))
        assert a == b
        assert their_de(a, ck.ctx(topic)) == our_de(b, pk.ctx(topic)) == an_order(Order, i)


def test_protobuf_errors(lib, url):
    pb = protobuf_lib(lib)
    Order, Line, Other, Money = proto_classes()
    c = lib.sr.SchemaRegistryClient({"url": url})
    with pytest.raises(ValueError):
        pb.ProtobufSerializer(Order, c, {"use.deprecated.format": False})(Other(x=1), lib.ctx(unique("pwrong")))
    with pytest.raises(ValueError):
        pb.ProtobufSerializer(Order, c, {"use.deprecated.format": True})
    de = pb.ProtobufDeserializer(Order, {"use.deprecated.format": False})
    with pytest.raises(lib.ser.SerializationError):
        de(b"\x09not framed", lib.ctx("t"))


# --- Protobuf without generated classes (polykafka's dynamic messages in the core) -----------

def proto_text(Order, Money):
    """The .proto text of proto_classes()'s files, as a user would register it."""
    money = 'syntax = "proto3";\npackage pk.money;\nmessage Money { int64 units = 1; string currency = 2; }\n'
    orders = ('syntax = "proto3";\npackage pk.orders;\nimport "%s";\nimport "google/protobuf/timestamp.proto";\n'
              'message Other { int32 x = 1; }\n'
              'message Order {\n  int64 id = 1;\n  string note = 2;\n  pk.money.Money total = 3;\n'
              '  google.protobuf.Timestamp at = 4;\n  repeated Line lines = 5;\n  message Line { string sku = 1; }\n}\n'
              % Money.DESCRIPTOR.file.name)
    return money, orders


def order_dict(i=1):
    return {"id": i, "note": "n%d" % i, "total": {"units": 100 * i, "currency": "NZD"},
            "at": {"seconds": 1700000000 + i, "nanos": 0}, "lines": [{"sku": "A-%d" % i}, {"sku": "B"}]}


def test_protobuf_dynamic_reads_confluent_kafka_bytes(url):
    """confluent-kafka's ProtobufSerializer (generated class) writes; polykafka's deserializer
    without a class gives the same fields as a dict."""
    ck, pk = Lib("confluent_kafka"), Lib("polykafka")
    Order, Line, Other, Money = proto_classes()
    topic = unique("pdyn")
    theirs = protobuf_lib(ck).ProtobufSerializer(Order, ck.sr.SchemaRegistryClient({"url": url}), {"use.deprecated.format": False})
    ours = protobuf_lib(pk).ProtobufDeserializer(None, {}, schema_registry_client=pk.sr.SchemaRegistryClient({"url": url}))
    for i in range(1, 4):
        assert ours(theirs(an_order(Order, i), ck.ctx(topic)), pk.ctx(topic)) == order_dict(i)
    line = protobuf_lib(ck).ProtobufSerializer(Line, ck.sr.SchemaRegistryClient({"url": url}), {"use.deprecated.format": False})
    assert ours(line(Line(sku="q"), ck.ctx(topic + "l")), pk.ctx(topic + "l")) == {"sku": "q"}


def test_protobuf_dynamic_bytes_parsed_by_generated_class(url):
    """polykafka encodes dicts with a .proto text schema (its import a registered reference);
    confluent-kafka's ProtobufDeserializer with the generated class parses them."""
    ck, pk = Lib("confluent_kafka"), Lib("polykafka")
    Order, Line, Other, Money = proto_classes()
    money, orders = proto_text(Order, Money)
    c = pk.sr.SchemaRegistryClient({"url": url})
    money_subject = unique("money")
    c.register_schema(money_subject, pk.sr.Schema(money, "PROTOBUF"))
    refs = [pk.sr.SchemaReference(Money.DESCRIPTOR.file.name, money_subject, 1)]
    schema = pk.sr.Schema(orders, "PROTOBUF", refs)
    topic = unique("pdyn2")
    ser = protobuf_lib(pk).ProtobufSerializer(schema, c, {"use.deprecated.format": False}, message_name="pk.orders.Order")
    their_de = protobuf_lib(ck).ProtobufDeserializer(Order, {"use.deprecated.format": False})
    our_de = protobuf_lib(pk).ProtobufDeserializer(None, {}, schema_registry_client=c)
    for i in range(1, 4):
        data = ser(order_dict(i), pk.ctx(topic))
        assert data[5:7] == b"\x02\x02"  # Order is the file's second message
        assert their_de(data, ck.ctx(topic)) == an_order(Order, i)
        assert our_de(data, pk.ctx(topic)) == order_dict(i)
    first = protobuf_lib(pk).ProtobufSerializer(schema, c, {"use.deprecated.format": False})({"x": 3}, pk.ctx(topic + "o"))
    assert first[5:] == b"\x00\x08\x03"
    assert protobuf_lib(ck).ProtobufDeserializer(Other, {"use.deprecated.format": False})(first, ck.ctx(topic)) == Other(x=3)
    # a value that does not match: the error names the field path, nothing is returned
    with pytest.raises(pk.ser.SerializationError, match=r"Order\.lines\[0\]\.sku"):
        ser({"lines": [{"sku": 5}]}, pk.ctx(topic))
    with pytest.raises(pk.ser.SerializationError, match="no such field"):
        ser({"nope": 1}, pk.ctx(topic))
    with pytest.raises(ValueError):
        protobuf_lib(pk).ProtobufDeserializer(None, {})
