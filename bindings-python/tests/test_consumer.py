"""Consumer, transactions and group admin: each test body runs against confluent-kafka and
polykafka (the ``ck`` fixture), so the tests check real confluent-kafka behaviour and polykafka
must show the same."""

import importlib
import threading
import time

import pytest

from conftest import unique


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


def new_topic(ck, bootstrap, partitions=3):
    admin = importlib.import_module(ck.__name__ + ".admin")
    a = admin.AdminClient({"bootstrap.servers": bootstrap})
    name = unique("cons")
    a.create_topics([admin.NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(30)
    return name


def produce(ck, bootstrap, topic, n, partition=None, prefix="v", **conf):
    p = ck.Producer(dict({"bootstrap.servers": bootstrap, "linger.ms": 5}, **conf))
    for i in range(n):
        kw = {} if partition is None else {"partition": partition}
        p.produce(topic, value=b"%s%d" % (prefix.encode(), i), key=b"k%d" % i, **kw)
    assert p.flush(30) == 0


def consumer(ck, bootstrap, group=None, **conf):
    c = dict({"bootstrap.servers": bootstrap, "group.id": group or unique("g"),
              "auto.offset.reset": "earliest", "session.timeout.ms": 10000,
              "heartbeat.interval.ms": 1000}, **conf)
    return ck.Consumer(c)


def drain(c, n, timeout=30.0, batch=100):
    """Up to ``n`` messages (errors fail the test)."""
    out, deadline = [], time.time() + timeout
    while len(out) < n and time.time() < deadline:
        for m in c.consume(min(batch, n - len(out)), 0.5):
            assert m.error() is None, m.error()
            out.append(m)
    return out


def test_defaults_and_config_errors(ck, bootstrap):
    with pytest.raises(ValueError):
        ck.Consumer({"bootstrap.servers": bootstrap})  # no group.id
    with pytest.raises(ck.KafkaException) as e:
        ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "no.such.key": 1})
    assert e.value.args[0].code() == ck.KafkaError._INVALID_ARG
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": unique("g"),
                     "fetch.wait.max.ms": 100, "enable.partition.eof": False,
                     "auto.offset.reset": "smallest", "enable.auto.offset.store": True,
                     "partition.assignment.strategy": "range", "isolation.level": "read_committed"})
    assert c.assignment() == []
    assert c.memberid() is None
    assert c.poll(0) is None
    assert c.consume(10, 0) == []
    c.close()
    with pytest.raises(RuntimeError):
        c.poll(0)
    c.close()  # twice is fine


def test_subscribe_consume_and_message_fields(ck, bootstrap):
    topic = new_topic(ck, bootstrap)
    p = ck.Producer({"bootstrap.servers": bootstrap})
    p.produce(topic, value=b"v", key=b"k", partition=1, headers=[("h", b"1"), ("h", b"2")], timestamp=1234567)
    p.produce(topic, value=None, key=None, partition=1)
    p.flush(30)
    c = consumer(ck, bootstrap)
    assigned = []
    c.subscribe([topic], on_assign=lambda cons, parts: assigned.append((cons, parts)))
    msgs = drain(c, 2)
    assert assigned and assigned[0][0] is c
    assert sorted((tp.topic, tp.partition) for tp in assigned[0][1]) == [(topic, 0), (topic, 1), (topic, 2)]
    assert all(tp.offset == ck.OFFSET_INVALID for tp in assigned[0][1])
    m, m2 = msgs
    assert (m.topic(), m.partition(), m.offset(), m.key(), m.value()) == (topic, 1, 0, b"k", b"v")
    assert m.headers() == [("h", b"1"), ("h", b"2")]
    assert m.timestamp() == (ck.TIMESTAMP_CREATE_TIME, 1234567)
    assert len(m) == 1 and m.error() is None
    assert m2.value() is None and m2.key() is None and m2.headers() is None and m2.offset() == 1
    assert sorted(tp.partition for tp in c.assignment()) == [0, 1, 2]
    assert c.memberid()
    pos = {tp.partition: tp.offset for tp in c.position(c.assignment())}
    assert pos[1] == 2
    c.close()


