package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
	kgo "github.com/segmentio/kafka-go"
)

// Context deadlines and cancellation of every blocking call, and the errors of the error paths,
// each body run against kafka-go and ours (the `ops` adapters below).

// slack is how late past its deadline a call may return and still pass: generous, the machine
// is shared.
const slack = 3 * time.Second

// ops is what the context tests call, for one implementation.
type ops struct {
	name string
	// write creates a Writer (RequireAll, BatchTimeout 10 ms) on addr and topic.
	writer func(addr, topic string) valueWriter
	reader func(addr string, c rconf) testReader
	// metadata asks for topics with a fresh client of addr; createTopic creates one.
	metadata    func(ctx context.Context, addr string, topics ...string) error
	createTopic func(ctx context.Context, addr, topic string) error
	listGroups  func(ctx context.Context, addr string) error
	// unknownTopic: the implementation's error for UNKNOWN_TOPIC_OR_PARTITION.
	unknownTopic error
}

type valueWriter interface {
	write(ctx context.Context, values ...string) error
	Close() error
}

type kgoValueWriter struct {
	w *kgo.Writer
	t *kgo.Transport
}

func (k kgoValueWriter) write(ctx context.Context, values ...string) error {
	msgs := make([]kgo.Message, len(values))
	for i, v := range values {
		msgs[i].Value = []byte(v)
	}
	return k.w.WriteMessages(ctx, msgs...)
}

func (k kgoValueWriter) Close() error {
	err := k.w.Close()
	k.t.CloseIdleConnections()
	return err
}

type ourValueWriter struct{ w *kafka.Writer }

func (o ourValueWriter) write(ctx context.Context, values ...string) error {
	msgs := make([]kafka.Message, len(values))
	for i, v := range values {
		msgs[i].Value = []byte(v)
	}
	return o.w.WriteMessages(ctx, msgs...)
}

func (o ourValueWriter) Close() error { return o.w.Close() }

var ctxOps = []ops{
	{
		name: "kafka-go",
		writer: func(addr, topic string) valueWriter {
			tr := &kgo.Transport{}
			return kgoValueWriter{&kgo.Writer{Addr: kgo.TCP(addr), Topic: topic, Transport: tr, RequiredAcks: kgo.RequireAll, BatchTimeout: 10 * time.Millisecond}, tr}
		},
		reader: newKgoReader,
		metadata: func(ctx context.Context, addr string, topics ...string) error {
			tr := &kgo.Transport{}
			defer tr.CloseIdleConnections()
			_, err := (&kgo.Client{Addr: kgo.TCP(addr), Transport: tr}).Metadata(ctx, &kgo.MetadataRequest{Topics: topics})
			return err
		},
		createTopic: func(ctx context.Context, addr, topic string) error {
			tr := &kgo.Transport{}
			defer tr.CloseIdleConnections()
			resp, err := (&kgo.Client{Addr: kgo.TCP(addr), Transport: tr}).CreateTopics(ctx, &kgo.CreateTopicsRequest{Topics: []kgo.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}})
			if err == nil {
				err = resp.Errors[topic]
			}
			return err
		},
		listGroups: func(ctx context.Context, addr string) error {
			tr := &kgo.Transport{}
			defer tr.CloseIdleConnections()
			resp, err := (&kgo.Client{Addr: kgo.TCP(addr), Transport: tr}).ListGroups(ctx, &kgo.ListGroupsRequest{})
			if err == nil {
				err = resp.Error
			}
			return err
		},
		unknownTopic: kgo.UnknownTopicOrPartition,
	},
	{
		name: "polykafka",
		writer: func(addr, topic string) valueWriter {
			return ourValueWriter{&kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, RequiredAcks: kafka.RequireAll, BatchTimeout: 10 * time.Millisecond}}
		},
		reader: newOurReader,
		metadata: func(ctx context.Context, addr string, topics ...string) error {
			c := &kafka.Client{Addr: kafka.TCP(addr)}
			defer c.Close()
			_, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
			return err
		},
		createTopic: func(ctx context.Context, addr, topic string) error {
			c := &kafka.Client{Addr: kafka.TCP(addr)}
			defer c.Close()
			resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}})
			if err == nil {
				err = resp.Errors[topic]
			}
			return err
		},
		listGroups: func(ctx context.Context, addr string) error {
			c := &kafka.Client{Addr: kafka.TCP(addr)}
			defer c.Close()
			resp, err := c.ListGroups(ctx, &kafka.ListGroupsRequest{})
			if err == nil {
				err = resp.Error
			}
			return err
		},
		unknownTopic: kafka.UnknownTopicOrPartition,
	},
}

