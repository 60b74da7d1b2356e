// The Avro demo's last step: kafka-go's Reader API with confluent-kafka-go's avrov2 deserializer
// API, both over polykafka, reading the UserEvents Python and Node wrote into a Go struct.
// Usage: avro-demo TOPIC (KAFKA_BOOTSTRAP, SCHEMA_REGISTRY_URL).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde/avrov2"
)

// UserEvent is the seed's user-event.avsc as a Go struct.
type UserEvent struct {
	UserID    string  `avro:"userId"`
	EventType string  `avro:"eventType"`
	Timestamp int64   `avro:"timestamp"`
	Metadata  *string `avro:"metadata"`
}

func main() {
	addr := os.Getenv("KAFKA_BOOTSTRAP")
	if addr == "" {
		addr = "127.0.0.1:9092"
	}
	url := os.Getenv("SCHEMA_REGISTRY_URL")
	if url == "" {
		url = "http://127.0.0.1:8081"
	}
	topic := "polykafka-user-events"
	if len(os.Args) > 1 {
		topic = os.Args[1]
	}
	client, err := schemaregistry.NewClient(schemaregistry.NewConfig(url))
	if err != nil {
		log.Fatal(err)
	}
	deser, err := avrov2.NewDeserializer(client, serde.ValueSerde, avrov2.NewDeserializerConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer deser.Close()

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: 0})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < 4; i++ { // three from Python, one from Node
		m, err := r.ReadMessage(ctx)
		if err != nil {
			log.Fatalf("read %d of 4 records: %v", i, err)
		}
		var ev UserEvent
		if err := deser.DeserializeInto(topic, m.Value, &ev); err != nil {
			log.Fatalf("offset %d: %v", m.Offset, err)
		}
		meta := "<nil>"
		if ev.Metadata != nil {
			meta = *ev.Metadata
		}
		fmt.Printf("go read   %s [%d] @ %d: userId=%s eventType=%s timestamp=%d metadata=%s\n",
			m.Topic, m.Partition, m.Offset, ev.UserID, ev.EventType, ev.Timestamp, meta)
	}
}
