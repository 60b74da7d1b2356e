#!/usr/bin/env bash
# packaging/check-node.sh - issue #20's "Done when" for Node: an empty npm project in a temp dir outside
# the repository, with no cargo/rustc on PATH, installs dist/node's polykafka and polykafka-linux-x64-gnu
# tarballs, runs a copy of bindings-node/demo.js on `require('polykafka')` against KAFKA_BOOTSTRAP and
# checks its output, checks `require('polykafka').version()` (and the ESM entry's) equals PK_VERSION
# and that the native module came from the platform package, then type-checks a CommonJS and an ESM
# TypeScript file importing `polykafka` and `polykafka/schema-registry` (and one that must not compile).
# Prints what it checked; exits non-zero on the first failure.
#
# The install is offline (npm --offline, an empty cache of its own): the main package's optional
# dependencies on the two other platform packages cannot be fetched, and npm skips an optional
# dependency that fails to resolve, so the result does not depend on what the registry holds.
# --omit=optional is not used: it would drop the platform package when it comes through polykafka.
set -euo pipefail
# shellcheck source=packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start=$SECONDS
die() { echo "check-node.sh: FAILED: $*" >&2; exit 1; }
ok() { echo "check-node.sh: ok: $*"; }

main_tgz="$PK_DIST/node/polykafka-$PK_VERSION.tgz"
gnu_tgz="$PK_DIST/node/polykafka-linux-x64-gnu-$PK_VERSION.tgz"
for f in "$main_tgz" "$gnu_tgz"; do [[ -f "$f" ]] || die "missing $f (run packaging/node.sh [--host])"; done

if [[ -z "${KAFKA_BOOTSTRAP:-}" && -f "$PK_ROOT/build/cluster/cluster.env" ]]; then
  KAFKA_BOOTSTRAP="$(sed -n 's/^KAFKA_BOOTSTRAP=//p' "$PK_ROOT/build/cluster/cluster.env")"
fi
[[ -n "${KAFKA_BOOTSTRAP:-}" ]] || die "KAFKA_BOOTSTRAP is not set (and no build/cluster/cluster.env)"
export KAFKA_BOOTSTRAP
unset POLYKAFKA_NODE_LIBRARY

# TypeScript and @types/node: the repository's (bindings-node's devDependencies, installed by make test)
# when there, else from the npm registry into a directory of the temp project.
dev_modules="$PK_ROOT/bindings-node/node_modules"

PATH="$(pk_path_without_rust)"
export PATH
if command -v cargo >/dev/null || command -v rustc >/dev/null; then die "cargo or rustc still on PATH"; fi
ok "no cargo or rustc on PATH"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/polykafka-check-node.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$PK_ROOT"/*) die "temp dir $tmp is inside the repository" ;; esac
proj="$tmp/app"
mkdir -p "$proj"
cd "$proj"
npm init -y >/dev/null

t0=$SECONDS
npm install --offline --cache "$tmp/npm-cache" --no-audit --no-fund --loglevel=error "$main_tgz" "$gnu_tgz" ||
  die "npm install of the two tarballs"
ok "npm install (offline) of $(basename "$main_tgz") and $(basename "$gnu_tgz") in $((SECONDS - t0)) s"
[[ ! -e node_modules/polykafka/polykafka.node ]] || die "the main package holds a polykafka.node"
for pkg in polykafka polykafka-linux-x64-gnu; do
  v="$(node -p "require('$pkg/package.json').version")"
  [[ "$v" == "$PK_VERSION" ]] || die "$pkg installed at version $v, not $PK_VERSION"
done
ok "installed polykafka and polykafka-linux-x64-gnu at $PK_VERSION"

# The native module is the platform package's: the loader resolves it from polykafka's directory.
native="$(node -e "
  const main = require.resolve('polykafka')
  console.log(require.resolve('polykafka-linux-x64-gnu', { paths: [main] }))
  require('polykafka')
  const loaded = Object.keys(require.cache).filter(f => f.endsWith('.node'))
  if (loaded.length !== 1) { console.error('native modules loaded: ' + loaded.join(', ')); process.exit(1) }
  console.log(loaded[0])")" || die "loading polykafka"
mapfile -t native_lines <<<"$native"
[[ "${native_lines[1]}" == "$proj/node_modules/polykafka-linux-x64-gnu/polykafka.linux-x64-gnu.node" ]] ||
  die "polykafka loaded ${native_lines[1]}, not the linux-x64-gnu package's module"
ok "require('polykafka') loads ${native_lines[1]#"$proj/"}"

v_cjs="$(node -p "require('polykafka').version()")" || die "require('polykafka').version() failed"
v_esm="$(node --input-type=module -e "import { version } from 'polykafka'; console.log(version())")" ||
  die "import { version } from 'polykafka' failed"
