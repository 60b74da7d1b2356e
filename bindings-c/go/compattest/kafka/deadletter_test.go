package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

func groupReader(t *testing.T, g string, topics ...string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: g, GroupTopics: topics, MaxWait: 200 * time.Millisecond})
}

// handled records what the handler saw, in order.
type handled struct {
	mu     sync.Mutex
	events []string // "p/offset"
}

func (h *handled) add(m kafka.Message) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fmt.Sprintf("%d/%d", m.Partition, m.Offset))
	return len(h.events) - 1
}

func (h *handled) indexes(event string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for i, e := range h.events {
		if e == event {
			out = append(out, i)
		}
	}
	return out
}

// goProcess runs d.Process on its own goroutine with a handler that records each message in h
// and returns what outcome says.
func goProcess(ctx context.Context, d *kafka.DeadLetterReader, h *handled, outcome func(kafka.Message) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- d.Process(ctx, func(_ context.Context, m kafka.Message) error {
			h.add(m)
			return outcome(m)
		})
	}()
	return done
}

func committed(t *testing.T, g, topic string, partitions ...int) []int64 {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	resp, err := c.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: g, Topics: map[string][]int{topic: partitions}})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int64, len(partitions))
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// A message whose handler keeps failing is tried 3 times (its partition paused between tries
// while the other partition's messages are handled), then written to the dead-letter topic
// with its key, value and headers plus the dead-letter headers; the offsets committed after it
// are past it, and the next message of its partition is handled after it.
func TestDeadLetterReaderRetriesThenDeadLetters(t *testing.T) {
	topic, dlq, g := newTopic(t, 2), newTopic(t, 1), group(t)
	produce(t, topic, 0, 3, "v")
	produce(t, topic, 1, 5, "w")
	r := groupReader(t, g, topic)
	defer r.Close()
	d, err := kafka.NewDeadLetterReader(r, kafka.DeadLetterConfig{Topic: dlq, MaxRetries: 2, BackoffMin: time.Second, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var h handled
	ctx, cancel := context.WithCancel(context.Background())
	done := goProcess(ctx, d, &h, func(m kafka.Message) error {
		if m.Partition == 0 && m.Offset == 1 {
			return errors.New("cannot handle v-1")
		}
		if len(h.indexes("0/2"))+len(h.indexes("1/4")) == 2 {
			cancel() // the last message of each partition: done
		}
		return nil
	})
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Process: %v", err)
		}
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("not done after 60 s; handled %v", h.events)
	}
	tries := h.indexes("0/1")
	if len(tries) != 3 {
		t.Fatalf("v-1 handled %d times, want 3: %v", len(tries), h.events)
	}
	for i := 0; i < 5; i++ {
		if got := h.indexes(fmt.Sprintf("1/%d", i)); len(got) != 1 || got[0] > tries[2] {
			t.Errorf("w-%d handled at %v, not once while v-1 waited (tries at %v)", i, got, tries)
		}
	}
	if next := h.indexes("0/2"); len(next) != 1 || next[0] < tries[2] || len(h.indexes("0/0")) != 1 {
		t.Errorf("partition 0 out of order: %v", h.events)
	}
	copies := readBack(t, dlq, 1, 1)[0]
	if len(copies) != 1 {
		t.Fatalf("%d copies in the dead-letter topic", len(copies))
	}
	c := copies[0]
	headers := map[string]string{}
	for _, hd := range c.Headers {
		headers[hd.Key] = string(hd.Value)
	}
	want := map[string]string{"h": "1", "retry-count": "2", "original-topic": topic, "original-partition": "0", "original-offset": "1",
		"error": "cannot handle v-1", "error-type": "*errors.errorString"}
	if string(c.Key) != "k-1" || string(c.Value) != "v-1" || fmt.Sprint(headers) != fmt.Sprint(want) {
		t.Errorf("copy %q=%q headers %v, want %v", c.Key, c.Value, headers, want)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	r.Close()
	if got := committed(t, g, topic, 0, 1); got[0] != 3 || got[1] != 5 {
		t.Errorf("committed %v, want [3 5]", got)
	}
}

// An error wrapping ErrNoRetry dead-letters at once (retry-count 0) and the handler's ctx is
// the one given to Process.
func TestDeadLetterReaderNoRetry(t *testing.T) {
	topic, dlq, g := newTopic(t, 1), newTopic(t, 1), group(t)
	produce(t, topic, 0, 2, "v")
	r := groupReader(t, g, topic)
	defer r.Close()
	d, err := kafka.NewDeadLetterReader(r, kafka.DeadLetterConfig{Topic: dlq})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var h handled
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = d.Process(ctx, func(_ context.Context, m kafka.Message) error {
		h.add(m)
		if m.Offset == 0 {
			return fmt.Errorf("undecodable: %w", kafka.ErrNoRetry)
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || strings.Join(h.events, " ") != "0/0 0/1" {
		t.Fatalf("Process: %v, handled %v", err, h.events)
	}
	copies := readBack(t, dlq, 1, 1)[0]
	for _, hd := range copies[0].Headers {
		if hd.Key == "retry-count" && string(hd.Value) != "0" {
			t.Errorf("retry-count %s", hd.Value)
		}
	}
	r.Close()
	if got := committed(t, g, topic, 0); got[0] != 2 {
		t.Errorf("committed %v, want [2]", got)
	}
}

func TestDeadLetterReaderBadConfig(t *testing.T) {
	topic, g := newTopic(t, 1), group(t)
	plain := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic})
	defer plain.Close()
	if _, err := kafka.NewDeadLetterReader(plain, kafka.DeadLetterConfig{}); err == nil || !strings.Contains(err.Error(), "GroupID") {
		t.Errorf("a reader without GroupID: %v", err)
	}
	r := groupReader(t, g, topic)
	defer r.Close()
	for _, c := range []struct {
		config kafka.DeadLetterConfig
		want   string
	}{
		{kafka.DeadLetterConfig{BackoffMultiplier: 0.5}, "BackoffMultiplier"},
		{kafka.DeadLetterConfig{BackoffMin: -time.Second}, "negative backoff"},
		{kafka.DeadLetterConfig{BackoffMin: 2 * time.Second, BackoffMax: time.Second}, "max backoff"},
		{kafka.DeadLetterConfig{Producer: map[string]string{"no.such.key": "1"}}, "no.such.key"},
	} {
		_, err := kafka.NewDeadLetterReader(r, c.config)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", c.config, err, c.want)
		}
	}
	r.Close()
	if _, err := kafka.NewDeadLetterReader(r, kafka.DeadLetterConfig{}); err == nil {
		t.Error("a closed reader: no error")
	}
}

// With a RetryTopic a failed message is re-published there (and its offset committed); the
// copy is handled once due, and after the last retry dead-lettered naming the original place.
// With a CommitInterval the handled offsets are committed by the engine (here on Close).
func TestDeadLetterReaderRetryTopic(t *testing.T) {
	topic, retry, dlq, g := newTopic(t, 1), newTopic(t, 1), newTopic(t, 1), group(t)
	produce(t, topic, 0, 3, "v")
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: g, GroupTopics: []string{topic, retry},
		MaxWait: 200 * time.Millisecond, CommitInterval: time.Hour})
	defer r.Close()
	d, err := kafka.NewDeadLetterReader(r, kafka.DeadLetterConfig{Topic: dlq, RetryTopic: retry, MaxRetries: 1, BackoffMin: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var h handled
	ctx, cancel := context.WithCancel(context.Background())
	done := goProcess(ctx, d, &h, func(m kafka.Message) error {
		if string(m.Value) == "v-1" {
			return errors.New("v-1 fails")
		}
		return nil
	})
	copies := readBack(t, dlq, 1, 1)[0] // waits for the dead letter
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Process: %v (handled %v)", err, h.events)
	}
	// v-0, v-1 (fails: to the retry topic), v-2, then the retry-topic copy once due (fails:
	// dead letter): the first record of the retry topic handled once.
	if got := strings.Join(h.events, " "); got != "0/0 0/1 0/2 0/0" {
		t.Errorf("handled %v", got)
	}
	headers := map[string]string{}
	for _, hd := range copies[0].Headers {
		headers[hd.Key] = string(hd.Value)
	}
	if string(copies[0].Value) != "v-1" || headers["original-topic"] != topic || headers["original-offset"] != "1" || headers["retry-count"] != "1" || headers["h"] != "1" {
		t.Errorf("copy %q headers %v", copies[0].Value, headers)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	r.Close()
	if got := committed(t, g, topic, 0); got[0] != 3 {
		t.Errorf("committed %v, want [3]", got)
	}
	if got := committed(t, g, retry, 0); got[0] != 1 {
		t.Errorf("retry topic committed %v, want [1]", got)
	}
}
