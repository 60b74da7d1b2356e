#!/usr/bin/env bash
# Fails if the committed include/polykafka.h is not what cbindgen generates from src/.
# The build regenerates the header (build.rs); a difference from the committed file means it
# was stale. Run from anywhere.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --release -p polykafka-c --quiet
if ! git diff --quiet -- bindings-c/include/polykafka.h || \
   [[ -n "$(git ls-files --others --exclude-standard -- bindings-c/include/polykafka.h)" ]]; then
    echo "bindings-c/include/polykafka.h is out of date: the build regenerated it; commit the new version:" >&2
    git --no-pager diff --stat -- bindings-c/include/polykafka.h >&2
    exit 1
fi
echo "bindings-c/include/polykafka.h is current"
