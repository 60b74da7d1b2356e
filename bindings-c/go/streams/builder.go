package streams

import (
	"errors"
	"runtime"
	"sync"
	"time"
)

// Builder builds a topology (Kafka Streams' StreamsBuilder). Its operations record the first
// error (a bad name, bad windows, a stream of another builder), which Build returns; a Builder is
// for one goroutine.
type Builder struct {
	c      *cBuilder
	r      *runner
	stores map[string]storeInfo
	err    error
	built  bool
	once   sync.Once
}

type storeInfo struct {
	windowed bool
	session  bool
	sizeMs   int64
}

// NewBuilder gives an empty builder.
func NewBuilder() *Builder {
	b := &Builder{c: newCBuilder(), r: newRunner(), stores: map[string]storeInfo{}}
	runtime.SetFinalizer(b, func(b *Builder) { b.free() })
	return b
}

func (b *Builder) free() { b.once.Do(b.c.free) }

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// setOp and setCombine give a new node its Go function, unless the node was not made (an
// error, or a topology already given to New, whose functions may be running).
func (b *Builder) setOp(node uint32, op *userOp) {
	if b.Err() == nil {
		b.r.ops[node] = op
	}
}

func (b *Builder) setCombine(node uint32, op *combineOp) {
	if b.Err() == nil {
		b.r.combines[node] = op
	}
}

// Err is the first error of the builder's operations so far.
func (b *Builder) Err() error {
	if b.err != nil {
		return b.err
	}
	return b.c.err
}

// Topology is a built topology, for one KafkaStreams.
type Topology struct {
	b    *Builder
	used bool
}

// Build checks what was built; the first error of any operation comes back here.
func (b *Builder) Build() (*Topology, error) {
	if b.built {
		return nil, errors.New("streams: this Builder was already built")
	}
	if err := b.Err(); err != nil {
		return nil, err
	}
	b.built = true
	return &Topology{b: b}, nil
}

// InternalNames lists the stores and repartition topics made so far ("store NAME",
// "repartition NAME" per line, sorted): the names Kafka Streams gives the same program.
func (b *Builder) InternalNames() (string, error) { return b.c.internalNames() }

// Stream is a record stream (KStream) with keys of type K and values of type V.
type Stream[K, V any] struct {
	b    *Builder
	node uint32
	ks   Serde[K]
	vs   Serde[V]
}

// KeyValue is a record's key and value (FlatMap's results).
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// From is builder.stream(topics): the records of the topics, read with the given serdes.
func From[K, V any](b *Builder, ks Serde[K], vs Serde[V], topics ...string) *Stream[K, V] {
	return &Stream[K, V]{b, b.c.source(topics), ks, vs}
}

// addUser adds a stateless user node after s with the step, reading s's serdes and writing ks2/vs2.
func addUser[K, V, K2, V2 any](s *Stream[K, V], step func(k, v any, emit emitFn) error, ks2 Serde[K2], vs2 Serde[V2]) *Stream[K2, V2] {
	node := s.b.c.user(s.node)
	s.b.setOp(node, &userOp{step: step, keyIn: codecOf(s.ks), valIn: codecOf(s.vs), keyOut: codecOf(ks2), valOut: codecOf(vs2)})
	return &Stream[K2, V2]{s.b, node, ks2, vs2}
}

func same[K, V any](s *Stream[K, V], step func(k, v any, emit emitFn) error) *Stream[K, V] {
	return addUser(s, step, s.ks, s.vs)
}

// Filter keeps the records for which keep is true.
func (s *Stream[K, V]) Filter(keep func(K, V) bool) *Stream[K, V] {
	return same(s, func(k, v any, emit emitFn) error {
		if keep(as[K](k), as[V](v)) {
			return emit(0, k, v)
		}
		return nil
	})
}

// FilterNot drops the records for which drop is true.
func (s *Stream[K, V]) FilterNot(drop func(K, V) bool) *Stream[K, V] {
	return same(s, func(k, v any, emit emitFn) error {
		if !drop(as[K](k), as[V](v)) {
			return emit(0, k, v)
		}
		return nil
	})
}

// Peek calls action with each record and passes it on.
func (s *Stream[K, V]) Peek(action func(K, V)) *Stream[K, V] {
	return same(s, func(k, v any, emit emitFn) error {
		action(as[K](k), as[V](v))
		return emit(0, k, v)
	})
}

