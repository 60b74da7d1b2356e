"""asyncio clients: ``AIOProducer`` and ``AIOConsumer`` with the same conf dicts.

Native: a record's outcome is pushed by the engine to the producer's report queue, and a byte
written to a pipe wakes the event loop (``loop.add_reader``), which completes the asyncio
futures of every report waiting. No thread pool, no thread per call, one wake-up per burst.
"""

import asyncio
import os

from .._errors import KafkaException
from .._native import Consumer as _NativeConsumer
from .._native import Producer as _NativeProducer

__all__ = ["AIOConsumer", "AIOProducer"]


class AIOProducer:
    """confluent-kafka's ``AIOProducer``: ``fut = await producer.produce(...)`` queues a record
    and returns an ``asyncio.Future`` that resolves to the delivered ``Message`` (or raises
    ``KafkaException``); ``await producer.produce_and_wait(...)`` does both at once."""

    def __init__(self, producer_conf=None, max_workers=None, executor=None, batch_size=None,
                 buffer_timeout=None, **kwargs):
        # max_workers, executor, batch_size and buffer_timeout tune confluent-kafka's thread
        # pool and batching; this implementation has neither, they are accepted and ignored.
        self._loop = asyncio.get_running_loop()
        self._producer = _NativeProducer(producer_conf, **kwargs)
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._producer._set_wake_fd(self._wfd)
        self._loop.add_reader(self._rfd, self._on_wake)
        self._closed = False

    # -- the loop side -------------------------------------------------------------------
    def _on_wake(self):
        try:
            while os.read(self._rfd, 4096):
                pass
        except BlockingIOError:
            pass
        self._producer._rearm()
        self._complete()

    def _complete(self):
        for fut, err, msg in self._producer._take_reports():
            if isinstance(fut, tuple):
                fut, cb = fut
                cb(err, msg)
            if not fut.done():
                if err is not None:
                    fut.set_exception(KafkaException(err))
                else:
                    fut.set_result(msg)
        for fut, result, exc in self._producer._take_done():
            if not fut.done():
                if exc is not None:
                    fut.set_exception(exc)
                else:
                    fut.set_result(result)
        self._producer._drain_logs()

    # -- the API -------------------------------------------------------------------------
    async def produce(self, topic, value=None, key=None, partition=-1, timestamp=0, headers=None,
                      on_delivery=None, callback=None):
        """Queues a record; returns a future resolving to the delivered ``Message``. A full
        buffer raises ``BufferError``."""
        fut = self._loop.create_future()
        cb = callback or on_delivery
        self._producer._produce_to(fut if cb is None else (fut, cb), topic, value, key, partition,
                                   timestamp, headers)
        return fut

    async def produce_and_wait(self, topic, value=None, key=None, **kwargs):
        """Queues a record and waits for its delivery: the delivered ``Message``."""
        return await (await self.produce(topic, value, key, **kwargs))

    async def produce_batch(self, topic, messages, partition=-1):
        """Queues many records in one native call; returns their futures, in order."""
        futs = []
        for m in messages:
            fut = self._loop.create_future()
            self._producer._produce_to(fut, topic, m.get("value"), m.get("key"),
                                       m.get("partition", partition), m.get("timestamp", 0) or 0,
                                       m.get("headers"))
            futs.append(fut)
        return futs

    async def flush(self, timeout=None):
        """Sends everything queued and waits until every record completed (at most
        ``timeout`` seconds). Returns how many records are still waiting."""
        fut = self._loop.create_future()
        self._producer._flush_to(fut, timeout)
        try:
            await fut
        except KafkaException:
            pass  # a flush timeout: report what is left
        self._complete()
        return len(self._producer)

    async def poll(self, timeout=0):
        """Deliveries complete their futures as they happen; kept for confluent-kafka's API."""
        self._complete()
        return 0

    async def purge(self, in_queue=True, in_flight=True, blocking=True):
        self._producer.purge(in_queue, in_flight, blocking)
        self._complete()

    async def close(self, timeout=None):
        """Delivers what is queued, then closes. Idempotent."""
        if self._closed:
            return
        self._closed = True
        fut = self._loop.create_future()
        self._producer._flush_to(fut, timeout, True)
        try:
            await fut
        finally:
            self._complete()
            self._loop.remove_reader(self._rfd)
            self._producer._set_wake_fd(-1)
            os.close(self._rfd)
            os.close(self._wfd)

    async def _txn(self, op, timeout=None, positions=None, group_metadata=None):
        fut = self._loop.create_future()
        self._producer._txn_to(fut, op, timeout, positions, group_metadata)
        try:
            return await fut
        finally:
            self._complete()

    async def init_transactions(self, timeout=None):
        return await self._txn("init", timeout)

    async def begin_transaction(self):
        self._producer.begin_transaction()

    async def commit_transaction(self, timeout=None):
        return await self._txn("commit", timeout)

    async def abort_transaction(self, timeout=None):
        return await self._txn("abort", timeout)

    async def send_offsets_to_transaction(self, positions, group_metadata, timeout=None):
        # positions may come from an AIOConsumer (a coroutine's result) or a Consumer.
        return await self._txn("send_offsets", timeout, list(positions), group_metadata)

    def transaction(self, timeout=None):
        """``async with producer.transaction():`` begins a transaction, commits it on a clean
        exit and aborts it when the block raises."""
        return _Transaction(self, timeout)

    def __len__(self):
        return len(self._producer)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False



