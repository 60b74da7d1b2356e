// Package protobuf is confluent-kafka-go v2's serde/protobuf over polykafka's engine: messages
// of generated Go types (proto.Message) are encoded and decoded by google.golang.org/protobuf;
// the Rust core does the registry lookups, their caching, the subject names and the framing
// (magic byte, schema id, message-index path).
//
// The schema registered for a message is the .proto text of its file, printed from the Go
// descriptor; the files it imports are registered first under their import path as subject
// and referenced by it, except the well-known files every registry knows
// (google/protobuf/*.proto, confluent/meta.proto, confluent/type/decimal.proto).
package protobuf

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jhump/protoreflect/desc"
	"github.com/jhump/protoreflect/desc/protoprint"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/internal/native"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
)

const schemaType = "PROTOBUF"

// SerializerConfig is the Protobuf serializer's configuration. CacheSchemas is accepted for
// compatibility: polykafka always caches a file's schema and id (per serializer).
type SerializerConfig struct {
	serde.SerializerConfig
	CacheSchemas bool
}

// NewSerializerConfig returns the defaults.
func NewSerializerConfig() *SerializerConfig {
	return &SerializerConfig{SerializerConfig: *serde.NewSerializerConfig()}
}

// DeserializerConfig is the Protobuf deserializer's configuration.
type DeserializerConfig struct {
	serde.DeserializerConfig
}

// NewDeserializerConfig returns the defaults.
func NewDeserializerConfig() *DeserializerConfig {
	return &DeserializerConfig{DeserializerConfig: *serde.NewDeserializerConfig()}
}

// Serializer writes Protobuf records.
type Serializer struct {
	Client    schemaregistry.Client
	SerdeType serde.Type
	Conf      *SerializerConfig
	reg       *native.Registry
	props     map[string]string
	fixed     *native.Serializer // with UseLatestVersion / UseSchemaID (no schema derived)
	mu        sync.Mutex
	byFile    map[string]*native.Serializer
}

// NewSerializer creates a Protobuf serializer. Without UseLatestVersion or UseSchemaID each
// message's file is registered (AutoRegisterSchemas) or looked up, with its imports.
func NewSerializer(client schemaregistry.Client, serdeType serde.Type, conf *SerializerConfig) (*Serializer, error) {
	reg, err := serde.Registry(client)
	if err != nil {
		return nil, err
	}
	props, err := conf.Properties()
	if err != nil {
		return nil, err
	}
	s := &Serializer{Client: client, SerdeType: serdeType, Conf: conf, reg: reg, props: props, byFile: map[string]*native.Serializer{}}
	if conf.UseLatestVersion || conf.UseSchemaID >= 0 {
		if s.fixed, err = reg.NewSerializer(schemaType, nil, props); err != nil {
			return nil, serde.ConvertError(err)
		}
	}
	return s, nil
}

// builtIn says whether the core resolves the import itself (no reference registered).
func builtIn(path string) bool {
	return strings.HasPrefix(path, "google/protobuf/") || path == "confluent/meta.proto" || path == "confluent/type/decimal.proto"
}

// protoText prints fd as .proto text.
func protoText(fd protoreflect.FileDescriptor) (string, error) {
	d, err := desc.WrapFile(fd)
	if err != nil {
		return "", fmt.Errorf("protobuf: cannot describe %s: %w", fd.Path(), err)
	}
	p := protoprint.Printer{OmitComments: protoprint.CommentsAll}
	var b strings.Builder
	if err := p.PrintProtoFile(d, &b); err != nil {
		return "", fmt.Errorf("protobuf: cannot print %s as .proto text: %w", fd.Path(), err)
	}
	return b.String(), nil
}

// schemaOf gives fd's schema, its imports registered (or looked up) as references first.
func (s *Serializer) schemaOf(fd protoreflect.FileDescriptor) (*native.Schema, error) {
	text, err := protoText(fd)
	if err != nil {
		return nil, err
	}
	schema := &native.Schema{Text: text, Type: schemaType}
	imports := fd.Imports()
	for i := 0; i < imports.Len(); i++ {
		dep := imports.Get(i).FileDescriptor
		if builtIn(dep.Path()) {
			continue
		}
		depSchema, err := s.schemaOf(dep)
		if err != nil {
			return nil, err
		}
		if s.Conf.AutoRegisterSchemas {
			if _, err := s.reg.Register(dep.Path(), *depSchema, s.Conf.NormalizeSchemas); err != nil {
				return nil, serde.ConvertError(err)
			}
		}
		found, err := s.reg.Lookup(dep.Path(), *depSchema, s.Conf.NormalizeSchemas)
		if err != nil {
			return nil, serde.ConvertError(err)
		}
		schema.References = append(schema.References, native.Reference{Name: dep.Path(), Subject: dep.Path(), Version: found.Version})
	}
	return schema, nil
}