// Foreach calls action with each record (the end of the stream).
func (s *Stream[K, V]) Foreach(action func(K, V)) {
	same(s, func(k, v any, _ emitFn) error {
		action(as[K](k), as[V](v))
		return nil
	})
}

// Merge is the records of s and other together.
func (s *Stream[K, V]) Merge(other *Stream[K, V]) *Stream[K, V] {
	if other.b != s.b {
		s.b.fail(errors.New("streams: Merge takes a stream of the same Builder"))
		return s
	}
	return &Stream[K, V]{s.b, s.b.c.merge(s.node, other.node), s.ks, s.vs}
}

// Branch sends each record to the stream of the first predicate it satisfies (records that
// satisfy none are dropped): Kafka Streams' split() with one branch per predicate.
func (s *Stream[K, V]) Branch(predicates ...func(K, V) bool) []*Stream[K, V] {
	if len(predicates) == 0 {
		s.b.fail(errors.New("streams: Branch needs at least one predicate"))
		return nil
	}
	node := s.b.c.split(s.node, len(predicates))
	c := codecOf(s.ks)
	vc := codecOf(s.vs)
	s.b.setOp(node, &userOp{
		step: func(k, v any, emit emitFn) error {
			for i, p := range predicates {
				if p(as[K](k), as[V](v)) {
					return emit(uint32(i), k, v)
				}
			}
			return nil
		},
		keyIn: c, valIn: vc, keyOut: c, valOut: vc,
	})
	out := make([]*Stream[K, V], len(predicates))
	for i := range predicates {
		out[i] = &Stream[K, V]{s.b, s.b.c.branch(node, i), s.ks, s.vs}
	}
	return out
}

// withSerdes is s re-encoded with other serdes (s itself when they are the same).
func (s *Stream[K, V]) withSerdes(ks Serde[K], vs Serde[V]) *Stream[K, V] {
	if ks == nil {
		ks = s.ks
	}
	if vs == nil {
		vs = s.vs
	}
	if sameSerde(ks, s.ks) && sameSerde(vs, s.vs) {
		return s
	}
	node := s.b.c.serde(s.node)
	s.b.setOp(node, &userOp{step: func(k, v any, emit emitFn) error { return emit(0, k, v) }, keyIn: codecOf(s.ks), valIn: codecOf(s.vs), keyOut: codecOf(ks), valOut: codecOf(vs)})
	return &Stream[K, V]{s.b, node, ks, vs}
}

// To writes the records to topic with the stream's serdes.
func (s *Stream[K, V]) To(topic string) { s.b.c.sink(s.node, topic) }

// ToWith writes the records to topic with other serdes (nil: the stream's).
func (s *Stream[K, V]) ToWith(topic string, ks Serde[K], vs Serde[V]) {
	w := s.withSerdes(ks, vs)
	w.b.c.sink(w.node, topic)
}

// ToFunc writes each record, with the stream's serdes, to the topic topic(key, value) names
// (Kafka Streams' TopicNameExtractor). The topics must exist. An error from topic, or an empty
// name, stops the application as any user function's error does (OnError gets the record's
// topic, partition and offset).
func (s *Stream[K, V]) ToFunc(topic func(K, V) (string, error)) {
	node := s.b.c.sinkPerRecord(s.node)
	s.b.setCombine(node, &combineOp{
		fn:    func(k, v, _ any, _ bool) (any, error) { return topic(as[K](k), as[V](v)) },
		keyIn: codecOf(s.ks), valIn: codecOf(s.vs), out: codecOf(String),
	})
}

// Map gives each record a new key and value.
func Map[K, V, K2, V2 any](s *Stream[K, V], mapper func(K, V) (K2, V2, error), ks Serde[K2], vs Serde[V2]) *Stream[K2, V2] {
	return keyChanging(addUser(s, func(k, v any, emit emitFn) error {
		k2, v2, err := mapper(as[K](k), as[V](v))
		if err != nil {
			return userError{err}
		}
		return emit(0, k2, v2)
	}, ks, vs))
}

// keyChanging marks the stream's node as one that may change keys: an aggregation after it
// goes through a repartition topic, a join of it is refused until Repartition (the core's rule).
func keyChanging[K, V any](s *Stream[K, V]) *Stream[K, V] {
	s.b.c.markKeyChanging(s.node)
	return s
}

