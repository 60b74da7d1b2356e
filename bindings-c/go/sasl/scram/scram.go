// Package scram is kafka-go's sasl/scram: SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802,
// KIP-84). polykafka's engine runs the exchange; the Mechanism here only carries the
// algorithm's name and the credentials to it.
package scram

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"

	"github.com/polykafka/polykafka/bindings-c/go/internal/saslcred"
	"github.com/polykafka/polykafka/bindings-c/go/sasl"
)

// Algorithm is SCRAM's hash function.
type Algorithm interface {
	// Name is the mechanism's name, "SCRAM-SHA-256" or "SCRAM-SHA-512".
	Name() string
	Hash() hash.Hash
}

type sha256Algo struct{}

func (sha256Algo) Name() string    { return "SCRAM-SHA-256" }
func (sha256Algo) Hash() hash.Hash { return sha256.New() }

type sha512Algo struct{}

func (sha512Algo) Name() string    { return "SCRAM-SHA-512" }
func (sha512Algo) Hash() hash.Hash { return sha512.New() }

// The algorithms Kafka supports.
var (
	SHA256 Algorithm = sha256Algo{}
	SHA512 Algorithm = sha512Algo{}
)

// ErrEngineOnly is returned by Start: the SCRAM exchange runs in polykafka's engine, which
// the Writer, Reader and Client use; it is not available to Go code.
var ErrEngineOnly = errors.New("scram: the SCRAM exchange runs in polykafka's engine, not in Go")

type mechanism struct {
	cred saslcred.Credentials
}

// Mechanism returns SCRAM with algo (SHA256 or SHA512) and the credentials. Another
// Algorithm is an error, since the engine implements only these two.
func Mechanism(algo Algorithm, username, password string) (sasl.Mechanism, error) {
	if algo == nil {
		return nil, errors.New("scram: no algorithm (use scram.SHA256 or scram.SHA512)")
	}
	switch name := algo.Name(); name {
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		return &mechanism{saslcred.Credentials{Mechanism: name, Username: username, Password: password}}, nil
	default:
		return nil, fmt.Errorf("scram: unsupported algorithm %q (polykafka has SCRAM-SHA-256 and SCRAM-SHA-512)", name)
	}
}

func (m *mechanism) Name() string { return m.cred.Mechanism }

func (m *mechanism) Start(context.Context) (sasl.StateMachine, []byte, error) {
	return nil, nil, ErrEngineOnly
}

// Format prints the mechanism with its password replaced by "[redacted]", for every verb
// (kafka-go's SCRAM mechanism prints its password in %v, %+v and %#v).
func (m *mechanism) Format(f fmt.State, verb rune) {
	saslcred.Format(f, verb, "&scram.mechanism", "Mechanism", m.cred.Mechanism, "Username", m.cred.Username, "Password", saslcred.Redacted)
}

// Credentials hands the mechanism to polykafka's engine (used by package kafka).
func (m *mechanism) Credentials() saslcred.Credentials { return m.cred }
