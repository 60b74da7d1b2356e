#!/usr/bin/env bash
# polykafka's Python binding in its own venv (build/bench/venv-polykafka-python): the wheel of
# bindings-python/wheel.sh (release), the one the tests install, so it is compiled once.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="$root/build/bench/venv-polykafka-python"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
wheel="$("$root/bindings-python/wheel.sh")"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
"$venv/bin/python" -c "import polykafka"