def test_group_of_three_exactly_once_and_revoke_commit(ck, bootstrap):
    """Three members share six partitions; offsets are committed only in on_revoke (and on
    close, which revokes): every record is consumed exactly once even though partitions move
    twice, and a member closing hands its partitions to the others."""
    topic = new_topic(ck, bootstrap, partitions=6)
    group = unique("g3")
    events = {i: [] for i in range(3)}
    seen = {i: [] for i in range(3)}

    def make(i):
        c = consumer(ck, bootstrap, group, **{"enable.auto.commit": False})

        def on_assign(cons, parts):
            events[i].append(("assign", sorted(tp.partition for tp in parts)))

        def on_revoke(cons, parts):
            events[i].append(("revoke", sorted(tp.partition for tp in parts)))
            offsets = [tp for tp in cons.position(parts) if tp.offset >= 0]
            if offsets:
                cons.commit(offsets=offsets, asynchronous=False)

        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
        return c

    members = [make(i) for i in range(3)]

    def pump(cs, until, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for i, c in cs:
                for m in c.consume(100, 0.1):
                    assert m.error() is None, m.error()
                    seen[i].append((m.partition(), m.offset()))
            if until():
                return
        raise AssertionError("timed out: %r" % events)

    def spread(cs):
        parts = [p for _, c in cs for p in (tp.partition for tp in c.assignment())]
        return sorted(parts) == list(range(6)) and all(c.assignment() for _, c in cs)

    live = list(enumerate(members))
    pump(live, lambda: spread(live))
    produce(ck, bootstrap, topic, 300)
    pump(live, lambda: sum(len(s) for s in seen.values()) >= 300)
    assert all(seen[i] for i in range(3)), {i: len(s) for i, s in seen.items()}

    members[2].close()
    assert events[2][-1][0] == "revoke"
    live = live[:2]
    pump(live, lambda: spread(live))
    produce(ck, bootstrap, topic, 60, prefix="w")
    pump(live, lambda: sum(len(s) for s in seen.values()) >= 360)
    time.sleep(0.5)
    pump(live, lambda: True)
    everything = [x for s in seen.values() for x in s]
    assert len(everything) == 360 and len(set(everything)) == 360
    for i in (0, 1):
        assert any(kind == "revoke" for kind, _ in events[i])
        members[i].close()


def test_manual_commit_then_new_consumer_resumes(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, topic, 10)
    group = unique("g")
    commits = []
    c = consumer(ck, bootstrap, group, **{"enable.auto.commit": False,
                                          "on_commit": lambda err, parts: commits.append((err, parts))})
    c.subscribe([topic])
    msgs = drain(c, 10)
    assert [m.offset() for m in msgs] == list(range(10))
    out = c.commit(message=msgs[4], asynchronous=False)
    assert [(tp.topic, tp.partition, tp.offset) for tp in out] == [(topic, 0, 5)]
    tp0 = ck.TopicPartition(topic, 0)
    assert [tp.offset for tp in c.committed([tp0], timeout=10)] == [5]
    c.commit(offsets=[ck.TopicPartition(topic, 0, 6)], asynchronous=True)
    deadline = time.time() + 10
    while time.time() < deadline and c.committed([tp0], timeout=10)[0].offset != 6:
        c.poll(0.1)
    assert c.committed([tp0], timeout=10)[0].offset == 6
    c.poll(0.5)
    assert commits and all(err is None for err, _ in commits)
    assert commits[-1][1][0].offset == 6
    c.close()

    c2 = consumer(ck, bootstrap, group, **{"enable.auto.commit": False})
    c2.subscribe([topic])
    rest = drain(c2, 4)
    assert [m.offset() for m in rest] == [6, 7, 8, 9]
    with pytest.raises(ck.KafkaException) as e:
        c2.commit(offsets=[], asynchronous=False)
    assert e.value.args[0].code() == ck.KafkaError._NO_OFFSET
    c2.close()


def test_auto_commit_and_store_offsets(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, topic, 10)
    group = unique("g")
    c = consumer(ck, bootstrap, group, **{"enable.auto.offset.store": False})
    c.subscribe([topic])
    msgs = drain(c, 10)
    c.store_offsets(message=msgs[2])
    c.close()
    c2 = consumer(ck, bootstrap, group)
    c2.subscribe([topic])
    assert [m.offset() for m in drain(c2, 7)] == [3, 4, 5, 6, 7, 8, 9]
    c2.close()  # auto-commit on close
    c3 = consumer(ck, bootstrap, group)
    tp0 = ck.TopicPartition(topic, 0)
    assert c3.committed([tp0], timeout=10)[0].offset == 10
    c3.close()


def test_assign_seek_position_watermarks(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=2)
    produce(ck, bootstrap, topic, 10, partition=0)
    c = consumer(ck, bootstrap)
    c.assign([ck.TopicPartition(topic, 0, 4)])
    assert [(tp.topic, tp.partition) for tp in c.assignment()] == [(topic, 0)]
    msgs = drain(c, 6)
    assert [m.offset() for m in msgs] == [4, 5, 6, 7, 8, 9]
    tp0 = ck.TopicPartition(topic, 0)
    assert c.position([tp0])[0].offset == 10
    c.seek(ck.TopicPartition(topic, 0, 2))
    assert [m.offset() for m in drain(c, 2)] == [2, 3]
    c.seek(ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING))
    assert drain(c, 1)[0].offset() == 0
    assert c.get_watermark_offsets(tp0, timeout=10) == (0, 10)
    assert c.get_watermark_offsets(tp0, cached=True)[1] == 10
    with pytest.raises(ck.KafkaException) as e:
        c.seek(ck.TopicPartition(topic, 1, 0))  # not assigned
    assert e.value.args[0].code() == ck.KafkaError._STATE
    assert c.position([ck.TopicPartition(topic, 1)])[0].offset == ck.OFFSET_INVALID
    c.unassign()
    assert c.assignment() == []
    c.incremental_assign([ck.TopicPartition(topic, 0, 8)])
    assert [m.offset() for m in drain(c, 2)] == [8, 9]
    c.incremental_unassign([ck.TopicPartition(topic, 0)])
    assert c.assignment() == []
    c.close()


