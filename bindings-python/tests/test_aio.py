"""AIOProducer: async twins of the producer tests."""

import asyncio
import time

import pytest

from polykafka import KafkaError, KafkaException
from polykafka.aio import AIOProducer

from conftest import read_back


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_keys_headers_and_compression_read_back(bootstrap, topic, compression):
    async def body():
        async with AIOProducer({"bootstrap.servers": bootstrap, "compression.type": compression}) as p:
            futs = [await p.produce(topic, value=b"v%d" % i, key=b"k", headers={"h": b"x"})
                    for i in range(20)]
            msgs = await asyncio.gather(*futs)
        return msgs
    msgs = run(body())
    assert [m.value() for m in msgs] == [b"v%d" % i for i in range(20)]
    offsets = [m.offset() for m in msgs]
    assert offsets == sorted(offsets) and len({m.partition() for m in msgs}) == 1
    got = read_back(bootstrap, topic, 20)
    assert sorted(m.value() for m in got) == sorted(b"v%d" % i for i in range(20))


def test_produce_and_wait_and_callback(bootstrap, topic):
    async def body():
        seen = []
        p = AIOProducer({"bootstrap.servers": bootstrap})
        m = await p.produce_and_wait(topic, b"one", key="k")
        fut = await p.produce(topic, b"two", on_delivery=lambda e, msg: seen.append((e, msg.value())))
        await fut
        await p.close()
        return m, seen
    m, seen = run(body())
    assert m.value() == b"one" and m.key() == b"k" and m.error() is None
    assert seen == [(None, b"two")]


def test_flush_and_len(bootstrap, topic):
    async def body():
        p = AIOProducer({"bootstrap.servers": bootstrap, "linger.ms": 10000})
        futs = [await p.produce(topic, b"x") for _ in range(10)]
        assert len(p) == 10
        assert await p.flush(30) == 0
        assert all(f.done() for f in futs)
        await p.close()
    run(body())


def test_full_queue_raises_buffer_error(bootstrap, topic):
    async def body():
        p = AIOProducer({"bootstrap.servers": bootstrap, "linger.ms": 10000,
                         "queue.buffering.max.kbytes": 4})
        with pytest.raises(BufferError):
            for _ in range(100):
                await p.produce(topic, b"x" * 500)
        await p.close()
    run(body())


def test_too_large_message(bootstrap, topic):
    async def body():
        async with AIOProducer({"bootstrap.servers": bootstrap}) as p:
            with pytest.raises(KafkaException) as e:
                await p.produce(topic, b"x" * (2 * 1024 * 1024))
            return e.value.args[0].code()
    assert run(body()) == KafkaError.MSG_SIZE_TOO_LARGE


def test_unknown_config_key(bootstrap):
    async def body():
        with pytest.raises(KafkaException) as e:
            AIOProducer({"bootstrap.servers": bootstrap, "no.such.key": 1})
        return e.value.args[0]
    err = run(body())
    assert err.code() == KafkaError._INVALID_ARG and "no.such.key" in err.str()


def test_unknown_topic(bootstrap):
    from conftest import unique

    async def body():
        async with AIOProducer({"bootstrap.servers": bootstrap, "allow.auto.create.topics": False,
                                "topic.metadata.propagation.max.ms": 2000}) as p:
            with pytest.raises(KafkaException) as e:
                await p.produce_and_wait(unique("missing"), b"v")
            return e.value.args[0].code()
    assert run(body()) in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC)


def test_event_loop_is_not_blocked(bootstrap, topic):
    """Loop lag stays small while 5000 records are produced and awaited."""
    async def body():
        lags = []
        stop = False

        async def ticker():
            while not stop:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - t - 0.005)

        tick = asyncio.create_task(ticker())
        async with AIOProducer({"bootstrap.servers": bootstrap}) as p:
            futs = []
            for i in range(5000):
                futs.append(await p.produce(topic, b"m%d" % i))
                if i % 500 == 0:
                    await asyncio.sleep(0)
            await asyncio.gather(*futs)
        stop = True
        await tick
        return lags
    lags = run(body())
    assert lags and max(lags) < 0.5, max(lags)
