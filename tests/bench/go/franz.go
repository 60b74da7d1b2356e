package main

// franz-go: Produce per record with a promise (its throughput path), Flush at the end; T1 with
// a transactional client (BeginTransaction, Flush, EndTransaction); consume with
// ConsumePartitions + PollFetches.

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func init() {
	libs["franz-go"] = map[string]workloadFunc{"P1": franzProduce, "P2": franzProduce, "P3": franzProduce,
		"S1": franzProduce, "T1": franzProduce, "C1": franzConsume, "P4": franzProduce, "M1": franzIdle}
	l1libs["franz-go"] = franzL1
}

func franzProducerOpts(a *args) []kgo.Opt {
	s := settings(a)
	o := []kgo.Opt{kgo.SeedBrokers(a.bootstrap), kgo.DefaultProduceTopic(a.topic), kgo.ProducerLinger(s.linger),
		kgo.ProducerBatchMaxBytes(1 << 20)}
	if a.workload != "P4" && a.workload != "M1" {
		// P4/M1 keep the default: StickyKeyPartitioner, murmur2 (Java's) for keyed records
		o = append(o, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	}
	if s.acksAll {
		o = append(o, kgo.RequiredAcks(kgo.AllISRAcks()))
	} else {
		o = append(o, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	switch s.compression {
	case "snappy":
		o = append(o, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "zstd":
		o = append(o, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		o = append(o, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	if a.workload == "T1" {
		o = append(o, kgo.TransactionalID("bench-"+a.topic))
	}
	return o
}

func franzProduce(a *args, start func()) (int, int64, uint64, int) {
	cl, err := kgo.NewClient(franzProducerOpts(a)...)
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	ctx := context.Background()
	if err := cl.Ping(ctx); err != nil {
		fail("ping: %v", err)
	}
	v := payload(a.size)
	var mu sync.Mutex
	ok, failed := 0, 0
	var sum uint64
	var firstErr error
	promise := func(r *kgo.Record, err error) {
		mu.Lock()
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
		} else {
			ok++
			sum += crc(r.Value)
		}
		mu.Unlock()
	}
	t1 := a.workload == "T1"
	start()
	for i := 0; i < a.records; i++ {
		if t1 && i%a.txnSize == 0 {
			if i > 0 {
				if err := cl.Flush(ctx); err != nil {
					fail("flush: %v", err)
				}
				if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
					fail("commit: %v", err)
				}
			}
			if err := cl.BeginTransaction(); err != nil {
				fail("begin: %v", err)
			}
		}
		if a.workload == "P4" {
			cl.Produce(ctx, &kgo.Record{Key: p4Keys[i%len(p4Keys)], Value: v}, promise)
		} else {
			cl.Produce(ctx, &kgo.Record{Value: v}, promise)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		fail("flush: %v", err)
	}
	if t1 {
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			fail("commit: %v", err)
		}
	}
	if firstErr != nil {
		println("delivery failed:", firstErr.Error())
	}
	return ok, int64(ok) * int64(a.size), sum, failed
}

func franzConsumer(a *args) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.bootstrap), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{a.topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		fail("client: %v", err)
	}
	return cl
}

func franzConsume(a *args, start func()) (int, int64, uint64, int) {
	cl := franzConsumer(a)
	defer cl.Close()
	n := 0
	var nb int64
	var sum uint64
	start()
	idle := time.Now()
	for n < a.records {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		for _, e := range fs.Errors() {
			if e.Err != context.DeadlineExceeded {
				fail("fetch: %v", e.Err)
			}
		}
		got := 0
		fs.EachRecord(func(r *kgo.Record) {
			got++
			nb += int64(len(r.Value))
			sum += crc(r.Value)
		})
		n += got
		if got > 0 {
			idle = time.Now()
		} else if time.Since(idle) > 30*time.Second {
			fail("no record for 30 s after %d", n)
		}
	}
	return n, nb, sum, 0
}

// M1: a client that produced one record to each topic (Record.Topic) and flushed, then idle; or a
// client with ConsumePartitions of every partition (AtStart), PollFetches with a 1 s deadline.
func franzIdle(a *args, start func()) (int, int64, uint64, int) {
	v := payload(a.size)
	topics := m1Topics(a)
	ctx := context.Background()
	if a.role == "producer" {
		cl, err := kgo.NewClient(franzProducerOpts(a)...)
		if err != nil {
			fail("client: %v", err)
		}
		defer cl.Close()
		for _, t := range topics {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: t, Key: []byte("k0"), Value: v}).FirstErr(); err != nil {
				fail("produce: %v", err)
			}
		}
		m1Idle(a, nil, start)
		return len(topics), int64(len(topics) * a.size), uint64(len(topics)) * crc(v), 0
	}
	parts := map[string]map[int32]kgo.Offset{}
	for _, t := range topics {
		parts[t] = map[int32]kgo.Offset{}
		for p := 0; p < a.partitions; p++ {
			parts[t][int32(p)] = kgo.NewOffset().AtStart()
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(a.bootstrap), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumePartitions(parts))
	if err != nil {
		fail("client: %v", err)
	}
	defer cl.Close()
	n := 0
	var sum uint64
	poll := func(until time.Time) {
		c, cancel := context.WithDeadline(ctx, until)
		fs := cl.PollFetches(c)
		cancel()
		for _, e := range fs.Errors() {
			if e.Err != context.DeadlineExceeded {
				fail("fetch: %v", e.Err)
			}
		}
		fs.EachRecord(func(r *kgo.Record) { n++; sum += crc(r.Value) })
	}
	for n < a.records {
		poll(time.Now().Add(time.Second))
	}
	m1Idle(a, func(until time.Time) { poll(earliest(until, time.Now().Add(time.Second))) }, start)
	return n, int64(n * a.size), sum, 0
}

type franzL1Client struct{ p, c *kgo.Client }

func franzL1(a *args) l1Client {
	p, err := kgo.NewClient(franzProducerOpts(a)...)
	if err != nil {
		fail("client: %v", err)
	}
	return &franzL1Client{p: p, c: franzConsumer(a)}
}

func (c *franzL1Client) send(v []byte) {
	c.p.Produce(context.Background(), &kgo.Record{Value: v}, func(_ *kgo.Record, err error) {
		if err != nil {
			fail("L1 delivery: %v", err)
		}
	})
}

func (c *franzL1Client) poll(d time.Duration) [][]byte {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out [][]byte
	c.c.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r.Value) })
	return out
}

func (c *franzL1Client) close() {
	if err := c.p.Flush(context.Background()); err != nil {
		fail("L1 flush: %v", err)
	}
	c.p.Close()
	c.c.Close()
}
