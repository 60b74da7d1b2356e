package avrov2

// The compiled plans against the core on the real registry (SCHEMA_REGISTRY_URL; skipped when
// unset): every record written by a plan equals the core's bytes for it, every record read by
// a plan equals what the core's path stores; a record the plan cannot take, a plan that
// disagrees with the core and a type the plan cannot compile all end on the core's path.

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/internal/srtest"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
)

const richSchema = `{"type":"record","name":"Rich","namespace":"t.plan","fields":[
{"name":"id","type":"long"},
{"name":"count","type":"int"},
{"name":"ratio","type":"float"},
{"name":"score","type":"double"},
{"name":"ok","type":"boolean"},
{"name":"name","type":"string"},
{"name":"note","type":["null","string"],"default":null},
{"name":"last","type":["string","null"]},
{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
{"name":"atMicros","type":{"type":"long","logicalType":"timestamp-micros"}},
{"name":"atOpt","type":["null",{"type":"long","logicalType":"timestamp-millis"}],"default":null},
{"name":"day","type":{"type":"int","logicalType":"date"}},
{"name":"uid","type":{"type":"string","logicalType":"uuid"}},
{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]}},
{"name":"hash","type":{"type":"fixed","name":"Hash","size":4}},
{"name":"blob","type":["null","bytes"],"default":null},
{"name":"tags","type":{"type":"array","items":"string"}},
{"name":"attrs","type":{"type":"map","values":"long"}},
{"name":"where","type":{"type":"record","name":"Addr","fields":[
  {"name":"city","type":"string"},{"name":"zip","type":["null","int"],"default":null}]}},
{"name":"prev","type":["null","Addr"],"default":null},
{"name":"history","type":{"type":"array","items":"Addr"}},
{"name":"kinds","type":{"type":"map","values":"Kind"}}]}`

type Addr struct {
	City string `avro:"city"`
	Zip  *int32 `avro:"zip"`
}

type Base struct {
	ID    int64 `avro:"id"`
	Count int   `avro:"count"`
}

type Rich struct {
	Base              // embedded: its fields are the record's
	Ratio     float32 `avro:"ratio"`
	Score     float64 `avro:"score"`
	OK        bool    `avro:"ok"`
	Name      string  `avro:"name"`
	Note      *string `avro:"note"`
	Last      *string `avro:"last"`
	At        time.Time
	AtMicros  time.Time  `avro:"atMicros"`
	AtOpt     *time.Time `avro:"atOpt"`
	Day       int32      `avro:"day"`
	UID       string     `avro:"uid"`
	Kind      string     `avro:"kind"`
	Hash      [4]byte    `avro:"hash"`
	Blob      []byte     `avro:"blob"`
	Tags      []string   `avro:"tags"`
	Attrs     map[string]int64
	Where     Addr              `avro:"where"`
	Prev      *Addr             `avro:"prev"`
	History   []Addr            `avro:"history"`
	Kinds     map[string]string `avro:"kinds"`
	NotInAvro chan int          `avro:"-"`
}

func richAt(i int) Rich {
	s := func(x string) *string { return &x }
	r := Rich{
		Base:     Base{ID: int64(i) * -7919, Count: i - 3},
		Ratio:    float32(i) / 3,
		Score:    float64(i) * 1.25e-3,
		OK:       i%2 == 0,
		Name:     fmt.Sprintf("näme-%d", i),
		At:       time.UnixMilli(1764921600000 + int64(i)).UTC(),
		AtMicros: time.UnixMicro(-1_000_001 + int64(i)).UTC(),
		Day:      int32(20000 + i),
		UID:      fmt.Sprintf("00000000-0000-0000-0000-%012d", i),
		Kind:     []string{"A", "B", "C"}[i%3],
		Hash:     [4]byte{1, 2, 3, byte(i)},
		Tags:     []string{"x", fmt.Sprint(i)},
		Attrs:    map[string]int64{"b": int64(i), "a": -1, "c": 1 << 40},
		Where:    Addr{City: "Wellington"},
		History:  []Addr{{City: "a"}, {City: "b"}},
		Kinds:    map[string]string{"k2": "C", "k1": "A"},
	}
	if i%2 == 1 {
		r.Note, r.Last = s("n"), s("")
		z := int32(6011)
		r.Where.Zip = &z
		r.Prev = &Addr{City: "Auckland", Zip: &z}
		at := time.UnixMilli(-5).UTC()
		r.AtOpt = &at
		r.Blob = []byte{}
		r.Tags = nil    // an empty array
		r.Attrs = nil   // an empty map
		r.History = nil // an empty array
		r.Kinds = nil   // an empty map
	}
	if i%3 == 2 {
		r.Blob = []byte("blob")
	}
	return r
}

