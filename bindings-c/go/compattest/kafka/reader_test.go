package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	kgo "github.com/segmentio/kafka-go"
)

// The Reader tests run the same body against kafka-go's Reader and ours (as the Writer tests
// do): what passes for kafka-go checks real behaviour, and ours must do the same.

type rmsg struct {
	Topic         string
	Partition     int
	Offset        int64
	HighWaterMark int64
	Key, Value    string
	Headers       map[string]string
	raw           interface{} // the implementation's Message, for commits
}

type rconf struct {
	topic          string
	partition      int
	group          string
	commitInterval time.Duration
	startOffset    int64
	readCommitted  bool
}

type testReader interface {
	Fetch(ctx context.Context) (rmsg, error)
	Read(ctx context.Context) (rmsg, error)
	Commit(ctx context.Context, msgs ...rmsg) error
	SetOffset(int64) error
	Offset() int64
	Lag() int64
	ReadLag(ctx context.Context) (int64, error)
	Close() error
	// Stats' Dials and Rebalances (kafka-go resets them at each call).
	dialsAndRebalances() (int64, int64)
}

type rimpl struct {
	name string
	new  func(addr string, c rconf) testReader
}

var rimpls = []rimpl{
	{"kafka-go", newKgoReader},
	{"polykafka", newOurReader},
}

// --- kafka-go ---

type kgoReader struct{ r *kgo.Reader }

func newKgoReader(addr string, c rconf) testReader {
	cfg := kgo.ReaderConfig{
		Brokers: []string{addr}, Topic: c.topic, Partition: c.partition, GroupID: c.group,
		CommitInterval: c.commitInterval, StartOffset: c.startOffset, MaxWait: 300 * time.Millisecond,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second,
	}
	if c.readCommitted {
		cfg.IsolationLevel = kgo.ReadCommitted
	}
	return kgoReader{kgo.NewReader(cfg)}
}

func fromKgo(m kgo.Message) rmsg {
	out := rmsg{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark, Key: string(m.Key), Value: string(m.Value), raw: m}
	for _, h := range m.Headers {
		if out.Headers == nil {
			out.Headers = map[string]string{}
		}
		out.Headers[h.Key] = string(h.Value)
	}
	return out
}

func (k kgoReader) Fetch(ctx context.Context) (rmsg, error) {
	m, err := k.r.FetchMessage(ctx)
	return fromKgo(m), err
}
func (k kgoReader) Read(ctx context.Context) (rmsg, error) {
	m, err := k.r.ReadMessage(ctx)
	return fromKgo(m), err
}
func (k kgoReader) Commit(ctx context.Context, msgs ...rmsg) error {
	out := make([]kgo.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m.raw.(kgo.Message)
	}
	return k.r.CommitMessages(ctx, out...)
}
func (k kgoReader) SetOffset(o int64) error                    { return k.r.SetOffset(o) }
func (k kgoReader) Offset() int64                              { return k.r.Offset() }
func (k kgoReader) Lag() int64                                 { return k.r.Lag() }
func (k kgoReader) ReadLag(ctx context.Context) (int64, error) { return k.r.ReadLag(ctx) }
func (k kgoReader) Close() error                               { return k.r.Close() }
func (k kgoReader) dialsAndRebalances() (int64, int64) {
	s := k.r.Stats()
	return s.Dials, s.Rebalances
}

// --- ours ---

type ourReader struct{ r *kafka.Reader }

func newOurReader(addr string, c rconf) testReader {
	cfg := kafka.ReaderConfig{
		Brokers: []string{addr}, Topic: c.topic, Partition: c.partition, GroupID: c.group,
		CommitInterval: c.commitInterval, StartOffset: c.startOffset, MaxWait: 300 * time.Millisecond,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 5 * time.Second,
	}
	if c.readCommitted {
		cfg.IsolationLevel = kafka.ReadCommitted
	}
	return ourReader{kafka.NewReader(cfg)}
}

