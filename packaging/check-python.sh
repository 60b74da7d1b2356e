#!/usr/bin/env bash
# packaging/check-python.sh - the Python "done when" of issue #20, on what packaging/python.sh put in dist/python/:
#   1. every wheel there is inspected: its file name's tag equals the WHEEL file's, the version is PK_VERSION,
#      py.typed and the .pyi stubs are inside, the native module's ELF machine (file, readelf -h) is the tag's
#      architecture, and a manylinux wheel needs no glibc symbol newer than its tag allows;
#   2. the x86_64 glibc wheel is installed with `pip install --no-index` into a fresh venv outside the repository,
#      with cargo and rustc off PATH; `pip show` and polykafka.version() / libversion() / __version__ must give
#      PK_VERSION;
#   3. a copy of bindings-python/demo.py runs there against $KAFKA_BOOTSTRAP on a new topic: it must report the
#      five records delivered and consume the same five back.
# Prints what it checked; exits non-zero at the first failure, saying which.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

dir="$PK_DIST/python"
fail() { echo "check-python: FAIL: $*" >&2; exit 1; }
ok() { echo "check-python: ok: $*"; }
[[ -n "${KAFKA_BOOTSTRAP:-}" ]] || fail "KAFKA_BOOTSTRAP is not set (the broker the demo runs against)"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# --- 1. inspection of every wheel -----------------------------------------------------------------------------
shopt -s nullglob
wheels=("$dir"/*.whl)
(( ${#wheels[@]} )) || fail "no wheel in $dir (run packaging/python.sh first)"
stubs=(polykafka/py.typed polykafka/_native.pyi polykafka/error.pyi polykafka/serialization/__init__.pyi)
for whl in "${wheels[@]}"; do
  name="$(basename "$whl")"
  # name-version-python-abi-platform.whl
  IFS=- read -r dist version pytag abitag plat <<<"${name%.whl}"
  [[ "$dist" == polykafka && "$version" == "$PK_VERSION" ]] || fail "$name: not polykafka $PK_VERSION"
  [[ "$pytag-$abitag" == cp39-abi3 ]] || fail "$name: tag $pytag-$abitag, not cp39-abi3"
  # The WHEEL file has one Tag line per platform tag of the file name (a.b.c -> three lines).
  want="$(tr . '\n' <<<"$plat" | sed "s/^/$pytag-$abitag-/" | sort)"
  got="$(unzip -p "$whl" "polykafka-$PK_VERSION.dist-info/WHEEL" | sed -n 's/^Tag: //p' | sort)"
  [[ "$got" == "$want" ]] || fail "$name: WHEEL says tags [$(echo $got)], the file name [$(echo $want)]"
  meta="$(unzip -p "$whl" "polykafka-$PK_VERSION.dist-info/METADATA" | sed -n 's/^Version: //p')"
  [[ "$meta" == "$PK_VERSION" ]] || fail "$name: METADATA Version '$meta'"
  listing="$(unzip -Z1 "$whl")"
  for f in "${stubs[@]}"; do
    grep -qx "$f" <<<"$listing" || fail "$name: $f missing"
  done
  sos=($(grep -E '^polykafka/_native.*\.so$' <<<"$listing"))
  (( ${#sos[@]} == 1 )) || fail "$name: ${#sos[@]} native modules (polykafka/_native*.so) inside"
  unzip -q -o "$whl" "${sos[0]}" -d "$scratch/$name"
  so="$scratch/$name/${sos[0]}"
  case "$plat" in
    *_x86_64) file_arch="x86-64"; elf_machine="Advanced Micro Devices X86-64"; arch=x86_64 ;;
    *_aarch64) file_arch="ARM aarch64"; elf_machine="AArch64"; arch=aarch64 ;;
    *) fail "$name: platform $plat is none this project builds" ;;
  esac
  filed="$(file -b "$so")"
  machine="$(readelf -h "$so" | sed -n 's/^ *Machine: *//p')"
  [[ "$filed" == *"$file_arch"* ]] || fail "$name: file says '$filed', not $file_arch"
  [[ "$machine" == "$elf_machine" ]] || fail "$name: readelf -h says Machine '$machine', not $elf_machine"
  needed="$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  glibc="$(readelf --dyn-syms -W "$so" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1 || true)"
  case "$plat" in
    *manylinux*)
      # manylinux2014 is glibc 2.17; manylinux_2_NN is 2.NN. Take the lowest tag the name claims.
      tagmin="$(tr . '\n' <<<"$plat" | sed -n 's/^manylinux2014_.*/2.17/p; s/^manylinux_\([0-9]*\)_\([0-9]*\)_.*/\1.\2/p' |
        sort -V | head -1)"
      [[ -n "$glibc" ]] || fail "$name: no GLIBC symbol versions in a glibc wheel's module"
      [[ "$(printf '%s\n%s\n' "${glibc#GLIBC_}" "$tagmin" | sort -V | tail -1)" == "$tagmin" ]] ||
        fail "$name: the module needs $glibc, newer than its tag's glibc $tagmin"
      libc="glibc: needs at most $glibc (tag allows $tagmin)" ;;
    *musllinux*)
      [[ -z "$glibc" && " $needed" != *" libc.so.6 "* ]] || fail "$name: a musl wheel whose module links glibc ($glibc, $needed)"
      libc="musl: no glibc symbol" ;;
  esac
  size="$(du -k "$whl" | cut -f1)"
  ok "$name: WHEEL tags match, $(( size / 1024 )).$(( size % 1024 * 10 / 1024 )) MB, py.typed + .pyi inside;" \
    "$(basename "$so"): $machine ($filed), needs [$needed], $libc"
  [[ "$arch" == aarch64 ]] && echo "check-python:     (aarch64: inspected only, this x86_64 machine cannot run it)"
done
for p in manylinux_x86_64 manylinux_aarch64 musllinux_x86_64; do
  found=0
  for whl in "${wheels[@]}"; do [[ "$whl" == *"${p%%_*}"*"_${p#*_}.whl" ]] && found=1; done
  (( found )) || echo "check-python: note: no $p wheel in $dir (packaging/python.sh without --host builds it)"
done
sdist="$dir/polykafka-$PK_VERSION.tar.gz"
if [[ -f "$sdist" ]]; then
  content="$(tar tzf "$sdist")"
  for f in Cargo.toml Cargo.lock pyproject.toml core/Cargo.toml core/host/Cargo.toml bindings-python/Cargo.toml \
    python/polykafka/__init__.py python/polykafka/py.typed; do
    grep -qx "polykafka-$PK_VERSION/$f" <<<"$content" || fail "$(basename "$sdist"): $f missing"
  done
  ok "$(basename "$sdist"): $(( $(stat -c %s "$sdist") / 1024 )) kB, holds core/, core/host/, the binding, Cargo.lock"
else
  echo "check-python: note: no sdist in $dir (packaging/python.sh without --host builds it)"
fi

# --- 2. install the x86_64 glibc wheel without Rust ------------------------------------------------------------
host=("$dir"/polykafka-"$PK_VERSION"-cp39-abi3-*manylinux*_x86_64.whl)
(( ${#host[@]} == 1 )) || fail "want one manylinux x86_64 wheel in $dir, found ${#host[@]}"
export PATH="$(pk_path_without_rust)"
! command -v cargo >/dev/null && ! command -v rustc >/dev/null || fail "cargo or rustc still on PATH"
venv="$scratch/venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --no-index "${host[0]}"
ok "installed $(basename "${host[0]}") into a fresh venv ($venv), no cargo/rustc on PATH, --no-index"
shown="$("$venv/bin/pip" show polykafka | sed -n 's/^Version: //p')"
[[ "$shown" == "$PK_VERSION" ]] || fail "pip show polykafka says Version '$shown', not $PK_VERSION"
ok "pip show polykafka: Version $shown"
cd "$scratch"
printed="$("$venv/bin/python" -c 'import polykafka; print(polykafka.version())')"
echo "check-python: python -c 'import polykafka; print(polykafka.version())' -> $printed"
IFS=. read -r major minor patch <<<"$PK_VERSION"
[[ "$printed" == "('$PK_VERSION', $(( (major << 16) | (minor << 8) | patch )))" ]] ||
  fail "polykafka.version() gave $printed"
others="$("$venv/bin/python" -c 'import polykafka; print(polykafka.__version__, polykafka.libversion()[0], polykafka.__file__)')"
read -r v lib where <<<"$others"
[[ "$v" == "$PK_VERSION" && "$lib" == "$PK_VERSION" ]] || fail "__version__ $v, libversion() $lib"
[[ "$where" == "$venv"/* ]] || fail "polykafka imported from $where, not the venv"
ok "polykafka.__version__ $v, libversion()[0] $lib, imported from the venv"

# --- 3. the demo against the broker ----------------------------------------------------------------------------
cp "$PK_ROOT/bindings-python/demo.py" "$scratch/demo.py"
topic="polykafka-check-python-$$-$(date +%s)"
set +e
output="$(KAFKA_BOOTSTRAP="$KAFKA_BOOTSTRAP" timeout 120 "$venv/bin/python" "$scratch/demo.py" "$topic" 2>&1)"
rc=$?
set -e
sed 's/^/check-python:   demo| /' <<<"$output"
(( rc == 0 )) || fail "demo.py exited $rc"
fruits="apple banana cherry damson elderberry"
delivered="$(sed -n "s/^delivered user-[01]=\([a-z]*\) to $topic \[[0-2]\] @ [0-9]*$/\1/p" <<<"$output" | sort | xargs)"
consumed="$(sed -n "s/^consumed user-[01]=\([a-z]*\) from $topic \[[0-2]\] @ [0-9]* headers=.*demo.py.*$/\1/p" \
  <<<"$output" | sort | xargs)"
[[ "$delivered" == "$fruits" ]] || fail "demo delivered [$delivered], not [$fruits]"
grep -qx '0 record(s) not delivered' <<<"$output" || fail "demo did not report every record delivered"
[[ "$consumed" == "$fruits" ]] || fail "demo consumed back [$consumed], not [$fruits]"
ok "demo.py (a copy, run outside the repository) delivered 5 records to $topic and consumed the same 5 back"
echo "check-python: all checks passed (polykafka $PK_VERSION)"
