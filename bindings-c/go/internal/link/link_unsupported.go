//go:build !dynamic && !(linux && (amd64 || arm64))

package link

// The module bundles the library for linux/amd64 and linux/arm64 only: elsewhere, install
// libpolykafka (the C tarball, or cargo build --release -p polykafka-c) where pkg-config finds it
// and build with -tags dynamic. This undefined name makes the compiler say so.
var _ = no_bundled_polykafka_library_for_this_platform__build_with_tags_dynamic
