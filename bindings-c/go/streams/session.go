package streams

import (
	"fmt"
	"math"
	"time"
)

// SessionWindowedStream is a grouped stream aggregated per session (Kafka Streams'
// SessionWindowedKStream): SessionCount, SessionReduce and SessionAggregate give a table whose
// keys are Windowed[K] with the session's Start and End (both inclusive), in Kafka Streams'
// session-windowed format (SessionWindowedSerde). When a record bridges sessions, the table's
// updates are the removal of each merged session (Kafka's null value: the value type's zero
// after a Serde, see ToStream) and then the merged session.
type SessionWindowedStream[K, V any] struct {
	g       *GroupedStream[K, V]
	windows SessionWindows
}

// WindowedBySession aggregates per session (Kafka Streams' windowedBy(SessionWindows)). A Go method
// takes one type of windows: WindowedBy takes TimeWindows, this one SessionWindows.
func (g *GroupedStream[K, V]) WindowedBySession(w SessionWindows) *SessionWindowedStream[K, V] {
	return &SessionWindowedStream[K, V]{g, w}
}

func sessionAggregate[K, V, VA any](w *SessionWindowedStream[K, V], materialized string, reduce bool, op, merger *combineOp, vs Serde[VA]) *Table[Windowed[K], VA] {
	b := w.g.s.b
	if err := w.windows.Check(); err != nil {
		b.fail(err)
	}
	store := b.c.storeName(materialized, reduce)
	s := w.g.grouped(store)
	node := b.c.sessionAggregate(s.node, store, op != nil, w.windows)
	if op != nil {
		b.setCombine(node, op)
		if b.Err() == nil {
			b.r.merges[node] = merger
		}
	}
	b.stores[store] = storeInfo{session: true}
	win := w.windows
	return &Table[Windowed[K], VA]{b: b, node: node, ks: SessionWindowedSerde(w.g.s.ks), vs: vs, store: store, session: &win}
}

// SessionCount counts the records per key and session into the session store materialized ("":
// Kafka Streams' default name). (The session-windowed operations are functions for the reason
// WindowedCount is one.)
func SessionCount[K, V any](w *SessionWindowedStream[K, V], materialized string) *Table[Windowed[K], int64] {
	return sessionAggregate[K, V, int64](w, materialized, false, nil, nil, Long)
}

// SessionReduce combines the values per key and session with reducer(aggregate, value); two
// sessions a record bridges merge with reducer(aggregate, other session's aggregate), as Kafka
// Streams.
func SessionReduce[K, V any](w *SessionWindowedStream[K, V], reducer func(agg, v V) (V, error), materialized string) *Table[Windowed[K], V] {
	ks, vs := w.g.s.ks, w.g.s.vs
	if reducer == nil {
		w.g.s.b.fail(&Error{Kind: "invalid_argument", Message: "SessionReduce needs a reducer (it is nil)"})
		return &Table[Windowed[K], V]{b: w.g.s.b, ks: SessionWindowedSerde(ks), vs: vs, session: &w.windows}
	}
	merger := &combineOp{
		fn: func(_, other, soFar any, has bool) (any, error) {
			if !has {
				return other, nil
			}
			return reducer(as[V](soFar), as[V](other))
		},
		keyIn: codecOf(ks), valIn: codecOf(vs), operandIn: codecOf(vs), out: codecOf(vs),
	}
	return sessionAggregate[K, V, V](w, materialized, true, reduceOp(ks, vs, reducer), merger, vs)
}

// SessionAggregate folds the values per key and session: aggregator(key, value, aggregate),
// starting from init(); when a record bridges sessions, merger(key, aggregate, other) combines
// their aggregates (Kafka Streams' Merger), the first from init(). vs is the aggregate's serde.
// A nil initializer, aggregator or merger is an *Error of Kind "invalid_argument" from Build.
func SessionAggregate[K, V, VA any](w *SessionWindowedStream[K, V], init func() VA, aggregator func(K, V, VA) (VA, error), merger func(k K, agg, other VA) (VA, error), vs Serde[VA], materialized string) *Table[Windowed[K], VA] {
	ks := w.g.s.ks
	for _, c := range []struct {
		what    string
		missing bool
	}{{"an initializer", init == nil}, {"an aggregator", aggregator == nil}, {"a merger", merger == nil}, {"a value serde", vs == nil}} {
		if c.missing {
			w.g.s.b.fail(&Error{Kind: "invalid_argument", Message: fmt.Sprintf("SessionAggregate needs %s (it is nil)", c.what)})
			return &Table[Windowed[K], VA]{b: w.g.s.b, ks: SessionWindowedSerde(ks), vs: vs, session: &w.windows}
		}
	}
	m := &combineOp{
		fn: func(k, other, soFar any, has bool) (any, error) {
			a := init()
			if has {
				a = as[VA](soFar)
			}
			return merger(as[K](k), a, as[VA](other))
		},
		keyIn: codecOf(ks), valIn: codecOf(vs), operandIn: codecOf(vs), out: codecOf(vs),
	}
	return sessionAggregate[K, V, VA](w, materialized, false, aggregateOp(ks, w.g.s.vs, vs, init, aggregator), m, vs)
}

