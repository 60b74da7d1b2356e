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
"""

from ._native import DeadLetterQueue
from .error import KeyDeserializationError, ValueDeserializationError
from .serialization import SerializationError

__all__ = ["RetryingHandler"]


class RetryingHandler:
    """Runs ``handler(message)`` for the messages of ``consumer`` with retries and a dead-letter
    topic. ``producer_config``: properties of the producer writing the copies (``acks``,
    ``transactional.id``, ...); without ``bootstrap.servers`` it connects as the consumer does."""

    def __init__(
        self,
        consumer,
        handler,
        *,
        max_retries=3,
        backoff_ms=100,
        backoff_multiplier=2.0,
        max_backoff_ms=30000,
        dlq_topic=None,
        retry_topic=None,
        producer_config=None,
    ):
        self._consumer = consumer
        self._handler = handler
        self._queue = DeadLetterQueue(
            consumer, max_retries, backoff_ms, backoff_multiplier, max_backoff_ms, dlq_topic, retry_topic, producer_config
        )

    def __call__(self, message):
        """Runs the handler on ``message``: True when it returned; False when it raised (the
        message is then waiting for a retry, re-published to the retry topic or dead-lettered)
        or was skipped (its partition waits for a retry, or it is a retry-topic copy not due)."""
        if self._queue.is_waiting(message.topic(), message.partition()):
            return False
        if self._queue.not_yet_due(message) is not None:
            return False
        try:
            self._handler(message)
        except SerializationError as e:
            self._queue.undecodable(message, str(e), type(e).__name__)
            return False
        except Exception as e:
            self._queue.failed(message, str(e), type(e).__name__)
            return False
        self._queue.succeeded(message)
        return True

    def poll(self, timeout=None):
        """``consumer.poll`` with the retries: resumes the partitions whose wait is over, polls
        (no longer than until the next retry is due) and runs the handler on the message.
        Returns the message, or None; error messages are returned without running the handler."""
        due = self._queue.resume_due()
        if due is not None and (timeout is None or timeout < 0 or due < timeout):
            timeout = due
        try:
            message = self._consumer.poll(timeout)
        except (KeyDeserializationError, ValueDeserializationError) as e:
            cause = e.exception if getattr(e, "exception", None) is not None else e
            self._queue.undecodable(e.kafka_message, str(cause), type(cause).__name__)
            return e.kafka_message
        if message is None or message.error() is not None:
            return message
        self(message)
        return message

    def close(self):
        """Flushes and closes the producer of the copies (not the consumer)."""
        self._queue.close()
