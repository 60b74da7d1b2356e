#!/usr/bin/env bash
# Builds the rust-rdkafka adapter (librdkafka from source with cmake: a few minutes the first time).
# librdkafka 2.12.1's CMake build includes <curl/curl.h> even without curl (its config.h defines
# WITH_OAUTHBEARER_OIDC to 0 but rdkafka_conf.c tests it with #ifdef), so the curl headers must be
# there: installed with apt-get when missing and we are root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v cmake >/dev/null; then echo "cmake is not installed" >&2; exit 1; fi
if [[ ! -e /usr/include/curl/curl.h && ! -e /usr/include/x86_64-linux-gnu/curl/curl.h && ! -e /usr/include/aarch64-linux-gnu/curl/curl.h ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y -qq libcurl4-openssl-dev >&2 || { apt-get update -qq && apt-get install -y -qq libcurl4-openssl-dev >&2; }
  else
    echo "librdkafka's cmake build needs curl headers (libcurl4-openssl-dev)" >&2; exit 1
  fi
fi
CARGO_TARGET_DIR="$(cd ../../.. && pwd)/build/bench/target" cargo build --release -q
