package kafka

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "polykafka.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"sort"
	"sync"
	"unsafe"

	_ "github.com/polykafka/polykafka/bindings-c/go/internal/link" // the native library
)

// This file is the only one that knows the C ABI's memory rules:
//   - C never keeps a Go pointer: records are copied into one C allocation per batch, which the
//     library copies once more into its own buffers before the call returns;
//   - every C handle is owned by one Go object whose free is idempotent, with a finalizer as a
//     backup; calls hold a read lock so the handle is freed only after they return;
//   - runtime.KeepAlive follows every call that uses a handle.

// takeError converts a C error into a Go error and frees it. NULL gives nil.
func takeError(e *C.pk_error) error {
	if e == nil {
		return nil
	}
	defer C.pk_error_free(e)
	ne := &ClientError{
		Kind:             errorKind(C.pk_error_kind(C.pk_error_get_kind(e))),
		Code:             int16(C.pk_error_code(e)),
		Name:             C.GoString(C.pk_error_name(e)),
		Message:          C.GoString(C.pk_error_message(e)),
		Retriable:        bool(C.pk_error_retriable(e)),
		Fatal:            bool(C.pk_error_fatal(e)),
		TxnRequiresAbort: bool(C.pk_error_txn_requires_abort(e)),
	}
	return ne.kafkaError()
}

func errorKind(k C.pk_error_kind) string {
	switch k {
	case C.PK_ERROR_KIND_CONFIG:
		return "config"
	case C.PK_ERROR_KIND_CONNECTION:
		return "connection"
	case C.PK_ERROR_KIND_TLS:
		return "tls"
	case C.PK_ERROR_KIND_TIMEOUT:
		return "timeout"
	case C.PK_ERROR_KIND_AUTHENTICATION:
		return "authentication"
	case C.PK_ERROR_KIND_AUTHORIZATION:
		return "authorization"
	case C.PK_ERROR_KIND_BROKER:
		return "broker"
	case C.PK_ERROR_KIND_PROTOCOL:
		return "protocol"
	case C.PK_ERROR_KIND_CLOSED:
		return "closed"
	case C.PK_ERROR_KIND_INVALID_ARGUMENT:
		return "invalid_argument"
	case C.PK_ERROR_KIND_SERIALIZATION:
		return "serialization"
	case C.PK_ERROR_KIND_QUEUE_FULL:
		return "queue_full"
	case C.PK_ERROR_KIND_MESSAGE_TOO_LARGE:
		return "message_too_large"
	default:
		return "fatal"
	}
}

// newConfig builds a native configuration from properties. The caller frees it.
func newConfig(props map[string]string) (*C.pk_config, error) {
	var cfg *C.pk_config
	if err := takeError(C.pk_config_new(&cfg)); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ck, cv := C.CString(k), C.CString(props[k])
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

// canceller owns one pk_cancel token: the way a context ends a blocking native call. The
// goroutine that makes the calls binds the token to its (locked) OS thread; the caller
// triggers it when its context ends. C keeps no Go pointer: the token is C memory.
type canceller struct {
	mu  sync.Mutex // trigger and free may race: the caller gives up while the call returns
	ptr *C.pk_cancel
}

func newCanceller() (*canceller, error) {
	var ptr *C.pk_cancel
	if err := takeError(C.pk_cancel_new(&ptr)); err != nil {
		return nil, err
	}
	return &canceller{ptr: ptr}, nil
}

// inScope runs f with the token bound to the current goroutine's thread: every blocking native
// call f makes ends (with a cancelled error) once the token is triggered.
func (c *canceller) inScope(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := takeError(C.pk_cancel_scope_enter(c.ptr)); err != nil {
		panic(err) // only for a NULL token, which newCanceller never gives
	}
	defer C.pk_cancel_scope_leave()
	f()
}

func (c *canceller) trigger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.pk_cancel_trigger(c.ptr)
	}
}

func (c *canceller) free() {
	c.mu.Lock()
	defer c.mu.Unlock()
	C.pk_cancel_free(c.ptr)
	c.ptr = nil
}

