package schemaregistry_test

// Both ways against confluent-kafka-go v2's schemaregistry serdes through the same registry
// (SCHEMA_REGISTRY_URL; skipped when unset, as bindings-c/test.sh sets it from tests/run or
// build/cluster/registry.env): their bytes read by ours, ours by theirs, identical Avro bytes,
// schema evolution, an incompatible change refused, and the error paths of issue #15.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	ckschemaregistry "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	ckserde "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	ckavrov2 "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/avrov2"
	ckjsonschema "github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/jsonschema"

	"github.com/polykafka/polykafka/bindings-c/go/compattest/internal/srboth"
	"github.com/polykafka/polykafka/bindings-c/go/internal/srtest"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde/avrov2"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde/jsonschema"
)

const userEventV1 = `{"type":"record","name":"UserEvent","namespace":"com.example.events","fields":[
{"name":"userId","type":"string"},{"name":"eventType","type":"string"},{"name":"timestamp","type":"long"},
{"name":"metadata","type":["null","string"],"default":null}]}`

const userEventV2 = `{"type":"record","name":"UserEvent","namespace":"com.example.events","fields":[
{"name":"userId","type":"string"},{"name":"eventType","type":"string"},{"name":"timestamp","type":"long"},
{"name":"metadata","type":["null","string"],"default":null},{"name":"country","type":"string","default":"NZ"}]}`

type UserEvent struct {
	UserID    string  `avro:"userId" json:"userId"`
	EventType string  `avro:"eventType" json:"eventType"`
	Timestamp int64   `avro:"timestamp" json:"timestamp"`
	Metadata  *string `avro:"metadata" json:"metadata"`
}

type UserEventV2 struct {
	UserEvent
	Country string `avro:"country"`
}

func unique(t *testing.T) string { return srtest.Unique(t, "go-sr") }

type clients struct {
	ours   schemaregistry.Client
	theirs ckschemaregistry.Client
}

func newClients(t *testing.T) clients {
	c := srboth.NewClients(t)
	return clients{c.Ours, c.Theirs}
}

func latestConf() (*avrov2.SerializerConfig, *ckavrov2.SerializerConfig) {
	o := avrov2.NewSerializerConfig()
	o.AutoRegisterSchemas = false
	o.UseLatestVersion = true
	c := ckavrov2.NewSerializerConfig()
	c.AutoRegisterSchemas = false
	c.UseLatestVersion = true
	return o, c
}

func TestAvroBothWaysIdenticalBytes(t *testing.T) {
	c := newClients(t)
	topic := unique(t)
	id, err := c.ours.Register(topic+"-value", schemaregistry.SchemaInfo{Schema: userEventV1}, false)
	if err != nil {
		t.Fatal(err)
	}
	oc, cc := latestConf()
	ourSer, err := avrov2.NewSerializer(c.ours, serde.ValueSerde, oc)
	if err != nil {
		t.Fatal(err)
	}
	theirSer, err := ckavrov2.NewSerializer(c.theirs, ckserde.ValueSerde, cc)
	if err != nil {
		t.Fatal(err)
	}
	meta := "web"
	for _, ev := range []UserEvent{
		{UserID: "123", EventType: "USER_CREATED", Timestamp: 1700000000000},
		{UserID: "ü-42", EventType: "USER_DELETED", Timestamp: -5, Metadata: &meta},
	} {
		ours, err := ourSer.Serialize(topic, &ev)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := theirSer.Serialize(topic, &ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("bytes differ for %+v:\nours   %x\ntheirs %x", ev, ours, theirs)
		}
		if got := int(ours[1])<<24 | int(ours[2])<<16 | int(ours[3])<<8 | int(ours[4]); got != id {
			t.Fatalf("schema id %d, registered %d", got, id)
		}
		ourDe, _ := avrov2.NewDeserializer(c.ours, serde.ValueSerde, avrov2.NewDeserializerConfig())
		theirDe, _ := ckavrov2.NewDeserializer(c.theirs, ckserde.ValueSerde, ckavrov2.NewDeserializerConfig())
		var a, b UserEvent
		if err := ourDe.DeserializeInto(topic, theirs, &a); err != nil {
			t.Fatal("ours reading theirs:", err)
		}
		if err := theirDe.DeserializeInto(topic, ours, &b); err != nil {
			t.Fatal("theirs reading ours:", err)
		}
		if fmt.Sprint(a) != fmt.Sprint(ev) && !(a.UserID == ev.UserID && a.Timestamp == ev.Timestamp && eqPtr(a.Metadata, ev.Metadata)) {
			t.Fatalf("ours read %+v, want %+v", a, ev)
		}
		if !(b.UserID == ev.UserID && b.EventType == ev.EventType && b.Timestamp == ev.Timestamp && eqPtr(b.Metadata, ev.Metadata)) {
			t.Fatalf("theirs read %+v, want %+v", b, ev)
		}
		m, err := ourDe.Deserialize(topic, theirs)
		if err != nil {
			t.Fatal(err)
		}
		if mm := m.(map[string]interface{}); mm["userId"] != ev.UserID || mm["timestamp"] != ev.Timestamp {
			t.Fatalf("generic read %v", mm)
		}
	}
}

