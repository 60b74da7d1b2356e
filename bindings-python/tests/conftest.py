"""Fixtures: the test cluster's address, unique topics, and reading records back.

The broker is the real one started by ``tests/cluster/kafka up``: its address comes from
``KAFKA_BOOTSTRAP`` or from the cluster's env file (``POLYKAFKA_CLUSTER_ENV``, default
``<repo>/build/cluster/cluster.env``). Records are read back with confluent-kafka's Consumer
until polykafka has its own.
"""

import os
import pathlib
import signal
import socket
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _registry_requests_time_out():
    """confluent-kafka's SchemaRegistryClient waits for an answer forever unless its conf has
    ``timeout`` (httpx without a timeout): one request the registry never answered hung a whole
    run. Its clients here get polykafka's default, 30 s, after which confluent-kafka retries."""
    try:
        from confluent_kafka.schema_registry import SchemaRegistryClient
    except ImportError:
        return
    init = SchemaRegistryClient.__init__

    def with_timeout(self, conf, *args, **kwargs):
        init(self, dict({"timeout": 30}, **conf), *args, **kwargs)

    SchemaRegistryClient.__init__ = with_timeout


_registry_requests_time_out()


def _read_env(path):
    env = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                k, v = line.split("=", 1)
                env[k] = v
    return env


def _cluster_env():
    """The cluster's env file: ``POLYKAFKA_CLUSTER_ENV`` or ``KAFKA_CLUSTER_ENV``, else the one
    under ``build/cluster`` whose ``KAFKA_BOOTSTRAP`` is ``$KAFKA_BOOTSTRAP`` (a cluster started
    with ``--name``), else ``build/cluster/cluster.env``."""
    named = os.environ.get("POLYKAFKA_CLUSTER_ENV") or os.environ.get("KAFKA_CLUSTER_ENV")
    if named:
        return _read_env(pathlib.Path(named))
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    if bootstrap:
        clusters = REPO / "build/cluster"
        for path in [clusters / "cluster.env"] + sorted(clusters.glob("kafka-*/cluster.env")):
            env = _read_env(path)
            if env.get("KAFKA_BOOTSTRAP") == bootstrap:
                return env
        return {}
    return _read_env(REPO / "build/cluster/cluster.env")


@pytest.fixture(scope="session")
def cluster_env():
    """The cluster's facts (``KAFKA_SASL_BOOTSTRAP``, ``KAFKA_SSL_BOOTSTRAP``, users, ...);
    empty when they are not known (tests needing them skip)."""
    return _cluster_env()


def bootstrap_servers():
    bs = os.environ.get("KAFKA_BOOTSTRAP") or _cluster_env().get("KAFKA_BOOTSTRAP")
    if not bs:
        pytest.exit("no Kafka cluster: run tests/cluster/kafka up or set KAFKA_BOOTSTRAP", 2)
    return bs


@pytest.fixture(scope="session")
def bootstrap():
    return bootstrap_servers()


@pytest.fixture(scope="session")
def admin(bootstrap):
    from polykafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def dead_bootstrap():
    """An address where nothing listens."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def wait_child(pid, seconds):
    """The wait status of the forked child `pid`, or None when it had not ended after `seconds`
    (it is then killed and reaped)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            return status
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def unique(prefix="py"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


@pytest.fixture
def topic(admin):
    """A new topic with 3 partitions, deleted afterwards."""
    from polykafka.admin import NewTopic
    name = unique()
    admin.create_topics([NewTopic(name, 3, 1)])[name].result(30)
    yield name
    try:
        admin.delete_topics([name])[name].result(30)
    except Exception:
        pass


def read_back(bootstrap, topic, n, timeout=30.0):
    """The first ``n`` records of ``topic`` (every partition), as confluent-kafka Messages."""
    import time

    import confluent_kafka as ck
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"),
                     "enable.auto.commit": False})
    try:
        md = c.list_topics(topic, timeout=10)
        parts = md.topics[topic].partitions
        c.assign([ck.TopicPartition(topic, p, ck.OFFSET_BEGINNING) for p in parts])
        out, deadline = [], time.time() + timeout
        while len(out) < n and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                out.append(m)
        return out
    finally:
        c.close()
