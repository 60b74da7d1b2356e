#!/usr/bin/env bash
# packaging/check-c.sh - the issue's check of the C tarball: unpacks dist/c's x86_64 tarball into a
# temporary directory, checks its layout, the SONAME and pkg-config's version (= PK_VERSION), builds
# packaging/check-c.c with `pkg-config --cflags --libs polykafka` (linked with libpolykafka.so, run
# with LD_LIBRARY_PATH) and with `pkg-config --static` (libpolykafka.a; the binary needs no
# libpolykafka.so), and runs both against KAFKA_BOOTSTRAP: each prints pk_version(), writes three
# records and reads them back. cargo and rustc are not on PATH. The aarch64 tarball, when present
# (packaging/go-c.sh without --host), is unpacked and inspected (readelf: architecture, SONAME); it
# cannot run here. Exits non-zero on any failure.
set -euo pipefail
# shellcheck source=packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=packaging/check-env.sh
source "$PK_ROOT/packaging/check-env.sh"
# shellcheck source=packaging/elf.sh
source "$PK_ROOT/packaging/elf.sh"
for tool in cc pkg-config readelf tar ldd; do command -v "$tool" >/dev/null || die "$tool is not on PATH"; done

tmp="$(mktemp -d /tmp/polykafka-check-c.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# unpack <arch>: unpacks the tarball into $tmp/<arch>, checks its files, SONAME and architecture;
# prints the prefix.
unpack() {
  local a="$1" name="polykafka-$PK_VERSION-linux-$1" f got
  local tarball="$PK_DIST/c/$name.tar.gz"
  [[ -f "$tarball" ]] || die "$tarball is missing (run packaging/go-c.sh)"
  mkdir -p "$tmp/$a"
  tar -C "$tmp/$a" -xzf "$tarball"
  local p="$tmp/$a/$name"
  for f in include/polykafka.h lib/libpolykafka.a lib/libpolykafka.so lib/libpolykafka.so.0 \
    "lib/libpolykafka.so.$PK_VERSION" lib/pkgconfig/polykafka.pc; do
    [[ -e "$p/$f" ]] || die "$name.tar.gz has no $f"
  done
  pk_elf_check "$p/lib/libpolykafka.a" "$a"
  pk_elf_check "$p/lib/libpolykafka.so.$PK_VERSION" "$a"
  got="$(pk_soname "$p/lib/libpolykafka.so.$PK_VERSION")"
  [[ "$got" == libpolykafka.so.0 ]] || die "$name: SONAME '$got', want libpolykafka.so.0"
  echo "$name.tar.gz: ${PK_ELF_MACHINE[$a]}, SONAME $got, libpolykafka.a $(du -h --apparent-size "$p/lib/libpolykafka.a" | cut -f1)," \
    "libpolykafka.so $(du -h --apparent-size "$p/lib/libpolykafka.so.$PK_VERSION" | cut -f1)" >&2
  printf '%s\n' "$p"
}

prefix="$(unpack x86_64)"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
got="$(pkg-config --modversion polykafka)"
[[ "$got" == "$PK_VERSION" ]] || die "pkg-config --modversion polykafka = $got, want $PK_VERSION"
echo "pkg-config --modversion polykafka = $got"

topic="polykafka-check-c-$$-$(date +%s)"
src="$PK_ROOT/packaging/check-c.c"
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -std=c11 -Wall -Werror "$src" $(pkg-config --cflags --libs polykafka) -o "$tmp/check-dynamic"
grep -q "libpolykafka.so.0 => not found" <<<"$(ldd "$tmp/check-dynamic")" || die "check-dynamic finds libpolykafka.so.0 elsewhere"
echo "== dynamic: cc check-c.c \$(pkg-config --cflags --libs polykafka); LD_LIBRARY_PATH=<tarball>/lib"
out="$(LD_LIBRARY_PATH="$prefix/lib" "$tmp/check-dynamic" "$topic" dynamic)" || die "the dynamic build failed: $out"
echo "$out"
grep -qx "pk_version() = $PK_VERSION" <<<"$out" || die "the dynamic build reports another version"
grep -q "libpolykafka.so.0 => $prefix/lib/" <<<"$(LD_LIBRARY_PATH="$prefix/lib" ldd "$tmp/check-dynamic")" ||
  die "check-dynamic did not load the tarball's libpolykafka.so.0"

# --static lists the library's own dependencies (Libs.private); -l:libpolykafka.a picks the archive,
# which -lpolykafka would not while libpolykafka.so lies next to it.
static_libs="$(pkg-config --static --libs polykafka)"
static_libs="${static_libs/-lpolykafka/-l:libpolykafka.a}"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Werror "$src" $(pkg-config --cflags polykafka) $static_libs -o "$tmp/check-static"
if grep -q libpolykafka <<<"$(ldd "$tmp/check-static")"; then die "check-static links libpolykafka.so"; fi
echo "== static: cc check-c.c \$(pkg-config --cflags --static --libs polykafka) with libpolykafka.a"
out="$("$tmp/check-static" "$topic" static)" || die "the static build failed: $out"
echo "$out"
grep -qx "pk_version() = $PK_VERSION" <<<"$out" || die "the static build reports another version"
echo "   binaries: dynamic $(du -h "$tmp/check-dynamic" | cut -f1), static $(du -h "$tmp/check-static" | cut -f1)"

if [[ -f "$PK_DIST/c/polykafka-$PK_VERSION-linux-aarch64.tar.gz" ]]; then
  unpack aarch64 >/dev/null
  echo "aarch64 tarball inspected (it cannot run on this x86_64 machine)"
else
  echo "no aarch64 tarball (packaging/go-c.sh --host builds x86_64 only)"
fi
echo "check-c.sh: OK (polykafka $PK_VERSION)"
