module github.com/polykafka/polykafka/tests/soak/go

go 1.26.8

require github.com/polykafka/polykafka/bindings-c/go v0.0.0

replace github.com/polykafka/polykafka/bindings-c/go => ../../../bindings-c/go
