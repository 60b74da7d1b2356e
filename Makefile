# The two commands a newcomer needs: `make demo` and `make test`.
.PHONY: demo test build clean

build:
	cargo build --workspace --all-targets --locked

demo: build
	tests/demo

test: build
	tests/run

clean:
	-tests/cluster/kafka down
	cargo clean
	rm -rf build dist

# Every package for every target into dist/ (packaging/dist; `make test` builds and checks the host's only).
.PHONY: dist
dist:
	packaging/dist

# A chaos run with a verifier on its own 3-node cluster (tests/system/src/bin/chaos.rs); `make test` runs 2 minutes.
.PHONY: chaos
SEED ?= 1
MINUTES ?= 30
chaos:
	cargo build --locked -p polykafka-system-tests --bin chaos
	target/debug/chaos --seed $(SEED) --minutes $(MINUTES)

# Soak and memory (tests/soak/run): 10 million records per binding (RSS slope, fds, threads) and a producer through
# 40 broker outages; `make test` runs 500,000 and 4. Uses what make test's suites built (Python venv, Node module,
# release C library).
.PHONY: soak
SOAK_RECORDS ?= 10000000
SOAK_CYCLES ?= 40
soak:
	cargo build --locked -p polykafka-system-tests --bin soak
	tests/cluster/kafka status >/dev/null 2>&1 || tests/cluster/kafka up
	tests/soak/run --records $(SOAK_RECORDS) --comeback-cycles $(SOAK_CYCLES) --report build/soak-report.json

# libFuzzer runs of the fuzz targets (fuzz/run: cargo-fuzz on stable with RUSTC_BOOTSTRAP=1), FUZZ_SECONDS each.
.PHONY: fuzz
FUZZ_SECONDS ?= 60
fuzz:
	fuzz/run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Benchmarks against every peer that installs here (tests/bench/README.md); no timed assertion.
.PHONY: bench bench-quick
bench:
	python3 tests/bench/run.py

bench-quick:
	python3 tests/bench/run.py --quick

# The streams conformance run against Kafka Streams itself at the issue's size (make test runs
# it with 10,000 events).
.PHONY: streams-conformance
streams-conformance:
	STREAMS_CONFORMANCE_EVENTS=100000 bindings-python/test.sh tests/test_streams_conformance.py
