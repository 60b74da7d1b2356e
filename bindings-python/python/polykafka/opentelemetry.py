"""OpenTelemetry metrics and traces for polykafka's clients, through ``opentelemetry-api``
(``pip install polykafka[opentelemetry]``), in the shape of opentelemetry-instrumentation-confluent-kafka::

    from polykafka.opentelemetry import instrument_consumer, instrument_producer

    producer = instrument_producer(Producer(conf))            # metrics and a span per produce()
    consumer = instrument_consumer(Consumer(conf), tracing=False)  # metrics only

The instrumented client is a proxy with the client's whole API (``original_producer`` /
``original_consumer`` give the client back). ``tracer_provider`` and ``meter_provider`` default to
the global ones: with no SDK configured the API records nothing. Without ``opentelemetry-api``
installed, ``instrument_*`` return the client unchanged.

Metrics (names from OpenTelemetry's semantic conventions for messaging; the table is the
engine's, ``polykafka._native.otel_instruments()``):

- ``messaging.client.sent.messages``, ``messaging.client.consumed.messages``: observable counters
  per partition (``messaging.system``, ``messaging.destination.name``,
  ``messaging.destination.partition.id``, ``messaging.operation.name``, ``messaging.client.id``;
  failed deliveries under their ``error.type``), and ``messaging.kafka.consumer.lag``, an
  observable gauge per assigned partition: read from the engine's statistics snapshot when the
  SDK collects, nothing counted per record.
- ``messaging.client.operation.duration`` (seconds): ``poll()``/``consume()`` calls that returned
  messages (``poll``), and produce-to-delivery of records produced with a delivery callback or
  with tracing on (``send``).
- ``messaging.process.duration`` (seconds): each handler call of ``polykafka.dlq``'s
  ``RetryingHandler`` around an instrumented consumer (``error.type``: the exception's class).

Traces (``tracing=True``, the default): ``produce()`` starts a span ``send <topic>`` (kind
PRODUCER) ended at the record's delivery report, and injects its context (W3C ``traceparent``
with the default propagator) into the record's headers; ``poll()`` starts a span
``process <topic>`` (kind CONSUMER) whose parent is the context extracted from the record's
headers, current until the next ``poll()``/``consume()``/``close()``; ``consume()`` starts one such
span linked to every record's context (as confluent-kafka's instrumentation does). With
``tracing=False`` ``produce()`` is the client's own method: no work per record.
"""

import logging
import time
import weakref

from . import _native

try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
    from opentelemetry.propagators.textmap import Getter as _Getter
    from opentelemetry.propagators.textmap import Setter as _Setter
except ImportError:  # opentelemetry-api is not installed: instrument_* return the client unchanged
    _trace = None
    _Getter = _Setter = object

__all__ = ["instrument", "instrument_consumer", "instrument_producer", "uninstrument"]

_log = logging.getLogger("polykafka.opentelemetry")
_SCOPE = "polykafka"
_VERSION = _native.__version__
_PRODUCE_ARGS = ("value", "key", "partition", "callback", "on_delivery", "timestamp", "headers")
_SERIALIZING_PRODUCE_ARGS = ("key", "value", "partition", "on_delivery", "timestamp", "headers")


def available():
    """True when ``opentelemetry-api`` is installed."""
    return _trace is not None


class _HeaderGetter(_Getter):
    def get(self, carrier, key):
        values = [v for k, v in carrier or () if k == key]
        return [v.decode("utf-8", "replace") if isinstance(v, (bytes, bytearray)) else str(v) for v in values] or None

    def keys(self, carrier):
        return [k for k, _ in carrier or ()]


class _HeaderSetter(_Setter):
    def set(self, carrier, key, value):
        carrier.append((key, value.encode("utf-8")))


_getter = _HeaderGetter()
_setter = _HeaderSetter()


class _Meter:
    """The instruments of one meter provider, and the clients whose statistics they observe."""

    def __init__(self, meter_provider):
        meter = (meter_provider or _metrics.get_meter_provider()).get_meter(_SCOPE, _VERSION)
        self.clients = weakref.WeakSet()
        self.histograms = {}
        import json

        self._json = json
        for ins in json.loads(_native.otel_instruments()):
            name, unit, desc = ins["name"], ins["unit"], ins["description"]
            if ins["kind"] == "histogram":
                try:
                    h = meter.create_histogram(name, unit=unit, description=desc,
                                               explicit_bucket_boundaries_advisory=ins["buckets"])
                except TypeError:  # an API older than 1.23
                    h = meter.create_histogram(name, unit=unit, description=desc)
                self.histograms[name] = h
            else:
                create = meter.create_observable_counter if ins["kind"] == "counter" else meter.create_observable_gauge
                create(name, callbacks=[self._callback(name)], unit=unit, description=desc)

    def _all_points(self):
        # Each instrument's callback takes the snapshots (Python's API has no batch callback):
        # three per client per collection, at collection time only.
        snapshots = []
        for c in list(self.clients):
            try:
                snapshots.append(c._stats())
            except Exception:  # a closed client
                pass
        return self._json.loads(_native.otel_points(snapshots))

    def _callback(self, name):
        def observe(_options):
            return [_metrics.Observation(p["value"], p["attributes"]) for p in self._all_points() if p["name"] == name]

        return observe


