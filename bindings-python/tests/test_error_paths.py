"""Error paths, the same test bodies against confluent-kafka and polykafka: the exception
class and the error code (by name) of every refused call - transaction state, closed clients,
consumer and admin arguments, unknown topics, unreachable brokers, timeouts - and `error_cb`.
Producer-side unknown topic / unreachable bootstrap / full queue are in test_produce_nowait.py."""

import importlib
import threading
import time

import pytest

from conftest import unique


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


@pytest.fixture
def adm(ck):
    return importlib.import_module(ck.__name__ + ".admin")


def kafka_error(ck, call):
    """The KafkaError of the KafkaException `call` raises."""
    with pytest.raises(ck.KafkaException) as e:
        call()
    err = e.value.args[0]
    assert isinstance(err, ck.KafkaError)
    return err


# --- transactions ---------------------------------------------------------------------------

def test_transactions_need_a_transactional_id(ck, bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    try:
        calls = [lambda: p.init_transactions(5), p.begin_transaction, lambda: p.commit_transaction(5),
                 lambda: p.abort_transaction(5),
                 lambda: p.send_offsets_to_transaction([ck.TopicPartition("t", 0, 1)],
                                                       c.consumer_group_metadata(), 5)]
        for call in calls:
            err = kafka_error(ck, call)
            assert err.code() == ck.KafkaError._NOT_CONFIGURED, err
            assert not err.fatal() and not err.retriable() and not err.txn_requires_abort()
    finally:
        c.close()


def test_transaction_calls_in_the_wrong_state(ck, bootstrap, topic):
    p = ck.Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("txn")})
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    STATE = ck.KafkaError._STATE
    try:
        # Before init_transactions.
        assert kafka_error(ck, p.begin_transaction).code() == STATE
        assert kafka_error(ck, lambda: p.commit_transaction(5)).code() == STATE
        assert kafka_error(ck, lambda: p.abort_transaction(5)).code() == STATE
        p.init_transactions(30)
        assert kafka_error(ck, lambda: p.init_transactions(5)).code() == STATE
        # Ready, no transaction begun.
        assert kafka_error(ck, lambda: p.commit_transaction(5)).code() == STATE
        assert kafka_error(ck, lambda: p.abort_transaction(5)).code() == STATE
        err = kafka_error(ck, lambda: p.send_offsets_to_transaction(
            [ck.TopicPartition(topic, 0, 1)], c.consumer_group_metadata(), 5))
        assert err.code() == STATE
        p.begin_transaction()
        assert kafka_error(ck, p.begin_transaction).code() == STATE
        p.produce(topic, b"v")
        p.commit_transaction(30)
        assert kafka_error(ck, lambda: p.commit_transaction(5)).code() == STATE
    finally:
        c.close()


# --- closed clients --------------------------------------------------------------------------

