package kafka

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Error is a Kafka protocol error code, as in kafka-go; the constants are in errors_gen.go.
// Errors from the engine that carry a code unwrap to one, so errors.Is(err, kafka.X) works.
type Error int

// Error returns "[code] Title: description".
func (e Error) Error() string {
	return fmt.Sprintf("[%d] %s: %s", int(e), e.Title(), e.Description())
}

// Timeout reports whether the error is a request timeout.
func (e Error) Timeout() bool { return e == RequestTimedOut }

// Temporary reports whether retrying may succeed (Kafka's "retriable").
func (e Error) Temporary() bool { return errorInfo[e].temporary }

// Title is a human-readable name of the code.
func (e Error) Title() string {
	if info, ok := errorInfo[e]; ok {
		return info.title
	}
	return ""
}

// Description says what the code means, in Kafka's words.
func (e Error) Description() string {
	if info, ok := errorInfo[e]; ok {
		return info.description
	}
	return ""
}

// ClientError is an error from the polykafka engine: a client-side failure (kind "timeout",
// "connection", "config"...), or a broker error with its message. Errors with a Kafka code
// unwrap to the Error constant.
type ClientError struct {
	// Kind is the engine's error class: config, connection, tls, timeout, authentication,
	// authorization, broker, protocol, closed, invalid_argument, serialization, queue_full,
	// message_too_large, fatal.
	Kind string
	// Code is the Kafka error code, 0 for client-side errors.
	Code int16
	// Name is Kafka's name of the code ("UNKNOWN_TOPIC_OR_PARTITION"), or "_TIMEOUT" etc.
	Name             string
	Message          string
	Retriable        bool
	Fatal            bool
	TxnRequiresAbort bool
}

func (e *ClientError) Error() string { return "kafka: " + e.Message }

// Unwrap gives the Kafka Error code when there is one; io.ErrClosedPipe for a closed client;
// for a broker that could not be reached, the *net.OpError kafka-go's dial would have
// returned (so errors.Is(err, syscall.ECONNREFUSED) holds as with kafka-go).
func (e *ClientError) Unwrap() error {
	if e.Code != 0 {
		return Error(e.Code)
	}
	switch e.Kind {
	case "closed":
		return io.ErrClosedPipe
	case "connection":
		if op := e.dialError(); op != nil {
			return op
		}
	}
	return nil
}

// The engine's connection errors end with the system's error: "connecting to HOST:PORT: ...
// (os error N)".
var (
	osErrorRe    = regexp.MustCompile(`\(os error (\d+)\)`)
	connectingRe = regexp.MustCompile(`connecting to ([^\s:]+:\d+)`)
)

func (e *ClientError) dialError() *net.OpError {
	m := osErrorRe.FindStringSubmatch(e.Message)
	if m == nil {
		return nil
	}
	errno, err := strconv.Atoi(m[1])
	if err != nil {
		return nil
	}
	op := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.Errno(errno))}
	if a := connectingRe.FindStringSubmatch(e.Message); a != nil {
		if addr, err := net.ResolveTCPAddr("tcp", a[1]); err == nil {
			op.Addr = addr
		}
	}
	return op
}

// Timeout reports whether the operation timed out.
func (e *ClientError) Timeout() bool { return e.Kind == "timeout" || Error(e.Code) == RequestTimedOut }

// Temporary reports whether retrying may succeed: for a Kafka code, whether the code is
// retriable (as kafka-go's Error.Temporary, whatever the engine concluded for its own
// retries); otherwise whether the engine says it is retriable.
func (e *ClientError) Temporary() bool {
	if e.Code != 0 {
		return Error(e.Code).Temporary()
	}
	return e.Retriable
}

// kafkaError is the error returned to callers: broker errors come as kafka-go does
// (the Error code wrapped with the broker's message, so errors.Is works).
func (e *ClientError) kafkaError() error {
	if e.Kind == "message_too_large" && e.Code == 0 {
		e.Code = int16(MessageSizeTooLarge)
	}
	return e
}

var errClosedNative = &ClientError{Kind: "closed", Name: "_CLOSED", Message: "the client is closed"}

// ErrNotImplemented is returned by the parts of kafka-go's API polykafka does not have yet.
var ErrNotImplemented = errors.New("kafka: not implemented yet in polykafka")

// WriteErrors is returned by a synchronous Writer.WriteMessages when some messages failed:
// one entry per message given, nil for those written.
type WriteErrors []error

// Count counts the non-nil errors.
func (err WriteErrors) Count() int {
	n := 0
	for _, e := range err {
		if e != nil {
			n++
		}
	}
	return n
}

func (err WriteErrors) Error() string {
	var msgs []string
	for _, e := range err {
		if e != nil {
			msgs = append(msgs, e.Error())
		}
	}
	return fmt.Sprintf("Kafka write errors (%d/%d), errors: [%s]", err.Count(), len(err), strings.Join(msgs, " "))
}

// MessageTooLargeError is returned when a message is larger than the Writer's BatchBytes:
// nothing was written; Remaining holds the other messages of the call.
type MessageTooLargeError struct {
	Message   Message
	Remaining []Message
}

func messageTooLarge(msgs []Message, i int) MessageTooLargeError {
	remain := make([]Message, 0, len(msgs)-1)
	remain = append(remain, msgs[:i]...)
	remain = append(remain, msgs[i+1:]...)
	return MessageTooLargeError{Message: msgs[i], Remaining: remain}
}

func (e MessageTooLargeError) Error() string { return MessageSizeTooLarge.Error() }

// Unwrap gives MessageSizeTooLarge.
func (e MessageTooLargeError) Unwrap() error { return MessageSizeTooLarge }
