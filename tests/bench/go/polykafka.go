package main

// polykafka-go: the kafka-go API of bindings-c/go. kafka-go.go is this file with the import
// changed and without P2/T1 (kafka-go has no idempotent or transactional writer).

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	pk "github.com/polykafka/polykafka/bindings-c/go"
)

func init() {
	p := func(a *args, start func()) (int, int64, uint64, int) { return pkProduce(a, start) }
	libs["polykafka"] = map[string]workloadFunc{"P1": p, "P2": p, "P3": p, "P4": p, "S1": p, "T1": p, "C1": pkConsume, "M1": pkIdle}
	l1libs["polykafka"] = pkL1
}

func pkWriter(a *args) *pk.Writer {
	s := settings(a)
	w := &pk.Writer{Addr: pk.TCP(a.bootstrap), Topic: a.topic, Balancer: &pk.RoundRobin{},
		BatchSize: chunk(a), BatchBytes: 1 << 20, BatchTimeout: s.linger, RequiredAcks: pk.RequireOne}
	if s.acksAll {
		w.RequiredAcks = pk.RequireAll
	}
	w.Idempotent = s.idempotent
	if a.workload == "P4" || a.workload == "M1" {
		w.Balancer = &pk.Murmur2Balancer{} // Java's partitioner for the keys
	}
	switch s.compression {
	case "snappy":
		w.Compression = pk.Snappy
	case "zstd":
		w.Compression = pk.Zstd
	}
	return w
}

// Async WriteMessages calls of chunk(a) records (kafka-go's throughput mode), outcomes counted in
// Completion; Close waits for all. T1: sync calls between BeginTransaction and CommitTransaction.
func pkProduce(a *args, start func()) (int, int64, uint64, int) {
	w := pkWriter(a)
	v := payload(a.size)
	var mu sync.Mutex
	ok, failed := 0, 0
	var sum uint64
	var firstErr error
	t1 := a.workload == "T1"
	if t1 {
		w.TransactionalID = "bench-" + a.topic
	} else {
		w.Async = true
		w.Completion = func(msgs []pk.Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed += len(msgs)
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			ok += len(msgs)
			for _, m := range msgs {
				sum += crc(m.Value)
			}
		}
	}
	ctx := context.Background()
	start()
	for sent := 0; sent < a.records; {
		k := min(chunk(a), a.records-sent)
		if t1 && sent%a.txnSize == 0 {
			if sent > 0 {
				if err := w.CommitTransaction(ctx); err != nil {
					fail("commit: %v", err)
				}
			}
			if err := w.BeginTransaction(); err != nil {
				fail("begin: %v", err)
			}
		}
		batch := make([]pk.Message, k) // the writer may keep them (async)
		for i := range batch {
			batch[i] = pk.Message{Value: v}
			if a.workload == "P4" {
				batch[i].Key = p4Keys[(sent+i)%len(p4Keys)]
			}
		}
		if err := w.WriteMessages(ctx, batch...); err != nil {
			fail("write: %v", err)
		}
		if t1 {
			ok += k
			sum += uint64(k) * crc(v)
		}
		sent += k
	}
	if t1 {
		if err := w.CommitTransaction(ctx); err != nil {
			fail("commit: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		fail("close: %v", err)
	}
	if firstErr != nil {
		println("delivery failed:", firstErr.Error())
	}
	return ok, int64(ok) * int64(a.size), sum, failed
}

func pkReader(a *args, startAt int64) *pk.Reader {
	return pk.NewReader(pk.ReaderConfig{Brokers: []string{a.bootstrap}, Topic: a.topic, Partition: 0,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, StartOffset: startAt,
		IsolationLevel: pk.ReadCommitted})
}

func pkConsume(a *args, start func()) (int, int64, uint64, int) {
	r := pkReader(a, pk.FirstOffset)
	defer r.Close()
	// One deadline for the whole window (as sr.go): a context with a timer per record cost ~0.8 µs
	// a record, the same for both libraries and no work of either.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	n := 0
	var nb int64
	var sum uint64
	start()
	for n < a.records {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			fail("read after %d: %v", n, err)
		}
		n++
		nb += int64(len(m.Value))
		sum += crc(m.Value)
	}
	return n, nb, sum, 0
}

// M1: a Writer (Topic per Message) that wrote one record to each topic, then Close-less idle; or a
// group Reader (GroupTopics, a fresh group, FirstOffset) that read what is there, ReadMessage with a
// 1 s deadline while idle.
func pkIdle(a *args, start func()) (int, int64, uint64, int) {
	v := payload(a.size)
	topics := m1Topics(a)
	ctx := context.Background()
	if a.role == "producer" {
		w := pkWriter(a)
		w.Topic = ""
		msgs := make([]pk.Message, len(topics))
		for j, t := range topics {
			msgs[j] = pk.Message{Topic: t, Key: []byte("k0"), Value: v}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			fail("write: %v", err)
		}
		m1Idle(a, nil, start)
		if err := w.Close(); err != nil {
			fail("close: %v", err)
		}
		return len(msgs), int64(len(msgs) * a.size), uint64(len(msgs)) * crc(v), 0
	}
	r := pk.NewReader(pk.ReaderConfig{Brokers: []string{a.bootstrap}, GroupID: fmt.Sprintf("bench-%s-%d", a.topic, os.Getpid()),
		GroupTopics: topics, MinBytes: 1, MaxBytes: 10 << 20, StartOffset: pk.FirstOffset, IsolationLevel: pk.ReadCommitted})
	defer r.Close()
	n := 0
	var sum uint64
	read := func(until time.Time) {
		c, cancel := context.WithDeadline(ctx, until)
		m, err := r.FetchMessage(c)
		cancel()
		if err == nil {
			n++
			sum += crc(m.Value)
		} else if c.Err() == nil {
			fail("read after %d: %v", n, err)
		}
	}
	for n < a.records {
		read(time.Now().Add(time.Second))
	}
	m1Idle(a, func(until time.Time) { read(earliest(until, time.Now().Add(time.Second))) }, start)
	return n, int64(n * a.size), sum, 0
}

type pkL1Client struct {
	w *pk.Writer
	r *pk.Reader
	c chan []byte
}

func pkL1(a *args) l1Client {
	w := pkWriter(a)
	w.BatchSize, w.BatchTimeout, w.Async = 1, time.Millisecond, true
	w.Completion = func(msgs []pk.Message, err error) {
		if err != nil {
			fail("L1 delivery: %v", err)
		}
	}
	c := &pkL1Client{w: w, r: pkReader(a, pk.FirstOffset), c: make(chan []byte, 1<<16)}
	go func() {
		for {
			m, err := c.r.ReadMessage(context.Background())
			if err != nil {
				close(c.c)
				return
			}
			c.c <- m.Value
		}
	}()
	return c
}

func (c *pkL1Client) send(v []byte) {
	if err := c.w.WriteMessages(context.Background(), pk.Message{Value: v}); err != nil {
		fail("L1 write: %v", err)
	}
}

func (c *pkL1Client) poll(d time.Duration) [][]byte {
	var out [][]byte
	select {
	case v, ok := <-c.c:
		if !ok {
			return nil
		}
		out = append(out, v)
	case <-time.After(d):
		return nil
	}
	for {
		select {
		case v, ok := <-c.c:
			if !ok {
				return out
			}
			out = append(out, v)
		default:
			return out
		}
	}
}

func (c *pkL1Client) close() { c.w.Close(); c.r.Close() }
