// Package sasl is kafka-go's sasl package (github.com/segmentio/kafka-go/sasl): the Mechanism
// interface of Transport.SASL and Dialer.SASLMechanism.
//
// In polykafka the SASL exchange runs in the engine, not in Go: the built-in mechanisms of
// sasl/plain and sasl/scram only carry their name and credentials to it. Any other
// implementation of Mechanism is refused when the Writer, Reader or Client first connects,
// with an error that errors.Is matches to kafka.UnsupportedSASLMechanism; the connection is
// never made without authentication instead.
package sasl

import "context"

// Mechanism is a SASL mechanism, as in kafka-go. Only those of sasl/plain and sasl/scram
// work with polykafka (see the package documentation).
type Mechanism interface {
	// Name is the mechanism's name in the SASL handshake ("PLAIN", "SCRAM-SHA-512").
	Name() string
	// Start begins an exchange: its state machine and the initial response.
	Start(ctx context.Context) (sess StateMachine, ir []byte, err error)
}

// StateMachine is one SASL exchange: Next takes the broker's challenge and gives the answer.
type StateMachine interface {
	Next(ctx context.Context, challenge []byte) (done bool, response []byte, err error)
}

// Metadata describes the broker being authenticated to.
type Metadata struct {
	BrokerAddress string
}

type ctxKey struct{}

// WithMetadata returns a copy of ctx carrying m.
func WithMetadata(ctx context.Context, m *Metadata) context.Context {
	return context.WithValue(ctx, ctxKey{}, m)
}

// MetadataFromContext gives the Metadata ctx carries, or nil.
func MetadataFromContext(ctx context.Context) *Metadata {
	m, _ := ctx.Value(ctxKey{}).(*Metadata)
	return m
}
