// Package otelkafka adds OpenTelemetry metrics and traces (go.opentelemetry.io/otel) to
// polykafka's kafka-go Writer and Reader. It is a module of its own, so that programs that do
// not use it do not depend on OpenTelemetry.
//
//	w, _ := otelkafka.NewWriter(&kafka.Writer{Addr: kafka.TCP(broker), Topic: "orders"}, otelkafka.WithTracing())
//	err := w.WriteMessages(ctx, kafka.Message{Value: []byte("v")})
//
//	r, _ := otelkafka.NewReader(kafka.NewReader(kafka.ReaderConfig{...}), otelkafka.WithTracing())
//	msg, err := r.FetchMessage(ctx)
//	err = r.Process(ctx, msg, func(ctx context.Context) error { ...; return r.CommitMessages(ctx, msg) })
//
// Metrics (the core's table; README "OpenTelemetry"): messaging.client.sent.messages and
// messaging.client.consumed.messages (observable counters) and messaging.kafka.consumer.lag
// (observable gauge), read from the engine's statistics snapshot when the SDK collects: nothing
// is counted per message; messaging.client.operation.duration per WriteMessages call (send;
// in Async mode until the messages are queued) and per ReadMessage/FetchMessage call (receive);
// messaging.process.duration per Process call.
//
// Tracing (WithTracing): a span "send <topic>" (kind PRODUCER) per written message, its context
// injected into the message's headers with the propagator (default: the global one, which a
// program sets with otel.SetTextMapPropagator(propagation.TraceContext{}) for W3C traceparent),
// ended when WriteMessages returns; Process runs the handler in a span "process <topic>" (kind
// CONSUMER) whose parent is the context extracted from the message's headers. Without
// WithTracing nothing is done per message.
package otelkafka

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/internal/engine"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

const scope = "github.com/polykafka/polykafka/bindings-c/go/otelkafka"

type config struct {
	tracing        bool
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
}

// Option configures NewWriter and NewReader.
type Option func(*config)

// WithTracing turns tracing on (off by default).
func WithTracing() Option { return func(c *config) { c.tracing = true } }

// WithTracerProvider sets the TracerProvider (default: the global one).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tracerProvider = tp }
}

// WithMeterProvider sets the MeterProvider (default: the global one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.meterProvider = mp }
}

// WithPropagator sets the propagator of span contexts in headers (default: the global one).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.propagator = p }
}

// meters holds one set of instruments per MeterProvider and the clients they observe.
type meters struct {
	operation metric.Float64Histogram
	process   metric.Float64Histogram
	mu        sync.Mutex
	clients   map[any]struct{}
}

var (
	metersMu sync.Mutex
	byMeter  = map[metric.MeterProvider]*meters{}
)

type instrument struct {
	Name        string    `json:"name"`
	Kind        string    `json:"kind"`
	Unit        string    `json:"unit"`
	Description string    `json:"description"`
	Buckets     []float64 `json:"buckets"`
}

type point struct {
	Name       string            `json:"name"`
	Attributes map[string]string `json:"attributes"`
	Value      int64             `json:"value"`
}

