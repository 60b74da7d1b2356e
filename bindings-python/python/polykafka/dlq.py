"""Retries and a dead-letter topic around a consumer's handler (polykafka's, beyond
confluent-kafka): the engine's retry and dead-letter path, driven from a ``poll`` loop.

A handler that raises is retried in place up to ``max_retries`` times with exponential backoff
(``backoff_ms``, times ``backoff_multiplier`` each time, at most ``max_backoff_ms``): the
record's partition is paused and moved back to it, so the member stays in the group and the other
partitions keep flowing. With ``retry_topic`` the record is re-published there instead (the
consumer must subscribe to that topic too). After the last attempt the record goes to
``dlq_topic`` (default ``<topic>-dlq``) with its key, value, headers and the headers
``retry-count``, ``original-topic``, ``original-partition``, ``original-offset``, ``error`` and
``error-type``; its offset + 1 is committed only once the copy is acknowledged. A record that
cannot be deserialized (``SerializationError`` raised by the handler, or by a
``DeserializingConsumer``) goes to the dead-letter topic at once, bytes untouched.

    handler = RetryingHandler(consumer, process, max_retries=3, backoff_ms=200)
    while running:
        handler.poll(1.0)

``AIORetryingHandler`` is the twin for ``polykafka.aio.AIOConsumer`` (the handler may be a
coroutine function; the copy and the commit run in the loop's default executor).
"""

import asyncio

from ._native import DeadLetterQueue
from .error import KeyDeserializationError, ValueDeserializationError
from .serialization import SerializationError

__all__ = ["AIORetryingHandler", "RetryingHandler"]


class _Retrying:
    """What both handlers share: the native queue, and what to do with a message."""

    def __init__(self, native_consumer, handler, max_retries, backoff_ms, backoff_multiplier, max_backoff_ms,
                 dlq_topic, retry_topic, producer_config):
        if not callable(handler):
            raise TypeError("handler must be callable, not %s" % type(handler).__name__)
        for name, value in (("max_retries", max_retries), ("backoff_ms", backoff_ms), ("max_backoff_ms", max_backoff_ms)):
            # A negative count or wait: ValueError (the native conversion raised OverflowError).
            if isinstance(value, int) and not isinstance(value, bool) and value < 0:
                raise ValueError("%s must be >= 0, not %d" % (name, value))
        self._handler = handler
        self._queue = DeadLetterQueue(
            native_consumer, max_retries, backoff_ms, backoff_multiplier, max_backoff_ms, dlq_topic, retry_topic,
            producer_config,
        )

    def _skip(self, message):
        """Its partition waits for a retry, or it is a retry-topic copy not due yet."""
        if self._queue.is_waiting(message.topic(), message.partition()):
            return True
        return self._queue.not_yet_due(message) is not None

    def _after_error(self, message, error):
        """The native call for a handler's exception, as (function, arguments)."""
        call = self._queue.undecodable if isinstance(error, SerializationError) else self._queue.failed
        return call, (message, str(error), type(error).__name__)

    @staticmethod
    def _undecodable_args(e):
        cause = e.exception if getattr(e, "exception", None) is not None else e
        return e.kafka_message, str(cause), type(cause).__name__

    def _poll_timeout(self, timeout):
        """Resumes the partitions whose wait is over; the poll waits no longer than the next."""
        due = self._queue.resume_due()
        if due is not None and (timeout is None or timeout < 0 or due < timeout):
            return due
        return timeout


class RetryingHandler(_Retrying):
    """Runs ``handler(message)`` for the messages of ``consumer`` with retries and a dead-letter
    topic. ``producer_config``: properties of the producer writing the copies (``acks``,
    ``transactional.id``, ...); without ``bootstrap.servers`` it connects as the consumer does."""

    def __init__(self, consumer, handler, *, max_retries=3, backoff_ms=100, backoff_multiplier=2.0,
                 max_backoff_ms=30000, dlq_topic=None, retry_topic=None, producer_config=None):
        self._consumer = consumer
        # An instrumented consumer (polykafka.opentelemetry): its handler calls are timed.
        self._otel = getattr(consumer, "_otel", None)
        super().__init__(getattr(consumer, "_polykafka_client", consumer), handler, max_retries, backoff_ms, backoff_multiplier, max_backoff_ms,
                         dlq_topic, retry_topic, producer_config)

    def __call__(self, message):
        """Runs the handler on ``message``: True when it returned; False when it raised (the
        message is then waiting for a retry, re-published to the retry topic or dead-lettered)
        or was skipped (its partition waits for a retry, or it is a retry-topic copy not due)."""
        if self._skip(message):
            return False
        try:
            if self._otel is None:
                self._handler(message)
            else:
                self._otel.timed_process(message.topic(), self._handler, message)
        except Exception as e:
            call, args = self._after_error(message, e)
            call(*args)
            return False
        self._queue.succeeded(message)
        return True

    def poll(self, timeout=None):
        """``consumer.poll`` with the retries: resumes the partitions whose wait is over, polls
        (no longer than until the next retry is due) and runs the handler on the message.
        Returns the message, or None; error messages are returned without running the handler.
        A message a ``DeserializingConsumer`` cannot deserialize is dead-lettered at once."""
        try:
            message = self._consumer.poll(self._poll_timeout(timeout))
        except (KeyDeserializationError, ValueDeserializationError) as e:
            self._queue.undecodable(*self._undecodable_args(e))
            return e.kafka_message
        if message is None or message.error() is not None:
            return message
        self(message)
        return message

    def close(self):
        """Flushes and closes the producer of the copies (not the consumer)."""
        self._queue.close()


class AIORetryingHandler(_Retrying):
    """``RetryingHandler`` for ``polykafka.aio.AIOConsumer``: ``await handler(message)``,
    ``await handler.poll(timeout)``; ``handler`` may be a coroutine function."""

    def __init__(self, consumer, handler, *, max_retries=3, backoff_ms=100, backoff_multiplier=2.0,
                 max_backoff_ms=30000, dlq_topic=None, retry_topic=None, producer_config=None):
        self._consumer = consumer
        if not hasattr(consumer, "_consumer"):
            raise TypeError("consumer must be a polykafka.aio.AIOConsumer, not %s" % type(consumer).__name__)
        super().__init__(consumer._consumer, handler, max_retries, backoff_ms, backoff_multiplier, max_backoff_ms,
                         dlq_topic, retry_topic, producer_config)

    async def _off_loop(self, call, *args):
        # The native call waits for the copy's acknowledgement and the commit (GIL released).
        return await asyncio.get_running_loop().run_in_executor(None, call, *args)

    async def __call__(self, message):
        if self._skip(message):
            return False
        try:
            result = self._handler(message)
            if asyncio.iscoroutine(result):
                await result
        except Exception as e:
            call, args = self._after_error(message, e)
            await self._off_loop(call, *args)
            return False
        self._queue.succeeded(message)
        return True

    async def poll(self, timeout=None):
        message = await self._consumer.poll(self._poll_timeout(timeout))
        if message is None or message.error() is not None:
            return message
        await self(message)
        return message

    async def close(self):
        await self._off_loop(self._queue.close)
