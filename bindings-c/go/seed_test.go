package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

// The seed document's Go programs, with only the import path changed, build and run: the
// consumer (group user-service, StartOffset LastOffset) joins, the producer writes 1001
// messages, the consumer reads all of them with ReadMessage; then the manual-commit section
// reads what was written after that, committing each.
func TestSeedPrograms(t *testing.T) {
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	ctx := context.Background()
	resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "user-events", NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil || (resp.Errors["user-events"] != nil && !errors.Is(resp.Errors["user-events"], kafka.TopicAlreadyExists)) {
		t.Fatalf("create user-events: %v %v", err, resp)
	}
	// A fresh group: an earlier run leaves offsets committed mid-way (the manual section stops
	// after 5 messages), which the seed's reader would resume from instead of LastOffset.
	if _, err := c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{"user-service"}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"seed-producer", "seed-consumer"} {
		bin := filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", bin, "./examples/"+name)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	env := append(os.Environ(), "KAFKA_BOOTSTRAP="+bootstrap(t))
	var consumerOut bytes.Buffer
	consumer := exec.Command(filepath.Join(dir, "seed-consumer"), "-max", "1001", "-manual", "5")
	consumer.Env, consumer.Stdout, consumer.Stderr = env, &consumerOut, &consumerOut
	if err := consumer.Start(); err != nil {
		t.Fatal(err)
	}
	defer consumer.Process.Kill()
	// Wait until the consumer owns the partitions, and a little more for it to resolve
	// LastOffset (or the group's committed offsets, from an earlier run).
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{"user-service"}})
		if err == nil && len(d.Groups) == 1 && d.Groups[0].GroupState == "Stable" && len(d.Groups[0].Members) == 1 &&
			len(d.Groups[0].Members[0].MemberAssignments.Topics) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the seed consumer did not join: %+v %v\n%s", d, err, consumerOut.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	run := func() {
		producer := exec.Command(filepath.Join(dir, "seed-producer"))
		producer.Env = env
		out, err := producer.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "1001 messages written") {
			t.Fatalf("seed producer: %v\n%s", err, out)
		}
	}
	run()
	time.Sleep(3 * time.Second) // the first loop ends, reader2 joins
	run()                       // reader2 reads 5 of these
	done := make(chan error, 1)
	go func() { done <- consumer.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("seed consumer: %v\n%s", err, consumerOut.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("seed consumer did not finish\n%s", consumerOut.String())
	}
	out := consumerOut.String()
	if n := strings.Count(out, "Message: topic=user-events"); n != 1001 {
		t.Errorf("the consumer read %d messages, want 1001\n%.2000s", n, out)
	}
	if n := strings.Count(out, "Committed: partition="); n != 5 {
		t.Errorf("manual section committed %d, want 5", n)
	}
	if strings.Contains(out, "Error reading message") {
		t.Errorf("errors:\n%.2000s", out)
	}
	if !strings.Contains(out, `value={"type":"USER_CREATED","userId":"123"}`) || !strings.Contains(out, "key=key-999 value=value-999") {
		t.Errorf("the seed producer's messages not seen:\n%.1000s", out)
	}
}
