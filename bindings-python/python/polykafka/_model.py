"""Small value types of confluent-kafka's API."""

from enum import Enum

from ._errors import KafkaError  # noqa: F401  (re-exported by the package)

OFFSET_BEGINNING = -2
OFFSET_END = -1
OFFSET_STORED = -1000
OFFSET_INVALID = -1001


class TopicPartition:
    """A topic, a partition and (depending on the call) an offset, metadata or an error."""

    __slots__ = ("topic", "partition", "offset", "metadata", "leader_epoch", "error")

    def __init__(self, topic, partition=-1, offset=OFFSET_INVALID, metadata=None, leader_epoch=None):
        # confluent-kafka's argument checks (its C constructor): TypeError.
        if not isinstance(topic, str):
            raise TypeError("argument 1 must be str, not %s" % ("None" if topic is None else type(topic).__name__))
        for value in (partition, offset):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError("'%s' object cannot be interpreted as an integer" % type(value).__name__)
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.metadata = metadata
        self.leader_epoch = leader_epoch
        self.error = None

    def _key(self):
        return (self.topic, self.partition)

    def __eq__(self, other):
        if not isinstance(other, TopicPartition):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other):
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "TopicPartition{topic=%s,partition=%d,offset=%d,leader_epoch=%s,error=%s}" % (
            self.topic, self.partition, self.offset, self.leader_epoch, self.error)

    __str__ = __repr__


class Node:
    """A broker: id, host, port and rack."""

    def __init__(self, id, host, port, rack=None):
        self.id = id
        self.id_string = str(id)
        self.host = host
        self.port = port
        self.rack = rack

    def __repr__(self):
        return "Node(id=%d, host=%s, port=%d, rack=%s)" % (self.id, self.host, self.port, self.rack)


class ConsumerGroupTopicPartitions:
    """A group id and a list of TopicPartition (the requests and results of the group-offset
    admin calls)."""

    def __init__(self, group_id, topic_partitions=None):
        self.group_id = group_id
        self.topic_partitions = topic_partitions

    def __repr__(self):
        return "ConsumerGroupTopicPartitions(%s, %r)" % (self.group_id, self.topic_partitions)

    def __hash__(self):
        return hash(self.group_id)


class ConsumerGroupState(Enum):
    UNKNOWN = 0
    UNKOWN = UNKNOWN  # confluent-kafka's historical misspelling
    PREPARING_REBALANCING = 1
    COMPLETING_REBALANCING = 2
    STABLE = 3
    DEAD = 4
    EMPTY = 5

    def __lt__(self, other):
        return self.value < other.value


class ConsumerGroupType(Enum):
    UNKNOWN = 0
    CONSUMER = 1
    CLASSIC = 2

    def __lt__(self, other):
        return self.value < other.value


class IsolationLevel(Enum):
    READ_UNCOMMITTED = 0
    READ_COMMITTED = 1

    def __lt__(self, other):
        return self.value < other.value


_STATES = {
    "preparingrebalance": ConsumerGroupState.PREPARING_REBALANCING,
    "completingrebalance": ConsumerGroupState.COMPLETING_REBALANCING,
    "assigning": ConsumerGroupState.COMPLETING_REBALANCING,
    "reconciling": ConsumerGroupState.COMPLETING_REBALANCING,
    "stable": ConsumerGroupState.STABLE,
    "dead": ConsumerGroupState.DEAD,
    "empty": ConsumerGroupState.EMPTY,
}


def _group_state(text):
    return _STATES.get((text or "").lower(), ConsumerGroupState.UNKNOWN)


def _group_type(text):
    return {"consumer": ConsumerGroupType.CONSUMER,
            "classic": ConsumerGroupType.CLASSIC}.get((text or "").lower(), ConsumerGroupType.UNKNOWN)