func fromOurs(m kafka.Message) rmsg {
	out := rmsg{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, HighWaterMark: m.HighWaterMark, Key: string(m.Key), Value: string(m.Value), raw: m}
	for _, h := range m.Headers {
		if out.Headers == nil {
			out.Headers = map[string]string{}
		}
		out.Headers[h.Key] = string(h.Value)
	}
	return out
}

func (o ourReader) Fetch(ctx context.Context) (rmsg, error) {
	m, err := o.r.FetchMessage(ctx)
	return fromOurs(m), err
}
func (o ourReader) Read(ctx context.Context) (rmsg, error) {
	m, err := o.r.ReadMessage(ctx)
	return fromOurs(m), err
}
func (o ourReader) Commit(ctx context.Context, msgs ...rmsg) error {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m.raw.(kafka.Message)
	}
	return o.r.CommitMessages(ctx, out...)
}
func (o ourReader) SetOffset(off int64) error                  { return o.r.SetOffset(off) }
func (o ourReader) Offset() int64                              { return o.r.Offset() }
func (o ourReader) Lag() int64                                 { return o.r.Lag() }
func (o ourReader) ReadLag(ctx context.Context) (int64, error) { return o.r.ReadLag(ctx) }
func (o ourReader) Close() error                               { return o.r.Close() }
func (o ourReader) dialsAndRebalances() (int64, int64) {
	s := o.r.Stats()
	return s.Dials, s.Rebalances
}

// produce writes n messages "<prefix>-i" (key "k-i", header h=i) to one partition of topic.
func produce(t testing.TB, topic string, partition, n int, prefix string) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond,
		Balancer: kafka.BalancerFunc(func(kafka.Message, ...int) int { return partition })}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: []byte(fmt.Sprintf("k-%d", i)), Value: []byte(fmt.Sprintf("%s-%d", prefix, i)), Headers: []kafka.Header{{Key: "h", Value: []byte(fmt.Sprint(i))}}}
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func ctxT(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	go func() { time.Sleep(d + time.Second); cancel() }()
	return ctx
}

func fetchN(t *testing.T, r testReader, n int, read bool) []rmsg {
	t.Helper()
	ctx := ctxT(30 * time.Second)
	var out []rmsg
	for len(out) < n {
		var m rmsg
		var err error
		if read {
			m, err = r.Read(ctx)
		} else {
			m, err = r.Fetch(ctx)
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, m)
	}
	return out
}

func forEachReader(t *testing.T, body func(t *testing.T, newReader func(rconf) testReader)) {
	for _, impl := range rimpls {
		impl := impl
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			var readers []testReader
			var mu sync.Mutex
			body(t, func(c rconf) testReader {
				r := impl.new(bootstrap(t), c)
				mu.Lock()
				readers = append(readers, r)
				mu.Unlock()
				return r
			})
			for _, r := range readers {
				r.Close()
			}
		})
	}
}

// SetOffset while a poll is still in flight (left by a Fetch whose ctx ended at the end of the
// partition): the records after the new offset are read, none lost to the old poll.
func TestReaderSetOffsetAfterCancelledFetch(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic := newTopic(t, 1)
		produce(t, topic, 0, 10, "v")
		r := newReader(rconf{topic: topic})
		fetchN(t, r, 10, false)
		if _, err := r.Fetch(ctxT(50 * time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("fetch at the end: %v", err)
		}
		if err := r.SetOffset(5); err != nil {
			t.Fatal(err)
		}
		for i, m := range fetchN(t, r, 5, false) {
			if m.Offset != int64(5+i) || m.Value != fmt.Sprintf("v-%d", 5+i) {
				t.Fatalf("after SetOffset(5), message %d: offset %d value %q", i, m.Offset, m.Value)
			}
		}
	})
}

