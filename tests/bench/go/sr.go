package main

// S2/S2C (tests/bench/README.md): the seed's UserEvent through a schema registry with Avro, in
// confluent-kafka-go's schemaregistry API. sr_polykafka.go (ours: the serdes and the Writer/Reader
// of bindings-c/go) and sr_kafkago.go (confluent-kafka-go's serdes, pure Go, with kafka-go's
// Writer/Reader) are the same code with other imports. The schema is registered before the window
// and both serializers use its latest version, so both write the same bytes.

import "fmt"

const userEventSchema = `{"type":"record","name":"UserEvent","namespace":"com.example.events","fields":[
{"name":"userId","type":"string"},{"name":"eventType","type":"string"},{"name":"timestamp","type":"long"},
{"name":"metadata","type":["null","string"],"default":null}]}`

const userEventBaseTS = 1764921600000

type userEvent struct {
	UserID    string  `avro:"userId" json:"userId"`
	EventType string  `avro:"eventType" json:"eventType"`
	Timestamp int64   `avro:"timestamp" json:"timestamp"`
	Metadata  *string `avro:"metadata" json:"metadata"`
}

var userEventKinds = [...]string{"USER_CREATED", "USER_UPDATED", "USER_DELETED"}

// userEventAt is record i of every S2/S2C adapter (python-sr, node-sr): the harness checks the
// sum of the decoded timestamps.
func userEventAt(i int) userEvent {
	ev := userEvent{UserID: fmt.Sprintf("user-%d", i%10000), EventType: userEventKinds[i%3], Timestamp: userEventBaseTS + int64(i)}
	if i%2 == 0 {
		m := fmt.Sprintf("m%d", i)
		ev.Metadata = &m
	}
	return ev
}

// srChunk: records per WriteMessages call (as P1 with ~37-byte values: capped at 1,000).
const srChunk = 1000
