// Package srtest holds what the schema registry tests of every serde share: our client on
// SCHEMA_REGISTRY_URL (the test is skipped when unset), unique names, and writing records to the
// broker of KAFKA_BOOTSTRAP. confluent-kafka-go's clients for the comparisons are in
// compattest/internal/srboth (a module of its own). Tests only.
package srtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
)

// Client connects polykafka's client to SCHEMA_REGISTRY_URL (skips t when unset); closed at cleanup.
func Client(t *testing.T) schemaregistry.Client {
	url := os.Getenv("SCHEMA_REGISTRY_URL")
	if url == "" {
		t.Skip("SCHEMA_REGISTRY_URL is not set")
	}
	return newClient(t, schemaregistry.NewConfig(url))
}

// UnreachableURL is a registry nobody listens to.
const UnreachableURL = "http://127.0.0.1:1"

// UnreachableClient gives polykafka's client of UnreachableURL, without retries.
func UnreachableClient(t *testing.T) schemaregistry.Client {
	conf := schemaregistry.NewConfig(UnreachableURL)
	conf.MaxRetries = 0
	return newClient(t, conf)
}

func newClient(t *testing.T, conf *schemaregistry.Config) schemaregistry.Client {
	c, err := schemaregistry.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Unique gives a topic name of this test and moment.
func Unique(t *testing.T, prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, strings.ToLower(t.Name()), time.Now().UnixNano())
}

// Broker gives KAFKA_BOOTSTRAP (skips t when unset).
func Broker(t *testing.T) string {
	b := os.Getenv("KAFKA_BOOTSTRAP")
	if b == "" {
		t.Skip("KAFKA_BOOTSTRAP is not set")
	}
	return b
}

// RoundTrip writes values to partition 0 of topic on the broker (retrying while the topic is
// being created) and reads them back, within 60s.
func RoundTrip(t *testing.T, broker, topic string, values [][]byte) [][]byte {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i] = kafka.Message{Value: v}
	}
	w := &kafka.Writer{Addr: kafka.TCP(broker), Topic: topic, AllowAutoTopicCreation: true, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	for {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{broker}, Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out [][]byte
	for range values {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.Value)
	}
	return out
}
