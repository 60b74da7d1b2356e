// Package saslcred carries a built-in SASL mechanism's credentials from the sasl/plain and
// sasl/scram packages to package kafka, which gives them to the engine. Being internal, its
// types cannot be named outside this module, so no other Mechanism can pretend to be built in.
package saslcred

import (
	"fmt"
	"io"
	"strings"
)

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

// Redacted stands for a password in formatted output.
const Redacted = "[redacted]"

// Format writes a value that holds a password for any fmt verb without the password: %#v as
// Go syntax (goType{Name:"value", ...}), %+v with the field names ({Name:value ...}), every
// other verb as %v does ({value ...}). fields are name, value pairs, the password's value
// already replaced by Redacted. kafka-go's own types print the password in all three forms.
func Format(f fmt.State, verb rune, goType string, fields ...string) {
	var b strings.Builder
	switch {
	case verb == 'v' && f.Flag('#'):
		b.WriteString(goType + "{")
		for i := 0; i+1 < len(fields); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s:%q", fields[i], fields[i+1])
		}
	case verb == 'v' && f.Flag('+'):
		if strings.HasPrefix(goType, "&") {
			b.WriteByte('&')
		}
		b.WriteByte('{')
		for i := 0; i+1 < len(fields); i += 2 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(fields[i] + ":" + fields[i+1])
		}
	default:
		if strings.HasPrefix(goType, "&") {
			b.WriteByte('&')
		}
		b.WriteByte('{')
		for i := 1; i < len(fields); i += 2 {
			if i > 1 {
				b.WriteByte(' ')
			}
			b.WriteString(fields[i])
		}
	}
	b.WriteByte('}')
	io.WriteString(f, b.String())
}

// Format prints the credentials without the password (see the package function Format).
func (c Credentials) Format(f fmt.State, verb rune) {
	Format(f, verb, "saslcred.Credentials", "Mechanism", c.Mechanism, "Username", c.Username, "Password", Redacted)
}
