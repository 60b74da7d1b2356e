package kafka_test

import (
	"context"
	"errors"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

func TestClientTopics(t *testing.T) {
	ctx := context.Background()
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t)), Timeout: 20 * time.Second}
	defer c.Close()
	name := "go-client-" + time.Now().Format("150405.000000")
	resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: name, NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: "3600000"}},
	}}})
	if err != nil || resp.Errors[name] != nil {
		t.Fatalf("create: %v %v", err, resp)
	}
	resp, err = c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: name, NumPartitions: 1, ReplicationFactor: 1}}})
	if err != nil || !errors.Is(resp.Errors[name], kafka.TopicAlreadyExists) {
		t.Fatalf("create again: %v %v", err, resp.Errors)
	}
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{name, name + "-missing"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 2 || len(md.Topics[0].Partitions) != 3 || !errors.Is(md.Topics[1].Error, kafka.UnknownTopicOrPartition) {
		t.Fatalf("metadata: %+v", md.Topics)
	}
	all, err := c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tp := range all.Topics {
		found = found || tp.Name == name
	}
	if !found {
		t.Fatalf("%s not listed", name)
	}
	del, err := c.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{name, name + "-missing"}})
	if err != nil || del.Errors[name] != nil || !errors.Is(del.Errors[name+"-missing"], kafka.UnknownTopicOrPartition) {
		t.Fatalf("delete: %v %v", err, del)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Metadata(cancelled, &kafka.MetadataRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := (&kafka.Client{}).Metadata(ctx, &kafka.MetadataRequest{}); err == nil {
		t.Error("no address: no error")
	}
}
