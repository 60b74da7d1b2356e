#!/usr/bin/env bash
# Fetches Kafka Streams' jars (tests/streams-java/pom.xml) and compiles SeedTopology.java into
# build/streams-java/classes. Prints the classpath to run it with.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../build/streams-java"
mkdir -p "$out"
if [[ ! -f "$out/lib/.complete" ]]; then
  mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies -Dstreams.lib="$out/lib" >"$out/mvn.log" 2>&1 \
    || { tail -30 "$out/mvn.log" >&2; exit 1; }
  touch "$out/lib/.complete"
fi
if [[ ! -f "$out/classes/SeedTopology.class" || "$here/SeedTopology.java" -nt "$out/classes/SeedTopology.class" ]]; then
  mkdir -p "$out/classes"
  javac -d "$out/classes" -cp "$out/lib/*" "$here/SeedTopology.java" >&2
fi
echo "$out/classes:$out/lib/*"