// deadAddr is an address where nothing listens (a port just released).
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// timed runs f with a context ending after d and checks it returned by d + slack.
func timed(t *testing.T, what string, d time.Duration, f func(ctx context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	if took := time.Since(start); took > d+slack {
		t.Errorf("%s returned after %v, its deadline was %v", what, took.Round(time.Millisecond), d)
	}
	return err
}

// Nothing listens at Addr: kafka-go's Writer, Client and partition Reader fail at once with the
// dial error (a *net.OpError, connection refused), ours the same (it waited ~9 s for
// max.block.ms); a group reader waits for its context.
func TestContextUnreachableBroker(t *testing.T) {
	for _, o := range ctxOps {
		o := o
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			addr := deadAddr(t)
			w := o.writer(addr, "t")
			defer w.Close()
			err := timed(t, "WriteMessages", 3*time.Second, func(ctx context.Context) error { return w.write(ctx, "x") })
			checkUnreachable(t, "WriteMessages", err)
			err = timed(t, "Client.Metadata", 3*time.Second, func(ctx context.Context) error { return o.metadata(ctx, addr, "t") })
			checkUnreachable(t, "Client.Metadata", err)
			r := o.reader(addr, rconf{topic: "t"})
			defer r.Close()
			err = timed(t, "FetchMessage", 3*time.Second, func(ctx context.Context) error { _, err := r.Fetch(ctx); return err })
			checkUnreachable(t, "FetchMessage", err)
			g := o.reader(addr, rconf{topic: "t", group: group(t)})
			defer g.Close()
			err = timed(t, "FetchMessage (group)", 3*time.Second, func(ctx context.Context) error { _, err := g.Fetch(ctx); return err })
			// A group reader retries quietly (kafka-go logs the errors of its group loop).
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("FetchMessage (group): %v, want context.DeadlineExceeded", err)
			}
		})
	}
}

func checkUnreachable(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	var op *net.OpError
	if !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("%s: %v (%T), want a dial *net.OpError, connection refused", what, err, err)
	}
}

// clusterName finds the test cluster (by its bootstrap address) among the clusters the
// launcher started, so that it can freeze it; "" when it is not one of them.
func clusterName(t *testing.T) (string, string) {
	root := testenv.RepoRoot()
	files, _ := filepath.Glob(filepath.Join(root, "build", "cluster", "kafka-*", "cluster.env"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		env := map[string]string{}
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				env[k] = strings.Trim(v, `"'`)
			}
		}
		if env["KAFKA_BOOTSTRAP"] == bootstrap(t) && env["KAFKA_NODES"] == "1" && env["KAFKA_CLUSTER_NAME"] != "" {
			return root, env["KAFKA_CLUSTER_NAME"]
		}
	}
	return root, ""
}

// freeze stops the one node of the test cluster (SIGSTOP: connections stay open, nothing
// answers) and returns the function that resumes it; the test's cleanup resumes it in any case.
func freeze(t *testing.T) func() {
	root, name := clusterName(t)
	if name == "" {
		t.Skipf("the cluster at %s was not started by tests/cluster/kafka with one node: cannot freeze it", bootstrap(t))
	}
	launcher := func(cmd string) {
		c := exec.Command(filepath.Join(root, "tests", "cluster", "kafka"), cmd, "1")
		c.Env = append(os.Environ(), "POLYKAFKA_CLUSTER="+name)
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("kafka %s 1: %v\n%s", cmd, err, out)
		}
	}
	var once sync.Once
	resume := func() { once.Do(func() { launcher("resume") }) }
	launcher("pause")
	t.Cleanup(resume)
	return resume
}

