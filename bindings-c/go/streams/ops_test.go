package streams_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

type stats struct {
	N   int   `json:"n"`
	Max int64 `json:"max"`
}

// The other operators: flatMapValues into two branches and their merge, map, flatMap,
// selectKey, foreach, to with other serdes, reduce and aggregate (their stores queried).
func TestBranchMergeMapReduceAggregate(t *testing.T) {
	ts := topics(t, 2, "src", "small", "big", "merged", "sums", "mapped")
	src, small, big, merged, sums, mapped := ts[0], ts[1], ts[2], ts[3], ts[4], ts[5]
	b := streams.NewBuilder()
	s := streams.From(b, streams.String, streams.Long, src)
	both := streams.FlatMapValues(s, func(v int64) ([]int64, error) { return []int64{v, v + 1000}, nil }, streams.Long)
	br := both.Branch(func(_ string, v int64) bool { return v < 1000 }, func(string, int64) bool { return true })
	br[0].To(small)
	br[1].To(big)
	br[0].Merge(br[1]).FilterNot(func(_ string, v int64) bool { return v%2 == 1 }).To(merged)
	g := s.GroupByKey()
	g.Reduce(func(a, v int64) (int64, error) { return a + v, nil }, "sum").ToStream().To(sums)
	st := streams.Aggregate(g, func() stats { return stats{} }, func(_ string, v int64, a stats) (stats, error) {
		return stats{a.N + 1, max(a.Max, v)}, nil
	}, streams.JSON[stats](), "stats")
	// map: key and value swapped into strings; flatMap: one record per digit; selectKey.
	m := streams.Map(s, func(k string, v int64) (string, string, error) { return fmt.Sprint(v), k, nil }, streams.String, streams.String)
	digits := streams.FlatMap(m, func(k, v string) ([]streams.KeyValue[string, string], error) {
		var out []streams.KeyValue[string, string]
		for _, d := range k {
			out = append(out, streams.KeyValue[string, string]{Key: string(d), Value: v})
		}
		return out, nil
	}, streams.String, streams.String)
	streams.SelectKey(digits, func(k, v string) (string, error) { return v + "/" + k, nil }, streams.String).ToWith(mapped, nil, streams.JSON[string]())
	var mu sync.Mutex
	seen := 0
	s.Foreach(func(string, int64) { mu.Lock(); seen++; mu.Unlock() })
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	for i := int64(0); i < 40; i++ {
		v, _ := streams.Long.Serialize(i)
		recs = append(recs, rec{[]byte(fmt.Sprintf("k%d", i%4)), v, time.Time{}})
	}
	produce(t, src, recs)
	ks, _ := start(t, top, config(t, unique(t, "app")))
	defer ks.Close()
	store, err := streams.Store(ks, st)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the aggregates", func() bool {
		for j := 0; j < 4; j++ {
			if a, _, _ := store.Get(fmt.Sprintf("k%d", j)); a.N != 10 {
				return false
			}
		}
		return true
	}, func() string { all, _ := store.All(); return fmt.Sprint(all) })
	if a, _, _ := store.Get("k3"); a != (stats{10, 39}) {
		t.Fatalf("stats of k3 %+v", a)
	}
	sum, _ := streams.StoreOf(ks, "sum", streams.String, streams.Long)
	if v, _, _ := sum.Get("k1"); v != 1+5+9+13+17+21+25+29+33+37 {
		t.Fatalf("sum of k1 %d", v)
	}
	longs := func(topic string, want int) []int64 {
		var out []int64
		waitFor(t, 30*time.Second, topic, func() bool {
			out = nil
			for _, m := range readAll(t, topic, 2) {
				n, _ := streams.Long.Deserialize(m.Value)
				out = append(out, n)
			}
			return len(out) >= want
		}, nil)
		slices.Sort(out)
		return out
	}
	seq := func(from, to int64, step int64) (out []int64) {
		for i := from; i < to; i += step {
			out = append(out, i)
		}
		return out
	}
	if got := longs(small, 40); !reflect.DeepEqual(got, seq(0, 40, 1)) {
		t.Fatalf("small %v", got)
	}
	if got := longs(big, 40); !reflect.DeepEqual(got, seq(1000, 1040, 1)) {
		t.Fatalf("big %v", got)
	}
	if got := longs(merged, 40); !reflect.DeepEqual(got, append(seq(0, 40, 2), seq(1000, 1040, 2)...)) {
		t.Fatalf("merged %v", got)
	}
	last := map[string]int64{}
	for _, m := range readAll(t, sums, 2) {
		last[string(m.Key)], _ = streams.Long.Deserialize(m.Value)
	}
	if last["k0"] != 0+4+8+12+16+20+24+28+32+36 || len(last) != 4 {
		t.Fatalf("sums %v", last)
	}
	// 10 single-digit values and 30 two-digit ones: 70 records, keyed "<original key>/<digit>".
	var keys []string
	waitFor(t, 30*time.Second, "the mapped records", func() bool {
		keys = nil
		for _, m := range readAll(t, mapped, 2) {
			keys = append(keys, string(m.Key)+"="+string(m.Value))
		}
		return len(keys) >= 70
	}, nil)
	if len(keys) != 70 || !slices.Contains(keys, `k3/3="k3"`) || !slices.Contains(keys, `k3/9="k3"`) {
		t.Fatalf("mapped %d: %v", len(keys), keys[:min(len(keys), 10)])
	}
	mu.Lock()
	defer mu.Unlock()
	if seen != 40 {
		t.Fatalf("foreach saw %d", seen)
	}
}

// picky is a Serde that panics on "boom".
type picky struct{}

func (picky) Serialize(v string) ([]byte, error) { return []byte(v), nil }
func (picky) Deserialize(b []byte) (string, error) {
	if string(b) == "boom" {
		panic("cannot read boom")
	}
	return string(b), nil
}

// A Serde that panics is a deserialization failure (here skipped by log_and_continue), and a
// state listener that panics does not take the process down.
func TestPanickingSerdeAndListener(t *testing.T) {
	ts := topics(t, 1, "in", "out")
	in, out := ts[0], ts[1]
	b := streams.NewBuilder()
	streams.From(b, streams.String, picky{}, in).Filter(func(string, string) bool { return true }).To(out)
	top, _ := b.Build()
	produce(t, in, []rec{{[]byte("k"), []byte("a"), time.Time{}}, {[]byte("k"), []byte("boom"), time.Time{}}, {[]byte("k"), []byte("c"), time.Time{}}})
	s, err := streams.New(top, config(t, unique(t, "app"), "default.deserialization.exception.handler", "log_and_continue"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.OnStateChange(func(old, new streams.State) { panic("a listener that panics") })
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "3 records processed", func() bool { return s.Metrics().Processed == 3 }, func() string { return fmt.Sprintf("%+v %s", s.Metrics(), s.State()) })
	var got []string
	waitFor(t, 30*time.Second, "the outputs", func() bool {
		got = nil
		for _, m := range readAll(t, out, 1) {
			got = append(got, string(m.Value))
		}
		return len(got) >= 2
	}, nil)
	if !reflect.DeepEqual(got, []string{"a", "c"}) || s.Metrics().DeserializationSkipped != 1 || s.State() != streams.Running {
		t.Fatalf("outputs %v, %+v, state %s", got, s.Metrics(), s.State())
	}
}
