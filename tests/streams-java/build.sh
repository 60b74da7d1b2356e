#!/usr/bin/env bash
# Fetches Kafka Streams' jars (tests/streams-java/pom.xml) and compiles the topologies
# (*.java) into build/streams-java/classes. Prints the classpath to run them with.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../build/streams-java"
mkdir -p "$out"
if [[ ! -f "$out/lib/.complete" ]]; then
  mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -Dstreams.lib="$out/lib" >"$out/mvn.log" 2>&1 \
    || { tail -30 "$out/mvn.log" >&2; exit 1; }
  touch "$out/lib/.complete"
fi
stale=0
for f in "$here"/*.java; do
  class="$out/classes/$(basename "${f%.java}").class"
  [[ -f "$class" && ! "$f" -nt "$class" ]] || stale=1
done
if (( stale )); then
  mkdir -p "$out/classes"
  javac -d "$out/classes" -cp "$out/lib/*" "$here"/*.java >&2
fi
echo "$out/classes:$out/lib/*"
