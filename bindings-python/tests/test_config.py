"""librdkafka configuration keys: every key the core implements reaches it; the keys polykafka
ignores are documented, and those whose value asks for something the engine does not do warn."""

import importlib
import logging
import re

import pytest

from polykafka import _config, _native

from conftest import REPO, unique


def core_keys():
    """The keys the core implements: its own table, exported by the native module."""
    keys = dict(_native.config_keys())
    assert set(keys.values()) == {"common", "producer", "consumer"}, keys
    return set(keys)


def test_no_key_the_core_implements_is_ignored():
    implemented = core_keys()
    assert "enable.ssl.certificate.verification" in implemented
    assert not (_config.IGNORED & implemented), sorted(_config.IGNORED & implemented)


def test_every_ignored_key_is_in_the_readme_table():
    readme = (REPO / "bindings-python/README.md").read_text()
    rows = set(re.findall(r"^\| `([a-z0-9._]+)` \|", readme, re.M))
    keys = _config.IGNORED | set(_config.UNHONOURED_CALLABLES)
    assert keys <= rows, sorted(keys - rows)


def test_core_keys_reach_the_core():
    props, _ = _config.translate({"bootstrap.servers": "b", "enable.ssl.certificate.verification": False,
                                  "queue.buffering.max.messages": 10, "batch.num.messages": 5},
                                 None, "producer")
    assert props["enable.ssl.certificate.verification"] == "false"
    assert props["queue.buffering.max.messages"] == "10"
    assert props["batch.num.messages"] == "5"
    # Producer keys given to a consumer are left out (as librdkafka), not refused by the core.
    props, _ = _config.translate({"bootstrap.servers": "b", "group.id": "g",
                                  "queue.buffering.max.messages": 10, "batch.num.messages": 5},
                                 None, "consumer")
    assert "queue.buffering.max.messages" not in props and "batch.num.messages" not in props


def test_librdkafka_names_and_defaults_come_from_the_core():
    assert _native.from_librdkafka("message.timeout.ms") == "delivery.timeout.ms"
    assert _native.from_librdkafka("bootstrap.servers") is None
    props, _ = _config.translate({"metadata.broker.list": "b", "message.timeout.ms": 60000,
                                  "queue.buffering.max.ms": 7}, None, "producer")
    assert props["bootstrap.servers"] == "b" and props["delivery.timeout.ms"] == "60000"
    assert props["linger.ms"] == "7"
    # librdkafka's defaults where they differ from Java's.
    assert props["queue.buffering.max.messages"] == "100000"
    assert props["batch.num.messages"] == "10000"
    # Every key the translation produces is one the core implements.
    assert set(props) <= core_keys(), sorted(set(props) - core_keys())


def warnings_of(caplog, conf, role="producer"):
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="polykafka"):
        _config.translate(dict({"bootstrap.servers": "b"}, **conf), None, role)
    return [r.getMessage() for r in caplog.records if r.name == "polykafka"]


def test_unhonoured_values_warn_once(caplog):
    for key, value in [("socket.keepalive.enable", True),
                       ("socket.nagle.disable", False), ("broker.address.family", "v4"),
                       ("sticky.partitioning.linger.ms", 10), ("enable.gapless.guarantee", True),
                       ("log_level", 2), ("offset.store.method", "file")]:
        got = warnings_of(caplog, {key: value})
        assert len(got) == 1 and repr(key) in got[0], (key, got)
    # Also inside default.topic.config (confluent-kafka 1.x).
    assert len(warnings_of(caplog, {"default.topic.config": {"socket.keepalive.enable": True}})) == 1
    got = warnings_of(caplog, {"throttle_cb": lambda s: None})
    assert len(got) == 1 and "throttle_cb" in got[0]


def test_values_the_engine_honours_anyway_do_not_warn(caplog):
    for key, value in [("statistics.interval.ms", 0), ("statistics.interval.ms", 1000),
                       ("stats_cb", lambda s: None), ("socket.nagle.disable", True),
                       ("api.version.request", True), ("broker.address.family", "any"),
                       ("client.dns.lookup", "use_all_dns_ips"), ("log_level", 6),
                       ("offset.store.method", "broker")]:
        assert warnings_of(caplog, {key: value}) == [], key
    # Keys with no meaning for this engine: silent.
    for key in _config.NO_MEANING:
        assert warnings_of(caplog, {key: 1}) == [], key


def test_a_warning_goes_to_the_conf_logger(caplog):
    logger = logging.getLogger("app-" + unique())
    with caplog.at_level(logging.WARNING):
        _config.translate({"bootstrap.servers": "b", "socket.keepalive.enable": True,
                           "logger": logger}, None, "producer")
    assert [r.name for r in caplog.records] == [logger.name]


@pytest.mark.parametrize("module", ["confluent_kafka", "polykafka"])
def test_certificate_verification_off_reaches_the_engine(module, cluster_env, topic):
    """No CA configured: the broker's certificate (from the test CA) is refused, unless
    enable.ssl.certificate.verification=false."""
    ck = importlib.import_module(module)
    ssl_bootstrap = cluster_env.get("KAFKA_SSL_BOOTSTRAP")
    if not ssl_bootstrap:
        pytest.skip("no SSL listener known (cluster env)")
    got = []
    p = ck.Producer({"bootstrap.servers": ssl_bootstrap, "security.protocol": "SSL",
                     "enable.ssl.certificate.verification": False,
                     "ssl.endpoint.identification.algorithm": "none"})
    p.produce(topic, b"over TLS", on_delivery=lambda err, msg: got.append(err))
    assert p.flush(30) == 0
    assert got == [None]
    # The same without the key: refused, the record fails.
    got = []
    p = ck.Producer({"bootstrap.servers": ssl_bootstrap, "security.protocol": "SSL",
                     "ssl.endpoint.identification.algorithm": "none", "message.timeout.ms": 3000})
    p.produce(topic, b"over TLS", on_delivery=lambda err, msg: got.append(err))
    p.flush(30)
    assert len(got) == 1 and got[0] is not None
