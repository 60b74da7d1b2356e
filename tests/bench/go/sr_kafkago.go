package main

// S2/S2C with confluent-kafka-go's schemaregistry serdes (pure Go) and kafka-go's Writer/Reader:
// sr_polykafka.go with the imports changed; the loops are in sr.go.

import (
	"context"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde"
	"github.com/confluentinc/confluent-kafka-go/v2/schemaregistry/serde/avrov2"
	kg "github.com/segmentio/kafka-go"
)

func init() {
	libs["kafka-go-sr"] = srWorkloads(kgSR)
}

func kgSR(a *args) srLib {
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
			w := &kg.Writer{Addr: kg.TCP(a.bootstrap), Topic: a.topic, Balancer: &kg.RoundRobin{}, BatchSize: srChunk,
				BatchBytes: 1 << 20, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kg.RequireOne, Async: true}
			w.Completion = func(msgs []kg.Message, err error) {
				done(len(msgs), func(i int) []byte { return msgs[i].Value }, err)
			}
			write := func(values [][]byte) error {
				batch := make([]kg.Message, len(values)) // the writer may keep them (async)
				for i, v := range values {
					batch[i] = kg.Message{Value: v}
				}
				return w.WriteMessages(context.Background(), batch...)
			}
			return write, w.Close
		},
		newReader: func() (func(context.Context) ([]byte, error), func() error) {
			r := kg.NewReader(kg.ReaderConfig{Brokers: []string{a.bootstrap}, Topic: a.topic, Partition: 0,
				MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, StartOffset: kg.FirstOffset})
			read := func(ctx context.Context) ([]byte, error) {
				m, err := r.ReadMessage(ctx)
				return m.Value, err
			}
			return read, r.Close
		},
	}
}
