// The Go clients behind the adapter contract of tests/bench/README.md, in one program:
//
//	bench-go -lib polykafka|kafka-go|franz-go|confluent --workload P1 --bootstrap H:P --topic T --records N --size B ...
//
// polykafka-go (bindings-c/go, the kafka-go API over the Rust engine; needs
// `cargo build --release -p polykafka-c` first) and kafka-go run the same code (kafka-go.go and
// polykafka.go differ only in the import); franz-go and confluent-kafka-go (built only with
// `-tags confluent`: it links librdkafka through cgo) have their own. Prints one JSON line.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"syscall"
	"time"
)

type args struct {
	lib, workload, bootstrap, topic, compression, registry string
	records, size, partitions, txnSize, topics             int
	rate, duration, idle                                   float64
	role                                                   string
}

type result struct {
	Client    string             `json:"client"`
	Workload  string             `json:"workload"`
	Records   int                `json:"records"`
	Bytes     int64              `json:"bytes"`
	Seconds   float64            `json:"seconds"`
	CPU       float64            `json:"cpu_s"`
	RSS       int64              `json:"rss_kb"`
	Checksum  uint64             `json:"checksum"`
	Latency   map[string]float64 `json:"latency_ms"`
	Failed    int                `json:"failed,omitempty"`
	Rate      float64            `json:"rate,omitempty"`
	ChunkSize int                `json:"chunk,omitempty"`
}

// A library: its workloads by id. run returns records, value bytes and checksum of what was
// acknowledged (produce) or consumed (C1); the meter starts when it calls start().
type workloadFunc func(a *args, start func()) (records int, nbytes int64, checksum uint64, failed int)

type l1Client interface {
	send(v []byte)                 // queues one record (linger 0)
	poll(d time.Duration) [][]byte // values received, waiting up to d
	close()
}

var libs = map[string]map[string]workloadFunc{}
var l1libs = map[string]func(a *args) l1Client{}

func usage() (cpu float64, rssKB int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9, ru.Maxrss
}

func payload(size int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = byte(97 + (i*31+7)%26)
	}
	return v
}

func crc(v []byte) uint64 { return uint64(crc32.ChecksumIEEE(v)) }

// chunk: records per write call for the APIs that take a slice (about 1 MiB, at most txn size).
func chunk(a *args) int {
	c := (1 << 20) / (a.size + 8)
	if c < 1 {
		c = 1
	}
	if a.workload == "T1" && c > a.txnSize {
		c = a.txnSize
	}
	return c
}

type settingsT struct {
	acksAll, idempotent bool
	linger              time.Duration
	compression         string
}

func settings(a *args) settingsT {
	s := settingsT{linger: 5 * time.Millisecond, compression: "none"}
	switch a.workload {
	case "P2", "T1", "P4", "M1":
		s.acksAll, s.idempotent = true, true
	case "S1":
		s.compression = a.compression
	case "L1":
		s.linger = 0
	}
	return s
}

// P4: the key of record i is p4Keys[i%10000] ("k<j>"), built once.
var p4Keys = func() [][]byte {
	k := make([][]byte, 10000)
	for j := range k {
		k[j] = []byte(fmt.Sprintf("k%d", j))
	}
	return k
}()

// M1: the topic names <topic>-0 .. <topic>-(topics-1).
func m1Topics(a *args) []string {
	t := make([]string, a.topics)
	for j := range t {
		t[j] = fmt.Sprintf("%s-%d", a.topic, j)
	}
	return t
}

func earliest(x, y time.Time) time.Time {
	if x.Before(y) {
		return x
	}
	return y
}

// m1Idle: the idle window of M1 between the two lines the harness samples /proc at. poll is what the
// application keeps doing meanwhile (nil: nothing, it sleeps); start() restarts the meter after it.
func m1Idle(a *args, poll func(until time.Time), start func()) {
	fmt.Println("M1 idle start")
	until := time.Now().Add(time.Duration(a.idle * float64(time.Second)))
	if poll != nil {
		for time.Now().Before(until) {
			poll(until)
		}
	} else {
		time.Sleep(time.Until(until))
	}
	fmt.Println("M1 idle end")
	time.Sleep(500 * time.Millisecond)
	start()
}

func fail(format string, v ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", v...)
	os.Exit(1)
}

func pct(lat []float64) map[string]float64 {
	sort.Float64s(lat)
	at := func(q float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(math.Ceil(float64(len(lat))*q)) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return lat[i]
	}
	return map[string]float64{"p50": at(0.5), "p99": at(0.99), "p999": at(0.999)}
}

