package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/sasl"
	"github.com/polykafka/polykafka/bindings-c/go/sasl/plain"
	kgo "github.com/segmentio/kafka-go"
	ksasl "github.com/segmentio/kafka-go/sasl"
	kplain "github.com/segmentio/kafka-go/sasl/plain"
)

// Bad input (#22), one table per API surface, each row run against kafka-go and ours: the call,
// what is bad about it, and the error kafka-go returns, which ours must return too. Where
// kafka-go does something else (panics, hangs until the context ends, succeeds), the row says
// so in kgo and checks that instead: recorded, not hidden. A panic of either is caught and is a
// failure unless the row records it for kafka-go.

// panicked is a recovered panic, as an error, so that a row can expect it.
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("panic: %v", p.v) }

func noPanic(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked{r}
		}
	}()
	return f()
}

// want is an expected outcome: a check of the error and its description.
type want struct {
	text string
	ok   func(error) bool
}

func is(target error) want {
	return want{fmt.Sprintf("errors.Is %v (%T)", target, target), func(err error) bool { return errors.Is(err, target) }}
}

// code: errors.Is the kgo.Error / kafka.Error of that code (the two use Kafka's numbers); for
// WriteErrors (one error per message), the first message's error.
func code(c int) want {
	return want{fmt.Sprintf("kafka error code %d", c), func(err error) bool {
		var kw kgo.WriteErrors
		var ow kafka.WriteErrors
		if errors.As(err, &kw) && len(kw) > 0 {
			err = kw[0]
		} else if errors.As(err, &ow) && len(ow) > 0 {
			err = ow[0]
		}
		return errors.Is(err, kgo.Error(c)) || errors.Is(err, kafka.Error(c))
	}}
}

func contains(fragment string) want {
	return want{fmt.Sprintf("an error containing %q", fragment), func(err error) bool {
		return err != nil && strings.Contains(err.Error(), fragment)
	}}
}

var (
	noError = want{"no error", func(err error) bool { return err == nil }}
	aPanic  = want{"a panic", func(err error) bool { var p panicked; return errors.As(err, &p) }}
)

// badRow is one bad input: kgo and ours make the same call with each library.
type badRow struct {
	name      string
	kgo, ours func(t *testing.T) error
	want      want
	// kgoWant, when set, is what kafka-go does instead (recorded); ours must still give want.
	kgoWant *want
}

func runBadRows(t *testing.T, rows []badRow) {
	for _, r := range rows {
		r := r
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			kw := r.want
			if r.kgoWant != nil {
				kw = *r.kgoWant
			}
			if err := noPanic(func() error { return r.kgo(t) }); !kw.ok(err) {
				t.Errorf("kafka-go: %v (%T), want %s", err, err, kw.text)
			}
			if err := noPanic(func() error { return r.ours(t) }); !r.want.ok(err) {
				t.Errorf("polykafka: %v (%T), want %s", err, err, r.want.text)
			}
		})
	}
}

func kgoW(addr, topic string, set func(*kgo.Writer)) (*kgo.Writer, func()) {
	tr := &kgo.Transport{}
	w := &kgo.Writer{Addr: kgo.TCP(addr), Topic: topic, Transport: tr, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kgo.RequireAll}
	if set != nil {
		set(w)
	}
	return w, func() { w.Close(); tr.CloseIdleConnections() }
}

func ourW(addr, topic string, set func(*kafka.Writer)) (*kafka.Writer, func()) {
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	if set != nil {
		set(w)
	}
	return w, func() { w.Close() }
}

// writeRow: WriteMessages of one message with value v to topic, the writers changed by the set
// functions (nil: defaults).
func writeRow(name, topic string, v []byte, kset func(*kgo.Writer), oset func(*kafka.Writer), w want, kw *want) badRow {
	return badRow{
		name: name,
		kgo: func(t *testing.T) error {
			wr, done := kgoW(bootstrap(t), topic, kset)
			defer done()
			return wr.WriteMessages(ctxT(20*time.Second), kgo.Message{Value: v})
		},
		ours: func(t *testing.T) error {
			wr, done := ourW(bootstrap(t), topic, oset)
			defer done()
			return wr.WriteMessages(ctxT(20*time.Second), kafka.Message{Value: v})
		},
		want: w, kgoWant: kw,
	}
}

var kgoUnknownTopic = code(3)

