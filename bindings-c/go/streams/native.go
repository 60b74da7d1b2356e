package streams

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#include <stdlib.h>
#include "polykafka.h"

// The callbacks' user data is an integer handle (runtime/cgo.Handle), never a Go pointer.
static inline void *pk_go_streams_handle(uintptr_t h) { return (void *)h; }

extern void pkGoStreamsRunChain(void *user, uint32_t *chain, size_t chain_len, pk_stream_record *records, size_t n, pk_chain_output *out);
extern void pkGoStreamsCombine(void *user, uint32_t node, pk_stream_record *records, pk_operand *operands, size_t n, pk_combine_output *out);
extern void pkGoStreamsMerge(void *user, uint32_t node, pk_stream_record *records, pk_operand *operands, size_t n, pk_combine_output *out);
extern void pkGoStreamsExtract(void *user, uint32_t source, pk_stream_record *records, size_t n, int64_t partition_time, pk_timestamp_output *out);
extern void pkGoStreamsState(void *user, pk_streams_state new_state, pk_streams_state old_state);
extern void pkGoStreamsFailure(void *user, pk_streams_failure *failure);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"time"
	"unsafe"

	_ "github.com/polykafka/polykafka/bindings-c/go/internal/link" // the native library
)

// This file and callbacks.go are the only ones that know the C ABI. Its memory rules: C never
// keeps a Go pointer (the callbacks' user data is a cgo.Handle); records handed to a callback
// are C memory, copied before the callback returns; results go back in one packed Go buffer per
// batch that C copies during the call.

// Error is an error of the engine: Kind is one of "config", "invalid_argument", "closed",
// "serialization", "fatal", ... (the C ABI's PK_ERROR_KIND_*, lower case), Message says what.
type Error struct {
	Kind    string
	Message string
}

func (e *Error) Error() string { return "polykafka streams: " + e.Kind + ": " + e.Message }

// takeError converts a C error into a Go error and frees it; NULL gives nil.
func takeError(e *C.pk_error) error {
	if e == nil {
		return nil
	}
	defer C.pk_error_free(e)
	return &Error{Kind: C.GoString(C.pk_error_kind_name(C.int32_t(C.pk_error_get_kind(e)))), Message: C.GoString(C.pk_error_message(e))}
}

func ms(d time.Duration) C.int64_t { return C.int64_t(d / time.Millisecond) }

func cTimeWindows(w TimeWindows) C.pk_time_windows {
	return C.pk_time_windows{size_ms: ms(w.Size), advance_ms: ms(w.Advance), grace_ms: ms(w.Grace)}
}

func checkTimeWindows(w TimeWindows) error {
	cw := cTimeWindows(w)
	return takeError(C.pk_time_windows_check(&cw))
}

func cJoinWindows(w JoinWindows) C.pk_join_windows {
	return C.pk_join_windows{before_ms: ms(w.Before), after_ms: ms(w.After), grace_ms: ms(w.Grace)}
}

func checkJoinWindows(w JoinWindows) error {
	cw := cJoinWindows(w)
	return takeError(C.pk_join_windows_check(&cw))
}

func cSessionWindows(w SessionWindows) C.pk_session_windows {
	return C.pk_session_windows{gap_ms: ms(w.Gap), grace_ms: ms(w.Grace)}
}

func checkSessionWindows(w SessionWindows) error {
	cw := cSessionWindows(w)
	return takeError(C.pk_session_windows_check(&cw))
}

// bytesPtr is a pointer to b's first byte for C, or NULL when b is empty.
func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func windowedEncode(key []byte, start int64) ([]byte, error) {
	out := make([]byte, len(key)+8)
	var n C.size_t
	if err := takeError(C.pk_windowed_key_encode(bytesPtr(key), C.size_t(len(key)), C.int64_t(start), bytesPtr(out), C.size_t(len(out)), &n)); err != nil {
		return nil, err
	}
	return out[:n], nil
}

func windowedDecode(b []byte) (keyLen int, start int64, err error) {
	var n C.size_t
	var s C.int64_t
	if err := takeError(C.pk_windowed_key_decode(bytesPtr(b), C.size_t(len(b)), &n, &s)); err != nil {
		return 0, 0, err
	}
	return int(n), int64(s), nil
}

