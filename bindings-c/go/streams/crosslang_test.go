package streams_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

// pythonWithPolykafka is Python's polykafka (POLYKAFKA_PYTHON, else the venv bindings-python/test.sh
// makes), or "" when that interpreter does not have it.
func pythonWithPolykafka() string {
	py := os.Getenv("POLYKAFKA_PYTHON")
	if py == "" {
		py, _ = filepath.Abs("../../../build/venv-python/bin/python")
	}
	if exec.Command(py, "-c", "import polykafka.streams").Run() != nil {
		return ""
	}
	return py
}

// A Go topology's windowed count (Kafka Streams' time-windowed keys) read by a Python topology:
// both decode the same (key, start, end, count) for every window.
func TestPythonReadsGoWindowedCounts(t *testing.T) {
	python := pythonWithPolykafka()
	if python == "" {
		t.Skip("no python with polykafka (set POLYKAFKA_PYTHON, or run bindings-python/test.sh)")
	}
	ts := topics(t, 2, "src", "windowed")
	src, windowed := ts[0], ts[1]
	base := time.UnixMilli(1_767_225_600_000)
	var recs []rec
	want := map[string]int64{}
	for i := 0; i < 60; i++ {
		user := fmt.Sprintf("u%d", i%5)
		at := base.Add(time.Duration(i) * 500 * time.Millisecond)
		recs = append(recs, rec{[]byte(user), []byte(fmt.Sprintf("e%d", i)), at})
		start := at.UnixMilli() - at.UnixMilli()%10_000
		want[fmt.Sprintf("%s %d %d", user, start, start+10_000)]++
	}
	produce(t, src, recs)

	b := streams.NewBuilder()
	counts := streams.WindowedCount(streams.From(b, streams.String, streams.String, src).GroupByKey().WindowedBy(streams.TumblingWindows(10*time.Second, 0)), "go-counts")
	counts.ToStream().To(windowed)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	waitFor(t, 60*time.Second, "60 records processed", func() bool { return s.Metrics().Processed >= 60 }, func() string { return fmt.Sprint(s.Metrics()) })
	store, err := streams.WindowStoreOf(s, "go-counts", streams.String, streams.Long)
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.All()
	if err != nil {
		t.Fatal(err)
	}
	inGo := map[string]int64{}
	for _, kv := range all {
		inGo[fmt.Sprintf("%s %d %d", kv.Key.Key, kv.Key.Start, kv.Key.End)] = kv.Value
	}
	if !reflect.DeepEqual(inGo, want) {
		t.Fatalf("Go's store: %v, want %v", inGo, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(python, "testdata/python_reads_windowed.py", bootstrap(t), windowed, unique(t, "py-app"), "10000", fmt.Sprint(len(want)), "60")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	inPython := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var key string
		var start, end, count int64
		fields := []any{&key, &start, &end, &count}
		if err := json.Unmarshal([]byte(line), &fields); err != nil || len(fields) != 4 {
			t.Fatalf("python printed %q (%v)", line, err)
		}
		inPython[fmt.Sprintf("%s %d %d", key, start, end)] = count
	}
	if !reflect.DeepEqual(inPython, want) {
		t.Fatalf("Python read %v, want %v", inPython, want)
	}
	t.Logf("Python decoded the %d windows of Go's windowed count as Go did", len(inPython))
}
