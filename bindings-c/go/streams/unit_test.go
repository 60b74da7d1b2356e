package streams_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

// Serdes without a broker: Long is Kafka's LongSerializer, windowed keys are Kafka Streams'
// time-windowed format (through the core's encoding), JSON's nil is Kafka's null.
func TestSerdes(t *testing.T) {
	b, _ := streams.Long.Serialize(-2)
	if string(b) != "\xff\xff\xff\xff\xff\xff\xff\xfe" {
		t.Fatalf("Long(-2) = %x", b)
	}
	if v, err := streams.Long.Deserialize(b); err != nil || v != -2 {
		t.Fatalf("Long back: %v %v", v, err)
	}
	if _, err := streams.Long.Deserialize([]byte{1, 2}); err == nil || !strings.Contains(err.Error(), "not 8 but 2") {
		t.Fatalf("Long of 2 bytes: %v", err)
	}
	ws := streams.WindowedSerde(streams.String, 300_000)
	b, err := ws.Serialize(streams.Windowed[string]{Key: "user-1", Start: 1_767_225_600_000})
	if err != nil || string(b[:6]) != "user-1" || len(b) != 14 || binary.BigEndian.Uint64(b[6:]) != 1_767_225_600_000 {
		t.Fatalf("windowed key: %q %v", b, err)
	}
	w, err := ws.Deserialize(b)
	if err != nil || w != (streams.Windowed[string]{Key: "user-1", Start: 1_767_225_600_000, End: 1_767_225_900_000}) {
		t.Fatalf("windowed back: %+v %v", w, err)
	}
	if _, err := ws.Deserialize([]byte("short")); err == nil || !strings.Contains(err.Error(), "at least 8 bytes") {
		t.Fatalf("short windowed key: %v", err)
	}
	type doc struct {
		N int `json:"n"`
	}
	js := streams.JSON[*doc]()
	if b, err := js.Serialize(nil); b != nil || err != nil {
		t.Fatalf("JSON(nil) = %q %v", b, err)
	}
	if b, _ := js.Serialize(&doc{3}); string(b) != `{"n":3}` {
		t.Fatalf("JSON = %s", b)
	}
	if _, err := streams.JSON[doc]().Deserialize([]byte("{not json")); err == nil {
		t.Fatal("JSON of bad input gave no error")
	}
}

// Topology errors come back from Build, with the core's words; windows are checked by the core.
func TestBuilderErrors(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.From(b, streams.String, streams.String, "in")
	s.GroupByKey().Count("bad name")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "invalid store name 'bad name'") {
		t.Fatalf("bad store name: %v", err)
	}
	var e *streams.Error
	b = streams.NewBuilder()
	streams.From(b, streams.String, streams.String, "in").To("")
	if _, err := b.Build(); !errors.As(err, &e) || e.Kind != "invalid_argument" {
		t.Fatalf("empty topic: %v", err)
	}
	if err := streams.TumblingWindows(time.Minute, -time.Second).Check(); err == nil || !strings.Contains(err.Error(), "grace period must not be negative") {
		t.Fatalf("negative grace: %v", err)
	}
	if err := streams.TumblingWindows(time.Minute, 0).AdvanceBy(2 * time.Minute).Check(); err == nil {
		t.Fatal("advance above the size accepted")
	}
	if err := streams.JoinTimeDifference(-time.Second, 0).Check(); err == nil {
		t.Fatal("negative join difference accepted")
	}
	b = streams.NewBuilder()
	streams.WindowedCount(streams.From(b, streams.String, streams.String, "in").GroupByKey().WindowedBy(streams.TumblingWindows(0, 0)), "")
	if _, err := b.Build(); err == nil || !strings.Contains(err.Error(), "window size must be positive") {
		t.Fatalf("zero window: %v", err)
	}
	if _, err := streams.New(nil, nil); err == nil {
		t.Fatal("New(nil) accepted")
	}
	b = streams.NewBuilder()
	streams.From(b, streams.String, streams.String, "in").To("out")
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams.New(top, map[string]string{"bootstrap.servers": "127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "application.id") {
		t.Fatalf("no application.id: %v", err)
	}
	if _, err := streams.New(top, map[string]string{"application.id": "x", "bootstrap.servers": "127.0.0.1:1"}); err == nil {
		t.Fatal("a Topology used twice")
	}
	b = streams.NewBuilder()
	src := streams.From(b, streams.String, streams.String, "in")
	src.To("out")
	top, _ = b.Build()
	ks, err := streams.New(top, map[string]string{"application.id": "x", "bootstrap.servers": "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	src.Filter(func(string, string) bool { return true }) // the topology is the instance's now
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "already given to New") {
		t.Fatalf("an operation after New: %v", err)
	}
	if ks.State() != streams.Created || ks.Close() != nil || ks.State() != streams.NotRunning {
		t.Fatal("Close of an instance never started")
	}
}

// The default names of stores and repartition topics are Kafka Streams' (the core's counter),
// as tests/streams-java/NamesTopology.java gives them.
func TestDefaultNamesAsKafkaStreams(t *testing.T) {
	b := streams.NewBuilder()
	s := streams.From(b, streams.String, streams.String, "t")
	streams.From(b, streams.String, streams.String, "u")
	mv := streams.MapValues(s, func(v string) (string, error) { return v, nil }, streams.String)
	counts := streams.GroupBy(mv, func(k, v string) (string, error) { return v, nil }, streams.String).Count("")
	if counts.StoreName() != "KSTREAM-AGGREGATE-STATE-STORE-0000000004" {
		t.Fatalf("store %s", counts.StoreName())
	}
	names, err := b.InternalNames()
	if err != nil || names != "repartition KSTREAM-AGGREGATE-STATE-STORE-0000000004\nstore KSTREAM-AGGREGATE-STATE-STORE-0000000004\n" {
		t.Fatalf("names %q %v", names, err)
	}
}
