// Package serde is confluent-kafka-go v2's schemaregistry/serde over polykafka's engine: the
// settings and the serde types; the formats are in avrov2, jsonschema and protobuf. Encoding
// (Protobuf's excepted: Go marshals generated messages), framing and the registry lookups
// happen in the Rust core, one cgo call per record.
package serde

import (
	"errors"
	"fmt"

	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/internal/native"
)

// Type is KeySerde or ValueSerde.
type Type = int

const (
	// KeySerde denotes a key Serde
	KeySerde = 1
	// ValueSerde denotes a value Serde
	ValueSerde = 2
)

// SerializerConfig is confluent-kafka-go's serializer configuration. UseLatestWithMetadata
// and RuleConfig (data contracts) are not supported: setting them is an error at creation.
type SerializerConfig struct {
	AutoRegisterSchemas   bool
	UseSchemaID           int
	UseLatestVersion      bool
	UseLatestWithMetadata map[string]string
	NormalizeSchemas      bool
	RuleConfig            map[string]string
}

// NewSerializerConfig returns the defaults (auto-register, no fixed id).
func NewSerializerConfig() *SerializerConfig {
	return &SerializerConfig{AutoRegisterSchemas: true, UseSchemaID: -1}
}

// DeserializerConfig is confluent-kafka-go's deserializer configuration.
type DeserializerConfig struct {
	UseLatestVersion      bool
	UseLatestWithMetadata map[string]string
	RuleConfig            map[string]string
}

// NewDeserializerConfig returns the defaults.
func NewDeserializerConfig() *DeserializerConfig { return &DeserializerConfig{} }

// Properties gives the core's serde settings for c ("" subject strategy: topic name).
func (c *SerializerConfig) Properties() (map[string]string, error) {
	if len(c.UseLatestWithMetadata) > 0 || len(c.RuleConfig) > 0 {
		return nil, errors.New("serde: UseLatestWithMetadata and RuleConfig are not supported by polykafka")
	}
	p := map[string]string{
		"auto.register.schemas": fmt.Sprint(c.AutoRegisterSchemas),
		"use.latest.version":    fmt.Sprint(c.UseLatestVersion),
		"normalize.schemas":     fmt.Sprint(c.NormalizeSchemas),
	}
	if c.UseSchemaID >= 0 {
		p["use.schema.id"] = fmt.Sprint(c.UseSchemaID)
	}
	return p, nil
}

// Properties gives the core's deserializer settings for c.
func (c *DeserializerConfig) Properties() (map[string]string, error) {
	if len(c.UseLatestWithMetadata) > 0 || len(c.RuleConfig) > 0 {
		return nil, errors.New("serde: UseLatestWithMetadata and RuleConfig are not supported by polykafka")
	}
	return map[string]string{"use.latest.version": fmt.Sprint(c.UseLatestVersion)}, nil
}

// Registry gives the core client behind a Client of this module.
func Registry(client schemaregistry.Client) (*native.Registry, error) {
	n, ok := client.(interface{ Native() *native.Registry })
	if !ok {
		return nil, errors.New("serde: the client is not one of polykafka's schemaregistry.NewClient")
	}
	return n.Native(), nil
}

// ConvertError gives registry errors as *schemaregistry.Error and the others as their message.
func ConvertError(err error) error {
	if err == nil {
		return nil
	}
	return schemaregistry.ConvertError(err)
}
