// The Go demo: kafka-go's Writer API over polykafka, printing where each message went.
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
}
