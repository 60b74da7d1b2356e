package streams

/*
#include "polykafka.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
)

// State is a Kafka Streams state.
type State string

const (
	Created         State = "CREATED"
	Rebalancing     State = "REBALANCING"
	Running         State = "RUNNING"
	PendingShutdown State = "PENDING_SHUTDOWN"
	NotRunning      State = "NOT_RUNNING"
	PendingError    State = "PENDING_ERROR"
	ErrorState      State = "ERROR"
)

// FailureKind says what stopped processing.
type FailureKind string

const (
	// FailureUser: a user function returned an error or panicked.
	FailureUser FailureKind = "user"
	// FailureDeserialization: a record could not be deserialized (under log-and-fail).
	FailureDeserialization FailureKind = "deserialization"
	// FailureKafka: an error of the runtime itself (no record).
	FailureKafka FailureKind = "kafka"
)

// ProcessingError is what stopped the stream thread: the source record's Topic, Partition and
// Offset ("" and -1 for a Kafka error), the Kind, the Message, and Err, the user function's own
// error (a *PanicError for a panic) when there is one.
type ProcessingError struct {
	Topic     string
	Partition int
	Offset    int64
	Kind      FailureKind
	Message   string
	Err       error
}

func (e *ProcessingError) Error() string {
	if e.Topic == "" {
		return "streams: " + e.Message
	}
	return fmt.Sprintf("streams: %s (record %s-%d@%d)", e.Message, e.Topic, e.Partition, e.Offset)
}

func (e *ProcessingError) Unwrap() error { return e.Err }

type errBox struct{ err error }

// instance is what the C callbacks reach through the handle.
type instance struct {
	runner   *runner
	lastErr  atomic.Pointer[errBox]
	listener atomic.Pointer[func(old, new State)]
	handler  atomic.Pointer[func(*ProcessingError)]
	failure  atomic.Pointer[ProcessingError]
}

func (in *instance) stateChanged(old, new State) {
	if f := in.listener.Load(); f != nil {
		(*f)(old, new)
	}
}

func (in *instance) failed(e *ProcessingError) {
	in.failure.Store(e)
	if f := in.handler.Load(); f != nil {
		(*f)(e)
	}
}

// KafkaStreams is a running instance of a topology (Kafka Streams' KafkaStreams). Instances
// with the same application.id share the work. Its methods may be called from any goroutine, but
// not Close from a state listener or error handler.
type KafkaStreams struct {
	mu     sync.RWMutex
	ptr    *C.pk_kafka_streams
	handle cgo.Handle
	in     *instance
	stores map[string]storeInfo
	closed chan struct{}
	once   sync.Once
}

// New makes an instance of the topology with Kafka Streams' properties (application.id and
// bootstrap.servers at least; processing.guarantee, commit.interval.ms,
// default.deserialization.exception.handler, client keys...). A Topology is for one instance.
func New(t *Topology, config map[string]string) (*KafkaStreams, error) {
	if t == nil || t.b == nil {
		return nil, errors.New("streams: New takes the Topology of Builder.Build")
	}
	if t.used {
		return nil, errors.New("streams: this Topology is already used by a KafkaStreams")
	}
	t.used = true
	in := &instance{runner: t.b.r}
	h := cgo.NewHandle(in)
	ptr, err := newNative(t.b.c, config, h)
	t.b.free() // the topology went into the instance (or is not usable after a failure)
	if err != nil {
		h.Delete()
		return nil, err
	}
	s := &KafkaStreams{ptr: ptr, handle: h, in: in, stores: t.b.stores, closed: make(chan struct{})}
	runtime.SetFinalizer(s, func(s *KafkaStreams) { _ = s.Close() })
	return s, nil
}

// OnStateChange sets the function called with each state change (on the thread that makes it,
// often the stream thread); it must return quickly.
func (s *KafkaStreams) OnStateChange(f func(old, new State)) { s.in.listener.Store(&f) }

// OnError sets the function called once with the error that stopped the stream thread (the
// instance then goes to ERROR, as Kafka Streams' SHUTDOWN_CLIENT).
func (s *KafkaStreams) OnError(f func(*ProcessingError)) { s.in.handler.Store(&f) }

// Err is the error that stopped the stream thread, if one did.
func (s *KafkaStreams) Err() *ProcessingError { return s.in.failure.Load() }

// Start starts processing and returns at once (REBALANCING, then RUNNING). When ctx ends, the
// instance is closed.
func (s *KafkaStreams) Start(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return &Error{Kind: "closed", Message: "this KafkaStreams is closed"}
	}
	if err := nativeStart(s.ptr); err != nil {
		return err
	}
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = s.Close()
			case <-s.closed:
			}
		}()
	}
	return nil
}

// State is the current state.
func (s *KafkaStreams) State() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return NotRunning
	}
	return nativeState(s.ptr)
}

// Metrics are the counters since Start.
func (s *KafkaStreams) Metrics() Metrics {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return Metrics{}
	}
	return nativeMetrics(s.ptr)
}

// CloseTimeout stops processing, commits what was processed and closes the clients, waiting at
// most timeout; true when that finished in time. The instance stays usable for State and store
// queries until Close.
func (s *KafkaStreams) CloseTimeout(timeout time.Duration) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return true, nil
	}
	return nativeClose(s.ptr, timeout)
}

// Close stops processing (committing what was processed) and frees the instance. Idempotent.
// Not from a state listener or error handler (they run on the stream thread Close waits for).
func (s *KafkaStreams) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		// Closed under the read lock: a state listener may still call State meanwhile.
		_, err = s.CloseTimeout(-1)
		s.mu.Lock()
		defer s.mu.Unlock()
		nativeFree(s.ptr) // no callback runs any more
		s.ptr = nil
		s.handle.Delete()
		runtime.SetFinalizer(s, nil)
	})
	return err
}

func (s *KafkaStreams) query(store string, q int, key, to []byte, hasFrom, hasTo bool, from, toMs int64) ([]rawEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, &Error{Kind: "closed", Message: "this KafkaStreams is closed"}
	}
	return nativeQuery(s.ptr, store, q, key, to, hasFrom, hasTo, from, toMs)
}

// KeyValueStore reads a table's store over this instance's tasks (interactive queries).
type KeyValueStore[K, V any] struct {
	s    *KafkaStreams
	name string
	ks   Serde[K]
	vs   Serde[V]
}

// Store gives the key-value store of the table t (Kafka Streams' store(name)).
func Store[K, V any](s *KafkaStreams, t *Table[K, V]) (*KeyValueStore[K, V], error) {
	return StoreOf(s, t.store, t.ks, t.vs)
}

// StoreOf gives the key-value store name read with the serdes.
func StoreOf[K, V any](s *KafkaStreams, name string, ks Serde[K], vs Serde[V]) (*KeyValueStore[K, V], error) {
	info, ok := s.stores[name]
	if !ok {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("the topology has no store named %q", name)}
	}
	if info.windowed {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("store %q is a window store: use WindowStoreOf", name)}
	}
	if info.session {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("store %q is a session store: use SessionStoreOf", name)}
	}
	return &KeyValueStore[K, V]{s, name, ks, vs}, nil
}

func decodeAll[K, V any](es []rawEntry, ks Serde[K], vs Serde[V]) ([]KeyValue[K, V], error) {
	out := make([]KeyValue[K, V], 0, len(es))
	for _, e := range es {
		k, err := ks.Deserialize(e.key)
		if err != nil {
			return nil, err
		}
		v, err := vs.Deserialize(e.value)
		if err != nil {
			return nil, err
		}
		out = append(out, KeyValue[K, V]{k, v})
	}
	return out, nil
}

// Get is the value of key; found is false when the store has none.
func (st *KeyValueStore[K, V]) Get(key K) (value V, found bool, err error) {
	kb, err := st.ks.Serialize(key)
	if err != nil {
		return value, false, err
	}
	es, err := st.s.query(st.name, qGet, kb, nil, false, false, 0, 0)
	if err != nil || len(es) == 0 {
		return value, false, err
	}
	value, err = st.vs.Deserialize(es[0].value)
	return value, err == nil, err
}

// Range is the entries with keys from from to to (both included; nil: unbounded), in the order
// of the keys' bytes.
func (st *KeyValueStore[K, V]) Range(from, to *K) ([]KeyValue[K, V], error) {
	var lo, hi []byte
	var err error
	if from != nil {
		if lo, err = st.ks.Serialize(*from); err != nil {
			return nil, err
		}
	}
	if to != nil {
		if hi, err = st.ks.Serialize(*to); err != nil {
			return nil, err
		}
	}
	es, err := st.s.query(st.name, qRange, lo, hi, from != nil, to != nil, 0, 0)
	if err != nil {
		return nil, err
	}
	return decodeAll(es, st.ks, st.vs)
}

// All is every entry.
func (st *KeyValueStore[K, V]) All() ([]KeyValue[K, V], error) { return st.Range(nil, nil) }

// WindowStore reads a windowed table's store.
type WindowStore[K, V any] struct {
	s      *KafkaStreams
	name   string
	ks     Serde[K]
	vs     Serde[V]
	sizeMs int64
}

// WindowStoreOf gives the window store name read with the serdes of the (unwindowed) key and
// the value.
func WindowStoreOf[K, V any](s *KafkaStreams, name string, ks Serde[K], vs Serde[V]) (*WindowStore[K, V], error) {
	info, ok := s.stores[name]
	if !ok {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("the topology has no store named %q", name)}
	}
	if info.session {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("store %q is a session store: use SessionStoreOf", name)}
	}
	if !info.windowed {
		return nil, &Error{Kind: "invalid_argument", Message: fmt.Sprintf("store %q is not a window store: use StoreOf", name)}
	}
	return &WindowStore[K, V]{s, name, ks, vs, info.sizeMs}, nil
}

// WindowValue is a window's start (ms since the epoch) and its value.
type WindowValue[V any] struct {
	Start int64
	Value V
}

// Fetch is the windows of key starting from from to to (both included).
func (st *WindowStore[K, V]) Fetch(key K, from, to time.Time) ([]WindowValue[V], error) {
	kb, err := st.ks.Serialize(key)
	if err != nil {
		return nil, err
	}
	es, err := st.s.query(st.name, qFetch, kb, nil, false, false, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	out := make([]WindowValue[V], 0, len(es))
	for _, e := range es {
		v, err := st.vs.Deserialize(e.value)
		if err != nil {
			return nil, err
		}
		out = append(out, WindowValue[V]{e.windowStart, v})
	}
	return out, nil
}

// All is every (windowed key, value).
func (st *WindowStore[K, V]) All() ([]KeyValue[Windowed[K], V], error) {
	es, err := st.s.query(st.name, qAll, nil, nil, false, false, 0, 0)
	if err != nil {
		return nil, err
	}
	return decodeAll(es, WindowedSerde(st.ks, st.sizeMs), st.vs)
}
