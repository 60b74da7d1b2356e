// The Go demo: kafka-go's Writer API over polykafka, printing where each message went, then
// kafka-go's Reader API reading them back.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go"
)

func main() {
	addr := os.Getenv("KAFKA_BOOTSTRAP")
	if addr == "" {
		addr = "127.0.0.1:9092"
	}
	topic := "polykafka-demo"
	if len(os.Args) > 1 {
		topic = os.Args[1]
	}
	firstOffset := int64(-1) // of this run's messages (all on one partition: same key)
	w := &kafka.Writer{
		Addr:                   kafka.TCP(addr),
		Topic:                  topic,
		Balancer:               &kafka.Hash{},
		BatchTimeout:           10 * time.Millisecond,
		RequiredAcks:           kafka.RequireAll,
		AllowAutoTopicCreation: true,
		Completion: func(msgs []kafka.Message, err error) {
			for _, m := range msgs {
				if err != nil {
					fmt.Printf("%s failed: %v\n", m.Value, err)
				} else {
					if firstOffset < 0 || m.Offset < firstOffset {
						firstOffset = m.Offset
					}
					fmt.Printf("%s written to %s-%d at offset %d\n", m.Value, m.Topic, m.Partition, m.Offset)
				}
			}
		},
	}
	defer w.Close()
	err := w.WriteMessages(context.Background(),
		kafka.Message{Key: []byte("demo"), Value: []byte("hello")},
		kafka.Message{Key: []byte("demo"), Value: []byte("from")},
		kafka.Message{Key: []byte("demo"), Value: []byte("Go")},
	)
	if err != nil {
		log.Fatal(err)
	}

	// Read them back with kafka-go's Reader API: a new consumer group starts at FirstOffset.
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{addr},
		GroupID: fmt.Sprintf("polykafka-demo-%d", time.Now().UnixNano()),
		Topic:   topic,
		MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := map[string]bool{"hello": true, "from": true, "Go": true}
	for len(want) > 0 {
		m, err := r.ReadMessage(ctx) // commits before returning, as kafka-go
		if err != nil {
			log.Fatal(err)
		}
		if m.Offset >= firstOffset && want[string(m.Value)] {
			delete(want, string(m.Value))
			fmt.Printf("read %s from %s-%d at offset %d (high watermark %d)\n", m.Value, m.Topic, m.Partition, m.Offset, m.HighWaterMark)
		}
	}
}