class _Transaction:
    def __init__(self, producer, timeout):
        self._producer = producer
        self._timeout = timeout

    async def __aenter__(self):
        await self._producer.begin_transaction()
        return self._producer

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is None:
            await self._producer.commit_transaction(self._timeout)
        else:
            await self._producer.abort_transaction(self._timeout)
        return False


class _Waker:
    """A pipe the engine writes a byte to when a call finished; the loop completes futures."""

    def __init__(self, loop, native, on_wake):
        self._loop = loop
        self._native = native
        self._on_wake = on_wake
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        native._set_wake_fd(self._wfd)
        loop.add_reader(self._rfd, self._wake)

    def _wake(self):
        try:
            while os.read(self._rfd, 4096):
                pass
        except BlockingIOError:
            pass
        self._native._rearm()
        self._on_wake()

    def close(self):
        self._loop.remove_reader(self._rfd)
        self._native._set_wake_fd(-1)
        os.close(self._rfd)
        os.close(self._wfd)


async def _maybe_await(value):
    if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
        return await value
    return value


class AIOConsumer:
    """confluent-kafka's ``AIOConsumer``: every method is a coroutine; ``poll``/``consume``
    wait on the engine without a thread (the engine completes an asyncio future through a
    pipe the loop watches). Rebalance callbacks ``(consumer, partitions)`` and ``on_commit``
    may be coroutine functions; they run on the loop, and a revocation is acknowledged only
    after ``on_revoke`` finished, so a commit awaited there lands before the partitions move.
    Adds ``async for msg in consumer``."""

    def __init__(self, consumer_conf=None, max_workers=None, executor=None, **kwargs):
        # max_workers and executor size confluent-kafka's thread pool; there is none here.
        self._loop = asyncio.get_running_loop()
        conf = dict(consumer_conf or {})
        on_commit = conf.get("on_commit")
        if on_commit is not None:
            conf["on_commit"] = self._wrap_plain(on_commit)
        self._consumer = _NativeConsumer(conf, **kwargs)
        self._waker = _Waker(self._loop, self._consumer, self._complete)
        self._callbacks = {}
        self._leftover = []
        self._lock = asyncio.Lock()
        self._closed = False

    def _wrap_plain(self, cb):
        def call(*args):
            r = cb(*args)
            if asyncio.iscoroutine(r):
                self._loop.create_task(r)
        return call

    def _complete(self):
        for fut, result, exc in self._consumer._take_done():
            if fut.cancelled():
                # A poll whose awaiting task was cancelled: keep what it took.
                if exc is None and isinstance(result, tuple):
                    self._leftover.append(result)
                continue
            if fut.done():
                continue
            if exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
        self._consumer._serve_commits()

    def _check(self):
        if self._closed:
            raise RuntimeError("Consumer closed")

    async def _call(self, method, *args):
        self._check()
        fut = self._loop.create_future()
        method(fut, *args)
        return await fut

    async def _dispatch(self, events):
        try:
            for kind, partitions in events:
                cb = self._callbacks.get(kind)
                if cb is None and kind == "lost":
                    cb = self._callbacks.get("revoke")
                if cb is not None:
                    await _maybe_await(cb(self, partitions))
        finally:
            self._consumer._ack_rebalance()

    async def _batch(self, max_messages, timeout):
        self._check()
        deadline = None if timeout is None or timeout < 0 else self._loop.time() + timeout
        async with self._lock:
            while True:
                if self._leftover:
                    events, msgs = self._leftover.pop(0)
                else:
                    left = None if deadline is None else max(0.0, deadline - self._loop.time())
                    events, msgs = await self._call(self._consumer._poll_to, max_messages, left)
                if events:
                    await self._dispatch(events)
                    if deadline is None or self._loop.time() < deadline:
                        continue
                    return []
                return msgs

    # -- the API -------------------------------------------------------------------------
    async def subscribe(self, topics, on_assign=None, on_revoke=None, on_lost=None):
        self._check()
        self._callbacks = {k: v for k, v in (("assign", on_assign), ("revoke", on_revoke),
                                             ("lost", on_lost)) if v is not None}
        # The native consumer runs no callbacks for the asyncio consumer: _dispatch does.
        self._consumer.subscribe(topics)

    async def unsubscribe(self):
        await self._call(self._consumer._unsubscribe_to)

    async def poll(self, timeout=None):
        """The next message (errors as messages with ``.error()``), None after ``timeout``."""
        msgs = await self._batch(1, timeout)
        return msgs[0] if msgs else None

    async def consume(self, num_messages=1, timeout=None):
        """Up to ``num_messages`` messages from one engine call."""
        if not 0 <= num_messages <= 1000000:
            raise ValueError("num_messages must be between 0 and 1000000 (1M)")
        if num_messages == 0:
            return []
        return await self._batch(num_messages, timeout)

    async def commit(self, message=None, offsets=None, asynchronous=True):
        self._check()
        if asynchronous:
            return self._consumer.commit(message, offsets, True)
        return await self._call(self._consumer._commit_to, message, offsets)

    async def store_offsets(self, message=None, offsets=None):
        self._check()
        self._consumer.store_offsets(message, offsets)

    async def committed(self, partitions, timeout=None):
        return await self._call(self._consumer._committed_to, partitions, timeout)

    async def position(self, partitions):
        self._check()
        return self._consumer.position(partitions)

    async def get_watermark_offsets(self, partition, timeout=None, cached=False):
        self._check()
        if cached:
            return self._consumer.get_watermark_offsets(partition, timeout, True)
        return await self._call(self._consumer._watermarks_to, partition, timeout)

    async def offsets_for_times(self, partitions, timeout=None):
        return await self._call(self._consumer._offsets_for_times_to, partitions, timeout)

    async def assign(self, partitions):
        self._check()
        self._consumer.assign(partitions)

    async def unassign(self):
        self._check()
        self._consumer.unassign()

    async def incremental_assign(self, partitions):
        self._check()
        self._consumer.incremental_assign(partitions)

    async def incremental_unassign(self, partitions):
        self._check()
        self._consumer.incremental_unassign(partitions)

    async def assignment(self):
        self._check()
        return self._consumer.assignment()

    async def seek(self, partition):
        self._check()
        self._consumer.seek(partition)

    async def pause(self, partitions):
        self._check()
        self._consumer.pause(partitions)

    async def resume(self, partitions):
        self._check()
        self._consumer.resume(partitions)

    async def consumer_group_metadata(self):
        self._check()
        return self._consumer.consumer_group_metadata()

    async def memberid(self):
        self._check()
        return self._consumer.memberid()

    async def close(self):
        """on_revoke for the assignment (subscribed), commit (auto-commit), leave the group."""
        if self._closed:
            return
        try:
            cb = self._callbacks.get("revoke")
            if cb is not None and self._consumer._is_subscribed():
                assigned = self._consumer.assignment()
                if assigned:
                    await _maybe_await(cb(self, assigned))
        finally:
            self._closed = True
            fut = self._loop.create_future()
            self._consumer._close_to(fut)
            try:
                await fut
            finally:
                self._complete()
                self._waker.close()

    def __aiter__(self):
        return self

    async def __anext__(self):
        while True:
            if self._closed:
                raise StopAsyncIteration
            msg = await self.poll(1.0)
            if msg is not None:
                return msg

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False