_meters = weakref.WeakKeyDictionary()  # meter provider -> _Meter
_global_meter = []


def _meter(meter_provider):
    if meter_provider is None:
        if not _global_meter:
            _global_meter.append(_Meter(None))
        return _global_meter[0]
    m = _meters.get(meter_provider)
    if m is None:
        m = _meters[meter_provider] = _Meter(meter_provider)
    return m


class _Telemetry:
    """What an instrumented client records with."""

    def __init__(self, tracing, tracer_provider, meter_provider):
        self.meter = _meter(meter_provider)
        self.tracer = _trace.get_tracer(_SCOPE, _VERSION, tracer_provider=tracer_provider) if tracing else None
        self.operation = self.meter.histograms["messaging.client.operation.duration"]
        self.process = self.meter.histograms["messaging.process.duration"]

    @staticmethod
    def attributes(topic, operation, error=None):
        a = {"messaging.system": "kafka", "messaging.operation.name": operation}
        if topic is not None:
            a["messaging.destination.name"] = topic
        if error is not None:
            a["error.type"] = error
        return a

    def timed_process(self, topic, call, *args):
        """Runs ``call(*args)`` and records its duration as ``messaging.process.duration``."""
        start = time.perf_counter()
        error = None
        try:
            return call(*args)
        except BaseException as e:
            error = type(e).__name__
            raise
        finally:
            self.process.record(time.perf_counter() - start, self.attributes(topic, "process", error))


def _native_client(client):
    return getattr(client, "_polykafka_client", client)


class _Instrumented:
    """A proxy: every attribute not overridden is the client's."""

    def __init__(self, client, telemetry):
        self._polykafka_client = client
        self._otel = telemetry
        # Observed while this proxy lives (the native clients take no weak references).
        telemetry.meter.clients.add(self)

    def __getattr__(self, name):
        return getattr(self._polykafka_client, name)

    def __enter__(self):
        self._polykafka_client.__enter__()
        return self

    def __exit__(self, *args):
        return self._polykafka_client.__exit__(*args)

    def __repr__(self):
        return "<instrumented %r>" % (self._polykafka_client,)


class InstrumentedProducer(_Instrumented):
    def __init__(self, producer, telemetry):
        super().__init__(producer, telemetry)
        from .serializing_producer import SerializingProducer

        self._names = _SERIALIZING_PRODUCE_ARGS if isinstance(producer, SerializingProducer) else _PRODUCE_ARGS

    @property
    def original_producer(self):
        return self._polykafka_client

    def __len__(self):
        return len(self._polykafka_client)

    def __bool__(self):
        return True

    def produce(self, topic, *args, **kwargs):
        if args:
            kwargs.update(zip(self._names, args))
        tracer = self._otel.tracer
        key = "on_delivery" if kwargs.get("on_delivery") is not None else "callback"
        user_cb = kwargs.get(key)
        if tracer is None and user_cb is None:
            # No span and no delivery callback: nothing is done per record.
            return self._polykafka_client.produce(topic, **kwargs)
        histogram, attributes = self._otel.operation, self._otel.attributes
        span = None
        if tracer is not None:
            span = tracer.start_span("send " + topic, kind=_trace.SpanKind.PRODUCER,
                                     attributes={"messaging.system": "kafka", "messaging.destination.name": topic,
                                                 "messaging.operation.name": "send", "messaging.operation.type": "send"})
            headers = kwargs.get("headers")
            carrier = list(headers.items()) if isinstance(headers, dict) else list(headers or ())
            _propagate.inject(carrier, context=_trace.set_span_in_context(span), setter=_setter)
            kwargs["headers"] = carrier
        start = time.perf_counter()

        def delivered(err, msg):
            error = None if err is None else (err.name() if hasattr(err, "name") else str(err))
            histogram.record(time.perf_counter() - start, attributes(topic, "send", error))
            if span is not None:
                if err is None:
                    span.set_attribute("messaging.destination.partition.id", str(msg.partition()))
                    span.set_attribute("messaging.kafka.offset", msg.offset())
                else:
                    span.set_attribute("error.type", error)
                    span.set_status(_trace.Status(_trace.StatusCode.ERROR, str(err)))
                span.end()
            if user_cb is not None:
                user_cb(err, msg)

        kwargs.pop("callback", None)
        kwargs["on_delivery"] = delivered
        try:
            return self._polykafka_client.produce(topic, **kwargs)
        except BaseException as e:
            if span is not None:
                span.set_attribute("error.type", type(e).__name__)
                span.set_status(_trace.Status(_trace.StatusCode.ERROR, str(e)))
                span.end()
            raise


