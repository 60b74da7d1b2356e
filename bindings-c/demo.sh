#!/usr/bin/env bash
# Demo: a C program and a Go program (kafka-go's Writer API) each produce a few records and
# print their offsets. Bootstrap from KAFKA_BOOTSTRAP (or build/cluster/cluster.env).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [[ -z "${KAFKA_BOOTSTRAP:-}" && -f build/cluster/cluster.env ]]; then
    # shellcheck disable=SC1091
    . build/cluster/cluster.env
fi
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
cargo build --release -p polykafka-c --quiet
mkdir -p build/bindings-c
echo "== C: bindings-c/examples/produce.c"
gcc -I bindings-c/include bindings-c/examples/produce.c target/release/libpolykafka.a \
    -lpthread -ldl -lm -lrt -lgcc_s -o build/bindings-c/produce
build/bindings-c/produce polykafka-demo-c
echo "== Go: bindings-c/go/examples/demo (kafka-go's Writer, then Reader)"
(cd bindings-c/go && go run ./examples/demo polykafka-demo-go)