// Repartition writes the records through <application.id>-<name>-repartition, partitioned by
// their keys (name "" for Kafka Streams' generated KSTREAM-REPARTITION-<n>): after a key change,
// before a join.
func (s *Stream[K, V]) Repartition(name string) *Stream[K, V] {
	return &Stream[K, V]{s.b, s.b.c.repartitionStream(s.node, name), s.ks, s.vs}
}

// MapValues gives each record a new value.
func MapValues[K, V, V2 any](s *Stream[K, V], mapper func(V) (V2, error), vs Serde[V2]) *Stream[K, V2] {
	return addUser(s, func(k, v any, emit emitFn) error {
		v2, err := mapper(as[V](v))
		if err != nil {
			return userError{err}
		}
		return emit(0, k, v2)
	}, s.ks, vs)
}

// FlatMap turns each record into any number of records.
func FlatMap[K, V, K2, V2 any](s *Stream[K, V], mapper func(K, V) ([]KeyValue[K2, V2], error), ks Serde[K2], vs Serde[V2]) *Stream[K2, V2] {
	return keyChanging(addUser(s, func(k, v any, emit emitFn) error {
		kvs, err := mapper(as[K](k), as[V](v))
		if err != nil {
			return userError{err}
		}
		for _, kv := range kvs {
			if err := emit(0, kv.Key, kv.Value); err != nil {
				return err
			}
		}
		return nil
	}, ks, vs))
}

// FlatMapValues turns each record into any number of records of the same key.
func FlatMapValues[K, V, V2 any](s *Stream[K, V], mapper func(V) ([]V2, error), vs Serde[V2]) *Stream[K, V2] {
	return addUser(s, func(k, v any, emit emitFn) error {
		vals, err := mapper(as[V](v))
		if err != nil {
			return userError{err}
		}
		for _, v2 := range vals {
			if err := emit(0, k, v2); err != nil {
				return err
			}
		}
		return nil
	}, s.ks, vs)
}

// SelectKey gives each record a new key (the value stays).
func SelectKey[K, V, K2 any](s *Stream[K, V], selector func(K, V) (K2, error), ks Serde[K2]) *Stream[K2, V] {
	return keyChanging(addUser(s, selectKey(selector), ks, s.vs))
}

func selectKey[K, V, K2 any](selector func(K, V) (K2, error)) func(k, v any, emit emitFn) error {
	return func(k, v any, emit emitFn) error {
		k2, err := selector(as[K](k), as[V](v))
		if err != nil {
			return userError{err}
		}
		return emit(0, k2, v)
	}
}

// GroupedStream is a stream grouped by key, to aggregate (KGroupedStream).
type GroupedStream[K, V any] struct {
	s    *Stream[K, V]
	name string
}

// GroupByKey groups by the records' keys: through a repartition topic named after the store
// when a Map, FlatMap or SelectKey upstream may have changed them, as Kafka Streams.
func (s *Stream[K, V]) GroupByKey() *GroupedStream[K, V] { return &GroupedStream[K, V]{s: s} }

// GroupBy groups by a new key: the records go through the repartition topic
// <application.id>-<store>-repartition.
func GroupBy[K, V, K2 any](s *Stream[K, V], selector func(K, V) (K2, error), ks Serde[K2]) *GroupedStream[K2, V] {
	return &GroupedStream[K2, V]{s: SelectKey(s, selector, ks)}
}

// Named names the repartition topic of a GroupBy (default: the store's name).
func (g *GroupedStream[K, V]) Named(name string) *GroupedStream[K, V] {
	c := *g
	c.name = name
	return &c
}

func (g *GroupedStream[K, V]) grouped(store string) *Stream[K, V] {
	name := g.name
	if name == "" {
		name = store
	}
	node := g.s.b.c.grouped(g.s.node, name)
	if node == g.s.node {
		return g.s
	}
	return &Stream[K, V]{g.s.b, node, g.s.ks, g.s.vs}
}

// Table is a changelog stream, the latest value per key kept in a store (KTable).
type Table[K, V any] struct {
	b       *Builder
	node    uint32
	ks      Serde[K]
	vs      Serde[V]
	store   string
	windows *TimeWindows
	session *SessionWindows
}