func sessionEncode(key []byte, start, end int64) ([]byte, error) {
	out := make([]byte, len(key)+16)
	var n C.size_t
	if err := takeError(C.pk_session_key_encode(bytesPtr(key), C.size_t(len(key)), C.int64_t(start), C.int64_t(end), bytesPtr(out), C.size_t(len(out)), &n)); err != nil {
		return nil, err
	}
	return out[:n], nil
}

func sessionDecode(b []byte) (keyLen int, start, end int64, err error) {
	var n C.size_t
	var s, e C.int64_t
	if err := takeError(C.pk_session_key_decode(bytesPtr(b), C.size_t(len(b)), &n, &s, &e)); err != nil {
		return 0, 0, 0, err
	}
	return int(n), int64(s), int64(e), nil
}

// cBuilder is the C topology builder; every call records the first error in err.
type cBuilder struct {
	ptr *C.pk_topology_builder
	err error
}

func newCBuilder() *cBuilder {
	b := &cBuilder{}
	if err := takeError(C.pk_topology_builder_new(&b.ptr)); err != nil {
		b.err = err
	}
	return b
}

func (b *cBuilder) free() {
	C.pk_topology_builder_free(b.ptr)
	b.ptr = nil
}

// call runs one adder unless an earlier one failed; returns the new node.
func (b *cBuilder) call(what string, f func(out *C.uint32_t) *C.pk_error) uint32 {
	if b.ptr == nil && b.err == nil {
		b.err = errors.New("streams: this Builder's topology was already given to New")
	}
	if b.err != nil {
		return 0
	}
	var node C.uint32_t
	if err := takeError(f(&node)); err != nil {
		b.err = fmt.Errorf("%s: %w", what, err)
		return 0
	}
	return uint32(node)
}

func (b *cBuilder) source(topics []string) uint32 {
	cs := C.malloc(C.size_t(len(topics)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(cs)
	arr := unsafe.Slice((**C.char)(cs), len(topics))
	for i, t := range topics {
		arr[i] = C.CString(t)
	}
	defer func() {
		for _, p := range arr {
			C.free(unsafe.Pointer(p))
		}
	}()
	return b.call("stream", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_source(b.ptr, (**C.char)(cs), C.size_t(len(topics)), out)
	})
}

func (b *cBuilder) user(parent uint32) uint32 {
	return b.call("user function", func(out *C.uint32_t) *C.pk_error { return C.pk_topology_builder_user(b.ptr, C.uint32_t(parent), out) })
}

func (b *cBuilder) serde(parent uint32) uint32 {
	return b.call("serdes", func(out *C.uint32_t) *C.pk_error { return C.pk_topology_builder_serde(b.ptr, C.uint32_t(parent), out) })
}

func (b *cBuilder) split(parent uint32, ports int) uint32 {
	return b.call("branch", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_split(b.ptr, C.uint32_t(parent), C.uint32_t(ports), out)
	})
}

func (b *cBuilder) branch(split uint32, port int) uint32 {
	return b.call("branch", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_branch(b.ptr, C.uint32_t(split), C.uint32_t(port), out)
	})
}

func (b *cBuilder) merge(x, y uint32) uint32 {
	return b.call("merge", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_merge(b.ptr, C.uint32_t(x), C.uint32_t(y), out)
	})
}

func (b *cBuilder) sink(parent uint32, topic string) uint32 {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	return b.call("to "+topic, func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_sink(b.ptr, C.uint32_t(parent), ct, out)
	})
}

func (b *cBuilder) sinkPerRecord(parent uint32) uint32 {
	return b.call("to (a topic per record)", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_sink_per_record(b.ptr, C.uint32_t(parent), out)
	})
}

func (b *cBuilder) repartition(parent uint32, name string) uint32 {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return b.call("repartition "+name, func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_repartition(b.ptr, C.uint32_t(parent), cn, out)
	})
}

func (b *cBuilder) repartitionStream(parent uint32, name string) uint32 {
	var cn *C.char
	if name != "" {
		cn = C.CString(name)
		defer C.free(unsafe.Pointer(cn))
	}
	return b.call("repartition", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_repartition_stream(b.ptr, C.uint32_t(parent), cn, out)
	})
}