func (s *Serializer) forFile(fd protoreflect.FileDescriptor) (*native.Serializer, error) {
	if s.fixed != nil {
		return s.fixed, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns, ok := s.byFile[fd.Path()]; ok {
		return ns, nil
	}
	schema, err := s.schemaOf(fd)
	if err != nil {
		return nil, err
	}
	ns, err := s.reg.NewSerializer(schemaType, schema, s.props)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	s.byFile[fd.Path()] = ns
	return ns, nil
}

// messageIndexes gives the index path of md in its file: top-level index, then nested ones.
func messageIndexes(md protoreflect.MessageDescriptor) []int {
	var path []int
	var d protoreflect.Descriptor = md
	for {
		path = append([]int{d.Index()}, path...)
		parent, ok := d.Parent().(protoreflect.MessageDescriptor)
		if !ok {
			return path
		}
		d = parent
	}
}

// Serialize encodes msg (a proto.Message) with proto.Marshal and frames it for topic. nil
// gives nil.
func (s *Serializer) Serialize(topic string, msg interface{}) ([]byte, error) {
	if msg == nil {
		return nil, nil
	}
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("protobuf: serialization target must be a protobuf message (proto.Message), got %T", msg)
	}
	md := m.ProtoReflect().Descriptor()
	ns, err := s.forFile(md.ParentFile())
	if err != nil {
		return nil, err
	}
	payload, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protobuf: cannot encode %s: %w", md.FullName(), err)
	}
	b, err := ns.SerializeEncoded(topic, s.SerdeType == serde.KeySerde, string(md.FullName()), messageIndexes(md), payload)
	return b, serde.ConvertError(err)
}

// Close frees the native serializers.
func (s *Serializer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fixed != nil {
		s.fixed.Close()
	}
	for _, ns := range s.byFile {
		ns.Close()
	}
	return nil
}

// Deserializer reads Protobuf records into the generated Go types of ProtoRegistry.
type Deserializer struct {
	Client    schemaregistry.Client
	SerdeType serde.Type
	Conf      *DeserializerConfig
	// ProtoRegistry is where Deserialize finds the Go type of a record's message, by its full
	// name in the writer's schema (default protoregistry.GlobalTypes: every generated
	// package linked in).
	ProtoRegistry *protoregistry.Types
	inner         *native.Deserializer
}

// NewDeserializer creates a Protobuf deserializer. UseLatestVersion is refused: the message is
// decoded with its generated Go type, never with a registry schema.
func NewDeserializer(client schemaregistry.Client, serdeType serde.Type, conf *DeserializerConfig) (*Deserializer, error) {
	if conf.UseLatestVersion {
		return nil, errors.New("protobuf: DeserializerConfig.UseLatestVersion is not supported: messages are decoded with their generated Go type")
	}
	reg, err := serde.Registry(client)
	if err != nil {
		return nil, err
	}
	props, err := conf.Properties()
	if err != nil {
		return nil, err
	}
	inner, err := reg.NewDeserializer(schemaType, nil, props)
	if err != nil {
		return nil, serde.ConvertError(err)
	}
	return &Deserializer{Client: client, SerdeType: serdeType, Conf: conf, ProtoRegistry: protoregistry.GlobalTypes, inner: inner}, nil
}

func (d *Deserializer) read(payload []byte) (native.Encoded, error) {
	e, err := d.inner.DeserializeEncoded(payload, nil)
	return e, serde.ConvertError(err)
}

// Deserialize gives a new message of the record's type (found in ProtoRegistry by its full
// name). An empty payload gives nil.
func (d *Deserializer) Deserialize(topic string, payload []byte) (interface{}, error) {
	if len(payload) == 0 {
		return nil, nil
	}
	e, err := d.read(payload)
	if err != nil {
		return nil, err
	}
	types := d.ProtoRegistry
	if types == nil {
		types = protoregistry.GlobalTypes
	}
	mt, err := types.FindMessageByName(protoreflect.FullName(e.MessageName))
	if err != nil {
		return nil, fmt.Errorf("protobuf: the message type %s (schema id %d) is not in the ProtoRegistry: %w", e.MessageName, e.SchemaID, err)
	}
	m := mt.New().Interface()
	if err := proto.Unmarshal(e.Payload, m); err != nil {
		return nil, fmt.Errorf("protobuf: the payload is not a valid %s: %w", e.MessageName, err)
	}
	return m, nil
}

// DeserializeInto decodes the record into msg (a proto.Message of the record's type).
func (d *Deserializer) DeserializeInto(topic string, payload []byte, msg interface{}) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("protobuf: DeserializeInto needs a protobuf message (proto.Message), got %T", msg)
	}
	e, err := d.read(payload)
	if err != nil {
		return err
	}
	if name := m.ProtoReflect().Descriptor().FullName(); string(name) != e.MessageName {
		return fmt.Errorf("protobuf: the record is a %s (schema id %d), not a %s", e.MessageName, e.SchemaID, name)
	}
	if err := proto.Unmarshal(e.Payload, m); err != nil {
		return fmt.Errorf("protobuf: the payload is not a valid %s: %w", e.MessageName, err)
	}
	return nil
}

// Close frees the native deserializer.
func (d *Deserializer) Close() error { d.inner.Close(); return nil }
