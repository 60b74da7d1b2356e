"""confluent-kafka's ``AdminClient``: calls return ``{key: concurrent.futures.Future}``."""

import concurrent.futures
import time
from enum import Enum

from .._errors import KafkaError, KafkaException
from .._model import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    Node,
    TopicPartition,
    _group_state,
    _group_type,
)
from .._native import _AdminClient

__all__ = [
    "AdminClient", "ConsumerGroupDescription", "ConsumerGroupListing", "DescribeClusterResult",
    "ListConsumerGroupsResult", "MemberAssignment", "MemberDescription", "AlterConfigOpType", "BrokerMetadata", "ClusterMetadata", "ConfigEntry",
    "ConfigResource", "ConfigSource", "NewPartitions", "NewTopic", "PartitionMetadata",
    "ResourceType", "TopicMetadata",
]


def _check_str(value, what):
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what, "None" if value is None else type(value).__name__))


def _check_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s: %r object cannot be interpreted as an integer" % (what, type(value).__name__))


def _check_timeouts(operation_timeout=None, request_timeout=None):
    """confluent-kafka's checks of the admin calls' timeouts (seconds)."""
    for name, value in (("operation_timeout", operation_timeout), ("request_timeout", request_timeout)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("must be real number, not %s" % type(value).__name__)
        if not -1 <= value * 1000 <= 3600000:
            raise ValueError('Invalid value type for "%s": expecting integer in range -1..3600000' % name)


def _check_list(value, what):
    if not isinstance(value, list):
        raise TypeError("argument 1 must be list, not %s" % type(value).__name__)
    if not value:
        raise ValueError("Expected non-empty list of %s" % what)


def _check_resources(resources):
    if not isinstance(resources, list):
        raise ValueError("Expected list of ConfigResource")
    if not resources:
        raise ValueError("Expected non-empty list of ConfigResource objects")
    if not all(isinstance(r, ConfigResource) for r in resources):
        raise ValueError("Expected list of %r" % ConfigResource)


class NewTopic:
    def __init__(self, topic, num_partitions=-1, replication_factor=-1, replica_assignment=None,
                 config=None):
        _check_str(topic, "argument 1")
        _check_int(num_partitions, "num_partitions")
        _check_int(replication_factor, "replication_factor")
        self.topic = topic
        self.num_partitions = num_partitions
        self.replication_factor = replication_factor
        self.replica_assignment = replica_assignment
        self.config = dict(config or {})

    def __repr__(self):
        return "NewTopic(topic=%s,num_partitions=%d)" % (self.topic, self.num_partitions)


class NewPartitions:
    def __init__(self, topic, new_total_count, replica_assignment=None):
        _check_str(topic, "argument 1")
        _check_int(new_total_count, "new_total_count")
        self.topic = topic
        self.new_total_count = new_total_count
        self.replica_assignment = replica_assignment

    def __repr__(self):
        return "NewPartitions(topic=%s,new_total_count=%d)" % (self.topic, self.new_total_count)


class ResourceType(Enum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    BROKER = 4
    TRANSACTIONAL_ID = 5
    BROKER_LOGGER = 8


class AlterConfigOpType(Enum):
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class ConfigSource(Enum):
    UNKNOWN_CONFIG = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    GROUP_CONFIG = 8


_SOURCES = {
    "DynamicTopic": ConfigSource.DYNAMIC_TOPIC_CONFIG,
    "DynamicBroker": ConfigSource.DYNAMIC_BROKER_CONFIG,
    "DynamicDefaultBroker": ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG,
    "StaticBroker": ConfigSource.STATIC_BROKER_CONFIG,
    "Default": ConfigSource.DEFAULT_CONFIG,
}


class ConfigEntry:
    def __init__(self, name, value, source=ConfigSource.UNKNOWN_CONFIG, is_read_only=False,
                 is_default=False, is_sensitive=False, is_synonym=False, synonyms=None,
                 incremental_operation=None):
        self.name = name
        self.value = value
        self.source = source
        self.is_read_only = is_read_only
        self.is_default = is_default
        self.is_sensitive = is_sensitive
        self.is_synonym = is_synonym
        self.synonyms = synonyms or {}
        self.incremental_operation = incremental_operation

    def __repr__(self):
        return "ConfigEntry(%s=%s)" % (self.name, self.value)

    def __str__(self):
        return "%s=%s" % (self.name, self.value)


class ConfigResource:
    Type = ResourceType

    def __init__(self, restype, name, set_config=None, described_configs=None, error=None,
                 incremental_configs=None):
        if isinstance(restype, str):
            if restype.upper() not in ResourceType.__members__:
                raise ValueError('Unknown resource type "%s": should be a ConfigResource.Type' % restype)
            restype = ResourceType[restype.upper()]
        elif isinstance(restype, int):
            restype = ResourceType(restype)
        if not isinstance(name, str):
            raise ValueError("Expected resource name to be a string")
        self.restype = restype
        self.name = name
        self.set_config_dict = dict(set_config or {})
        self.incremental_configs = list(incremental_configs or [])
        self.configs = described_configs
        self.error = error

    def set_config(self, name, value, overwrite=True):
        if not overwrite and name in self.set_config_dict:
            return
        self.set_config_dict[name] = value

    def add_incremental_config(self, config_entry):
        self.incremental_configs.append(config_entry)

    def __repr__(self):
        return "ConfigResource(%s,%s)" % (self.restype, self.name)

    def __hash__(self):
        return hash((self.restype, self.name))

    def __eq__(self, other):
        return isinstance(other, ConfigResource) and (self.restype, self.name) == (other.restype, other.name)

    def __lt__(self, other):
        return (self.restype.value, self.name) < (other.restype.value, other.name)


class BrokerMetadata:
    def __init__(self):
        self.id = -1
        self.host = None
        self.port = -1

    def __repr__(self):
        return "BrokerMetadata(%d, %s:%d)" % (self.id, self.host, self.port)

    def __str__(self):
        return "%s:%d/%d" % (self.host, self.port, self.id)


class PartitionMetadata:
    def __init__(self):
        self.id = -1
        self.leader = -1
        self.replicas = []
        self.isrs = []
        self.error = None

    def __repr__(self):
        return "PartitionMetadata(%d)" % self.id


class TopicMetadata:
    def __init__(self):
        self.topic = None
        self.partitions = {}
        self.error = None

    def __repr__(self):
        return "TopicMetadata(%s, %d partitions)" % (self.topic, len(self.partitions))


class ClusterMetadata:
    def __init__(self):
        self.cluster_id = None
        self.controller_id = -1
        self.brokers = {}
        self.topics = {}
        self.orig_broker_id = -1
        self.orig_broker_name = None

    def __repr__(self):
        return "ClusterMetadata(%s)" % self.cluster_id


class ConsumerGroupListing:
    def __init__(self, group_id, is_simple_consumer_group, state=None, type=None):
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.state = state
        self.type = type

    def __repr__(self):
        return "ConsumerGroupListing(%s, %s)" % (self.group_id, self.state)


class ListConsumerGroupsResult:
    def __init__(self, valid=None, errors=None):
        self.valid = valid or []
        self.errors = errors or []


class MemberAssignment:
    def __init__(self, topic_partitions=None):
        self.topic_partitions = topic_partitions or []


class MemberDescription:
    def __init__(self, member_id, client_id, host, assignment, group_instance_id=None,
                 target_assignment=None):
        self.member_id = member_id
        self.client_id = client_id
        self.host = host
        self.assignment = assignment
        self.group_instance_id = group_instance_id
        self.target_assignment = target_assignment

    def __repr__(self):
        return "MemberDescription(%s, %s)" % (self.member_id, self.client_id)


class ConsumerGroupDescription:
    def __init__(self, group_id, is_simple_consumer_group, members, partition_assignor, state,
                 coordinator, authorized_operations=None, type=ConsumerGroupType.UNKNOWN):
        self.group_id = group_id
        self.is_simple_consumer_group = is_simple_consumer_group
        self.members = members
        self.partition_assignor = partition_assignor
        self.state = state
        self.coordinator = coordinator
        self.authorized_operations = authorized_operations
        self.type = type

    def __repr__(self):
        return "ConsumerGroupDescription(%s, %s, %d members)" % (
            self.group_id, self.state, len(self.members))


class DescribeClusterResult:
    def __init__(self, controller, nodes, cluster_id=None, authorized_operations=None):
        self.controller = controller
        self.nodes = nodes
        self.cluster_id = cluster_id
        self.authorized_operations = authorized_operations


def _chain(inner, outer, convert):
    """Completes ``outer`` with ``convert(inner.result())``."""
    def done(f):
        exc = f.exception()
        if exc is not None:
            outer.set_exception(exc)
            return
        try:
            outer.set_result(convert(f.result()))
        except Exception as e:  # a conversion bug must not leave the future pending
            outer.set_exception(e)
    inner.add_done_callback(done)


def _future():
    f = concurrent.futures.Future()
    f.set_running_or_notify_cancel()
    return f


class AdminClient:
    """confluent-kafka's ``AdminClient(conf)``."""

    def __init__(self, conf=None, **kwargs):
        self._impl = _AdminClient(conf, **kwargs)

    def create_topics(self, new_topics, operation_timeout=0, request_timeout=None,
                      validate_only=False):
        if isinstance(new_topics, list) and not new_topics:
            raise ValueError("Expected non-empty list of NewTopic objects")
        _check_timeouts(operation_timeout, request_timeout)
        futures = {t.topic: _future() for t in new_topics}
        topics = [(t.topic, t.num_partitions, t.replication_factor,
                   [(str(k), str(v)) for k, v in t.config.items()]) for t in new_topics]
        self._impl.create_topics(topics, bool(validate_only), futures)
        return futures

    def delete_topics(self, topics, operation_timeout=0, request_timeout=None):
        _check_list(topics, "topic strings")
        for t in topics:
            if not isinstance(t, str):
                raise ValueError("Expected list of topic strings, not %s" % type(t).__name__)
        _check_timeouts(operation_timeout, request_timeout)
        futures = {t: _future() for t in topics}
        self._impl.delete_topics(list(topics), futures)
        return futures

    def create_partitions(self, new_partitions, operation_timeout=0, request_timeout=None,
                          validate_only=False):
        if isinstance(new_partitions, list) and not new_partitions:
            raise ValueError("Expected non-empty list of NewPartitions objects")
        _check_timeouts(operation_timeout, request_timeout)
        futures = {p.topic: _future() for p in new_partitions}
        self._impl.create_partitions([(p.topic, p.new_total_count, futures[p.topic])
                                      for p in new_partitions])
        return futures

    def list_topics(self, topic=None, timeout=-1):
        _check_timeouts(None, timeout if timeout is None or timeout >= 0 else None)
        cluster_id, controller, brokers, topics = self._impl.list_topics(
            topic, None if timeout is None or timeout < 0 else timeout)
        md = ClusterMetadata()
        md.cluster_id = cluster_id
        md.controller_id = controller
        for node, host, port in brokers:
            b = BrokerMetadata()
            b.id, b.host, b.port = node, host, port
            md.brokers[node] = b
        for name, err, parts in topics:
            t = TopicMetadata()
            t.topic, t.error = name, err
            for pid, leader, replicas, isrs in parts:
                p = PartitionMetadata()
                p.id, p.leader, p.replicas, p.isrs = pid, leader, list(replicas), list(isrs)
                t.partitions[pid] = p
            md.topics[name] = t
        return md

    def describe_configs(self, resources, request_timeout=None):
        _check_resources(resources)
        _check_timeouts(None, request_timeout)
        futures = {}
        work = []
        for r in resources:
            inner = _future()
            outer = _future()
            futures[r] = outer
            inner.add_done_callback(lambda f, outer=outer: _entries(f, outer))
            work.append((r.restype.value, r.name, inner))
        self._impl.describe_configs(work)
        return futures

    def incremental_alter_configs(self, resources, request_timeout=None, validate_only=False):
        _check_resources(resources)
        _check_timeouts(None, request_timeout)
        futures = {}
        work = []
        for r in resources:
            ops = []
            for e in r.incremental_configs:
                op = e.incremental_operation or AlterConfigOpType.SET
                ops.append((e.name, None if e.value is None else str(e.value), op.value))
            futures[r] = _future()
            work.append((r.restype.value, r.name, ops, futures[r]))
        self._impl.incremental_alter_configs(work)
        return futures

    def delete_records(self, topic_partition_offsets, request_timeout=None,
                       operation_timeout=None):
        _check_timeouts(operation_timeout, request_timeout)
        futures = {}
        work = []
        for tp in topic_partition_offsets:
            if not isinstance(tp, TopicPartition):
                raise TypeError("Element of the request list must be of type 'TopicPartition' got '%s'"
                                % type(tp).__name__)
            futures[tp] = _future()
            work.append((tp.topic, tp.partition, tp.offset, futures[tp]))
        self._impl.delete_records(work)
        return futures

    def list_consumer_groups(self, request_timeout=None, states=None, types=None):
        """A future of ``ListConsumerGroupsResult`` (``states``/``types``: sets of
        ``ConsumerGroupState``/``ConsumerGroupType`` to keep)."""
        _check_timeouts(None, request_timeout)
        states = set(states or ())
        types = set(types or ())
        inner, outer = _future(), _future()

        def convert(rows):
            valid = []
            for group_id, protocol_type, state, group_type in rows:
                listing = ConsumerGroupListing(group_id, protocol_type == "", _group_state(state),
                                               _group_type(group_type))
                if states and listing.state not in states:
                    continue
                if types and listing.type not in types:
                    continue
                valid.append(listing)
            return ListConsumerGroupsResult(valid, [])
        _chain(inner, outer, convert)
        self._impl.list_consumer_groups(inner)
        return outer

    def describe_consumer_groups(self, group_ids, include_authorized_operations=False,
                                 request_timeout=None):
        """``{group_id: future of ConsumerGroupDescription}``."""
        if not isinstance(group_ids, list):
            raise TypeError("Expected input to be list of group ids to be described")
        if not group_ids:
            raise ValueError("Expected at least one group to be described")
        _check_timeouts(None, request_timeout)
        futures = {g: _future() for g in group_ids}
        inner = {g: _future() for g in group_ids}

        def convert(row):
            group_id, state, protocol_type, protocol, group_type, node, members = row
            nid, host, port, rack = node
            ms = [MemberDescription(mid, client_id, host_,
                                    MemberAssignment([TopicPartition(t, p) for t, p in parts]),
                                    instance_id)
                  for mid, instance_id, client_id, host_, parts in members]
            return ConsumerGroupDescription(group_id, protocol_type == "", ms, protocol,
                                            _group_state(state), Node(nid, host, port, rack),
                                            None, _group_type(group_type))
        for g in group_ids:
            _chain(inner[g], futures[g], convert)
        self._impl.describe_consumer_groups(list(group_ids), inner)
        return futures

    def list_consumer_group_offsets(self, list_consumer_group_offsets_request, require_stable=False,
                                    request_timeout=None):
        """``{group_id: future of ConsumerGroupTopicPartitions}`` (one request, as
        confluent-kafka)."""
        reqs = list_consumer_group_offsets_request
        if not isinstance(reqs, list):
            raise TypeError("Expected input to be list of ConsumerGroupTopicPartitions")
        if len(reqs) != 1:
            raise ValueError("Currently we support listing offsets for a single consumer group only")
        _check_timeouts(None, request_timeout)
        req = reqs[0]
        parts = None
        if req.topic_partitions:
            parts = [(tp.topic, tp.partition) for tp in req.topic_partitions]
        inner, outer = _future(), _future()

        def convert(rows):
            tps = []
            for t, p, o in rows:
                tp = TopicPartition(t, p, o if o >= 0 else -1001)
                tps.append(tp)
            return ConsumerGroupTopicPartitions(req.group_id, tps)
        _chain(inner, outer, convert)
        self._impl.list_consumer_group_offsets(req.group_id, parts, inner)
        return {req.group_id: outer}

    def alter_consumer_group_offsets(self, alter_consumer_group_offsets_request,
                                     request_timeout=None):
        """``{group_id: future of ConsumerGroupTopicPartitions}`` (the group must be empty)."""
        reqs = alter_consumer_group_offsets_request
        if not isinstance(reqs, list):
            raise TypeError("Expected input to be list of ConsumerGroupTopicPartitions")
        if len(reqs) != 1:
            raise ValueError("Currently we support altering offsets for a single consumer group only")
        _check_timeouts(None, request_timeout)
        req = reqs[0]
        if not req.topic_partitions:
            raise ValueError("'topic_partitions' cannot be null")
        for tp in req.topic_partitions:
            if tp.offset < 0:
                raise ValueError("Element of 'topic_partitions' must not have negative value for 'offset' field")
        offsets = [(tp.topic, tp.partition, tp.offset) for tp in req.topic_partitions]
        inner, outer = _future(), _future()
        _chain(inner, outer, lambda rows: ConsumerGroupTopicPartitions(
            req.group_id, [TopicPartition(t, p, o) for t, p, o in rows]))
        self._impl.alter_consumer_group_offsets(req.group_id, offsets, inner)
        return {req.group_id: outer}

    def delete_consumer_groups(self, group_ids, request_timeout=None):
        """``{group_id: future of None}``."""
        if not isinstance(group_ids, list):
            raise TypeError("Expected input to be list of group ids to be deleted")
        if not group_ids:
            raise ValueError("Expected at least one group to be deleted")
        _check_timeouts(None, request_timeout)
        futures = {g: _future() for g in group_ids}
        self._impl.delete_consumer_groups(list(group_ids), futures)
        return futures

    def describe_cluster(self, include_authorized_operations=False, request_timeout=None):
        """A future of ``DescribeClusterResult``."""
        _check_timeouts(None, request_timeout)
        inner, outer = _future(), _future()

        def convert(row):
            cluster_id, controller_id, nodes = row
            ns = [Node(i, h, p, r) for i, h, p, r in nodes]
            controller = next((n for n in ns if n.id == controller_id), None)
            return DescribeClusterResult(controller, ns, cluster_id)
        _chain(inner, outer, convert)
        self._impl.describe_cluster(inner)
        return outer

    def poll(self, timeout=None):
        """Serves ``error_cb`` (and hands over the logs): waits up to ``timeout`` seconds for an
        error when none is waiting. Returns how many errors were served."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        while True:
            served = self._impl._drain_logs()
            if served or (deadline is not None and time.monotonic() >= deadline):
                return served
            time.sleep(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))

    def close(self):
        self._impl.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _entries(inner, outer):
    exc = inner.exception()
    if exc is not None:
        outer.set_exception(exc)
        return
    out = {}
    for name, value, read_only, is_default, sensitive, source in inner.result():
        out[name] = ConfigEntry(name, value, _SOURCES.get(source, ConfigSource.UNKNOWN_CONFIG),
                                read_only, is_default, sensitive)
    outer.set_result(out)


# Also importable from here in confluent-kafka's layout.
_ = (KafkaError, KafkaException, ConsumerGroupState, ConsumerGroupTopicPartitions, ConsumerGroupType)
