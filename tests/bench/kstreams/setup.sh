#!/usr/bin/env bash
# Kafka Streams' jars (tests/streams-java, from Maven Central) and StreamsBench.java compiled into
# build/bench/kstreams; writes the classpath to build/bench/kstreams/classpath.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../../build/bench/kstreams"
mkdir -p "$out/classes"
cp="$("$here/../../streams-java/build.sh")"
javac -d "$out/classes" -cp "$cp" "$here/StreamsBench.java"
echo "$out/classes:$cp" > "$out/classpath"