// runL1: one process sends record i at start + i/rate and consumes them; latency = receive time -
// intended send time. A warm-up record ("w", shorter than 8 bytes) goes first, not counted.
func runL1(a *args, c l1Client, start func()) (int, int64, uint64, []float64) {
	c.send([]byte("w"))
	deadline := time.Now().Add(30 * time.Second)
	warm := false
	for !warm && time.Now().Before(deadline) {
		for _, v := range c.poll(100 * time.Millisecond) {
			if len(v) < 8 {
				warm = true
			}
		}
	}
	if !warm {
		fail("L1: the warm-up record did not come back in 30 s")
	}
	total := int(math.Round(a.rate * a.duration))
	period := time.Duration(float64(time.Second) / a.rate)
	start()
	t0 := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		base := payload(max(a.size, 8))
		for i := 0; i < total; i++ {
			if d := time.Until(t0.Add(time.Duration(i) * period)); d > 0 {
				time.Sleep(d)
			}
			v := make([]byte, len(base))
			copy(v, base)
			for k := 0; k < 8; k++ {
				v[k] = byte(uint64(i) >> (56 - 8*k))
			}
			c.send(v)
		}
	}()
	lat := make([]float64, 0, total)
	var sum uint64
	var nbytes int64
	idle := time.Now()
	for len(lat) < total {
		vs := c.poll(100 * time.Millisecond)
		now := time.Now()
		if len(vs) == 0 && time.Since(idle) > 10*time.Second {
			fmt.Fprintf(os.Stderr, "no record for 10 s after %d\n", len(lat))
			break
		}
		for _, v := range vs {
			if len(v) < 8 {
				continue
			}
			var i uint64
			for k := 0; k < 8; k++ {
				i = i<<8 | uint64(v[k])
			}
			intended := t0.Add(time.Duration(i) * period)
			lat = append(lat, float64(now.Sub(intended).Nanoseconds())/1e6)
			sum += crc(v)
			nbytes += int64(len(v))
			idle = now
		}
	}
	wg.Wait()
	return len(lat), nbytes, sum, lat
}

func main() {
	a := &args{}
	flag.StringVar(&a.lib, "lib", "", "polykafka | kafka-go | franz-go | confluent | polykafka-sr | kafka-go-sr")
	flag.StringVar(&a.workload, "workload", "", "P1 P2 P3 C1 L1 T1 S1 S2 S2C")
	flag.StringVar(&a.bootstrap, "bootstrap", "", "host:port")
	flag.StringVar(&a.topic, "topic", "", "topic")
	flag.StringVar(&a.compression, "compression", "none", "snappy | zstd (S1)")
	flag.IntVar(&a.records, "records", 1000000, "records")
	flag.IntVar(&a.size, "size", 100, "value bytes")
	flag.IntVar(&a.partitions, "partitions", 1, "partitions of the topic")
	flag.IntVar(&a.txnSize, "txn-size", 1000, "records per transaction (T1)")
	flag.Float64Var(&a.rate, "rate", 1000, "records/s (L1)")
	flag.Float64Var(&a.duration, "duration", 30, "seconds (L1)")
	flag.StringVar(&a.registry, "registry", "", "schema registry URL (S2, S2C)")
	flag.StringVar(&a.role, "role", "producer", "producer | consumer (M1)")
	flag.IntVar(&a.topics, "topics", 1, "topics <topic>-0 .. (M1)")
	flag.Float64Var(&a.idle, "idle", 30, "idle seconds (M1)")
	flag.Parse()
	names := map[string]string{"polykafka": "polykafka-go", "kafka-go": "kafka-go", "franz-go": "franz-go", "confluent": "confluent-kafka-go",
		"polykafka-sr": "polykafka-go-sr", "kafka-go-sr": "kafka-go-sr"}
	ws, ok := libs[a.lib]
	if !ok {
		fail("library %q is not built into this program (confluent needs -tags confluent)", a.lib)
	}
	var c0 float64
	var t0 time.Time
	started := false
	start := func() {
		c0, _ = usage()
		t0 = time.Now()
		started = true
		if path := os.Getenv("BENCH_CPUPROFILE"); path != "" { // a CPU profile of the window
			if f, err := os.Create(path); err == nil {
				_ = pprof.StartCPUProfile(f) // stopped after the window (below)
			}
		}
	}
	res := result{Client: names[a.lib], Workload: a.workload}
	if a.workload == "L1" {
		mk, ok := l1libs[a.lib]
		if !ok {
			fail("%s: no L1 here", a.lib)
		}
		c := mk(a)
		n, nb, sum, lat := runL1(a, c, start)
		res.Records, res.Bytes, res.Checksum, res.Latency, res.Rate = n, nb, sum, pct(lat), a.rate
		res.Seconds = time.Since(t0).Seconds()
		cpu, rss := usage()
		res.CPU, res.RSS = cpu-c0, rss
		c.close() // flushes the producer: a failed delivery still fails the run
	} else {
		f, ok := ws[a.workload]
		if !ok {
			fail("%s: workload %s not offered", a.lib, a.workload)
		}
		n, nb, sum, failed := f(a, start)
		if !started {
			fail("the workload never started its clock")
		}
		res.Seconds = time.Since(t0).Seconds()
		cpu, rss := usage()
		res.CPU, res.RSS = cpu-c0, rss
		res.Records, res.Bytes, res.Checksum, res.Failed = n, nb, sum, failed
		if a.workload != "C1" && a.workload != "S2C" && a.workload != "M1" {
			res.ChunkSize = chunk(a)
		}
	}
	pprof.StopCPUProfile() // no-op without BENCH_CPUPROFILE
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
}