// markKeyChanging tells the core that node may change keys (Map, FlatMap, SelectKey).
func (b *cBuilder) markKeyChanging(node uint32) {
	if b.ptr == nil || b.err != nil {
		return
	}
	if err := takeError(C.pk_topology_builder_mark_key_changing(b.ptr, C.uint32_t(node))); err != nil {
		b.err = fmt.Errorf("marking a key change: %w", err)
	}
}

// grouped is the node an aggregation of node reads: node, or a repartition of it named name
// when keys changed upstream (the core decides).
func (b *cBuilder) grouped(node uint32, name string) uint32 {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return b.call("grouping", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_grouped(b.ptr, C.uint32_t(node), cn, out)
	})
}

func (b *cBuilder) storeName(materialized string, reduce bool) string {
	if b.err != nil {
		return materialized
	}
	var cm *C.char
	if materialized != "" {
		cm = C.CString(materialized)
		defer C.free(unsafe.Pointer(cm))
	}
	var out *C.char
	if err := takeError(C.pk_topology_builder_aggregate_store_name(b.ptr, cm, C.bool(reduce), &out)); err != nil {
		b.err = err
		return materialized
	}
	defer C.pk_string_free(out)
	return C.GoString(out)
}

func (b *cBuilder) internalNames() (string, error) {
	if b.err != nil {
		return "", b.err
	}
	var out *C.char
	if err := takeError(C.pk_topology_builder_internal_names(b.ptr, &out)); err != nil {
		return "", err
	}
	defer C.pk_string_free(out)
	return C.GoString(out), nil
}

func (b *cBuilder) aggregate(parent uint32, store string, combine bool, windows *TimeWindows) uint32 {
	cs := C.CString(store)
	defer C.free(unsafe.Pointer(cs))
	kind := C.PK_AGGREGATE_COUNT
	if combine {
		kind = C.PK_AGGREGATE_COMBINE
	}
	return b.call("aggregation into "+store, func(out *C.uint32_t) *C.pk_error {
		if windows == nil {
			return C.pk_topology_builder_aggregate(b.ptr, C.uint32_t(parent), cs, C.int32_t(kind), nil, out)
		}
		w := cTimeWindows(*windows)
		return C.pk_topology_builder_aggregate(b.ptr, C.uint32_t(parent), cs, C.int32_t(kind), &w, out)
	})
}

func (b *cBuilder) sessionAggregate(parent uint32, store string, combine bool, windows SessionWindows) uint32 {
	cs := C.CString(store)
	defer C.free(unsafe.Pointer(cs))
	kind := C.PK_AGGREGATE_COUNT
	if combine {
		kind = C.PK_AGGREGATE_COMBINE
	}
	w := cSessionWindows(windows)
	return b.call("session aggregation into "+store, func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_session_aggregate(b.ptr, C.uint32_t(parent), cs, C.int32_t(kind), &w, out)
	})
}

// timestampExtractor gives the source node its extractor (a pk_timestamp_extractor value).
func (b *cBuilder) timestampExtractor(source uint32, kind int) {
	if b.ptr == nil || b.err != nil {
		return
	}
	if err := takeError(C.pk_topology_builder_timestamp_extractor(b.ptr, C.uint32_t(source), C.int32_t(kind))); err != nil {
		b.err = fmt.Errorf("timestamp extractor: %w", err)
	}
}

func (b *cBuilder) toStream(table uint32) uint32 {
	return b.call("to stream", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_to_stream(b.ptr, C.uint32_t(table), out)
	})
}

func (b *cBuilder) tableUser(table uint32, filter bool) uint32 {
	return b.call("table filter or map values", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_table_user(b.ptr, C.uint32_t(table), C.bool(filter), out)
	})
}

// table is builder.table(topic): its source and table nodes and its store's name.
func (b *cBuilder) table(topic, materialized string) (uint32, uint32, string) {
	if b.ptr == nil || b.err != nil {
		return 0, 0, materialized
	}
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	var cm *C.char
	if materialized != "" {
		cm = C.CString(materialized)
		defer C.free(unsafe.Pointer(cm))
	}
	var source, table C.uint32_t
	var store *C.char
	if err := takeError(C.pk_topology_builder_table(b.ptr, ct, cm, &source, &table, &store)); err != nil {
		b.err = fmt.Errorf("table: %w", err)
		return 0, 0, materialized
	}
	defer C.pk_string_free(store)
	return uint32(source), uint32(table), C.GoString(store)
}

