// Package avrov2 is confluent-kafka-go v2's serde/avrov2 over polykafka's engine: Go structs
// (fields named by their `avro` tags, else their Go names; pointers for ["null", T] unions;
// time.Time for timestamps; []byte for bytes) and maps cross as JSON text to the Rust core,
// which encodes Avro and frames it. From the second record of a Go type on, a plan compiled
// for that type and the core's schema (plan.go) writes and reads the Avro in Go, checked once
// against the core's bytes; what it cannot do stays on the core's path.
package avrov2

import (
	"errors"
	"reflect"
	"sync"

	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/internal/native"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
)

// SerializerConfig is the Avro serializer's configuration.
type SerializerConfig struct {
	serde.SerializerConfig
}

// NewSerializerConfig returns the defaults.
func NewSerializerConfig() *SerializerConfig {
	return &SerializerConfig{SerializerConfig: *serde.NewSerializerConfig()}
}

// DeserializerConfig is the Avro deserializer's configuration.
type DeserializerConfig struct {
	serde.DeserializerConfig
}

// NewDeserializerConfig returns the defaults.
func NewDeserializerConfig() *DeserializerConfig {
	return &DeserializerConfig{DeserializerConfig: *serde.NewDeserializerConfig()}
}

// Serializer writes Avro.
type Serializer struct {
	Client    schemaregistry.Client
	SerdeType serde.Type
	Conf      *SerializerConfig
	reg       *native.Registry
	props     map[string]string
	fixed     *native.Serializer // with UseLatestVersion / UseSchemaID (no schema needed)
	mu        sync.Mutex
	byType    map[reflect.Type]*native.Serializer
	plans     encPlans
}

// NewSerializer creates an Avro serializer. Without UseLatestVersion or UseSchemaID the schema
// is derived from the Go type of each value (as confluent-kafka-go's StructToSchema) and
// registered (AutoRegisterSchemas) or looked up.
func NewSerializer(client schemaregistry.Client, serdeType serde.Type, conf *SerializerConfig) (*Serializer, error) {
	reg, err := serde.Registry(client)
	if err != nil {
		return nil, err
	}
	props, err := conf.Properties()
	if err != nil {
		return nil, err
	}
	s := &Serializer{Client: client, SerdeType: serdeType, Conf: conf, reg: reg, props: props, byType: map[reflect.Type]*native.Serializer{},
		plans: encPlans{m: map[planKey]*encPlan{}, ttl: latestTTL(client, conf.UseLatestVersion)}}
	if conf.UseLatestVersion || conf.UseSchemaID >= 0 {
		if s.fixed, err = reg.NewSerializer("AVRO", nil, props); err != nil {
			return nil, serde.ConvertError(err)
		}
	}
	return s, nil
}

func (s *Serializer) forType(t reflect.Type) (*native.Serializer, error) {
	if s.fixed != nil {
		return s.fixed, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns, ok := s.byType[t]; ok {
		return ns, nil
	}
	schema, err := StructToSchema(t)
	if err != nil {
		return nil, err
	}
	ns, err := s.reg.NewSerializer("AVRO", &native.Schema{Text: schema}, s.props)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	s.byType[t] = ns
	return ns, nil
}

// Serialize encodes msg (a pointer to a struct, or a map with UseLatestVersion/UseSchemaID)
// for topic. nil gives nil.
func (s *Serializer) Serialize(topic string, msg interface{}) ([]byte, error) {
	if msg == nil {
		return nil, nil
	}
	v := reflect.ValueOf(msg)
	if s.fixed == nil && v.Kind() != reflect.Pointer {
		return nil, errors.New("input message must be a pointer")
	}
	iv := v
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return s.byCore(topic, v.Type().Elem(), v)
		}
		iv = v.Elem()
	}
	k := planKey{topic, iv.Type()}
	e := s.plans.get(k)
	if e != nil && e.enc != nil && !s.plans.closed.Load() {
		if b, err := e.encode(iv); err == nil {
			s.plans.count(true)
			return b, nil
		}
		// the core's path says what is wrong with this record (or writes it)
	}
	b, err := s.byCore(topic, k.t, v)
	if err != nil {
		return nil, err
	}
	if e == nil {
		s.learn(k, iv, b)
	}
	return b, nil
}

