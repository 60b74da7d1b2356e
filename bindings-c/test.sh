#!/usr/bin/env bash
# The tests of bindings-c, from the repository root or anywhere: builds the library, checks the
# header is current, runs the C tests under valgrind, then go vet and go test -race (the kafka
# module and its OpenTelemetry module, go/otelkafka, which has a go.mod of its own). Needs a
# broker: KAFKA_BOOTSTRAP, or the cluster of tests/cluster/kafka (build/cluster/cluster.env).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ -z "${KAFKA_BOOTSTRAP:-}" && -f build/cluster/cluster.env ]]; then
    # shellcheck disable=SC1091
    . build/cluster/cluster.env
fi
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
if [[ -z "${SCHEMA_REGISTRY_URL:-}" && -f build/cluster/registry.env ]]; then
    # shellcheck disable=SC1091
    . build/cluster/registry.env
fi
export SCHEMA_REGISTRY_URL="${SCHEMA_REGISTRY_URL:-}"

echo "== cargo build --release -p polykafka-c"
cargo build --release -p polykafka-c
echo "== header"
bindings-c/check-header.sh
echo "== C tests under valgrind"
bindings-c/tests/run-c.sh
echo "== go vet"
(cd bindings-c/go && go vet ./... && cd otelkafka && go vet ./...)
echo "== go test -race"
(cd bindings-c/go && go test -race -count=1 ./... && cd otelkafka && go test -race -count=1 ./...)
echo "== go test with GOEXPERIMENT=cgocheck2 (every pointer passed to C checked)"
(cd bindings-c/go && GOEXPERIMENT=cgocheck2 go test -count=1 ./... && cd otelkafka && GOEXPERIMENT=cgocheck2 go test -count=1 ./...)
