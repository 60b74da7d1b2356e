// The seed document's Go consumer sections, completed into a program with only the import path
// changed. It compiles today; its reads wait for polykafka's consumer (they return
// kafka.ErrNotImplemented for now), so `-once` makes it stop after the first error.
package main

import (
	"context"
	"flag"
	"log"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go"
)

func processMessage(msg kafka.Message) error { return nil }

func main() {
	once := flag.Bool("once", false, "stop at the first error")
	flag.Parse()

	reader := kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{"localhost:9092"},
		GroupID:        "user-service",
		Topic:          "user-events",
		MinBytes:       10e3, // 10KB
		MaxBytes:       10e6, // 10MB
		CommitInterval: time.Second,
		StartOffset:    kafka.LastOffset,
	})
	defer reader.Close()

	for {
		msg, err := reader.ReadMessage(context.Background())
		if err != nil {
			log.Printf("Error reading message: %v", err)
			if *once {
				break
			}
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

	// Manual commit control
	reader2 := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{"localhost:9092"},
		GroupID: "user-service",
		Topic:   "user-events",
	})
	defer reader2.Close()

	for {
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
	}
}
