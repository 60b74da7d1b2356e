#!/usr/bin/env bash
# packaging/go-c.sh [--host] - the Go module and the C tarballs, into dist/:
#   dist/go/github.com/polykafka/polykafka/bindings-c/go@v<version>/
#       the Go module as `go get` places it in the module cache: no symbolic links (include/polykafka.h
#       and lib/linux_<arch>/libpolykafka.a are files), no nested modules (compattest, otelkafka), the
#       static libraries stripped of debug info: lib/linux_amd64 and lib/linux_arm64
#   dist/c/polykafka-<version>-linux-<x86_64|aarch64>.tar.gz
#       polykafka-<version>-linux-<arch>/include/polykafka.h, lib/libpolykafka.a (debug info stripped),
#       lib/libpolykafka.so.<version> with its SONAME libpolykafka.so.0 (and the .so.0 and .so links),
#       lib/pkgconfig/polykafka.pc (relocatable: prefix=${pcfiledir}/../..)
# Without --host both architectures are built with cargo-zigbuild for glibc 2.17 (as the Node
# packages are; the same target directories, so shared dependencies are built once). --host: the
# x86_64 artifacts only, from `cargo build --release -p polykafka-c` with make test's profile (no
# cross-crate LTO): a no-op when make test built the library already; the module then has no
# linux_arm64 library. Every library is checked with readelf (architecture, SONAME, no debug info)
# and its size printed. Exits non-zero on any failure.
set -euo pipefail
# shellcheck source=packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=packaging/elf.sh
source "$PK_ROOT/packaging/elf.sh"

host=0
case "${1:-}" in
  --host) host=1 ;;
  "") ;;
  *) echo "usage: $0 [--host]" >&2; exit 2 ;;
esac
start=$SECONDS
die() { echo "go-c.sh: $*" >&2; exit 1; }
target_dir="${CARGO_TARGET_DIR:-$PK_ROOT/target}"
module_path=github.com/polykafka/polykafka/bindings-c/go
go_out="$PK_DIST/go"
module_out="$go_out/$module_path@v$PK_VERSION"
c_out="$PK_DIST/c"
stage="$PK_ROOT/build/go-c-packages"

# arch (the C tarball's name) -> Go's GOARCH, Rust's target, cargo-zigbuild's target.
declare -A goarch=([x86_64]=amd64 [aarch64]=arm64)
declare -A rust=([x86_64]=x86_64-unknown-linux-gnu [aarch64]=aarch64-unknown-linux-gnu)
declare -A zig=([x86_64]=x86_64-unknown-linux-gnu.2.17 [aarch64]=aarch64-unknown-linux-gnu.2.17)
if [[ $host == 1 ]]; then arches=(x86_64); else arches=(x86_64 aarch64); fi

# Stripping: rustc's own llvm-objcopy (rust-objcopy, LLVM of the same version as the compiler). The
# system's llvm-strip 14 wrote archives of rustc 1.95's objects that GNU ld refused ("file format
# not recognized"); GNU strip knows x86_64 only.
sysroot="$(rustc --print sysroot)"
objcopy="$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-objcopy"
[[ -x "$objcopy" ]] || die "$objcopy is missing"
strip_to() { # <--strip-debug|--strip-unneeded> <in> <out>
  LD_LIBRARY_PATH="$sysroot/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$objcopy" "$1" "$2" "$3"
}
for tool in readelf tar git; do command -v "$tool" >/dev/null || die "$tool is not on PATH"; done

# ---- the libraries -------------------------------------------------------------------------------
declare -A built
if [[ $host == 1 ]]; then
  # make test (tests/run) builds release without cross-crate LTO; the same profile here reuses it.
  export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-false}"
  echo "== cargo build --release -p polykafka-c (host, CARGO_PROFILE_RELEASE_LTO=$CARGO_PROFILE_RELEASE_LTO)"
  t0=$SECONDS
  (cd "$PK_ROOT" && cargo build --release --locked -p polykafka-c)
  echo "   $((SECONDS - t0)) s"
  built[x86_64]="$target_dir/release"
else
  pk_zig_env
  for a in "${arches[@]}"; do
    pk_rust_target "${rust[$a]}"
    echo "== cargo zigbuild --release -p polykafka-c --target ${zig[$a]}"
    t0=$SECONDS
    (cd "$PK_ROOT" && cargo zigbuild --release --locked -p polykafka-c --target "${zig[$a]}")
    echo "   $((SECONDS - t0)) s"
    built[$a]="$target_dir/${rust[$a]}/release"
  done