// byCore is Serialize on the core's path: the value as JSON text, encoded and framed by the core.
func (s *Serializer) byCore(topic string, t reflect.Type, v reflect.Value) ([]byte, error) {
	ns, err := s.forType(t)
	if err != nil {
		return nil, err
	}
	tree, err := native.ToTree(v, "value")
	if err != nil {
		return nil, err
	}
	text, err := marshal(tree)
	if err != nil {
		return nil, err
	}
	b, err := ns.Serialize(topic, s.SerdeType == serde.KeySerde, text)
	s.plans.count(false)
	return b, serde.ConvertError(err)
}

// Close frees the native serializers.
func (s *Serializer) Close() error {
	s.plans.closed.Store(true) // from now on the core's path, which says it is closed
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fixed != nil {
		s.fixed.Close()
	}
	for _, ns := range s.byType {
		ns.Close()
	}
	return nil
}

// Deserializer reads Avro.
type Deserializer struct {
	Client    schemaregistry.Client
	SerdeType serde.Type
	Conf      *DeserializerConfig
	inner     *native.Deserializer
	reg       *native.Registry
	noPlans   bool // UseLatestVersion: the core resolves to the reader schema
	plans     decPlans
}

// NewDeserializer creates an Avro deserializer: the writer's schema from the registry by the
// record's id, read as itself (or as the subject's latest with UseLatestVersion).
func NewDeserializer(client schemaregistry.Client, serdeType serde.Type, conf *DeserializerConfig) (*Deserializer, error) {
	reg, err := serde.Registry(client)
	if err != nil {
		return nil, err
	}
	props, err := conf.Properties()
	if err != nil {
		return nil, err
	}
	inner, err := reg.NewDeserializer("AVRO", nil, props)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	return &Deserializer{Client: client, SerdeType: serdeType, Conf: conf, inner: inner, reg: reg,
		noPlans: conf.UseLatestVersion, plans: decPlans{m: map[decKey]decodeFn{}}}, nil
}

func (d *Deserializer) tree(topic string, payload []byte) (any, error) {
	text, err := d.inner.Deserialize(topic, d.SerdeType == serde.KeySerde, payload, nil)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	return native.ParseTree(text)
}

// Deserialize decodes payload into a map[string]interface{} (records), []interface{},
// string, int64, float64, bool, []byte, time.Time or nil. nil payload gives nil.
func (d *Deserializer) Deserialize(topic string, payload []byte) (interface{}, error) {
	if payload == nil {
		return nil, nil
	}
	var out interface{}
	if d.planned(topic, payload, reflect.ValueOf(&out).Elem()) {
		return out, nil
	}
	t, err := d.tree(topic, payload)
	if err != nil {
		return nil, err
	}
	return native.Plain(t), nil
}

// DeserializeInto decodes payload into msg (a pointer to a struct with `avro` tags, or to a
// map). A field of the record that msg has not is ignored; a value that does not fit its Go
// field is an error naming the field.
func (d *Deserializer) DeserializeInto(topic string, payload []byte, msg interface{}) error {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return errors.New("DeserializeInto needs a non-nil pointer")
	}
	if d.planned(topic, payload, v.Elem()) {
		return nil
	}
	return d.intoByCore(topic, payload, v.Elem())
}

// intoByCore is DeserializeInto on the core's path: the core decodes to JSON, assigned to dst.
func (d *Deserializer) intoByCore(topic string, payload []byte, dst reflect.Value) error {
	t, err := d.tree(topic, payload)
	if err != nil {
		return err
	}
	return native.Assign(dst, t, "value")
}

// Close frees the native deserializer.
func (d *Deserializer) Close() error {
	d.plans.closed.Store(true)
	d.inner.Close()
	return nil
}