// Every blocking call with a short deadline, while the broker is frozen, returns by its
// deadline (plus slack) with context.DeadlineExceeded, as kafka-go's do. Not parallel: the
// freeze would stall the other tests.
func TestContextFrozenBroker(t *testing.T) {
	addr := bootstrap(t)
	topic := newTopic(t, 1)
	produce(t, topic, 0, 3, "v")
	type env struct {
		o            ops
		warm, fresh  valueWriter
		part, member testReader
		fetched      rmsg
	}
	var envs []*env
	for _, o := range ctxOps {
		e := &env{o: o}
		e.warm = o.writer(addr, topic)
		if err := e.warm.write(ctxT(20*time.Second), "warm"); err != nil {
			t.Fatalf("%s: warm-up write: %v", o.name, err)
		}
		e.fresh = o.writer(addr, topic)
		e.part = o.reader(addr, rconf{topic: topic})
		e.member = o.reader(addr, rconf{topic: topic, group: group(t) + "-" + o.name})
		e.fetched = fetchN(t, e.member, 1, false)[0]
		envs = append(envs, e)
	}
	defer func() {
		for _, e := range envs {
			e.warm.Close()
			e.fresh.Close()
			e.part.Close()
			e.member.Close()
		}
	}()

	resume := freeze(t)
	const d = 2 * time.Second
	type outcome struct {
		impl, call string
		err        error
	}
	var mu sync.Mutex
	var outcomes []outcome
	var wg sync.WaitGroup
	for _, e := range envs {
		e := e
		calls := map[string]func(ctx context.Context) error{
			"WriteMessages (metadata cached)": func(ctx context.Context) error { return e.warm.write(ctx, "frozen") },
			"WriteMessages (first write)":     func(ctx context.Context) error { return e.fresh.write(ctx, "frozen") },
			"FetchMessage (partition)":        func(ctx context.Context) error { _, err := e.part.Fetch(ctx); return err },
			"CommitMessages":                  func(ctx context.Context) error { return e.member.Commit(ctx, e.fetched) },
			"ReadLag":                         func(ctx context.Context) error { _, err := e.part.ReadLag(ctx); return err },
			"Client.Metadata":                 func(ctx context.Context) error { return e.o.metadata(ctx, addr, topic) },
			"Client.CreateTopics":             func(ctx context.Context) error { return e.o.createTopic(ctx, addr, topic+"-frozen") },
			"Client.ListGroups":               func(ctx context.Context) error { return e.o.listGroups(ctx, addr) },
		}
		for name, f := range calls {
			name, f := name, f
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := timed(t, e.o.name+" "+name, d, f)
				mu.Lock()
				outcomes = append(outcomes, outcome{e.o.name, name, err})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	resume()
	for _, oc := range outcomes {
		if !errors.Is(oc.err, context.DeadlineExceeded) {
			t.Errorf("%s %s: %v, want context.DeadlineExceeded", oc.impl, oc.call, oc.err)
		}
	}
}

// Transactions are ours only (kafka-go has none): each transactional call ends with its
// context while the broker is frozen.
func TestContextFrozenBrokerTransaction(t *testing.T) {
	addr := bootstrap(t)
	topic := newTopic(t, 1)
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, TransactionalID: "go-ctx-" + group(t), BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	if err := w.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMessages(ctxT(20*time.Second), kafka.Message{Value: []byte("in")}); err != nil {
		t.Fatal(err)
	}
	freeze(t)
	err := timed(t, "CommitTransaction", 2*time.Second, func(ctx context.Context) error { return w.CommitTransaction(ctx) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CommitTransaction: %v, want context.DeadlineExceeded", err)
	}
}

// A cancelled context ends every call at once with context.Canceled.
func TestContextCancelled(t *testing.T) {
	topic := newTopic(t, 1)
	for _, o := range ctxOps {
		o := o
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			addr := bootstrap(t)
			w := o.writer(addr, topic)
			defer w.Close()
			if err := w.write(ctx, "x"); !errors.Is(err, context.Canceled) {
				t.Errorf("WriteMessages: %v", err)
			}
			if err := o.metadata(ctx, addr, topic); !errors.Is(err, context.Canceled) {
				t.Errorf("Metadata: %v", err)
			}
			r := o.reader(addr, rconf{topic: topic})
			defer r.Close()
			if _, err := r.Fetch(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("FetchMessage: %v", err)
			}
		})
	}
}

// The error paths: an unknown topic is UnknownTopicOrPartition; a closed writer gives
// io.ErrClosedPipe; a closed reader io.EOF on fetch and io.ErrClosedPipe on commit.
func TestErrorPathsBothImpls(t *testing.T) {
	topic := newTopic(t, 1)
	produce(t, topic, 0, 1, "v")
	for _, o := range ctxOps {
		o := o
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			addr := bootstrap(t)
			missing := fmt.Sprintf("%s-missing-%s", topic, o.name)
			w := o.writer(addr, missing)
			err := w.write(ctxT(20*time.Second), "x")
			if !errors.Is(err, o.unknownTopic) {
				t.Errorf("write to a missing topic: %v (%T), want UnknownTopicOrPartition", err, err)
			}
			var ke interface{ Temporary() bool }
			if !errors.As(err, &ke) || !ke.Temporary() {
				t.Errorf("write to a missing topic: %v is not a temporary kafka error", err)
			}
			w.Close()
			if err := w.write(context.Background(), "x"); !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("write after Close: %v", err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			r := o.reader(addr, rconf{topic: topic, group: group(t) + "-" + o.name})
			m := fetchN(t, r, 1, false)[0]
			r.Close()
			if _, err := r.Fetch(context.Background()); err != io.EOF {
				t.Errorf("FetchMessage after Close: %v", err)
			}
			// kafka-go's own select races: its commit queue is buffered, so after Close the
			// request may be queued and then never answered (the call waits for its context,
			// forever with Background). io.ErrClosedPipe is what it means to return; ours does.
			err = r.Commit(ctxT(3*time.Second), m)
			kgoRace := o.name == "kafka-go" && errors.Is(err, context.DeadlineExceeded)
			if !errors.Is(err, io.ErrClosedPipe) && !kgoRace {
				t.Errorf("CommitMessages after Close: %v", err)
			}
		})
	}
}

