package protobuf_test

// Both ways against confluent-kafka-go v2's serde/protobuf through the same registry
// (SCHEMA_REGISTRY_URL; skipped when unset): the first message of a file, a nested one, the
// second one (index path != [0]), an imported file (registered as a reference) and a
// well-known import, repeated/map/oneof/enum fields; identical bytes for the same schema id;
// the error paths. The test types are generated from compattest/internal/pbtest/*.proto (gen.go).

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	ckserde "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	ckprotobuf "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/protobuf"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/polykafka/polykafka/bindings-c/go/compattest/internal/pbtest"
	"github.com/polykafka/polykafka/bindings-c/go/compattest/internal/srboth"
	"github.com/polykafka/polykafka/bindings-c/go/internal/srtest"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde/protobuf"
)

func unique(t *testing.T) string { return srtest.Unique(t, "go-pb") }

// shapes are one message of each shape; maps have one entry (Go randomizes the order of
// several, in both libraries).
func shapes() []proto.Message {
	return []proto.Message{
		&pbtest.User{
			Name: "ada", Id: -42,
			Address: &pbtest.Address{Street: "1 Main St", City: "Zürich"},
			Created: timestamppb.New(time.Unix(1700000000, 123000000)),
			Tags:    []*pbtest.User_Tag{{Key: "a", Weight: 1}, {Key: "b", Weight: -2}},
		},
		&pbtest.User_Tag{Key: "nested", Weight: 7},
		&pbtest.Order{OrderId: "o-1", Amounts: []int64{1, -2, 1 << 40}, Counts: map[string]int32{"x": 3},
			Payment: &pbtest.Order_Card{Card: "4111"}, State: pbtest.Order_PAID},
		&pbtest.Order{OrderId: "o-2", Payment: &pbtest.Order_Voucher{Voucher: []byte{0, 1, 255}}},
	}
}

