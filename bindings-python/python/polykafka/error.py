"""confluent-kafka's ``error`` module: the errors of ``SerializingProducer`` and
``DeserializingConsumer``. A serialization error keeps the original exception
(``exception``); a consume error keeps the record (``kafka_message``: its topic, partition,
offset and raw bytes)."""

from ._errors import KafkaError, KafkaException
from .serialization import SerializationError

__all__ = [
    "ConsumeError",
    "KafkaError",
    "KafkaException",
    "KeyDeserializationError",
    "KeySerializationError",
    "ProduceError",
    "SerializationError",
    "ValueDeserializationError",
    "ValueSerializationError",
]


class _KafkaClientError(KafkaException):
    """A client error: ``args[0]`` is the ``KafkaError``; ``exception`` the cause;
    ``kafka_message`` the record it concerns."""

    def __init__(self, kafka_error, exception=None, kafka_message=None):
        super().__init__(kafka_error)
        self.exception = exception
        self.kafka_message = kafka_message

    @property
    def code(self):
        return self.args[0].code()

    @property
    def name(self):
        return self.args[0].name()


class ConsumeError(_KafkaClientError):
    """A record could not be consumed (an error record, or one that did not deserialize)."""


class KeyDeserializationError(ConsumeError, SerializationError):
    """A record's key did not deserialize."""

    def __init__(self, exception=None, kafka_message=None):
        super().__init__(KafkaError(KafkaError._KEY_DESERIALIZATION, str(exception)), exception, kafka_message)


class ValueDeserializationError(ConsumeError, SerializationError):
    """A record's value did not deserialize."""

    def __init__(self, exception=None, kafka_message=None):
        super().__init__(KafkaError(KafkaError._VALUE_DESERIALIZATION, str(exception)), exception, kafka_message)


class ProduceError(_KafkaClientError):
    """A record could not be produced."""

    def __init__(self, kafka_error, exception=None):
        super().__init__(kafka_error, exception, None)


class KeySerializationError(ProduceError, SerializationError):
    """A key did not serialize; nothing was produced."""

    def __init__(self, exception=None):
        super().__init__(KafkaError(KafkaError._KEY_SERIALIZATION, str(exception)), exception)


class ValueSerializationError(ProduceError, SerializationError):
    """A value did not serialize; nothing was produced."""

    def __init__(self, exception=None):
        super().__init__(KafkaError(KafkaError._VALUE_SERIALIZATION, str(exception)), exception)
