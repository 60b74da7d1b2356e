package streams_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

// A windowed stream-stream left join (a pair within a minute, an order without partner joined
// with nothing once its window closed), and suppress(untilWindowCloses): one final count per
// window, only after stream time passed its end.
func TestStreamJoinAndSuppress(t *testing.T) {
	ts := topics(t, 1, "orders", "events", "joined", "finals")
	ordersT, eventsT, joinedT, finalsT := ts[0], ts[1], ts[2], ts[3]
	b := streams.NewBuilder()
	orders := streams.From(b, streams.String, streams.String, ordersT)
	events := streams.From(b, streams.String, streams.String, eventsT)
	streams.JoinStreams(orders, events, streams.LeftJoinKind, streams.JoinTimeDifference(time.Minute, 0),
		func(o string, _ bool, e string, found bool) (string, error) {
			if !found {
				return o + "|null", nil
			}
			return o + "|" + e, nil
		}, streams.String, "").To(joinedT)
	counts := streams.WindowedCount(events.GroupByKey().WindowedBy(streams.TumblingWindows(time.Minute, 0)), "event-counts")
	counts.Suppress(streams.Suppressed{}).ToStream().To(finalsT)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	base := time.UnixMilli(1_767_225_600_000)
	at := func(sec int) time.Time { return base.Add(time.Duration(sec) * time.Second) }
	produce(t, ordersT, []rec{{[]byte("k1"), []byte("o1"), at(0)}, {[]byte("k2"), []byte("o2"), at(10)}, {[]byte("k3"), []byte("o3"), at(300)}})
	produce(t, eventsT, []rec{{[]byte("k1"), []byte("e1"), at(30)}, {[]byte("k1"), []byte("e2"), at(40)}, {[]byte("k9"), []byte("e3"), at(200)}})
	s, _ := start(t, top, config(t, unique(t, "app"), "max.task.idle.ms", "2000"))
	defer s.Close()
	var joined []string
	waitFor(t, 60*time.Second, "the joined records", func() bool {
		joined = nil
		for _, m := range readAll(t, joinedT, 1) {
			joined = append(joined, string(m.Key)+"="+string(m.Value))
		}
		slices.Sort(joined)
		return len(joined) >= 3
	}, func() string { return fmt.Sprint(joined, s.Metrics()) })
	if want := []string{"k1=o1|e1", "k1=o1|e2", "k2=o2|null"}; !reflect.DeepEqual(joined, want) {
		t.Fatalf("joined %v, want %v", joined, want)
	}
	ws := streams.WindowedSerde(streams.String, 60_000)
	var finals []string
	waitFor(t, 60*time.Second, "the final counts", func() bool {
		finals = nil
		for _, m := range readAll(t, finalsT, 1) {
			w, err := ws.Deserialize(m.Key)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := streams.Long.Deserialize(m.Value)
			finals = append(finals, fmt.Sprintf("%s@%d=%d", w.Key, (w.Start-base.UnixMilli())/1000, n))
		}
		return len(finals) >= 1
	}, nil)
	time.Sleep(time.Second)
	// Stream time is 200 s: k1's window [0, 60) is final (2 events); k9's [180, 240) is open.
	if len(readAll(t, finalsT, 1)) != 1 || finals[0] != "k1@0=2" {
		t.Fatalf("final counts %v", finals)
	}
}
