"""AIOConsumer and AIOProducer transactions: async twins of test_consumer.py, run against
confluent-kafka's ``aio`` and polykafka's (the ``ck`` fixture)."""

import asyncio
import importlib
import time

import pytest

from conftest import unique
from test_consumer import new_topic, produce


@pytest.fixture(params=["confluent_kafka", "polykafka"])
def ck(request):
    return importlib.import_module(request.param)


def aio(ck):
    return importlib.import_module(ck.__name__ + ".aio")


def conf(bootstrap, group=None, **extra):
    return dict({"bootstrap.servers": bootstrap, "group.id": group or unique("ag"),
                 "auto.offset.reset": "earliest", "session.timeout.ms": 10000,
                 "heartbeat.interval.ms": 1000}, **extra)


async def drain(c, n, timeout=30.0):
    out, deadline = [], time.time() + timeout
    while len(out) < n and time.time() < deadline:
        for m in await c.consume(n - len(out), 0.5):
            assert m.error() is None, m.error()
            out.append(m)
    return out


def test_poll_consume_commit_resume(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, topic, 10)
    group = unique("ag")

    async def body():
        assigned = []

        async def on_assign(consumer, parts):  # a coroutine callback
            await asyncio.sleep(0)
            assigned.append(sorted(tp.partition for tp in parts))

        c = aio(ck).AIOConsumer(conf(bootstrap, group, **{"enable.auto.commit": False}))
        await c.subscribe([topic], on_assign=on_assign)
        first = None
        deadline = time.time() + 30
        while first is None and time.time() < deadline:
            first = await c.poll(0.5)
        assert first is not None and first.error() is None and first.offset() == 0
        rest = await drain(c, 9)
        assert [m.offset() for m in rest] == list(range(1, 10))
        assert assigned == [[0]]
        out = await c.commit(message=rest[3], asynchronous=False)
        assert [(tp.partition, tp.offset) for tp in out] == [(0, 5)]
        got = await c.committed([ck.TopicPartition(topic, 0)], timeout=10)
        assert got[0].offset == 5
        assert (await c.position([ck.TopicPartition(topic, 0)]))[0].offset == 10
        assert await c.get_watermark_offsets(ck.TopicPartition(topic, 0), timeout=10) == (0, 10)
        await c.close()

        async with aio(ck).AIOConsumer(conf(bootstrap, group)) as c2:
            await c2.subscribe([topic])
            again = await drain(c2, 5)
            assert [m.offset() for m in again] == [5, 6, 7, 8, 9]
    asyncio.run(body())


def test_group_of_three_with_async_revoke_commit(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=6)
    group = unique("ag3")

    async def body():
        seen = {i: [] for i in range(3)}
        revoked = {i: 0 for i in range(3)}

        def make(i):
            c = aio(ck).AIOConsumer(conf(bootstrap, group, **{"enable.auto.commit": False}))

            async def on_revoke(consumer, parts):
                revoked[i] += 1
                offsets = [tp for tp in await consumer.position(parts) if tp.offset >= 0]
                if offsets:
                    await consumer.commit(offsets=offsets, asynchronous=False)
            return c, on_revoke

        members = []
        for i in range(3):
            c, cb = make(i)
            await c.subscribe([topic], on_revoke=cb)
            members.append((i, c))

        async def pump(live, until, timeout=60):
            deadline = time.time() + timeout
            while time.time() < deadline:
                for i, c in live:
                    for m in await c.consume(100, 0.1):
                        assert m.error() is None
                        seen[i].append((m.partition(), m.offset()))
                if await until():
                    return
            raise AssertionError("timed out")

        async def spread(live):
            parts = []
            for _, c in live:
                a = await c.assignment()
                if not a:
                    return False
                parts += [tp.partition for tp in a]
            return sorted(parts) == list(range(6))

        await pump(members, lambda: spread(members))
        produce(ck, bootstrap, topic, 300)

        async def total(n):
            return sum(len(s) for s in seen.values()) >= n
        await pump(members, lambda: total(300))
        await members[2][1].close()
        assert revoked[2] >= 1
        live = members[:2]
        await pump(live, lambda: spread(live))
        produce(ck, bootstrap, topic, 60, prefix="w")
        await pump(live, lambda: total(360))
        everything = [x for s in seen.values() for x in s]
        assert len(everything) == 360 and len(set(everything)) == 360
        for _, c in live:
            await c.close()
    asyncio.run(body())