func TestReaderPartition(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic := newTopic(t, 1)
		produce(t, topic, 0, 10, "v")
		r := newReader(rconf{topic: topic})
		if o := r.Offset(); o != kafka.FirstOffset {
			t.Errorf("Offset before reading: %d", o)
		}
		got := fetchN(t, r, 10, false)
		for i, m := range got {
			if m.Offset != int64(i) || m.Value != fmt.Sprintf("v-%d", i) || m.Key != fmt.Sprintf("k-%d", i) || m.Headers["h"] != fmt.Sprint(i) || m.Topic != topic || m.Partition != 0 {
				t.Fatalf("message %d: %+v", i, m)
			}
			if m.HighWaterMark != 10 {
				t.Errorf("HighWaterMark %d", m.HighWaterMark)
			}
		}
		if r.Offset() != 10 || r.Lag() != 0 {
			t.Errorf("Offset %d Lag %d", r.Offset(), r.Lag())
		}
		if err := r.SetOffset(5); err != nil {
			t.Fatal(err)
		}
		if m := fetchN(t, r, 1, false)[0]; m.Offset != 5 {
			t.Errorf("after SetOffset(5): %d", m.Offset)
		}
		if lag, err := r.ReadLag(context.Background()); err != nil || lag != 4 {
			t.Errorf("ReadLag %d %v", lag, err)
		}
		if err := r.Commit(context.Background(), got[0]); err == nil || err.Error() != "unavailable when GroupID is not set" {
			t.Errorf("commit without group: %v", err)
		}
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			t.Fatal(err)
		}
		if m := fetchN(t, r, 1, true)[0]; m.Offset != 0 {
			t.Errorf("after SetOffset(FirstOffset): %d", m.Offset)
		}
		r.Close()
		// kafka-go still hands out what it had prefetched, then io.EOF; ours gives io.EOF at once.
		var err error
		for i := 0; i < 20 && err == nil; i++ {
			_, err = r.Fetch(context.Background())
		}
		if err != io.EOF {
			t.Errorf("Fetch after Close: %v", err)
		}
		if _, err := r.Read(context.Background()); !errors.Is(err, io.EOF) {
			t.Errorf("Read after Close: %v", err)
		}
		if err := r.SetOffset(3); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("SetOffset after Close: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestReaderContext(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic := newTopic(t, 1)
		r := newReader(rconf{topic: topic})
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := r.Fetch(ctx); err != context.DeadlineExceeded {
			t.Errorf("empty topic: %v", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("took %v", time.Since(start))
		}
		// What arrives after the cancelled call is still delivered.
		produce(t, topic, 0, 1, "late")
		if m := fetchN(t, r, 1, false)[0]; m.Value != "late-0" {
			t.Errorf("after cancel: %+v", m)
		}
		cancelled, cancel2 := context.WithCancel(context.Background())
		cancel2()
		if _, err := r.Read(cancelled); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
		// Close unblocks a waiting read with io.EOF.
		done := make(chan error, 1)
		go func() { _, err := r.Fetch(context.Background()); done <- err }()
		time.Sleep(200 * time.Millisecond)
		r.Close()
		select {
		case err := <-done:
			if err != io.EOF {
				t.Errorf("blocked read after Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Close did not unblock the read")
		}
	})
}

func group(t *testing.T) string {
	return fmt.Sprintf("go-%s-%d", t.Name(), time.Now().UnixNano()%1e9)
}

// Stats after a group reader joined and read: one rebalance, at least one dial; the next call
// reports only what happened since (both reset).
func TestReaderStatsDialsAndRebalances(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic, g := newTopic(t, 1), group(t)
		produce(t, topic, 0, 5, "v")
		r := newReader(rconf{topic: topic, group: g})
		fetchN(t, r, 5, false)
		if dials, rebalances := r.dialsAndRebalances(); dials < 1 || rebalances != 1 {
			t.Errorf("after joining and reading: Dials %d Rebalances %d", dials, rebalances)
		}
		if dials, rebalances := r.dialsAndRebalances(); dials != 0 || rebalances != 0 {
			t.Errorf("second call, nothing new: Dials %d Rebalances %d", dials, rebalances)
		}
	})
}

