package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

// Transactions: what an aborted transaction wrote is invisible to a ReadCommitted reader.
func TestTransactionAbortInvisible(t *testing.T) {
	topic := newTopic(t, 1)
	ctx := context.Background()
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, TransactionalID: "go-tx-" + topic, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("outside")}); err == nil {
		t.Error("a transactional write outside a transaction succeeded")
	}
	for _, commit := range []bool{false, true} {
		if err := w.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		v := fmt.Sprintf("committed=%v", commit)
		if err := w.WriteMessages(ctx, kafka.Message{Value: []byte(v)}, kafka.Message{Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
		var err error
		if commit {
			err = w.CommitTransaction(ctx)
		} else {
			err = w.AbortTransaction(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	rc := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic, IsolationLevel: kafka.ReadCommitted, MaxWait: 200 * time.Millisecond})
	defer rc.Close()
	for i := 0; i < 2; i++ {
		m, err := rc.FetchMessage(ctxT(20 * time.Second))
		if err != nil || string(m.Value) != "committed=true" {
			t.Fatalf("read_committed %d: %q %v", i, m.Value, err)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if m, err := rc.FetchMessage(short); err == nil {
		t.Errorf("read_committed saw more: %q at %d", m.Value, m.Offset)
	}
	ru := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: topic, MaxWait: 200 * time.Millisecond})
	defer ru.Close()
	if m, err := ru.FetchMessage(ctxT(20 * time.Second)); err != nil || string(m.Value) != "committed=false" {
		t.Errorf("read_uncommitted sees the aborted ones: %q %v", m.Value, err)
	}
}

// Consume-transform-produce: offsets committed with the transaction, exactly once.
func TestTransactionSendOffsets(t *testing.T) {
	in, out, g := newTopic(t, 1), newTopic(t, 1), group(t)
	produce(t, in, 0, 6, "in")
	ctx := context.Background()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: g, Topic: in, IsolationLevel: kafka.ReadCommitted, MaxWait: 200 * time.Millisecond})
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: out, TransactionalID: "go-ctp-" + out, BatchTimeout: 5 * time.Millisecond, Async: true}
	defer w.Close()
	process := func(n int, commit bool) {
		if err := w.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var batch []kafka.Message
		for i := 0; i < n; i++ {
			m, err := r.FetchMessage(ctxT(20 * time.Second))
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, m)
			if err := w.WriteMessages(ctx, kafka.Message{Value: append([]byte("out:"), m.Value...)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.SendOffsets(ctx, r, batch...); err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := w.CommitTransaction(ctx); err != nil {
				t.Fatal(err)
			}
		} else if err := w.AbortTransaction(ctx); err != nil {
			t.Fatal(err)
		}
	}
	process(3, true)
	process(3, false) // offsets 3..5 not committed
	r.Close()
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g, Topics: map[string][]int{in: {0}}})
	if err != nil || len(resp.Topics[in]) != 1 || resp.Topics[in][0].CommittedOffset != 3 {
		t.Fatalf("committed by the transaction: %+v %v", resp, err)
	}
	if err := w.SendOffsets(ctx, r, kafka.Message{Topic: in}); err == nil {
		t.Error("SendOffsets with a closed reader succeeded")
	}
	plain := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: in})
	defer plain.Close()
	if err := w.SendOffsets(ctx, plain, kafka.Message{Topic: in}); err == nil {
		t.Error("SendOffsets with a reader without GroupID succeeded")
	}
	// The output: the committed transaction's three, read_committed.
	rc := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, Topic: out, IsolationLevel: kafka.ReadCommitted, MaxWait: 200 * time.Millisecond})
	defer rc.Close()
	for i := 0; i < 3; i++ {
		m, err := rc.FetchMessage(ctxT(20 * time.Second))
		if err != nil || string(m.Value) != fmt.Sprintf("out:in-%d", i) {
			t.Fatalf("output %d: %q %v", i, m.Value, err)
		}
	}
	// A restarted reader resumes after the committed transaction's offsets.
	r2 := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: g, Topic: in, MaxWait: 200 * time.Millisecond})
	defer r2.Close()
	if m, err := r2.FetchMessage(ctxT(20 * time.Second)); err != nil || m.Offset != 3 {
		t.Errorf("restart at %d %v, want 3", m.Offset, err)
	}
	if err := (&kafka.Writer{Addr: kafka.TCP(bootstrap(t))}).BeginTransaction(); err == nil {
		t.Error("BeginTransaction without TransactionalID succeeded")
	}
}

func TestIdempotentWriter(t *testing.T) {
	topic := newTopic(t, 1)
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, Idempotent: true, BatchTimeout: 5 * time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), kafka.Message{Value: []byte("a")}, kafka.Message{Value: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	if got := readBack(t, topic, 1, 2); count(got) != 2 {
		t.Errorf("%d messages", count(got))
	}
}

// Group administration: list, describe, offsets, lag, delete.
func TestClientGroups(t *testing.T) {
	topic, g := newTopic(t, 2), group(t)
	produce(t, topic, 0, 5, "a")
	produce(t, topic, 1, 5, "b")
	ctx := context.Background()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{bootstrap(t)}, GroupID: g, Topic: topic, MaxWait: 200 * time.Millisecond})
	for i := 0; i < 7; i++ {
		if _, err := r.ReadMessage(ctxT(20 * time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	defer c.Close()
	desc, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{g}})
	if err != nil || len(desc.Groups) != 1 || desc.Groups[0].GroupState != "Stable" || len(desc.Groups[0].Members) != 1 {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	asg := desc.Groups[0].Members[0].MemberAssignments.Topics
	if len(asg) != 1 || asg[0].Topic != topic || len(asg[0].Partitions) != 2 {
		t.Errorf("assignment: %+v", asg)
	}
	lag, err := c.ConsumerGroupLag(ctx, g)
	total := int64(0)
	for _, l := range lag {
		total += l.Lag
	}
	if err != nil || total != 3 {
		t.Errorf("lag %d: %+v %v", total, lag, err)
	}
	r.Close()
	list, err := c.ListGroups(ctx, &kafka.ListGroupsRequest{})
	found := false
	for _, lg := range list.Groups {
		found = found || (lg.GroupID == g && lg.ProtocolType == "consumer")
	}
	if err != nil || !found {
		t.Errorf("list: %v %v", found, err)
	}
	off, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: g})
	sum := int64(0)
	for _, p := range off.Topics[topic] {
		sum += p.CommittedOffset
	}
	if err != nil || sum != 7 {
		t.Errorf("offsets sum %d: %+v %v", sum, off, err)
	}
	del, err := c.DeleteGroups(ctx, &kafka.DeleteGroupsRequest{GroupIDs: []string{g, g + "-missing"}})
	if err != nil || del.Errors[g] != nil || del.Errors[g+"-missing"] == nil {
		t.Errorf("delete: %+v %v", del, err)
	}
	desc, err = c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{g + "-missing"}})
	if err != nil || len(desc.Groups) != 1 || (!errors.Is(desc.Groups[0].Error, kafka.GroupIdNotFound) && desc.Groups[0].GroupState != "Dead") {
		t.Errorf("describe missing: %+v %v", desc, err)
	}
}
