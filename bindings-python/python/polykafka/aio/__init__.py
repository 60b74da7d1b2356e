"""asyncio clients: ``AIOProducer`` (and later ``AIOConsumer``) with the same conf dicts.

Native: a record's outcome is pushed by the engine to the producer's report queue, and a byte
written to a pipe wakes the event loop (``loop.add_reader``), which completes the asyncio
futures of every report waiting. No thread pool, no thread per call, one wake-up per burst.
"""

import asyncio
import os

from .._errors import KafkaException
from .._native import Producer as _NativeProducer

__all__ = ["AIOProducer"]


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
        for fut, err in self._producer._take_done():
            if not fut.done():
                if err is not None:
                    fut.set_exception(KafkaException(err))
                else:
                    fut.set_result(None)
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

    async def init_transactions(self, timeout=None):
        return await self._in_executor(self._producer.init_transactions, timeout)

    async def begin_transaction(self):
        self._producer.begin_transaction()

    async def commit_transaction(self, timeout=None):
        return await self._in_executor(self._producer.commit_transaction, timeout)

    async def abort_transaction(self, timeout=None):
        return await self._in_executor(self._producer.abort_transaction, timeout)

    async def send_offsets_to_transaction(self, positions, group_metadata, timeout=None):
        return await self._in_executor(self._producer.send_offsets_to_transaction, positions,
                                       group_metadata, timeout)

    async def _in_executor(self, fn, *args):
        # Transactions are rare calls; they wait in the loop's default executor.
        return await self._loop.run_in_executor(None, fn, *args)

    def __len__(self):
        return len(self._producer)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
        return False

