package main

// S2/S2C with polykafka-go: the schemaregistry serdes and Writer/Reader of bindings-c/go.
// sr_kafkago.go is this file with the imports changed; the loops are in sr.go.

import (
	"context"
	"time"

	pk "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde/avrov2"
)

func init() {
	libs["polykafka-sr"] = srWorkloads(pkSR)
}

func pkSR(a *args) srLib {
	client, err := schemaregistry.NewClient(schemaregistry.NewConfig(a.registry))
	if err != nil {
		fail("registry client: %v", err)
	}
	if _, err := client.Register(a.topic+"-value", schemaregistry.SchemaInfo{Schema: userEventSchema}, false); err != nil {
		fail("register: %v", err)
	}
	conf := avrov2.NewSerializerConfig()
	conf.AutoRegisterSchemas, conf.UseLatestVersion = false, true
	ser, err := avrov2.NewSerializer(client, serde.ValueSerde, conf)
	if err != nil {
		fail("serializer: %v", err)
	}
	de, err := avrov2.NewDeserializer(client, serde.ValueSerde, avrov2.NewDeserializerConfig())
	if err != nil {
		fail("deserializer: %v", err)
	}
	return srLib{
		serialize:   func(ev *userEvent) ([]byte, error) { return ser.Serialize(a.topic, ev) },
		deserialize: func(v []byte, ev *userEvent) error { return de.DeserializeInto(a.topic, v, ev) },
		newWriter: func(done srDone) (func([][]byte) error, func() error) {
			w := &pk.Writer{Addr: pk.TCP(a.bootstrap), Topic: a.topic, Balancer: &pk.RoundRobin{}, BatchSize: srChunk,
				BatchBytes: 1 << 20, BatchTimeout: 5 * time.Millisecond, RequiredAcks: pk.RequireOne, Async: true}
			w.Completion = func(msgs []pk.Message, err error) {
				done(len(msgs), func(i int) []byte { return msgs[i].Value }, err)
			}
			write := func(values [][]byte) error {
				batch := make([]pk.Message, len(values)) // the writer may keep them (async)
				for i, v := range values {
					batch[i] = pk.Message{Value: v}
				}
				return w.WriteMessages(context.Background(), batch...)
			}
			return write, w.Close
		},
		newReader: func() (func(context.Context) ([]byte, error), func() error) {
			r := pk.NewReader(pk.ReaderConfig{Brokers: []string{a.bootstrap}, Topic: a.topic, Partition: 0,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, StartOffset: pk.FirstOffset})
			read := func(ctx context.Context) ([]byte, error) {
				m, err := r.ReadMessage(ctx)
				return m.Value, err
			}
			return read, r.Close
		},
	}
}