class InstrumentedConsumer(_Instrumented):
    def __init__(self, consumer, telemetry):
        super().__init__(consumer, telemetry)
        self._span = None
        self._token = None

    @property
    def original_consumer(self):
        return self._polykafka_client

    def __iter__(self):
        return self

    def __next__(self):
        # As the client's: the next message, waiting as long as it takes; ends at close().
        while True:
            try:
                message = self.poll(1.0)
            except RuntimeError:  # closed
                raise StopIteration from None
            if message is not None:
                return message

    def _end_span(self):
        if self._span is not None:
            _context.detach(self._token)
            self._span.end()
            self._span = self._token = None

    def _start_span(self, messages, parent):
        first = messages[0]
        attributes = {"messaging.system": "kafka", "messaging.destination.name": first.topic(),
                      "messaging.operation.name": "process", "messaging.operation.type": "process"}
        links = None
        if parent is not None:
            attributes["messaging.destination.partition.id"] = str(first.partition())
            attributes["messaging.kafka.offset"] = first.offset()
            if first.key() is not None:
                attributes["messaging.kafka.message.key"] = repr(first.key())
        else:
            attributes["messaging.batch.message_count"] = len(messages)
            links = []
            for m in messages:
                sc = _trace.get_current_span(_propagate.extract(m.headers(), getter=_getter)).get_span_context()
                if sc.is_valid:
                    links.append(_trace.Link(sc))
        self._span = self._otel.tracer.start_span("process " + first.topic(), context=parent, kind=_trace.SpanKind.CONSUMER,
                                                  attributes=attributes, links=links)
        self._token = _context.attach(_trace.set_span_in_context(self._span))

    def poll(self, timeout=-1):
        tracer = self._otel.tracer
        if tracer is not None:
            self._end_span()
        start = time.perf_counter()
        message = self._polykafka_client.poll(timeout)
        if message is not None and message.error() is None:
            self._otel.operation.record(time.perf_counter() - start, self._otel.attributes(message.topic(), "poll"))
            if tracer is not None:
                self._start_span([message], _propagate.extract(message.headers(), getter=_getter))
        return message

    def consume(self, num_messages=1, timeout=-1):
        tracer = self._otel.tracer
        if tracer is not None:
            self._end_span()
        start = time.perf_counter()
        messages = self._polykafka_client.consume(num_messages, timeout)
        records = [m for m in messages if m.error() is None]
        if records:
            self._otel.operation.record(time.perf_counter() - start, self._otel.attributes(records[0].topic(), "poll"))
            if tracer is not None:
                self._start_span(records, None)
        return messages

    def close(self, *args, **kwargs):
        if self._otel.tracer is not None:
            self._end_span()
        return self._polykafka_client.close(*args, **kwargs)


def instrument_producer(producer, tracer_provider=None, *, meter_provider=None, tracing=True):
    """``producer`` with OpenTelemetry metrics and (``tracing``) a span per ``produce()``; the
    producer itself when ``opentelemetry-api`` is not installed."""
    if _trace is None:
        _log.debug("opentelemetry-api is not installed: %r is not instrumented", producer)
        return producer
    return InstrumentedProducer(producer, _Telemetry(tracing, tracer_provider, meter_provider))


def instrument_consumer(consumer, tracer_provider=None, *, meter_provider=None, tracing=True):
    """``consumer`` with OpenTelemetry metrics and (``tracing``) a span per polled record (or
    ``consume()`` batch); the consumer itself when ``opentelemetry-api`` is not installed."""
    if _trace is None:
        _log.debug("opentelemetry-api is not installed: %r is not instrumented", consumer)
        return consumer
    return InstrumentedConsumer(consumer, _Telemetry(tracing, tracer_provider, meter_provider))


def instrument(client, tracer_provider=None, *, meter_provider=None, tracing=True):
    """``instrument_producer`` or ``instrument_consumer``, after the client's type."""
    from ._native import Consumer

    f = instrument_consumer if isinstance(client, Consumer) else instrument_producer
    return f(client, tracer_provider, meter_provider=meter_provider, tracing=tracing)


def uninstrument(client):
    """The client an ``instrument_*`` call wrapped (its statistics are no longer observed)."""
    native = _native_client(client)
    otel = getattr(client, "_otel", None)
    if otel is not None:
        if isinstance(client, InstrumentedConsumer) and otel.tracer is not None:
            client._end_span()
        otel.meter.clients.discard(client)
    return native