[[ "$v_cjs" == "$PK_VERSION" ]] || die "require('polykafka').version() = '$v_cjs', not $PK_VERSION"
[[ "$v_esm" == "$PK_VERSION" ]] || die "the ESM entry's version() = '$v_esm', not $PK_VERSION"
echo "require('polykafka').version() = $v_cjs"
ok "version() = $PK_VERSION from the CommonJS and the ESM entry"

# The demo, unchanged but for where polykafka comes from.
sed "s/require('\.')/require('polykafka')/" "$PK_ROOT/bindings-node/demo.js" >demo.js
grep -q "require('polykafka')" demo.js || die "demo.js no longer requires '.'; update this check"
t0=$SECONDS
demo_out="$(node demo.js 2>&1)" || { echo "$demo_out" >&2; die "demo.js exited non-zero"; }
echo "$demo_out" | sed 's/^/  demo: /'
grep -Eq '^send +-> demo-user-events-[0-9a-z]+\[[0-9]+\] baseOffset [0-9]+$' <<<"$demo_out" ||
  die "demo.js printed no send result"
grep -Eq '^sendBatch -> demo-orders-[0-9a-z]+\[[0-9]+\] baseOffset [0-9]+ \(gzip\)$' <<<"$demo_out" ||
  die "demo.js printed no sendBatch result"
[[ "$(tail -n1 <<<"$demo_out")" == disconnected ]] || die "demo.js did not end with 'disconnected'"
ok "demo.js against $KAFKA_BOOTSTRAP in $((SECONDS - t0)) s"

# ---- TypeScript ----------------------------------------------------------------------------------
if [[ -f "$dev_modules/typescript/bin/tsc" && -d "$dev_modules/@types/node" ]]; then
  tools="$dev_modules"
else
  tools="$tmp/ts/node_modules"
  mkdir -p "$tmp/ts"
  (cd "$tmp/ts" && npm init -y >/dev/null &&
    npm install --no-audit --no-fund --loglevel=error typescript@5 @types/node@20) ||
    die "installing typescript and @types/node from the npm registry"
fi
tsc=(node "$tools/typescript/bin/tsc")
cat >check.ts <<'EOF'
import { Kafka, CompressionTypes, logLevel, version } from 'polykafka'
import { SchemaRegistry, SchemaType } from 'polykafka/schema-registry'

const kafka = new Kafka({ clientId: 'check', brokers: ['127.0.0.1:9092'], logLevel: logLevel.WARN })
export async function send(topic: string): Promise<number> {
  const producer = kafka.producer()
  const meta = await producer.send({ topic, messages: [{ key: 'k', value: 'v' }], compression: CompressionTypes.GZIP })
  return meta.length
}
export const v: string = version()
export const registry = new SchemaRegistry({ host: 'http://127.0.0.1:8081' })
export const avro: SchemaType = SchemaType.AVRO
EOF
cat >check.mts <<'EOF'
import { Kafka, version } from 'polykafka'
import { SchemaRegistry } from 'polykafka/schema-registry'

export const consumer = new Kafka({ brokers: ['127.0.0.1:9092'] }).consumer({ groupId: 'g' })
export const v: string = version()
export const registry: SchemaRegistry = new SchemaRegistry({ host: 'http://127.0.0.1:8081' })
EOF
cat >wrong.ts <<'EOF'
import { version } from 'polykafka'
export const n: number = version()
EOF
write_tsconfig() { # files...
  node -e '
    const [typeRoots, ...files] = process.argv.slice(1)
    const compilerOptions = { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", strict: true,
      noEmit: true, skipLibCheck: false, types: ["node"], typeRoots: [typeRoots] }
    require("fs").writeFileSync("tsconfig.json", JSON.stringify({ compilerOptions, files }, null, 2))' \
    "$tools/@types" "$@"
}
write_tsconfig check.ts check.mts
"${tsc[@]}" -p tsconfig.json || die "tsc on check.ts and check.mts"
ok "tsc $("${tsc[@]}" --version | cut -d' ' -f2): check.ts (CommonJS) and check.mts (ESM) import polykafka and polykafka/schema-registry"
write_tsconfig wrong.ts
if wrong_out="$("${tsc[@]}" -p tsconfig.json 2>&1)"; then die "tsc accepted version(): number (the types are not seen)"; fi
grep -q "TS2322" <<<"$wrong_out" || die "tsc failed on wrong.ts for another reason: $wrong_out"
ok "tsc rejects a number from version() (TS2322): the declarations are the ones checked"

echo "check-node.sh: all checks passed in $((SECONDS - start)) s"