def test_offsets_for_times(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    p = ck.Producer({"bootstrap.servers": bootstrap})
    for i, ts in enumerate([1000, 2000, 3000]):
        p.produce(topic, b"x", partition=0, timestamp=ts)
    p.flush(30)
    c = consumer(ck, bootstrap)
    out = c.offsets_for_times([ck.TopicPartition(topic, 0, 1500)], timeout=10)
    assert [(tp.partition, tp.offset) for tp in out] == [(0, 1)]
    out = c.offsets_for_times([ck.TopicPartition(topic, 0, 99999999999999)], timeout=10)
    assert out[0].offset == -1
    c.close()


def test_pause_resume(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=2)
    produce(ck, bootstrap, topic, 5, partition=0, prefix="a")
    produce(ck, bootstrap, topic, 5, partition=1, prefix="b")
    c = consumer(ck, bootstrap)
    tps = [ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING), ck.TopicPartition(topic, 1, ck.OFFSET_BEGINNING)]
    c.assign(tps)
    c.pause([ck.TopicPartition(topic, 0)])
    got = drain(c, 5)
    assert {m.partition() for m in got} == {1}
    assert c.consume(10, 1.0) == []
    c.resume([ck.TopicPartition(topic, 0)])
    got = drain(c, 5)
    assert {m.partition() for m in got} == {0}
    c.close()


def test_partition_eof(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, topic, 3)
    c = consumer(ck, bootstrap, **{"enable.partition.eof": True})
    c.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    out, deadline = [], time.time() + 20
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is not None:
            out.append(m)
            if m.error():
                break
    assert [m.offset() for m in out[:3]] == [0, 1, 2]
    eof = out[3]
    assert eof.error().code() == ck.KafkaError._PARTITION_EOF
    assert (eof.topic(), eof.partition(), eof.offset()) == (topic, 0, 3)
    assert c.poll(1.0) is None  # reported once
    c.close()
    # Off by default: no EOF message.
    c = consumer(ck, bootstrap)
    c.assign([ck.TopicPartition(topic, 0, ck.OFFSET_BEGINNING)])
    assert len(drain(c, 3)) == 3
    assert c.poll(1.5) is None
    c.close()


def test_auto_offset_reset_error(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, topic, 2)
    c = consumer(ck, bootstrap, **{"auto.offset.reset": "error"})
    c.subscribe([topic])
    deadline, err = time.time() + 30, None
    while time.time() < deadline and err is None:
        m = c.poll(0.5)
        if m is not None:
            assert m.error() is not None, "a record without a committed offset"
            err = m.error()
    assert err is not None and err.code() == ck.KafkaError._AUTO_OFFSET_RESET
    c.close()


def test_transaction_abort_invisible_to_read_committed(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    p = ck.Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx")})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, b"aborted%d" % i)
    p.flush(30)
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(2):
        p.produce(topic, b"committed%d" % i)
    p.commit_transaction(30)

    committed = consumer(ck, bootstrap)  # read_committed is the default
    committed.subscribe([topic])
    assert [m.value() for m in drain(committed, 2)] == [b"committed0", b"committed1"]
    assert committed.consume(10, 1.0) == []
    committed.close()
    everything = consumer(ck, bootstrap, **{"isolation.level": "read_uncommitted"})
    everything.subscribe([topic])
    assert len(drain(everything, 5)) == 5
    everything.close()


def test_transaction_errors(ck, bootstrap):
    p = ck.Producer({"bootstrap.servers": bootstrap})
    with pytest.raises(ck.KafkaException) as e:
        p.init_transactions(10)  # not transactional
    assert isinstance(e.value.args[0], ck.KafkaError)
    assert not e.value.args[0].txn_requires_abort()
    tp = ck.Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("tx")})
    with pytest.raises(ck.KafkaException) as e:
        tp.begin_transaction()  # before init_transactions
    assert e.value.args[0].code() == ck.KafkaError._STATE
    tp.init_transactions(30)
    with pytest.raises(ck.KafkaException) as e:
        tp.commit_transaction(10)  # no transaction
    assert e.value.args[0].code() == ck.KafkaError._STATE
    assert not e.value.args[0].fatal()