func metersOf(mp metric.MeterProvider) (*meters, error) {
	metersMu.Lock()
	defer metersMu.Unlock()
	if m := byMeter[mp]; m != nil {
		return m, nil
	}
	text, err := engine.OTelInstruments()
	if err != nil {
		return nil, err
	}
	var table []instrument
	if err := json.Unmarshal([]byte(text), &table); err != nil {
		return nil, err
	}
	meter := mp.Meter(scope)
	m := &meters{clients: map[any]struct{}{}}
	observables := map[string]metric.Int64Observable{}
	var list []metric.Observable
	for _, ins := range table {
		var o metric.Int64Observable
		switch ins.Kind {
		case "histogram":
			h, err := meter.Float64Histogram(ins.Name, metric.WithUnit(ins.Unit), metric.WithDescription(ins.Description),
				metric.WithExplicitBucketBoundaries(ins.Buckets...))
			if err != nil {
				return nil, err
			}
			if ins.Name == "messaging.process.duration" {
				m.process = h
			} else {
				m.operation = h
			}
			continue
		case "counter":
			o, err = meter.Int64ObservableCounter(ins.Name, metric.WithUnit(ins.Unit), metric.WithDescription(ins.Description))
		default:
			o, err = meter.Int64ObservableGauge(ins.Name, metric.WithUnit(ins.Unit), metric.WithDescription(ins.Description))
		}
		if err != nil {
			return nil, err
		}
		observables[ins.Name] = o
		list = append(list, o)
	}
	_, err = meter.RegisterCallback(func(_ context.Context, obs metric.Observer) error {
		m.mu.Lock()
		var snapshots []string
		for c := range m.clients {
			if text, ok := engine.StatsJSON(c); ok {
				snapshots = append(snapshots, text)
			}
		}
		m.mu.Unlock()
		text, err := engine.OTelPoints(snapshots)
		if err != nil {
			return err
		}
		var points []point
		if err := json.Unmarshal([]byte(text), &points); err != nil {
			return err
		}
		for _, p := range points {
			if o := observables[p.Name]; o != nil {
				attrs := make([]attribute.KeyValue, 0, len(p.Attributes))
				for k, v := range p.Attributes {
					attrs = append(attrs, attribute.String(k, v))
				}
				obs.ObserveInt64(o, p.Value, metric.WithAttributes(attrs...))
			}
		}
		return nil
	}, list...)
	if err != nil {
		return nil, err
	}
	byMeter[mp] = m
	return m, nil
}

// telemetry is what a Writer or Reader records with.
type telemetry struct {
	meters     *meters
	tracer     trace.Tracer // nil: tracing off
	propagator propagation.TextMapPropagator
	client     any
}

func newTelemetry(client any, opts []Option) (*telemetry, error) {
	c := config{}
	for _, o := range opts {
		o(&c)
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	if c.propagator == nil {
		c.propagator = otel.GetTextMapPropagator()
	}
	m, err := metersOf(c.meterProvider)
	if err != nil {
		return nil, err
	}
	t := &telemetry{meters: m, propagator: c.propagator, client: client}
	if c.tracing {
		if c.tracerProvider == nil {
			c.tracerProvider = otel.GetTracerProvider()
		}
		t.tracer = c.tracerProvider.Tracer(scope)
	}
	m.mu.Lock()
	m.clients[client] = struct{}{}
	m.mu.Unlock()
	return t, nil
}

func (t *telemetry) forget() {
	t.meters.mu.Lock()
	delete(t.meters.clients, t.client)
	t.meters.mu.Unlock()
}

func durationAttrs(topic, operation string, err error) metric.MeasurementOption {
	attrs := []attribute.KeyValue{attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation.name", operation)}
	if topic != "" {
		attrs = append(attrs, attribute.String("messaging.destination.name", topic))
	}
	if err != nil {
		attrs = append(attrs, attribute.String("error.type", errorType(err)))
	}
	return metric.WithAttributes(attrs...)
}

func errorType(err error) string {
	var ke kafka.Error
	if errors.As(err, &ke) {
		return ke.Title()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "context"
	}
	return "_OTHER"
}

// headers is a propagation.TextMapCarrier over a message's headers.
type headers struct{ list *[]kafka.Header }

func (h headers) Get(key string) string {
	for _, x := range *h.list {
		if x.Key == key {
			return string(x.Value)
		}
	}
	return ""
}

func (h headers) Set(key, value string) {
	*h.list = append(*h.list, kafka.Header{Key: key, Value: []byte(value)})
}

func (h headers) Keys() []string {
	keys := make([]string, 0, len(*h.list))
	for _, x := range *h.list {
		keys = append(keys, x.Key)
	}
	return keys
}

// Writer is a kafka.Writer with OpenTelemetry.
type Writer struct {
	*kafka.Writer
	t *telemetry
}

// NewWriter instruments w.
func NewWriter(w *kafka.Writer, opts ...Option) (*Writer, error) {
	t, err := newTelemetry(w, opts)
	if err != nil {
		return nil, err
	}
	return &Writer{Writer: w, t: t}, nil
}

// WriteMessages is kafka.Writer's, with its duration recorded and, with tracing, a span per
// message whose context goes into the message's headers (the caller's messages are not changed).
func (w *Writer) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	start := time.Now()
	var spans []trace.Span
	if w.t.tracer != nil {
		msgs = append([]kafka.Message(nil), msgs...)
		spans = make([]trace.Span, len(msgs))
		for i := range msgs {
			topic := w.topicOf(&msgs[i])
			sctx, span := w.t.tracer.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
				attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", topic),
				attribute.String("messaging.operation.name", "send"), attribute.String("messaging.operation.type", "send")))
			list := append([]kafka.Header(nil), msgs[i].Headers...)
			w.t.propagator.Inject(sctx, headers{&list})
			msgs[i].Headers = list
			spans[i] = span
		}
	}
	err := w.Writer.WriteMessages(ctx, msgs...)
	seconds := time.Since(start).Seconds()
	topics := map[string]bool{}
	for i := range msgs {
		topics[w.topicOf(&msgs[i])] = true
	}
	for topic := range topics {
		w.t.meters.operation.Record(ctx, seconds, durationAttrs(topic, "send", err))
	}
	for _, span := range spans {
		end(span, err)
	}
	return err
}

