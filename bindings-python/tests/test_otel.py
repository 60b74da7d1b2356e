"""polykafka.opentelemetry on the real broker with the real OpenTelemetry SDK (in-memory span
exporter and metric reader): counts of sent and consumed messages, lag, durations, a traceparent
in produced records continued by the consumer span, both ways with confluent-kafka instrumented
by opentelemetry-instrumentation-confluent-kafka, and nothing recorded or broken without an SDK
or without opentelemetry installed."""

import os
import subprocess
import sys
import textwrap
import time

import confluent_kafka as ck
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import polykafka
from polykafka.dlq import RetryingHandler
from polykafka.opentelemetry import instrument, instrument_consumer, instrument_producer, uninstrument

from conftest import read_back, unique


@pytest.fixture
def otel():
    """(tracer provider, span exporter, meter provider, metric reader): the SDK's, not global."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield tracer_provider, spans, meter_provider, reader
    meter_provider.shutdown()


def metric_points(reader):
    """{name: [(attributes, point)]} of one collection."""
    out = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                out.setdefault(m.name, []).extend((dict(p.attributes), p) for p in m.data.data_points)
    return out


def total(points, name, **attrs):
    return sum(p.value for a, p in points.get(name, []) if all(a.get(k) == v for k, v in attrs.items()))


def consumer_conf(bootstrap, group, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 100}
    conf.update(extra)
    return conf


def poll_n(consumer, n, timeout=30.0):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and m.error() is None:
            out.append(m)
    assert len(out) == n, "consumed %d of %d" % (len(out), n)
    return out


def header(message, key):
    values = [v for k, v in message.headers() or () if k == key]
    return values[0] if values else None


def traceparent_ids(value):
    _, trace_id, span_id, _ = value.decode().split("-")
    return int(trace_id, 16), int(span_id, 16)


def test_counts_lag_and_durations_match_what_was_sent_and_consumed(bootstrap, topic, otel):
    tracer_provider, spans, meter_provider, reader = otel
    p = instrument_producer(polykafka.Producer({"bootstrap.servers": bootstrap, "client.id": "otel-py"}),
                            meter_provider=meter_provider, tracing=False)
    delivered = []
    for i in range(10):
        p.produce(topic, value=b"v%d" % i, partition=0)
    for i in range(5):
        p.produce(topic, value=b"w%d" % i, partition=1, on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(30) == 0 and delivered == [None] * 5
    points = metric_points(reader)
    assert total(points, "messaging.client.sent.messages", **{"messaging.destination.name": topic}) == 15
    assert total(points, "messaging.client.sent.messages", **{"messaging.destination.partition.id": "0"}) == 10
    sent = points["messaging.client.sent.messages"][0][0]
    assert sent["messaging.system"] == "kafka" and sent["messaging.operation.name"] == "send"
    assert sent["messaging.client.id"] == "otel-py"
    # Durations only where the call gave a delivery callback (5 records): nothing per record otherwise.
    sends = [pt for a, pt in points["messaging.client.operation.duration"] if a["messaging.operation.name"] == "send"]
    assert sum(pt.count for pt in sends) == 5 and all(pt.sum < 30 for pt in sends)
    assert not spans.get_finished_spans(), "tracing is off"

    c = instrument_consumer(polykafka.Consumer(consumer_conf(bootstrap, unique("otel"), **{"enable.auto.commit": False})),
                            meter_provider=meter_provider, tracing=False)
    c.subscribe([topic])
    got = poll_n(c, 12)
    got += c.consume(3, 10)
    assert len(got) == 15
    c.commit(asynchronous=False)
    points = metric_points(reader)
    assert total(points, "messaging.client.consumed.messages", **{"messaging.destination.name": topic}) == 15
    assert total(points, "messaging.client.sent.messages", **{"messaging.destination.name": topic}) == 15
    lags = {a["messaging.destination.partition.id"]: pt.value for a, pt in points["messaging.kafka.consumer.lag"]
            if a["messaging.destination.name"] == topic}
    assert lags == {"0": 0, "1": 0, "2": 0}, lags
    polls = [pt for a, pt in points["messaging.client.operation.duration"] if a["messaging.operation.name"] == "poll"]
    assert sum(pt.count for pt in polls) == 13, "12 poll() and 1 consume() calls returned records"
    # Records produced and not committed show as lag.
    p.produce(topic, value=b"late", partition=2)
    assert p.flush(30) == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        c.poll(0.2)
        lags = {a["messaging.destination.partition.id"]: pt.value for a, pt in metric_points(reader)["messaging.kafka.consumer.lag"]
                if a["messaging.destination.name"] == topic}
        if lags.get("2") == 1:
            break
    assert lags["2"] == 1, lags
    c.close()
    p.flush(10)


def test_failed_deliveries_count_under_their_error_type(bootstrap, admin, otel):
    from polykafka.admin import NewTopic

    _, _, meter_provider, reader = otel
    # The broker refuses records above the topic's max.message.bytes: MESSAGE_TOO_LARGE.
    small = unique("otel-small")
    admin.create_topics([NewTopic(small, 1, 1, config={"max.message.bytes": "1000"})])[small].result(30)
    try:
        p = instrument_producer(polykafka.Producer({"bootstrap.servers": bootstrap}), meter_provider=meter_provider,
                                tracing=False)
        errors = []
        p.produce(small, value=b"ok", on_delivery=lambda err, msg: errors.append(err))
        assert p.flush(30) == 0
        for _ in range(3):
            p.produce(small, value=b"x" * 5000, on_delivery=lambda err, msg: errors.append(err))
        p.flush(30)
        assert errors[0] is None and len(errors) == 4 and all(e is not None for e in errors[1:]), errors
        name = errors[1].name()
        points = metric_points(reader)
        assert total(points, "messaging.client.sent.messages", **{"messaging.destination.name": small}) == 4
        # The counter's error.type is the engine's name (Kafka's: MESSAGE_TOO_LARGE), the same in
        # every language; the send duration's is the name the delivery report's KafkaError has.
        failed = {a["error.type"]: pt.value for a, pt in points["messaging.client.sent.messages"]
                  if a["messaging.destination.name"] == small and "error.type" in a}
        assert failed == {"MESSAGE_TOO_LARGE": 3}, failed
        durations = [a.get("error.type") for a, pt in points["messaging.client.operation.duration"]
                     if a.get("messaging.destination.name") == small for _ in range(pt.count)]
        assert sorted(durations, key=str) == sorted([None, name, name, name], key=str)
    finally:
        admin.delete_topics([small])[small].result(30)


def test_traceparent_is_injected_and_the_consumer_span_continues_it(bootstrap, topic, otel):
    tracer_provider, spans, meter_provider, _ = otel
    p = instrument(polykafka.Producer({"bootstrap.servers": bootstrap}), tracer_provider, meter_provider=meter_provider)
    p.produce(topic, value=b"traced", key=b"k", partition=0, headers={"app": b"1"})
    p.produce(topic, b"traced-2", b"k2", 1, None, None, 0, [("app", b"2")])
    assert p.flush(30) == 0
    # (delivery order: by partition)
    produced = sorted((s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER),
                      key=lambda s: s.attributes["messaging.destination.partition.id"])
    assert [s.name for s in produced] == ["send " + topic] * 2
    assert produced[0].attributes["messaging.system"] == "kafka"
    assert [s.attributes["messaging.destination.partition.id"] for s in produced] == ["0", "1"]
    records = sorted(read_back(bootstrap, topic, 2), key=lambda m: m.partition())
    assert [header(m, "app") for m in records] == [b"1", b"2"], "the application's headers stay"
    for m, s in zip(records, produced):
        assert traceparent_ids(header(m, "traceparent")) == (s.context.trace_id, s.context.span_id)

    c = instrument(polykafka.Consumer(consumer_conf(bootstrap, unique("otel"))), tracer_provider, meter_provider=meter_provider)
    c.subscribe([topic])
    got = poll_n(c, 2)
    c.close()
    consumed = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert len(consumed) == 2
    by_trace = {s.context.trace_id: s for s in produced}
    for s in consumed:
        parent = by_trace[s.context.trace_id]
        assert s.name == "process " + topic and s.parent.span_id == parent.context.span_id
    assert {m.value() for m in got} == {b"traced", b"traced-2"}
    assert uninstrument(c) is c.original_consumer


def test_dlq_handler_calls_are_timed(bootstrap, topic, otel):
    _, _, meter_provider, reader = otel
    p = polykafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(4):
        p.produce(topic, value=b"%d" % i, partition=0)
    assert p.flush(30) == 0
    c = instrument_consumer(polykafka.Consumer(consumer_conf(bootstrap, unique("otel"))), meter_provider=meter_provider)
    c.subscribe([topic])
    handled = []
    h = RetryingHandler(c, lambda m: handled.append(m.value()), max_retries=1)
    deadline = time.monotonic() + 30
    while len(handled) < 4 and time.monotonic() < deadline:
        h.poll(0.5)
    h.close()
    c.close()
    assert len(handled) == 4
    points = metric_points(reader)
    process = [pt for a, pt in points["messaging.process.duration"] if a.get("messaging.destination.name") == topic]
    assert sum(pt.count for pt in process) == 4


def test_without_an_sdk_nothing_is_recorded_and_clients_work(bootstrap, topic):
    # The global providers are the API's no-op ones (no test sets them).
    p = instrument_producer(polykafka.Producer({"bootstrap.servers": bootstrap}))
    p.produce(topic, value=b"plain", partition=0)
    assert p.flush(30) == 0 and len(p) == 0
    c = instrument_consumer(polykafka.Consumer(consumer_conf(bootstrap, unique("otel"))))
    c.subscribe([topic])
    (m,) = poll_n(c, 1)
    c.close()
    assert m.value() == b"plain" and header(m, "traceparent") is None


def test_without_opentelemetry_installed_instrument_returns_the_client(bootstrap, topic):
    script = textwrap.dedent("""
        import sys
        sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed
        import polykafka
        from polykafka import opentelemetry as pkotel
        assert not pkotel.available()
        bootstrap, topic = sys.argv[1:]
        p = polykafka.Producer({"bootstrap.servers": bootstrap})
        assert pkotel.instrument_producer(p) is p
        p.produce(topic, value=b"no-otel", partition=0)
        assert p.flush(30) == 0
        c = polykafka.Consumer({"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
        assert pkotel.instrument(c) is c
        c.subscribe([topic])
        m = None
        for _ in range(60):
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                break
        c.close()
        assert m.value() == b"no-otel" and not m.headers()
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", script, bootstrap, topic], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ))
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_traces_cross_with_confluent_kafka_instrumentation_both_ways(bootstrap, topic, otel):
    from opentelemetry.instrumentation.confluent_kafka import ConfluentKafkaInstrumentor

    tracer_provider, spans, meter_provider, _ = otel
    # Theirs -> ours: our consumer span's parent is their producer span.
    theirs = ConfluentKafkaInstrumentor.instrument_producer(ck.Producer({"bootstrap.servers": bootstrap}),
                                                            tracer_provider=tracer_provider)
    theirs.produce(topic, value=b"from-confluent", partition=0)
    assert theirs.flush(30) == 0
    (their_send,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    c = instrument_consumer(polykafka.Consumer(consumer_conf(bootstrap, unique("otel"))), tracer_provider,
                            meter_provider=meter_provider)
    c.subscribe([topic])
    (m,) = poll_n(c, 1)
    c.close()
    assert m.value() == b"from-confluent"
    (ours,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert ours.context.trace_id == their_send.context.trace_id and ours.parent.span_id == their_send.context.span_id
    spans.clear()

    # Ours -> theirs: their process span links to our producer span (their consumer links
    # records' contexts rather than parenting them).
    p = instrument_producer(polykafka.Producer({"bootstrap.servers": bootstrap}), tracer_provider, meter_provider=meter_provider)
    p.produce(topic, value=b"from-polykafka", partition=1)
    assert p.flush(30) == 0
    (our_send,) = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    tc = ConfluentKafkaInstrumentor.instrument_consumer(
        ck.Consumer(consumer_conf(bootstrap, unique("otel"))), tracer_provider=tracer_provider)
    tc.subscribe([topic])  # (their proxy forwards subscribe, not assign)
    got = poll_n(tc, 2)
    tc.poll(0.1)  # ends their last process span
    tc.close()
    assert sorted(m.value() for m in got) == [b"from-confluent", b"from-polykafka"]
    linked = [s for s in spans.get_finished_spans() if s.name == topic + " process"
              and our_send.context.trace_id in [link.context.trace_id for link in s.links]]
    assert len(linked) == 1 and linked[0].kind == SpanKind.CONSUMER
