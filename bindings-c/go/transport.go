package kafka

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/sasl"
)

// RoundTripper is kafka-go's transport interface. Writers and clients accept one for
// compatibility; the settings of a *Transport are given to the engine, which makes the
// connections itself (any other RoundTripper is not used).
type RoundTripper interface {
	RoundTrip(context.Context, net.Addr, Request) (Response, error)
}

// Request and Response stand for kafka-go's protocol messages (unused here).
type (
	Request  interface{}
	Response interface{}
)

// SASLMechanism is sasl.Mechanism (the name older kafka-go versions used).
type SASLMechanism = sasl.Mechanism

// Transport has kafka-go's fields. ClientID, DialTimeout, MetadataTTL, TLS and SASL are
// applied by the engine; Dial, IdleTimeout, MetadataTopics and Context are not used.
type Transport struct {
	Dial func(context.Context, string, string) (net.Conn, error)
	// DialTimeout bounds each connection's setup (TCP, TLS, SASL); 0: the engine's 10 s.
	DialTimeout time.Duration
	IdleTimeout time.Duration
	// MetadataTTL is how long metadata is cached; 0: the engine's 5 minutes.
	MetadataTTL    time.Duration
	MetadataTopics []string
	ClientID       string
	// TLS turns TLS on. See the package documentation for what is taken from it: RootCAs
	// needs RootCAsPEM unless it is nil (the system's roots).
	TLS *tls.Config
	// RootCAsPEM (polykafka's) holds the CA certificates of TLS.RootCAs in PEM, which a
	// *x509.CertPool cannot give back; with a nil TLS.RootCAs it sets the trusted CAs alone.
	RootCAsPEM []byte
	// SASL authenticates each connection: plain.Mechanism or scram.Mechanism of this
	// module (any other implementation is an error, never a connection without SASL).
	SASL    sasl.Mechanism
	Context context.Context
}

// RoundTrip is not supported: polykafka speaks to the brokers itself.
func (t *Transport) RoundTrip(context.Context, net.Addr, Request) (Response, error) {
	return nil, ErrNotImplemented
}

// properties gives the engine's properties for the Transport's settings.
func (t *Transport) properties() (map[string]string, error) {
	props, err := connection{clientID: t.ClientID, dialTimeout: t.DialTimeout, tls: t.TLS, rootCAsPEM: t.RootCAsPEM, sasl: t.SASL}.properties()
	if err == nil && t.MetadataTTL > 0 {
		props["metadata.max.age.ms"] = ms(t.MetadataTTL)
	}
	return props, err
}

// transportProperties gives the properties of a Writer's or Client's RoundTripper: those of a
// *Transport, none for nil or another implementation.
func transportProperties(rt RoundTripper) (map[string]string, error) {
	if t, ok := rt.(*Transport); ok && t != nil {
		return t.properties()
	}
	return nil, nil
}

// DefaultTransport is used when a Writer or Client has no Transport.
var DefaultTransport RoundTripper = &Transport{}

// Dialer has kafka-go's fields; a ReaderConfig's Dialer gives the engine its ClientID,
// Timeout (connection setup), TLS, RootCAsPEM and SASLMechanism, as Transport does. The
// other fields are not used.
type Dialer struct {
	ClientID        string
	DialFunc        func(ctx context.Context, network string, address string) (net.Conn, error)
	Timeout         time.Duration
	Deadline        time.Time
	LocalAddr       net.Addr
	DualStack       bool
	FallbackDelay   time.Duration
	KeepAlive       time.Duration
	TLS             *tls.Config
	RootCAsPEM      []byte
	SASLMechanism   sasl.Mechanism
	TransactionalID string
}

// properties gives the engine's properties for the Dialer's settings.
func (d *Dialer) properties() (map[string]string, error) {
	if d == nil {
		return nil, nil
	}
	return connection{clientID: d.ClientID, dialTimeout: d.Timeout, tls: d.TLS, rootCAsPEM: d.RootCAsPEM, sasl: d.SASLMechanism}.properties()
}