// run runs f, which makes blocking native calls, so that ctx ends the wait: f runs on its own
// goroutine within a cancellation scope; when ctx ends first, the scope's token is triggered (f's
// native call returns at once and the goroutine ends, freeing what it holds) and ctx.Err() is
// returned without waiting for it. A context that cannot end runs f directly.
func run[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	done := ctx.Done()
	if done == nil {
		return f()
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	c, err := newCanceller()
	if err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r result
		c.inScope(func() { r.v, r.err = f() })
		c.free()
		ch <- r
	}()
	select {
	case <-done:
		c.trigger()
		return zero, ctx.Err()
	case r := <-ch:
		if r.err != nil && ctx.Err() != nil {
			return zero, ctx.Err() // f failed because ctx ended (its token was not triggered yet)
		}
		return r.v, r.err
	}
}

// nativeHandle names the C producer type outside this file.
type nativeHandle = C.pk_producer

// nativeProducer owns one pk_producer.
type nativeProducer struct {
	mu  sync.RWMutex // read-held by calls, write-held by free
	ptr *C.pk_producer

	// The C memory sendBatch copies records into, kept from call to call (a fresh allocation of
	// a megabyte per call costs page faults every time); a call that finds it in use allocates
	// its own.
	arenaMu   sync.Mutex
	arena     unsafe.Pointer
	arenaSize int
}

// maxKeptArena bounds the C memory a producer keeps between calls.
const maxKeptArena = 8 << 20

func newNativeProducer(props map[string]string) (*nativeProducer, error) {
	cfg, err := newConfig(props)
	if err != nil {
		return nil, err
	}
	defer C.pk_config_free(cfg)
	var ptr *C.pk_producer
	if err := takeError(C.pk_producer_new(cfg, &ptr)); err != nil {
		return nil, err
	}
	p := &nativeProducer{ptr: ptr}
	runtime.SetFinalizer(p, (*nativeProducer).free)
	return p, nil
}

// call runs f with the handle, or reports the producer closed.
func (p *nativeProducer) call(f func(*C.pk_producer) error) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.ptr == nil {
		return errClosedNative
	}
	err := f(p.ptr)
	runtime.KeepAlive(p)
	return err
}

func (p *nativeProducer) partitionCount(topic string) (int, error) {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	var n C.int32_t
	err := p.call(func(ptr *C.pk_producer) error {
		return takeError(C.pk_producer_partition_count_fail_fast(ptr, ct, &n))
	})
	return int(n), err
}

func (p *nativeProducer) close(timeoutMs int) error {
	return p.call(func(ptr *C.pk_producer) error {
		return takeError(C.pk_producer_close(ptr, C.int32_t(timeoutMs)))
	})
}

// sendNow makes the engine send what is queued now (ignoring linger) without waiting.
func sendNow(ptr *C.pk_producer) error {
	return takeError(C.pk_producer_send_now(ptr))
}

// free releases the handle; idempotent. Waits for calls in progress.
func (p *nativeProducer) free() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ptr != nil {
		C.pk_producer_free(p.ptr)
		p.ptr = nil
	}
	p.arenaMu.Lock()
	if p.arena != nil {
		C.free(p.arena)
		p.arena, p.arenaSize = nil, 0
	}
	p.arenaMu.Unlock()
	runtime.SetFinalizer(p, nil)
}

// withArena runs f with at least size bytes of C memory: the producer's kept arena when it is
// free and the size is within maxKeptArena, otherwise an allocation of the call's own.
func (p *nativeProducer) withArena(size int, f func(base unsafe.Pointer)) {
	if size <= maxKeptArena && p.arenaMu.TryLock() {
		defer p.arenaMu.Unlock()
		if p.arenaSize < size {
			C.free(p.arena)
			p.arena, p.arenaSize = nil, 0
			grown := max(size, 2*p.arenaSize, 64<<10)
			if p.arena = C.malloc(C.size_t(grown)); p.arena == nil {
				panic("kafka: out of memory")
			}
			p.arenaSize = grown
		}
		f(p.arena)
		return
	}
	base := C.malloc(C.size_t(size))
	if base == nil {
		panic("kafka: out of memory")
	}
	defer C.free(base)
	f(base)
}

