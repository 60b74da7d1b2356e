package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv/kafkatest"
	kgo "github.com/segmentio/kafka-go"
)

// clusterEnv, bootstrap and newTopic: see internal/testenv, shared with the main module's tests.
func clusterEnv() map[string]string                { return testenv.ClusterEnv() }
func bootstrap(testing.TB) string                  { return testenv.Bootstrap() }
func newTopic(t testing.TB, partitions int) string { return kafkatest.NewTopic(t, partitions) }

// readBack reads every message of the topic with kafka-go's own reader, waiting (up to 20 s)
// until there are at least want.
func readBack(t testing.TB, topic string, partitions, want int) map[int][]kgo.Message {
	t.Helper()
	addr := bootstrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	firsts, lasts := make([]int64, partitions), make([]int64, partitions)
retry:
	for {
		total := int64(0)
		for p := 0; p < partitions; p++ {
			conn, err := kgo.DialLeader(ctx, "tcp", addr, topic, p)
			if err == nil {
				firsts[p], lasts[p], err = conn.ReadOffsets()
				conn.Close()
			}
			if err != nil {
				// Right after a topic is created the broker may not yet lead its partitions
				// (NOT_LEADER_FOR_PARTITION): ask again until the deadline.
				if ctx.Err() != nil {
					t.Fatalf("offsets of %s-%d: %v", topic, p, err)
				}
				time.Sleep(100 * time.Millisecond)
				continue retry
			}
			total += lasts[p] - firsts[p]
		}
		if total >= int64(want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%s has %d messages, want %d", topic, total, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := map[int][]kgo.Message{}
	for p := 0; p < partitions; p++ {
		if lasts[p] == firsts[p] {
			continue
		}
		r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p, MaxWait: 200 * time.Millisecond})
		if err := r.SetOffset(firsts[p]); err != nil {
			t.Fatal(err)
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatalf("reading %s-%d: %v", topic, p, err)
			}
			out[p] = append(out[p], m)
			if m.Offset >= lasts[p]-1 {
				break
			}
		}
		r.Close()
	}
	return out
}

func count(m map[int][]kgo.Message) int {
	n := 0
	for _, ms := range m {
		n += len(ms)
	}
	return n
}
