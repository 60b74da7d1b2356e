package otelkafka_test

// otelkafka on the real broker (the cluster of $KAFKA_BOOTSTRAP or of the env file
// $KAFKA_CLUSTER_ENV / build/cluster/cluster.env) with the real SDK: an in-memory span
// exporter and a manual metric reader.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/otelkafka"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func bootstrap(t *testing.T) string {
	if b := os.Getenv("KAFKA_BOOTSTRAP"); b != "" {
		return strings.Split(b, ",")[0]
	}
	path := os.Getenv("KAFKA_CLUSTER_ENV")
	if path == "" {
		path = "../../../build/cluster/cluster.env"
	}
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("no Kafka cluster (%v): run tests/cluster/kafka up", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "KAFKA_BOOTSTRAP="); ok {
			return strings.Split(v, ",")[0]
		}
	}
	t.Skip("no KAFKA_BOOTSTRAP in " + path)
	return ""
}

func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

type sdk struct {
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newSDK() sdk {
	spans := tracetest.NewInMemoryExporter()
	reader := sdkmetric.NewManualReader()
	return sdk{
		spans:  spans,
		tp:     sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans)),
		reader: reader,
		mp:     sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	}
}

var w3c = otelkafka.WithPropagator(propagation.TraceContext{})

// sum adds the int64 points of metric `name` whose attributes include `attrs`; count adds the
// histogram points' counts.
func collect(t *testing.T, s sdk, name string, attrs map[string]string) (sum int64, count uint64) {
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	match := func(set attribute.Set) bool {
		for k, v := range attrs {
			if got, ok := set.Value(attribute.Key(k)); !ok || got.AsString() != v {
				return false
			}
		}
		return true
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						sum += p.Value
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						sum += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						count += p.Count
					}
				}
			}
		}
	}
	return sum, count
}