func eqPtr(a, b *string) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// Auto-registration derives the schema from the Go type in both libraries.
func TestAvroAutoRegisterBothWays(t *testing.T) {
	c := newClients(t)
	topic := unique(t)
	ourSer, err := avrov2.NewSerializer(c.ours, serde.ValueSerde, avrov2.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	ev := UserEvent{UserID: "7", EventType: "LOGIN", Timestamp: 99}
	ours, err := ourSer.Serialize(topic, &ev)
	if err != nil {
		t.Fatal(err)
	}
	theirDe, _ := ckavrov2.NewDeserializer(c.theirs, ckserde.ValueSerde, ckavrov2.NewDeserializerConfig())
	var got UserEvent
	if err := theirDe.DeserializeInto(topic, ours, &got); err != nil {
		t.Fatal(err)
	}
	if got.UserID != "7" || got.Timestamp != 99 || got.Metadata != nil {
		t.Fatalf("theirs read %+v", got)
	}
	theirSer, _ := ckavrov2.NewSerializer(c.theirs, ckserde.ValueSerde, ckavrov2.NewSerializerConfig())
	theirs, err := theirSer.Serialize(topic, &ev)
	if err != nil {
		t.Fatal(err)
	}
	ourDe, _ := avrov2.NewDeserializer(c.ours, serde.ValueSerde, avrov2.NewDeserializerConfig())
	var back UserEvent
	if err := ourDe.DeserializeInto(topic, theirs, &back); err != nil {
		t.Fatal(err)
	}
	if back.UserID != "7" || back.EventType != "LOGIN" {
		t.Fatalf("ours read %+v", back)
	}
}

func TestAvroEvolutionAndIncompatible(t *testing.T) {
	c := newClients(t)
	topic := unique(t)
	subject := topic + "-value"
	if _, err := c.ours.Register(subject, schemaregistry.SchemaInfo{Schema: userEventV1}, false); err != nil {
		t.Fatal(err)
	}
	oc, cc := latestConf()
	ourSer, _ := avrov2.NewSerializer(c.ours, serde.ValueSerde, oc)
	theirSer, _ := ckavrov2.NewSerializer(c.theirs, ckserde.ValueSerde, cc)
	ev := UserEvent{UserID: "1", EventType: "A", Timestamp: 2}
	ours, err := ourSer.Serialize(topic, &ev)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := theirSer.Serialize(topic, &ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ours.UpdateCompatibility(subject, schemaregistry.Backward); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ours.Register(subject, schemaregistry.SchemaInfo{Schema: userEventV2}, false); err != nil {
		t.Fatal(err)
	}
	// new clients: both libraries cache a subject's latest version (no cache.latest.ttl.sec)
	r := newClients(t)
	dc := avrov2.NewDeserializerConfig()
	dc.UseLatestVersion = true
	ourDe, _ := avrov2.NewDeserializer(r.ours, serde.ValueSerde, dc)
	cdc := ckavrov2.NewDeserializerConfig()
	cdc.UseLatestVersion = true
	theirDe, _ := ckavrov2.NewDeserializer(r.theirs, ckserde.ValueSerde, cdc)
	for name, payload := range map[string][]byte{"ours": ours, "theirs": theirs} {
		var a, b UserEventV2
		if err := ourDe.DeserializeInto(topic, payload, &a); err != nil {
			t.Fatal(name, err)
		}
		if err := theirDe.DeserializeInto(topic, payload, &b); err != nil {
			t.Fatal(name, err)
		}
		if a.Country != "NZ" || a.UserID != "1" || b.Country != "NZ" || b.UserID != "1" {
			t.Fatalf("%s v1 bytes read as v2: ours %+v theirs %+v", name, a, b)
		}
	}
	bad := `{"type":"record","name":"UserEvent","namespace":"com.example.events","fields":[{"name":"userId","type":"int"}]}`
	_, err = c.ours.Register(subject, schemaregistry.SchemaInfo{Schema: bad}, false)
	var se *schemaregistry.Error
	if !errors.As(err, &se) || se.Status != 409 {
		t.Fatalf("ours: incompatible change gave %v", err)
	}
	_, err = c.theirs.Register(subject, ckschemaregistry.SchemaInfo{Schema: bad}, false)
	if err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("theirs: incompatible change gave %v", err)
	}
	ok, err := c.ours.TestSubjectCompatibility(subject, schemaregistry.SchemaInfo{Schema: bad})
	if err != nil || ok {
		t.Fatalf("compatibility check: %v %v", ok, err)
	}
}

func TestAvroErrorPathsBothImpls(t *testing.T) {
	c := newClients(t)
	topic := unique(t)
	if _, err := c.ours.Register(topic+"-value", schemaregistry.SchemaInfo{Schema: userEventV1}, false); err != nil {
		t.Fatal(err)
	}
	ourDe, _ := avrov2.NewDeserializer(c.ours, serde.ValueSerde, avrov2.NewDeserializerConfig())
	theirDe, _ := ckavrov2.NewDeserializer(c.theirs, ckserde.ValueSerde, ckavrov2.NewDeserializerConfig())
	var v UserEvent
	// no magic byte
	if err := ourDe.DeserializeInto(topic, []byte("hello world"), &v); err == nil || !strings.Contains(err.Error(), "magic byte") {
		t.Fatalf("ours: no magic byte gave %v", err)
	}
	if err := theirDe.DeserializeInto(topic, []byte("hello world"), &v); err == nil {
		t.Fatal("theirs: no magic byte gave no error")
	}
	// unknown id
	unknown := []byte{0, 0x3a, 0xde, 0x68, 0xb1, 2}
	err := ourDe.DeserializeInto(topic, unknown, &v)
	var se *schemaregistry.Error
	if !errors.As(err, &se) || se.Code != 40403 || se.Status != 404 {
		t.Fatalf("ours: unknown id gave %#v", err)
	}
	if err := theirDe.DeserializeInto(topic, unknown, &v); err == nil || !strings.Contains(err.Error(), "40403") {
		t.Fatalf("theirs: unknown id gave %v", err)
	}
	// a value not matching the schema names the field
	type Partial struct {
		UserID string `avro:"userId"`
	}
	oc, cc := latestConf()
	ourSer, _ := avrov2.NewSerializer(c.ours, serde.ValueSerde, oc)
	theirSer, _ := ckavrov2.NewSerializer(c.theirs, ckserde.ValueSerde, cc)
	if _, err := ourSer.Serialize(topic, &Partial{UserID: "x"}); err == nil || !strings.Contains(err.Error(), "eventType") {
		t.Fatalf("ours: missing field gave %v", err)
	}
	if _, err := theirSer.Serialize(topic, &Partial{UserID: "x"}); err == nil {
		t.Fatal("theirs: missing field gave no error")
	}
	if _, err := ourSer.Serialize(topic, &map[string]interface{}{"userId": 5, "eventType": "x", "timestamp": 1}); err == nil || !strings.Contains(err.Error(), "userId") {
		t.Fatalf("ours: wrong type gave %v", err)
	}
	// unreachable registry: retriable
	dead := srboth.Unreachable(t)
	_, err = dead.Ours.GetLatestSchemaMetadata("x-value")
	if !errors.As(err, &se) || !se.Retriable || se.Status != 0 {
		t.Fatalf("ours: unreachable gave %#v", err)
	}
	if _, err := dead.Theirs.GetLatestSchemaMetadata("x-value"); err == nil {
		t.Fatal("theirs: unreachable gave no error")
	}
	// a bad setting is refused
	bad := schemaregistry.NewConfig("ftp://nowhere")
	if _, err := schemaregistry.NewClient(bad); err == nil || !strings.Contains(err.Error(), "ftp://nowhere") {
		t.Fatalf("bad url gave %v", err)
	}
}

const personJSON = `{"$schema":"http://json-schema.org/draft-07/schema#","title":"Person","type":"object",
"properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}},"required":["name","age"]}`

type Person struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

func TestJSONSchemaBothWays(t *testing.T) {
	c := newClients(t)
	topic := unique(t)
	if _, err := c.ours.Register(topic+"-value", schemaregistry.SchemaInfo{Schema: personJSON, SchemaType: "JSON"}, false); err != nil {
		t.Fatal(err)
	}
	oc := jsonschema.NewSerializerConfig()
	oc.AutoRegisterSchemas = false
	oc.UseLatestVersion = true
	ourSer, err := jsonschema.NewSerializer(c.ours, serde.ValueSerde, oc)
	if err != nil {
		t.Fatal(err)
	}
	cc := ckjsonschema.NewSerializerConfig()
	cc.AutoRegisterSchemas = false
	cc.UseLatestVersion = true
	cc.EnableValidation = true
	theirSer, err := ckjsonschema.NewSerializer(c.theirs, ckserde.ValueSerde, cc)
	if err != nil {
		t.Fatal(err)
	}
	p := Person{Name: "ann", Age: 3}
	ours, err := ourSer.Serialize(topic, &p)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := theirSer.Serialize(topic, &p)
	if err != nil {
		t.Fatal(err)
	}
	ourDe, _ := jsonschema.NewDeserializer(c.ours, serde.ValueSerde, jsonschema.NewDeserializerConfig())
	theirDe, _ := ckjsonschema.NewDeserializer(c.theirs, ckserde.ValueSerde, ckjsonschema.NewDeserializerConfig())
	var a, b Person
	if err := ourDe.DeserializeInto(topic, theirs, &a); err != nil || a != p {
		t.Fatalf("ours reading theirs: %+v %v", a, err)
	}
	if err := theirDe.DeserializeInto(topic, ours, &b); err != nil || b != p {
		t.Fatalf("theirs reading ours: %+v %v", b, err)
	}
	// a value not matching the schema names the field, in both
	if _, err := ourSer.Serialize(topic, &Person{Name: "x", Age: -1}); err == nil || !strings.Contains(err.Error(), "/age") {
		t.Fatalf("ours: invalid value gave %v", err)
	}
	if _, err := theirSer.Serialize(topic, &Person{Name: "x", Age: -1}); err == nil {
		t.Fatal("theirs: invalid value gave no error")
	}
}

// Our kafka-go Writer with the Avro serializer, read back by the Reader and the deserializer.
func TestWriterReaderWithAvro(t *testing.T) {
	c := newClients(t)
	broker := srtest.Broker(t)
	topic := unique(t)
	ser, err := avrov2.NewSerializer(c.ours, serde.ValueSerde, avrov2.NewSerializerConfig())
	if err != nil {
		t.Fatal(err)
	}
	de, _ := avrov2.NewDeserializer(c.ours, serde.ValueSerde, avrov2.NewDeserializerConfig())
	var values [][]byte
	for i := 0; i < 5; i++ {
		ev := UserEvent{UserID: fmt.Sprint(i), EventType: "USER_CREATED", Timestamp: int64(i)}
		b, err := ser.Serialize(topic, &ev)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, b)
	}
	for i, v := range srtest.RoundTrip(t, broker, topic, values) {
		var ev UserEvent
		if err := de.DeserializeInto(topic, v, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.UserID != fmt.Sprint(i) || ev.Timestamp != int64(i) {
			t.Fatalf("record %d read as %+v", i, ev)
		}
	}
}
