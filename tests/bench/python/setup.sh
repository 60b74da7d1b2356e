#!/usr/bin/env bash
# polykafka's Python binding in its own venv (build/bench/venv-polykafka-python), built from
# bindings-python the way bindings-python/test.sh does (pip install of the folder: maturin, release).
# Run once per harness run; cargo reuses target/ so a rebuild is quick when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="$root/build/bench/venv-polykafka-python"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
export PATH="$venv/bin:$PATH"  # maturin (no build isolation: the build backend runs from this venv)
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.5,<2.0"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps "$root/bindings-python"
"$venv/bin/python" -c "import polykafka"
