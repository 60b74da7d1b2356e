#!/usr/bin/env bash
# bindings-python/test.sh - build and install polykafka into build/venv-python, then run its
# pytest suite against the test cluster (arguments: passed to one pytest run instead). Exits
# non-zero when a test fails.
#
# The cluster: $KAFKA_BOOTSTRAP if set, else the one described by build/cluster/cluster.env
# (started with tests/cluster/kafka up when it is not running).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$root/build/venv-python"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "pytest>=7" "pytest-xdist>=3" "pytest-timeout>=2" "confluent-kafka[avro,json,protobuf,schemaregistry]>=2.13"
# OpenTelemetry (tests/test_otel.py): the API (polykafka's `opentelemetry` extra), the SDK's
# in-memory exporter and reader, and confluent-kafka's instrumentation to test against.
"$venv/bin/pip" install -q "opentelemetry-api>=1.27" "opentelemetry-sdk>=1.27" opentelemetry-instrumentation-confluent-kafka
# The release wheel every venv of the project installs (compiled once: wheel.sh).
"$venv/bin/pip" install -q --force-reinstall --no-deps "$("$here/wheel.sh")"

if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  if ! "$root/tests/cluster/kafka" status >/dev/null 2>&1; then
    "$root/tests/cluster/kafka" up
  fi
  KAFKA_BOOTSTRAP="$(sed -n 's/^KAFKA_BOOTSTRAP=//p' "$root/build/cluster/cluster.env")"
  export KAFKA_BOOTSTRAP
fi

cd "$here"
set +e
if (( $# )); then
  "$venv/bin/python" -m pytest -q "$@"
  exit $?
fi
# The tests mostly wait on the broker (rebalances, timeouts): run them in PYTEST_WORKERS parallel
# processes (pytest-xdist; every test makes its own topics and groups). The conformance test
# against Kafka Streams (a JVM application beside ours) runs alone afterwards. A test that hangs
# fails after 10 minutes instead of stopping the run.
"$venv/bin/python" -m pytest tests -q -n "${PYTEST_WORKERS:-4}" --timeout 600 --ignore tests/test_streams_conformance.py
status=$?
"$venv/bin/python" -m pytest tests/test_streams_conformance.py -q || status=1
exit $status