func TestBadInputWriter(t *testing.T) {
	topic := newTopic(t, 1)
	// The broker's message.max.bytes is 1 MiB (+12): 2 MiB passes the writers' own BatchBytes
	// once it is raised, and the broker refuses it.
	huge := bytes.Repeat([]byte("x"), 2<<20)
	long := strings.Repeat("t", 250)
	runBadRows(t, []badRow{
		writeRow("value over the broker's message.max.bytes", topic, huge,
			func(w *kgo.Writer) { w.BatchBytes = 8 << 20 }, func(w *kafka.Writer) { w.BatchBytes = 8 << 20 },
			code(10), nil),
		writeRow("value over Writer.BatchBytes", topic, huge, nil, nil, is(kafka.MessageSizeTooLarge),
			&want{"kgo.MessageTooLargeError", func(err error) bool { var m kgo.MessageTooLargeError; return errors.As(err, &m) }}),
		// kafka-go's Writer reports UNKNOWN_TOPIC_OR_PARTITION for an invalid name; ours gives the
		// broker's INVALID_TOPIC_EXCEPTION (kafka.InvalidTopic), which says what is wrong.
		writeRow("invalid topic name (space, !)", "bad topic!", []byte("v"), nil, nil, code(17), &kgoUnknownTopic),
		writeRow("topic name of 250 characters", long, []byte("v"), nil, nil, code(17), &kgoUnknownTopic),
		writeRow("topic name \"..\"", "..", []byte("v"), nil, nil, code(17), &kgoUnknownTopic),
		writeRow("RequiredAcks 5", topic, []byte("v"),
			func(w *kgo.Writer) { w.RequiredAcks = 5 }, func(w *kafka.Writer) { w.RequiredAcks = 5 }, code(21), nil),
		writeRow("unknown Compression(42)", topic, []byte("v"),
			func(w *kgo.Writer) { w.Compression = 42 }, func(w *kafka.Writer) { w.Compression = 42 }, contains("Compression 42"),
			// kafka-go writes the batch uncompressed, without an error.
			&noError),
		writeRow("zero Message (nil key and value)", topic, nil, nil, nil, noError, nil),
		{
			name: "no messages",
			kgo: func(t *testing.T) error {
				w, done := kgoW(bootstrap(t), topic, nil)
				defer done()
				return w.WriteMessages(context.Background())
			},
			ours: func(t *testing.T) error {
				w, done := ourW(bootstrap(t), topic, nil)
				defer done()
				return w.WriteMessages(context.Background())
			},
			want: noError,
		},
		{
			name: "nil Addr",
			kgo: func(t *testing.T) error {
				return (&kgo.Writer{Topic: topic}).WriteMessages(ctxT(5*time.Second), kgo.Message{Value: []byte("v")})
			},
			ours: func(t *testing.T) error {
				return (&kafka.Writer{Topic: topic}).WriteMessages(ctxT(5*time.Second), kafka.Message{Value: []byte("v")})
			},
			want: contains("nil address"),
		},
		{
			name: "context deadline already passed",
			kgo: func(t *testing.T) error {
				w, done := kgoW(bootstrap(t), topic, nil)
				defer done()
				ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
				defer cancel()
				return w.WriteMessages(ctx, kgo.Message{Value: []byte("v")})
			},
			ours: func(t *testing.T) error {
				w, done := ourW(bootstrap(t), topic, nil)
				defer done()
				ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
				defer cancel()
				return w.WriteMessages(ctx, kafka.Message{Value: []byte("v")})
			},
			want: is(context.DeadlineExceeded),
		},
	})
}

// readerRow: a call on a Reader of topic (group g when not empty), closed first when closed.
func readerRow(name, topic, g string, closed bool, kcall func(*kgo.Reader) error, ocall func(*kafka.Reader) error, w want, kw *want) badRow {
	return badRow{
		name: name,
		kgo: func(t *testing.T) error {
			r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic, GroupID: g, MaxWait: 300 * time.Millisecond})
			defer r.Close()
			if closed {
				r.Close()
			}
			return kcall(r)
		},
		ours: func(t *testing.T) error {
			r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic, GroupID: g, MaxWait: 300 * time.Millisecond})
			defer r.Close()
			if closed {
				r.Close()
			}
			return ocall(r)
		},
		want: w, kgoWant: kw,
	}
}

