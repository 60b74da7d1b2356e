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
