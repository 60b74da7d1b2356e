package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	kgo "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
)

// The Writer tests run the same body against kafka-go's Writer and ours: what passes for
// kafka-go checks real behaviour, and ours must do the same.

type tmsg struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers map[string]string
}

type wconf struct {
	topic        string
	balancer     string // roundrobin, roundrobin2, leastbytes, hash, referencehash, murmur2, murmur2c, crc32, crc32c, func
	compression  int8
	acks         int
	async        bool
	onComplete   func(n int, offsets []int64, err error)
	batchTimeout time.Duration
	batchSize    int
}

type testWriter interface {
	Write(ctx context.Context, msgs ...tmsg) error
	Close() error
}

type impl struct {
	name string
	new  func(addr string, c wconf) testWriter
}

var impls = []impl{
	{"kafka-go", newKgoWriter},
	{"polykafka", newOurWriter},
}

// --- kafka-go's Writer ---

type kgoWriter struct {
	w *kgo.Writer
	t *kgo.Transport
}

func kgoBalancer(name string) kgo.Balancer {
	switch name {
	case "roundrobin":
		return &kgo.RoundRobin{}
	case "roundrobin2":
		return &kgo.RoundRobin{ChunkSize: 2}
	case "leastbytes":
		return &kgo.LeastBytes{}
	case "hash":
		return &kgo.Hash{}
	case "referencehash":
		return &kgo.ReferenceHash{}
	case "murmur2":
		return kgo.Murmur2Balancer{}
	case "murmur2c":
		return kgo.Murmur2Balancer{Consistent: true}
	case "crc32":
		return kgo.CRC32Balancer{}
	case "crc32c":
		return kgo.CRC32Balancer{Consistent: true}
	case "func":
		return kgo.BalancerFunc(func(m kgo.Message, p ...int) int { return p[len(p)-2] })
	}
	return nil
}

func newKgoWriter(addr string, c wconf) testWriter {
	// Its own transport: kafka-go's shared default caches metadata, so a topic created a moment
	// ago would be unknown to it for up to 6 s.
	tr := &kgo.Transport{}
	w := &kgo.Writer{
		Transport:    tr,
		Addr:         kgo.TCP(addr),
		Topic:        c.topic,
		Balancer:     kgoBalancer(c.balancer),
		Compression:  compress.Compression(c.compression),
		RequiredAcks: kgo.RequiredAcks(c.acks),
		Async:        c.async,
		BatchTimeout: c.batchTimeout,
		BatchSize:    c.batchSize,
	}
	if c.onComplete != nil {
		w.Completion = func(ms []kgo.Message, err error) {
			offsets := make([]int64, len(ms))
			for i, m := range ms {
				offsets[i] = m.Offset
			}
			c.onComplete(len(ms), offsets, err)
		}
	}
	return kgoWriter{w, tr}
}

func (k kgoWriter) Write(ctx context.Context, msgs ...tmsg) error {
	out := make([]kgo.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kgo.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		for hk, hv := range m.Headers {
			out[i].Headers = append(out[i].Headers, kgo.Header{Key: hk, Value: []byte(hv)})
		}
	}
	return k.w.WriteMessages(ctx, out...)
}

func (k kgoWriter) Close() error {
	err := k.w.Close()
	k.t.CloseIdleConnections()
	return err
}

// --- ours ---

type ourWriter struct{ w *kafka.Writer }

func ourBalancer(name string) kafka.Balancer {
	switch name {
	case "roundrobin":
		return &kafka.RoundRobin{}
	case "roundrobin2":
		return &kafka.RoundRobin{ChunkSize: 2}
	case "leastbytes":
		return &kafka.LeastBytes{}
	case "hash":
		return &kafka.Hash{}
	case "referencehash":
		return &kafka.ReferenceHash{}
	case "murmur2":
		return kafka.Murmur2Balancer{}
	case "murmur2c":
		return kafka.Murmur2Balancer{Consistent: true}
	case "crc32":
		return kafka.CRC32Balancer{}
	case "crc32c":
		return kafka.CRC32Balancer{Consistent: true}
	case "func":
		return kafka.BalancerFunc(func(m kafka.Message, p ...int) int { return p[len(p)-2] })
	}
	return nil
}

