// The streams cases (K1, K2) of tests/bench/README.md with polykafka's Go streams package
// (bindings-c/go/streams: one cgo call per batch and fused chain of Go functions):
//
//	bench-go-streams --workload K1|K2 --bootstrap H:P --topic T --records N --size B [--keys K]
//
// Reads T (filled by the harness: null keys, the record index in the first 8 bytes of each
// value), writes T-out; application id bench-T; commit.interval.ms 1000, the runtime's defaults
// otherwise. The window runs from the first record a user function sees to the return of Close
// (its last commit); startup_s (start to that first record) is printed beside it. One JSON line.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

func usage() (cpu float64, rssKB int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9, ru.Maxrss
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var workload, bootstrap, topic string
	var records, size, keys, partitions int
	flag.StringVar(&workload, "workload", "", "K1 K2")
	flag.StringVar(&bootstrap, "bootstrap", "", "host:port")
	flag.StringVar(&topic, "topic", "", "input topic (the output is <topic>-out)")
	flag.IntVar(&records, "records", 1_000_000, "records in the input")
	flag.IntVar(&size, "size", 100, "value size")
	flag.IntVar(&keys, "keys", 10_000, "K2's keys")
	flag.IntVar(&partitions, "partitions", 1, "partitions (the harness's; unused)")
	flag.Parse()
	n := int64(records)
	var k1Want int64
	for i := int64(0); i < n; i++ {
		if i%4 != 0 {
			k1Want++
		}
	}

	// The window's start (the first record a user function sees) and its end (every output produced).
	var first sync.Once
	var t0 time.Time
	var cpu0 float64
	begin := func() { first.Do(func() { t0 = time.Now(); cpu0, _ = usage() }) }
	done := make(chan struct{})
	var finished atomic.Bool
	finish := func() {
		if finished.CompareAndSwap(false, true) {
			close(done)
		}
	}
	index := func(v []byte) int64 { return int64(binary.BigEndian.Uint64(v[:8])) }

	b := streams.NewBuilder()
	src := streams.From(b, streams.Bytes, streams.Bytes, topic)
	out := topic + "-out"
	switch workload {
	case "K1":
		var seen int64
		kept := src.Filter(func(_ []byte, v []byte) bool { begin(); return index(v)%4 != 0 })
		streams.MapValues(kept, func(v []byte) ([]byte, error) {
			if seen++; seen == k1Want {
				finish()
			}
			r := make([]byte, 0, len(v))
			return append(append(r, v[8:]...), v[:8]...), nil
		}, streams.Bytes).To(out)
	case "K2":
		last := map[string]int64{}
		var total int64
		grouped := streams.GroupBy(src, func(_ []byte, v []byte) (string, error) {
			begin()
			return fmt.Sprintf("k%d", index(v)%int64(keys)), nil
		}, streams.String).Named("by-key")
		grouped.Count("counts").ToStream().Peek(func(k string, c int64) {
			total += c - last[k]
			last[k] = c
			if total == n {
				finish()
			}
		}).To(out)
	default:
		die("unknown workload %q", workload)
	}
	top, err := b.Build()
	if err != nil {
		die("%v", err)
	}
	s, err := streams.New(top, map[string]string{"application.id": "bench-" + topic, "bootstrap.servers": bootstrap, "commit.interval.ms": "1000"})
	if err != nil {
		die("%v", err)
	}
	failed := make(chan *streams.ProcessingError, 1)
	s.OnError(func(e *streams.ProcessingError) { failed <- e })
	started := time.Now()
	if err := s.Start(context.Background()); err != nil {
		die("%v", err)
	}
	select {
	case <-done:
	case e := <-failed:
		die("the application failed: %v", e)
	case <-time.After(900 * time.Second):
		die("not done after 900 s")
	}
	if ok, err := s.CloseTimeout(60 * time.Second); err != nil || !ok {
		die("close() did not finish within 60 s (%v)", err)
	}
	end := time.Now()
	cpu, rss := usage()
	_ = s.Close()
	line, _ := json.Marshal(map[string]any{
		"client": "polykafka-go-streams", "workload": workload, "records": n, "bytes": n * int64(size),
		"seconds": end.Sub(t0).Seconds(), "cpu_s": cpu - cpu0, "rss_kb": rss, "checksum": nil, "latency_ms": nil,
		"startup_s": t0.Sub(started).Seconds(),
	})
	fmt.Println(string(line))
}
