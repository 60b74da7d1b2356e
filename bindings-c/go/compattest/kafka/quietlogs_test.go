package kafka_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	kgo "github.com/segmentio/kafka-go"
)

// Quiet logs on a brand-new cluster: what the client retries on its own (the group coordinator
// or a leader not ready yet, the first rebalance) never reaches ErrorLogger. Run by
// tests/cluster/freshlogs on a freshly formatted cluster with QUIETLOGS_LIBS=polykafka (or
// kafka-go for comparison); skipped in the ordinary suite, where the engine's process-wide
// records of the other tests (dead ports on purpose) reach every open Writer and Reader.
func TestQuietLogsOnNewTopicAndGroup(t *testing.T) {
	libs := os.Getenv("QUIETLOGS_LIBS")
	if libs == "" {
		t.Skip("run by tests/cluster/freshlogs (QUIETLOGS_LIBS=polykafka|kafka-go) on a brand-new cluster")
	}
	for _, lib := range strings.Split(libs, ",") {
		t.Run(lib, func(t *testing.T) {
			errs, infos := &lines{}, &lines{}
			topic := newTopic(t, 3)
			groupID := fmt.Sprintf("quiet-%d", time.Now().UnixNano())
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			msgs := func(n int) (out []kafka.Message) {
				for i := 0; i < n; i++ {
					out = append(out, kafka.Message{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i))})
				}
				return out
			}
			got := 0
			switch lib {
			case "polykafka":
				w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, Idempotent: true, BatchTimeout: 5 * time.Millisecond,
					ErrorLogger: errs, Logger: infos}
				if err := w.WriteMessages(ctx, msgs(30)...); err != nil {
					t.Fatalf("write: %v", err)
				}
				w.Close()
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: groupID, Topic: topic,
					StartOffset: kafka.FirstOffset, ErrorLogger: errs, Logger: infos})
				for ; got < 30; got++ {
					if _, err := r.ReadMessage(ctx); err != nil {
						t.Fatalf("after %d: %v", got, err)
					}
				}
				r.Close()
			case "kafka-go":
				w := &kgo.Writer{Addr: kgo.TCP(bootstrap(t)), Topic: topic, RequiredAcks: kgo.RequireAll, BatchTimeout: 5 * time.Millisecond,
					ErrorLogger: errs, Logger: infos}
				kmsgs := make([]kgo.Message, 30)
				for i, m := range msgs(30) {
					kmsgs[i] = kgo.Message{Key: m.Key, Value: m.Value}
				}
				if err := w.WriteMessages(ctx, kmsgs...); err != nil {
					t.Fatalf("write: %v", err)
				}
				w.Close()
				r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: groupID, Topic: topic,
					StartOffset: kgo.FirstOffset, ErrorLogger: errs, Logger: infos})
				for ; got < 30; got++ {
					if _, err := r.ReadMessage(ctx); err != nil {
						t.Fatalf("after %d: %v", got, err)
					}
				}
				r.Close()
			default:
				t.Fatalf("unknown library %q", lib)
			}
			// The capture works (the Logger got the clients' records), and ErrorLogger got nothing.
			if len(infos.get()) == 0 {
				t.Errorf("Logger got no record at all")
			}
			if e := errs.get(); len(e) > 0 {
				t.Errorf("ErrorLogger got %d record(s): %q", len(e), e)
			}
		})
	}
}
