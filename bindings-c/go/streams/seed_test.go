package streams_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/examples/streams-seed/seed"
	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

// The seed's topology (examples/streams-seed/seed, the Java SeedTopology in Go) on a generated
// input of 3,000 events over 30 minutes of event time, out of order within the grace and some
// late past it: the final value per key of every output (per window for the windowed counts)
// and the stores equal the results computed independently by seed.Expected, as the Python
// conformance test compares Kafka Streams' and polykafka's to streams_seed.expected.
func TestSeedTopologyGivesTheExpectedResults(t *testing.T) {
	names := topics(t, 3, "events", "orders", "notifications", "country-counts", "windowed-counts", "enriched")
	tp := seed.Topics{Events: names[0], Orders: names[1], Notifications: names[2], CountryCounts: names[3], WindowedCounts: names[4], Enriched: names[5]}
	events := seed.Generate(3000, 120, 30, 16, 97)
	orders := seed.Orders(400, 17)
	exp := seed.Expected(events, orders, 3)
	if exp.Late < 10 {
		t.Fatalf("the input has only %d late records", exp.Late)
	}
	top, err := seed.Build(tp)
	if err != nil {
		t.Fatal(err)
	}
	var recs []rec
	for _, e := range events {
		recs = append(recs, jsonRec(e.User, e.Event, time.UnixMilli(e.TsMs)))
	}
	produce(t, tp.Events, recs)
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	counts, err := streams.StoreOf(s, "user-counts-by-country", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	byCountry := map[string]int64{}
	waitFor(t, 120*time.Second, "the country counts", func() bool {
		all, _ := counts.All()
		byCountry = map[string]int64{}
		for _, kv := range all {
			byCountry[kv.Key] = kv.Value
		}
		return reflect.DeepEqual(byCountry, exp.ByCountry)
	}, func() string { return fmt.Sprintf("%v, want %v, %+v", byCountry, exp.ByCountry, s.Metrics()) })
	// Orders after the counts are complete: each joins the final count of its country.
	var ors []rec
	for _, o := range orders {
		ors = append(ors, jsonRec(o.Country, o, time.Time{}))
	}
	produce(t, tp.Orders, ors)
	waitFor(t, 120*time.Second, "everything processed", func() bool {
		m := s.Metrics()
		return m.Processed >= uint64(2*len(events)+len(orders)) && m.LateDropped == uint64(exp.Late)
	}, func() string { return fmt.Sprintf("%+v, late expected %d", s.Metrics(), exp.Late) })

	notes := map[string]int{}
	for _, m := range readAll(t, tp.Notifications, 3) {
		notes[string(m.Value)]++
	}
	if !reflect.DeepEqual(notes, exp.Notifications) {
		t.Fatalf("notifications: %d distinct, want %d", len(notes), len(exp.Notifications))
	}
	last := map[string]int64{}
	for _, m := range readAll(t, tp.CountryCounts, 3) {
		last[string(m.Key)], _ = streams.Long.Deserialize(m.Value)
	}
	if !reflect.DeepEqual(last, exp.ByCountry) {
		t.Fatalf("country counts %v, want %v", last, exp.ByCountry)
	}
	ws := streams.WindowedSerde(streams.String, seed.Window.Milliseconds())
	windowed := map[seed.WindowKey]int64{}
	waitFor(t, 30*time.Second, "the windowed counts", func() bool {
		for _, m := range readAll(t, tp.WindowedCounts, 3) {
			w, err := ws.Deserialize(m.Key)
			if err != nil || w.End-w.Start != 300_000 {
				t.Fatalf("windowed key %q: %+v %v", m.Key, w, err)
			}
			windowed[seed.WindowKey{User: w.Key, Start: w.Start}], _ = streams.Long.Deserialize(m.Value)
		}
		return reflect.DeepEqual(windowed, exp.Windowed)
	}, func() string { return fmt.Sprintf("%d windows, want %d", len(windowed), len(exp.Windowed)) })
	// The window store answers the same.
	wstore, err := streams.WindowStoreOf(s, "windowed-counts", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	all, err := wstore.All()
	if err != nil || len(all) != len(exp.Windowed) {
		t.Fatalf("window store: %d entries, want %d (%v)", len(all), len(exp.Windowed), err)
	}
	for _, kv := range all {
		if exp.Windowed[seed.WindowKey{User: kv.Key.Key, Start: kv.Key.Start}] != kv.Value {
			t.Fatalf("window store %+v = %d", kv.Key, kv.Value)
		}
	}
	for k, v := range exp.Windowed {
		f, err := wstore.Fetch(k.User, time.UnixMilli(k.Start), time.UnixMilli(k.Start))
		if err != nil || !reflect.DeepEqual(f, []streams.WindowValue[int64]{{Start: k.Start, Value: v}}) {
			t.Fatalf("Fetch(%v) = %v %v", k, f, err)
		}
		break
	}
	enriched := map[string]seed.Enriched{}
	nulls := 0
	for _, m := range readAll(t, tp.Enriched, 3) {
		var e seed.Enriched
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		enriched[e.OrderID] = e
		if e.UserCount == nil {
			nulls++
		}
	}
	if !reflect.DeepEqual(enriched, exp.Enriched) || nulls == 0 {
		t.Fatalf("enriched orders: %d (%d without count), want %d", len(enriched), nulls, len(exp.Enriched))
	}
}

// The example program (examples/streams-seed) builds and runs: it processes events written to
// its topics and prints the counts per country from the store when it stops.
func TestSeedExampleProgram(t *testing.T) {
	prefix := unique(t, "") + "-"
	created := make([]string, 0, 6)
	for _, n := range []string{"user-events", "orders", "notifications", "country-counts", "windowed-counts", "enriched-orders"} {
		created = append(created, prefix+n)
	}
	createNamed(t, 1, created...)
	var recs []rec
	for i := 0; i < 30; i++ {
		u := fmt.Sprintf("user-%d", i)
		country := []string{"DE", "FR", "US"}[i%3]
		recs = append(recs, jsonRec(u, seed.Event{UserID: u, EventType: "USER_CREATED", Country: country, Seq: i}, time.Time{}))
	}
	produce(t, prefix+"user-events", recs)
	bin := filepath.Join(t.TempDir(), "streams-seed")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/streams-seed").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-bootstrap", bootstrap(t), "-app", unique(t, "app"), "-prefix", prefix, "-for", "12s")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("streams-seed: %v\n%s", err, out)
	}
	for _, want := range []string{"state CREATED -> REBALANCING", "state REBALANCING -> RUNNING", "users in DE: 10", "users in FR: 10", "users in US: 10"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("no %q in the output:\n%s", want, out)
		}
	}
	if n := len(readAll(t, prefix+"notifications", 1)); n != 30 {
		t.Fatalf("%d notifications", n)
	}
}
