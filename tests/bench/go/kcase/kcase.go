// Package kcase is what the Go adapters of the streams cases K1 and K2 (tests/bench/README.md) share,
// whatever library runs the topology: the harness's arguments, the record index in an input value,
// and the measured window with its one JSON line. Its own module without dependencies, so that each
// adapter keeps its library's dependency tree to itself (bench-go-streams: polykafka's Go package;
// bench-goka: goka and IBM/sarama).
package kcase

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Args are the harness's arguments of a streams case.
type Args struct {
	Workload, Bootstrap, Topic string
	Records, Size, Keys        int64
}

// Out is the case's output topic.
func (a Args) Out() string { return a.Topic + "-out" }

// K1Kept is how many of the input's records K1's filter keeps (index % 4 != 0).
func (a Args) K1Kept() int64 { return a.Records - (a.Records+3)/4 }

// Parse reads the arguments the harness appends:
//
//	--workload K1|K2 --bootstrap H:P --topic T --records N --size B [--keys K] [--partitions P]
func Parse() Args {
	var a Args
	flag.StringVar(&a.Workload, "workload", "", "K1 K2")
	flag.StringVar(&a.Bootstrap, "bootstrap", "", "host:port")
	flag.StringVar(&a.Topic, "topic", "", "input topic (the output is <topic>-out)")
	flag.Int64Var(&a.Records, "records", 1_000_000, "records in the input")
	flag.Int64Var(&a.Size, "size", 100, "value size")
	flag.Int64Var(&a.Keys, "keys", 10_000, "K2's keys")
	flag.Int("partitions", 1, "partitions (the harness's; unused)")
	flag.Parse()
	switch {
	case a.Workload != "K1" && a.Workload != "K2":
		Die("unknown workload %q (K1 or K2)", a.Workload)
	case a.Bootstrap == "" || a.Topic == "":
		Die("--bootstrap and --topic are required")
	case a.Records <= 0 || a.Keys <= 0:
		Die("--records and --keys must be positive, got %d and %d", a.Records, a.Keys)
	}
	return a
}

// Die prints the error on stderr and exits 1 (the harness reports a failed run).
func Die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "error: "+format+"\n", args...)
	os.Exit(1)
}

// ErrShortValue: an input value too short to hold the record index (not what the harness writes).
var ErrShortValue = errors.New("input value shorter than 8 bytes (no record index)")

// Index is the record index in the first 8 bytes of an input value (big-endian).
func Index(v []byte) (int64, error) {
	if len(v) < 8 {
		return 0, fmt.Errorf("%w: %d bytes", ErrShortValue, len(v))
	}
	return int64(binary.BigEndian.Uint64(v[:8])), nil
}

// Key is K2's key of record i: "k<i % keys>".
func (a Args) Key(i int64) string { return fmt.Sprintf("k%d", i%a.Keys) }

func usage() (cpu float64, rssKB int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9, ru.Maxrss
}

// Window measures a run: from Begin (the first record a user function sees) to Report (after the
// library's close), with startup_s from Start to Begin. Done is closed when every output was
// produced (K1: Kept reached K1Kept; K2: the latest counts given to Count add up to the records).
type Window struct {
	a        Args
	started  time.Time
	first    sync.Once
	t0       time.Time
	cpu0     float64
	done     chan struct{}
	finished atomic.Bool
	kept     int64
	last     map[string]int64
	total    int64
}

// NewWindow is the window of the run of a.
func NewWindow(a Args) *Window {
	return &Window{a: a, done: make(chan struct{}), last: map[string]int64{}}
}

// Start marks the application's start (before its group join).
func (w *Window) Start() { w.started = time.Now() }

// Begin opens the window at the first call; cheap after it.
func (w *Window) Begin() { w.first.Do(func() { w.t0 = time.Now(); w.cpu0, _ = usage() }) }

// Done is closed when every output was produced.
func (w *Window) Done() <-chan struct{} { return w.done }

func (w *Window) finish() {
	if w.finished.CompareAndSwap(false, true) {
		close(w.done)
	}
}

// Kept counts one record through K1's map (called from one goroutine at a time).
func (w *Window) Kept() {
	if w.kept++; w.kept == w.a.K1Kept() {
		w.finish()
	}
}

// Count takes K2's latest count of a key (called from one goroutine at a time).
func (w *Window) Count(key string, c int64) {
	w.total += c - w.last[key]
	w.last[key] = c
	if w.total == w.a.Records {
		w.finish()
	}
}

// Report prints the run's JSON line; call it when the library's close has returned.
func (w *Window) Report(client string) {
	end := time.Now()
	cpu, rss := usage()
	line, _ := json.Marshal(map[string]any{
		"client": client, "workload": w.a.Workload, "records": w.a.Records, "bytes": w.a.Records * w.a.Size,
		"seconds": end.Sub(w.t0).Seconds(), "cpu_s": cpu - w.cpu0, "rss_kb": rss, "checksum": nil,
		"latency_ms": nil, "startup_s": w.t0.Sub(w.started).Seconds(),
	})
	fmt.Println(string(line))
}