// ReaderConfig.Validate and NewReader reject the same configurations as kafka-go's, with the
// same messages (NewReader panics with the error).
func TestReaderValidateBothImpls(t *testing.T) {
	type cfg struct {
		brokers                []string
		topic, group           string
		groupTopics            []string
		partition              int
		minBytes, maxBytes     int
		backoffMin, backoffMax time.Duration
	}
	cases := []cfg{
		{topic: "t"},
		{brokers: []string{"x"}},
		{brokers: []string{"x"}, topic: "t", partition: -1},
		{brokers: []string{"x"}, topic: "t", partition: 1 << 31},
		{brokers: []string{"x"}, topic: "t", minBytes: -1},
		{brokers: []string{"x"}, topic: "t", maxBytes: -1},
		{brokers: []string{"x"}, group: "g"},
		{brokers: []string{"x"}, group: "g", topic: "t", partition: 1},
		{brokers: []string{"x"}, topic: "t", minBytes: 10, maxBytes: 5},
		{brokers: []string{"x"}, topic: "t", minBytes: 10},
		{brokers: []string{"x"}, topic: "t", backoffMin: -1},
		{brokers: []string{"x"}, topic: "t", backoffMax: -1},
		{brokers: []string{"x"}, group: "g", groupTopics: []string{"t"}},
		{brokers: []string{"x"}, topic: "t", partition: 2, minBytes: 1, maxBytes: 10},
	}
	panicOf := func(f func()) (msg string) {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprint(r)
			}
		}()
		f()
		return ""
	}
	for _, c := range cases {
		k := kgo.ReaderConfig{Brokers: c.brokers, Topic: c.topic, GroupID: c.group, GroupTopics: c.groupTopics, Partition: c.partition,
			MinBytes: c.minBytes, MaxBytes: c.maxBytes, ReadBackoffMin: c.backoffMin, ReadBackoffMax: c.backoffMax}
		o := kafka.ReaderConfig{Brokers: c.brokers, Topic: c.topic, GroupID: c.group, GroupTopics: c.groupTopics, Partition: c.partition,
			MinBytes: c.minBytes, MaxBytes: c.maxBytes, ReadBackoffMin: c.backoffMin, ReadBackoffMax: c.backoffMax}
		kerr, oerr := fmt.Sprint(k.Validate()), fmt.Sprint(o.Validate())
		if kerr != oerr {
			t.Errorf("%+v: Validate: kafka-go %q, ours %q", c, kerr, oerr)
		}
		if kerr != "<nil>" {
			kp := panicOf(func() { kgo.NewReader(k).Close() })
			op := panicOf(func() { kafka.NewReader(o).Close() })
			if kp != op || kp == "" {
				t.Errorf("%+v: NewReader panics: kafka-go %q, ours %q", c, kp, op)
			}
		}
	}
}