// StoreName is the name of the table's store (for KafkaStreams' store queries).
func (t *Table[K, V]) StoreName() string { return t.store }

// ToStream is the table's updates as a stream.
func (t *Table[K, V]) ToStream() *Stream[K, V] {
	return &Stream[K, V]{t.b, t.b.c.toStream(t.node), t.ks, t.vs}
}

// TableFrom is builder.table(topic): the latest value per key of topic, read with the given
// serdes (a record with a null value deletes its key), in the store materialized ("": Kafka
// Streams' <topic>-STATE-STORE-<n>) with its own changelog; as in Kafka Streams, a table with no
// store name that is never joined keeps no store.
func TableFrom[K, V any](b *Builder, ks Serde[K], vs Serde[V], topic, materialized string) *Table[K, V] {
	_, node, store := b.c.table(topic, materialized)
	b.stores[store] = storeInfo{}
	return &Table[K, V]{b: b, node: node, ks: ks, vs: vs, store: store}
}

// derived adds a KTable filter (filter true) or mapValues node after t, with the step, writing vs2.
func derived[K, V, V2 any](t *Table[K, V], filter bool, step func(k, v any, emit emitFn) error, vs2 Serde[V2]) *Table[K, V2] {
	node := t.b.c.tableUser(t.node, filter)
	t.b.setOp(node, &userOp{step: step, keyIn: codecOf(t.ks), valIn: codecOf(t.vs), keyOut: codecOf(t.ks), valOut: codecOf(vs2)})
	return &Table[K, V2]{b: t.b, node: node, ks: t.ks, vs: vs2, windows: t.windows, session: t.session}
}

// Filter is KTable.filter: the keys whose value keep accepts. An update it refuses removes the
// key (a tombstone downstream) when the key was in the derived table, and sends nothing when it
// was not (Kafka Streams' semantics over a materialized table, in the core); a removal never
// reaches keep. The derived table has no store (it cannot be joined or queried).
func (t *Table[K, V]) Filter(keep func(K, V) bool) *Table[K, V] {
	return derived(t, true, func(k, v any, emit emitFn) error {
		if keep(as[K](k), as[V](v)) {
			return emit(0, k, v)
		}
		return nil
	}, t.vs)
}

// FilterNot is KTable.filterNot: Filter with the predicate's answer reversed.
func (t *Table[K, V]) FilterNot(drop func(K, V) bool) *Table[K, V] {
	return t.Filter(func(k K, v V) bool { return !drop(k, v) })
}

// TableMapValues is KTable.mapValues: every update's value mapped (a removal stays a removal,
// mapper never sees it); vs writes the new values. The derived table has no store.
func TableMapValues[K, V, V2 any](t *Table[K, V], mapper func(V) (V2, error), vs Serde[V2]) *Table[K, V2] {
	return derived(t, false, func(k, v any, emit emitFn) error {
		v2, err := mapper(as[V](v))
		if err != nil {
			return err
		}
		return emit(0, k, v2)
	}, vs)
}

// Suppressed is Kafka Streams' Suppressed.untilWindowCloses: a bound of the buffer (0: none;
// at the bound the application stops with an error) and an optional name.
type Suppressed struct {
	Name                 string
	MaxRecords, MaxBytes uint64
}

// Suppress keeps only the final result of each window of a windowed table, once stream time
// passes the window's end plus grace (of a session-windowed table: the session's end plus gap
// plus grace).
func (t *Table[K, V]) Suppress(s Suppressed) *Table[K, V] {
	if t.windows == nil && t.session == nil {
		t.b.fail(errors.New("streams: Suppress (until the window closes) needs a windowed table"))
		return t
	}
	return &Table[K, V]{b: t.b, node: t.b.c.suppress(t.node, s.Name, s.MaxRecords, s.MaxBytes), ks: t.ks, vs: t.vs, windows: t.windows, session: t.session}
}

func aggregate[K, V, VA any](g *GroupedStream[K, V], materialized string, reduce bool, windows *TimeWindows, op *combineOp, vs Serde[VA]) (*Stream[K, V], uint32, string) {
	b := g.s.b
	if windows != nil {
		if err := windows.Check(); err != nil {
			b.fail(err)
		}
	}
	store := b.c.storeName(materialized, reduce)
	s := g.grouped(store)
	node := b.c.aggregate(s.node, store, op != nil, windows)
	if op != nil {
		b.setCombine(node, op)
	}
	info := storeInfo{}
	if windows != nil {
		info = storeInfo{windowed: true, sizeMs: int64(windows.Size / time.Millisecond)}
	}
	b.stores[store] = info
	return s, node, store
}

