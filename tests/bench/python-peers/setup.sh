#!/usr/bin/env bash
# The Python peers (confluent-kafka, kafka-python with its codecs) in a venv under build/bench/.
set -euo pipefail
venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/bench/venv-python-peers"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check confluent-kafka kafka-python python-snappy zstandard