// sendBatch copies the messages into C memory, queues them with one call, and returns the
// batch to wait on. Message i goes to topics[i] (topic for all when topics is nil) and to
// partition parts[i] (the engine's partitioner chooses when parts is nil).
func (p *nativeProducer) sendBatch(msgs []Message, topic string, topics []string, parts []int32) (*nativeBatch, error) {
	recSize := int(unsafe.Sizeof(C.pk_record{}))
	hdrSize := int(unsafe.Sizeof(C.pk_header{}))
	topicOf := func(i int) string {
		if topics == nil {
			return topic
		}
		return topics[i]
	}
	nHeaders, data := 0, 1
	for i := range msgs {
		m := &msgs[i]
		if i == 0 || (topics != nil && topics[i] != topics[i-1]) {
			data += len(topicOf(i)) + 1 // one copy per run of records of one topic
		}
		data += len(m.Key) + len(m.Value)
		for _, h := range m.Headers {
			data += len(h.Key) + 1 + len(h.Value)
		}
		nHeaders += len(m.Headers)
	}
	size := len(msgs)*recSize + nHeaders*hdrSize + data
	var batch *C.pk_batch
	var err error
	p.withArena(size, func(base unsafe.Pointer) {
		records := unsafe.Slice((*C.pk_record)(base), len(msgs))
		headers := unsafe.Slice((*C.pk_header)(unsafe.Add(base, len(msgs)*recSize)), nHeaders)
		arena := unsafe.Slice((*byte)(unsafe.Add(base, len(msgs)*recSize+nHeaders*hdrSize)), data)
		a, hpos := cArena{buf: arena}, 0
		for i := range msgs {
			m := &msgs[i]
			r := &records[i]
			if i == 0 || (topics != nil && topics[i] != topics[i-1]) {
				r.topic, r.topic_len = a.putString(topicOf(i))
			} else {
				r.topic, r.topic_len = records[i-1].topic, records[i-1].topic_len
			}
			r.partition = -1
			if parts != nil {
				r.partition = C.int32_t(parts[i])
			}
			r.key, r.key_len = a.put(m.Key)
			r.value, r.value_len = a.put(m.Value)
			r.headers, r.headers_len = nil, C.size_t(len(m.Headers))
			if len(m.Headers) > 0 {
				r.headers = &headers[hpos]
			}
			for _, h := range m.Headers {
				ch := &headers[hpos]
				hpos++
				// A NUL follows every key, so an empty key (length 0 = NUL-terminated) reads as "".
				ch.key, ch.key_len = a.putString(h.Key)
				ch.value, ch.value_len = a.put(h.Value)
			}
			r.timestamp_ms = 0
			if !m.Time.IsZero() {
				r.timestamp_ms = C.int64_t(m.Time.UnixMilli())
			}
			r.opaque = C.uint64_t(i)
		}
		err = p.call(func(ptr *C.pk_producer) error {
			return takeError(C.pk_producer_send_batch(ptr, &records[0], C.size_t(len(records)), &batch))
		})
	})
	if err != nil {
		return nil, err
	}
	b := &nativeBatch{ptr: batch, n: len(msgs)}
	runtime.SetFinalizer(b, (*nativeBatch).free)
	return b, nil
}

// cArena fills a C allocation with the bytes and strings of records.
type cArena struct {
	buf []byte
	pos int
}

// put copies b; nil stays NULL (a null key, value or header value).
func (a *cArena) put(b []byte) (*C.uint8_t, C.size_t) {
	if b == nil {
		return nil, 0
	}
	ptr := (*C.uint8_t)(unsafe.Pointer(&a.buf[a.pos]))
	a.pos += copy(a.buf[a.pos:], b)
	return ptr, C.size_t(len(b))
}

// putString copies s and a NUL.
func (a *cArena) putString(s string) (*C.char, C.size_t) {
	ptr := (*C.char)(unsafe.Pointer(&a.buf[a.pos]))
	a.pos += copy(a.buf[a.pos:], s)
	a.buf[a.pos] = 0
	a.pos++
	return ptr, C.size_t(len(s))
}

// nativeBatch owns one pk_batch.
type nativeBatch struct {
	ptr *C.pk_batch
	n   int
}

