// Package jsonschema is confluent-kafka-go v2's serde/jsonschema over polykafka's engine:
// values are marshalled with encoding/json (their `json` tags), validated against the schema
// and framed by the Rust core.
package jsonschema

import (
	"encoding/json"
	"errors"
	"reflect"

	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/internal/native"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
)

// SerializerConfig is the JSON Schema serializer's configuration. Schema is the JSON Schema
// text to register (polykafka does not derive one from Go types: without UseLatestVersion or
// UseSchemaID it is needed). EnableValidation checks each value (on by default here).
type SerializerConfig struct {
	serde.SerializerConfig
	EnableValidation bool
	Schema           string
}

// NewSerializerConfig returns the defaults.
func NewSerializerConfig() *SerializerConfig {
	return &SerializerConfig{SerializerConfig: *serde.NewSerializerConfig(), EnableValidation: true}
}

// DeserializerConfig is the JSON Schema deserializer's configuration.
type DeserializerConfig struct {
	serde.DeserializerConfig
	EnableValidation bool
}

// NewDeserializerConfig returns the defaults.
func NewDeserializerConfig() *DeserializerConfig {
	return &DeserializerConfig{DeserializerConfig: *serde.NewDeserializerConfig()}
}

// Serializer writes JSON Schema records.
type Serializer struct {
	SerdeType serde.Type
	inner     *native.Serializer
}

// NewSerializer creates a JSON Schema serializer.
func NewSerializer(client schemaregistry.Client, serdeType serde.Type, conf *SerializerConfig) (*Serializer, error) {
	reg, err := serde.Registry(client)
	if err != nil {
		return nil, err
	}
	props, err := conf.SerializerConfig.Properties()
	if err != nil {
		return nil, err
	}
	props["validate"] = boolText(conf.EnableValidation)
	var schema *native.Schema
	if conf.Schema != "" {
		schema = &native.Schema{Text: conf.Schema, Type: "JSON"}
	} else if !conf.UseLatestVersion && conf.UseSchemaID < 0 {
		return nil, errors.New("jsonschema: polykafka needs SerializerConfig.Schema (it does not derive a JSON Schema from Go types) unless UseLatestVersion or UseSchemaID is set")
	}
	inner, err := reg.NewSerializer("JSON", schema, props)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	return &Serializer{SerdeType: serdeType, inner: inner}, nil
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Serialize marshals msg with encoding/json, validates and frames it. nil gives nil.
func (s *Serializer) Serialize(topic string, msg interface{}) ([]byte, error) {
	if msg == nil {
		return nil, nil
	}
	text, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	b, err := s.inner.Serialize(topic, s.SerdeType == serde.KeySerde, text)
	return b, serde.ConvertError(err)
}

// Close frees the native serializer.
func (s *Serializer) Close() error { s.inner.Close(); return nil }

// Deserializer reads JSON Schema records.
type Deserializer struct {
	SerdeType serde.Type
	inner     *native.Deserializer
}

// NewDeserializer creates a JSON Schema deserializer.
func NewDeserializer(client schemaregistry.Client, serdeType serde.Type, conf *DeserializerConfig) (*Deserializer, error) {
	reg, err := serde.Registry(client)
	if err != nil {
		return nil, err
	}
	props, err := conf.DeserializerConfig.Properties()
	if err != nil {
		return nil, err
	}
	props["validate"] = boolText(conf.EnableValidation)
	inner, err := reg.NewDeserializer("JSON", nil, props)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	return &Deserializer{SerdeType: serdeType, inner: inner}, nil
}

func (d *Deserializer) text(topic string, payload []byte) ([]byte, error) {
	t, err := d.inner.Deserialize(topic, d.SerdeType == serde.KeySerde, payload, nil)
	return t, serde.ConvertError(err)
}

// Deserialize gives the value as encoding/json decodes it into interface{}.
func (d *Deserializer) Deserialize(topic string, payload []byte) (interface{}, error) {
	if payload == nil {
		return nil, nil
	}
	t, err := d.text(topic, payload)
	if err != nil {
		return nil, err
	}
	var v interface{}
	return v, json.Unmarshal(t, &v)
}

// DeserializeInto decodes the value into msg with encoding/json.
func (d *Deserializer) DeserializeInto(topic string, payload []byte, msg interface{}) error {
	if v := reflect.ValueOf(msg); v.Kind() != reflect.Pointer || v.IsNil() {
		return errors.New("DeserializeInto needs a non-nil pointer")
	}
	t, err := d.text(topic, payload)
	if err != nil {
		return err
	}
	return json.Unmarshal(t, msg)
}

// Close frees the native deserializer.
func (d *Deserializer) Close() error { d.inner.Close(); return nil }