func newOurWriter(addr string, c wconf) testWriter {
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        c.topic,
		Balancer:     ourBalancer(c.balancer),
		Compression:  kafka.Compression(c.compression),
		RequiredAcks: kafka.RequiredAcks(c.acks),
		Async:        c.async,
		BatchTimeout: c.batchTimeout,
		BatchSize:    c.batchSize,
	}
	if c.onComplete != nil {
		w.Completion = func(ms []kafka.Message, err error) {
			offsets := make([]int64, len(ms))
			for i, m := range ms {
				offsets[i] = m.Offset
			}
			c.onComplete(len(ms), offsets, err)
		}
	}
	return ourWriter{w}
}

func (o ourWriter) Write(ctx context.Context, msgs ...tmsg) error {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Topic: m.Topic, Key: m.Key, Value: m.Value}
		for hk, hv := range m.Headers {
			out[i].Headers = append(out[i].Headers, kafka.Header{Key: hk, Value: []byte(hv)})
		}
	}
	return o.w.WriteMessages(ctx, out...)
}

func (o ourWriter) Close() error { return o.w.Close() }

func keyed(n int) []tmsg {
	msgs := make([]tmsg, n)
	for i := range msgs {
		msgs[i] = tmsg{Key: []byte(fmt.Sprintf("key-%d", i)), Value: []byte(fmt.Sprintf("value-%03d", i))}
	}
	return msgs
}

func TestWriterBalancers(t *testing.T) {
	const partitions, n = 4, 40
	for _, im := range impls {
		for _, b := range []string{"roundrobin", "roundrobin2", "leastbytes", "hash", "referencehash", "murmur2", "murmur2c", "crc32", "crc32c", "func"} {
			im, b := im, b
			t.Run(im.name+"/"+b, func(t *testing.T) {
				t.Parallel()
				topic := newTopic(t, partitions)
				w := im.new(bootstrap(t), wconf{topic: topic, balancer: b, acks: -1, batchTimeout: 10 * time.Millisecond})
				if err := w.Write(context.Background(), keyed(n)...); err != nil {
					t.Fatalf("write: %v", err)
				}
				if err := w.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				got := readBack(t, topic, partitions, n)
				if count(got) != n {
					t.Fatalf("read %d messages, want %d", count(got), n)
				}
				parts := []int{0, 1, 2, 3}
				expect := kgoBalancer(b)
				for p, ms := range got {
					for _, m := range ms {
						switch b {
						case "roundrobin", "roundrobin2", "leastbytes":
						case "func":
							if p != 2 {
								t.Errorf("BalancerFunc chose 2, message on %d", p)
							}
						default: // keyed: kafka-go's own balancer says where each key goes
							if want := expect.Balance(kgo.Message{Key: m.Key}, parts...); want != p {
								t.Errorf("%s: key %s on partition %d, kafka-go puts it on %d", b, m.Key, p, want)
							}
						}
					}
				}
				switch b {
				case "roundrobin", "roundrobin2", "leastbytes": // even spread
					for p := 0; p < partitions; p++ {
						if len(got[p]) != n/partitions {
							t.Errorf("partition %d has %d messages, want %d", p, len(got[p]), n/partitions)
						}
					}
				}
			})
		}
	}
}