def test_closed_producer(ck, bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    assert p.close() is True
    assert p.close() is True  # again: nothing to do
    for call in [lambda: p.produce("t", b"v"), lambda: p.init_transactions(1)]:
        with pytest.raises(RuntimeError, match="Producer has been closed"):
            call()


def test_closed_consumer(ck, bootstrap):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    c.close()
    c.close()  # again: nothing to do
    tp = ck.TopicPartition("t", 0, 1)
    calls = {
        "poll": lambda: c.poll(0.1), "consume": lambda: c.consume(1, 0.1),
        "subscribe": lambda: c.subscribe(["t"]), "unsubscribe": c.unsubscribe,
        "assign": lambda: c.assign([tp]), "incremental_assign": lambda: c.incremental_assign([tp]),
        "assignment": c.assignment, "commit": c.commit, "position": lambda: c.position([tp]),
        "committed": lambda: c.committed([tp]), "seek": lambda: c.seek(tp),
        "store_offsets": lambda: c.store_offsets(offsets=[tp]), "pause": lambda: c.pause([tp]),
        "get_watermark_offsets": lambda: c.get_watermark_offsets(tp),
        "consumer_group_metadata": c.consumer_group_metadata, "memberid": c.memberid,
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match="Consumer closed"):
            call()
            pytest.fail("%s after close did not raise" % name)


def test_send_offsets_arguments_are_checked_first(ck, bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    with pytest.raises(TypeError):
        p.send_offsets_to_transaction("not-a-list", None)


# --- configuration values --------------------------------------------------------------------

def test_configuration_value_types(ck, bootstrap):
    for value in ([1], {"a": 1}, b"5", object()):
        err = kafka_error(ck, lambda: ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": value}))
        assert err.code() == ck.KafkaError._INVALID_ARG, value
    # None is the empty value: fine for a string, not for a number.
    ck.Producer({"bootstrap.servers": bootstrap, "client.id": None})
    err = kafka_error(ck, lambda: ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": None}))
    assert err.code() == ck.KafkaError._INVALID_ARG
    with pytest.raises(TypeError):
        ck.Producer("bootstrap.servers")
    with pytest.raises(TypeError):
        ck.Producer({"bootstrap.servers": bootstrap, "error_cb": 5})


# --- consumer arguments and state ------------------------------------------------------------

def test_consumer_configuration_errors(ck, bootstrap):
    with pytest.raises(ValueError, match="group.id must be set"):
        ck.Consumer({"bootstrap.servers": bootstrap})
    err = kafka_error(ck, lambda: ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "g",
                                               "session.timeout.ms": "abc"}))
    assert err.code() == ck.KafkaError._INVALID_ARG and "session.timeout.ms" in err.str()


def test_consumer_call_errors(ck, bootstrap, topic):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    try:
        # Nothing consumed: nothing to commit.
        assert kafka_error(ck, lambda: c.commit(asynchronous=False)).code() == ck.KafkaError._NO_OFFSET
        # Seeking a partition that is not assigned.
        err = kafka_error(ck, lambda: c.seek(ck.TopicPartition(topic, 0, 5)))
        assert err.code() == ck.KafkaError._UNKNOWN_PARTITION
        # An empty subscription.
        assert kafka_error(ck, lambda: c.subscribe([])).code() == ck.KafkaError._INVALID_ARG
        with pytest.raises(TypeError):
            c.subscribe("not-a-list")
        with pytest.raises(TypeError):
            c.assign("not-a-list")
        # store_offsets: one of message and offsets; offsets of assigned partitions only.
        with pytest.raises(ValueError):
            c.store_offsets()
        err = kafka_error(ck, lambda: c.store_offsets(offsets=[ck.TopicPartition(topic, 0, 5)]))
        assert err.code() == ck.KafkaError._INVALID_ARG
        for n in (-1, 1000001):
            with pytest.raises(ValueError, match="num_messages"):
                c.consume(n, 0.1)
        assert c.consume(0, 0.1) == []
        # Once assigned, the same partition can be sought.
        c.assign([ck.TopicPartition(topic, 0, 0)])
        c.seek(ck.TopicPartition(topic, 0, 0))
        # Unassigning a partition that is not assigned unassigns nothing.
        err = kafka_error(ck, lambda: c.incremental_unassign([ck.TopicPartition(topic, 0),
                                                              ck.TopicPartition(topic, 1)]))
        assert err.code() == ck.KafkaError._INVALID_ARG
        assert [(tp.topic, tp.partition) for tp in c.assignment()] == [(topic, 0)]
        c.incremental_unassign([ck.TopicPartition(topic, 0)])
        assert c.assignment() == []
        for call in [lambda: c.commit(offsets="x"), lambda: c.committed("x"),
                     lambda: c.position("x"), lambda: c.pause("x"), lambda: c.seek("x"),
                     lambda: c.get_watermark_offsets("x"), lambda: c.poll("x")]:
            with pytest.raises(TypeError):
                call()
    finally:
        c.close()


def test_consumer_unknown_topic(ck, bootstrap, admin):
    name = unique("missing")
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g")})
    try:
        err = kafka_error(ck, lambda: c.get_watermark_offsets(ck.TopicPartition(name, 0), timeout=3))
        assert err.code() == ck.KafkaError._UNKNOWN_PARTITION
        err = kafka_error(ck, lambda: c.offsets_for_times([ck.TopicPartition(name, 0, 0)], timeout=3))
        assert err.code() == ck.KafkaError._UNKNOWN_PARTITION
    finally:
        c.close()
    # A consumer never asks the broker to create the topic (librdkafka's default).
    assert name not in admin.list_topics(timeout=10).topics


def test_consumer_timeout_on_unreachable_bootstrap(ck, dead_bootstrap):
    c = ck.Consumer({"bootstrap.servers": dead_bootstrap, "group.id": unique("g")})
    try:
        start = time.time()
        err = kafka_error(ck, lambda: c.committed([ck.TopicPartition("t", 0)], timeout=1))
        assert err.code() == ck.KafkaError._TIMED_OUT
        assert time.time() - start < 15  # the timeout bounds the call (generous slack)
    finally:
        c.close()


# --- admin arguments and results -------------------------------------------------------------

def test_admin_argument_errors(ck, adm, bootstrap):
    a = adm.AdminClient({"bootstrap.servers": bootstrap})
    for call in [lambda: a.create_topics([]), lambda: a.delete_topics([]),
                 lambda: a.create_partitions([]), lambda: a.describe_configs([]),
                 lambda: a.describe_consumer_groups([]), lambda: a.delete_consumer_groups([]),
                 lambda: a.list_consumer_group_offsets([]),
                 lambda: a.alter_consumer_group_offsets([])]:
        with pytest.raises(ValueError):
            call()
    with pytest.raises(TypeError):
        a.delete_topics("not-a-list")
    with pytest.raises(TypeError):
        a.describe_consumer_groups("not-a-list")
    with pytest.raises(TypeError):
        a.create_topics([adm.NewTopic("x", 1, 1)], request_timeout="soon")
    with pytest.raises(ValueError):
        a.create_topics([adm.NewTopic("x", 1, 1)], operation_timeout=-5)
    with pytest.raises(TypeError):
        a.create_topics([adm.NewTopic("x", 1, 1)], no_such_argument=1)
    with pytest.raises(TypeError):
        adm.NewTopic(None, 1, 1)
    with pytest.raises(TypeError):
        adm.NewTopic("x", "three", 1)
    with pytest.raises(ValueError):
        a.incremental_alter_configs([])
    with pytest.raises(ValueError):
        a.describe_configs("not-a-list")
    for call in [lambda: a.describe_cluster(request_timeout="soon"),
                 lambda: a.list_consumer_groups(request_timeout="soon"),
                 lambda: a.list_topics(timeout="soon")]:
        with pytest.raises(TypeError):
            call()
    with pytest.raises(ValueError, match="Unknown resource type"):
        adm.ConfigResource("no-such-type", "x")
    with pytest.raises(ValueError):
        a.alter_consumer_group_offsets([ck.ConsumerGroupTopicPartitions(unique("g"))])
    with pytest.raises(ValueError):
        a.alter_consumer_group_offsets([ck.ConsumerGroupTopicPartitions(
            unique("g"), [ck.TopicPartition("t", 0, -1)])])


def _error_name(ck, future):
    with pytest.raises(ck.KafkaException) as e:
        future.result(30)
    return e.value.args[0].name()


def test_admin_results_carry_the_brokers_errors(ck, adm, bootstrap, topic):
    a = adm.AdminClient({"bootstrap.servers": bootstrap})
    NT = adm.NewTopic
    assert _error_name(ck, a.create_topics([NT(topic, 1, 1)])[topic]) == "TOPIC_ALREADY_EXISTS"
    bad = unique("bad")
    assert _error_name(ck, a.create_topics([NT(bad, 0, 1)])[bad]) == "INVALID_PARTITIONS"
    assert _error_name(ck, a.create_topics([NT(bad, 1, 3)])[bad]) == "INVALID_REPLICATION_FACTOR"
    assert _error_name(ck, a.create_topics([NT(bad, 1, 1, config={"no.such.config": "1"})])[bad]) \
        == "INVALID_CONFIG"
    missing = unique("missing")
    assert _error_name(ck, a.delete_topics([missing])[missing]) == "UNKNOWN_TOPIC_OR_PART"
    assert _error_name(ck, a.create_partitions([adm.NewPartitions(topic, 1)])[topic]) \
        == "INVALID_PARTITIONS"
    assert _error_name(ck, a.create_partitions([adm.NewPartitions(missing, 3)])[missing]) \
        == "UNKNOWN_TOPIC_OR_PART"
    res = adm.ConfigResource(adm.ResourceType.TOPIC, missing)
    assert _error_name(ck, a.describe_configs([res])[res]) == "UNKNOWN_TOPIC_OR_PART"
    group = unique("g")
    assert _error_name(ck, a.delete_consumer_groups([group])[group]) == "GROUP_ID_NOT_FOUND"


# --- error_cb --------------------------------------------------------------------------------

def _recorder():
    got = []

    def error_cb(err):
        got.append((err, threading.get_ident()))
    return got, error_cb


def _check_connection_errors(ck, got, codes):
    assert got, "error_cb was not called"
    names = {e.name() for e, _ in got}
    assert names & codes, names
    for err, thread in got:
        assert isinstance(err, ck.KafkaError)
        assert thread == threading.get_ident()  # served by poll/flush, on the caller's thread
        assert not err.fatal()


def test_error_cb_producer_unreachable_bootstrap(ck, dead_bootstrap):
    got, error_cb = _recorder()
    p = ck.Producer({"bootstrap.servers": dead_bootstrap, "error_cb": error_cb})
    p.produce("t", b"v")
    p.flush(2)
    _check_connection_errors(ck, got, {"_TRANSPORT", "_ALL_BROKERS_DOWN"})
    assert {e.code() for e, _ in got} <= {ck.KafkaError._TRANSPORT, ck.KafkaError._ALL_BROKERS_DOWN}
    p.purge()


def test_error_cb_producer_poll(ck, dead_bootstrap):
    got, error_cb = _recorder()
    p = ck.Producer({"bootstrap.servers": dead_bootstrap, "error_cb": error_cb})
    p.produce("t", b"v")
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        p.poll(0.5)
    _check_connection_errors(ck, got, {"_TRANSPORT", "_ALL_BROKERS_DOWN"})
    p.purge()


def test_error_cb_consumer_unreachable_bootstrap(ck, dead_bootstrap):
    got, error_cb = _recorder()
    c = ck.Consumer({"bootstrap.servers": dead_bootstrap, "group.id": unique("g"),
                     "error_cb": error_cb})
    try:
        c.subscribe(["t"])
        assert c.poll(2) is None
        _check_connection_errors(ck, got, {"_TRANSPORT", "_ALL_BROKERS_DOWN"})
    finally:
        c.close()


def test_error_cb_authentication_failure(ck, cluster_env):
    sasl = cluster_env.get("KAFKA_SASL_BOOTSTRAP")
    if not sasl:
        pytest.skip("no SASL listener known (cluster env)")
    got, error_cb = _recorder()
    p = ck.Producer({"bootstrap.servers": sasl, "security.protocol": "SASL_PLAINTEXT",
                     "sasl.mechanisms": "PLAIN", "sasl.username": cluster_env["KAFKA_SASL_USER"],
                     "sasl.password": "not-the-password", "error_cb": error_cb})
    p.produce("t", b"v")
    deadline = time.time() + 10
    while not any(e.code() == ck.KafkaError._AUTHENTICATION for e, _ in got) and time.time() < deadline:
        p.flush(0.5)
    _check_connection_errors(ck, got, {"_AUTHENTICATION"})
    p.purge()


def test_no_error_cb_for_a_healthy_client(ck, bootstrap, topic):
    got, error_cb = _recorder()
    p = ck.Producer({"bootstrap.servers": bootstrap, "error_cb": error_cb})
    p.produce(topic, b"v")
    assert p.flush(30) == 0
    assert got == []


def test_error_cb_admin_unreachable_bootstrap(ck, adm, dead_bootstrap):
    got, error_cb = _recorder()
    a = adm.AdminClient({"bootstrap.servers": dead_bootstrap, "error_cb": error_cb})
    with pytest.raises(ck.KafkaException):
        a.list_topics(timeout=1)
    deadline = time.time() + 10
    while not got and time.time() < deadline:
        a.poll(0.5)
    _check_connection_errors(ck, got, {"_TRANSPORT", "_ALL_BROKERS_DOWN"})


def test_offsets_queries_on_unreachable_bootstrap(ck, dead_bootstrap):
    c = ck.Consumer({"bootstrap.servers": dead_bootstrap, "group.id": unique("g")})
    try:
        for call in [lambda: c.get_watermark_offsets(ck.TopicPartition("t", 0), timeout=1),
                     lambda: c.offsets_for_times([ck.TopicPartition("t", 0, 0)], timeout=1)]:
            start = time.time()
            assert kafka_error(ck, call).code() == ck.KafkaError._ALL_BROKERS_DOWN
            assert time.time() - start < 15  # the timeout bounds the call (generous slack)
    finally:
        c.close()


def test_poll_returns_when_error_cb_is_served(ck, dead_bootstrap):
    """poll(timeout) returns as soon as an error_cb error was served, as librdkafka (an error
    event counts as served), long before its timeout."""
    got, error_cb = _recorder()
    p = ck.Producer({"bootstrap.servers": dead_bootstrap, "error_cb": error_cb})
    p.produce("t", b"v")
    start = time.time()
    served = p.poll(30)
    elapsed = time.time() - start
    assert got, "error_cb was not called"
    assert served >= 1
    assert elapsed < 20, elapsed  # generous: the first error comes within about a second
    p.purge()


def test_closed_producer_poll_and_flush(ck, bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    p.close()
    for call in [lambda: p.poll(0), lambda: p.flush(0)]:
        with pytest.raises(RuntimeError, match="Producer has been closed"):
            call()