def test_async_iteration_seek_pause(ck, bootstrap):
    if ck.__name__ == "confluent_kafka":
        pytest.skip("confluent-kafka's AIOConsumer has no async iteration (a polykafka addition)")
    topic = new_topic(ck, bootstrap, partitions=2)
    produce(ck, bootstrap, topic, 5, partition=0)
    produce(ck, bootstrap, topic, 5, partition=1, prefix="b")

    async def body():
        async with aio(ck).AIOConsumer(conf(bootstrap)) as c:
            await c.assign([ck.TopicPartition(topic, 0, 2), ck.TopicPartition(topic, 1, 0)])
            await c.pause([ck.TopicPartition(topic, 1)])
            got = []
            async for m in c:
                got.append((m.partition(), m.offset()))
                if len(got) == 3:
                    break
            assert got == [(0, 2), (0, 3), (0, 4)]
            await c.resume([ck.TopicPartition(topic, 1)])
            await c.seek(ck.TopicPartition(topic, 0, 0))
            rest = await drain(c, 10)
            assert sorted((m.partition(), m.offset()) for m in rest) == \
                sorted([(0, i) for i in range(5)] + [(1, i) for i in range(5)])
        with pytest.raises(RuntimeError):
            await c.poll(0)
    asyncio.run(body())


def test_poll_does_not_block_the_loop(ck, bootstrap):
    if ck.__name__ == "confluent_kafka":
        pytest.skip("measures polykafka's native wait")
    topic = new_topic(ck, bootstrap, partitions=1)

    async def body():
        async with aio(ck).AIOConsumer(conf(bootstrap)) as c:
            await c.subscribe([topic])
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1
            t = asyncio.ensure_future(ticker())
            assert await c.poll(1.0) is None
            t.cancel()
            assert ticks > 50
    asyncio.run(body())


def test_transactions_async(ck, bootstrap):
    topic = new_topic(ck, bootstrap, partitions=1)

    async def body():
        p = aio(ck).AIOProducer({"bootstrap.servers": bootstrap, "transactional.id": unique("atx")})
        await p.init_transactions(30)
        await p.begin_transaction()
        await p.produce(topic, b"aborted")
        await p.flush(30)
        await p.abort_transaction(30)
        await p.begin_transaction()
        await p.produce(topic, b"committed")
        await p.commit_transaction(30)
        if ck.__name__ == "polykafka":
            async with p.transaction():
                await p.produce(topic, b"ctx-committed")
            with pytest.raises(ZeroDivisionError):
                async with p.transaction():
                    await p.produce(topic, b"ctx-aborted")
                    1 / 0
        await p.close()
        async with aio(ck).AIOConsumer(conf(bootstrap)) as c:
            await c.subscribe([topic])
            want = 2 if ck.__name__ == "polykafka" else 1
            got = [m.value() for m in await drain(c, want)]
            assert got == [b"committed", b"ctx-committed"][:want]
            assert await c.consume(10, 1.0) == []
    asyncio.run(body())


def test_consume_transform_produce_async(ck, bootstrap):
    src = new_topic(ck, bootstrap, partitions=2)
    dst = new_topic(ck, bootstrap, partitions=1)
    produce(ck, bootstrap, src, 20)
    group = unique("aeos")

    async def body():
        c = aio(ck).AIOConsumer(conf(bootstrap, group, **{"enable.auto.commit": False}))
        await c.subscribe([src])
        p = aio(ck).AIOProducer({"bootstrap.servers": bootstrap, "transactional.id": unique("aeos")})
        await p.init_transactions(30)
        done, deadline = 0, time.time() + 60
        while done < 20 and time.time() < deadline:
            batch = [m for m in await c.consume(5, 0.5) if m.error() is None]
            if not batch:
                continue
            await p.begin_transaction()
            for m in batch:
                await p.produce(dst, m.value().upper())
            positions = await c.position(await c.assignment())
            await p.send_offsets_to_transaction(positions, await c.consumer_group_metadata(), 30)
            await p.commit_transaction(30)
            done += len(batch)
        assert done == 20
        await c.close()
        await p.close()
        async with aio(ck).AIOConsumer(conf(bootstrap)) as check:
            await check.subscribe([dst])
            assert len(await drain(check, 20)) == 20
    asyncio.run(body())
