// Package kafka is kafka-go's API (github.com/segmentio/kafka-go) over polykafka's Rust engine,
// through its C ABI: a kafka-go program moves to it by changing the import path to
// github.com/polykafka/polykafka/bindings-c/go (package name kafka).
//
// Building: the module bundles the engine as a static library for linux/amd64 and linux/arm64
// (glibc), lib/linux_<arch>/libpolykafka.a, chosen by build tags as confluent-kafka-go bundles
// librdkafka: `go get github.com/polykafka/polykafka/bindings-c/go` and a C compiler (cgo) are all
// a program needs; no Rust toolchain, and the binary needs no shared library. With the build tag
// `dynamic` the program links a system-installed libpolykafka.so found through pkg-config instead
// (the C tarball's polykafka.pc); elsewhere than linux/amd64 and linux/arm64 that tag is required.
// Kafka-go and confluent-kafka-go, which the tests compare with, are not dependencies: those
// tests are in compattest/, a module of its own.
//
// In the polykafka repository lib/ and include/ are symbolic links to target/release and
// bindings-c/include, so build the library first:
//
//	cargo build --release -p polykafka-c   # at the repository root
//	go build ./...                          # or go test, in bindings-c/go
//
// packaging/go-c.sh writes the module with real files (stripped libraries) to dist/go.
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
// Client.ListGroups, DescribeGroups, DeleteGroups, OffsetFetch and ConsumerGroupLag, and
// DeadLetterReader (retries with backoff and a dead-letter topic for a group Reader; see
// deadletter.go).
//
// Security: a Transport (Writer.Transport, Client.Transport) or Dialer (ReaderConfig.Dialer)
// with TLS and/or SASL set connects over SSL, SASL_PLAINTEXT or SASL_SSL, as kafka-go does;
// the handshake and the SASL exchange run in the engine, so the Go settings are translated:
//
//   - SASL: plain.Mechanism and scram.Mechanism(scram.SHA256|scram.SHA512, ...) of this
//     module's sasl/plain and sasl/scram (import paths mirror kafka-go's). Any other
//     sasl.Mechanism fails the first write, read or request with an error matching
//     errors.Is(err, UnsupportedSASLMechanism); no connection is made without it. A rejected
//     password is an error matching errors.Is(err, SASLAuthenticationFailed), as in kafka-go.
//   - TLS.Certificates[0]: the client certificate chain and its key (mTLS).
//   - TLS.InsecureSkipVerify: no verification of the broker's certificate (chain or name).
//   - TLS.ServerName: the name checked in (and sent as SNI to) every broker, instead of the
//     host connected to.
//   - TLS.RootCAs: nil trusts the system's roots, as in Go. A *x509.CertPool cannot give its
//     certificates back, so a pool needs the same certificates in PEM in the polykafka field
//     RootCAsPEM of the Transport or Dialer; the two are compared, and a pool without its PEM
//     (unless it equals x509.SystemCertPool()) is an error, never a fallback to other roots.
//     RootCAsPEM alone (RootCAs nil) sets the trusted CAs too.
//   - Refused with an error, since the engine cannot call them: VerifyPeerCertificate,
//     VerifyConnection, and GetClientCertificate without Certificates. Other fields (cipher
//     suites, versions, ...) are not used: the engine negotiates TLS 1.2 or 1.3 with rustls's
//     safe defaults.
//
// Transport.DialTimeout and Dialer.Timeout bound each connection's setup, and ClientID and
// Transport.MetadataTTL are used; a Transport's Dial, IdleTimeout and MetadataTopics, a
// Dialer's DialFunc and other fields, and RoundTrippers other than *Transport are not.
//
// Not yet implemented (declared so that programs compile): Writer.ReadTimeout (WriteTimeout
// bounds requests), custom GroupBalancers (Range and RoundRobin map to the engine's
// assignors), ReaderConfig's ReadBackoff*, PartitionWatchInterval, RetentionTime,
// OffsetOutOfRangeError.
package kafka
