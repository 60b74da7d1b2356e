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

func keysOf[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Split with named branches, as Kafka Streams: prefix + Branched name, prefix + position for an
// unnamed branch, prefix + "0" for an unnamed default branch; records go to the first match.
func TestSplitNamedBranches(t *testing.T) {
	ts := topics(t, 1, "in", "small", "mid", "rest", "even")
	in, small, mid, rest, even := ts[0], ts[1], ts[2], ts[3], ts[4]
	b := streams.NewBuilder()
	s := streams.From(b, streams.String, streams.Long, in)
	m := s.Split(streams.Named("p-")).
		Branch(func(_ string, v int64) bool { return v < 3 }, streams.BranchedAs("small")).
		Branch(func(_ string, v int64) bool { return v < 6 }).
		DefaultBranch()
	if got := keysOf(m); !reflect.DeepEqual(got, []string{"p-0", "p-2", "p-small"}) {
		t.Fatalf("branch names %v", got)
	}
	m["p-small"].To(small)
	m["p-2"].To(mid)
	m["p-0"].To(rest)
	n := s.Split().Branch(func(_ string, v int64) bool { return v%2 == 0 }, streams.BranchedAs("even")).NoDefaultBranch()
	if got := keysOf(n); !reflect.DeepEqual(got, []string{"even"}) {
		t.Fatalf("branch names without prefix %v", got)
	}
	n["even"].To(even)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	for i := int64(0); i < 10; i++ {
		v, _ := streams.Long.Serialize(i)
		recs = append(recs, rec{[]byte(fmt.Sprint("k", i)), v, time.Time{}})
	}
	produce(t, in, recs)
	ks, _ := start(t, top, config(t, unique(t, "app")))
	defer ks.Close()
	values := func(topic string) []int64 {
		var out []int64
		for _, m := range readAll(t, topic, 1) {
			v, _ := streams.Long.Deserialize(m.Value)
			out = append(out, v)
		}
		return out
	}
	want := map[string][]int64{small: {0, 1, 2}, mid: {3, 4, 5}, rest: {6, 7, 8, 9}, even: {0, 2, 4, 6, 8}}
	for topic, w := range want {
		var got []int64
		waitFor(t, 60*time.Second, topic, func() bool { got = values(topic); return len(got) >= len(w) }, func() string { return fmt.Sprint(got) })
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s: %v, want %v", topic, got, w)
		}
	}
}

func TestSplitErrors(t *testing.T) {
	var e *streams.Error
	for what, f := range map[string]func(s *streams.Stream[string, string]){
		"two branches of a split are named \"p-a\"": func(s *streams.Stream[string, string]) {
			s.Split(streams.Named("p-")).Branch(func(string, string) bool { return true }, streams.BranchedAs("a")).DefaultBranch(streams.BranchedAs("a"))
		},
		"this split is finished": func(s *streams.Stream[string, string]) {
			bs := s.Split()
			bs.DefaultBranch()
			bs.Branch(func(string, string) bool { return true })
		},
		"needs a predicate": func(s *streams.Stream[string, string]) { s.Split().Branch(nil).NoDefaultBranch() },
		"without branches":  func(s *streams.Stream[string, string]) { s.Split().NoDefaultBranch() },
	} {
		b := streams.NewBuilder()
		f(streams.From(b, streams.String, streams.String, "in"))
		if _, err := b.Build(); !errors.As(err, &e) || e.Kind != "invalid_argument" || !strings.Contains(e.Message, what) {
			t.Errorf("%s: %v", what, err)
		}
	}
}
