#!/usr/bin/env bash
# Builds the Go adapter (build/bench/go/): polykafka's Go package needs its static library
# (cargo build --release -p polykafka-c); kafka-go and franz-go come from the Go module proxy.
#   setup.sh           bench-go            (polykafka-go, kafka-go, franz-go)
#   setup.sh confluent bench-go-confluent  (the same plus confluent-kafka-go: cgo + the librdkafka
#                                           static build bundled in the module, linux amd64/arm64 glibc)
#   setup.sh streams   bench-go-streams    (polykafka-go-streams: ./streams, the K1/K2 streams cases)
#   setup.sh goka      bench-goka          (the goka peer for K1/K2: ./goka, its own module, so goka's
#                                           dependencies (IBM/sarama, ...) stay out of this module's graph;
#                                           pure Go, no cargo build)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="$root/build/bench/go"
mkdir -p "$out"
command -v go >/dev/null || { echo "go is not installed" >&2; exit 1; }
if [[ "${1:-}" == goka ]]; then
  cd "$here/goka"
  CGO_ENABLED=0 go build -o "$out/bench-goka.tmp" . || { echo "goka did not build here (see above)" >&2; exit 1; }
  mv "$out/bench-goka.tmp" "$out/bench-goka"
  exit 0
fi
(cd "$root" && cargo build --release --locked -q -p polykafka-c)
cd "$here"
if [[ "${1:-}" == streams ]]; then
  CGO_ENABLED=1 go build -o "$out/bench-go-streams.tmp" ./streams
  mv "$out/bench-go-streams.tmp" "$out/bench-go-streams"
elif [[ "${1:-}" == confluent ]]; then
  CGO_ENABLED=1 go build -tags confluent -o "$out/bench-go-confluent.tmp" . \
    || { echo "confluent-kafka-go did not build/link here (see above)" >&2; exit 1; }
  mv "$out/bench-go-confluent.tmp" "$out/bench-go-confluent"
else
  CGO_ENABLED=1 go build -o "$out/bench-go.tmp" .
  mv "$out/bench-go.tmp" "$out/bench-go"
fi
