#!/usr/bin/env bash
# Builds tests/test_polykafka.c against the static library in target/release and runs it,
# under valgrind memcheck unless NO_VALGRIND=1. Run from anywhere after
# `cargo build --release -p polykafka-c`. Needs a broker at KAFKA_BOOTSTRAP (default
# 127.0.0.1:9092; build/cluster/cluster.env is read when present).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/build/bindings-c"
mkdir -p "$out"
if [[ -z "${KAFKA_BOOTSTRAP:-}" && -f "$root/build/cluster/cluster.env" ]]; then
    # shellcheck disable=SC1091
    . "$root/build/cluster/cluster.env"
fi
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
# The test compares pk_version() with the workspace's version (Cargo.toml, as packaging/lib.sh reads it).
version="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$root/Cargo.toml")"
# Every function of the header that returns a pk_error* and takes a pointer has a row in the NULL
# table of test_null_args (a new function without one fails here).
missing="$(tr '\n' ' ' <"$root/bindings-c/include/polykafka.h" | sed 's#/\*\*[^*]*\*\+\([^/*][^*]*\*\+\)*/##g' \
    | grep -o 'struct pk_error \*pk_[a-z_0-9]*([^;]*)' | grep -v '(void)' | grep '(.*\*' \
    | sed 's/^struct pk_error \*\(pk_[a-z_0-9]*\)(.*/\1/' | sort -u \
    | comm -23 - <(grep -oE '(NULL_ROW|NULL_ALLOWED)\(pk_[a-z_0-9]*' "$here/test_polykafka.c" | sed 's/.*(//' | sort -u))"
if [[ -n "$missing" ]]; then
    echo "run-c.sh: no NULL_ROW in test_polykafka.c for: $missing" >&2
    exit 1
fi
# The static library needs these system libraries (what `rustc --print native-static-libs` lists).
gcc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -g -O1 -I "$root/bindings-c/include" \
    -DPK_EXPECTED_VERSION="\"$version\"" \
    "$here/test_polykafka.c" "$root/target/release/libpolykafka.a" \
    -lpthread -ldl -lm -lrt -lgcc_s -lc -o "$out/test_polykafka"
if [[ "${NO_VALGRIND:-0}" == 1 ]]; then
    exec "$out/test_polykafka"
fi
exec valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=1 \
    --suppressions="$here/valgrind.supp" "$out/test_polykafka"