// deliveries holds the outcome of a batch's records: the engine's reports, or one error for
// all. Its reports array goes back to a pool when released.
type deliveries struct {
	reports *[]C.pk_delivery_report
	err     error
}

var reportPool sync.Pool // *[]C.pk_delivery_report

// get gives record i's outcome (once: its error is taken from the report).
func (d *deliveries) get(i int) (partition int, offset, timestamp int64, err error) {
	if d.err != nil {
		return -1, -1, 0, d.err
	}
	if i >= len(*d.reports) {
		return -1, -1, 0, errors.New("kafka: the engine gave no delivery report for this message")
	}
	r := &(*d.reports)[i]
	if r.error != nil {
		err = takeError(r.error)
		r.error = nil
		return -1, -1, 0, err
	}
	return int(r.partition), int64(r.offset), int64(r.timestamp_ms), nil
}

// release frees the errors not taken and returns the reports to the pool.
func (d *deliveries) release() {
	if d.reports == nil {
		return
	}
	for i := range *d.reports {
		if e := (*d.reports)[i].error; e != nil {
			C.pk_error_free(e)
			(*d.reports)[i].error = nil
		}
	}
	reportPool.Put(d.reports)
	d.reports = nil
}

// wait blocks until every record completed (a blocking cgo call: run it on its own goroutine
// when the caller must stay responsive), then frees the batch. The caller releases the result.
func (b *nativeBatch) wait() *deliveries {
	reports, _ := reportPool.Get().(*[]C.pk_delivery_report)
	if reports == nil || cap(*reports) < b.n {
		r := make([]C.pk_delivery_report, b.n)
		reports = &r
	}
	*reports = (*reports)[:b.n]
	var n C.size_t
	d := &deliveries{reports: reports}
	d.err = takeError(C.pk_batch_wait(b.ptr, -1, &(*reports)[0], C.size_t(b.n), &n))
	if d.err == nil && int(n) < b.n {
		*reports = (*reports)[:n]
	}
	b.free()
	return d
}

func (b *nativeBatch) free() {
	if b.ptr != nil {
		C.pk_batch_free(b.ptr)
		b.ptr = nil
	}
	runtime.SetFinalizer(b, nil)
}

// nativeAdmin owns one pk_admin.
type nativeAdmin struct {
	mu  sync.RWMutex
	ptr *C.pk_admin
}

func newNativeAdmin(props map[string]string) (*nativeAdmin, error) {
	cfg, err := newConfig(props)
	if err != nil {
		return nil, err
	}
	defer C.pk_config_free(cfg)
	var ptr *C.pk_admin
	if err := takeError(C.pk_admin_new(cfg, &ptr)); err != nil {
		return nil, err
	}
	a := &nativeAdmin{ptr: ptr}
	runtime.SetFinalizer(a, (*nativeAdmin).free)
	return a, nil
}

func (a *nativeAdmin) call(f func(*C.pk_admin) error) error {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.ptr == nil {
		return errClosedNative
	}
	err := f(a.ptr)
	runtime.KeepAlive(a)
	return err
}

func (a *nativeAdmin) free() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ptr != nil {
		C.pk_admin_free(a.ptr)
		a.ptr = nil
	}
	runtime.SetFinalizer(a, nil)
}

// cStrings copies ss into one C allocation: an array of pointers, then the NUL-terminated
// strings. The caller frees the returned base with C.free.
func cStrings(ss []string) (unsafe.Pointer, []*C.char) {
	ptrSize := int(unsafe.Sizeof((*C.char)(nil)))
	size := len(ss)*ptrSize + 1
	for _, s := range ss {
		size += len(s) + 1
	}
	base := C.malloc(C.size_t(size))
	ptrs := unsafe.Slice((**C.char)(base), len(ss))
	arena := unsafe.Slice((*byte)(unsafe.Add(base, len(ss)*ptrSize)), size-len(ss)*ptrSize)
	pos := 0
	for i, s := range ss {
		ptrs[i] = (*C.char)(unsafe.Pointer(&arena[pos]))
		pos += copy(arena[pos:], s)
		arena[pos] = 0
		pos++
	}
	return base, ptrs
}

