package streams

/*
#include <stdlib.h>
#include "polykafka.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"sync"
	"unsafe"
)

// The runtime's two batch callbacks, the state listener and the failure handler, all on the
// stream thread. One cgo crossing per batch and chain: records are read from the C array in
// place, every function of the chain runs in Go, and the results go back in one packed buffer.

// codec is a Serde with its type erased (values are passed between the steps of a chain as any).
type codec struct {
	ser   func(any) ([]byte, error)
	de    func([]byte) (any, error)
	serde any
}

func codecOf[T any](s Serde[T]) codec {
	return codec{
		ser: func(v any) ([]byte, error) {
			t, _ := v.(T)
			return s.Serialize(t)
		},
		de:    func(b []byte) (any, error) { return s.Deserialize(b) },
		serde: s,
	}
}

// emitFn passes a record on to the rest of the chain; port is the output port (a branch).
type emitFn func(port uint32, k, v any) error

// userOp is a stateless user node: step gets each record and emits any number of them.
type userOp struct {
	step                         func(k, v any, emit emitFn) error
	keyIn, valIn, keyOut, valOut codec
}

// combineOp is an aggregator, reducer or joiner: the new value from a record and its operand.
type combineOp struct {
	fn                      func(k, v, operand any, has bool) (any, error)
	keyIn, valIn, operandIn codec
	out                     codec
}

// extractOp is a source's timestamp extractor.
type extractOp struct {
	fn           func(k, v any, recordTs, partitionTime int64) (int64, error)
	keyIn, valIn codec
}

type compiled struct {
	keyIn, valIn codec
	run          func(k, v any) error
}

// runner holds the Go functions of a topology's nodes and runs them for the C callbacks.
type runner struct {
	ops      map[uint32]*userOp
	combines map[uint32]*combineOp
	merges   map[uint32]*combineOp // session mergers: fn(key, other session's aggregate, aggregate so far, has)
	extracts map[uint32]*extractOp // timestamp extractors of sources

	mu     sync.Mutex // the callbacks of one instance come from one thread; this is for safety
	chains map[string]*compiled
	// The batch being built.
	cur  int
	ts   int64
	data []byte
	recs []C.pk_packed_record
	vals []C.pk_packed_value
	ts64 []C.int64_t
}

func newRunner() *runner {
	return &runner{ops: map[uint32]*userOp{}, combines: map[uint32]*combineOp{}, merges: map[uint32]*combineOp{}, extracts: map[uint32]*extractOp{}, chains: map[string]*compiled{}}
}

// userError is a failure of a user function (an error, or a panic turned into one).
type userError struct{ err error }

func (e userError) Error() string { return e.err.Error() }
func (e userError) Unwrap() error { return e.err }

// PanicError is a panic of a user function, recovered on the stream thread.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

func (r *runner) pack(b []byte) (C.size_t, C.int64_t) {
	if b == nil {
		return 0, -1
	}
	off := len(r.data)
	r.data = append(r.data, b...)
	return C.size_t(off), C.int64_t(len(b))
}

func (r *runner) compile(chain []uint32) (*compiled, error) {
	steps := make([]*userOp, len(chain))
	for i, n := range chain {
		op := r.ops[n]
		if op == nil {
			return nil, fmt.Errorf("no Go function for node %d", n)
		}
		steps[i] = op
	}
	first, last := steps[0], steps[len(steps)-1]
	next := emitFn(func(port uint32, k, v any) error {
		kb, err := last.keyOut.ser(k)
		if err != nil {
			return userError{err}
		}
		vb, err := last.valOut.ser(v)
		if err != nil {
			return userError{err}
		}
		var rec C.pk_packed_record
		rec.input_index = C.size_t(r.cur)
		rec.port = C.uint32_t(port)
		rec.key_offset, rec.key_len = r.pack(kb)
		rec.value_offset, rec.value_len = r.pack(vb)
		rec.timestamp = C.int64_t(r.ts)
		r.recs = append(r.recs, rec)
		return nil
	})
	for i := len(steps) - 1; i >= 0; i-- {
		step, n := steps[i].step, next
		next = func(_ uint32, k, v any) error { return step(k, v, n) }
	}
	run := next
	return &compiled{keyIn: first.keyIn, valIn: first.valIn, run: func(k, v any) error { return run(0, k, v) }}, nil
}

func goBytes(p *C.uint8_t, n C.size_t) []byte {
	if p == nil {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(p), C.int(n))
}

// failure is what a batch stopped on.
type failure struct {
	index int
	deser bool
	err   error
}

func (f *failure) kind() C.pk_failure_kind {
	if f.deser {
		return C.PK_FAILURE_DESERIALIZATION
	}
	return C.PK_FAILURE_USER
}

// decode deserializes b with c; a panicking Serde is an error like a failing one.
func decode(c codec, b []byte) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{p}
		}
	}()
	return c.de(b)
}

// decodeRecord deserializes the key and value of input record i; a Serde's failure is a
// deserialization failure at i.
func decodeRecord(keyIn, valIn codec, rec *C.pk_stream_record, i int) (k, v any, f *failure) {
	k, err := decode(keyIn, goBytes(rec.key, rec.key_len))
	if err != nil {
		return nil, nil, &failure{i, true, fmt.Errorf("key: %w", err)}
	}
	if v, err = decode(valIn, goBytes(rec.value, rec.value_len)); err != nil {
		return nil, nil, &failure{i, true, fmt.Errorf("value: %w", err)}
	}
	return k, v, nil
}

// guarded runs f, turning a panic into a user failure.
func guarded(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = userError{&PanicError{p}}
		}
	}()
	return f()
}

func (r *runner) runChain(chain []uint32, recs []C.pk_stream_record) *failure {
	key := string(unsafe.Slice((*byte)(unsafe.Pointer(&chain[0])), len(chain)*4))
	c := r.chains[key]
	if c == nil {
		var err error
		if c, err = r.compile(chain); err != nil {
			return &failure{0, false, err}
		}
		r.chains[key] = c
	}
	for i := range recs {
		rec := &recs[i]
		k, v, f := decodeRecord(c.keyIn, c.valIn, rec, i)
		if f != nil {
			return f
		}
		r.cur, r.ts = i, int64(rec.timestamp)
		markRecs, markData := len(r.recs), len(r.data)
		if err := guarded(func() error { return c.run(k, v) }); err != nil {
			r.recs, r.data = r.recs[:markRecs], r.data[:markData]
			return &failure{i, false, err}
		}
	}
	return nil
}

func (r *runner) combine(ops map[uint32]*combineOp, node uint32, recs []C.pk_stream_record, operands []C.pk_operand) *failure {
	op := ops[node]
	if op == nil {
		return &failure{0, false, fmt.Errorf("no Go function for node %d", node)}
	}
	for i := range recs {
		rec := &recs[i]
		k, v, f := decodeRecord(op.keyIn, op.valIn, rec, i)
		if f != nil {
			return f
		}
		var o any
		var err error
		has := operands[i].data != nil
		if has {
			if o, err = decode(op.operandIn, goBytes(operands[i].data, operands[i].len)); err != nil {
				return &failure{i, true, fmt.Errorf("operand: %w", err)}
			}
		}
		var b []byte
		err = guarded(func() error {
			res, err := op.fn(k, v, o, has)
			if err != nil {
				return userError{err}
			}
			if b, err = op.out.ser(res); err != nil {
				return userError{err}
			}
			return nil
		})
		if err != nil {
			return &failure{i, false, err}
		}
		off, n := r.pack(b)
		r.vals = append(r.vals, C.pk_packed_value{offset: off, len: n})
	}
	return nil
}

func (r *runner) reset() {
	r.data, r.recs, r.vals = r.data[:0], r.recs[:0], r.vals[:0]
}

func dataPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func instanceOf(user unsafe.Pointer) *instance {
	in, _ := cgo.Handle(uintptr(user)).Value().(*instance)
	return in
}

func failWith(f *failure, in *instance, set func(idx C.size_t, kind C.pk_failure_kind, msg *C.char) *C.pk_error) {
	var ue userError
	if errors.As(f.err, &ue) {
		in.lastErr.Store(&errBox{ue.err})
	} else {
		in.lastErr.Store(&errBox{f.err})
	}
	msg := C.CString(f.err.Error())
	defer C.free(unsafe.Pointer(msg))
	C.pk_error_free(set(C.size_t(f.index), f.kind(), msg))
}

//export pkGoStreamsRunChain
func pkGoStreamsRunChain(user unsafe.Pointer, chain *C.uint32_t, chainLen C.size_t, records *C.pk_stream_record, n C.size_t, out *C.pk_chain_output) {
	in := instanceOf(user)
	r := in.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.reset()
	ids := unsafe.Slice((*uint32)(unsafe.Pointer(chain)), int(chainLen))
	f := r.runChain(ids, unsafe.Slice(records, int(n)))
	if len(r.recs) > 0 {
		C.pk_error_free(C.pk_chain_output_push_packed(out, dataPtr(r.data), C.size_t(len(r.data)), &r.recs[0], C.size_t(len(r.recs))))
	}
	if f != nil {
		failWith(f, in, func(i C.size_t, k C.pk_failure_kind, m *C.char) *C.pk_error {
			return C.pk_chain_output_fail(out, i, C.int32_t(k), m)
		})
	}
}

//export pkGoStreamsCombine
func pkGoStreamsCombine(user unsafe.Pointer, node C.uint32_t, records *C.pk_stream_record, operands *C.pk_operand, n C.size_t, out *C.pk_combine_output) {
	combineBatch(user, false, node, records, operands, n, out)
}

// pkGoStreamsMerge is the session merger callback: the combine callback over the mergers.
//
//export pkGoStreamsMerge
func pkGoStreamsMerge(user unsafe.Pointer, node C.uint32_t, records *C.pk_stream_record, operands *C.pk_operand, n C.size_t, out *C.pk_combine_output) {
	combineBatch(user, true, node, records, operands, n, out)
}

// combineBatch runs the combining function (merge: the session merger) of node on a batch and
// hands the values back in one call.
func combineBatch(user unsafe.Pointer, merge bool, node C.uint32_t, records *C.pk_stream_record, operands *C.pk_operand, n C.size_t, out *C.pk_combine_output) {
	in := instanceOf(user)
	r := in.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.reset()
	ops := r.combines
	if merge {
		ops = r.merges
	}
	f := r.combine(ops, uint32(node), unsafe.Slice(records, int(n)), unsafe.Slice(operands, int(n)))
	if len(r.vals) > 0 {
		C.pk_error_free(C.pk_combine_output_push_packed(out, dataPtr(r.data), C.size_t(len(r.data)), &r.vals[0], C.size_t(len(r.vals))))
	}
	if f != nil {
		failWith(f, in, func(i C.size_t, k C.pk_failure_kind, m *C.char) *C.pk_error {
			return C.pk_combine_output_fail(out, i, C.int32_t(k), m)
		})
	}
}

// extract runs the extractor of source on a batch of one partition's records, giving record i
// the partition time before it (the largest of partitionTime and the times extracted before).
func (r *runner) extract(source uint32, recs []C.pk_stream_record, partitionTime int64) *failure {
	op := r.extracts[source]
	if op == nil {
		return &failure{0, false, fmt.Errorf("no Go timestamp extractor for source node %d", source)}
	}
	for i := range recs {
		rec := &recs[i]
		k, v, f := decodeRecord(op.keyIn, op.valIn, rec, i)
		if f != nil {
			return f
		}
		var t int64
		err := guarded(func() error {
			var err error
			if t, err = op.fn(k, v, int64(rec.timestamp), partitionTime); err != nil {
				return userError{err}
			}
			return nil
		})
		if err != nil {
			return &failure{i, false, err}
		}
		partitionTime = max(partitionTime, t)
		r.ts64 = append(r.ts64, C.int64_t(t))
	}
	return nil
}

//export pkGoStreamsExtract
func pkGoStreamsExtract(user unsafe.Pointer, source C.uint32_t, records *C.pk_stream_record, n C.size_t, partitionTime C.int64_t, out *C.pk_timestamp_output) {
	in := instanceOf(user)
	r := in.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() { r.ts64 = r.ts64[:0] }()
	f := r.extract(uint32(source), unsafe.Slice(records, int(n)), int64(partitionTime))
	if len(r.ts64) > 0 {
		C.pk_error_free(C.pk_timestamp_output_push_many(out, &r.ts64[0], C.size_t(len(r.ts64))))
	}
	if f != nil {
		failWith(f, in, func(i C.size_t, k C.pk_failure_kind, m *C.char) *C.pk_error {
			return C.pk_timestamp_output_fail(out, i, C.int32_t(k), m)
		})
	}
}

//export pkGoStreamsState
func pkGoStreamsState(user unsafe.Pointer, newState, oldState C.pk_streams_state) {
	in := instanceOf(user)
	if in == nil {
		return
	}
	defer func() { _ = recover() }() // a panicking listener must not unwind into the runtime
	in.stateChanged(stateOf(oldState), stateOf(newState))
}

//export pkGoStreamsFailure
func pkGoStreamsFailure(user unsafe.Pointer, f *C.pk_streams_failure) {
	in := instanceOf(user)
	if in == nil {
		return
	}
	defer func() { _ = recover() }() // as in pkGoStreamsState
	e := &ProcessingError{Partition: int(f.partition), Offset: int64(f.offset), Message: C.GoString(f.message)}
	if f.topic != nil {
		e.Topic = C.GoString(f.topic)
	}
	switch f.kind {
	case C.int32_t(C.PK_FAILURE_USER):
		e.Kind = FailureUser
	case C.int32_t(C.PK_FAILURE_DESERIALIZATION):
		e.Kind = FailureDeserialization
	default:
		e.Kind = FailureKafka
	}
	if e.Kind != FailureKafka {
		if b := in.lastErr.Load(); b != nil {
			e.Err = b.err
		}
	}
	in.failed(e)
}
