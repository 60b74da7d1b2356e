package main

// S2/S2C (tests/bench/README.md): the seed's UserEvent through a schema registry with Avro, in
// confluent-kafka-go's schemaregistry API. sr_polykafka.go (ours: the serdes and the Writer/Reader
// of bindings-c/go) and sr_kafkago.go (confluent-kafka-go's serdes, pure Go, with kafka-go's
// Writer/Reader) only open the library: both run srProduce and srConsume below. The schema is
// registered before the window and both serializers use its latest version, so both write the
// same bytes.

import (
	"context"
	"fmt"
	"sync"
	"time"
)

const userEventSchema = `{"type":"record","name":"UserEvent","namespace":"com.example.events","fields":[
{"name":"userId","type":"string"},{"name":"eventType","type":"string"},{"name":"timestamp","type":"long"},
{"name":"metadata","type":["null","string"],"default":null}]}`

const userEventBaseTS = 1764921600000

type userEvent struct {
	UserID    string  `avro:"userId" json:"userId"`
	EventType string  `avro:"eventType" json:"eventType"`
	Timestamp int64   `avro:"timestamp" json:"timestamp"`
	Metadata  *string `avro:"metadata" json:"metadata"`
}

var userEventKinds = [...]string{"USER_CREATED", "USER_UPDATED", "USER_DELETED"}

// userEventAt is record i of every S2/S2C adapter (python-sr, node-sr): the harness checks the
// sum of the decoded timestamps.
func userEventAt(i int) userEvent {
	ev := userEvent{UserID: fmt.Sprintf("user-%d", i%10000), EventType: userEventKinds[i%3], Timestamp: userEventBaseTS + int64(i)}
	if i%2 == 0 {
		m := fmt.Sprintf("m%d", i)
		ev.Metadata = &m
	}
	return ev
}

// srChunk: records per WriteMessages call (as P1 with ~37-byte values: capped at 1,000).
const srChunk = 1000

// srLib is what S2/S2C take from one library, as plain functions, so that srProduce and
// srConsume below are the one code path both libraries run.
type srLib struct {
	serialize   func(ev *userEvent) ([]byte, error)
	deserialize func(value []byte, ev *userEvent) error
	// newWriter opens an async writer whose Completion calls done; write queues one chunk.
	newWriter func(done srDone) (write func(values [][]byte) error, close func() error)
	// newReader opens a reader of partition 0 from the first offset.
	newReader func() (read func(ctx context.Context) ([]byte, error), close func() error)
}

// srDone is a writer's Completion: n records, value(i) the i-th, err their outcome.
type srDone func(n int, value func(i int) []byte, err error)

// srWorkloads registers the schema (its latest version is what both serializers use) and
// gives S2 and S2C over the library that open(a) builds.
func srWorkloads(open func(a *args) srLib) map[string]workloadFunc {
	return map[string]workloadFunc{
		"S2":  func(a *args, start func()) (int, int64, uint64, int) { return srProduce(a, open(a), start) },
		"S2C": func(a *args, start func()) (int, int64, uint64, int) { return srConsume(a, open(a), start) },
	}
}

// srProduce: serialize per record, write chunks of srChunk on an async writer (as P1); the
// outcomes are counted in its Completion, close waits for all. start may be nil (a fill).
func srProduce(a *args, lib srLib, start func()) (int, int64, uint64, int) {
	var mu sync.Mutex
	ok, failed := 0, 0
	var nbytes int64
	var sum uint64
	write, closeWriter := lib.newWriter(func(n int, value func(i int) []byte, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed += n
			return
		}
		ok += n
		for i := 0; i < n; i++ {
			nbytes += int64(len(value(i)))
			sum += crc(value(i))
		}
	})
	if start != nil {
		start()
	}
	for sent := 0; sent < a.records; {
		k := min(srChunk, a.records-sent)
		values := make([][]byte, k)
		for i := range values {
			ev := userEventAt(sent + i)
			v, err := lib.serialize(&ev)
			if err != nil {
				fail("serialize: %v", err)
			}
			values[i] = v
		}
		if err := write(values); err != nil {
			fail("write: %v", err)
		}
		sent += k
	}
	if err := closeWriter(); err != nil {
		fail("close: %v", err)
	}
	return ok, nbytes, sum, failed
}

// srConsume fills the topic first (outside the window), then reads it from the start and
// deserializes each value into a userEvent; the checksum is the sum of the timestamps.
func srConsume(a *args, lib srLib, start func()) (int, int64, uint64, int) {
	if ok, _, _, failed := srProduce(a, lib, nil); ok != a.records || failed != 0 {
		fail("fill: %d written, %d failed", ok, failed)
	}
	read, closeReader := lib.newReader()
	defer closeReader()
	n := 0
	var nb int64
	var sum uint64
	// One deadline for the whole read, as the Node adapter's: a context with a timer per record
	// cost ~0.8 µs a record in the window (a third of polykafka-go's CPU in S2C), the same for
	// both libraries and no work of either.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	for n < a.records {
		v, err := read(ctx)
		if err != nil {
			fail("read after %d: %v", n, err)
		}
		if n == 0 {
			start()
		}
		var ev userEvent
		if err := lib.deserialize(v, &ev); err != nil {
			fail("deserialize record %d: %v", n, err)
		}
		n++
		nb += int64(len(v))
		sum += uint64(ev.Timestamp)
	}
	return n, nb, sum, 0
}
