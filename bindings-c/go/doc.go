// Package kafka is kafka-go's API (github.com/segmentio/kafka-go) over polykafka's Rust engine,
// through its C ABI: a kafka-go program moves to it by changing the import path to
// github.com/polykafka/polykafka/bindings-c/go (package name kafka).
//
// Building: the package links the static library target/release/libpolykafka.a of the
// polykafka repository (through #cgo directives relative to this directory), so build it first:
//
//	cargo build --release -p polykafka-c   # at the repository root
//	go build ./...                          # or go test, in bindings-c/go
//
// Binaries are linked statically against it and need no LD_LIBRARY_PATH. A Go module using
// this one from elsewhere adds a replace directive pointing at a checkout of the repository
// where the library was built: `replace github.com/polykafka/polykafka/bindings-c/go =>
// /path/to/polykafka/bindings-c/go`.
//
// Semantics follow kafka-go, including its defaults, which surprise: a Writer's RequiredAcks
// is RequireNone, its Balancer is RoundRobin (keys ignored), and a synchronous WriteMessages
// waits up to BatchTimeout (1 s) for its batch to fill, so one message takes about a second
// with the defaults. A call with at least BatchSize messages is sent at once.
//
// What runs where: the built-in balancers RoundRobin (ChunkSize <= 1), Murmur2Balancer and
// CRC32Balancer run in the engine (no call back into Go per message); LeastBytes, Hash,
// ReferenceHash, RoundRobin with a ChunkSize and any other Balancer run in Go, and the
// partitions they pick travel with the batch. Every WriteMessages call crosses into the
// engine once per batch, not per message, and C never keeps a Go pointer.
//
// Not yet implemented (declared so that programs compile): the Reader (its reads return
// ErrNotImplemented until the engine's consumer lands), Transport's TLS and SASL settings
// (ClientID is used), Writer.ReadTimeout (WriteTimeout bounds requests).
package kafka
