module github.com/polykafka/polykafka/tests/bench/go/kcase

go 1.26.8
