// Package kafkatest holds the test helpers that use the kafka package itself (testenv cannot:
// the internal tests of package kafka import testenv). Tests only.
package kafkatest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
)

var topicSeq int64

// NewTopic creates a topic with our Client (so every test also exercises admin).
func NewTopic(t testing.TB, partitions int) string {
	t.Helper()
	name := fmt.Sprintf("go-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()%1e9, atomic.AddInt64(&topicSeq, 1))
	c := &kafka.Client{Addr: kafka.TCP(testenv.Bootstrap())}
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
