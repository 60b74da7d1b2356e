package streams_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/examples/streams-seed/seed"
	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

// seedResults reads the final values of the seed topology's outputs.
func seedResults(t *testing.T, tp seed.Topics) seed.Results {
	r := seed.Results{Notifications: map[string]int{}, ByCountry: map[string]int64{}, Windowed: map[seed.WindowKey]int64{}, Enriched: map[string]seed.Enriched{}}
	for _, m := range readAll(t, tp.Notifications, 3) {
		var n seed.Notification
		if err := json.Unmarshal(m.Value, &n); err != nil {
			t.Fatalf("notification %q: %v", m.Value, err)
		}
		b, _ := json.Marshal(n)
		r.Notifications[string(b)]++
	}
	for _, m := range readAll(t, tp.CountryCounts, 3) {
		r.ByCountry[string(m.Key)], _ = streams.Long.Deserialize(m.Value)
	}
	ws := streams.WindowedSerde(streams.String, seed.Window.Milliseconds())
	for _, m := range readAll(t, tp.WindowedCounts, 3) {
		w, err := ws.Deserialize(m.Key)
		if err != nil {
			t.Fatal(err)
		}
		r.Windowed[seed.WindowKey{User: w.Key, Start: w.Start}], _ = streams.Long.Deserialize(m.Value)
	}
	for _, m := range readAll(t, tp.Enriched, 3) {
		var e seed.Enriched
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatalf("enriched %q: %v", m.Value, err)
		}
		r.Enriched[e.OrderID] = e
	}
	return r
}

// Conformance with Kafka Streams itself: the seed's topology runs with Kafka Streams (Java,
// tests/streams-java/SeedTopology.java, the jar of the broker's version) and with this package
// (examples/streams-seed/seed) on the same generated input; the final value per key of every
// output (per window for the windowed counts) is the same in both and equals seed.Expected.
// Size: STREAMS_CONFORMANCE_EVENTS (default 5,000). Skipped without java and mvn.
func TestSeedTopologySameResultsAsKafkaStreams(t *testing.T) {
	n := 5000
	if s := os.Getenv("STREAMS_CONFORMANCE_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	names := topics(t, 3, "events", "orders", "go-notifications", "go-counts", "go-windowed", "go-enriched", "java-notifications", "java-counts", "java-windowed", "java-enriched")
	ours := seed.Topics{Events: names[0], Orders: names[1], Notifications: names[2], CountryCounts: names[3], WindowedCounts: names[4], Enriched: names[5]}
	theirs := seed.Topics{Events: names[0], Orders: names[1], Notifications: names[6], CountryCounts: names[7], WindowedCounts: names[8], Enriched: names[9]}
	events := seed.Generate(n, max(100, n/25), 30, 16, 97)
	orders := seed.Orders(500, 17)
	exp := seed.Expected(events, orders, 3)
	var recs []rec
	for _, e := range events {
		recs = append(recs, jsonRec(e.User, e.Event, time.UnixMilli(e.TsMs)))
	}
	produce(t, ours.Events, recs)

	javaLog := kafkaStreams(t, "SeedTopology", bootstrap(t), unique(t, "java-app"),
		theirs.Events, theirs.Orders, theirs.Notifications, theirs.CountryCounts, theirs.WindowedCounts, theirs.Enriched)
	top, err := seed.Build(ours)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := start(t, top, config(t, unique(t, "go-app")))
	defer s.Close()
	wait := time.Duration(180+n/200) * time.Second
	for side, tp := range map[string]seed.Topics{"ours": ours, "Kafka Streams'": theirs} {
		var got map[string]int64
		waitFor(t, wait, side+" country counts", func() bool {
			got = map[string]int64{}
			for _, m := range readAll(t, tp.CountryCounts, 3) {
				got[string(m.Key)], _ = streams.Long.Deserialize(m.Value)
			}
			return reflect.DeepEqual(got, exp.ByCountry)
		}, func() string { return fmt.Sprintf("%v, want %v\n%s", got, exp.ByCountry, javaLog()) })
	}
	var ors []rec
	for _, o := range orders {
		ors = append(ors, jsonRec(o.Country, o, time.Time{}))
	}
	produce(t, ours.Orders, ors)
	for side, tp := range map[string]seed.Topics{"ours": ours, "Kafka Streams'": theirs} {
		waitFor(t, wait, side+" enriched orders", func() bool { return len(readAll(t, tp.Enriched, 3)) >= len(orders) }, javaLog)
	}
	time.Sleep(2 * time.Second) // Kafka Streams' last windowed updates (its cache flushes at commit)
	got, want := seedResults(t, ours), seedResults(t, theirs)
	for what, pair := range map[string][3]any{
		"notifications":   {got.Notifications, want.Notifications, exp.Notifications},
		"country counts":  {got.ByCountry, want.ByCountry, exp.ByCountry},
		"windowed counts": {got.Windowed, want.Windowed, exp.Windowed},
		"enriched orders": {got.Enriched, want.Enriched, exp.Enriched},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: ours differ from Kafka Streams'", what)
		}
		if !reflect.DeepEqual(pair[0], pair[2]) {
			t.Errorf("%s: ours differ from the expected results", what)
		}
	}
	if m := s.Metrics(); m.LateDropped != uint64(exp.Late) || exp.Late == 0 {
		t.Errorf("late records dropped %d, expected %d", m.LateDropped, exp.Late)
	}
	if !strings.Contains(javaLog(), "STATE RUNNING") {
		t.Errorf("Kafka Streams never ran:\n%s", javaLog())
	}
	t.Logf("%d events, %d orders, %d windows, %d late: identical final results", n, len(orders), len(exp.Windowed), exp.Late)
}

// kafkaStreams runs the Kafka Streams topology class of tests/streams-java with args until the
// test ends (SIGTERM: it closes Kafka Streams), skipping the test without java and mvn; gives the
// tail of its log.
func kafkaStreams(t *testing.T, class string, args ...string) (log func() string) {
	t.Helper()
	if _, err := exec.LookPath("java"); err != nil {
		t.Skip("no java")
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		t.Skip("no mvn")
	}
	out, err := exec.Command("../../../tests/streams-java/build.sh").Output()
	if err != nil {
		t.Fatalf("tests/streams-java/build.sh: %v", err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), class+".log"))
	if err != nil {
		t.Fatal(err)
	}
	java := exec.Command("java", append([]string{"-cp", strings.TrimSpace(string(out)), class}, args...)...)
	java.Stdout, java.Stderr = f, f
	if err := java.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = java.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = java.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = java.Process.Kill()
			<-done
		}
	})
	return func() string {
		b, _ := os.ReadFile(f.Name())
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		return string(b)
	}
}
