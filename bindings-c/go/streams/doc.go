// Package streams is Kafka Streams for Go on polykafka's streams runtime (the Rust core, through
// the C ABI): the same semantics as Kafka Streams and as polykafka's Python and Node bindings
// (tasks per input partition in the consumer group application.id, stores backed by changelog
// topics, windows with grace, joins, suppress, at_least_once and exactly_once_v2).
//
// A topology is built with a Builder. Operations that keep the types are methods
// (s.Filter, s.Peek, s.To, s.ToFunc, s.GroupByKey, ...); those that change them are functions, as Go
// methods cannot have type parameters (streams.MapValues(s, f, serde), streams.GroupBy,
// streams.LeftJoin, streams.WindowedCount, ...). Serdes are values: String, Bytes, Long
// (Kafka's LongSerializer), JSON[T](), WindowedSerde (Kafka Streams' time-windowed keys).
//
//	b := streams.NewBuilder()
//	events := streams.From(b, streams.String, streams.JSON[Event](), "user-events")
//	counts := streams.GroupBy(events, func(_ string, e Event) (string, error) { return e.Country, nil }, streams.String).Count("user-counts-by-country")
//	counts.ToStream().To("country-counts")
//	topology, err := b.Build()
//	s, err := streams.New(topology, map[string]string{"application.id": "app", "bootstrap.servers": "127.0.0.1:9092"})
//	err = s.Start(ctx)
//
// The runtime hands the Go functions a whole batch of records per fused chain of operations in
// one cgo callback on its stream thread; results go back in one packed buffer. A function's
// error or panic stops the instance (state ERROR) and reaches OnError with the record's topic,
// partition and offset; a record a Serde cannot read goes to the configured
// default.deserialization.exception.handler.
package streams