func table[K, V, VA any](g *GroupedStream[K, V], node uint32, store string, vs Serde[VA]) *Table[K, VA] {
	return &Table[K, VA]{b: g.s.b, node: node, ks: g.s.ks, vs: vs, store: store}
}

// Count counts the records per key into the store materialized ("": Kafka Streams' default name).
func (g *GroupedStream[K, V]) Count(materialized string) *Table[K, int64] {
	_, node, store := aggregate[K, V, int64](g, materialized, false, nil, nil, Long)
	return table[K, V, int64](g, node, store, Long)
}

func reduceOp[K, V any](ks Serde[K], vs Serde[V], reducer func(agg, v V) (V, error)) *combineOp {
	return &combineOp{
		fn: func(_, v, o any, has bool) (any, error) {
			if !has {
				return v, nil
			}
			return reducer(as[V](o), as[V](v))
		},
		keyIn: codecOf(ks), valIn: codecOf(vs), operandIn: codecOf(vs), out: codecOf(vs),
	}
}

func aggregateOp[K, V, VA any](ks Serde[K], vs Serde[V], va Serde[VA], init func() VA, agg func(K, V, VA) (VA, error)) *combineOp {
	return &combineOp{
		fn: func(k, v, o any, has bool) (any, error) {
			a := VA(init())
			if has {
				a = as[VA](o)
			}
			return agg(as[K](k), as[V](v), a)
		},
		keyIn: codecOf(ks), valIn: codecOf(vs), operandIn: codecOf(va), out: codecOf(va),
	}
}

// Reduce combines the values per key: reducer(aggregate, value); the first value is the start.
func (g *GroupedStream[K, V]) Reduce(reducer func(agg, v V) (V, error), materialized string) *Table[K, V] {
	_, node, store := aggregate[K, V, V](g, materialized, true, nil, reduceOp(g.s.ks, g.s.vs, reducer), g.s.vs)
	return table[K, V, V](g, node, store, g.s.vs)
}

// Aggregate folds the values per key: aggregator(key, value, aggregate), starting from init().
func Aggregate[K, V, VA any](g *GroupedStream[K, V], init func() VA, aggregator func(K, V, VA) (VA, error), vs Serde[VA], materialized string) *Table[K, VA] {
	_, node, store := aggregate[K, V, VA](g, materialized, false, nil, aggregateOp(g.s.ks, g.s.vs, vs, init, aggregator), vs)
	return table[K, V, VA](g, node, store, vs)
}

// WindowedStream is a grouped stream aggregated per time window (TimeWindowedKStream).
type WindowedStream[K, V any] struct {
	g       *GroupedStream[K, V]
	windows TimeWindows
}

// WindowedBy aggregates per window: the result's keys are Windowed[K].
func (g *GroupedStream[K, V]) WindowedBy(w TimeWindows) *WindowedStream[K, V] {
	return &WindowedStream[K, V]{g, w}
}

func windowedTable[K, V, VA any](w *WindowedStream[K, V], node uint32, store string, vs Serde[VA]) *Table[Windowed[K], VA] {
	win := w.windows
	return &Table[Windowed[K], VA]{b: w.g.s.b, node: node, ks: WindowedSerde(w.g.s.ks, int64(win.Size/time.Millisecond)), vs: vs, store: store, windows: &win}
}

// WindowedCount counts per key and window. (The windowed operations are functions, not
// methods: a method giving a Table[Windowed[K], ...] would make Go's instantiations endless.)
func WindowedCount[K, V any](w *WindowedStream[K, V], materialized string) *Table[Windowed[K], int64] {
	_, node, store := aggregate[K, V, int64](w.g, materialized, false, &w.windows, nil, Long)
	return windowedTable(w, node, store, Long)
}

// WindowedReduce combines the values per key and window.
func WindowedReduce[K, V any](w *WindowedStream[K, V], reducer func(agg, v V) (V, error), materialized string) *Table[Windowed[K], V] {
	_, node, store := aggregate[K, V, V](w.g, materialized, true, &w.windows, reduceOp(w.g.s.ks, w.g.s.vs, reducer), w.g.s.vs)
	return windowedTable(w, node, store, w.g.s.vs)
}

