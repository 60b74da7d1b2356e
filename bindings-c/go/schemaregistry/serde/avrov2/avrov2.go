// Package avrov2 is confluent-kafka-go v2's serde/avrov2 over polykafka's engine: Go structs
// (fields named by their `avro` tags, else their Go names; pointers for ["null", T] unions;
// time.Time for timestamps; []byte for bytes) and maps cross as JSON text to the Rust core,
// which encodes Avro and frames it.
package avrov2

import (
	"errors"
	"reflect"

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
	byType    map[reflect.Type]*native.Serializer
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
	s := &Serializer{Client: client, SerdeType: serdeType, Conf: conf, reg: reg, props: props, byType: map[reflect.Type]*native.Serializer{}}
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
	ns, err := s.forType(reflect.Indirect(v).Type())
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
	return b, serde.ConvertError(err)
}

// Close frees the native serializers.
func (s *Serializer) Close() error {
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
	return &Deserializer{Client: client, SerdeType: serdeType, Conf: conf, inner: inner}, nil
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
	t, err := d.tree(topic, payload)
	if err != nil {
		return err
	}
	return native.Assign(v.Elem(), t, "value")
}

// Close frees the native deserializer.
func (d *Deserializer) Close() error {
	d.inner.Close()
	return nil
}
