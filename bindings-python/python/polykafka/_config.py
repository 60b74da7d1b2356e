"""The one place where a confluent-kafka conf dict becomes the core's properties.

confluent-kafka (librdkafka) and the core (Kafka's Java names) mostly share keys. Where they
differ, the librdkafka key is renamed through the core's table (``_native.from_librdkafka``);
which client a key belongs to is the core's table too (``_native.config_keys``); where librdkafka has a knob the core does not, the
key is accepted and ignored (``IGNORED``): silently when it has no meaning for this engine
(``NO_MEANING``), with one warning when its value asks for behaviour the engine does not have
(``UNHONOURED``). Every other key goes to the core, which rejects an
unknown key with a ``KafkaException`` (``_INVALID_ARG``) naming it. Callables (``error_cb``,
``logger``, ``on_delivery``, ...) are taken out. Defaults are confluent-kafka's where they
differ from Java's: ``partitioner=consistent_random``, ``enable.idempotence=false``,
``queue.buffering.max.messages=100000``, ``batch.num.messages=10000``.
"""

import logging

from . import _native

# The engine's key table: key -> "common", "producer" or "consumer" (core/src/config.rs).
CORE_KEYS = dict(_native.config_keys())


def _core_name(key):
    """The engine's name of a key: librdkafka's renamed where the two differ (the core's table)."""
    return _native.from_librdkafka(key) or key


# librdkafka keys with no meaning for this engine (they tune librdkafka's own queues, threads
# and fallbacks, which the engine does not have): accepted and ignored, silently. README.md has
# the table of every key here and in UNHONOURED, with what the engine does instead.
NO_MEANING = frozenset({
    "queue.buffering.backpressure.threshold",
    "api.version.fallback.ms",
    "broker.version.fallback",
    "log.connection.close",
    "log.queue",
    "log.thread.name",
    "queued.min.messages",
    "queued.max.messages.kbytes",
    "fetch.error.backoff.ms",
    "fetch.queue.backoff.ms",
    "coordinator.query.interval.ms",
})


def _int_at_least(n):
    def check(text):
        try:
            return int(text) >= n
        except ValueError:
            return False
    return check


def _one_of(*values):
    return lambda text: text.strip().lower() in values


# librdkafka keys that would change behaviour but the engine does not implement: key -> a test
# of the value, true when the value is what the engine does anyway. A value the engine does not
# honour is accepted with one warning on the ``polykafka`` logger (or the conf's ``logger``).
UNHONOURED = {
    "api.version.request": _one_of("true", "1"),                # ApiVersions: always sent
    "socket.keepalive.enable": _one_of("false", "0"),           # no SO_KEEPALIVE
    "socket.nagle.disable": _one_of("true", "1"),               # TCP_NODELAY: always set
    "socket.send.buffer.bytes": _one_of("0"),                   # the system's default
    "socket.receive.buffer.bytes": _one_of("0"),                # the system's default
    "enable.gapless.guarantee": _one_of("false", "0"),
    "broker.address.family": _one_of("any"),                    # IPv4 and IPv6
    "client.dns.lookup": _one_of("use_all_dns_ips"),           # every address tried in turn
    "sticky.partitioning.linger.ms": _one_of("0"),              # a null key: a random partition per record
    "enable.sasl.oauthbearer.unsecure.jwt": _one_of("false", "0"),
    "offset.store.method": _one_of("broker"),
    "log_level": _int_at_least(4),                              # warnings and errors are logged
}

# Every librdkafka key accepted and not passed to the core. A test checks that none of them is a
# key the core implements (``CORE_KEYS``).
IGNORED = NO_MEANING | frozenset(UNHONOURED)

# Callbacks the engine never calls: accepted with one warning (when set).
UNHONOURED_CALLABLES = {
    "throttle_cb": "throttle events are not reported: throttle_cb is never called",
    "oauth_cb": "oauth_cb is never called: set sasl.oauthbearer.token instead",
}

CALLABLES = frozenset({
    "error_cb", "logger", "on_delivery", "delivery.report.only.error", "stats_cb",
    "throttle_cb", "oauth_cb", "on_commit",
})

PRODUCER_ONLY = frozenset(k for k, role in CORE_KEYS.items() if role == "producer")
CONSUMER_ONLY = frozenset(k for k, role in CORE_KEYS.items() if role == "consumer")

# librdkafka's defaults where they differ from Java's (confluent-kafka's behaviour).
PRODUCER_DEFAULTS = {
    "partitioner": "consistent_random",
    "queue.buffering.max.messages": "100000",
    "batch.num.messages": "10000",
}

_log = logging.getLogger("polykafka")


