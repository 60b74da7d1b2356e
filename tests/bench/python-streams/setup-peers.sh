#!/usr/bin/env bash
# The Python stream processors that install from PyPI, in their own venv (build/bench/venv-python-streams).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
venv="$root/build/bench/venv-python-streams"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "quixstreams==3.28.1" "faust-streaming==0.15.3"
"$venv/bin/python" -c "import quixstreams, faust"