func theirDeserializer(t *testing.T, c srboth.Clients) *ckprotobuf.Deserializer {
	d, err := ckprotobuf.NewDeserializer(c.Theirs, ckserde.ValueSerde, ckprotobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []proto.Message{&pbtest.User{}, &pbtest.User_Tag{}, &pbtest.Order{}} {
		if err := d.ProtoRegistry.RegisterMessage(m.ProtoReflect().Type()); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func schemaID(b []byte) int {
	return int(b[1])<<24 | int(b[2])<<16 | int(b[3])<<8 | int(b[4])
}

// Ours registers shapes.proto (and common.proto as its reference); theirs, with the latest
// version, writes the same bytes; each reads the other's.
func TestProtobufBothWaysIdenticalBytes(t *testing.T) {
	c := srboth.NewClients(t)
	topic := unique(t)
	ourSer, err := protobuf.NewSerializer(c.Ours, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ourSer.Close()
	cc := ckprotobuf.NewSerializerConfig()
	cc.AutoRegisterSchemas = false
	cc.UseLatestVersion = true
	theirSer, err := ckprotobuf.NewSerializer(c.Theirs, ckserde.ValueSerde, cc)
	if err != nil {
		t.Fatal(err)
	}
	ourDe, err := protobuf.NewDeserializer(c.Ours, serde.ValueSerde, protobuf.NewDeserializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer ourDe.Close()
	theirDe := theirDeserializer(t, c)
	for i, m := range shapes() {
		ours, err := ourSer.Serialize(topic, m)
		if err != nil {
			t.Fatalf("shape %d: ours: %v", i, err)
		}
		if i == 0 {
			latest, err := c.Ours.GetLatestSchemaMetadata(topic + "-value")
			if err != nil {
				t.Fatal(err)
			}
			if schemaID(ours) != latest.ID {
				t.Fatalf("schema id %d, registered %d", schemaID(ours), latest.ID)
			}
			if len(latest.References) != 1 || latest.References[0].Name != "pbtest/common.proto" {
				t.Fatalf("references %+v, want pbtest/common.proto", latest.References)
			}
		}
		theirs, err := theirSer.Serialize(topic, m)
		if err != nil {
			t.Fatalf("shape %d: theirs: %v", i, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("shape %d bytes differ:\nours   %x\ntheirs %x", i, ours, theirs)
		}
		got, err := ourDe.Deserialize(topic, theirs)
		if err != nil {
			t.Fatalf("shape %d: ours reading theirs: %v", i, err)
		}
		if !proto.Equal(got.(proto.Message), m) {
			t.Fatalf("shape %d: ours read %v, want %v", i, got, m)
		}
		into := m.ProtoReflect().New().Interface()
		if err := ourDe.DeserializeInto(topic, theirs, into); err != nil || !proto.Equal(into, m) {
			t.Fatalf("shape %d: ours DeserializeInto: %v %v", i, err, into)
		}
		back, err := theirDe.Deserialize(topic, ours)
		if err != nil {
			t.Fatalf("shape %d: theirs reading ours: %v", i, err)
		}
		if !proto.Equal(back.(proto.Message), m) {
			t.Fatalf("shape %d: theirs read %v, want %v", i, back, m)
		}
	}
}

// Theirs registers (auto), ours reads and, looking the same schema up, writes the same bytes.
func TestProtobufTheirsRegistersOursReads(t *testing.T) {
	c := srboth.NewClients(t)
	topic := unique(t)
	theirSer, err := ckprotobuf.NewSerializer(c.Theirs, ckserde.ValueSerde, ckprotobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	oc := protobuf.NewSerializerConfig()
	oc.AutoRegisterSchemas = false
	ourSer, err := protobuf.NewSerializer(c.Ours, serde.ValueSerde, oc)
	if err != nil {
		t.Fatal(err)
	}
	defer ourSer.Close()
	ourDe, _ := protobuf.NewDeserializer(c.Ours, serde.ValueSerde, protobuf.NewDeserializerConfig())
	defer ourDe.Close()
	for i, m := range shapes() {
		theirs, err := theirSer.Serialize(topic, m)
		if err != nil {
			t.Fatalf("shape %d: theirs: %v", i, err)
		}
		got, err := ourDe.Deserialize(topic, theirs)
		if err != nil {
			t.Fatalf("shape %d: ours reading theirs: %v", i, err)
		}
		if !proto.Equal(got.(proto.Message), m) {
			t.Fatalf("shape %d: ours read %v, want %v", i, got, m)
		}
		ours, err := ourSer.Serialize(topic, m)
		if err != nil {
			t.Fatalf("shape %d: ours (lookup of their schema): %v", i, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("shape %d bytes differ:\nours   %x\ntheirs %x", i, ours, theirs)
		}
	}
}

func TestProtobufErrorPathsBothImpls(t *testing.T) {
	c := srboth.NewClients(t)
	topic := unique(t)
	ourSer, _ := protobuf.NewSerializer(c.Ours, serde.ValueSerde, protobuf.NewSerializerConfig())
	defer ourSer.Close()
	ourDe, _ := protobuf.NewDeserializer(c.Ours, serde.ValueSerde, protobuf.NewDeserializerConfig())
	defer ourDe.Close()
	theirDe := theirDeserializer(t, c)
	order := &pbtest.Order{OrderId: "x"}

	// no magic byte
	if _, err := ourDe.Deserialize(topic, []byte("hello world")); err == nil || !strings.Contains(err.Error(), "magic byte") {
		t.Fatalf("ours: no magic byte gave %v", err)
	}
	if _, err := theirDe.Deserialize(topic, []byte("hello world")); err == nil {
		t.Fatal("theirs: no magic byte gave no error")
	}
	// unknown schema id
	unknown := []byte{0, 0x3a, 0xde, 0x68, 0xb1, 0}
	_, err := ourDe.Deserialize(topic, unknown)
	var se *schemaregistry.Error
	if !errors.As(err, &se) || se.Code != 40403 || se.Status != 404 {
		t.Fatalf("ours: unknown id gave %#v", err)
	}
	if _, err := theirDe.Deserialize(topic, unknown); err == nil {
		t.Fatal("theirs: unknown id gave no error")
	}
	// a message type the ProtoRegistry does not have is named
	b, err := ourSer.Serialize(topic, order)
	if err != nil {
		t.Fatal(err)
	}
	ourDe.ProtoRegistry = new(protoregistry.Types)
	_, err = ourDe.Deserialize(topic, b)
	if err == nil || !strings.Contains(err.Error(), "polykafka.test.Order") || !errors.Is(err, protoregistry.NotFound) {
		t.Fatalf("ours: unknown message type gave %v", err)
	}
	emptyDe, _ := ckprotobuf.NewDeserializer(c.Theirs, ckserde.ValueSerde, ckprotobuf.NewDeserializerConfig())
	if _, err := emptyDe.Deserialize(topic, b); err == nil || !strings.Contains(err.Error(), "polykafka.test.Order") {
		t.Fatalf("theirs: unknown message type gave %v", err)
	}
	// DeserializeInto a message of another type names both
	if err := ourDe.DeserializeInto(topic, b, &pbtest.User{}); err == nil ||
		!strings.Contains(err.Error(), "polykafka.test.Order") || !strings.Contains(err.Error(), "polykafka.test.User") {
		t.Fatalf("ours: DeserializeInto another type gave %v", err)
	}
	// a value that is not a proto.Message
	if _, err := ourSer.Serialize(topic, map[string]int{"a": 1}); err == nil || !strings.Contains(err.Error(), "proto.Message") {
		t.Fatalf("ours: not a message gave %v", err)
	}
	// settings polykafka does not have are refused
	bad := protobuf.NewSerializerConfig()
	bad.UseLatestWithMetadata = map[string]string{"a": "b"}
	if _, err := protobuf.NewSerializer(c.Ours, serde.ValueSerde, bad); err == nil || !strings.Contains(err.Error(), "UseLatestWithMetadata") {
		t.Fatalf("UseLatestWithMetadata gave %v", err)
	}
	badDe := protobuf.NewDeserializerConfig()
	badDe.UseLatestVersion = true
	if _, err := protobuf.NewDeserializer(c.Ours, serde.ValueSerde, badDe); err == nil || !strings.Contains(err.Error(), "UseLatestVersion") {
		t.Fatalf("deserializer UseLatestVersion gave %v", err)
	}
	// an unreachable registry: a retriable error, no panic
	dead := srboth.Unreachable(t)
	deadSer, err := protobuf.NewSerializer(dead.Ours, serde.ValueSerde, protobuf.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer deadSer.Close()
	if _, err := deadSer.Serialize(topic, order); !errors.As(err, &se) || !se.Retriable || se.Status != 0 {
		t.Fatalf("ours: unreachable gave %#v", err)
	}
	theirDeadSer, _ := ckprotobuf.NewSerializer(dead.Theirs, ckserde.ValueSerde, ckprotobuf.NewSerializerConfig())
	if _, err := theirDeadSer.Serialize(topic, order); err == nil {
		t.Fatal("theirs: unreachable gave no error")
	}
}

// Records written to the real broker read back.
func TestProtobufWriterReader(t *testing.T) {
	c := srboth.NewClients(t)
	broker := srtest.Broker(t)
	topic := unique(t)
	ser, _ := protobuf.NewSerializer(c.Ours, serde.ValueSerde, protobuf.NewSerializerConfig())
	defer ser.Close()
	de, _ := protobuf.NewDeserializer(c.Ours, serde.ValueSerde, protobuf.NewDeserializerConfig())
	defer de.Close()
	want := shapes()
	var values [][]byte
	for _, m := range want {
		b, err := ser.Serialize(topic, m)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, b)
	}
	for i, v := range srtest.RoundTrip(t, broker, topic, values) {
		got, err := de.Deserialize(topic, v)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.(proto.Message), want[i]) {
			t.Fatalf("record %d read as %v, want %v", i, got, want[i])
		}
	}
}
