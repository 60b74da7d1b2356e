package kafka_test

import (
	"testing"

	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
)

// bootstrap is the plaintext listener of the test cluster (see internal/testenv). The tests that
// compare with kafka-go live in compattest/, a module of its own.
func bootstrap(testing.TB) string { return testenv.Bootstrap() }