def test_consume_transform_produce(ck, bootstrap):
    src = new_topic(ck, bootstrap, partitions=2)
    dst = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, src, 20)
    group = unique("eos")
    c = consumer(ck, bootstrap, group, **{"enable.auto.commit": False})
    c.subscribe([src])
    p = ck.Producer({"bootstrap.servers": bootstrap, "transactional.id": unique("eos")})
    p.init_transactions(30)
    done = 0
    deadline = time.time() + 60
    while done < 20 and time.time() < deadline:
        batch = [m for m in c.consume(5, 0.5) if m.error() is None]
        if not batch:
            continue
        p.begin_transaction()
        for m in batch:
            p.produce(dst, m.value().upper(), key=m.key())
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
        done += len(batch)
    assert done == 20
    c.close()
    check = consumer(ck, bootstrap)
    check.subscribe([dst])
    assert sorted(m.value() for m in drain(check, 20)) == sorted(b"V%d" % i for i in range(20))
    check.close()
    c2 = consumer(ck, bootstrap, group)
    committed = c2.committed([ck.TopicPartition(src, 0), ck.TopicPartition(src, 1)], timeout=10)
    assert sum(tp.offset for tp in committed) == 20
    c2.close()


def test_admin_consumer_groups(ck, bootstrap):
    admin = importlib.import_module(ck.__name__ + ".admin")
    a = admin.AdminClient({"bootstrap.servers": bootstrap})
    topic = new_topic(ck, bootstrap, partitions=2)
    produce(ck, bootstrap, topic, 10, partition=0)
    group = unique("ga")
    c = consumer(ck, bootstrap, group, **{"enable.auto.commit": False})
    c.subscribe([topic])
    drain(c, 10)
    c.commit(asynchronous=False)

    listed = a.list_consumer_groups().result(30)
    ids = {g.group_id for g in listed.valid}
    assert group in ids

    desc = a.describe_consumer_groups([group])[group].result(30)
    assert desc.group_id == group and len(desc.members) == 1
    member = desc.members[0]
    assert member.member_id == c.memberid()
    assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1]
    assert str(desc.state.name) == "STABLE"

    c.close()
    req = ck.ConsumerGroupTopicPartitions(group, [ck.TopicPartition(topic, 0)])
    res = a.list_consumer_group_offsets([req])[group].result(30)
    assert res.group_id == group
    assert [(tp.topic, tp.partition, tp.offset) for tp in res.topic_partitions] == [(topic, 0, 10)]

    alter = ck.ConsumerGroupTopicPartitions(group, [ck.TopicPartition(topic, 0, 3)])
    res = a.alter_consumer_group_offsets([alter])[group].result(30)
    assert [(tp.partition, tp.offset) for tp in res.topic_partitions] == [(0, 3)]
    res = a.list_consumer_group_offsets([ck.ConsumerGroupTopicPartitions(group)])[group].result(30)
    assert [(tp.partition, tp.offset) for tp in res.topic_partitions if tp.partition == 0] == [(0, 3)]

    assert a.delete_consumer_groups([group])[group].result(30) is None
    with pytest.raises(ck.KafkaException) as e:
        a.delete_consumer_groups([group])[group].result(30)
    assert e.value.args[0].code() in (ck.KafkaError.GROUP_ID_NOT_FOUND,)

    cluster = a.describe_cluster().result(30)
    assert cluster.nodes and cluster.cluster_id


def test_poll_in_another_thread_and_close(ck, bootstrap):
    """poll releases the GIL: another thread keeps running while one waits."""
    c = consumer(ck, bootstrap)
    topic = new_topic(ck, bootstrap, partitions=1)
    c.subscribe([topic])
    ticks = []
    t = threading.Thread(target=lambda: [ticks.append(time.sleep(0.01)) for _ in range(50)])
    t.start()
    c.poll(1.0)
    t.join()
    assert len(ticks) == 50
    c.close()
