package streams_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

const confGap, confGrace = 60_000, 30_000

type sessionEvent struct {
	key  string
	tsMs int64
}

// sessionEvents: event time moves on 0-6 s per record; one record in 12 is up to 150 s older than
// that (within the grace period, merging sessions, or late). As the Python conformance test's.
func sessionEvents(n, keys int, seed int64) []sessionEvent {
	rng := rand.New(rand.NewSource(seed))
	t := time.Now().Add(-6*time.Hour).UnixMilli() - int64(n)*6000 // the broker refuses timestamps ahead
	out := make([]sessionEvent, n)
	for i := range out {
		t += rng.Int63n(6001)
		ts := t
		if rng.Intn(12) == 0 {
			ts -= rng.Int63n(150_001)
		}
		out[i] = sessionEvent{fmt.Sprintf("u%02d", rng.Intn(keys)), ts}
	}
	return out
}

type sessionID struct {
	key        string
	start, end int64
}

// expectedSessions is Kafka Streams' session semantics computed here, record after record: the
// final count per session and the records dropped as late. A session ending before the store's
// time (the latest session end written) minus gap + grace is expired: not merged any more.
func expectedSessions(events []sessionEvent) (map[sessionID]int64, int) {
	sessions := map[string]map[[2]int64]int64{}
	streamTime, storeTime, late := int64(-1), int64(-1), 0
	for _, e := range events {
		t := e.tsMs
		streamTime = max(streamTime, t)
		mine := sessions[e.key]
		if mine == nil {
			mine = map[[2]int64]int64{}
			sessions[e.key] = mine
		}
		live := storeTime - (confGap + confGrace) + 1
		start, end, count := t, t, int64(1)
		var merged [][2]int64
		for w := range mine {
			if w[1] >= max(t-confGap, live) && w[0] <= t+confGap {
				merged = append(merged, w)
				start, end = min(start, w[0]), max(end, w[1])
			}
		}
		if end < streamTime-confGrace-confGap {
			late++
			continue
		}
		for _, w := range merged {
			count += mine[w]
			delete(mine, w)
		}
		mine[[2]int64{start, end}] = count
		storeTime = max(storeTime, end)
	}
	out := map[sessionID]int64{}
	for k, mine := range sessions {
		for w, n := range mine {
			out[sessionID{k, w[0], w[1]}] = n
		}
	}
	return out, late
}

func finalSessions(t *testing.T, topic string) map[sessionID]int64 {
	ks := streams.SessionWindowedSerde(streams.String)
	out := map[sessionID]int64{}
	for _, m := range readAll(t, topic, 1) {
		w, err := ks.Deserialize(m.Key)
		if err != nil {
			t.Fatal(err)
		}
		id := sessionID{w.Key, w.Start, w.End}
		if m.Value == nil {
			delete(out, id)
			continue
		}
		out[id], _ = streams.Long.Deserialize(m.Value)
	}
	return out
}

func sessionDiff(a, b map[sessionID]int64) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			d = append(d, fmt.Sprintf("%v=%d (other: %d, %v)", k, v, w, ok))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("only other: %v=%d", k, v))
		}
	}
	sort.Strings(d)
	if len(d) > 8 {
		d = append(d[:8], fmt.Sprintf("... %d more", len(d)-8))
	}
	return strings.Join(d, "; ")
}

// Conformance with Kafka Streams itself for session windows: the session-windowed count of
// tests/streams-java/SessionTopology.java (gap 1 min, grace 30 s, store "session-counts") run by
// Kafka Streams and by this package on the same generated input (one partition, out of order
// within the grace period, with late records): the final count per (key, start, end) of both
// outputs (removals of merged sessions applied) is the same and equals expectedSessions; our store
// holds the same sessions, and the late records dropped are the expected ones. Skipped without
// java and mvn.
func TestSessionCountSameResultsAsKafkaStreams(t *testing.T) {
	names := topics(t, 1, "events", "go-counts", "java-counts")
	events, ours, theirs := names[0], names[1], names[2]
	input := sessionEvents(3000, 20, 16)
	exp, expLate := expectedSessions(input)
	merged := 0
	for _, n := range exp {
		if n > 1 {
			merged++
		}
	}
	if expLate == 0 || merged == 0 {
		t.Fatalf("the input has %d late records and %d sessions of several records: want both", expLate, merged)
	}
	var recs []rec
	for i, e := range input {
		recs = append(recs, rec{[]byte(e.key), []byte(fmt.Sprint("e", i)), time.UnixMilli(e.tsMs)})
	}
	produce(t, events, recs)

	javaLog := kafkaStreams(t, "SessionTopology", bootstrap(t), unique(t, "java-app"), events, theirs)
	b := streams.NewBuilder()
	w := streams.From(b, streams.String, streams.String, events).GroupByKey().WindowedBySession(streams.OfInactivityGapAndGrace(time.Minute, 30*time.Second))
	streams.SessionCount(w, "session-counts").ToStream().To(ours)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := start(t, top, config(t, unique(t, "go-app")))
	defer s.Close()
	got := map[string]map[sessionID]int64{}
	for side, topic := range map[string]string{"ours": ours, "Kafka Streams'": theirs} {
		waitFor(t, 240*time.Second, side+" session counts", func() bool {
			got[side] = finalSessions(t, topic)
			return reflect.DeepEqual(got[side], exp)
		}, func() string { return sessionDiff(got[side], exp) + "\n" + javaLog() })
	}
	if !reflect.DeepEqual(got["ours"], got["Kafka Streams'"]) {
		t.Errorf("ours differ from Kafka Streams': %s", sessionDiff(got["ours"], got["Kafka Streams'"]))
	}
	store, err := streams.SessionStoreOf(s, "session-counts", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.All()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[sessionID]int64{}
	for _, kv := range all {
		stored[sessionID{kv.Key.Key, kv.Key.Start, kv.Key.End}] = kv.Value
	}
	if !reflect.DeepEqual(stored, exp) {
		t.Errorf("the store differs from the expected sessions: %s", sessionDiff(stored, exp))
	}
	if m := s.Metrics(); m.LateDropped != uint64(expLate) {
		t.Errorf("late records dropped %d, expected %d", m.LateDropped, expLate)
	}
	if !strings.Contains(javaLog(), "STATE RUNNING") {
		t.Errorf("Kafka Streams never ran:\n%s", javaLog())
	}
	t.Logf("%d records, %d sessions (%d of several records), %d late: identical final sessions", len(input), len(exp), merged, expLate)
}
