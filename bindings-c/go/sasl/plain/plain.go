// Package plain is kafka-go's sasl/plain: the PLAIN mechanism, which sends the credentials
// as they are (use it over TLS). polykafka's engine runs the exchange.
package plain

import (
	"context"
	"fmt"

	"github.com/polykafka/polykafka/bindings-c/go/internal/saslcred"
	"github.com/polykafka/polykafka/bindings-c/go/sasl"
)

// Mechanism is SASL PLAIN with a user name and password.
type Mechanism struct {
	Username string
	Password string
}

var _ sasl.Mechanism = Mechanism{}

// Name is "PLAIN".
func (Mechanism) Name() string { return "PLAIN" }

// Start gives PLAIN's only message: NUL, user name, NUL, password (RFC 4616).
func (m Mechanism) Start(context.Context) (sasl.StateMachine, []byte, error) {
	msg := make([]byte, 0, 2+len(m.Username)+len(m.Password))
	msg = append(append(append(append(msg, 0), m.Username...), 0), m.Password...)
	return m, msg, nil
}

// Next ends the exchange: the broker answers PLAIN once, or fails the authentication.
func (m Mechanism) Next(context.Context, []byte) (bool, []byte, error) { return true, nil, nil }

// Format prints the mechanism with its password replaced by "[redacted]", for every verb
// (%v, %+v, %#v, %s...): a logged configuration does not give the password away. kafka-go's
// plain.Mechanism prints it.
func (m Mechanism) Format(f fmt.State, verb rune) {
	saslcred.Format(f, verb, "plain.Mechanism", "Username", m.Username, "Password", saslcred.Redacted)
}

// Credentials hands the mechanism to polykafka's engine (used by package kafka).
func (m Mechanism) Credentials() saslcred.Credentials {
	return saslcred.Credentials{Mechanism: "PLAIN", Username: m.Username, Password: m.Password}
}
