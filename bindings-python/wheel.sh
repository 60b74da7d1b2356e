#!/usr/bin/env bash
# bindings-python/wheel.sh - builds polykafka's wheel (release, abi3) into build/wheels with
# maturin (from its own venv, build/venv-maturin) and prints the wheel's path on stdout.
#
# Every venv of the project (tests: build/venv-python; benchmarks: build/bench/venv-polykafka-python;
# the demo) installs this one wheel, so the native module is compiled once: the same maturin,
# interpreter and cargo invocation each time, so a second call finds everything in cargo's cache.
# (A `pip install bindings-python` per venv compiled pyo3 and the binding again for each, since
# pyo3's build configuration follows the interpreter that runs the build.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/build/venv-maturin"
python="${PYTHON:-python3}"
if [[ ! -x "$tools/bin/maturin" ]]; then
  "$python" -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2.0" >&2
fi
out="$root/build/wheels"
mkdir -p "$out"
"$tools/bin/maturin" build --release --locked -m "$root/bindings-python/Cargo.toml" \
  --interpreter "$(command -v "$python")" --out "$out" >&2
# The version is the workspace's (Cargo.toml [workspace.package]; pyproject.toml takes it from there).
source "$root/packaging/lib.sh"
ls -t "$out"/polykafka-"$PK_VERSION"-*.whl | head -1
