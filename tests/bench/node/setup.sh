#!/usr/bin/env bash
# Node clients of the harness (tests/bench/node/):
#   setup.sh peers      npm install of kafkajs and @platformatic/kafka into this folder (package-lock.json)
#   setup.sh polykafka  builds bindings-node from the repository (scripts/build.js: cargo, release)
#   setup.sh confluent  npm install of @confluentinc/kafka-javascript into ./confluent: it downloads a
#                       prebuilt binary from github.com, else builds librdkafka from source, whose
#                       configure downloads zlib/OpenSSL/zstd/curl sources (zlib.net, github.com, curl.se)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
command -v node >/dev/null || { echo "node is not installed" >&2; exit 1; }
case "${1:-}" in
  peers)
    cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2
    node -e "require('kafkajs'); require('@platformatic/kafka'); require('@kafkajs/confluent-schema-registry')" ;;
  polykafka)
    node "$root/bindings-node/scripts/build.js" >&2
    node -e "require('$root/bindings-node')" ;;
  confluent)
    cd "$here/confluent"
    [[ -e node_modules/@confluentinc/kafka-javascript/build/Release/confluent-kafka-javascript.node ]] && exit 0
    if ! timeout 900 npm install --no-audit --no-fund --loglevel=error > npm-install.log 2>&1; then
      tail -5 npm-install.log >&2
      if grep -q "ENOTFOUND github.com\|Could not resolve host" npm-install.log; then
        echo "@confluentinc/kafka-javascript does not install here: its prebuilt binary (github.com releases) and the sources of librdkafka's dependencies (zlib.net, github.com, curl.se) cannot be downloaded from this machine" >&2
      else
        echo "@confluentinc/kafka-javascript: npm install failed (see tests/bench/node/confluent/npm-install.log)" >&2
      fi
      exit 1
    fi ;;
  *) echo "usage: setup.sh peers|polykafka|confluent" >&2; exit 2 ;;
esac