func TestBadInputReader(t *testing.T) {
	topic := newTopic(t, 1)
	produce(t, topic, 0, 1, "v")
	g := group(t)
	short := func() context.Context { return ctxT(3 * time.Second) }
	km, om := kgo.Message{Topic: topic, Offset: 0}, kafka.Message{Topic: topic, Offset: 0}
	runBadRows(t, []badRow{
		readerRow("SetOffset on a group reader", topic, g, false,
			func(r *kgo.Reader) error { return r.SetOffset(0) }, func(r *kafka.Reader) error { return r.SetOffset(0) },
			contains("unavailable when GroupID is set"), nil),
		readerRow("SetOffset(-5)", topic, "", false,
			func(r *kgo.Reader) error { return r.SetOffset(-5) }, func(r *kafka.Reader) error { return r.SetOffset(-5) },
			contains("invalid offset -5"), &noError),
		readerRow("SetOffset after Close", topic, "", true,
			func(r *kgo.Reader) error { return r.SetOffset(0) }, func(r *kafka.Reader) error { return r.SetOffset(0) },
			is(io.ErrClosedPipe), nil),
		readerRow("CommitMessages without GroupID", topic, "", false,
			func(r *kgo.Reader) error { return r.CommitMessages(short(), km) }, func(r *kafka.Reader) error { return r.CommitMessages(short(), om) },
			contains("unavailable when GroupID is not set"), nil),
		// kafka-go hands even an empty commit to its group generation, so it waits for the join: a group of
		// its own (no member of the other rows leaving it) and 20 s, not 3 (its 3 s expired under load).
		readerRow("CommitMessages of no messages", topic, g+"-empty", false,
			func(r *kgo.Reader) error { return r.CommitMessages(ctxT(20 * time.Second)) },
			func(r *kafka.Reader) error { return r.CommitMessages(ctxT(20 * time.Second)) },
			noError, nil),
		readerRow("ReadMessage after Close", topic, g, true,
			func(r *kgo.Reader) error { _, err := r.ReadMessage(short()); return err },
			func(r *kafka.Reader) error { _, err := r.ReadMessage(short()); return err },
			is(io.EOF), nil),
		readerRow("ReadLag on a group reader", topic, g, false,
			func(r *kgo.Reader) error { _, err := r.ReadLag(short()); return err },
			func(r *kafka.Reader) error { _, err := r.ReadLag(short()); return err },
			contains("unavailable when GroupID is set"), nil),
		readerRow("FetchMessage, invalid topic name", "bad topic!", "", false,
			func(r *kgo.Reader) error { _, err := r.FetchMessage(short()); return err },
			func(r *kafka.Reader) error { _, err := r.FetchMessage(short()); return err },
			code(17), nil),
		readerRow("FetchMessage, deadline already passed", topic, "", false,
			func(r *kgo.Reader) error { _, err := r.FetchMessage(ctxT(-time.Second)); return err },
			func(r *kafka.Reader) error { _, err := r.FetchMessage(ctxT(-time.Second)); return err },
			is(context.DeadlineExceeded), nil),
	})
}

// clientRow: one admin call; the topic error of the response counts as the call's error.
func clientRow(name string, kcall func(context.Context, *kgo.Client) error, ocall func(context.Context, *kafka.Client) error, w want, kw *want) badRow {
	return badRow{
		name: name,
		kgo: func(t *testing.T) error {
			tr := &kgo.Transport{}
			defer tr.CloseIdleConnections()
			return kcall(ctxT(20*time.Second), &kgo.Client{Addr: kgo.TCP(bootstrap(t)), Transport: tr})
		},
		ours: func(t *testing.T) error {
			c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
			defer c.Close()
			return ocall(ctxT(20*time.Second), c)
		},
		want: w, kgoWant: kw,
	}
}

func createRow(name string, tc kgo.TopicConfig, w want, kw *want) badRow {
	oc := kafka.TopicConfig{Topic: tc.Topic, NumPartitions: tc.NumPartitions, ReplicationFactor: tc.ReplicationFactor}
	for _, e := range tc.ConfigEntries {
		oc.ConfigEntries = append(oc.ConfigEntries, kafka.ConfigEntry{ConfigName: e.ConfigName, ConfigValue: e.ConfigValue})
	}
	return clientRow(name,
		func(ctx context.Context, c *kgo.Client) error {
			resp, err := c.CreateTopics(ctx, &kgo.CreateTopicsRequest{Topics: []kgo.TopicConfig{tc}})
			if err == nil {
				err = resp.Errors[tc.Topic]
			}
			return err
		},
		func(ctx context.Context, c *kafka.Client) error {
			resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{oc}})
			if err == nil {
				err = resp.Errors[oc.Topic]
			}
			return err
		}, w, kw)
}

