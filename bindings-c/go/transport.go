package kafka

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// RoundTripper is kafka-go's transport interface. Writers and clients accept one for
// compatibility; of a *Transport only ClientID is used so far.
type RoundTripper interface {
	RoundTrip(context.Context, net.Addr, Request) (Response, error)
}

// Request and Response stand for kafka-go's protocol messages (unused here).
type (
	Request  interface{}
	Response interface{}
)

// SASLMechanism stands for kafka-go's sasl.Mechanism (not yet supported).
type SASLMechanism interface {
	Name() string
}

// Transport has kafka-go's fields. Only ClientID is applied; TLS and SASL are not yet.
type Transport struct {
	Dial           func(context.Context, string, string) (net.Conn, error)
	DialTimeout    time.Duration
	IdleTimeout    time.Duration
	MetadataTTL    time.Duration
	MetadataTopics []string
	ClientID       string
	TLS            *tls.Config
	SASL           SASLMechanism
	Context        context.Context
}

// RoundTrip is not supported: polykafka speaks to the brokers itself.
func (t *Transport) RoundTrip(context.Context, net.Addr, Request) (Response, error) {
	return nil, ErrNotImplemented
}

// DefaultTransport is used when a Writer or Client has no Transport.
var DefaultTransport RoundTripper = &Transport{}

// Dialer has kafka-go's common fields, so ReaderConfig literals compile; not used yet.
type Dialer struct {
	ClientID      string
	Timeout       time.Duration
	Deadline      time.Time
	LocalAddr     net.Addr
	DualStack     bool
	FallbackDelay time.Duration
	KeepAlive     time.Duration
	TLS           *tls.Config
	SASLMechanism SASLMechanism
}