// end ends span, marked failed with err's type when err is not nil.
func end(span trace.Span, err error) {
	if err != nil {
		span.SetAttributes(attribute.String("error.type", errorType(err)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

func (w *Writer) topicOf(m *kafka.Message) string {
	if m.Topic != "" {
		return m.Topic
	}
	return w.Topic
}

// Close closes the Writer; its statistics are no longer observed.
func (w *Writer) Close() error {
	w.t.forget()
	return w.Writer.Close()
}

// Reader is a kafka.Reader with OpenTelemetry.
type Reader struct {
	*kafka.Reader
	t *telemetry
}

// NewReader instruments r.
func NewReader(r *kafka.Reader, opts ...Option) (*Reader, error) {
	t, err := newTelemetry(r, opts)
	if err != nil {
		return nil, err
	}
	return &Reader{Reader: r, t: t}, nil
}

// ReadMessage is kafka.Reader's, with its duration recorded.
func (r *Reader) ReadMessage(ctx context.Context) (kafka.Message, error) {
	return r.timed(ctx, r.Reader.ReadMessage)
}

// FetchMessage is kafka.Reader's, with its duration recorded.
func (r *Reader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	return r.timed(ctx, r.Reader.FetchMessage)
}

func (r *Reader) timed(ctx context.Context, read func(context.Context) (kafka.Message, error)) (kafka.Message, error) {
	start := time.Now()
	msg, err := read(ctx)
	topic := msg.Topic
	if topic == "" {
		topic = r.Config().Topic
	}
	r.t.meters.operation.Record(ctx, time.Since(start).Seconds(), durationAttrs(topic, "receive", err))
	return msg, err
}

// Process runs handler for msg: with tracing in a span "process <topic>" whose parent is the
// context in msg's headers (handler gets the span's context), and records its duration.
func (r *Reader) Process(ctx context.Context, msg kafka.Message, handler func(context.Context) error) error {
	start := time.Now()
	var span trace.Span
	if r.t.tracer != nil {
		list := msg.Headers
		parent := r.t.propagator.Extract(ctx, headers{&list})
		ctx, span = r.t.tracer.Start(parent, "process "+msg.Topic, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
			attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", msg.Topic),
			attribute.String("messaging.destination.partition.id", strconv.Itoa(msg.Partition)),
			attribute.String("messaging.operation.name", "process"), attribute.String("messaging.operation.type", "process"),
			attribute.Int64("messaging.kafka.offset", msg.Offset)))
	}
	err := handler(ctx)
	r.t.meters.process.Record(ctx, time.Since(start).Seconds(), durationAttrs(msg.Topic, "process", err))
	if span != nil {
		end(span, err)
	}
	return err
}

// Close closes the Reader; its statistics are no longer observed.
func (r *Reader) Close() error {
	r.t.forget()
	return r.Reader.Close()
}
