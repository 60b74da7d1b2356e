"""polykafka: a Kafka client with confluent-kafka's API over one Rust engine.

``import polykafka as confluent_kafka`` runs confluent-kafka programs.
"""

from ._errors import KafkaError, KafkaException
from ._model import (
    OFFSET_BEGINNING,
    OFFSET_END,
    OFFSET_INVALID,
    OFFSET_STORED,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    IsolationLevel,
    Node,
    TopicPartition,
)
from ._native import (
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    ConsumerGroupMetadata,
    Message,
    Producer,
)
from ._native import __version__ as _native_version
from .deserializing_consumer import DeserializingConsumer
from .serializing_producer import SerializingProducer

__version__ = _native_version

__all__ = [
    "Consumer",
    "ConsumerGroupMetadata",
    "ConsumerGroupState",
    "ConsumerGroupTopicPartitions",
    "ConsumerGroupType",
    "DeserializingConsumer",
    "IsolationLevel",
    "Node",
    "KafkaError",
    "KafkaException",
    "Message",
    "OFFSET_BEGINNING",
    "OFFSET_END",
    "OFFSET_INVALID",
    "OFFSET_STORED",
    "Producer",
    "SerializingProducer",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "TIMESTAMP_NOT_AVAILABLE",
    "TopicPartition",
    "libversion",
    "version",
]


def version():
    """``(version string, version int)``, as confluent-kafka's ``version()``."""
    major, minor, patch = (int(x) for x in __version__.split(".")[:3])
    return __version__, (major << 16) | (minor << 8) | patch


def libversion():
    """The engine's version, as confluent-kafka's ``libversion()`` (which gives librdkafka's)."""
    return version()