func newWriter(t *testing.T, broker, topic string, opts ...otelkafka.Option) *otelkafka.Writer {
	w, err := otelkafka.NewWriter(&kafka.Writer{Addr: kafka.TCP(broker), Topic: topic, AllowAutoTopicCreation: true, BatchTimeout: 5 * time.Millisecond}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newReader(t *testing.T, broker, topic string, opts ...otelkafka.Option) *otelkafka.Reader {
	r, err := otelkafka.NewReader(kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, GroupID: unique("otel-go"),
		StartOffset: kafka.FirstOffset, MaxWait: 100 * time.Millisecond}), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCountsAndDurationsMatchWhatWasWrittenAndRead(t *testing.T) {
	broker := bootstrap(t)
	s := newSDK()
	topic := unique("otel-go")
	w := newWriter(t, broker, topic, otelkafka.WithMeterProvider(s.mp))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgs := make([]kafka.Message, 10)
	for i := range msgs {
		msgs[i] = kafka.Message{Value: []byte{byte('a' + i)}}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	dest := map[string]string{"messaging.destination.name": topic}
	if sent, _ := collect(t, s, "messaging.client.sent.messages", dest); sent != 10 {
		t.Fatalf("sent.messages %d, want 10", sent)
	}
	if _, n := collect(t, s, "messaging.client.operation.duration", map[string]string{"messaging.destination.name": topic, "messaging.operation.name": "send"}); n != 1 {
		t.Fatalf("%d send durations, want 1 (one WriteMessages call)", n)
	}
	r := newReader(t, broker, topic, otelkafka.WithMeterProvider(s.mp))
	for i := 0; i < 10; i++ {
		if _, err := r.ReadMessage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := collect(t, s, "messaging.client.consumed.messages", dest); got != 10 {
		t.Fatalf("consumed.messages %d, want 10", got)
	}
	if _, n := collect(t, s, "messaging.client.operation.duration", map[string]string{"messaging.destination.name": topic, "messaging.operation.name": "receive"}); n != 10 {
		t.Fatalf("%d receive durations, want 10", n)
	}
	_ = r.Close()
	_ = w.Close()
	if sent, _ := collect(t, s, "messaging.client.sent.messages", dest); sent != 0 {
		t.Fatalf("a closed Writer is still observed (%d)", sent)
	}
}

func TestTraceparentIsWrittenAndProcessContinuesIt(t *testing.T) {
	broker := bootstrap(t)
	s := newSDK()
	topic := unique("otel-go")
	opts := []otelkafka.Option{otelkafka.WithMeterProvider(s.mp), otelkafka.WithTracerProvider(s.tp), otelkafka.WithTracing(), w3c}
	w := newWriter(t, broker, topic, opts...)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msg := kafka.Message{Value: []byte("traced"), Headers: []kafka.Header{{Key: "app", Value: []byte("1")}}}
	if err := w.WriteMessages(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if len(msg.Headers) != 1 {
		t.Fatal("the caller's message was changed")
	}
	spans := s.spans.GetSpans()
	if len(spans) != 1 || spans[0].Name != "send "+topic || spans[0].SpanKind != trace.SpanKindProducer {
		t.Fatalf("producer spans: %+v", spans)
	}
	send := spans[0].SpanContext
	r := newReader(t, broker, topic, opts...)
	defer r.Close()
	got, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "00-" + send.TraceID().String() + "-" + send.SpanID().String() + "-01"
	if tp := header(got, "traceparent"); tp != want || header(got, "app") != "1" {
		t.Fatalf("headers %v, want traceparent %s", got.Headers, want)
	}
	var inHandler trace.SpanContext
	if err := r.Process(ctx, got, func(ctx context.Context) error {
		inHandler = trace.SpanContextFromContext(ctx)
		return r.CommitMessages(ctx, got)
	}); err != nil {
		t.Fatal(err)
	}
	spans = s.spans.GetSpans()
	process := spans[len(spans)-1]
	if process.SpanKind != trace.SpanKindConsumer || process.Name != "process "+topic {
		t.Fatalf("consumer span: %+v", process)
	}
	if process.SpanContext.TraceID() != send.TraceID() || process.Parent.SpanID() != send.SpanID() {
		t.Fatalf("process span %v (parent %v) does not continue %v", process.SpanContext, process.Parent, send)
	}
	if inHandler.SpanID() != process.SpanContext.SpanID() {
		t.Fatal("the handler did not run in the process span")
	}
	if _, n := collect(t, s, "messaging.process.duration", map[string]string{"messaging.destination.name": topic}); n != 1 {
		t.Fatalf("%d process durations, want 1", n)
	}
}

// A trace started by Python's instrumented producer (polykafka.opentelemetry) is one trace in Go.
func TestATraceStartedInPythonIsContinued(t *testing.T) {
	broker := bootstrap(t)
	python := os.Getenv("POLYKAFKA_PYTHON")
	if python == "" {
		python, _ = filepath.Abs("../../../build/venv-python/bin/python")
	}
	if exec.Command(python, "-c", "import polykafka.opentelemetry, opentelemetry.sdk").Run() != nil {
		t.Skip("no build/venv-python with polykafka and opentelemetry-sdk (bindings-python/test.sh makes it)")
	}
	topic := unique("otel-go-py")
	script := strings.Join([]string{
		"import sys, polykafka",
		"from opentelemetry.sdk.trace import TracerProvider",
		"from polykafka.opentelemetry import instrument_producer",
		"tp = TracerProvider()",
		`p = instrument_producer(polykafka.Producer({"bootstrap.servers": sys.argv[1]}), tp)`,
		`p.produce(sys.argv[2], value=b"from-python")`,
		"assert p.flush(30) == 0",
	}, "\n")
	if out, err := exec.Command(python, "-c", script, broker, topic).CombinedOutput(); err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	s := newSDK()
	r := newReader(t, broker, topic, otelkafka.WithMeterProvider(s.mp), otelkafka.WithTracerProvider(s.tp), otelkafka.WithTracing(), w3c)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msg, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Process(ctx, msg, func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(header(msg, "traceparent"), "-")
	spans := s.spans.GetSpans()
	if len(parts) != 4 || len(spans) != 1 || spans[0].SpanContext.TraceID().String() != parts[1] {
		t.Fatalf("traceparent %q, spans %+v", header(msg, "traceparent"), spans)
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
