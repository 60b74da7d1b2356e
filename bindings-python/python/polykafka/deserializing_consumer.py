"""``DeserializingConsumer``: a ``Consumer`` whose ``poll`` runs the ``key.deserializer`` and
``value.deserializer`` of its configuration (confluent-kafka's class of the same name)."""

from ._native import Consumer
from .error import ConsumeError, KeyDeserializationError, ValueDeserializationError
from .serialization import MessageField, SerializationContext
from .serializing_producer import _pop_serdes

__all__ = ["DeserializingConsumer"]


class DeserializingConsumer(Consumer):
    """``DeserializingConsumer(conf)``: ``conf`` is a consumer configuration plus
    ``key.deserializer`` and ``value.deserializer`` (callables ``(bytes,
    SerializationContext) -> obj``; without one, that part is returned as bytes)."""

    def __new__(cls, conf=None):
        key, value, rest = _pop_serdes(conf, "key.deserializer", "value.deserializer")
        self = super().__new__(cls, rest)
        self._key_deserializer = key
        self._value_deserializer = value
        return self

    def __init__(self, conf=None):
        pass

    def poll(self, timeout=-1):
        """The next record with its key and value deserialized, or None after ``timeout``
        seconds (negative: wait). An error record raises ``ConsumeError``; a record that does
        not deserialize raises ``ValueDeserializationError`` / ``KeyDeserializationError``
        carrying it (``kafka_message``: topic, partition, offset, raw bytes). Either way the
        consumer's position is past that record: the next ``poll`` gives the next one."""
        msg = super().poll(None if timeout is None or timeout < 0 else timeout)
        if msg is None:
            return None
        if msg.error() is not None:
            raise ConsumeError(msg.error(), kafka_message=msg)
        ctx = SerializationContext(msg.topic(), MessageField.VALUE, msg.headers())
        value = msg.value()
        if self._value_deserializer is not None:
            try:
                value = self._value_deserializer(value, ctx)
            except Exception as se:
                raise ValueDeserializationError(exception=se, kafka_message=msg)
        key = msg.key()
        ctx.field = MessageField.KEY
        if self._key_deserializer is not None:
            try:
                key = self._key_deserializer(key, ctx)
            except Exception as se:
                raise KeyDeserializationError(exception=se, kafka_message=msg)
        msg.set_key(key)
        msg.set_value(value)
        return msg

    def consume(self, num_messages=1, timeout=-1):
        """Not supported, as by confluent-kafka: use ``poll``."""
        raise NotImplementedError
