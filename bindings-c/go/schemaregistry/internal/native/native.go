// Package native is the only place of the schemaregistry packages that calls the C ABI
// (pk_schema_registry, pk_schema_serializer, pk_schema_deserializer). C never keeps a Go
// pointer: every argument is copied into C memory for the call, every result copied out.
package native

/*
#cgo CFLAGS: -I${SRCDIR}/../../../include
#include <stdlib.h>
#include "polykafka.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	_ "github.com/polykafka/polykafka/bindings-c/go/internal/link" // the native library
)

// Error is an error of the registry or of a serde: Kind is "schema_registry" (the registry
// answered; Status and Code are its HTTP status and error code), "connection" (unreachable,
// Retriable), "serialization", "config", ...
type Error struct {
	Kind      string
	Status    int
	Code      int
	Message   string
	Retriable bool
}

func (e *Error) Error() string { return e.Message }

func takeError(e *C.pk_error) error {
	if e == nil {
		return nil
	}
	defer C.pk_error_free(e)
	kind := "other"
	switch C.pk_error_get_kind(e) {
	case C.PK_ERROR_KIND_SCHEMA_REGISTRY:
		kind = "schema_registry"
	case C.PK_ERROR_KIND_CONNECTION:
		kind = "connection"
	case C.PK_ERROR_KIND_SERIALIZATION:
		kind = "serialization"
	case C.PK_ERROR_KIND_CONFIG:
		kind = "config"
	case C.PK_ERROR_KIND_TIMEOUT:
		kind = "timeout"
	case C.PK_ERROR_KIND_INVALID_ARGUMENT:
		kind = "invalid_argument"
	case C.PK_ERROR_KIND_FATAL:
		kind = "fatal"
	}
	return &Error{
		Kind:      kind,
		Status:    int(C.pk_error_registry_status(e)),
		Code:      int(C.pk_error_registry_code(e)),
		Message:   C.GoString(C.pk_error_message(e)),
		Retriable: bool(C.pk_error_retriable(e)),
	}
}

// cstrings holds C copies of Go strings for one call.
type cstrings []unsafe.Pointer

func (c *cstrings) str(s string) *C.char {
	p := C.CString(s)
	*c = append(*c, unsafe.Pointer(p))
	return p
}

func (c *cstrings) free() {
	for _, p := range *c {
		C.free(p)
	}
}

// record copies a record's bytes and its schema id header (nil: none; an empty header stays
// non-NULL) into C memory for one call.
func (c *cstrings) record(data, header []byte) (unsafe.Pointer, unsafe.Pointer) {
	var cd, ch unsafe.Pointer
	if len(data) > 0 {
		cd = C.CBytes(data)
		*c = append(*c, cd)
	}
	if header != nil {
		ch = C.CBytes(append([]byte{0}, header...))
		*c = append(*c, ch)
		ch = unsafe.Add(ch, 1)
	}
	return cd, ch
}

func newConfig(props map[string]string) (*C.pk_config, error) {
	var cfg *C.pk_config
	if err := takeError(C.pk_config_new(&cfg)); err != nil {
		return nil, err
	}
	var cs cstrings
	defer cs.free()
	for k, v := range props {
		if err := takeError(C.pk_config_set(cfg, cs.str(k), cs.str(v))); err != nil {
			C.pk_config_free(cfg)
			return nil, err
		}
	}
	return cfg, nil
}

// Registry owns a pk_schema_registry.
type Registry struct {
	mu  sync.RWMutex
	ptr *C.pk_schema_registry
}

// NewRegistry creates a client from confluent-kafka's properties.
func NewRegistry(props map[string]string) (*Registry, error) {
	cfg, err := newConfig(props)
	if err != nil {
		return nil, err
	}
	defer C.pk_config_free(cfg)
	r := &Registry{}
	if err := takeError(C.pk_schema_registry_new(cfg, &r.ptr)); err != nil {
		return nil, err
	}
	runtime.SetFinalizer(r, (*Registry).Close)
	return r, nil
}

// Close frees the client (serdes made from it keep working).
func (r *Registry) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ptr != nil {
		C.pk_schema_registry_free(r.ptr)
		r.ptr = nil
	}
}

func (r *Registry) use(f func(p *C.pk_schema_registry) error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.ptr == nil {
		return &Error{Kind: "closed", Code: -1, Message: "the schema registry client is closed"}
	}
	err := f(r.ptr)
	runtime.KeepAlive(r)
	return err
}

// Reference is a schema reference.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// Schema is a schema's text, type ("" = AVRO) and references.
type Schema struct {
	Text       string
	Type       string
	References []Reference
}

func (cs *cstrings) schema(s *Schema) (*C.pk_schema, error) {
	p := (*C.pk_schema)(C.malloc(C.size_t(unsafe.Sizeof(C.pk_schema{}))))
	*cs = append(*cs, unsafe.Pointer(p))
	p.schema = cs.str(s.Text)
	p.schema_type = nil
	if s.Type != "" {
		p.schema_type = cs.str(s.Type)
	}
	p.references_json = nil
	if len(s.References) > 0 {
		b, err := json.Marshal(s.References)
		if err != nil {
			return nil, err
		}
		p.references_json = cs.str(string(b))
	}
	return p, nil
}

// Registered is a schema as the registry has it.
type Registered struct {
	ID      int
	Version int
	Subject string
	Schema  Schema
}

func takeRegistered(p *C.pk_registered_schema) (Registered, error) {
	defer C.pk_registered_schema_free(p)
	r := Registered{
		ID:      int(C.pk_registered_schema_id(p)),
		Version: int(C.pk_registered_schema_version(p)),
		Subject: C.GoString(C.pk_registered_schema_subject(p)),
		Schema: Schema{
			Text: C.GoString(C.pk_registered_schema_text(p)),
			Type: C.GoString(C.pk_registered_schema_type(p)),
		},
	}
	if refs := C.GoString(C.pk_registered_schema_references_json(p)); refs != "" && refs != "[]" {
		if err := json.Unmarshal([]byte(refs), &r.Schema.References); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Register registers s under subject and gives its id.
func (r *Registry) Register(subject string, s Schema, normalize bool) (int, error) {
	var id C.int32_t
	err := r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		cschema, err := cs.schema(&s)
		if err != nil {
			return err
		}
		return takeError(C.pk_schema_registry_register(p, cs.str(subject), cschema, C.bool(normalize), &id))
	})
	return int(id), err
}

func (r *Registry) registered(f func(p *C.pk_schema_registry, cs *cstrings, out **C.pk_registered_schema) *C.pk_error) (Registered, error) {
	var res Registered
	err := r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		var out *C.pk_registered_schema
		if err := takeError(f(p, &cs, &out)); err != nil {
			return err
		}
		var err error
		res, err = takeRegistered(out)
		return err
	})
	return res, err
}

// Lookup finds s under subject.
func (r *Registry) Lookup(subject string, s Schema, normalize bool) (Registered, error) {
	return r.registered(func(p *C.pk_schema_registry, cs *cstrings, out **C.pk_registered_schema) *C.pk_error {
		cschema, err := cs.schema(&s)
		if err != nil {
			return nil
		}
		return C.pk_schema_registry_lookup(p, cs.str(subject), cschema, C.bool(normalize), out)
	})
}

// ByID gives the schema with id.
func (r *Registry) ByID(id int) (Registered, error) {
	return r.registered(func(p *C.pk_schema_registry, cs *cstrings, out **C.pk_registered_schema) *C.pk_error {
		return C.pk_schema_registry_get_by_id(p, C.int32_t(id), out)
	})
}

// Latest gives the latest version under subject.
func (r *Registry) Latest(subject string) (Registered, error) {
	return r.registered(func(p *C.pk_schema_registry, cs *cstrings, out **C.pk_registered_schema) *C.pk_error {
		return C.pk_schema_registry_get_latest(p, cs.str(subject), out)
	})
}

// Version gives version of subject.
func (r *Registry) Version(subject string, version int) (Registered, error) {
	return r.registered(func(p *C.pk_schema_registry, cs *cstrings, out **C.pk_registered_schema) *C.pk_error {
		return C.pk_schema_registry_get_version(p, cs.str(subject), C.int32_t(version), out)
	})
}

func (r *Registry) ints(f func(p *C.pk_schema_registry, cs *cstrings, buf *C.int32_t, capacity C.size_t, n *C.size_t) *C.pk_error) ([]int, error) {
	var out []int
	err := r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		const capacity = 1024
		buf := (*C.int32_t)(C.malloc(capacity * 4))
		defer C.free(unsafe.Pointer(buf))
		var n C.size_t
		if err := takeError(f(p, &cs, buf, capacity, &n)); err != nil {
			return err
		}
		if n > capacity {
			return &Error{Kind: "other", Code: -1, Message: fmt.Sprintf("%d versions: more than %d", n, capacity)}
		}
		for _, v := range unsafe.Slice((*int32)(unsafe.Pointer(buf)), int(n)) {
			out = append(out, int(v))
		}
		return nil
	})
	return out, err
}

// Versions gives the version numbers of subject.
func (r *Registry) Versions(subject string) ([]int, error) {
	return r.ints(func(p *C.pk_schema_registry, cs *cstrings, buf *C.int32_t, capacity C.size_t, n *C.size_t) *C.pk_error {
		return C.pk_schema_registry_get_versions(p, cs.str(subject), buf, capacity, n)
	})
}

// DeleteSubject deletes subject and gives the deleted versions.
func (r *Registry) DeleteSubject(subject string, permanent bool) ([]int, error) {
	return r.ints(func(p *C.pk_schema_registry, cs *cstrings, buf *C.int32_t, capacity C.size_t, n *C.size_t) *C.pk_error {
		return C.pk_schema_registry_delete_subject(p, cs.str(subject), C.bool(permanent), buf, capacity, n)
	})
}

// Subjects gives every subject.
func (r *Registry) Subjects() ([]string, error) {
	var out []string
	err := r.use(func(p *C.pk_schema_registry) error {
		var list *C.pk_string_list
		if err := takeError(C.pk_schema_registry_get_subjects(p, &list)); err != nil {
			return err
		}
		defer C.pk_string_list_free(list)
		n := int(C.pk_string_list_len(list))
		for i := 0; i < n; i++ {
			out = append(out, C.GoString(C.pk_string_list_get(list, C.size_t(i))))
		}
		return nil
	})
	return out, err
}

// TestCompatibility checks s against version (-1: latest) of subject.
func (r *Registry) TestCompatibility(subject string, version int, s Schema) (bool, error) {
	var ok C.bool
	err := r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		cschema, err := cs.schema(&s)
		if err != nil {
			return err
		}
		return takeError(C.pk_schema_registry_test_compatibility(p, cs.str(subject), cschema, C.int32_t(version), &ok))
	})
	return bool(ok), err
}

// Compatibility gives the level of subject ("" = global).
func (r *Registry) Compatibility(subject string) (string, error) {
	var level string
	err := r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		var s *C.char
		if subject != "" {
			s = cs.str(subject)
		}
		var b *C.pk_bytes
		if err := takeError(C.pk_schema_registry_get_compatibility(p, s, &b)); err != nil {
			return err
		}
		defer C.pk_bytes_free(b)
		level = C.GoString((*C.char)(unsafe.Pointer(C.pk_bytes_data(b))))
		return nil
	})
	return level, err
}

// SetCompatibility sets the level of subject ("" = global).
func (r *Registry) SetCompatibility(subject, level string) error {
	return r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		var s *C.char
		if subject != "" {
			s = cs.str(subject)
		}
		return takeError(C.pk_schema_registry_set_compatibility(p, s, cs.str(level)))
	})
}

func takeBytes(b *C.pk_bytes) []byte {
	defer C.pk_bytes_free(b)
	return C.GoBytes(unsafe.Pointer(C.pk_bytes_data(b)), C.int(C.pk_bytes_len(b)))
}

// newSerde copies a serde's format, schema and settings into C memory for make.
func (r *Registry) newSerde(format string, schema *Schema, conf map[string]string,
	make func(p *C.pk_schema_registry, f *C.char, cschema *C.pk_schema, cfg *C.pk_config) *C.pk_error) error {
	return r.use(func(p *C.pk_schema_registry) error {
		var cs cstrings
		defer cs.free()
		var cschema *C.pk_schema
		if schema != nil {
			var err error
			if cschema, err = cs.schema(schema); err != nil {
				return err
			}
		}
		cfg, err := newConfig(conf)
		if err != nil {
			return err
		}
		defer C.pk_config_free(cfg)
		return takeError(make(p, cs.str(format), cschema, cfg))
	})
}

// Serializer owns a pk_schema_serializer.
type Serializer struct {
	mu  sync.RWMutex
	ptr *C.pk_schema_serializer
}

// NewSerializer makes a serializer of format with schema (nil: none) and settings.
func (r *Registry) NewSerializer(format string, schema *Schema, conf map[string]string) (*Serializer, error) {
	s := &Serializer{}
	err := r.newSerde(format, schema, conf, func(p *C.pk_schema_registry, f *C.char, cschema *C.pk_schema, cfg *C.pk_config) *C.pk_error {
		return C.pk_schema_serializer_new(p, f, cschema, cfg, &s.ptr)
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(s, (*Serializer).Close)
	return s, nil
}

// Close frees the serializer.
func (s *Serializer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr != nil {
		C.pk_schema_serializer_free(s.ptr)
		s.ptr = nil
	}
}

// Serialize frames the value given as JSON text.
func (s *Serializer) Serialize(topic string, isKey bool, jsonText []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, &Error{Kind: "closed", Code: -1, Message: "the serializer is closed"}
	}
	var cs cstrings
	defer cs.free()
	ct := cs.str(topic)
	cj := C.CBytes(jsonText)
	cs = append(cs, cj)
	var out *C.pk_bytes
	if err := takeError(C.pk_schema_serializer_serialize(s.ptr, ct, C.bool(isKey), (*C.char)(cj), C.size_t(len(jsonText)), &out)); err != nil {
		return nil, err
	}
	runtime.KeepAlive(s)
	return takeBytes(out), nil
}

// SerializeEncoded frames a message encoded by the caller (Protobuf).
func (s *Serializer) SerializeEncoded(topic string, isKey bool, recordName string, indexes []int, payload []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, &Error{Kind: "closed", Code: -1, Message: "the serializer is closed"}
	}
	var cs cstrings
	defer cs.free()
	ct := cs.str(topic)
	var cname *C.char
	if recordName != "" {
		cname = cs.str(recordName)
	}
	var cidx *C.int32_t
	if len(indexes) > 0 {
		cidx = (*C.int32_t)(C.malloc(C.size_t(4 * len(indexes))))
		cs = append(cs, unsafe.Pointer(cidx))
		for i, v := range indexes {
			unsafe.Slice((*int32)(unsafe.Pointer(cidx)), len(indexes))[i] = int32(v)
		}
	}
	var cp unsafe.Pointer
	if len(payload) > 0 {
		cp = C.CBytes(payload)
		cs = append(cs, cp)
	}
	var out *C.pk_bytes
	if err := takeError(C.pk_schema_serializer_serialize_encoded(s.ptr, ct, C.bool(isKey), cname, cidx, C.size_t(len(indexes)),
		(*C.uint8_t)(cp), C.size_t(len(payload)), &out)); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// Deserializer owns a pk_schema_deserializer.
type Deserializer struct {
	mu  sync.RWMutex
	ptr *C.pk_schema_deserializer
}

// NewDeserializer makes a deserializer of format with an optional reader schema.
func (r *Registry) NewDeserializer(format string, schema *Schema, conf map[string]string) (*Deserializer, error) {
	d := &Deserializer{}
	err := r.newSerde(format, schema, conf, func(p *C.pk_schema_registry, f *C.char, cschema *C.pk_schema, cfg *C.pk_config) *C.pk_error {
		return C.pk_schema_deserializer_new(p, f, cschema, cfg, &d.ptr)
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(d, (*Deserializer).Close)
	return d, nil
}

// Close frees the deserializer.
func (d *Deserializer) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ptr != nil {
		C.pk_schema_deserializer_free(d.ptr)
		d.ptr = nil
	}
}

// Deserialize gives the record's value as JSON text. header: the schema id header, or nil.
func (d *Deserializer) Deserialize(topic string, isKey bool, data, header []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.ptr == nil {
		return nil, &Error{Kind: "closed", Code: -1, Message: "the deserializer is closed"}
	}
	var cs cstrings
	defer cs.free()
	ct := cs.str(topic)
	cd, ch := cs.record(data, header)
	var out *C.pk_bytes
	if err := takeError(C.pk_schema_deserializer_deserialize(d.ptr, ct, C.bool(isKey), (*C.uint8_t)(cd), C.size_t(len(data)),
		(*C.uint8_t)(ch), C.size_t(len(header)), &out)); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// Encoded is a Protobuf record's framing: its schema id, message-index path, the message's
// full name in the writer schema and the encoded message.
type Encoded struct {
	SchemaID    int
	Indexes     []int
	MessageName string
	Payload     []byte
}

// DeserializeEncoded reads a Protobuf record's framing.
func (d *Deserializer) DeserializeEncoded(data, header []byte) (Encoded, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.ptr == nil {
		return Encoded{}, &Error{Kind: "closed", Code: -1, Message: "the deserializer is closed"}
	}
	var cs cstrings
	defer cs.free()
	cd, ch := cs.record(data, header)
	var rec *C.pk_encoded_record
	if err := takeError(C.pk_schema_deserializer_deserialize_encoded(d.ptr, (*C.uint8_t)(cd), C.size_t(len(data)),
		(*C.uint8_t)(ch), C.size_t(len(header)), &rec)); err != nil {
		return Encoded{}, err
	}
	defer C.pk_encoded_record_free(rec)
	var n, pn C.size_t
	idx := C.pk_encoded_record_indexes(rec, &n)
	var indexes []int
	for _, v := range unsafe.Slice((*int32)(unsafe.Pointer(idx)), int(n)) {
		indexes = append(indexes, int(v))
	}
	p := C.pk_encoded_record_payload(rec, &pn)
	return Encoded{
		SchemaID:    int(C.pk_encoded_record_schema_id(rec)),
		Indexes:     indexes,
		MessageName: C.GoString(C.pk_encoded_record_message_name(rec)),
		Payload:     C.GoBytes(unsafe.Pointer(p), C.int(pn)),
	}, nil
}