func TestBadInputClient(t *testing.T) {
	existing := newTopic(t, 1)
	fresh := func(s string) string { return fmt.Sprintf("%s-%s", existing, s) }
	runBadRows(t, []badRow{
		createRow("CreateTopics, invalid name", kgo.TopicConfig{Topic: "bad topic!", NumPartitions: 1, ReplicationFactor: 1}, code(17), nil),
		createRow("CreateTopics, name of 250 characters", kgo.TopicConfig{Topic: strings.Repeat("t", 250), NumPartitions: 1, ReplicationFactor: 1}, code(17), nil),
		createRow("CreateTopics, NumPartitions -5", kgo.TopicConfig{Topic: fresh("p"), NumPartitions: -5, ReplicationFactor: 1}, code(37), nil),
		createRow("CreateTopics, ReplicationFactor 9", kgo.TopicConfig{Topic: fresh("rf"), NumPartitions: 1, ReplicationFactor: 9}, code(38), nil),
		createRow("CreateTopics, unknown config key", kgo.TopicConfig{Topic: fresh("cfg"), NumPartitions: 1, ReplicationFactor: 1,
			ConfigEntries: []kgo.ConfigEntry{{ConfigName: "no.such.config", ConfigValue: "1"}}}, code(40), nil),
		createRow("CreateTopics, bad config value", kgo.TopicConfig{Topic: fresh("val"), NumPartitions: 1, ReplicationFactor: 1,
			ConfigEntries: []kgo.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: "soon"}}}, code(40), nil),
		createRow("CreateTopics, existing topic", kgo.TopicConfig{Topic: existing, NumPartitions: 1, ReplicationFactor: 1}, code(36), nil),
		clientRow("DeleteTopics, unknown topic",
			func(ctx context.Context, c *kgo.Client) error {
				resp, err := c.DeleteTopics(ctx, &kgo.DeleteTopicsRequest{Topics: []string{fresh("missing")}})
				if err == nil {
					err = resp.Errors[fresh("missing")]
				}
				return err
			},
			func(ctx context.Context, c *kafka.Client) error {
				resp, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{fresh("missing")}})
				if err == nil {
					err = resp.Errors[fresh("missing")]
				}
				return err
			}, code(3), nil),
		clientRow("CreateTopics, nil request",
			func(ctx context.Context, c *kgo.Client) error { _, err := c.CreateTopics(ctx, nil); return err },
			func(ctx context.Context, c *kafka.Client) error { _, err := c.CreateTopics(ctx, nil); return err },
			contains("nil"), &aPanic),
		clientRow("Metadata, nil request",
			func(ctx context.Context, c *kgo.Client) error { _, err := c.Metadata(ctx, nil); return err },
			func(ctx context.Context, c *kafka.Client) error { _, err := c.Metadata(ctx, nil); return err },
			contains("nil"), &aPanic),
		{
			name: "Client without Addr",
			kgo: func(t *testing.T) error {
				_, err := (&kgo.Client{}).Metadata(ctxT(5*time.Second), &kgo.MetadataRequest{})
				return err
			},
			ours: func(t *testing.T) error {
				c := &kafka.Client{}
				defer c.Close()
				_, err := c.Metadata(ctxT(5*time.Second), &kafka.MetadataRequest{})
				return err
			},
			want: contains("address"),
		},
	})
}

// A mechanism that is not one of the library's (any type implementing sasl.Mechanism).
type kgoForeignSASL struct{}

func (kgoForeignSASL) Name() string { return "FOREIGN" }
func (kgoForeignSASL) Start(context.Context) (ksasl.StateMachine, []byte, error) {
	return nil, []byte("x"), nil
}

type ourForeignSASL struct{}

func (ourForeignSASL) Name() string { return "FOREIGN" }
func (ourForeignSASL) Start(context.Context) (sasl.StateMachine, []byte, error) {
	return nil, []byte("x"), nil
}