func TestWriterCompressionAndAcks(t *testing.T) {
	for _, im := range impls {
		for _, codec := range []int8{0, int8(kafka.Gzip), int8(kafka.Snappy), int8(kafka.Lz4), int8(kafka.Zstd)} {
			for _, acks := range []int{int(kafka.RequireNone), int(kafka.RequireOne), int(kafka.RequireAll)} {
				im, codec, acks := im, codec, acks
				t.Run(fmt.Sprintf("%s/codec%d/acks%d", im.name, codec, acks), func(t *testing.T) {
					t.Parallel()
					topic := newTopic(t, 1)
					w := im.new(bootstrap(t), wconf{topic: topic, compression: codec, acks: acks, batchTimeout: 10 * time.Millisecond})
					msgs := keyed(20)
					for i := range msgs {
						msgs[i].Value = bytes.Repeat(msgs[i].Value, 50)
						msgs[i].Headers = map[string]string{"i": fmt.Sprint(i)}
					}
					if err := w.Write(context.Background(), msgs...); err != nil {
						t.Fatalf("write: %v", err)
					}
					w.Close()
					got := readBack(t, topic, 1, len(msgs))[0]
					if len(got) != len(msgs) {
						t.Fatalf("read %d, want %d", len(got), len(msgs))
					}
					for i, m := range got {
						if !bytes.Equal(m.Key, msgs[i].Key) || !bytes.Equal(m.Value, msgs[i].Value) {
							t.Fatalf("message %d: key %q value %q...", i, m.Key, m.Value[:10])
						}
						if len(m.Headers) != 1 || m.Headers[0].Key != "i" || string(m.Headers[0].Value) != fmt.Sprint(i) {
							t.Fatalf("message %d headers %v", i, m.Headers)
						}
					}
				})
			}
		}
	}
}

func TestWriterAsyncCompletion(t *testing.T) {
	for _, im := range impls {
		im := im
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			topic := newTopic(t, 2)
			var mu sync.Mutex
			completed, failed := 0, 0
			seen := map[int64]int{}
			w := im.new(bootstrap(t), wconf{topic: topic, async: true, acks: 1, balancer: "roundrobin", batchTimeout: 20 * time.Millisecond,
				onComplete: func(n int, offsets []int64, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed += n
						return
					}
					completed += n
					for _, o := range offsets {
						seen[o]++
					}
				}})
			for i := 0; i < 5; i++ {
				if err := w.Write(context.Background(), keyed(10)...); err != nil {
					t.Fatalf("async write returned %v", err)
				}
			}
			if err := w.Close(); err != nil { // flushes
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if completed != 50 || failed != 0 {
				t.Fatalf("completed %d failed %d, want 50 and 0", completed, failed)
			}
			if len(seen) != 25 { // offsets 0..24 on each of the two partitions
				t.Fatalf("offsets seen: %v", seen)
			}
			if got := count(readBack(t, topic, 2, 50)); got != 50 {
				t.Fatalf("read back %d", got)
			}
		})
	}
}

// An async writer with BatchSize 1 sends every message at once instead of waiting for
// BatchTimeout (BatchTimeout here is 1 s; Close would deliver anything left): every write of a
// long run is delivered and read back. (Ours once started a blocking native flush per full
// batch; this test does not reproduce the thread exhaustion that caused under a paced load,
// the L1-10k benchmark does.)
func TestWriterAsyncBatchSizeOne(t *testing.T) {
	const n = 10000
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			topic := newTopic(t, 1)
			var mu sync.Mutex
			completed, failed := 0, 0
			w := im.new(bootstrap(t), wconf{topic: topic, async: true, acks: 1, batchSize: 1, batchTimeout: time.Second,
				onComplete: func(k int, _ []int64, err error) {
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						failed += k
					} else {
						completed += k
					}
				}})
			msg := []tmsg{{Value: []byte("one at a time")}}
			for i := 0; i < n; i++ {
				if err := w.Write(context.Background(), msg...); err != nil {
					t.Fatalf("async write %d returned %v", i, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if completed != n || failed != 0 {
				t.Fatalf("completed %d failed %d, want %d and 0", completed, failed, n)
			}
			if got := count(readBack(t, topic, 1, n)); got != n {
				t.Fatalf("read back %d, want %d", got, n)
			}
		})
	}
}

