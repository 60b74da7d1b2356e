// The streams cases (K1, K2) of tests/bench/README.md with goka (lovoo/goka on IBM/sarama), the
// Go stream processor compared with polykafka-go-streams:
//
//	bench-goka --workload K1|K2 --bootstrap H:P --topic T --records N --size B [--keys K]
//
// Reads T (filled by the harness: null keys, the record index in the first 8 bytes of each value),
// writes T-out; the goka group (the consumer group, goka's application id) is bench-T, so its
// internal topics are bench-T-loop and bench-T-table, which the harness deletes with the others.
// goka's defaults (goka.DefaultConfig: snappy, acks=1, offsets committed every second) except what
// a run here needs: streams read from the oldest offset (the input is filled before the start; goka
// starts at the newest by default) and topics it creates get replication 1 (one broker).
//
// K1: one input edge: filter (index % 4 != 0) and the rotated value emitted to the output edge.
// K2: the input edge emits each record to the group's loop topic keyed by k<index % keys> (goka's
// repartition, ctx.Loopback); the loop edge reads the key's count from the group table (Persist),
// stores count+1 and emits it (8-byte big-endian) to T-out. Unlike Kafka Streams there is no
// record cache: every update is written to the table topic and emitted.
//
// The window (kcase.Window) runs from the first record a callback sees to the return of
// Processor.Run after the context is cancelled (in-flight callbacks and their emits finished, offsets
// committed, producer closed); startup_s (start to that first record) is printed beside it.
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"

	"github.com/polykafka/polykafka/tests/bench/go/kcase"
)

// long is a goka codec for Kafka's Long serde: 8 bytes, big-endian (goka's codec.Int64 is decimal
// text, which the harness's verifier does not read).
type long struct{}

func (long) Encode(v any) ([]byte, error) {
	n, ok := v.(int64)
	if !ok {
		return nil, fmt.Errorf("long codec: a %T to encode, expected int64", v)
	}
	return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
}

func (long) Decode(b []byte) (any, error) {
	if len(b) != 8 {
		return nil, fmt.Errorf("long codec: %d bytes to decode, expected 8", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func main() {
	a := kcase.Parse()
	w := kcase.NewWindow(a)

	// goka's logger prints every rebalance and partition state change: to stderr, as the contract wants.
	logger := log.New(os.Stderr, "goka ", log.LstdFlags)
	if os.Getenv("BENCH_GOKA_QUIET") != "" {
		logger.SetOutput(io.Discard)
	}
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	goka.ReplaceGlobalConfig(cfg)
	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication = 1
	tm.Stream.Replication = 1

	in, out := goka.Stream(a.Topic), goka.Stream(a.Out())
	index := func(ctx goka.Context, msg any) int64 {
		i, err := kcase.Index(msg.([]byte))
		if err != nil {
			ctx.Fail(err) // goka stops the processor: Run returns the error
		}
		return i
	}
	var edges []goka.Edge
	if a.Workload == "K1" {
		edges = []goka.Edge{
			goka.Input(in, new(codec.Bytes), func(ctx goka.Context, msg any) {
				w.Begin()
				if index(ctx, msg)%4 == 0 {
					return
				}
				v := msg.([]byte)
				r := make([]byte, 0, len(v))
				ctx.Emit(out, ctx.Key(), append(append(r, v[8:]...), v[:8]...))
				w.Kept()
			}),
			goka.Output(out, new(codec.Bytes)),
		}
	} else {
		edges = []goka.Edge{
			goka.Input(in, new(codec.Bytes), func(ctx goka.Context, msg any) {
				w.Begin()
				ctx.Loopback(a.Key(index(ctx, msg)), msg)
			}),
			goka.Loop(new(codec.Bytes), func(ctx goka.Context, _ any) {
				var c int64
				if v := ctx.Value(); v != nil {
					c = v.(int64)
				}
				c++
				ctx.SetValue(c)
				ctx.Emit(out, ctx.Key(), c)
				w.Count(ctx.Key(), c)
			}),
			goka.Persist(long{}),
			goka.Output(out, long{}),
		}
	}
	// The group table's local copy: goka's default store (LevelDB), in a directory of this run.
	dir, err := os.MkdirTemp("", "bench-goka-")
	if err != nil {
		kcase.Die("%v", err)
	}
	fail := func(format string, args ...any) {
		os.RemoveAll(dir)
		kcase.Die(format, args...)
	}
	graph := goka.DefineGroup(goka.Group("bench-"+a.Topic), edges...)
	proc, err := goka.NewProcessor([]string{a.Bootstrap}, graph,
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tm)),
		goka.WithStorageBuilder(storage.DefaultBuilder(dir)),
		goka.WithLogger(logger),
	)
	if err != nil {
		fail("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	w.Start()
	go func() { ran <- proc.Run(ctx) }()
	select {
	case <-w.Done():
	case err := <-ran:
		fail("the processor stopped before the end: %v", err)
	case <-time.After(900 * time.Second):
		fail("not done after 900 s")
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			fail("the processor's shutdown failed: %v", err)
		}
	case <-time.After(60 * time.Second):
		fail("Run did not return within 60 s of the cancel")
	}
	w.Report("goka")
	os.RemoveAll(dir)
}