// WindowedAggregate folds the values per key and window.
func WindowedAggregate[K, V, VA any](w *WindowedStream[K, V], init func() VA, aggregator func(K, V, VA) (VA, error), vs Serde[VA], materialized string) *Table[Windowed[K], VA] {
	_, node, store := aggregate[K, V, VA](w.g, materialized, false, &w.windows, aggregateOp(w.g.s.ks, w.g.s.vs, vs, init, aggregator), vs)
	return windowedTable(w, node, store, vs)
}

func joinTable[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], left bool, fn func(v, tv any, has bool) (any, error), vs Serde[VR]) *Stream[K, VR] {
	if t.b != s.b {
		s.b.fail(errors.New("streams: a join takes a table of the same Builder"))
	}
	if t.windows != nil || t.session != nil {
		s.b.fail(errors.New("streams: a stream-table join needs a table that is not windowed"))
	}
	node := s.b.c.joinTable(s.node, t.node, left)
	s.b.setCombine(node, &combineOp{
		fn:    func(_, v, o any, has bool) (any, error) { return fn(v, o, has) },
		keyIn: codecOf(s.ks), valIn: codecOf(s.vs), operandIn: codecOf(t.vs), out: codecOf(vs),
	})
	return &Stream[K, VR]{s.b, node, s.ks, vs}
}

// Join joins each record with the table's value of its key (records without one are dropped).
func Join[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], joiner func(V, VT) (VR, error), vs Serde[VR]) *Stream[K, VR] {
	return joinTable[K, V, VT, VR](s, t, false, func(v, tv any, _ bool) (any, error) { return joiner(as[V](v), as[VT](tv)) }, vs)
}

// LeftJoin joins each record with the table's value of its key; found is false (and the table
// value the zero value) when the table has none.
func LeftJoin[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], joiner func(v V, tv VT, found bool) (VR, error), vs Serde[VR]) *Stream[K, VR] {
	return joinTable[K, V, VT, VR](s, t, true, func(v, tv any, has bool) (any, error) {
		t := as[VT](tv)
		return joiner(as[V](v), t, has)
	}, vs)
}

// JoinKind is an inner, left or outer stream-stream join.
type JoinKind int

const (
	InnerJoin JoinKind = iota
	LeftJoinKind
	OuterJoin
)

// JoinStreams joins the records of s and other of the same key within the windows
// (Kafka Streams' join / leftJoin / outerJoin of two streams): joiner(value, otherValue) with
// found flags false for a left or outer result without partner (emitted once its window
// closed). name names the join's stores ("": Kafka Streams' defaults).
func JoinStreams[K, V, VO, VR any](s *Stream[K, V], other *Stream[K, VO], kind JoinKind, windows JoinWindows, joiner func(v V, hasV bool, o VO, hasO bool) (VR, error), vs Serde[VR], name string) *Stream[K, VR] {
	if other.b != s.b {
		s.b.fail(errors.New("streams: a join takes a stream of the same Builder"))
		return &Stream[K, VR]{s.b, s.node, s.ks, vs}
	}
	if err := windows.Check(); err != nil {
		s.b.fail(err)
	}
	this, that, joined := s.b.c.streamJoin(s.node, other.node, windows, int(kind), name)
	s.b.setCombine(this, &combineOp{
		fn: func(_, v, o any, has bool) (any, error) {
			ov := as[VO](o)
			return joiner(as[V](v), true, ov, has)
		},
		keyIn: codecOf(s.ks), valIn: codecOf(s.vs), operandIn: codecOf(other.vs), out: codecOf(vs),
	})
	s.b.setCombine(that, &combineOp{
		fn: func(_, v, o any, has bool) (any, error) {
			tv := as[V](o)
			return joiner(tv, has, as[VO](v), true)
		},
		keyIn: codecOf(other.ks), valIn: codecOf(other.vs), operandIn: codecOf(s.vs), out: codecOf(vs),
	})
	return &Stream[K, VR]{s.b, joined, s.ks, vs}
}

// as is v as a T (the zero T for nil).
func as[T any](v any) T {
	t, _ := v.(T)
	return t
}