func (b *cBuilder) joinTable(stream, table uint32, left bool) uint32 {
	return b.call("join", func(out *C.uint32_t) *C.pk_error {
		return C.pk_topology_builder_join_table(b.ptr, C.uint32_t(stream), C.uint32_t(table), C.bool(left), out)
	})
}

func (b *cBuilder) streamJoin(this, other uint32, w JoinWindows, kind int, name string) (uint32, uint32, uint32) {
	if b.err != nil {
		return 0, 0, 0
	}
	var cn *C.char
	if name != "" {
		cn = C.CString(name)
		defer C.free(unsafe.Pointer(cn))
	}
	cw := cJoinWindows(w)
	var t, o, j C.uint32_t
	if err := takeError(C.pk_topology_builder_stream_join(b.ptr, C.uint32_t(this), C.uint32_t(other), &cw, C.int32_t(kind), cn, &t, &o, &j)); err != nil {
		b.err = fmt.Errorf("stream join: %w", err)
		return 0, 0, 0
	}
	return uint32(t), uint32(o), uint32(j)
}

func (b *cBuilder) suppress(table uint32, name string, maxRecords, maxBytes uint64) uint32 {
	if b.err != nil {
		return 0
	}
	var cn *C.char
	if name != "" {
		cn = C.CString(name)
		defer C.free(unsafe.Pointer(cn))
	}
	var node C.uint32_t
	if err := takeError(C.pk_topology_builder_suppress(b.ptr, C.uint32_t(table), cn, C.uint64_t(maxRecords), C.uint64_t(maxBytes), &node, nil)); err != nil {
		b.err = fmt.Errorf("suppress: %w", err)
		return 0
	}
	return uint32(node)
}

// newConfig builds a native configuration from properties; the caller frees it.
func newConfig(props map[string]string) (*C.pk_config, error) {
	var cfg *C.pk_config
	if err := takeError(C.pk_config_new(&cfg)); err != nil {
		return nil, err
	}
	for k, v := range props {
		ck, cv := C.CString(k), C.CString(v)
		err := takeError(C.pk_config_set(cfg, ck, cv))
		C.free(unsafe.Pointer(ck))
		C.free(unsafe.Pointer(cv))
		if err != nil {
			C.pk_config_free(cfg)
			return nil, err
		}
	}
	return cfg, nil
}

// newNative creates the C instance for the builder's topology, its callbacks reaching h.
func newNative(b *cBuilder, props map[string]string, h cgo.Handle) (*C.pk_kafka_streams, error) {
	cfg, err := newConfig(props)
	if err != nil {
		return nil, err
	}
	defer C.pk_config_free(cfg)
	user := C.pk_go_streams_handle(C.uintptr_t(h))
	var s *C.pk_kafka_streams
	if err := takeError(C.pk_kafka_streams_new(b.ptr, cfg, C.pk_run_chain_cb(C.pkGoStreamsRunChain), C.pk_combine_cb(C.pkGoStreamsCombine), user, &s)); err != nil {
		return nil, err
	}
	if err := takeError(C.pk_kafka_streams_set_merger(s, C.pk_merge_cb(C.pkGoStreamsMerge))); err != nil {
		C.pk_kafka_streams_free(s)
		return nil, err
	}
	if err := takeError(C.pk_kafka_streams_set_timestamp_extractor(s, C.pk_extract_timestamps_cb(C.pkGoStreamsExtract))); err != nil {
		C.pk_kafka_streams_free(s)
		return nil, err
	}
	if err := takeError(C.pk_kafka_streams_set_state_listener(s, C.pk_streams_state_cb(C.pkGoStreamsState), user)); err != nil {
		C.pk_kafka_streams_free(s)
		return nil, err
	}
	if err := takeError(C.pk_kafka_streams_set_failure_handler(s, C.pk_streams_failure_cb(C.pkGoStreamsFailure), user)); err != nil {
		C.pk_kafka_streams_free(s)
		return nil, err
	}
	return s, nil
}

func stateOf(s C.pk_streams_state) State {
	switch s {
	case C.PK_STREAMS_CREATED:
		return Created
	case C.PK_STREAMS_REBALANCING:
		return Rebalancing
	case C.PK_STREAMS_RUNNING:
		return Running
	case C.PK_STREAMS_PENDING_SHUTDOWN:
		return PendingShutdown
	case C.PK_STREAMS_NOT_RUNNING:
		return NotRunning
	case C.PK_STREAMS_PENDING_ERROR:
		return PendingError
	}
	return ErrorState
}

