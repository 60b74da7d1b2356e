package streams_test

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

type sess struct {
	Key        string
	Start, End int64 // seconds after the test's base time
}

// sessionTable folds a session-windowed table's updates (a null value removes the session).
func sessionTable[V any](t *testing.T, topic string, base int64, vs streams.Serde[V]) (final map[sess]V, removed map[sess]bool) {
	t.Helper()
	ks := streams.SessionWindowedSerde(streams.String)
	final, removed = map[sess]V{}, map[sess]bool{}
	for _, m := range readAll(t, topic, 1) {
		w, err := ks.Deserialize(m.Key)
		if err != nil {
			t.Fatal(err)
		}
		k := sess{w.Key, (w.Start - base) / 1000, (w.End - base) / 1000}
		if m.Value == nil {
			delete(final, k)
			removed[k] = true
			continue
		}
		v, err := vs.Deserialize(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		final[k] = v
	}
	return final, removed
}

// Session count (gap 10 s, grace 20 s) with a record bridging two sessions, the removal of the
// merged sessions, a late record dropped, a session aggregate with its merger, a session reduce,
// suppress(untilWindowCloses) of the counts, and the session store's queries.
func TestSessionWindows(t *testing.T) {
	ts := topics(t, 1, "in", "counts", "aggs", "sums", "finals")
	in, counts, aggs, sums, finals := ts[0], ts[1], ts[2], ts[3], ts[4]
	b := streams.NewBuilder()
	g := streams.From(b, streams.String, streams.Long, in).GroupByKey()
	w := g.WindowedBySession(streams.OfInactivityGapAndGrace(10*time.Second, 20*time.Second))
	c := streams.SessionCount(w, "session-counts")
	c.ToStream().To(counts)
	c.Suppress(streams.Suppressed{Name: "session-finals"}).ToStream().To(finals)
	// aggregate: "+value" per record; merger: the aggregates joined with "|" (the first with init()'s "").
	agg := streams.SessionAggregate(w, func() string { return "" },
		func(_ string, v int64, a string) (string, error) { return a + fmt.Sprintf("+%d", v), nil },
		func(_ string, a, other string) (string, error) { return a + "|" + other, nil }, streams.String, "session-aggs")
	agg.ToStream().To(aggs)
	streams.SessionReduce(w, func(a, v int64) (int64, error) { return a + v, nil }, "session-sums").ToStream().To(sums)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-6 * time.Hour).Truncate(time.Second)
	at := func(sec int64) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	var recs []rec
	for _, r := range []struct {
		key string
		sec int64
	}{{"a", 0}, {"a", 18}, {"a", 9}, {"b", 5}, {"a", 100}, {"b", 30}} {
		v, _ := streams.Long.Serialize(r.sec)
		recs = append(recs, rec{[]byte(r.key), v, at(r.sec)})
	}
	produce(t, in, recs)
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	bm := base.UnixMilli()
	wantCounts := map[sess]int64{{"a", 0, 18}: 3, {"b", 5, 5}: 1, {"a", 100, 100}: 1}
	var got map[sess]int64
	var removed map[sess]bool
	waitFor(t, 90*time.Second, "the session counts", func() bool {
		got, removed = sessionTable(t, counts, bm, streams.Long)
		return reflect.DeepEqual(got, wantCounts)
	}, func() string { return fmt.Sprint(got, s.Metrics(), s.Err()) })
	if !removed[sess{"a", 0, 0}] || !removed[sess{"a", 18, 18}] || len(removed) != 2 {
		t.Errorf("removals of the merged sessions: %v", removed)
	}
	var gotAggs map[sess]string
	wantAggs := map[sess]string{{"a", 0, 18}: "|+0|+18+9", {"b", 5, 5}: "+5", {"a", 100, 100}: "+100"}
	waitFor(t, 30*time.Second, "the session aggregates", func() bool {
		gotAggs, _ = sessionTable(t, aggs, bm, streams.String)
		return reflect.DeepEqual(gotAggs, wantAggs)
	}, func() string { return fmt.Sprint(gotAggs) })
	var gotSums map[sess]int64
	wantSums := map[sess]int64{{"a", 0, 18}: 27, {"b", 5, 5}: 5, {"a", 100, 100}: 100}
	waitFor(t, 30*time.Second, "the session sums", func() bool {
		gotSums, _ = sessionTable(t, sums, bm, streams.Long)
		return reflect.DeepEqual(gotSums, wantSums)
	}, func() string { return fmt.Sprint(gotSums) })
	// Suppressed: the sessions closed at stream time 100 s (end + 10 + 20 < 100), each once.
	var fin []string
	waitFor(t, 30*time.Second, "the final sessions", func() bool {
		fin = nil
		ks := streams.SessionWindowedSerde(streams.String)
		for _, m := range readAll(t, finals, 1) {
			w, _ := ks.Deserialize(m.Key)
			n, _ := streams.Long.Deserialize(m.Value)
			fin = append(fin, fmt.Sprintf("%s[%d,%d]=%d null=%v", w.Key, (w.Start-bm)/1000, (w.End-bm)/1000, n, m.Value == nil))
		}
		sort.Strings(fin)
		return len(fin) >= 2
	}, func() string { return fmt.Sprint(fin) })
	if want := []string{"a[0,18]=3 null=false", "b[5,5]=1 null=false"}; !reflect.DeepEqual(fin, want) {
		t.Errorf("suppressed: %v, want %v", fin, want)
	}
	if m := s.Metrics(); m.LateDropped != 3 {
		t.Errorf("late records dropped %d, want 3 (b@30 by each of the three aggregations)", m.LateDropped)
	}
	store, err := streams.SessionStoreOf(s, "session-counts", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.Fetch("a")
	want := []streams.KeyValue[streams.Windowed[string], int64]{{Key: streams.Windowed[string]{Key: "a", Start: bm, End: bm + 18_000}, Value: 3}, {Key: streams.Windowed[string]{Key: "a", Start: bm + 100_000, End: bm + 100_000}, Value: 1}}
	if err != nil || !reflect.DeepEqual(f, want) {
		t.Errorf("Fetch(a) = %v %v, want %v", f, err, want)
	}
	f, err = store.FindSessions("a", at(50), at(200))
	if err != nil || !reflect.DeepEqual(f, want[1:]) {
		t.Errorf("FindSessions(a, 50 s, 200 s) = %v %v", f, err)
	}
	all, err := store.All()
	if err != nil || len(all) != 3 {
		t.Errorf("All = %v %v", all, err)
	}
	for _, kv := range all {
		if k := (sess{kv.Key.Key, (kv.Key.Start - bm) / 1000, (kv.Key.End - bm) / 1000}); wantCounts[k] != kv.Value {
			t.Errorf("All: %v = %d, want %d", k, kv.Value, wantCounts[k])
		}
	}
	as, err := streams.SessionStoreOf(s, "session-aggs", streams.String, streams.String)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := as.Fetch("b"); err != nil || len(f) != 1 || f[0].Value != "+5" {
		t.Errorf("aggregates of b: %v %v", f, err)
	}
	var e *streams.Error
	if _, err := streams.WindowStoreOf(s, "session-counts", streams.String, streams.Long); !errors.As(err, &e) || !strings.Contains(e.Message, "session store") {
		t.Errorf("WindowStoreOf a session store: %v", err)
	}
	if _, err := streams.StoreOf(s, "session-counts", streams.String, streams.Long); !errors.As(err, &e) || !strings.Contains(e.Message, "session store") {
		t.Errorf("StoreOf a session store: %v", err)
	}
	if _, err := streams.SessionStoreOf(s, "nope", streams.String, streams.Long); err == nil {
		t.Error("SessionStoreOf an unknown store")
	}
}

// Bad session windows and a missing merger are typed errors (from Check, and from Build).
func TestSessionWindowErrors(t *testing.T) {
	var e *streams.Error
	for _, c := range []struct {
		w    streams.SessionWindows
		want string
	}{
		{streams.OfInactivityGapWithNoGrace(0), "session inactivity gap must be positive, got 0 ms"},
		{streams.OfInactivityGapAndGrace(-time.Second, 0), "session inactivity gap must be positive, got -1000 ms"},
		{streams.OfInactivityGapAndGrace(time.Second, -time.Second), "grace period must not be negative, got -1000 ms"},
	} {
		if err := c.w.Check(); !errors.As(err, &e) || e.Kind != "invalid_argument" || !strings.Contains(e.Message, c.want) {
			t.Errorf("Check(%+v) = %v, want %q", c.w, err, c.want)
		}
		b := streams.NewBuilder()
		streams.SessionCount(streams.From(b, streams.String, streams.String, "in").GroupByKey().WindowedBySession(c.w), "")
		if _, err := b.Build(); !errors.As(err, &e) || e.Kind != "invalid_argument" || !strings.Contains(e.Message, c.want) {
			t.Errorf("Build with %+v = %v, want %q", c.w, err, c.want)
		}
	}
	if err := streams.OfInactivityGapAndGrace(time.Second, 0).Check(); err != nil {
		t.Errorf("good windows: %v", err)
	}
	w := streams.OfInactivityGapWithNoGrace(time.Minute)
	b := streams.NewBuilder()
	g := streams.From(b, streams.String, streams.Long, "in").GroupByKey().WindowedBySession(w)
	streams.SessionAggregate(g, func() int64 { return 0 }, func(_ string, v, a int64) (int64, error) { return a + v, nil }, nil, streams.Long, "")
	if _, err := b.Build(); !errors.As(err, &e) || e.Kind != "invalid_argument" || !strings.Contains(e.Message, "needs a merger") {
		t.Errorf("nil merger: %v", err)
	}
	b = streams.NewBuilder()
	g = streams.From(b, streams.String, streams.Long, "in").GroupByKey().WindowedBySession(w)
	streams.SessionReduce(g, nil, "")
	if _, err := b.Build(); !errors.As(err, &e) || !strings.Contains(e.Message, "needs a reducer") {
		t.Errorf("nil reducer: %v", err)
	}
	// A session table joins no stream; a non-windowed table is not suppressed until windows close.
	b = streams.NewBuilder()
	src := streams.From(b, streams.String, streams.Long, "in")
	counts := streams.SessionCount(src.GroupByKey().WindowedBySession(w), "")
	_ = counts
	src.GroupByKey().Count("plain").Suppress(streams.Suppressed{})
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "needs a windowed table") {
		t.Errorf("suppress of a plain table: %v", err)
	}
	// The default store names are Kafka Streams' (count and aggregate: AGGREGATE, reduce: REDUCE).
	b = streams.NewBuilder()
	g = streams.From(b, streams.String, streams.Long, "in").GroupByKey().WindowedBySession(w)
	streams.SessionCount(g, "")
	streams.SessionReduce(g, func(a, v int64) (int64, error) { return a + v, nil }, "")
	names, err := b.InternalNames()
	if err != nil || names != "store KSTREAM-AGGREGATE-STATE-STORE-0000000001\nstore KSTREAM-REDUCE-STATE-STORE-0000000003\n" {
		t.Errorf("names: %q %v", names, err)
	}
}

// SessionWindowedSerde is Kafka Streams' session-windowed format: key, end, start (big-endian).
func TestSessionWindowedSerde(t *testing.T) {
	ks := streams.SessionWindowedSerde(streams.String)
	b, err := ks.Serialize(streams.Windowed[string]{Key: "k", Start: 5, End: 300_000})
	want := []byte{'k', 0, 0, 0, 0, 0, 0x04, 0x93, 0xe0, 0, 0, 0, 0, 0, 0, 0, 5}
	if err != nil || !reflect.DeepEqual(b, want) {
		t.Fatalf("Serialize = %v %v, want %v", b, err, want)
	}
	w, err := ks.Deserialize(b)
	if err != nil || w != (streams.Windowed[string]{Key: "k", Start: 5, End: 300_000}) {
		t.Fatalf("Deserialize = %+v %v", w, err)
	}
	var e *streams.Error
	if _, err := ks.Deserialize(b[:15]); !errors.As(err, &e) || e.Kind != "serialization" {
		t.Fatalf("15 bytes: %v", err)
	}
}