func TestBadInputTransport(t *testing.T) {
	topic := newTopic(t, 1)
	runBadRows(t, []badRow{
		// kafka-go runs the mechanism in Go: the broker (no SASL on this listener) refuses it;
		// ours cannot run a Go mechanism in the engine and says so before connecting.
		writeRow("Transport.SASL not a built-in mechanism", topic, []byte("v"),
			func(w *kgo.Writer) { w.Transport = &kgo.Transport{SASL: kgoForeignSASL{}} },
			func(w *kafka.Writer) { w.Transport = &kafka.Transport{SASL: ourForeignSASL{}} },
			code(33), &want{"an error", func(err error) bool { return err != nil }}),
		writeRow("Transport.SASL PLAIN against a listener without SASL", topic, []byte("v"),
			func(w *kgo.Writer) {
				w.Transport = &kgo.Transport{SASL: kplain.Mechanism{Username: "u", Password: "p"}}
			},
			func(w *kafka.Writer) {
				w.Transport = &kafka.Transport{SASL: plain.Mechanism{Username: "u", Password: "p"}}
			},
			want{"an error", func(err error) bool { return err != nil }}, nil),
		{
			name: "ReaderConfig.Dialer.SASLMechanism not a built-in mechanism",
			kgo: func(t *testing.T) error {
				r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic, Dialer: &kgo.Dialer{SASLMechanism: kgoForeignSASL{}}})
				defer r.Close()
				_, err := r.FetchMessage(ctxT(3 * time.Second))
				return err
			},
			ours: func(t *testing.T) error {
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic, Dialer: &kafka.Dialer{SASLMechanism: ourForeignSASL{}}})
				defer r.Close()
				_, err := r.FetchMessage(ctxT(3 * time.Second))
				return err
			},
			want: code(33), kgoWant: &want{"an error", func(err error) bool { return err != nil }},
		},
	})
}

// Close from several goroutines at once while WriteMessages and FetchMessage run (run with
// -race): no panic, no data race, every call returns (nil, the closed error, or its context's),
// and every message whose WriteMessages returned nil is in the topic: nothing acknowledged is lost.
func TestBadInputConcurrentClose(t *testing.T) {
	for _, name := range []string{"kafka-go", "polykafka"} {
		name := name
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			topic := newTopic(t, 1)
			addr := bootstrap(t)
			var write func(ctx context.Context, v string) error
			var fetch func(ctx context.Context) error
			var closeW, closeR func() error
			if name == "kafka-go" {
				w, done := kgoW(addr, topic, nil)
				defer done()
				r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{addr}, Topic: topic, MaxWait: 200 * time.Millisecond})
				write = func(ctx context.Context, v string) error { return w.WriteMessages(ctx, kgo.Message{Value: []byte(v)}) }
				fetch = func(ctx context.Context) error { _, err := r.FetchMessage(ctx); return err }
				closeW, closeR = w.Close, r.Close
			} else {
				w, done := ourW(addr, topic, nil)
				defer done()
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, MaxWait: 200 * time.Millisecond})
				write = func(ctx context.Context, v string) error {
					return w.WriteMessages(ctx, kafka.Message{Value: []byte(v)})
				}
				fetch = func(ctx context.Context) error { _, err := r.FetchMessage(ctx); return err }
				closeW, closeR = w.Close, r.Close
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var acked sync.Map
			var wg sync.WaitGroup
			var writes, fetches atomic.Int64
			errs := make(chan error, 64)
			// The first writes succeed before anything closes, so that Close meets traffic.
			if err := write(ctx, "first"); err != nil {
				t.Fatal(err)
			}
			acked.Store("first", true)
			for g := 0; g < 4; g++ {
				g := g
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						v := fmt.Sprintf("g%d-%d", g, i)
						err := noPanic(func() error { return write(ctx, v) })
						writes.Add(1)
						if err == nil {
							acked.Store(v, true)
							continue
						}
						if !errors.Is(err, io.ErrClosedPipe) {
							errs <- fmt.Errorf("WriteMessages during Close: %w", err)
						}
						return
					}
				}()
				go func() {
					defer wg.Done()
					for {
						err := noPanic(func() error { return fetch(ctx) })
						fetches.Add(1)
						if err == nil {
							continue
						}
						if err != io.EOF {
							errs <- fmt.Errorf("FetchMessage during Close: %w", err)
						}
						return
					}
				}()
			}
			for writes.Load() < 8 && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			var closers sync.WaitGroup
			for c := 0; c < 4; c++ {
				closers.Add(1)
				go func() {
					defer closers.Done()
					for _, f := range []func() error{closeW, closeR} {
						if err := noPanic(f); err != nil {
							errs <- fmt.Errorf("concurrent Close: %w", err)
						}
					}
				}()
			}
			closers.Wait()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			n := 0
			acked.Range(func(any, any) bool { n++; return true })
			got := map[string]bool{}
			for _, m := range readBack(t, topic, 1, n)[0] {
				got[string(m.Value)] = true
			}
			lost := 0
			acked.Range(func(k, _ any) bool {
				if !got[k.(string)] {
					lost++
				}
				return true
			})
			t.Logf("%s: %d writes (%d acknowledged), %d fetches, %d in the topic, %d acknowledged and lost", name, writes.Load(), n, fetches.Load(), len(got), lost)
			if lost != 0 {
				t.Errorf("%d acknowledged messages lost", lost)
			}
		})
	}
}