func nativeStart(s *C.pk_kafka_streams) error { return takeError(C.pk_kafka_streams_start(s)) }

func nativeState(s *C.pk_kafka_streams) State {
	var st C.enum_pk_streams_state
	if err := takeError(C.pk_kafka_streams_state(s, &st)); err != nil {
		return NotRunning
	}
	return stateOf(C.pk_streams_state(st))
}

func nativeClose(s *C.pk_kafka_streams, timeout time.Duration) (bool, error) {
	t := C.int32_t(-1)
	if timeout >= 0 {
		t = C.int32_t(min(timeout.Milliseconds(), 1<<31-1))
	}
	var done C.bool
	err := takeError(C.pk_kafka_streams_close(s, t, &done))
	return bool(done), err
}

func nativeFree(s *C.pk_kafka_streams) { C.pk_kafka_streams_free(s) }

// Metrics are the instance's counters since it started (TimestampDropped: records dropped for a
// negative extracted timestamp).
type Metrics struct {
	Processed, LateDropped, Dropped, DeserializationSkipped, DeadLettered, Restored, Commits, TimestampDropped uint64
}

func nativeMetrics(s *C.pk_kafka_streams) Metrics {
	var m C.pk_streams_metrics
	if takeError(C.pk_kafka_streams_metrics(s, &m)) != nil {
		return Metrics{}
	}
	return Metrics{uint64(m.processed), uint64(m.late_dropped), uint64(m.dropped), uint64(m.deserialization_skipped), uint64(m.dead_lettered), uint64(m.restored), uint64(m.commits), uint64(m.timestamp_dropped)}
}

// rawEntry is one entry of a store query, copied to Go memory.
type rawEntry struct {
	key, value             []byte
	windowStart, windowEnd int64
}

const (
	qGet = iota
	qRange
	qAll
	qFetch
	qFindSessions
)

func nativeQuery(s *C.pk_kafka_streams, store string, q int, key, to []byte, hasFrom, hasTo bool, from, toMs int64) ([]rawEntry, error) {
	cs := C.CString(store)
	defer C.free(unsafe.Pointer(cs))
	// The keys go to C in C memory (a Go byte slice may be empty, which is not NULL here).
	ck := C.CBytes(append(append([]byte(nil), key...), 0))
	defer C.free(ck)
	ct := C.CBytes(append(append([]byte(nil), to...), 0))
	defer C.free(ct)
	var out *C.pk_store_entries
	var e *C.pk_error
	switch q {
	case qGet:
		e = C.pk_kafka_streams_store_get(s, cs, (*C.uint8_t)(ck), C.size_t(len(key)), &out)
	case qRange:
		var lo, hi *C.uint8_t
		if hasFrom {
			lo = (*C.uint8_t)(ck)
		}
		if hasTo {
			hi = (*C.uint8_t)(ct)
		}
		e = C.pk_kafka_streams_store_range(s, cs, lo, C.size_t(len(key)), hi, C.size_t(len(to)), &out)
	case qAll:
		e = C.pk_kafka_streams_store_all(s, cs, &out)
	case qFetch:
		e = C.pk_kafka_streams_store_fetch(s, cs, (*C.uint8_t)(ck), C.size_t(len(key)), C.int64_t(from), C.int64_t(toMs), &out)
	case qFindSessions:
		e = C.pk_kafka_streams_store_find_sessions(s, cs, (*C.uint8_t)(ck), C.size_t(len(key)), C.int64_t(from), C.int64_t(toMs), &out)
	}
	if err := takeError(e); err != nil {
		return nil, err
	}
	defer C.pk_store_entries_free(out)
	entries := unsafe.Slice(out.entries, out.len)
	res := make([]rawEntry, len(entries))
	for i, en := range entries {
		res[i] = rawEntry{C.GoBytes(unsafe.Pointer(en.key), C.int(en.key_len)), C.GoBytes(unsafe.Pointer(en.value), C.int(en.value_len)), int64(en.window_start), int64(en.window_end)}
	}
	return res, nil
}
