// Package link links the native polykafka library into every program using this module: each
// package with cgo calls imports it (blank), so the library's link flags are given once, here.
//
// Without build tags the library comes from lib/<GOOS>_<GOARCH>/libpolykafka.a inside the module
// (linux_amd64 and linux_arm64, glibc; static, stripped of debug info), as confluent-kafka-go
// bundles librdkafka: `go get` and `go build` need no Rust toolchain and the binary needs no
// shared library. In the repository lib/ and include/ hold symbolic links to target/release
// (built by `cargo build --release -p polykafka-c`) and to bindings-c/include; dist/go (made by
// packaging/go-c.sh) holds the module with real files, as the module cache would.
//
// With the build tag `dynamic` (go build -tags dynamic) the program links a system-installed
// libpolykafka.so instead, found through pkg-config (polykafka.pc, from the C tarball); the header
// stays the one inside the module, so the installed library must be of the same version.
package link