fi

size_of() { du -hL --apparent-size "$1" | cut -f1; }

rm -rf "$stage" "$module_out"
mkdir -p "$stage" "$c_out" "$go_out"
echo "== C tarballs (dist/c)"
declare -A stripped_a
for a in "${arches[@]}"; do
  src="${built[$a]}"
  for f in libpolykafka.a libpolykafka.so; do [[ -f "$src/$f" ]] || die "$src/$f is missing"; done
  name="polykafka-$PK_VERSION-linux-$a"
  d="$stage/$name"
  mkdir -p "$d/include" "$d/lib/pkgconfig"
  cp "$PK_ROOT/bindings-c/include/polykafka.h" "$d/include/"
  strip_to --strip-debug "$src/libpolykafka.a" "$d/lib/libpolykafka.a"
  strip_to --strip-unneeded "$src/libpolykafka.so" "$d/lib/libpolykafka.so.$PK_VERSION"
  ln -s "libpolykafka.so.$PK_VERSION" "$d/lib/libpolykafka.so.0"
  ln -s libpolykafka.so.0 "$d/lib/libpolykafka.so"
  pk_elf_check "$d/lib/libpolykafka.a" "$a"
  pk_elf_check "$d/lib/libpolykafka.so.$PK_VERSION" "$a"
  soname="$(pk_soname "$d/lib/libpolykafka.so.$PK_VERSION")"
  [[ "$soname" == libpolykafka.so.0 ]] || die "$a: libpolykafka.so has SONAME '$soname', want libpolykafka.so.0"
  # The template is the repository's; ${pcfiledir} makes the unpacked tarball usable where it lies.
  sed -e 's|@PREFIX@|${pcfiledir}/../..|' -e "s|@VERSION@|$PK_VERSION|" "$PK_ROOT/bindings-c/polykafka.pc.in" \
    | grep -v '^#' > "$d/lib/pkgconfig/polykafka.pc"
  tar -C "$stage" -czf "$c_out/$name.tar.gz" --owner=0 --group=0 "$name"
  stripped_a[$a]="$d/lib/libpolykafka.a"
  echo "   $name.tar.gz $(size_of "$c_out/$name.tar.gz"): libpolykafka.a $(size_of "$src/libpolykafka.a") ->" \
    "$(size_of "$d/lib/libpolykafka.a") stripped, libpolykafka.so $(size_of "$src/libpolykafka.so") ->" \
    "$(size_of "$d/lib/libpolykafka.so.$PK_VERSION"), SONAME $soname"
done

# ---- the Go module -------------------------------------------------------------------------------
echo "== Go module (dist/go/$module_path@v$PK_VERSION)"
go_dir="$PK_ROOT/bindings-c/go"
mkdir -p "$module_out"
# The module's files: what git has (committed or new), without the nested modules, which the module
# cache would not hold either; symbolic links are copied as the files they point to.
(cd "$go_dir" && git ls-files --cached --others --exclude-standard -z .) |
  while IFS= read -r -d '' f; do
    case "$f" in compattest/* | otelkafka/* | lib/*) continue ;; esac
    [[ -e "$go_dir/$f" ]] || continue # deleted in the work tree
    mkdir -p "$module_out/$(dirname "$f")"
    cp -L "$go_dir/$f" "$module_out/$f"
  done
for a in "${arches[@]}"; do
  mkdir -p "$module_out/lib/linux_${goarch[$a]}"
  cp "${stripped_a[$a]}" "$module_out/lib/linux_${goarch[$a]}/libpolykafka.a"
  echo "   lib/linux_${goarch[$a]}/libpolykafka.a $(size_of "$module_out/lib/linux_${goarch[$a]}/libpolykafka.a")"
done
[[ -z "$(find "$module_out" -type l)" ]] || die "symbolic links left in $module_out"
[[ -f "$module_out/include/polykafka.h" && -f "$module_out/go.mod" ]] || die "$module_out lacks go.mod or the header"
if grep -Eq 'segmentio/kafka-go|confluent-kafka-go' "$module_out/go.mod"; then
  die "$module_out/go.mod requires kafka-go or confluent-kafka-go"
fi
echo "   module $(du -sh --apparent-size "$module_out" | cut -f1), $(find "$module_out" -type f | wc -l) files"
echo "== go-c.sh done in $((SECONDS - start)) s"
