package kafka_test

import (
	"errors"
	"strings"
	"testing"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

// A panic inside the engine comes back as a typed Go error and the process lives on
// (polykafka only: kafka-go has no engine to panic).
func TestEnginePanicIsATypedError(t *testing.T) {
	for i := 0; i < 2; i++ {
		err := kafka.PanicForTests()
		var ce *kafka.ClientError
		if !errors.As(err, &ce) {
			t.Fatalf("want a *kafka.ClientError, got %T %v", err, err)
		}
		if ce.Kind != "fatal" || ce.Name != "_FATAL" || ce.Code != 0 || !strings.Contains(ce.Message, "caught panic") {
			t.Fatalf("unexpected error %+v", ce)
		}
	}
	if kafka.Version() == "" {
		t.Fatal("the library does not answer after a panic")
	}
}
