// The seed document's Go consumer sections, completed into a program with only the import path
// changed (the seed's broker is localhost:9092; KAFKA_BOOTSTRAP overrides it). The seed's loops
// never end; to make it testable, -max N stops the first loop after N messages (0: never) and
// -manual N runs the second section ("Manual commit control") until N messages were read.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go"
)

func broker() string {
	if b := os.Getenv("KAFKA_BOOTSTRAP"); b != "" {
		return b
	}
	return "localhost:9092"
}

func processMessage(msg kafka.Message) error { return nil }

func main() {
	max := flag.Int("max", 0, "stop the first loop after this many messages (0: never)")
	manual := flag.Int("manual", 0, "read this many messages with the manual-commit section")
	flag.Parse()

	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{broker()},
		GroupID:        "user-service",
		Topic:          "user-events",
		MinBytes:       10e3, // 10KB
		MaxBytes:       10e6, // 10MB
		CommitInterval: time.Second,
		StartOffset:    kafka.LastOffset,
	})
	defer reader.Close()

	for n := 0; *max == 0 || n < *max; n++ {
		msg, err := reader.ReadMessage(context.Background())
		if err != nil {
			log.Printf("Error reading message: %v", err)
			continue
		}

		log.Printf("Message: topic=%s partition=%d offset=%d key=%s value=%s",
			msg.Topic, msg.Partition, msg.Offset, string(msg.Key), string(msg.Value))

		// Process message
		if err := processMessage(msg); err != nil {
			log.Printf("Processing failed: %v", err)
			continue
		}

		// Commit is automatic with CommitInterval
	}
	reader.Close() // commits what the interval has not yet committed
	if *manual == 0 {
		return
	}

	// Manual commit control
	reader2 := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{broker()},
		GroupID: "user-service",
		Topic:   "user-events",
	})
	defer reader2.Close()

	for n := 0; n < *manual; n++ {
		msg, err := reader2.FetchMessage(context.Background())
		if err != nil {
			break
		}

		if err := processMessage(msg); err != nil {
			log.Printf("Processing failed: %v", err)
			continue
		}

		// Explicit commit after processing
		if err := reader2.CommitMessages(context.Background(), msg); err != nil {
			log.Printf("Commit failed: %v", err)
		}
		log.Printf("Committed: partition=%d offset=%d", msg.Partition, msg.Offset)
	}
}