// createTopics creates topics; one error (or nil) per topic.
func (a *nativeAdmin) createTopics(topics []TopicConfig, validateOnly bool) ([]error, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	var strs []string
	nConfigs := 0
	for _, t := range topics {
		strs = append(strs, t.Topic)
		for _, e := range t.ConfigEntries {
			strs = append(strs, e.ConfigName, e.ConfigValue)
		}
		nConfigs += len(t.ConfigEntries)
	}
	base, ptrs := cStrings(strs)
	defer C.free(base)
	tbase := C.malloc(C.size_t(len(topics) * int(unsafe.Sizeof(C.pk_new_topic{}))))
	defer C.free(tbase)
	nts := unsafe.Slice((*C.pk_new_topic)(tbase), len(topics))
	// Keys and values as parallel arrays, in C memory too.
	kvBase := C.malloc(C.size_t(2*nConfigs*int(unsafe.Sizeof((*C.char)(nil))) + 1))
	defer C.free(kvBase)
	kv := unsafe.Slice((**C.char)(kvBase), 2*nConfigs)
	si, ki := 0, 0
	for i, t := range topics {
		nt := &nts[i]
		nt.name = ptrs[si]
		si++
		nt.num_partitions = C.int32_t(t.NumPartitions)
		if t.NumPartitions == 0 {
			nt.num_partitions = -1
		}
		nt.replication_factor = C.int16_t(t.ReplicationFactor)
		if t.ReplicationFactor == 0 {
			nt.replication_factor = -1
		}
		n := len(t.ConfigEntries)
		nt.configs_len = C.size_t(n)
		nt.config_keys, nt.config_values = nil, nil
		if n > 0 {
			keys, values := kv[ki:ki+n], kv[nConfigs+ki:nConfigs+ki+n]
			for j := 0; j < n; j++ {
				keys[j], values[j] = ptrs[si], ptrs[si+1]
				si += 2
			}
			nt.config_keys, nt.config_values = &keys[0], &values[0]
			ki += n
		}
	}
	results := make([]*C.pk_error, len(topics))
	err := a.call(func(ptr *C.pk_admin) error {
		return takeError(C.pk_admin_create_topics(ptr, &nts[0], C.size_t(len(nts)), C.bool(validateOnly), &results[0]))
	})
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(topics))
	for i, r := range results {
		errs[i] = takeError(r)
	}
	return errs, nil
}

func (a *nativeAdmin) deleteTopics(names []string) ([]error, error) {
	if len(names) == 0 {
		return nil, nil
	}
	base, ptrs := cStrings(names)
	defer C.free(base)
	results := make([]*C.pk_error, len(names))
	err := a.call(func(ptr *C.pk_admin) error {
		return takeError(C.pk_admin_delete_topics(ptr, &ptrs[0], C.size_t(len(names)), &results[0]))
	})
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(names))
	for i, r := range results {
		errs[i] = takeError(r)
	}
	return errs, nil
}

func (a *nativeAdmin) listTopics(internal bool) ([]string, error) {
	var list *C.pk_string_list
	err := a.call(func(ptr *C.pk_admin) error {
		return takeError(C.pk_admin_list_topics(ptr, C.bool(internal), &list))
	})
	if err != nil {
		return nil, err
	}
	defer C.pk_string_list_free(list)
	names := make([]string, int(C.pk_string_list_len(list)))
	for i := range names {
		names[i] = C.GoString(C.pk_string_list_get(list, C.size_t(i)))
	}
	return names, nil
}

func (a *nativeAdmin) partitionCount(topic string) (int, error) {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	var n C.int32_t
	err := a.call(func(ptr *C.pk_admin) error {
		return takeError(C.pk_admin_partition_count(ptr, ct, &n))
	})
	return int(n), err
}

// Version is the version of the polykafka engine linked into the program (pk_version() of the C
// ABI; the same number as every polykafka package of this release). It is ours: kafka-go has no
// such function, and confluent-kafka-go's equivalent is LibraryVersion().
func Version() string {
	return C.GoString(C.pk_version())
}

// panicForTests makes the engine panic inside the C ABI's guard (tests only): the panic comes
// back as a *ClientError of kind "fatal".
func panicForTests() error {
	return takeError(C.pk_panic_for_tests())
}
