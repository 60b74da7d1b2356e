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
