#!/usr/bin/env bash
# The tests of bindings-c, from the repository root or anywhere: builds the library, checks the
# header is current, runs the C tests under valgrind, then go vet, go test -race and go test with
# cgocheck2 in each Go module: the kafka module (go/), its tests that compare with kafka-go and
# confluent-kafka-go (go/compattest, a module of its own so that they stay out of the kafka
# module's go.mod) and its OpenTelemetry module (go/otelkafka). The Go package links
# go/lib/linux_<arch>/libpolykafka.a, a symbolic link to target/release/libpolykafka.a here.
# Needs a broker: KAFKA_BOOTSTRAP, or the cluster of tests/cluster/kafka (build/cluster/cluster.env).
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
go_modules=(bindings-c/go bindings-c/go/compattest bindings-c/go/otelkafka)
in_each_module() {
    local m
    for m in "${go_modules[@]}"; do
        echo "-- $m"
        (cd "$root/$m" && "$@")
    done
}
echo "== go vet"
in_each_module go vet ./...
echo "== go test -race"
in_each_module go test -race -count=1 ./...
echo "== go test with GOEXPERIMENT=cgocheck2 (every pointer passed to C checked)"
GOEXPERIMENT=cgocheck2 in_each_module go test -count=1 ./...
