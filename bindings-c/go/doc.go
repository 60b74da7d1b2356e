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
// The Reader follows kafka-go's reading and committing rules, which surprise: ReadMessage
// commits a message before returning it (at-most-once; with CommitInterval 0 one synchronous
// round-trip per message); FetchMessage never commits; CommitMessages commits offset+1 of the
// highest message per partition given (with a CommitInterval, the highest within the interval,
// flushed on each tick and on Close); after Close reads return io.EOF. Records cross from the
// engine one batch per cgo call and are handed out one by one.
//
// Beyond kafka-go: Writer.Idempotent, transactions (Writer.TransactionalID, BeginTransaction,
// SendOffsets with a group Reader, CommitTransaction, AbortTransaction; see transaction.go),
// and Client.ListGroups, DescribeGroups, DeleteGroups, OffsetFetch and ConsumerGroupLag.
//
// Not yet implemented (declared so that programs compile): Transport's and Dialer's TLS and
// SASL settings (ClientID is used), Writer.ReadTimeout (WriteTimeout bounds requests), custom
// GroupBalancers (Range and RoundRobin map to the engine's assignors), ReaderConfig's
// ReadBackoff*, PartitionWatchInterval, RetentionTime, OffsetOutOfRangeError, and the duration
// summaries of Stats.
package kafka
