"""``SerializingProducer``: a ``Producer`` whose ``produce`` runs the ``key.serializer`` and
``value.serializer`` of its configuration (confluent-kafka's class of the same name)."""

from ._native import Producer
from .error import KeySerializationError, ValueSerializationError
from .serialization import MessageField, SerializationContext

__all__ = ["SerializingProducer"]


def _pop_serdes(conf, key_prop, value_prop):
    if conf is None:
        conf = {}
    if not isinstance(conf, dict):
        raise TypeError("conf must be a dict, not %s" % type(conf).__name__)
    conf = dict(conf)
    key, value = conf.pop(key_prop, None), conf.pop(value_prop, None)
    for prop, serde in ((key_prop, key), (value_prop, value)):
        if serde is not None and not callable(serde):
            raise ValueError("%s must be callable" % prop)
    return key, value, conf


class SerializingProducer(Producer):
    """``SerializingProducer(conf)``: ``conf`` is a producer configuration plus
    ``key.serializer`` and ``value.serializer`` (callables ``(obj, SerializationContext) ->
    bytes``; without one, that part is produced as given)."""

    def __new__(cls, conf=None):
        key, value, rest = _pop_serdes(conf, "key.serializer", "value.serializer")
        self = super().__new__(cls, rest)
        self._key_serializer = key
        self._value_serializer = value
        return self

    def __init__(self, conf=None):
        pass

    def produce(self, topic, key=None, value=None, partition=-1, on_delivery=None, timestamp=0, headers=None):
        """Serializes the key (``KeySerializationError`` if it fails) and the value
        (``ValueSerializationError``), then queues the record; nothing is queued when either
        fails. The serializers see ``SerializationContext(topic, field, headers)``."""
        if not isinstance(topic, str):
            raise TypeError("topic must be a str, not {}".format(type(topic).__name__))
        ctx = SerializationContext(topic, MessageField.KEY, headers)
        if self._key_serializer is not None:
            try:
                key = self._key_serializer(key, ctx)
            except Exception as se:
                raise KeySerializationError(se)
        ctx.field = MessageField.VALUE
        if self._value_serializer is not None:
            try:
                value = self._value_serializer(value, ctx)
            except Exception as se:
                raise ValueSerializationError(se)
        super().produce(topic, value, key, headers=headers, partition=partition, timestamp=timestamp,
                        on_delivery=on_delivery)
