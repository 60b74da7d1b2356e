// Package schemaregistry is confluent-kafka-go v2's schemaregistry API over polykafka's Rust
// engine: the client (caches, retries, basic/bearer auth, several URLs) is the core's, reached
// through the C ABI. A program written for
// github.com/confluentinc/confluent-kafka-go/v2/schemaregistry moves by changing the import
// paths to github.com/polykafka/polykafka/bindings-c/go/schemaregistry (and .../serde,
// .../serde/avrov2, .../serde/jsonschema).
//
//	client, err := schemaregistry.NewClient(schemaregistry.NewConfig("http://localhost:8081"))
//	ser, err := avrov2.NewSerializer(client, serde.ValueSerde, avrov2.NewSerializerConfig())
//	payload, err := ser.Serialize("user-events", &UserEvent{UserID: "123", ...})
//	deser, err := avrov2.NewDeserializer(client, serde.ValueSerde, avrov2.NewDeserializerConfig())
//	var ev UserEvent
//	err = deser.DeserializeInto("user-events", payload, &ev)
//
// Errors: the registry's answers are *Error with its HTTP status and error code (409 for an
// incompatible schema, 40403 for an unknown id...); an unreachable registry is an *Error with
// Retriable set. Not supported (an error or a field not present): data contracts (rules,
// metadata-based lookups), schema GUIDs on write, contexts, client-side field encryption.
package schemaregistry

import (
	"errors"
	"fmt"
	"strings"

	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/internal/native"
)

// Config is the client's configuration, as confluent-kafka-go names it.
type Config struct {
	SchemaRegistryURL           string
	BasicAuthUserInfo           string
	BasicAuthCredentialsSource  string
	BearerAuthToken             string
	BearerAuthCredentialsSource string
	SslCaLocation               string
	SslCertificateLocation      string
	SslKeyLocation              string
	RequestTimeoutMs            int
	CacheLatestTTLSecs          int
	MaxRetries                  int
	RetriesWaitMs               int
	RetriesMaxWaitMs            int
}

// NewConfig returns a configuration for the registry at url (several comma-separated).
func NewConfig(url string) *Config {
	return &Config{SchemaRegistryURL: url, RequestTimeoutMs: 10000, CacheLatestTTLSecs: -1, MaxRetries: 2, RetriesWaitMs: 1000, RetriesMaxWaitMs: 20000}
}

// NewConfigWithBasicAuthentication returns a configuration with basic authentication.
func NewConfigWithBasicAuthentication(url, username, password string) *Config {
	c := NewConfig(url)
	c.BasicAuthCredentialsSource = "USER_INFO"
	c.BasicAuthUserInfo = username + ":" + password
	return c
}

// NewConfigWithAuthentication is NewConfigWithBasicAuthentication.
func NewConfigWithAuthentication(url, username, password string) *Config {
	return NewConfigWithBasicAuthentication(url, username, password)
}

func (c *Config) properties() map[string]string {
	p := map[string]string{"url": c.SchemaRegistryURL}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("basic.auth.user.info", c.BasicAuthUserInfo)
	set("basic.auth.credentials.source", c.BasicAuthCredentialsSource)
	set("bearer.auth.token", c.BearerAuthToken)
	set("bearer.auth.credentials.source", c.BearerAuthCredentialsSource)
	set("ssl.ca.location", c.SslCaLocation)
	set("ssl.certificate.location", c.SslCertificateLocation)
	set("ssl.key.location", c.SslKeyLocation)
	if c.RequestTimeoutMs > 0 {
		p["timeout"] = fmt.Sprintf("%g", float64(c.RequestTimeoutMs)/1000)
	}
	if c.CacheLatestTTLSecs >= 0 {
		p["cache.latest.ttl.sec"] = fmt.Sprint(c.CacheLatestTTLSecs)
	}
	if c.MaxRetries >= 0 {
		p["max.retries"] = fmt.Sprint(c.MaxRetries)
	}
	if c.RetriesWaitMs > 0 {
		p["retries.wait.ms"] = fmt.Sprint(c.RetriesWaitMs)
	}
	if c.RetriesMaxWaitMs > 0 {
		p["retries.max.wait.ms"] = fmt.Sprint(c.RetriesMaxWaitMs)
	}
	return p
}

