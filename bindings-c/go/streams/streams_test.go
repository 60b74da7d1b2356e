package streams_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

type event struct {
	User string `json:"user"`
	Kind string `json:"kind"`
	N    int    `json:"n"`
}

func jsonRec(key string, v any, ts time.Time) rec {
	b, _ := json.Marshal(v)
	return rec{[]byte(key), b, ts}
}

// states records the state changes of an instance.
type states struct {
	mu  sync.Mutex
	all [][2]streams.State
}

func (s *states) add(old, new streams.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, [2]streams.State{old, new})
}

func (s *states) list() [][2]streams.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

func start(t *testing.T, top *streams.Topology, cfg map[string]string) (*streams.KafkaStreams, *states) {
	t.Helper()
	s, err := streams.New(top, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := &states{}
	s.OnStateChange(st.add)
	if s.State() != streams.Created {
		t.Fatalf("state %s before Start", s.State())
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, st
}

// startCollectingErrors starts an instance of top whose OnError failures arrive on the channel.
func startCollectingErrors(t *testing.T, top *streams.Topology) (*streams.KafkaStreams, chan *streams.ProcessingError) {
	t.Helper()
	s, err := streams.New(top, config(t, unique(t, "app")))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *streams.ProcessingError, 2)
	s.OnError(func(e *streams.ProcessingError) { got <- e })
	if err := s.Start(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s, got
}

// failureAndError is the first failure on got, once the instance is in state ERROR.
func failureAndError(t *testing.T, s *streams.KafkaStreams, got chan *streams.ProcessingError) *streams.ProcessingError {
	t.Helper()
	var e *streams.ProcessingError
	select {
	case e = <-got:
	case <-time.After(60 * time.Second):
		t.Fatalf("no failure; state %s", s.State())
	}
	waitFor(t, 30*time.Second, "state ERROR", func() bool { return s.State() == streams.ErrorState }, func() string { return string(s.State()) })
	return e
}

// filter -> mapValues -> to, with the state listener: CREATED -> REBALANCING -> RUNNING, and
// PENDING_SHUTDOWN -> NOT_RUNNING at Close.
func TestFilterMapValuesTo(t *testing.T) {
	ts := topics(t, 2, "in", "out")
	in, out := ts[0], ts[1]
	b := streams.NewBuilder()
	events := streams.From(b, streams.String, streams.JSON[event](), in)
	kept := events.Filter(func(_ string, e event) bool { return e.Kind == "keep" }).FilterNot(func(_ string, e event) bool { return e.N%10 == 9 })
	streams.MapValues(kept, func(e event) (string, error) { return fmt.Sprintf("%s:%d", e.User, e.N), nil }, streams.String).To(out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	want := map[string]bool{}
	for i := 0; i < 200; i++ {
		kind := "keep"
		if i%3 == 0 {
			kind = "drop"
		}
		u := fmt.Sprintf("u%d", i%7)
		recs = append(recs, jsonRec(u, event{u, kind, i}, time.Time{}))
		if kind == "keep" && i%10 != 9 {
			want[fmt.Sprintf("%s:%d", u, i)] = true
		}
	}
	produce(t, in, recs)
	s, st := start(t, top, config(t, unique(t, "app")))
	got := map[string]bool{}
	waitFor(t, 60*time.Second, "the outputs", func() bool {
		got = map[string]bool{}
		for _, m := range readAll(t, out, 2) {
			got[string(m.Value)] = true
		}
		return len(got) >= len(want)
	}, func() string {
		return fmt.Sprintf("%d of %d, state %s, %+v", len(got), len(want), s.State(), s.Metrics())
	})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("outputs differ: got %d, want %d", len(got), len(want))
	}
	if s.State() != streams.Running {
		t.Fatalf("state %s", s.State())
	}
	if m := s.Metrics(); m.Processed != 200 {
		t.Fatalf("processed %d", m.Processed)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close() // idempotent
	l := st.list()
	if !slices.Contains(l, [2]streams.State{streams.Created, streams.Rebalancing}) || !slices.Contains(l, [2]streams.State{streams.Rebalancing, streams.Running}) ||
		l[len(l)-1] != [2]streams.State{streams.PendingShutdown, streams.NotRunning} {
		t.Fatalf("state changes %v", l)
	}
	if s.State() != streams.NotRunning {
		t.Fatalf("state after Close: %s", s.State())
	}
}

// groupBy -> count, the counts read back from the output topic as Longs and from the store;
// flatMapValues and peek on the way; Range and All of the store.
func TestGroupByCountAndStoreQueries(t *testing.T) {
	ts := topics(t, 3, "in", "counts")
	in, out := ts[0], ts[1]
	b := streams.NewBuilder()
	var peeked sync.Map
	words := streams.FlatMapValues(streams.From(b, streams.String, streams.String, in), func(line string) ([]string, error) { return strings.Fields(line), nil }, streams.String)
	words = words.Peek(func(_ string, w string) { peeked.Store(w, true) })
	counts := streams.GroupBy(words, func(_ string, w string) (string, error) { return w, nil }, streams.String).Count("word-counts")
	counts.ToStream().To(out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"a b c", "b c", "c", "d d d d", "a"}
	want := map[string]int64{"a": 2, "b": 2, "c": 3, "d": 4}
	var recs []rec
	for i, l := range lines {
		recs = append(recs, rec{[]byte(fmt.Sprint(i)), []byte(l), time.Time{}})
	}
	produce(t, in, recs)
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	store, err := streams.Store(s, counts)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	waitFor(t, 60*time.Second, "the counts in the store", func() bool {
		all, err := store.All()
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]int64{}
		for _, kv := range all {
			got[kv.Key] = kv.Value
		}
		return reflect.DeepEqual(got, want)
	}, func() string { return fmt.Sprint(got, s.State(), s.Metrics()) })
	last := map[string]int64{}
	waitFor(t, 30*time.Second, "the counts in the output topic", func() bool {
		for _, m := range readAll(t, out, 3) {
			n, err := streams.Long.Deserialize(m.Value)
			if err != nil {
				t.Fatal(err)
			}
			last[string(m.Key)] = n
		}
		return reflect.DeepEqual(last, want)
	}, func() string { return fmt.Sprint(last) })
	if v, found, err := store.Get("d"); err != nil || !found || v != 4 {
		t.Fatalf("Get(d) = %v %v %v", v, found, err)
	}
	if _, found, err := store.Get("zz"); err != nil || found {
		t.Fatalf("Get(zz) = %v %v", found, err)
	}
	from, to := "b", "c"
	r, err := store.Range(&from, &to)
	if err != nil || !reflect.DeepEqual(r, []streams.KeyValue[string, int64]{{Key: "b", Value: 2}, {Key: "c", Value: 3}}) {
		t.Fatalf("Range(b, c) = %v %v", r, err)
	}
	if _, ok := peeked.Load("d"); !ok {
		t.Fatal("peek did not see d")
	}
	if _, err := streams.StoreOf(s, "nope", streams.String, streams.Long); err == nil {
		t.Fatal("a store that does not exist")
	}
	if _, err := streams.WindowStoreOf(s, "word-counts", streams.String, streams.Long); err == nil {
		t.Fatal("a key-value store as a window store")
	}
}

// groupByKey -> windowedBy (tumbling, grace) -> count: the output's keys decoded as windowed
// keys, a late record dropped and counted; the window store's Fetch and All; and a hopping
// windowed reduce.
func TestWindowedCount(t *testing.T) {
	ts := topics(t, 1, "in", "out", "hop")
	in, out, hop := ts[0], ts[1], ts[2]
	b := streams.NewBuilder()
	src := streams.From(b, streams.String, streams.Long, in)
	w := streams.WindowedCount(src.GroupByKey().WindowedBy(streams.TumblingWindows(time.Minute, 10*time.Second)), "wc")
	w.ToStream().To(out)
	sums := streams.WindowedReduce(src.GroupByKey().WindowedBy(streams.TumblingWindows(time.Minute, 0).AdvanceBy(30*time.Second)), func(a, v int64) (int64, error) { return a + v, nil }, "hopping-sums")
	sums.ToStream().To(hop)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	base := time.UnixMilli(1_767_225_600_000)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	one, _ := streams.Long.Serialize(1)
	recs := []rec{
		{[]byte("a"), one, at(5)}, {[]byte("a"), one, at(50)}, {[]byte("b"), one, at(55)},
		{[]byte("a"), one, at(65)}, {[]byte("a"), one, at(75)}, // stream time 75 s: [0, 60) closes at 70 s
		{[]byte("b"), one, at(30)}, // late: dropped
		{[]byte("b"), one, at(125)},
	}
	produce(t, in, recs)
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	ws := streams.WindowedSerde(streams.String, 60_000)
	want := map[streams.Windowed[string]]int64{
		{Key: "a", Start: base.UnixMilli(), End: base.UnixMilli() + 60_000}:            2,
		{Key: "b", Start: base.UnixMilli(), End: base.UnixMilli() + 60_000}:            1,
		{Key: "a", Start: base.UnixMilli() + 60_000, End: base.UnixMilli() + 120_000}:  2,
		{Key: "b", Start: base.UnixMilli() + 120_000, End: base.UnixMilli() + 180_000}: 1,
	}
	got := map[streams.Windowed[string]]int64{}
	waitFor(t, 60*time.Second, "the windowed counts", func() bool {
		for _, m := range readAll(t, out, 1) {
			k, err := ws.Deserialize(m.Key)
			if err != nil {
				t.Fatal(err)
			}
			got[k], _ = streams.Long.Deserialize(m.Value)
		}
		return reflect.DeepEqual(got, want)
	}, func() string { return fmt.Sprint(got, s.Metrics()) })
	if m := s.Metrics(); m.LateDropped < 1 {
		t.Fatalf("late records dropped: %+v", m)
	}
	store, err := streams.WindowStoreOf(s, "wc", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.Fetch("a", base, base.Add(time.Minute))
	if err != nil || !reflect.DeepEqual(f, []streams.WindowValue[int64]{{Start: base.UnixMilli(), Value: 2}, {Start: base.UnixMilli() + 60_000, Value: 2}}) {
		t.Fatalf("Fetch(a) = %v %v", f, err)
	}
	all, err := store.All()
	if err != nil || len(all) != 4 {
		t.Fatalf("All = %v %v", all, err)
	}
	for _, kv := range all {
		if want[kv.Key] != kv.Value {
			t.Fatalf("All: %v = %d, want %d", kv.Key, kv.Value, want[kv.Key])
		}
	}
	// Hopping windows of 60 s every 30 s: a's records at 5, 50, 65, 75 s.
	hs := map[int64]int64{}
	waitFor(t, 30*time.Second, "the hopping sums", func() bool {
		for _, m := range readAll(t, hop, 1) {
			k, _ := ws.Deserialize(m.Key)
			if k.Key == "a" {
				hs[(k.Start-base.UnixMilli())/1000], _ = streams.Long.Deserialize(m.Value)
			}
		}
		return reflect.DeepEqual(hs, map[int64]int64{-30: 1, 0: 2, 30: 3, 60: 2})
	}, func() string { return fmt.Sprint(hs) })
}

type order struct {
	ID      string `json:"id"`
	Country string `json:"country"`
}

type enriched struct {
	ID    string `json:"id"`
	Users *int64 `json:"users"`
}

// Stream-table leftJoin and join against a count table: orders after the counts are complete.
func TestStreamTableJoins(t *testing.T) {
	ts := topics(t, 2, "users", "orders", "left", "inner")
	users, orders, left, inner := ts[0], ts[1], ts[2], ts[3]
	b := streams.NewBuilder()
	counts := streams.From(b, streams.String, streams.String, users).GroupByKey().Count("users-by-country")
	os := streams.From(b, streams.String, streams.JSON[order](), orders)
	streams.LeftJoin(os, counts, func(o order, n int64, found bool) (enriched, error) {
		e := enriched{ID: o.ID}
		if found {
			e.Users = &n
		}
		return e, nil
	}, streams.JSON[enriched]()).To(left)
	streams.Join(os, counts, func(o order, n int64) (string, error) { return fmt.Sprintf("%s=%d", o.ID, n), nil }, streams.String).To(inner)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	produce(t, users, []rec{{[]byte("DE"), []byte("u1"), time.Time{}}, {[]byte("DE"), []byte("u2"), time.Time{}}, {[]byte("FR"), []byte("u3"), time.Time{}}})
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	store, _ := streams.Store(s, counts)
	waitFor(t, 60*time.Second, "the counts", func() bool { v, _, _ := store.Get("DE"); w, _, _ := store.Get("FR"); return v == 2 && w == 1 }, nil)
	produce(t, orders, []rec{jsonRec("DE", order{"o1", "DE"}, time.Time{}), jsonRec("ZZ", order{"o2", "ZZ"}, time.Time{}), jsonRec("FR", order{"o3", "FR"}, time.Time{})})
	var got map[string]string
	waitFor(t, 60*time.Second, "the left join", func() bool {
		got = map[string]string{}
		for _, m := range readAll(t, left, 2) {
			got[string(m.Key)] = string(m.Value)
		}
		return len(got) == 3
	}, func() string { return fmt.Sprint(got) })
	want := map[string]string{"DE": `{"id":"o1","users":2}`, "ZZ": `{"id":"o2","users":null}`, "FR": `{"id":"o3","users":1}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("left join %v", got)
	}
	var in []string
	waitFor(t, 30*time.Second, "the inner join", func() bool {
		in = nil
		for _, m := range readAll(t, inner, 2) {
			in = append(in, string(m.Value))
		}
		slices.Sort(in)
		return len(in) >= 2
	}, nil)
	if !reflect.DeepEqual(in, []string{"o1=2", "o3=1"}) {
		t.Fatalf("inner join %v", in)
	}
}

// A user function that returns an error, and one that panics, stop the instance: state ERROR,
// the handler gets the record's topic, partition and offset and the function's own error.
func TestUserFailureReachesHandler(t *testing.T) {
	for _, how := range []string{"error", "panic"} {
		t.Run(how, func(t *testing.T) {
			ts := topics(t, 1, "in", "out")
			in, out := ts[0], ts[1]
			errSeven := errors.New("seven is not allowed")
			b := streams.NewBuilder()
			streams.MapValues(streams.From(b, streams.String, streams.Long, in), func(n int64) (int64, error) {
				if n == 7 {
					if how == "panic" {
						panic("seven!")
					}
					return 0, errSeven
				}
				return n * 2, nil
			}, streams.Long).To(out)
			top, _ := b.Build()
			var recs []rec
			for i := int64(0); i < 10; i++ {
				v, _ := streams.Long.Serialize(i)
				recs = append(recs, rec{[]byte("k"), v, time.Time{}})
			}
			produce(t, in, recs)
			s, got := startCollectingErrors(t, top)
			defer s.Close()
			e := failureAndError(t, s, got)
			if e.Kind != streams.FailureUser || e.Topic != in || e.Partition != 0 || e.Offset != 7 {
				t.Fatalf("failure %+v", e)
			}
			var pe *streams.PanicError
			if how == "error" && (!errors.Is(e, errSeven) || !strings.Contains(e.Message, "seven is not allowed")) {
				t.Fatalf("error %+v", e)
			}
			if how == "panic" && (!errors.As(e, &pe) || pe.Value != "seven!" || !strings.Contains(e.Message, "panic: seven!")) {
				t.Fatalf("panic %+v", e)
			}
			if s.Err() != e {
				t.Fatalf("Err() = %v", s.Err())
			}
			for _, m := range readAll(t, out, 1) {
				if n, _ := streams.Long.Deserialize(m.Value); n >= 14 {
					t.Fatalf("an output of a record at or past the failed one: %d", n)
				}
			}
		})
	}
}

// A record that cannot be deserialized, with log_and_continue: skipped and counted, the others
// processed; with the default (log and fail): the handler gets it, kind deserialization.
func TestUndeserializableRecord(t *testing.T) {
	for _, handler := range []string{"log_and_continue", "log_and_fail"} {
		t.Run(handler, func(t *testing.T) {
			ts := topics(t, 1, "in", "out")
			in, out := ts[0], ts[1]
			b := streams.NewBuilder()
			streams.MapValues(streams.From(b, streams.String, streams.JSON[event](), in), func(e event) (int64, error) { return int64(e.N), nil }, streams.Long).To(out)
			top, _ := b.Build()
			produce(t, in, []rec{jsonRec("a", event{N: 1}, time.Time{}), {[]byte("b"), []byte("{not json"), time.Time{}}, jsonRec("c", event{N: 3}, time.Time{})})
			s, err := streams.New(top, config(t, unique(t, "app"), "default.deserialization.exception.handler", handler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			failed := make(chan *streams.ProcessingError, 1)
			s.OnError(func(e *streams.ProcessingError) { failed <- e })
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if handler == "log_and_fail" {
				select {
				case e := <-failed:
					if e.Kind != streams.FailureDeserialization || e.Topic != in || e.Offset != 1 || !strings.Contains(e.Message, "not JSON") {
						t.Fatalf("failure %+v", e)
					}
				case <-time.After(60 * time.Second):
					t.Fatalf("no failure, state %s", s.State())
				}
				return
			}
			waitFor(t, 60*time.Second, "3 records processed", func() bool { return s.Metrics().Processed == 3 }, func() string { return fmt.Sprintf("%+v", s.Metrics()) })
			if m := s.Metrics(); m.DeserializationSkipped != 1 {
				t.Fatalf("metrics %+v", m)
			}
			var got []int64
			waitFor(t, 30*time.Second, "the outputs", func() bool {
				got = nil
				for _, m := range readAll(t, out, 1) {
					n, _ := streams.Long.Deserialize(m.Value)
					got = append(got, n)
				}
				return len(got) >= 2
			}, nil)
			if !reflect.DeepEqual(got, []int64{1, 3}) || s.State() != streams.Running {
				t.Fatalf("outputs %v, state %s", got, s.State())
			}
		})
	}
}

// Close while records are being processed (a slow function): Close returns, the state is
// NOT_RUNNING, no callback runs after it; and the context given to Start closes the instance.
func TestCloseDuringProcessing(t *testing.T) {
	ts := topics(t, 1, "in", "out")
	in, out := ts[0], ts[1]
	var mu sync.Mutex
	calls, closed, after := 0, false, 0
	b := streams.NewBuilder()
	streams.From(b, streams.String, streams.String, in).Peek(func(string, string) {
		mu.Lock()
		calls++
		if closed {
			after++
		}
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}).To(out)
	top, _ := b.Build()
	var recs []rec
	for i := 0; i < 3000; i++ {
		recs = append(recs, rec{[]byte("k"), []byte(fmt.Sprint(i)), time.Time{}})
	}
	produce(t, in, recs)
	s, err := streams.New(top, config(t, unique(t, "app")))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "processing", func() bool { mu.Lock(); defer mu.Unlock(); return calls > 100 }, nil)
	cancel() // the context's end closes the instance
	waitFor(t, 60*time.Second, "NOT_RUNNING", func() bool { return s.State() == streams.NotRunning }, func() string { return string(s.State()) })
	mu.Lock()
	closed = true
	n := calls
	mu.Unlock()
	if n >= 3000 {
		t.Logf("all %d records were processed before the close", n)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if after != 0 {
		t.Fatalf("%d calls after the instance closed", after)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start after Close")
	}
}

// GroupByKey after SelectKey goes through a repartition topic named after the store (the core's
// rule, as Kafka Streams): each country's count is whole, not split over the tasks of the
// input's three partitions. A join of such a stream is refused until Repartition.
func TestGroupByKeyAfterAKeyChangeRepartitions(t *testing.T) {
	ts := topics(t, 3, "users")
	in := ts[0]
	countries := []string{"fr", "de", "jp"}
	var recs []rec
	for i := 0; i < 90; i++ {
		recs = append(recs, rec{[]byte(fmt.Sprintf("u%d", i)), []byte(countries[i%3]), time.Time{}})
	}
	produce(t, in, recs)
	b := streams.NewBuilder()
	users := streams.From(b, streams.String, streams.String, in)
	byCountry := streams.SelectKey(users, func(_ string, c string) (string, error) { return c, nil }, streams.String)
	byCountry.Filter(func(string, string) bool { return true }).GroupByKey().Count("by-country")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	app := unique(t, "app")
	s, _ := start(t, top, config(t, app))
	defer s.Close()
	store, err := streams.StoreOf(s, "by-country", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"fr": 30, "de": 30, "jp": 30}
	got := map[string]int64{}
	waitFor(t, 60*time.Second, "whole counts per country", func() bool {
		all, err := store.All()
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]int64{}
		for _, kv := range all {
			if _, dup := got[kv.Key]; dup {
				t.Fatalf("country %s counted in two tasks: %v", kv.Key, all)
			}
			got[kv.Key] = kv.Value
		}
		return reflect.DeepEqual(got, want)
	}, func() string { return fmt.Sprint(got) })

	b2 := streams.NewBuilder()
	table := streams.From(b2, streams.String, streams.String, in).GroupByKey().Count("")
	moved := streams.SelectKey(streams.From(b2, streams.String, streams.String, in), func(_ string, c string) (string, error) { return c, nil }, streams.String)
	streams.LeftJoin(moved, table, func(v string, n int64, found bool) (string, error) { return v, nil }, streams.String)
	if _, err := b2.Build(); err == nil || !strings.Contains(err.Error(), "call repartition") {
		t.Fatalf("a join of a re-keyed stream: %v", err)
	}
	b3 := streams.NewBuilder()
	table3 := streams.From(b3, streams.String, streams.String, in).GroupByKey().Count("")
	moved3 := streams.SelectKey(streams.From(b3, streams.String, streams.String, in), func(_ string, c string) (string, error) { return c, nil }, streams.String)
	streams.LeftJoin(moved3.Repartition(""), table3, func(v string, n int64, found bool) (string, error) { return v, nil }, streams.String)
	if _, err := b3.Build(); err != nil {
		t.Fatalf("a join after Repartition: %v", err)
	}
}

// ToFunc (Kafka Streams' TopicNameExtractor): the records of one stream land in two topics
// chosen by their value; an error from the function, and an empty name, reach OnError with the
// record's topic, partition and offset, and nothing at or past it is written.
func TestToFunc(t *testing.T) {
	in := topics(t, 1, "in")[0]
	var recs []rec
	for i := int64(0); i < 40; i++ {
		v, _ := streams.Long.Serialize(i)
		recs = append(recs, rec{[]byte(fmt.Sprintf("k%d", i%3)), v, time.Time{}})
	}
	produce(t, in, recs)
	errBad := errors.New("no topic for 13")
	for _, how := range []string{"route", "error", "empty"} {
		t.Run(how, func(t *testing.T) {
			ts := topics(t, 1, "even", "odd")
			even, odd := ts[0], ts[1]
			b := streams.NewBuilder()
			streams.From(b, streams.String, streams.Long, in).ToFunc(func(k string, n int64) (string, error) {
				switch {
				case how == "error" && n == 13:
					return "", errBad
				case how == "empty" && n == 21:
					return "", nil
				case n%2 == 0:
					return even, nil
				}
				return odd, nil
			})
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			s, got := startCollectingErrors(t, top)
			defer s.Close()
			check := func(limit int64) {
				for topic, parity := range map[string]int64{even: 0, odd: 1} {
					ms := readAll(t, topic, 1)
					for _, m := range ms {
						n, _ := streams.Long.Deserialize(m.Value)
						if n%2 != parity || string(m.Key) != fmt.Sprintf("k%d", n%3) || n >= limit {
							t.Fatalf("%s: %s=%d", topic, m.Key, n)
						}
					}
					if limit == 40 && len(ms) != 20 {
						t.Fatalf("%s: %d records, want 20", topic, len(ms))
					}
				}
			}
			if how == "route" {
				count := func() int { return len(readAll(t, even, 1)) + len(readAll(t, odd, 1)) }
				waitFor(t, 60*time.Second, "40 records written", func() bool { return count() >= 40 }, func() string { return fmt.Sprint(count(), " ", s.State()) })
				check(40)
				return
			}
			e := failureAndError(t, s, got)
			at := map[string]int64{"error": 13, "empty": 21}[how]
			if e.Kind != streams.FailureUser || e.Topic != in || e.Partition != 0 || e.Offset != at {
				t.Fatalf("failure %+v", e)
			}
			if how == "error" && (!errors.Is(e, errBad) || !strings.Contains(e.Message, "no topic for 13")) {
				t.Fatalf("error %+v", e)
			}
			if how == "empty" && !strings.Contains(e.Message, "no topic name") {
				t.Fatalf("message %q", e.Message)
			}
			check(at)
		})
	}
}