func TestWriterErrorsBothImpls(t *testing.T) {
	for _, im := range impls {
		im := im
		t.Run(im.name, func(t *testing.T) {
			topic := newTopic(t, 1)
			w := im.new(bootstrap(t), wconf{topic: topic, batchTimeout: 10 * time.Millisecond})
			if err := w.Write(context.Background(), tmsg{Topic: topic, Value: []byte("x")}); err == nil {
				t.Error("topic on both writer and message: no error")
			}
			w.Close()
			if err := w.Write(context.Background(), tmsg{Value: []byte("x")}); !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("after Close: %v, want io.ErrClosedPipe", err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			w = im.new(bootstrap(t), wconf{batchTimeout: 10 * time.Millisecond})
			defer w.Close()
			if err := w.Write(context.Background(), tmsg{Value: []byte("x")}); err == nil {
				t.Error("topic on neither: no error")
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			w2 := im.new(bootstrap(t), wconf{topic: topic, batchTimeout: time.Second})
			defer w2.Close()
			if err := w2.Write(ctx, tmsg{Value: []byte("x")}); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled ctx: %v, want context.Canceled", err)
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	addr := kafka.TCP(bootstrap(t))
	topic := newTopic(t, 1)
	ctx := context.Background()

	if err := (&kafka.Writer{Topic: topic}).WriteMessages(ctx, kafka.Message{Value: []byte("x")}); err == nil {
		t.Error("nil Addr: no error")
	}

	w := &kafka.Writer{Addr: addr, Topic: topic, BatchBytes: 100, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	big := kafka.Message{Value: bytes.Repeat([]byte("x"), 200)}
	err := w.WriteMessages(ctx, kafka.Message{Value: []byte("a")}, big, kafka.Message{Value: []byte("b")})
	var tooLarge kafka.MessageTooLargeError
	if !errors.As(err, &tooLarge) || !errors.Is(err, kafka.MessageSizeTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if len(tooLarge.Remaining) != 2 || len(tooLarge.Message.Value) != 200 {
		t.Errorf("MessageTooLargeError: %d remaining", len(tooLarge.Remaining))
	}

	missing := &kafka.Writer{Addr: addr, Topic: topic + "-missing", BatchTimeout: 10 * time.Millisecond}
	defer missing.Close()
	start := time.Now()
	err = missing.WriteMessages(ctx, kafka.Message{Value: []byte("x")})
	if !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Errorf("unknown topic: %v, want UnknownTopicOrPartition", err)
	}
	var ce *kafka.ClientError
	if !errors.As(err, &ce) || ce.Code != 3 || ce.Name != "UNKNOWN_TOPIC_OR_PARTITION" {
		t.Errorf("ClientError: %#v", ce)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("unknown topic took %v: it should fail at the metadata request", time.Since(start))
	}
	if kafka.UnknownTopicOrPartition.Error() != "[3] Unknown Topic Or Partition: this server does not host this topic-partition" {
		t.Errorf("Error text: %q", kafka.UnknownTopicOrPartition.Error())
	}
	if !kafka.UnknownTopicOrPartition.Temporary() || kafka.InvalidTopic.Temporary() || !kafka.RequestTimedOut.Timeout() {
		t.Error("Temporary/Timeout flags")
	}

	unreachable := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), Topic: topic, WriteTimeout: time.Second, BatchTimeout: 10 * time.Millisecond}
	defer unreachable.Close()
	err = unreachable.WriteMessages(ctx, kafka.Message{Value: []byte("x")})
	if !errors.As(err, &ce) || (ce.Kind != "connection" && ce.Kind != "timeout") {
		t.Errorf("unreachable broker: %v", err)
	}

	// A partial failure: a custom balancer sends one message to a partition that does not exist.
	partial := &kafka.Writer{Addr: addr, Topic: topic, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll,
		Balancer: kafka.BalancerFunc(func(m kafka.Message, p ...int) int {
			if string(m.Value) == "bad" {
				return 5
			}
			return 0
		})}
	defer partial.Close()
	err = partial.WriteMessages(ctx, kafka.Message{Value: []byte("good")}, kafka.Message{Value: []byte("bad")})
	var werr kafka.WriteErrors
	if !errors.As(err, &werr) || len(werr) != 2 || werr[0] != nil || !errors.Is(werr[1], kafka.UnknownTopicOrPartition) {
		t.Errorf("partial failure: %v", err)
	}
	if werr.Count() != 1 {
		t.Errorf("Count %d", werr.Count())
	}
}

// kafka-go's defaults: RequireNone, RoundRobin, and a sync write waits for BatchTimeout (1 s).
func TestWriterDefaults(t *testing.T) {
	topic := newTopic(t, 2)
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic}
	defer w.Close()
	start := time.Now()
	var completed []kafka.Message
	w.Completion = func(ms []kafka.Message, err error) { completed = append(completed, ms...) }
	if err := w.WriteMessages(context.Background(), kafka.Message{Key: []byte("k"), Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("a sync write with the default BatchTimeout returned after %v, kafka-go waits 1 s", d)
	}
	if len(completed) != 1 || completed[0].Offset != -1 || completed[0].Topic != topic || completed[0].Time.IsZero() {
		t.Errorf("Completion with RequireNone (no offset known): %+v", completed)
	}
	s := w.Stats()
	if s.Messages != 1 || s.Writes != 1 || s.RequiredAcks != 0 || s.BatchTimeout != time.Second || s.MaxAttempts != 10 || s.MaxBatchSize != 100 {
		t.Errorf("stats %+v", s)
	}
	if s.Dials < 1 {
		t.Errorf("from the engine: Dials %d (connections made)", s.Dials)
	}
	// The engine counts a record as queued until its delivery report has been handed out, which
	// can be a moment after the synchronous write returned (seen once under cgocheck2).
	for q, deadline := s.QueueLength, time.Now().Add(5*time.Second); q != 0; q = w.Stats().QueueLength {
		if time.Now().After(deadline) {
			t.Errorf("from the engine: QueueLength %d, 5 s after the write completed", q)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s2 := w.Stats(); s2.Messages != 0 || s2.Dials != 0 {
		t.Errorf("Stats resets its counters: %+v", s2)
	}
	// A call with BatchSize messages goes at once.
	w2 := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, BatchSize: 10, BatchTimeout: 5 * time.Second}
	defer w2.Close()
	msgs := make([]kafka.Message, 10)
	for i := range msgs {
		msgs[i].Value = []byte("full")
	}
	start = time.Now()
	if err := w2.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a full batch waited %v", d)
	}
	got := readBack(t, topic, 2, 11)
	if len(got[0]) == 0 || len(got[1]) == 0 {
		t.Errorf("round-robin by default: %d and %d", len(got[0]), len(got[1]))
	}
}

func TestWriterConcurrentAndZeroTime(t *testing.T) {
	topic := newTopic(t, 3)
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll, Balancer: &kafka.Hash{}}
	var wg sync.WaitGroup
	before := time.Now().Add(-time.Second)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				ms := []kafka.Message{{Key: []byte(fmt.Sprintf("g%d-%d", g, i)), Value: []byte("v")}}
				if err := w.WriteMessages(context.Background(), ms...); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, topic, 3, 40)
	for _, ms := range got {
		for _, m := range ms {
			if m.Time.Before(before) || m.Time.After(time.Now().Add(time.Second)) {
				t.Fatalf("zero Time should become now, got %v", m.Time)
			}
		}
	}
	if count(got) != 40 {
		t.Fatalf("read %d", count(got))
	}
}
