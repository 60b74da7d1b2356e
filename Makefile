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
	rm -rf build

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
