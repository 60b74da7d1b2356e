#!/usr/bin/env bash
# packaging/python.sh [--host] - builds polykafka's Python packages into dist/python/: abi3 wheels (cp39-abi3,
# one wheel per platform for every CPython >= 3.9) and an sdist.
#
#   --host   only the x86_64 glibc wheel: the one bindings-python/wheel.sh built for make test's Python suite
#            (calling it again is a no-op when nothing changed), with its debug info stripped (the suites keep it
#            for profiling; a user does not need 150 MB of it). Its tag is what maturin's check of the host
#            build gives (manylinux_2_34: the build machine's glibc symbols).
#   (none)   every target: manylinux2014 (glibc 2.17) x86_64 and aarch64, musllinux_1_2 x86_64, cross-built
#            with maturin's --zig (ziglang from PyPI), plus the sdist (`maturin sdist`: the binding, core/ and
#            core/host, Cargo.lock). The sdist is checked once: pip installs it into a scratch venv, building from
#            source with cargo, and the module must import and report PK_VERSION.
# Each step's time goes to stderr; the artifacts and their sizes are listed at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

host=0
case "${1:-}" in
  --host) host=1 ;;
  "") ;;
  *) echo "usage: $0 [--host]" >&2; exit 2 ;;
esac

out="$PK_DIST/python"
manifest="$PK_ROOT/bindings-python/Cargo.toml"
step_start=$SECONDS
step() { echo "python.sh: $1 ($((SECONDS - step_start)) s)" >&2; step_start=$SECONDS; }

if (( host )); then
  # Keep whatever a full run left for the other platforms; replace the host wheel only.
  mkdir -p "$out"
  rm -f "$out"/polykafka-*-manylinux*_x86_64.whl
  built="$("$PK_ROOT/bindings-python/wheel.sh")"
  [[ "$built" == */polykafka-"$PK_VERSION"-cp39-abi3-manylinux*_x86_64.whl ]] || {
    echo "python.sh: wheel.sh gave $built, not a cp39-abi3 manylinux x86_64 wheel of $PK_VERSION" >&2; exit 1; }
  step "wheel.sh: $(basename "$built")"
  # Unpack, strip the debug info of the native module, pack again (`wheel pack` writes a new RECORD).
  tools="$PK_ROOT/build/venv-maturin"
  "$tools/bin/python" -c 'import wheel' 2>/dev/null ||
    "$tools/bin/python" -m pip install -q --disable-pip-version-check "wheel>=0.40" >&2
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  "$tools/bin/python" -m wheel unpack -d "$scratch" "$built" >/dev/null
  so=("$scratch"/polykafka-"$PK_VERSION"/polykafka/_native*.so)
  strip --strip-debug "${so[0]}"
  "$tools/bin/python" -m wheel pack -d "$out" "$scratch/polykafka-$PK_VERSION" >/dev/null
  step "stripped debug info and packed into dist/python"
else
  rm -rf "$out"
  mkdir -p "$out"
  # maturin --zig runs `python3 -m ziglang`, so only ziglang and maturin are needed, in the venv pk_zig_env uses
  # (same ziglang): not pk_zig_env itself, whose cargo-zigbuild (a cargo install, minutes here) maturin never calls.
  venv="$PK_ROOT/build/packaging-tools/venv"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import ziglang' 2>/dev/null ||
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "ziglang>=0.13,<0.16" >&2
  [[ -x "$venv/bin/maturin" ]] ||
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2.0" >&2
  export PATH="$venv/bin:$PATH"
  step "tools: maturin $("$venv/bin/maturin" --version | cut -d' ' -f2), zig $("$venv/bin/python" -m ziglang version)"

  "$venv/bin/maturin" sdist -m "$manifest" --out "$out" >&2
  step "sdist"

  # target, maturin --compatibility. Thin LTO (the release profile) unless the caller turned it off. The debug
  # info the release profile keeps for profiling is stripped at the link: `-C strip=debuginfo` goes to the
  # binding's rustc only (cargo rustc), so the dependencies stay the ones other builds of the target compiled
  # (CARGO_PROFILE_RELEASE_STRIP would change every crate's profile and rebuild them all).
  builds=(
    "aarch64-unknown-linux-gnu manylinux2014"
    "x86_64-unknown-linux-musl musllinux_1_2"
    "x86_64-unknown-linux-gnu manylinux2014"
  )
  for b in "${builds[@]}"; do
    read -r target compat <<<"$b"
    pk_rust_target "$target"
    "$venv/bin/maturin" build --release --locked -m "$manifest" \
      --zig --target "$target" --compatibility "$compat" --out "$out" -- -C strip=debuginfo >&2
    step "wheel $target ($compat)"
  done

  # The sdist must build from source on a machine with cargo: install it into a scratch venv and import it.
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  python3 -m venv "$scratch/venv"
  "$scratch/venv/bin/pip" install -q --disable-pip-version-check --no-binary polykafka \
    "$out/polykafka-$PK_VERSION.tar.gz" >&2
  got="$(cd "$scratch" && "$scratch/venv/bin/python" -c 'import polykafka; print(polykafka.__version__)')"
  [[ "$got" == "$PK_VERSION" ]] || { echo "python.sh: the sdist built, but reports version '$got'" >&2; exit 1; }
  step "sdist installed from source into a scratch venv (polykafka.__version__ $got)"
fi

ls -l "$out" | awk 'NR > 1 { printf "python.sh: %6.1f MB  %s\n", $5 / 1048576, $9 }' >&2