// ReadMessage commits each message: a restart resumes after the last one read.
func TestReaderGroupReadCommitsRestart(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic, g := newTopic(t, 1), group(t)
		produce(t, topic, 0, 20, "v")
		r := newReader(rconf{topic: topic, group: g})
		got := fetchN(t, r, 8, true)
		if got[0].Offset != 0 || got[7].Offset != 7 {
			t.Fatalf("first read: %d..%d", got[0].Offset, got[7].Offset)
		}
		if r.Offset() != -1 || r.Lag() != -1 {
			t.Errorf("group mode Offset %d Lag %d", r.Offset(), r.Lag())
		}
		if err := r.SetOffset(3); err == nil || err.Error() != "unavailable when GroupID is set" {
			t.Errorf("SetOffset in group mode: %v", err)
		}
		r.Close()
		// kafka-go races here: its commit may enter the queue after Close and then wait forever
		// (so a deadline); ours returns io.ErrClosedPipe.
		short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		err := r.Commit(short, got[0])
		if _, ours := r.(ourReader); (ours || err != context.DeadlineExceeded) && !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("commit after Close: %v", err)
		}
		r2 := newReader(rconf{topic: topic, group: g})
		rest := fetchN(t, r2, 12, true)
		if rest[0].Offset != 8 || rest[11].Offset != 19 {
			t.Errorf("restart: %d..%d", rest[0].Offset, rest[11].Offset)
		}
	})
}

// FetchMessage never commits; CommitMessages commits offset+1 of the highest given, and a lower
// one moves the committed offset back.
func TestReaderFetchAndCommit(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic, g := newTopic(t, 1), group(t)
		produce(t, topic, 0, 10, "v")
		r := newReader(rconf{topic: topic, group: g})
		got := fetchN(t, r, 10, false)
		r.Close()
		r = newReader(rconf{topic: topic, group: g})
		again := fetchN(t, r, 10, false)
		if again[0].Offset != 0 {
			t.Fatalf("nothing was committed, yet restart at %d", again[0].Offset)
		}
		ctx := context.Background()
		if err := r.Commit(ctx, again[2], again[6], again[4]); err != nil {
			t.Fatal(err)
		}
		if err := r.Commit(ctx, again[3]); err != nil {
			t.Fatal(err)
		}
		r.Close()
		_ = got
		r = newReader(rconf{topic: topic, group: g})
		if m := fetchN(t, r, 1, false)[0]; m.Offset != 4 {
			t.Errorf("committed offset moved back to 4, restart at %d", m.Offset)
		}
	})
}

// With a CommitInterval, commits are stashed and flushed on the tick and on Close.
func TestReaderCommitInterval(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic, g := newTopic(t, 1), group(t)
		produce(t, topic, 0, 10, "v")
		r := newReader(rconf{topic: topic, group: g, commitInterval: time.Hour})
		fetchN(t, r, 6, true)
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		r = newReader(rconf{topic: topic, group: g})
		if m := fetchN(t, r, 1, false)[0]; m.Offset != 6 {
			t.Errorf("restart at %d, want 6 (flushed on Close)", m.Offset)
		}
	})
}

// With a CommitInterval, what CommitMessages gave is committed on the tick while the reader is
// open (checked with kafka-go's Client for both implementations).
func TestReaderCommitIntervalTick(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic, g := newTopic(t, 1), group(t)
		produce(t, topic, 0, 10, "v")
		r := newReader(rconf{topic: topic, group: g, commitInterval: 300 * time.Millisecond})
		got := fetchN(t, r, 6, false)
		if err := r.Commit(context.Background(), got...); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		client := &kgo.Client{Addr: kgo.TCP(bootstrap(t)), Transport: &kgo.Transport{}}
		committed := int64(-1)
		deadline := time.Now().Add(20 * time.Second)
		for committed != 6 && time.Now().Before(deadline) {
			resp, err := client.OffsetFetch(context.Background(), &kgo.OffsetFetchRequest{GroupID: g, Topics: map[string][]int{topic: {0}}})
			if err == nil && len(resp.Topics[topic]) == 1 {
				committed = resp.Topics[topic][0].CommittedOffset
			}
			if committed != 6 {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if committed != 6 {
			t.Errorf("committed %d while open, want 6 (committed on the tick)", committed)
		}
	})
}