type sessionWindowedSerde[K any] struct{ inner Serde[K] }

// SessionWindowedSerde is Kafka Streams' session-windowed key format
// (WindowedSerdes.sessionWindowedSerdeFrom): the inner key's bytes, then the session's end and
// start as 8 bytes big-endian each; Windowed.End is the session's last record's time (inclusive).
// The encoding is the core's (through the C ABI), the same as every other binding's.
func SessionWindowedSerde[K any](inner Serde[K]) Serde[Windowed[K]] {
	return sessionWindowedSerde[K]{inner}
}

func (w sessionWindowedSerde[K]) Serialize(v Windowed[K]) ([]byte, error) {
	inner, err := w.inner.Serialize(v.Key)
	if err != nil {
		return nil, err
	}
	return sessionEncode(inner, v.Start, v.End)
}

func (w sessionWindowedSerde[K]) Deserialize(b []byte) (Windowed[K], error) {
	if b == nil {
		return Windowed[K]{}, nil
	}
	n, start, end, err := sessionDecode(b)
	if err != nil {
		return Windowed[K]{}, err
	}
	k, err := w.inner.Deserialize(b[:n:n])
	if err != nil {
		return Windowed[K]{}, err
	}
	return Windowed[K]{Key: k, Start: start, End: end}, nil
}

func (w sessionWindowedSerde[K]) String() string {
	return fmt.Sprintf("streams.SessionWindowedSerde(%v)", w.inner)
}

// SessionStore reads a session-windowed table's store (Kafka Streams' ReadOnlySessionStore).
type SessionStore[K, V any] struct {
	s    *KafkaStreams
	name string
	ks   Serde[K]
	vs   Serde[V]
}

// SessionStoreOf gives the session store name read with the serdes of the (unwindowed) key and
// the value.
func SessionStoreOf[K, V any](s *KafkaStreams, name string, ks Serde[K], vs Serde[V]) (*SessionStore[K, V], error) {
	info, ok := s.stores[name]
	if !ok {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("the topology has no store named %q", name)}
	}
	if !info.session {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("store %q is not a session store", name)}
	}
	return &SessionStore[K, V]{s, name, ks, vs}, nil
}

func (st *SessionStore[K, V]) find(key K, earliestEnd, latestStart int64) ([]KeyValue[Windowed[K], V], error) {
	kb, err := st.ks.Serialize(key)
	if err != nil {
		return nil, err
	}
	es, err := st.s.query(st.name, qFindSessions, kb, nil, false, false, earliestEnd, latestStart)
	if err != nil {
		return nil, err
	}
	out := make([]KeyValue[Windowed[K], V], 0, len(es))
	for _, e := range es {
		v, err := st.vs.Deserialize(e.value)
		if err != nil {
			return nil, err
		}
		out = append(out, KeyValue[Windowed[K], V]{Windowed[K]{key, e.windowStart, e.windowEnd}, v})
	}
	return out, nil
}

// FindSessions is key's sessions ending at earliestEnd or later and starting at latestStart or
// earlier, by end (Kafka Streams' findSessions).
func (st *SessionStore[K, V]) FindSessions(key K, earliestEnd, latestStart time.Time) ([]KeyValue[Windowed[K], V], error) {
	return st.find(key, earliestEnd.UnixMilli(), latestStart.UnixMilli())
}

// Fetch is every session of key, by end.
func (st *SessionStore[K, V]) Fetch(key K) ([]KeyValue[Windowed[K], V], error) {
	return st.find(key, 0, math.MaxInt64)
}

// All is every (session-windowed key, value), in the order of the keys' bytes.
func (st *SessionStore[K, V]) All() ([]KeyValue[Windowed[K], V], error) {
	es, err := st.s.query(st.name, qAll, nil, nil, false, false, 0, 0)
	if err != nil {
		return nil, err
	}
	return decodeAll(es, SessionWindowedSerde(st.ks), st.vs)
}
