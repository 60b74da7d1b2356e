package main

// S2/S2C with polykafka-go: the schemaregistry serdes and Writer/Reader of bindings-c/go.
// sr_kafkago.go is this file with the imports changed.

import (
	"context"
	"sync"
	"time"

	pk "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde"
	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry/serde/avrov2"
)

func init() {
	libs["polykafka-sr"] = map[string]workloadFunc{"S2": pkSRProduce, "S2C": pkSRConsume}
}

func pkSRSerializer(a *args) *avrov2.Serializer {
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
	return ser
}

// Serialize per record, WriteMessages of srChunk records on an async Writer (as P1); the
// outcomes are counted in Completion, Close waits for all.
func pkSRProduceWith(a *args, ser *avrov2.Serializer, start func()) (int, int64, uint64, int) {
	w := &pk.Writer{Addr: pk.TCP(a.bootstrap), Topic: a.topic, Balancer: &pk.RoundRobin{}, BatchSize: srChunk,
		BatchBytes: 1 << 20, BatchTimeout: 5 * time.Millisecond, RequiredAcks: pk.RequireOne, Async: true}
	var mu sync.Mutex
	ok, failed := 0, 0
	var nbytes int64
	var sum uint64
	w.Completion = func(msgs []pk.Message, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed += len(msgs)
			return
		}
		ok += len(msgs)
		for _, m := range msgs {
			nbytes += int64(len(m.Value))
			sum += crc(m.Value)
		}
	}
	if start != nil {
		start()
	}
	for sent := 0; sent < a.records; {
		k := min(srChunk, a.records-sent)
		batch := make([]pk.Message, k)
		for i := range batch {
			ev := userEventAt(sent + i)
			v, err := ser.Serialize(a.topic, &ev)
			if err != nil {
				fail("serialize: %v", err)
			}
			batch[i] = pk.Message{Value: v}
		}
		if err := w.WriteMessages(context.Background(), batch...); err != nil {
			fail("write: %v", err)
		}
		sent += k
	}
	if err := w.Close(); err != nil {
		fail("close: %v", err)
	}
	return ok, nbytes, sum, failed
}

func pkSRProduce(a *args, start func()) (int, int64, uint64, int) {
	return pkSRProduceWith(a, pkSRSerializer(a), start)
}

// The topic is filled first (outside the window), then read from the start with a Reader on
// partition 0 and each value deserialized into a userEvent.
func pkSRConsume(a *args, start func()) (int, int64, uint64, int) {
	ser := pkSRSerializer(a)
	if ok, _, _, failed := pkSRProduceWith(a, ser, nil); ok != a.records || failed != 0 {
		fail("fill: %d written, %d failed", ok, failed)
	}
	de, err := avrov2.NewDeserializer(ser.Client, serde.ValueSerde, avrov2.NewDeserializerConfig())
	if err != nil {
		fail("deserializer: %v", err)
	}
	r := pk.NewReader(pk.ReaderConfig{Brokers: []string{a.bootstrap}, Topic: a.topic, Partition: 0,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond, StartOffset: pk.FirstOffset})
	defer r.Close()
	n := 0
	var nb int64
	var sum uint64
	for n < a.records {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		m, err := r.ReadMessage(c)
		cancel()
		if err != nil {
			fail("read after %d: %v", n, err)
		}
		if n == 0 {
			start()
		}
		var ev userEvent
		if err := de.DeserializeInto(a.topic, m.Value, &ev); err != nil {
			fail("deserialize record %d: %v", n, err)
		}
		n++
		nb += int64(len(m.Value))
		sum += uint64(ev.Timestamp)
	}
	return n, nb, sum, 0
}
