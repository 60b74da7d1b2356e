#!/usr/bin/env bash
# The Node binding's tests, from a fresh clone:
#   1. `npm install` (builds the native module from source with cargo; kafkajs and typescript
#      come as devDependencies),
#   2. the `node --test` suite against a real broker (started with tests/cluster/kafka up when
#      none is running; left running for others),
#   3. the TypeScript check (a kafkajs program compiled against our declarations and kafkajs's).
# Exits non-zero if any of them fails.
#
# POLYKAFKA_NODE_PROFILE=debug|release picks the cargo profile (default here: debug, which reuses
# `cargo build --workspace`; a plain `npm install` builds release).
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"

export POLYKAFKA_NODE_PROFILE="${POLYKAFKA_NODE_PROFILE:-debug}"

reachable() { # host:port
  local hp="$1"
  timeout 3 bash -c "exec 3<>/dev/tcp/${hp%:*}/${hp##*:}" 2>/dev/null
}

if [[ -z "${KAFKA_BOOTSTRAP:-}" ]]; then
  env_file="${KAFKA_CLUSTER_ENV:-$root/build/cluster/cluster.env}"
  boot=""
  [[ -f "$env_file" ]] && boot="$(sed -n 's/^KAFKA_BOOTSTRAP=//p' "$env_file" | cut -d, -f1)"
  if [[ -z "$boot" ]] || ! reachable "$boot"; then
    echo "test.sh: no broker running; starting one with tests/cluster/kafka up" >&2
    "$root/tests/cluster/kafka" up || { echo "test.sh: could not start the cluster" >&2; exit 1; }
  fi
  export KAFKA_CLUSTER_ENV="$env_file"
fi

# The schema registry tests (test/schemaRegistry.test.js) need a registry: SCHEMA_REGISTRY_URL
# (tests/run sets it), else the one of build/cluster/registry.env, else one started here.
if [[ -z "${SCHEMA_REGISTRY_URL:-}" ]]; then
  reg_env="$root/build/cluster/registry.env"
  url=""
  [[ -f "$reg_env" ]] && url="$(sed -n 's/^SCHEMA_REGISTRY_URL=//p' "$reg_env")"
  hp="${url#*://}"; hp="${hp%%/*}"
  if [[ -z "$url" ]] || ! reachable "$hp"; then
    echo "test.sh: no schema registry running; starting one with tests/cluster/registry up" >&2
    "$root/tests/cluster/registry" up || { echo "test.sh: could not start the registry" >&2; exit 1; }
    url="$(sed -n 's/^SCHEMA_REGISTRY_URL=//p' "$reg_env")"
  fi
  export SCHEMA_REGISTRY_URL="$url"
fi

echo "== npm install (native build: $POLYKAFKA_NODE_PROFILE)"
npm install --no-audit --no-fund || { echo "test.sh: npm install failed" >&2; exit 1; }

echo "== node --test"
node --test --test-concurrency=1 test/*.test.js
tests=$?

echo "== tsc"
npx tsc -p test/types/tsconfig.json && npx tsc -p test/types/tsconfig.kafkajs.json
types=$?
if [[ $types -eq 0 ]]; then echo "tsc: 2 passed, 0 failed"; else echo "tsc: failed"; fi

[[ $tests -eq 0 && $types -eq 0 ]]