def _text(key, value):
    """A value as text, as confluent-kafka: None is the empty value; a value of another type
    is an invalid value (``KafkaException``, ``_INVALID_ARG``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    from ._errors import KafkaError, KafkaException
    raise KafkaException(KafkaError(
        KafkaError._INVALID_ARG, 'Invalid value for configuration property "%s": %s is not '
        "str, int, float or bool" % (key, type(value).__name__)))


def _flag(key, value):
    if isinstance(value, bool):
        return value
    text = _text(key, value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError("configuration property %r: expected a boolean, got %r" % (key, value))


# librdkafka's debug contexts: polykafka's DEBUG records are on when any is given.
DEBUG_CONTEXTS = frozenset({
    "generic", "broker", "topic", "metadata", "feature", "queue", "msg", "protocol", "cgrp", "security", "fetch",
    "interceptor", "plugin", "consumer", "admin", "eos", "mock", "assignor", "conf", "telemetry", "all",
})


def _debug_contexts(text):
    """The contexts of a ``debug`` value; an unknown one is an invalid value, as librdkafka's."""
    contexts = [c.strip() for c in text.split(",") if c.strip()]
    for c in contexts:
        if c not in DEBUG_CONTEXTS:
            from ._errors import KafkaError, KafkaException
            raise KafkaException(KafkaError(
                KafkaError._INVALID_ARG, 'Invalid value "%s" for configuration property "debug"' % c))
    return contexts


def translate(conf, kwargs, role):
    """``(properties, extras)``: the core's properties (str -> str) for a ``role``
    ("producer", "consumer" or "admin") and the callables and flags taken out."""
    merged = {}
    if conf is None and not kwargs:
        raise TypeError("expected configuration dict")  # confluent-kafka's, for Producer() and Producer(None)
    if conf is not None:
        if not isinstance(conf, dict):
            raise TypeError("expected configuration dict, got %s" % type(conf).__name__)
        merged.update(conf)
    if kwargs:
        for k, v in kwargs.items():
            # Producer(conf, logger=...) and Producer(bootstrap_servers=...) as confluent-kafka.
            merged[k if k in CALLABLES else k.replace("_", ".")] = v

    props, extras = {}, {}
    kbytes = None
    unhonoured = []  # (key, why): one warning each, once the logger is known

    def put(key, value):
        nonlocal kbytes
        if key in UNHONOURED:
            if not UNHONOURED[key](_text(key, value)):
                unhonoured.append((key, "%r is not implemented by polykafka: ignored" % (value,)))
            return
        if key in NO_MEANING:
            return
        if key == "queue.buffering.max.kbytes":
            kbytes = int(_text(key, value))
            return
        props[_core_name(key)] = _text(key, value)

    for key, value in merged.items():
        if not isinstance(key, str):
            from ._errors import KafkaError, KafkaException
            raise KafkaException(KafkaError(KafkaError._INVALID_ARG, 'No such configuration property: "%s"' % (key,)))
        if key in CALLABLES:
            if value is not None and key not in ("delivery.report.only.error",) and not callable(value) \
                    and not (key == "logger" and hasattr(value, "log")):
                if key == "on_commit":  # confluent-kafka's error for this one
                    from ._errors import KafkaError, KafkaException
                    raise KafkaException(KafkaError(KafkaError._INVALID_ARG, "on_commit requires a callable object"))
                raise TypeError("expected %r to be callable" % key)
            if value is not None and key in UNHONOURED_CALLABLES:
                unhonoured.append((key, UNHONOURED_CALLABLES[key]))
            extras[key] = value
            continue
        if key == "debug":
            extras["debug"] = bool(_debug_contexts(_text(key, value)))
            continue
        if key == "default.topic.config":
            # confluent-kafka 1.x: a dict of topic-level properties.
            for k, v in dict(value).items():
                put(k, v)
            continue
        put(key, value)

    logger = extras.get("logger") or _log
    for key, why in unhonoured:
        logger.log(logging.WARNING, "configuration property %r: %s", key, why)

    if kbytes is not None:
        props["buffer.memory"] = str(kbytes * 1024)

    if role == "producer":
        for key, value in PRODUCER_DEFAULTS.items():
            props.setdefault(key, value)
        if "transactional.id" not in props:
            props.setdefault("enable.idempotence", "false")
        _fit_request_timeout(props)
    elif role == "consumer":
        # librdkafka's defaults where they differ from Java's.
        props.setdefault("isolation.level", "read_committed")
        props.setdefault("partition.assignment.strategy", "range,roundrobin")
        # librdkafka's consumer never asks the broker to create a topic it reads.
        props.setdefault("allow.auto.create.topics", "false")
    drop = {"producer": CONSUMER_ONLY, "consumer": PRODUCER_ONLY,
            "admin": PRODUCER_ONLY | CONSUMER_ONLY}.get(role, frozenset())
    for key in [k for k in props if k in drop]:
        # librdkafka warns and ignores a property of another kind of client.
        _log.debug("configuration property %r does not apply to a %s: ignored", key, role)
        del props[key]
    return props, extras


def _fit_request_timeout(props):
    """librdkafka accepts ``message.timeout.ms`` below the request timeout; the core needs
    ``delivery.timeout.ms >= linger.ms + request.timeout.ms``, so the request timeout shrinks."""
    if "delivery.timeout.ms" not in props or "request.timeout.ms" in props:
        return
    try:
        delivery = int(props["delivery.timeout.ms"])
        linger = int(props.get("linger.ms", "5"))
    except ValueError:
        return  # the core names the bad value
    if delivery == 0:
        # librdkafka: 0 means forever.
        props["delivery.timeout.ms"] = str(2**31 - 1)
        return
    if delivery < linger + 30000:
        props["request.timeout.ms"] = str(max(1, delivery - linger))