// Reference is a reference to another registered schema.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// SchemaInfo is a schema's text, type ("" is AVRO, "JSON", "PROTOBUF") and references.
type SchemaInfo struct {
	Schema     string      `json:"schema,omitempty"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
}

// SchemaMetadata is a schema as registered under a subject.
type SchemaMetadata struct {
	SchemaInfo
	ID      int    `json:"id,omitempty"`
	Subject string `json:"subject,omitempty"`
	Version int    `json:"version,omitempty"`
}

// Compatibility is a compatibility level.
type Compatibility int

const (
	_ = iota
	None
	Backward
	Forward
	Full
	BackwardTransitive
	ForwardTransitive
	FullTransitive
)

var compatibilityNames = []string{"", "NONE", "BACKWARD", "FORWARD", "FULL", "BACKWARD_TRANSITIVE", "FORWARD_TRANSITIVE", "FULL_TRANSITIVE"}

func (c *Compatibility) String() string {
	if int(*c) < len(compatibilityNames) && *c >= 0 {
		return compatibilityNames[*c]
	}
	return ""
}

// ParseString sets c from its name.
func (c *Compatibility) ParseString(val string) error {
	for i, n := range compatibilityNames {
		if n != "" && strings.EqualFold(n, val) {
			*c = Compatibility(i)
			return nil
		}
	}
	return fmt.Errorf("unknown compatibility level %q", val)
}

// Error is an error of the registry (Status is its HTTP status, Code its error code: 40401
// subject not found, 40403 schema not found, 409 incompatible, 42201 invalid schema...) or of
// the client (Status 0, Code -1: unreachable when Retriable).
type Error struct {
	Status    int
	Code      int
	Message   string
	Retriable bool
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("schema registry request failed error code: %d: %s", e.Code, e.Message)
	}
	return e.Message
}

// ConvertError gives the registry's errors as *Error; other errors unchanged.
func ConvertError(err error) error {
	var ne *native.Error
	if errors.As(err, &ne) && (ne.Kind == "schema_registry" || ne.Kind == "connection" || ne.Kind == "timeout") {
		return &Error{Status: ne.Status, Code: ne.Code, Message: ne.Message, Retriable: ne.Retriable}
	}
	if ne != nil {
		return errors.New(ne.Message)
	}
	return err
}

// Client is the registry client of confluent-kafka-go (the subset polykafka implements).
type Client interface {
	Config() *Config
	Register(subject string, schema SchemaInfo, normalize bool) (int, error)
	GetBySubjectAndID(subject string, id int) (SchemaInfo, error)
	GetID(subject string, schema SchemaInfo, normalize bool) (int, error)
	GetIDFullResponse(subject string, schema SchemaInfo, normalize bool) (SchemaMetadata, error)
	GetLatestSchemaMetadata(subject string) (SchemaMetadata, error)
	GetSchemaMetadata(subject string, version int) (SchemaMetadata, error)
	GetAllVersions(subject string) ([]int, error)
	GetVersion(subject string, schema SchemaInfo, normalize bool) (int, error)
	GetAllSubjects() ([]string, error)
	DeleteSubject(subject string, permanent bool) ([]int, error)
	TestCompatibility(subject string, version int, schema SchemaInfo) (bool, error)
	TestSubjectCompatibility(subject string, schema SchemaInfo) (bool, error)
	GetCompatibility(subject string) (Compatibility, error)
	UpdateCompatibility(subject string, update Compatibility) (Compatibility, error)
	GetDefaultCompatibility() (Compatibility, error)
	UpdateDefaultCompatibility(update Compatibility) (Compatibility, error)
	Close() error
}

type client struct {
	conf *Config
	reg  *native.Registry
}

// NewClient creates a client. A bad setting is an error naming it; no request is made.
func NewClient(conf *Config) (Client, error) {
	if conf == nil {
		return nil, errors.New("schemaregistry: nil Config")
	}
	reg, err := native.NewRegistry(conf.properties())
	if err != nil {
		return nil, ConvertError(err)
	}
	return &client{conf: conf, reg: reg}, nil
}

// Native is for the serde packages of this module.
func (c *client) Native() *native.Registry { return c.reg }

func (c *client) Config() *Config { return c.conf }

func toNative(s SchemaInfo) native.Schema {
	n := native.Schema{Text: s.Schema, Type: s.SchemaType}
	for _, r := range s.References {
		n.References = append(n.References, native.Reference(r))
	}
	return n
}

func fromNative(r native.Registered) SchemaMetadata {
	m := SchemaMetadata{ID: r.ID, Subject: r.Subject, Version: r.Version}
	m.Schema = r.Schema.Text
	if r.Schema.Type != "AVRO" {
		m.SchemaType = r.Schema.Type
	}
	for _, x := range r.Schema.References {
		m.References = append(m.References, Reference(x))
	}
	return m
}

func (c *client) Register(subject string, schema SchemaInfo, normalize bool) (int, error) {
	id, err := c.reg.Register(subject, toNative(schema), normalize)
	return id, ConvertError(err)
}

func (c *client) GetBySubjectAndID(subject string, id int) (SchemaInfo, error) {
	r, err := c.reg.ByID(id)
	if err != nil {
		return SchemaInfo{}, ConvertError(err)
	}
	return fromNative(r).SchemaInfo, nil
}

func (c *client) GetIDFullResponse(subject string, schema SchemaInfo, normalize bool) (SchemaMetadata, error) {
	r, err := c.reg.Lookup(subject, toNative(schema), normalize)
	if err != nil {
		return SchemaMetadata{}, ConvertError(err)
	}
	return fromNative(r), nil
}

func (c *client) GetID(subject string, schema SchemaInfo, normalize bool) (int, error) {
	m, err := c.GetIDFullResponse(subject, schema, normalize)
	return m.ID, err
}

func (c *client) GetVersion(subject string, schema SchemaInfo, normalize bool) (int, error) {
	m, err := c.GetIDFullResponse(subject, schema, normalize)
	return m.Version, err
}

func (c *client) GetLatestSchemaMetadata(subject string) (SchemaMetadata, error) {
	r, err := c.reg.Latest(subject)
	if err != nil {
		return SchemaMetadata{}, ConvertError(err)
	}
	return fromNative(r), nil
}

func (c *client) GetSchemaMetadata(subject string, version int) (SchemaMetadata, error) {
	r, err := c.reg.Version(subject, version)
	if err != nil {
		return SchemaMetadata{}, ConvertError(err)
	}
	return fromNative(r), nil
}

func (c *client) GetAllVersions(subject string) ([]int, error) {
	v, err := c.reg.Versions(subject)
	return v, ConvertError(err)
}

func (c *client) GetAllSubjects() ([]string, error) {
	v, err := c.reg.Subjects()
	return v, ConvertError(err)
}

func (c *client) DeleteSubject(subject string, permanent bool) ([]int, error) {
	v, err := c.reg.DeleteSubject(subject, permanent)
	return v, ConvertError(err)
}

func (c *client) TestCompatibility(subject string, version int, schema SchemaInfo) (bool, error) {
	ok, err := c.reg.TestCompatibility(subject, version, toNative(schema))
	return ok, ConvertError(err)
}

func (c *client) TestSubjectCompatibility(subject string, schema SchemaInfo) (bool, error) {
	return c.TestCompatibility(subject, -1, schema)
}

func (c *client) compat(subject string) (Compatibility, error) {
	level, err := c.reg.Compatibility(subject)
	if err != nil {
		return 0, ConvertError(err)
	}
	var out Compatibility
	return out, out.ParseString(level)
}

func (c *client) setCompat(subject string, update Compatibility) (Compatibility, error) {
	if err := c.reg.SetCompatibility(subject, update.String()); err != nil {
		return 0, ConvertError(err)
	}
	return update, nil
}

func (c *client) GetCompatibility(subject string) (Compatibility, error) { return c.compat(subject) }
func (c *client) UpdateCompatibility(subject string, update Compatibility) (Compatibility, error) {
	return c.setCompat(subject, update)
}
func (c *client) GetDefaultCompatibility() (Compatibility, error) { return c.compat("") }
func (c *client) UpdateDefaultCompatibility(update Compatibility) (Compatibility, error) {
	return c.setCompat("", update)
}

func (c *client) Close() error {
	c.reg.Close()
	return nil
}
