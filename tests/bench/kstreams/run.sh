#!/usr/bin/env bash
# Runs StreamsBench with the classpath setup.sh wrote, and a state directory of its own.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../../build/bench/kstreams"
exec java -Xmx1g -cp "$(cat "$out/classpath")" StreamsBench --state-dir "$out/state" "$@"
