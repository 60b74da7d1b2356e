#!/usr/bin/env bash
# packaging/check-go.sh - the issue's check of the Go module: copies dist/go's module (as `go get`
# places it in the module cache, made read-only as there) into a temporary directory, makes a new
# module elsewhere that requires it through a local replace, and with CGO_ENABLED=1, cargo and rustc
# not on PATH and no target/ directory in either place, builds and runs the Go demo
# (bindings-c/go/examples/demo) against KAFKA_BOOTSTRAP and a program printing kafka.Version()
# (= PK_VERSION). `go list -m all` of the new module must not list kafka-go or confluent-kafka-go.
# The module's static libraries are checked (a file, not a link; the architecture; no debug info);
# with the C tarball in dist/c the demo is also built with -tags dynamic against its libpolykafka.so.
# The protobuf dependencies come from the Go module proxy (GOFLAGS=-mod=mod). Exits non-zero on any
# failure.
set -euo pipefail
# shellcheck source=packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=packaging/check-env.sh
source "$PK_ROOT/packaging/check-env.sh"
# shellcheck source=packaging/elf.sh
source "$PK_ROOT/packaging/elf.sh"
command -v go >/dev/null || die "go is not on PATH"
module_path=github.com/polykafka/polykafka/bindings-c/go
dist_module="$PK_DIST/go/$module_path@v$PK_VERSION"
[[ -f "$dist_module/go.mod" ]] || die "$dist_module is missing (run packaging/go-c.sh)"

# The bundled libraries: amd64 must be there, arm64 when go-c.sh ran without --host.
declare -A arch_of=([amd64]=x86_64 [arm64]=aarch64)
for goarch in amd64 arm64; do
  a="$dist_module/lib/linux_$goarch/libpolykafka.a"
  if [[ ! -e "$a" ]]; then
    [[ $goarch == arm64 ]] || die "$a is missing"
    echo "lib/linux_arm64/libpolykafka.a: not built (packaging/go-c.sh --host); arm64 builds of the module would not link"
    continue
  fi
  [[ -f "$a" && ! -L "$a" ]] || die "$a is not a regular file"
  pk_elf_check "$a" "${arch_of[$goarch]}"
  echo "lib/linux_$goarch/libpolykafka.a: ${PK_ELF_MACHINE[${arch_of[$goarch]}]}, no debug info, $(du -h --apparent-size "$a" | cut -f1)"
done
[[ -z "$(find "$dist_module" -type l)" ]] || die "$dist_module holds symbolic links"

tmp="$(mktemp -d /tmp/polykafka-check-go.XXXXXX)"
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
mod="$tmp/modcache/$module_path@v$PK_VERSION"
app="$tmp/app"
mkdir -p "$(dirname "$mod")" "$app/demo" "$app/version"
cp -R "$dist_module" "$mod"
chmod -R a-w "$mod" # as in the module cache: building must not write there
cp "$PK_ROOT/bindings-c/go/examples/demo/main.go" "$app/demo/main.go"
cat > "$app/version/main.go" <<'EOF'
// Prints the version of the polykafka engine linked into the program.
package main

import (
	"fmt"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

func main() { fmt.Println(kafka.Version()) }
EOF
cat > "$app/go.mod" <<EOF
module example.com/polykafka-check-go

go $(sed -n 's/^go //p' "$mod/go.mod")

require $module_path v$PK_VERSION

replace $module_path => $mod
EOF

export CGO_ENABLED=1 GOFLAGS=-mod=mod GOWORK=off
cd "$app"
echo "== go build (module copied to $mod, app in $app)"
t0=$SECONDS
go build -o "$tmp/bin/demo" ./demo
go build -o "$tmp/bin/version" ./version
echo "   $((SECONDS - t0)) s; demo binary $(du -h "$tmp/bin/demo" | cut -f1)"
found="$(find "$tmp" -name target -type d)"
[[ -z "$found" ]] || die "a target/ directory exists: $found"
echo "no target/ directory under $tmp"
if grep -q libpolykafka <<<"$(ldd "$tmp/bin/demo")"; then die "the demo links libpolykafka.so: the static library was not used"; fi

echo "== go list -m all"
go list -m all | tee "$tmp/modules"
if grep -Eq 'segmentio/kafka-go|confluent-kafka-go' "$tmp/modules"; then
  die "the module graph lists kafka-go or confluent-kafka-go"
fi

got="$("$tmp/bin/version")"
echo "kafka.Version() = $got"
[[ "$got" == "$PK_VERSION" ]] || die "kafka.Version() = $got, want $PK_VERSION"

echo "== the Go demo against $KAFKA_BOOTSTRAP"
"$tmp/bin/demo" "polykafka-check-go-$$" || die "the Go demo failed"

# The arm64 library cannot run here, but it must link: cross-build the demo with zig's C compiler
# (ziglang from PyPI, which packaging/lib.sh's pk_zig_env installed for the cross builds).
zig_python="$PK_ROOT/build/packaging-tools/venv/bin/python"
if [[ -f "$mod/lib/linux_arm64/libpolykafka.a" && -x "$zig_python" ]]; then
  echo "== GOARCH=arm64 go build, CC=zig cc -target aarch64-linux-gnu.2.17 (links lib/linux_arm64; cannot run here)"
  printf '#!/bin/sh\nexec "%s" -m ziglang cc -target aarch64-linux-gnu.2.17 "$@"\n' "$zig_python" > "$tmp/zig-cc"
  chmod +x "$tmp/zig-cc"
  GOARCH=arm64 CC="$tmp/zig-cc" go build -o "$tmp/bin/demo-arm64" ./demo || die "the arm64 cross build did not link"
  grep -q "ARM aarch64" <<<"$(file "$tmp/bin/demo-arm64")" || die "demo-arm64 is not an aarch64 binary: $(file "$tmp/bin/demo-arm64")"
  echo "demo-arm64: $(file -b "$tmp/bin/demo-arm64" | cut -d, -f1-2), $(du -h "$tmp/bin/demo-arm64" | cut -f1)"
else
  echo "arm64 link not checked (no lib/linux_arm64 in the module, or no zig in build/packaging-tools)"
fi

tarball="$PK_DIST/c/polykafka-$PK_VERSION-linux-x86_64.tar.gz"
if [[ -f "$tarball" ]]; then
  echo "== go build -tags dynamic (libpolykafka.so of $(basename "$tarball") through pkg-config)"
  tar -C "$tmp" -xzf "$tarball"
  c_prefix="$tmp/polykafka-$PK_VERSION-linux-x86_64"
  PKG_CONFIG_PATH="$c_prefix/lib/pkgconfig" go build -tags dynamic -o "$tmp/bin/version-dynamic" ./version
  grep -q "libpolykafka.so.0 => $c_prefix/lib/" <<<"$(LD_LIBRARY_PATH="$c_prefix/lib" ldd "$tmp/bin/version-dynamic")" ||
    die "the dynamic build does not load the tarball's libpolykafka.so.0"
  got="$(LD_LIBRARY_PATH="$c_prefix/lib" "$tmp/bin/version-dynamic")"
  [[ "$got" == "$PK_VERSION" ]] || die "-tags dynamic: kafka.Version() = $got, want $PK_VERSION"
  echo "-tags dynamic: kafka.Version() = $got, binary $(du -h "$tmp/bin/version-dynamic" | cut -f1)"
else
  echo "no C tarball in dist/c: -tags dynamic not checked"
fi
echo "check-go.sh: OK (polykafka $PK_VERSION)"
