//go:build confluent

package main

// confluent-kafka-go (librdkafka, statically linked through cgo: built only with -tags confluent,
// so the other Go clients build where it does not link). Produce per record with the delivery
// reports read from Events(); consume with an assigned partition and Poll.

import (
	"context"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

func init() {
	libs["confluent"] = map[string]workloadFunc{"P1": ckProduce, "P2": ckProduce, "P3": ckProduce,
		"S1": ckProduce, "T1": ckProduce, "C1": ckConsume, "P4": ckProduce}
	l1libs["confluent"] = ckL1
}

func ckConfig(a *args) *kafka.ConfigMap {
	s := settings(a)
	c := &kafka.ConfigMap{"bootstrap.servers": a.bootstrap, "batch.size": 1 << 20,
		"linger.ms": int(s.linger / time.Millisecond), "compression.type": s.compression,
		"acks": "1", "enable.idempotence": s.idempotent,
		"queue.buffering.max.messages": 1000000, "queue.buffering.max.kbytes": 1048576}
	if s.acksAll {
		(*c)["acks"] = "all"
	}
	if a.workload == "T1" {
		(*c)["transactional.id"] = "bench-" + a.topic
	}
	if a.workload == "P4" {
		(*c)["partitioner"] = "murmur2_random" // Java's hash for keys (librdkafka's default: consistent_random, CRC-32)
	}
	return c
}

func ckProduce(a *args, start func()) (int, int64, uint64, int) {
	p, err := kafka.NewProducer(ckConfig(a))
	if err != nil {
		fail("producer: %v", err)
	}
	defer p.Close()
	t1 := a.workload == "T1"
	ctx := context.Background()
	if t1 {
		if err := p.InitTransactions(ctx); err != nil {
			fail("init: %v", err)
		}
	}
	ok, failed := 0, 0
	var sum uint64
	done := make(chan struct{})
	go func() {
		for ev := range p.Events() {
			if m, is := ev.(*kafka.Message); is {
				if m.TopicPartition.Error != nil {
					if failed == 0 {
						println("delivery failed:", m.TopicPartition.Error.Error())
					}
					failed++
				} else {
					ok++
					sum += crc(m.Value)
				}
				if ok+failed == a.records {
					close(done)
					return
				}
			}
		}
	}()
	v := payload(a.size)
	topic := a.topic
	tp := kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny}
	start()
	for i := 0; i < a.records; i++ {
		if t1 && i%a.txnSize == 0 {
			if i > 0 {
				if err := p.CommitTransaction(ctx); err != nil {
					fail("commit: %v", err)
				}
			}
			if err := p.BeginTransaction(); err != nil {
				fail("begin: %v", err)
			}
		}
		for {
			m := &kafka.Message{TopicPartition: tp, Value: v}
			if a.workload == "P4" {
				m.Key = p4Keys[i%len(p4Keys)]
			}
			err := p.Produce(m, nil)
			if err == nil {
				break
			}
			if e, is := err.(kafka.Error); is && e.Code() == kafka.ErrQueueFull {
				time.Sleep(time.Millisecond)
				continue
			}
			fail("produce: %v", err)
		}
	}
	if t1 {
		if err := p.CommitTransaction(ctx); err != nil {
			fail("commit: %v", err)
		}
	}
	p.Flush(300000)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		fail("delivery reports missing: %d ok, %d failed", ok, failed)
	}
	return ok, int64(ok) * int64(a.size), sum, failed
}

func ckConsumer(a *args) *kafka.Consumer {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": a.bootstrap, "group.id": "bench-" + a.topic,
		"enable.auto.commit": false, "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
	if err != nil {
		fail("consumer: %v", err)
	}
	topic := a.topic
	if err := c.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: 0, Offset: kafka.OffsetBeginning}}); err != nil {
		fail("assign: %v", err)
	}
	return c
}

func ckConsume(a *args, start func()) (int, int64, uint64, int) {
	c := ckConsumer(a)
	defer c.Close()
	n := 0
	var nb int64
	var sum uint64
	start()
	idle := time.Now()
	for n < a.records {
		switch e := c.Poll(500).(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				fail("consume: %v", e.TopicPartition.Error)
			}
			n++
			nb += int64(len(e.Value))
			sum += crc(e.Value)
			idle = time.Now()
		case kafka.Error:
			fail("consume: %v", e)
		default:
			if time.Since(idle) > 30*time.Second {
				fail("no record for 30 s after %d", n)
			}
		}
	}
	return n, nb, sum, 0
}

type ckL1Client struct {
	p *kafka.Producer
	c *kafka.Consumer
	t string
}

func ckL1(a *args) l1Client {
	p, err := kafka.NewProducer(ckConfig(a))
	if err != nil {
		fail("producer: %v", err)
	}
	go func() {
		for ev := range p.Events() {
			if m, is := ev.(*kafka.Message); is && m.TopicPartition.Error != nil {
				fail("L1 delivery: %v", m.TopicPartition.Error)
			}
		}
	}()
	return &ckL1Client{p: p, c: ckConsumer(a), t: a.topic}
}

func (c *ckL1Client) send(v []byte) {
	if err := c.p.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &c.t, Partition: kafka.PartitionAny}, Value: v}, nil); err != nil {
		fail("L1 produce: %v", err)
	}
}

func (c *ckL1Client) poll(d time.Duration) [][]byte {
	var out [][]byte
	ms := int(d / time.Millisecond)
	for {
		switch e := c.c.Poll(ms).(type) {
		case *kafka.Message:
			out = append(out, e.Value)
			ms = 0
			continue
		case kafka.Error:
			fail("L1 consume: %v", e)
		}
		return out
	}
}

func (c *ckL1Client) close() { c.p.Close(); c.c.Close() }
