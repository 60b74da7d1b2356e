package kafka_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

// The seed document's Go programs, with only the import path changed, build and run.
func TestSeedPrograms(t *testing.T) {
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	resp, err := c.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "user-events", NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil || (resp.Errors["user-events"] != nil && !errors.Is(resp.Errors["user-events"], kafka.TopicAlreadyExists)) {
		t.Fatalf("create user-events: %v %v", err, resp)
	}
	dir := t.TempDir()
	for _, name := range []string{"seed-producer", "seed-consumer"} {
		bin := filepath.Join(dir, name)
		build := exec.Command("go", "build", "-o", bin, "./examples/"+name)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	run := exec.Command(filepath.Join(dir, "seed-producer"))
	run.Env = append(os.Environ(), "KAFKA_BOOTSTRAP="+bootstrap(t))
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1001 messages written") {
		t.Fatalf("seed producer: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	out, err = exec.Command(filepath.Join(dir, "seed-consumer"), "-once").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "not implemented yet") {
		t.Fatalf("seed consumer: %v\n%s", err, out)
	}
}
