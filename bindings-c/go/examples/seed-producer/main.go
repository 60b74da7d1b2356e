// The seed document's Go producer, completed into a program (the fmt import and the UserEvent
// type it leaves out) with only the import path changed. The broker address may be overridden
// with KAFKA_BOOTSTRAP; the seed's is localhost:9092. The topic "user-events" must exist
// (AllowAutoTopicCreation is false, as in kafka-go).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go"
)

type UserEvent struct {
	Type   string `json:"type"`
	UserID string `json:"userId"`
}

func broker() string {
	if b := os.Getenv("KAFKA_BOOTSTRAP"); b != "" {
		return b
	}
	return "localhost:9092"
}

func main() {
	writer := &kafka.Writer{
		Addr:         kafka.TCP(broker()),
		Topic:        "user-events",
		Balancer:     &kafka.LeastBytes{},
		BatchSize:    100,
		BatchTimeout: 10 * time.Millisecond,
		Compression:  kafka.Snappy,
		RequiredAcks: kafka.RequireAll,
		Async:        false,
		Completion: func(messages []kafka.Message, err error) {
			if err == nil && len(messages) > 0 {
				last := messages[len(messages)-1]
				fmt.Printf("wrote %d message(s) to %s partition %d, last offset %d\n", len(messages), last.Topic, last.Partition, last.Offset)
			}
		},
	}
	defer writer.Close()

	// Send message
	event := UserEvent{Type: "USER_CREATED", UserID: "123"}
	data, _ := json.Marshal(event)

	err := writer.WriteMessages(context.Background(),
		kafka.Message{
			Key:   []byte("user-123"),
			Value: data,
			Headers: []kafka.Header{
				{Key: "correlation-id", Value: []byte("456")},
			},
			Time: time.Now(),
		},
	)

	if err != nil {
		log.Fatal("Failed to write message:", err)
	}

	// Batch write
	messages := make([]kafka.Message, 0, 1000)
	for i := 0; i < 1000; i++ {
		messages = append(messages, kafka.Message{
			Key:   []byte(fmt.Sprintf("key-%d", i)),
			Value: []byte(fmt.Sprintf("value-%d", i)),
		})
	}

	err = writer.WriteMessages(context.Background(), messages...)
	if err != nil {
		log.Fatal("Batch write failed:", err)
	}
	fmt.Println("seed producer: 1001 messages written")
}
