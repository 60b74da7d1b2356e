package streams_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

type timed struct {
	At  int64  `json:"at"`
	Bad string `json:"bad,omitempty"`
}

// Event time from a field of the value drives tumbling windows of 10 s (no grace) and lateness;
// a negative extracted time drops the record; the extractor gets each record's own timestamp and
// the partition time before it.
func TestTimestampExtractorFromTheValue(t *testing.T) {
	ts := topics(t, 1, "in", "out")
	in, out := ts[0], ts[1]
	written := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	base := written.Add(-3 * time.Hour).Truncate(10 * time.Second).UnixMilli()
	var mu sync.Mutex
	var seen [][2]int64 // (record timestamp, partition time) per call of the extractor
	b := streams.NewBuilder()
	src := streams.From(b, streams.String, streams.JSON[timed](), in).WithTimestampFunc(func(_ string, v timed, recordTs, partitionTime int64) (int64, error) {
		mu.Lock()
		seen = append(seen, [2]int64{recordTs, partitionTime})
		mu.Unlock()
		if v.At < 0 {
			return v.At, nil
		}
		return base + v.At, nil
	})
	streams.WindowedCount(src.GroupByKey().WindowedBy(streams.TumblingWindows(10*time.Second, 0)), "by-event-time").ToStream().To(out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	for _, at := range []int64{0, 3000, 12000, 15000, 1000, -7} { // 1000: late (stream time 15 s, window [0, 10 s) closed)
		recs = append(recs, jsonRec("k", timed{At: at}, written))
	}
	produce(t, in, recs)
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	ws := streams.WindowedSerde(streams.String, 10_000)
	want := map[int64]int64{0: 2, 10_000: 2}
	got := map[int64]int64{}
	waitFor(t, 60*time.Second, "the counts per event-time window", func() bool {
		for _, m := range readAll(t, out, 1) {
			k, err := ws.Deserialize(m.Key)
			if err != nil {
				t.Fatal(err)
			}
			got[k.Start-base], _ = streams.Long.Deserialize(m.Value)
		}
		return reflect.DeepEqual(got, want) && s.Metrics().TimestampDropped == 1
	}, func() string { return fmt.Sprint(got, s.Metrics()) })
	if m := s.Metrics(); m.LateDropped != 1 || m.TimestampDropped != 1 {
		t.Errorf("late %d, timestamp dropped %d: want 1 and 1", m.LateDropped, m.TimestampDropped)
	}
	w := written.UnixMilli()
	mu.Lock()
	defer mu.Unlock()
	wantSeen := [][2]int64{{w, -1}, {w, base}, {w, base + 3000}, {w, base + 12000}, {w, base + 15000}, {w, base + 15000}}
	if !reflect.DeepEqual(seen, wantSeen) {
		t.Errorf("the extractor saw (record timestamp, partition time) %v, want %v", seen, wantSeen)
	}
}

// An extractor's error or panic stops the application naming the record's topic, partition and
// offset; a built-in extractor on a stream that is not a source, or a nil function, is an error.
func TestTimestampExtractorFailure(t *testing.T) {
	for _, how := range []string{"error", "panic"} {
		t.Run(how, func(t *testing.T) {
			ts := topics(t, 1, "in", "out")
			in, out := ts[0], ts[1]
			errBad := errors.New("no time in this record")
			b := streams.NewBuilder()
			streams.From(b, streams.String, streams.JSON[timed](), in).WithTimestampFunc(func(_ string, v timed, recordTs, _ int64) (int64, error) {
				if v.Bad != "" {
					if how == "panic" {
						panic("bad record")
					}
					return 0, errBad
				}
				return recordTs, nil
			}).To(out)
			top, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			produce(t, in, []rec{jsonRec("k", timed{At: 1}, time.Time{}), jsonRec("k", timed{At: 2}, time.Time{}), jsonRec("k", timed{Bad: "x"}, time.Time{}), jsonRec("k", timed{At: 3}, time.Time{})})
			s, got := startCollectingErrors(t, top)
			defer s.Close()
			e := failureAndError(t, s, got)
			if e.Kind != streams.FailureUser || e.Topic != in || e.Partition != 0 || e.Offset != 2 {
				t.Fatalf("failure %+v", e)
			}
			var pe *streams.PanicError
			if how == "error" && (!errors.Is(e, errBad) || !strings.Contains(e.Message, "no time in this record")) {
				t.Fatalf("error %+v", e)
			}
			if how == "panic" && (!errors.As(e, &pe) || pe.Value != "bad record") {
				t.Fatalf("panic %+v", e)
			}
			if n := len(readAll(t, out, 1)); n > 2 {
				t.Fatalf("%d records written: a record at or past the failed one went through", n)
			}
		})
	}
	var e *streams.Error
	b := streams.NewBuilder()
	streams.From(b, streams.String, streams.String, "in").Filter(func(string, string) bool { return true }).WithTimestampExtractor(streams.WallclockTimestampExtractor)
	if _, err := b.Build(); !errors.As(err, &e) || e.Kind != "invalid_argument" || !strings.Contains(e.Message, "is not a source") {
		t.Errorf("an extractor on a stream that is not a source: %v", err)
	}
	b = streams.NewBuilder()
	streams.From(b, streams.String, streams.String, "in").WithTimestampFunc(nil)
	if _, err := b.Build(); !errors.As(err, &e) || !strings.Contains(e.Message, "needs a function") {
		t.Errorf("a nil extractor: %v", err)
	}
	b = streams.NewBuilder()
	streams.From(b, streams.String, streams.String, "in").WithTimestampExtractor(streams.TimestampExtractor(9))
	if _, err := b.Build(); !errors.As(err, &e) || !strings.Contains(e.Message, "built-in extractors") {
		t.Errorf("an unknown built-in extractor: %v", err)
	}
}

// WallclockTimestampExtractor: records written 3 hours ago are counted in the windows of now.
func TestWallclockTimestampExtractor(t *testing.T) {
	ts := topics(t, 1, "in", "out")
	in, out := ts[0], ts[1]
	b := streams.NewBuilder()
	src := streams.From(b, streams.String, streams.String, in).WithTimestampExtractor(streams.WallclockTimestampExtractor)
	streams.WindowedCount(src.GroupByKey().WindowedBy(streams.TumblingWindows(time.Hour, 0)), "").ToStream().To(out)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	produce(t, in, []rec{{[]byte("k"), []byte("a"), old}, {[]byte("k"), []byte("b"), old}})
	before := time.Now()
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	ws := streams.WindowedSerde(streams.String, time.Hour.Milliseconds())
	counts := map[int64]int64{}
	var total int64
	waitFor(t, 60*time.Second, "the wall-clock counts", func() bool {
		for _, m := range readAll(t, out, 1) {
			w, _ := ws.Deserialize(m.Key)
			counts[w.Start], _ = streams.Long.Deserialize(m.Value)
		}
		total = 0
		for _, n := range counts {
			total += n
		}
		return total == 2
	}, func() string { return fmt.Sprint(counts, s.Metrics()) })
	for start := range counts {
		if start < before.Truncate(time.Hour).UnixMilli() {
			t.Errorf("window %d: the records' own time (%d) was used, not the wall clock (%d)", start, old.UnixMilli(), before.UnixMilli())
		}
	}
}
