package kafka_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	kgo "github.com/segmentio/kafka-go"
)

// clusterEnv gives the facts of the test cluster: the file KAFKA_CLUSTER_ENV names (else
// build/cluster/cluster.env, written by tests/cluster/kafka up), overridden by KAFKA_*
// variables in the environment.
func clusterEnv() map[string]string {
	env := map[string]string{}
	path := os.Getenv("KAFKA_CLUSTER_ENV")
	if path == "" {
		path = filepath.Join("..", "..", "build", "cluster", "cluster.env")
	}
	if f, err := os.Open(path); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			if k, v, ok := strings.Cut(s.Text(), "="); ok && !strings.HasPrefix(k, "#") {
				env[k] = strings.Trim(v, `"'`)
			}
		}
	}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "KAFKA_") {
			env[k] = v
		}
	}
	return env
}

// bootstrap is the plaintext listener of the test cluster (see clusterEnv).
func bootstrap(t testing.TB) string {
	if b := clusterEnv()["KAFKA_BOOTSTRAP"]; b != "" {
		return b
	}
	return "127.0.0.1:9092"
}

var topicSeq int64

// newTopic creates a topic with our Client (so every test also exercises admin).
func newTopic(t testing.TB, partitions int) string {
	t.Helper()
	name := fmt.Sprintf("go-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()%1e9, atomic.AddInt64(&topicSeq, 1))
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	resp, err := c.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: name, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		t.Fatalf("CreateTopics: %v", err)
	}
	if err := resp.Errors[name]; err != nil {
		t.Fatalf("CreateTopics %s: %v", name, err)
	}
	return name
}

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
