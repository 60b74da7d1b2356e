// A benchmark (not a test): produce and consume throughput and CPU per message of polykafka's
// Go package, kafka-go and franz-go against the same broker, in one process each run.
//
//	cargo build --release -p polykafka-c && cd tests/bench/go && go run . -n 200000
//
// Every client writes n messages of -size bytes to its own 3-partition topic, WriteMessages /
// ProduceSync calls of -batch messages, acks=all; then reads n messages from the topic
// polykafka wrote, as a new consumer group (no commits). CPU is user+system time of the whole
// process (getrusage), so the Rust engine's threads are counted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"syscall"
	"time"

	pk "github.com/polykafka/polykafka/bindings-c/go"
	skg "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	n     = flag.Int("n", 200000, "messages per run")
	size  = flag.Int("size", 100, "value size in bytes")
	batch = flag.Int("batch", 1000, "messages per write call")
	addr  = flag.String("broker", "", "bootstrap address (default KAFKA_BOOTSTRAP or 127.0.0.1:9092)")
)

type result struct {
	client, op string
	elapsed    time.Duration
	cpu        time.Duration
	msgs       int
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(client, op string, f func() int) result {
	runtime.GC()
	c0, t0 := cpuTime(), time.Now()
	msgs := f()
	return result{client, op, time.Since(t0), cpuTime() - c0, msgs}
}

func createTopic(name string) {
	c := &pk.Client{Addr: pk.TCP(*addr)}
	defer c.Close()
	resp, err := c.CreateTopics(context.Background(), &pk.CreateTopicsRequest{Topics: []pk.TopicConfig{{Topic: name, NumPartitions: 3, ReplicationFactor: 1}}})
	if err != nil || resp.Errors[name] != nil {
		log.Fatalf("create %s: %v %v", name, err, resp)
	}
}

func values() [][]byte {
	v := make([][]byte, *batch)
	for i := range v {
		v[i] = make([]byte, *size)
		for j := range v[i] {
			v[i][j] = byte('a' + (i+j)%26)
		}
	}
	return v
}

func producePolykafka(topic string) int {
	w := &pk.Writer{Addr: pk.TCP(*addr), Topic: topic, RequiredAcks: pk.RequireAll, BatchSize: *batch, BatchTimeout: 5 * time.Millisecond, Balancer: pk.Murmur2Balancer{}}
	defer w.Close()
	vals, msgs := values(), make([]pk.Message, *batch)
	for sent := 0; sent < *n; sent += *batch {
		for i := range msgs {
			msgs[i] = pk.Message{Key: []byte(fmt.Sprint(sent + i)), Value: vals[i]}
		}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			log.Fatal(err)
		}
	}
	return *n
}

func produceKafkaGo(topic string) int {
	w := &skg.Writer{Addr: skg.TCP(*addr), Topic: topic, RequiredAcks: skg.RequireAll, BatchSize: *batch, BatchTimeout: 5 * time.Millisecond, Balancer: skg.Murmur2Balancer{}}
	defer w.Close()
	vals, msgs := values(), make([]skg.Message, *batch)
	for sent := 0; sent < *n; sent += *batch {
		for i := range msgs {
			msgs[i] = skg.Message{Key: []byte(fmt.Sprint(sent + i)), Value: vals[i]}
		}
		if err := w.WriteMessages(context.Background(), msgs...); err != nil {
			log.Fatal(err)
		}
	}
	return *n
}

func produceFranz(topic string) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(*addr), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	vals, recs := values(), make([]*kgo.Record, *batch)
	for sent := 0; sent < *n; sent += *batch {
		for i := range recs {
			recs[i] = &kgo.Record{Key: []byte(fmt.Sprint(sent + i)), Value: vals[i]}
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			log.Fatal(err)
		}
	}
	return *n
}

func consumePolykafka(topic string) int {
	r := pk.NewReader(pk.ReaderConfig{Brokers: []string{*addr}, GroupID: fmt.Sprintf("bench-pk-%d", time.Now().UnixNano()), Topic: topic, MaxBytes: 10e6, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for i := 0; i < *n; i++ {
		if _, err := r.FetchMessage(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	return *n
}

func consumeKafkaGo(topic string) int {
	r := skg.NewReader(skg.ReaderConfig{Brokers: []string{*addr}, GroupID: fmt.Sprintf("bench-kgo-%d", time.Now().UnixNano()), Topic: topic, MaxBytes: 10e6, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	for i := 0; i < *n; i++ {
		if _, err := r.FetchMessage(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	return *n
}

func consumeFranz(topic string) int {
	cl, err := kgo.NewClient(kgo.SeedBrokers(*addr), kgo.ConsumerGroup(fmt.Sprintf("bench-franz-%d", time.Now().UnixNano())),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < *n {
		fs := cl.PollFetches(context.Background())
		if errs := fs.Errors(); len(errs) > 0 {
			log.Fatal(errs)
		}
		fs.EachRecord(func(*kgo.Record) { got++ })
	}
	return got
}

func main() {
	flag.Parse()
	if *addr == "" {
		*addr = os.Getenv("KAFKA_BOOTSTRAP")
	}
	if *addr == "" {
		*addr = "127.0.0.1:9092"
	}
	stamp := time.Now().Unix()
	topics := map[string]string{}
	for _, c := range []string{"polykafka", "kafka-go", "franz-go"} {
		topics[c] = fmt.Sprintf("bench-go-%s-%d", c, stamp)
		createTopic(topics[c])
	}
	var results []result
	results = append(results,
		measure("polykafka", "produce", func() int { return producePolykafka(topics["polykafka"]) }),
		measure("kafka-go", "produce", func() int { return produceKafkaGo(topics["kafka-go"]) }),
		measure("franz-go", "produce", func() int { return produceFranz(topics["franz-go"]) }),
		measure("polykafka", "consume", func() int { return consumePolykafka(topics["polykafka"]) }),
		measure("kafka-go", "consume", func() int { return consumeKafkaGo(topics["polykafka"]) }),
		measure("franz-go", "consume", func() int { return consumeFranz(topics["polykafka"]) }),
	)
	fmt.Printf("%d messages of %d bytes, %d per call, acks=all, 3 partitions, broker %s, GOMAXPROCS %d\n\n", *n, *size, *batch, *addr, runtime.GOMAXPROCS(0))
	fmt.Printf("%-10s %-8s %10s %12s %10s %14s\n", "client", "op", "seconds", "msgs/s", "MB/s", "CPU µs/msg")
	for _, r := range results {
		secs := r.elapsed.Seconds()
		fmt.Printf("%-10s %-8s %10.2f %12.0f %10.1f %14.2f\n", r.client, r.op, secs, float64(r.msgs)/secs,
			float64(r.msgs)*float64(*size)/secs/1e6, float64(r.cpu.Microseconds())/float64(r.msgs))
	}
}
