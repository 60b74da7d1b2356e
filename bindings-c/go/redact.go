package kafka

import (
	"fmt"
	"io"
	"strings"
)

// The types that hold a SASL mechanism or a TLS configuration print themselves with fmt as %v,
// %+v and %#v do, for every verb. fmt prints a struct's pointer fields as addresses in %v, but
// for other verbs (%s, %q, %x, %d) it reports the verb as wrong and then prints the pointed-to
// struct's fields raw, without calling their Format methods: %s of a Writer showed its
// Transport's plain.Mechanism password. sasl/plain and sasl/scram redact the password
// themselves (kafka-go's print it); these make sure their Format methods are reached.

// formatAs prints v, a copy of the receiver in a type without methods, with %v, %+v or %#v
// (by the flags) whatever the verb; in %#v the copy's type name alias is replaced by name.
func formatAs(f fmt.State, verb rune, v any, name, alias string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, strings.Replace(fmt.Sprintf("%#v", v), alias, name, 1))
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%+v", v)
	default:
		fmt.Fprintf(f, "%v", v)
	}
}

type (
	plainDialer       Dialer
	plainTransport    Transport
	plainReaderConfig ReaderConfig
	plainWriter       Writer
	plainReader       Reader
	plainClient       Client
)

// Format prints the Dialer without secrets (see formatAs).
func (d Dialer) Format(f fmt.State, verb rune) {
	formatAs(f, verb, plainDialer(d), "kafka.Dialer", "kafka.plainDialer")
}

// Format prints the Transport without secrets (see formatAs).
func (t Transport) Format(f fmt.State, verb rune) {
	formatAs(f, verb, plainTransport(t), "kafka.Transport", "kafka.plainTransport")
}

// Format prints the ReaderConfig without secrets (see formatAs).
func (c ReaderConfig) Format(f fmt.State, verb rune) {
	formatAs(f, verb, plainReaderConfig(c), "kafka.ReaderConfig", "kafka.plainReaderConfig")
}

// Format prints the Writer without secrets (see formatAs).
func (w *Writer) Format(f fmt.State, verb rune) {
	formatAs(f, verb, (*plainWriter)(w), "kafka.Writer", "kafka.plainWriter")
}

// Format prints the Reader without secrets (see formatAs).
func (r *Reader) Format(f fmt.State, verb rune) {
	formatAs(f, verb, (*plainReader)(r), "kafka.Reader", "kafka.plainReader")
}

// Format prints the Client without secrets (see formatAs).
func (c *Client) Format(f fmt.State, verb rune) {
	formatAs(f, verb, (*plainClient)(c), "kafka.Client", "kafka.plainClient")
}