// A new group with LastOffset starts at the end.
func TestReaderStartOffsetLast(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic, g := newTopic(t, 1), group(t)
		produce(t, topic, 0, 5, "old")
		r := newReader(rconf{topic: topic, group: g, startOffset: kafka.LastOffset})
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		// Keep producing until the reader sees a new message: it joined at some point.
		go func() {
			for i := 0; ctx.Err() == nil; i++ {
				produce(t, topic, 0, 1, "new")
				time.Sleep(500 * time.Millisecond)
			}
		}()
		m, err := r.Fetch(ctx)
		if err != nil || m.Value != "new-0" || m.Offset < 5 {
			t.Errorf("LastOffset: %+v %v", m, err)
		}
	})
}

// Several readers in one group: every message read exactly once, partitions split.
func TestReaderGroupSplit(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		// The records are produced only once all three readers own partitions: on a pre-filled
		// topic the first reader to join (alone in the group until the others arrive; the test
		// cluster has no initial rebalance delay) can read everything before the split.
		topic, g := newTopic(t, 4), group(t)
		const n = 3
		var mu sync.Mutex
		seen := map[string]int{}
		owner := map[int]map[int]bool{} // partition -> readers
		total := 0
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			r := newReader(rconf{topic: topic, group: g})
			wg.Add(1)
			go func(i int, r testReader) {
				defer wg.Done()
				for {
					m, err := r.Read(ctx)
					if err != nil {
						return
					}
					mu.Lock()
					seen[m.Value]++
					if owner[m.Partition] == nil {
						owner[m.Partition] = map[int]bool{}
					}
					owner[m.Partition][i] = true
					total++
					if total == 100 {
						cancel()
					}
					mu.Unlock()
				}
			}(i, r)
		}
		waitGroupSplit(t, g, n)
		for p := 0; p < 4; p++ {
			produce(t, topic, p, 25, fmt.Sprintf("p%d", p))
		}
		wg.Wait()
		if len(seen) != 100 {
			t.Fatalf("%d distinct messages of 100", len(seen))
		}
		readers := map[int]bool{}
		for v, c := range seen {
			if c != 1 {
				t.Errorf("%s read %d times", v, c)
			}
		}
		for p, rs := range owner {
			for r := range rs {
				readers[r] = true
			}
			if len(rs) != 1 {
				t.Logf("partition %d read by %d readers (a rebalance moved it)", p, len(rs))
			}
		}
		if len(readers) < 2 {
			t.Errorf("only %d reader(s) got messages: partitions not split", len(readers))
		}
	})
}

// waitGroupSplit waits (up to 30 s) until group g is Stable with n members that each own a
// partition.
func waitGroupSplit(t *testing.T, g string, n int) {
	t.Helper()
	c := &kafka.Client{Addr: kafka.TCP(bootstrap(t))}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		d, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{g}})
		cancel()
		if err == nil && len(d.Groups) == 1 && d.Groups[0].GroupState == "Stable" && len(d.Groups[0].Members) == n {
			owning := 0
			for _, m := range d.Groups[0].Members {
				for _, tp := range m.MemberAssignments.Topics {
					if len(tp.Partitions) > 0 {
						owning++
						break
					}
				}
			}
			if owning == n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not settle with %d members owning partitions: %+v %v", g, n, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReaderValidate(t *testing.T) {
	for _, c := range []kafka.ReaderConfig{
		{Topic: "t"},
		{Brokers: []string{"x"}},
		{Brokers: []string{"x"}, GroupID: "g"},
		{Brokers: []string{"x"}, GroupID: "g", Topic: "t", Partition: 1},
		{Brokers: []string{"x"}, Topic: "t", MinBytes: 10, MaxBytes: 5},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewReader(%+v) did not panic", c)
				}
			}()
			kafka.NewReader(c)
		}()
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{"x"}, Topic: "t"})
	defer r.Close()
	if c := r.Config(); c.MinBytes != 1 || c.MaxBytes != 1e6 || c.MaxWait != 10*time.Second || c.StartOffset != kafka.FirstOffset {
		t.Errorf("defaults: %+v", c)
	}
}

func sortedValues(ms []rmsg) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Value)
	}
	sort.Strings(out)
	return out
}
