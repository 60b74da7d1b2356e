// Package saslcred carries a built-in SASL mechanism's credentials from the sasl/plain and
// sasl/scram packages to package kafka, which gives them to the engine. Being internal, its
// types cannot be named outside this module, so no other Mechanism can pretend to be built in.
package saslcred

// Credentials are the engine's sasl.mechanism, sasl.username and sasl.password.
type Credentials struct {
	Mechanism string
	Username  string
	Password  string
}

// Carrier is implemented by the built-in mechanisms.
type Carrier interface {
	Credentials() Credentials
}
