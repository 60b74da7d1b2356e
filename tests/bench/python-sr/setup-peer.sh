#!/usr/bin/env bash
# confluent-kafka with its schema registry extras (fastavro, httpx, ...) in build/bench/venv-python-sr-peer.
set -euo pipefail
venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/bench/venv-python-sr-peer"
[[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "confluent-kafka[avro,schemaregistry]>=2.13"