// The Go names At and Attrs stand for the schema's "at" and "attrs": the schema names them so.
func richSchemaText() string {
	return strings.NewReplacer(`"name":"at",`, `"name":"At",`, `"name":"attrs",`, `"name":"Attrs",`).Replace(richSchema)
}

type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) Printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func captureLog(t *testing.T) *logSink {
	l := &logSink{}
	Logger = l
	t.Cleanup(func() { Logger = nil })
	return l
}

// newLatestPair registers schema under topic and gives a serializer of its latest version and
// a deserializer.
func newLatestPair(t *testing.T, schema string) (string, *Serializer, *Deserializer) {
	ours := srtest.Client(t)
	topic := srtest.Unique(t, "go-plan")
	if _, err := ours.Register(topic+"-value", schemaregistry.SchemaInfo{Schema: schema}, false); err != nil {
		t.Fatal(err)
	}
	conf := NewSerializerConfig()
	conf.AutoRegisterSchemas, conf.UseLatestVersion = false, true
	ser, err := NewSerializer(ours, serde.ValueSerde, conf)
	if err != nil {
		t.Fatal(err)
	}
	de, err := NewDeserializer(ours, serde.ValueSerde, NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ser.Close(); de.Close() })
	return topic, ser, de
}

func TestPlanEqualsCoreOnEveryKind(t *testing.T) {
	log := captureLog(t)
	topic, ser, de := newLatestPair(t, richSchemaText())
	const n = 12
	for i := 0; i < n; i++ {
		r := richAt(i)
		got, err := ser.Serialize(topic, &r)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want, err := ser.byCore(topic, reflect.TypeOf(r), reflect.ValueOf(&r))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d:\nplan %x\ncore %x", i, got, want)
		}
		var byPlan, byCore Rich
		if err := de.DeserializeInto(topic, got, &byPlan); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if err := de.intoByCore(topic, got, reflect.ValueOf(&byCore).Elem()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(byPlan, byCore) {
			t.Fatalf("record %d:\nplan %+v\ncore %+v", i, byPlan, byCore)
		}
		// Deserialize (no Go type): maps, []interface{}, int64, float64, time.Time, []byte
		anyPlan, err := de.Deserialize(topic, got)
		if err != nil {
			t.Fatal(err)
		}
		var anyCore interface{}
		if err := de.intoByCore(topic, got, reflect.ValueOf(&anyCore).Elem()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(anyPlan, anyCore) {
			t.Fatalf("record %d:\nplan %#v\ncore %#v", i, anyPlan, anyCore)
		}
		// the read value is the written one (times in UTC, nil slices and maps read empty)
		if byPlan.ID != r.ID || byPlan.Count != r.Count || byPlan.Ratio != r.Ratio || byPlan.Name != r.Name ||
			!byPlan.At.Equal(r.At) || !byPlan.AtMicros.Equal(r.AtMicros) || byPlan.Day != r.Day || byPlan.Kind != r.Kind ||
			byPlan.Hash != r.Hash || fmt.Sprint(byPlan.Attrs) != fmt.Sprint(orEmpty(r.Attrs)) || byPlan.Where.City != r.Where.City ||
			(r.Prev == nil) != (byPlan.Prev == nil) || (r.AtOpt != nil && !byPlan.AtOpt.Equal(*r.AtOpt)) || !bytes.Equal(byPlan.Blob, r.Blob) {
			t.Fatalf("record %d read back as %+v, written %+v", i, byPlan, r)
		}
	}
	// the first record of each way went through the core, the others through the plan
	if p, c := ser.plans.planned.Load(), ser.plans.cored.Load(); p != n-1 || c != n+1 {
		t.Fatalf("serializer: %d by the plan, %d by the core (log: %s)", p, c, log.text())
	}
	if p := de.plans.planned.Load(); p != 2*(n-1) {
		t.Fatalf("deserializer: %d by the plan (log: %s)", p, log.text())
	}
	if log.text() != "" {
		t.Fatalf("debug log: %s", log.text())
	}
}

func orEmpty(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

type Small struct {
	Name  string  `avro:"name"`
	Count int64   `avro:"count"`
	Kind  string  `avro:"kind"`
	Note  *string `avro:"note"`
	Extra string  `avro:"extra"` // not in the schema: ignored on write, left alone on read
}

// SmallW is what is written: Small and the field that Small does not read.
type SmallW struct {
	Small
	Skipped *int64 `avro:"skipped"`
}

const smallSchema = `{"type":"record","name":"Small","fields":[{"name":"name","type":"string"},
{"name":"count","type":"int"},{"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]}},
{"name":"note","type":["null","string"],"default":null},{"name":"skipped","type":["null","long"],"default":null}]}`

// A record the plan cannot take goes to the core, whose error names the field.
func TestPlanErrorsAreTheCores(t *testing.T) {
	topic, ser, de := newLatestPair(t, smallSchema)
	if _, err := ser.Serialize(topic, &SmallW{Small: Small{Name: "a", Count: 1, Kind: "A"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v    Small
		want string
	}{
		{Small{Name: "a", Count: 1 << 40, Kind: "A"}, "Small.count"},
		{Small{Name: "a", Count: 1, Kind: "Z"}, "Small.kind"},
	} {
		_, err := ser.Serialize(topic, &SmallW{Small: c.v})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%+v: error %v, want one naming %s", c.v, err, c.want)
		}
	}
	if p := ser.plans.planned.Load(); p != 0 {
		t.Fatalf("%d records written by the plan", p)
	}
	defer func() {
		if p := ser.plans.planned.Load(); p != 1 {
			t.Errorf("%d records written by the plan, want 1", p)
		}
	}()
	// an int that the Go field cannot hold: the core's path says which field
	skipped := int64(-3)
	ok, err := ser.Serialize(topic, &SmallW{Small{Name: "b", Count: 300, Kind: "B", Extra: "not written"}, &skipped})
	if err != nil {
		t.Fatal(err)
	}
	type Narrow struct {
		Count int8   `avro:"count"`
		Extra string `avro:"extra"`
	}
	v := Narrow{Extra: "kept"}
	if err := de.DeserializeInto(topic, ok, &v); err == nil || !strings.Contains(err.Error(), "value.count") {
		t.Fatalf("300 into an int8: %v", err)
	}
	// truncated bytes: the core's error
	var s Small
	if err := de.DeserializeInto(topic, ok[:len(ok)-1], &s); err == nil {
		t.Fatal("truncated record read without error")
	}
	s = Small{Extra: "kept"}
	if err := de.DeserializeInto(topic, ok, &s); err != nil || s.Count != 300 || s.Kind != "B" || s.Extra != "kept" {
		t.Fatalf("read %+v, %v", s, err)
	}
	if err := de.DeserializeInto(topic, ok, &s); err != nil || s.Count != 300 || s.Extra != "kept" {
		t.Fatalf("read by the plan %+v, %v", s, err)
	}
	if p := de.plans.planned.Load(); p != 1 {
		t.Fatalf("%d records read by the plan, want 1", p)
	}
	if err := de.DeserializeInto(topic, []byte("hello world"), &s); err == nil || !strings.Contains(err.Error(), "magic byte") {
		t.Fatalf("no magic byte: %v", err)
	}
}

// A plan whose bytes differ from the core's is dropped: the type stays on the core's path for
// good, and the debug log says so.
func TestPlanThatDisagreesFallsBack(t *testing.T) {
	log := captureLog(t)
	encode, decode := compilePlanEncoder, compilePlanDecoder
	t.Cleanup(func() { compilePlanEncoder, compilePlanDecoder = encode, decode })
	compilePlanEncoder = func(t reflect.Type, schema string) (encodeFn, error) {
		enc, err := encode(t, schema)
		if err != nil {
			return nil, err
		}
		return func(b []byte, v reflect.Value) ([]byte, error) {
			b, err := enc(b, v)
			return append(b, 0), err // one byte too many
		}, nil
	}
	compilePlanDecoder = func(t reflect.Type, schema string) (decodeFn, error) {
		dec, err := decode(t, schema)
		if err != nil {
			return nil, err
		}
		return func(r *avroReader, v reflect.Value) error {
			err := dec(r, v)
			v.Field(1).SetInt(v.Field(1).Int() + 1) // Count off by one
			return err
		}, nil
	}
	topic, ser, de := newLatestPair(t, smallSchema)
	for i := 0; i < 3; i++ {
		in := SmallW{Small: Small{Name: "x", Count: int64(i), Kind: "B"}}
		b, err := ser.Serialize(topic, &in)
		if err != nil {
			t.Fatal(err)
		}
		var out Small
		if err := de.DeserializeInto(topic, b, &out); err != nil || out.Count != int64(i) || out.Name != "x" {
			t.Fatalf("read %+v, %v", out, err)
		}
	}
	if p, c := ser.plans.planned.Load(), ser.plans.cored.Load(); p != 0 || c != 3 {
		t.Fatalf("serializer: %d by the plan, %d by the core", p, c)
	}
	if p := de.plans.planned.Load(); p != 0 {
		t.Fatalf("deserializer: %d by the plan", p)
	}
	if l := log.text(); !strings.Contains(l, "the plan wrote") || !strings.Contains(l, "the plan read") || !strings.Contains(l, "core's path is kept") {
		t.Fatalf("debug log: %q", l)
	}
}

// What the plan does not compile (an interface field or a union of two types to write, a map
// for a record, a missing field filled by its default) stays on the core's path and works as
// before; an interface field is read by the plan (the union's branch's value).
func TestPlanUnsupportedUsesTheCore(t *testing.T) {
	log := captureLog(t)
	schema := `{"type":"record","name":"U","fields":[{"name":"v","type":["null","long","string"]},
{"name":"d","type":"string","default":"dflt"}]}`
	topic, ser, de := newLatestPair(t, schema)
	type U struct {
		V interface{} `avro:"v"`
	}
	for _, v := range []interface{}{int64(5), "s", nil} {
		b, err := ser.Serialize(topic, &U{V: v})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]interface{}{"v": v, "d": "x"}
		if _, err := ser.Serialize(topic, m); err != nil {
			t.Fatal(err)
		}
		var out U
		if err := de.DeserializeInto(topic, b, &out); err != nil || fmt.Sprint(out.V) != fmt.Sprint(v) {
			t.Fatalf("read %+v, %v", out, err)
		}
	}
	if p := ser.plans.planned.Load(); p != 0 {
		t.Fatalf("%d records written by a plan", p)
	}
	if p := de.plans.planned.Load(); p != 2 {
		t.Fatalf("%d records read by the plan, want 2", p)
	}
	if !strings.Contains(log.text(), "no plan") {
		t.Fatalf("debug log: %q", log.text())
	}
}

// Serialize and DeserializeInto from several goroutines (run with -race).
func TestPlanConcurrent(t *testing.T) {
	topic, ser, de := newLatestPair(t, richSchemaText())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				r := richAt(g*100 + i)
				b, err := ser.Serialize(topic, &r)
				if err != nil {
					errs <- err
					return
				}
				var back Rich
				if err := de.DeserializeInto(topic, b, &back); err != nil || back.ID != r.ID {
					errs <- fmt.Errorf("read %d: %v", back.ID, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ser.plans.planned.Load() == 0 || de.plans.planned.Load() == 0 {
		t.Fatal("no record by a plan")
	}
}

// The plan's reading of schemas: what it refuses, it refuses without a panic.
func TestPlanCompileRefusals(t *testing.T) {
	type S struct {
		A int `avro:"a"`
	}
	for _, schema := range []string{
		`{"type":"record","name":"R","fields":[{"name":"a","type":"Unknown"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"string","logicalType":"date"}}]}`,
		`{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`,
		`{"type":"record","name":"R","fields":[{"name":"b","type":"int"}]}`,
		`not json`,
	} {
		if _, err := compilePlanEncoder(reflect.TypeOf(S{}), schema); err == nil {
			t.Errorf("encoder compiled for %s", schema)
		}
	}
	if _, err := compilePlanEncoder(reflect.TypeOf(S{}), `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"int","logicalType":"date"}}]}`); err != nil {
		t.Fatal(err)
	}
	// a recursive record compiles (and a Go type that recurses too)
	type Node struct {
		V    int   `avro:"v"`
		Next *Node `avro:"next"`
	}
	schema := `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}`
	enc, err := compilePlanEncoder(reflect.TypeOf(Node{}), schema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := enc(nil, reflect.ValueOf(Node{V: 1, Next: &Node{V: -1}}))
	if err != nil || !bytes.Equal(b, []byte{2, 2, 1, 0}) {
		t.Fatalf("%x %v", b, err)
	}
	dec, err := compilePlanDecoder(reflect.TypeOf(Node{}), schema)
	if err != nil {
		t.Fatal(err)
	}
	var n Node
	if err := dec(&avroReader{b: b}, reflect.ValueOf(&n).Elem()); err != nil || n.Next == nil || n.Next.V != -1 || n.Next.Next != nil {
		t.Fatalf("%+v %v", n, err)
	}
}

// decimal: bytes (the unscaled two's complement) are written by the plan; read back, the core
// gives the decimal's text (the plan does not read decimals).
func TestPlanDecimal(t *testing.T) {
	schema := `{"type":"record","name":"D","fields":[{"name":"amount","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
{"name":"price","type":{"type":"fixed","name":"P","size":2,"logicalType":"decimal","precision":4,"scale":1}}]}`
	topic, ser, de := newLatestPair(t, schema)
	type In struct {
		Amount []byte  `avro:"amount"`
		Price  [2]byte `avro:"price"`
	}
	type Out struct {
		Amount string `avro:"amount"`
		Price  string `avro:"price"`
	}
	for i, v := range []In{{[]byte{0x01, 0x00}, [2]byte{0, 15}}, {[]byte{0xff, 0x38}, [2]byte{0xff, 0xff}}, {[]byte{0x7f}, [2]byte{}}} {
		b, err := ser.Serialize(topic, &v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ser.byCore(topic, reflect.TypeOf(v), reflect.ValueOf(&v))
		if !bytes.Equal(b, want) {
			t.Fatalf("%d: plan %x core %x", i, b, want)
		}
		var out Out
		if err := de.DeserializeInto(topic, b, &out); err != nil {
			t.Fatal(err)
		}
		if i == 0 && (out.Amount != "2.56" || out.Price != "1.5") {
			t.Fatalf("read %+v", out)
		}
	}
	if ser.plans.planned.Load() != 2 || de.plans.planned.Load() != 0 {
		t.Fatalf("by the plans: %d written, %d read", ser.plans.planned.Load(), de.plans.planned.Load())
	}
}

// Strings read by a plan share the plan's own copy of the record, never the caller's buffer
// (a reader may reuse it).
func TestPlanStringsOutliveThePayload(t *testing.T) {
	topic, ser, de := newLatestPair(t, smallSchema)
	in := SmallW{Small: Small{Name: "first-name", Count: 1, Kind: "A"}}
	b, err := ser.Serialize(topic, &in)
	if err != nil {
		t.Fatal(err)
	}
	var out [2]Small
	for i := range out {
		if err := de.DeserializeInto(topic, b, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i := 5; i < len(b); i++ {
		b[i] = 'x'
	}
	if out[0].Name != "first-name" || out[1].Name != "first-name" || de.plans.planned.Load() != 1 {
		t.Fatalf("read %+v after the payload changed (%d by the plan)", out, de.plans.planned.Load())
	}
}

// After Close the plans are not used: the core's path says the serde is closed.
func TestPlanNotUsedAfterClose(t *testing.T) {
	topic, ser, de := newLatestPair(t, smallSchema)
	in := SmallW{Small: Small{Name: "a", Count: 1, Kind: "A"}}
	var b []byte
	var out Small
	for i := 0; i < 2; i++ {
		var err error
		if b, err = ser.Serialize(topic, &in); err != nil {
			t.Fatal(err)
		}
		if err := de.DeserializeInto(topic, b, &out); err != nil {
			t.Fatal(err)
		}
	}
	if ser.plans.planned.Load() != 1 || de.plans.planned.Load() != 1 {
		t.Fatal("the plans were not used before Close")
	}
	ser.Close()
	de.Close()
	if _, err := ser.Serialize(topic, &in); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Serialize after Close: %v", err)
	}
	if err := de.DeserializeInto(topic, b, &out); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("DeserializeInto after Close: %v", err)
	}
}

// Deserialize with no Go type reads every kind the plan knows as the core's path does: times
// of day (microseconds), unions of several types, maps of arrays.
func TestPlanDeserializeGeneric(t *testing.T) {
	schema := `{"type":"record","name":"G","fields":[
{"name":"tm","type":{"type":"int","logicalType":"time-millis"}},
{"name":"tu","type":{"type":"long","logicalType":"time-micros"}},
{"name":"u","type":["null","long","string",{"type":"array","items":"double"}]},
{"name":"m","type":{"type":"map","values":{"type":"array","items":["null","float"]}}}]}`
	topic, ser, de := newLatestPair(t, schema)
	values := []map[string]interface{}{
		{"tm": 1000, "tu": -7, "u": nil, "m": map[string]interface{}{}},
		{"tm": 86399999, "tu": 5, "u": 42, "m": map[string]interface{}{"a": []interface{}{1.5, nil}, "b": []interface{}{}}},
		{"tm": 0, "tu": 1 << 40, "u": "s", "m": map[string]interface{}{"x": []interface{}{-0.25}}},
		{"tm": 3, "tu": 0, "u": []interface{}{2.0, -1e300}, "m": map[string]interface{}{}},
	}
	for i, v := range values {
		b, err := ser.Serialize(topic, v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := de.Deserialize(topic, b)
		if err != nil {
			t.Fatal(err)
		}
		var want interface{}
		if err := de.intoByCore(topic, b, reflect.ValueOf(&want).Elem()); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d:\nplan %#v\ncore %#v", i, got, want)
		}
		if i == 1 && (got.(map[string]interface{})["tm"] != int64(86399999000) || got.(map[string]interface{})["u"] != int64(42)) {
			t.Fatalf("read %#v", got)
		}
	}
	if p := de.plans.planned.Load(); p != int64(len(values)-1) {
		t.Fatalf("%d records read by the plan", p)
	}
}
