package streams_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
)

// bootstrap is the plaintext listener of the test cluster (see internal/testenv).
func bootstrap(testing.TB) string { return testenv.Bootstrap() }

var seq int64

// unique is a name no other test run uses.
func unique(t testing.TB, what string) string {
	name := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	return fmt.Sprintf("gostreams-%s-%s-%d-%d", name, what, time.Now().UnixNano()%1e9, atomic.AddInt64(&seq, 1))
}

// topics creates topics of the given partitions, named after the test.
func topics(t testing.TB, partitions int, whats ...string) []string {
	t.Helper()
	names := make([]string, len(whats))
	for i, w := range whats {
		names[i] = unique(t, w)
	}
	createNamed(t, partitions, names...)
	return names
}

// createNamed creates the topics.
func createNamed(t testing.TB, partitions int, names ...string) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	req := &kafka.CreateTopicsRequest{}
	for _, n := range names {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: n, NumPartitions: partitions, ReplicationFactor: 1})
	}
	resp, err := c.CreateTopics(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	for _, n := range names {
		if err := resp.Errors[n]; err != nil {
			t.Fatalf("CreateTopics %s: %v", n, err)
		}
	}
}

type rec struct {
	key, value []byte
	ts         time.Time
}

// produce writes the records, partitioned by key as the Java client (murmur2).
func produce(t testing.TB, topic string, recs []rec) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, Balancer: kafka.Murmur2Balancer{Consistent: true}, RequiredAcks: kafka.RequireAll, BatchSize: 1000, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Key: r.key, Value: r.value, Time: r.ts}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("producing to %s: %v", topic, err)
	}
}

// readAll reads every message now in the topic, with a partition Reader of the kafka package
// per partition (kafka-go, which read it before, stays out of this module: see compattest/).
func readAll(t testing.TB, topic string, partitions int) []kafka.Message {
	t.Helper()
	addr := bootstrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []kafka.Message
	for p := 0; p < partitions; p++ {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		var n int64
		for {
			// From the first offset, the lag is the partition's end minus its start.
			var err error
			if n, err = r.ReadLag(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("offsets of %s-%d: %v", topic, p, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		for n > 0 {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("reading %s-%d: %v", topic, p, err)
			}
			out = append(out, m)
			if r.Lag() <= 0 {
				break
			}
		}
		r.Close()
	}
	return out
}

// waitFor polls cond every 200 ms until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool, detail func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			d := ""
			if detail != nil {
				d = ": " + detail()
			}
			t.Fatalf("timed out after %v waiting for %s%s", timeout, what, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// config is a streams configuration for the test cluster, committing often.
func config(t testing.TB, app string, extra ...string) map[string]string {
	c := map[string]string{
		"application.id":             app,
		"bootstrap.servers":          bootstrap(t),
		"commit.interval.ms":         "200",
		"consumer.fetch.max.wait.ms": "100",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i]] = extra[i+1]
	}
	return c
}
