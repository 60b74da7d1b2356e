package avrov2

import (
	"encoding/binary"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/schemaregistry"
)

// Compiled plans (plan_encode.go, plan_decode.go) take the per-record work off the core's
// path once the core has done the first record of a Go type: the core registers or looks up
// the schema and frames that record, its schema id and the registered schema's text give the
// plan, and the plan's bytes (or decoded value) for that same record must equal the core's,
// else the type keeps the core's path for good. After that a record crosses no cgo: the
// framing (magic byte 0, 4-byte big-endian id) is written in Go with the core's id.

// Logger, when set, receives the plans' debug messages (a plan not compiled or not equal to
// the core's result, and the type kept on the core's path).
var Logger interface {
	Printf(format string, args ...interface{})
}

func debugf(format string, args ...interface{}) {
	if l := Logger; l != nil {
		l.Printf("avrov2: "+format, args...)
	}
}

// wireMagic is the Confluent wire format's first byte.
const wireMagic = 0

type planKey struct {
	topic string
	t     reflect.Type
}

type encPlan struct {
	enc    encodeFn // nil: the core's path for this type
	header [5]byte
	made   time.Time
}

// encPlans is a serializer's plans per (topic, Go type): the topic picks the subject, hence the
// id. ttl > 0 (use.latest.version with cache.latest.ttl.sec): a plan lasts as long as the
// core keeps the latest version, then the core's path runs again and gives the id anew.
type encPlans struct {
	mu     sync.RWMutex
	m      map[planKey]*encPlan
	last   atomic.Pointer[lastEnc] // the plan used last: most serializers see one topic and type
	closed atomic.Bool
	ttl    time.Duration
	// counts for the tests: records the plan wrote, records the core wrote
	planned, cored atomic.Int64
}

type lastEnc struct {
	k planKey
	e *encPlan
}

func (p *encPlans) get(k planKey) *encPlan {
	var e *encPlan
	if l := p.last.Load(); l != nil && l.k == k {
		e = l.e
	} else {
		p.mu.RLock()
		e = p.m[k]
		p.mu.RUnlock()
		if e != nil {
			p.last.Store(&lastEnc{k, e})
		}
	}
	if e != nil && p.ttl > 0 && time.Since(e.made) >= p.ttl {
		return nil
	}
	return e
}

func (p *encPlans) put(k planKey, e *encPlan) {
	p.mu.Lock()
	p.m[k] = e
	p.last.Store(nil)
	p.mu.Unlock()
}

func (p *encPlans) count(planned bool) {
	if planned {
		p.planned.Add(1)
	} else {
		p.cored.Add(1)
	}
}

func latestTTL(client schemaregistry.Client, latest bool) time.Duration {
	c, ok := client.(interface{ Config() *schemaregistry.Config })
	if !latest || !ok || c.Config().CacheLatestTTLSecs < 0 {
		return 0
	}
	// 0 s: the core looks the latest up every time, and so must every record here
	return max(time.Duration(c.Config().CacheLatestTTLSecs)*time.Second, time.Nanosecond)
}

// learn builds the plan of (topic, t) from a record the core framed (framed) out of v.
func (s *Serializer) learn(k planKey, v reflect.Value, framed []byte) {
	e := &encPlan{made: time.Now()}
	if len(framed) < 5 || framed[0] != wireMagic {
		debugf("%s: the core's framing is not the classic one; the core's path is kept", k.t)
		s.plans.put(k, e)
		return
	}
	copy(e.header[:], framed[:5])
	id := int(binary.BigEndian.Uint32(framed[1:5]))
	reg, err := s.reg.ByID(id)
	if err != nil {
		return // the next record tries again
	}
	defer s.plans.put(k, e)
	if len(reg.Schema.References) > 0 {
		debugf("%s: schema %d has references; the core's path is kept", k.t, id)
		return
	}
	enc, err := compilePlanEncoder(k.t, reg.Schema.Text)
	if err != nil {
		debugf("%s: schema %d: no plan (%v); the core's path is kept", k.t, id, err)
		return
	}
	out, err := enc(e.header[:], v)
	if err != nil {
		debugf("%s: schema %d: the plan left the first record to the core; the core's path is kept", k.t, id)
		return
	}
	if !equalBytes(out, framed) {
		debugf("%s: schema %d: the plan wrote %x, the core %x; the core's path is kept for this type", k.t, id, out, framed)
		return
	}
	e.enc = enc
}

// compilePlanEncoder is a var so that a test can make a plan that disagrees with the core.
var compilePlanEncoder = func(t reflect.Type, schema string) (encodeFn, error) {
	n, err := parseAvroSchema(schema)
	if err != nil {
		return nil, err
	}
	return compileEncoder(t, n)
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

// encode writes v with plan e; errRecord (or any error): the caller runs the core's path.
func (e *encPlan) encode(v reflect.Value) ([]byte, error) {
	out := make([]byte, 5, 64)
	copy(out, e.header[:])
	return e.enc(out, v)
}

type decKey struct {
	id int
	t  reflect.Type
}

type decPlans struct {
	mu     sync.RWMutex
	m      map[decKey]decodeFn // nil value: the core's path for this (id, type)
	last   atomic.Pointer[lastDec]
	closed atomic.Bool
	// counts for the tests
	planned, cored atomic.Int64
}

type lastDec struct {
	k   decKey
	dec decodeFn
}

func (p *decPlans) get(k decKey) (decodeFn, bool) {
	if l := p.last.Load(); l != nil && l.k == k {
		return l.dec, true
	}
	p.mu.RLock()
	f, ok := p.m[k]
	p.mu.RUnlock()
	if ok {
		p.last.Store(&lastDec{k, f})
	}
	return f, ok
}

func (p *decPlans) count(planned bool) {
	if planned {
		p.planned.Add(1)
	} else {
		p.cored.Add(1)
	}
}

// compilePlanDecoder is a var so that a test can make a plan that disagrees with the core.
var compilePlanDecoder = func(t reflect.Type, schema string) (decodeFn, error) {
	n, err := parseAvroSchema(schema)
	if err != nil {
		return nil, err
	}
	return compileDecoder(t, n)
}

// learn builds the decode plan of (id, t) from payload, which the core has just decoded into
// a value of t without error: the plan must store the same value.
func (d *Deserializer) learn(k decKey, topic string, payload []byte) {
	reg, err := d.reg.ByID(k.id)
	if err != nil {
		return // the core's path gives this record's error; the next record tries again
	}
	byCore, byPlan := reflect.New(k.t), reflect.New(k.t)
	if err := d.intoByCore(topic, payload, byCore.Elem()); err != nil {
		return
	}
	var f decodeFn
	defer func() {
		d.plans.mu.Lock()
		d.plans.m[k] = f
		d.plans.mu.Unlock()
	}()
	if len(reg.Schema.References) > 0 {
		debugf("%s: schema %d has references; the core's path is kept", k.t, k.id)
		return
	}
	dec, err := compilePlanDecoder(k.t, reg.Schema.Text)
	if err != nil {
		debugf("%s: schema %d: no plan (%v); the core's path is kept", k.t, k.id, err)
		return
	}
	r := &avroReader{b: payload[5:]}
	if err := dec(r, byPlan.Elem()); err != nil || len(r.b) != 0 {
		debugf("%s: schema %d: the plan left the first record to the core; the core's path is kept", k.t, k.id)
		return
	}
	if !reflect.DeepEqual(byCore.Interface(), byPlan.Interface()) {
		debugf("%s: schema %d: the plan read %+v, the core %+v; the core's path is kept for this type", k.t, k.id,
			byPlan.Elem().Interface(), byCore.Elem().Interface())
		return
	}
	f = dec
}

// planned decodes payload into v with the plan of its id and v's type, when there is one and
// it takes the record; false: the caller runs the core's path.
func (d *Deserializer) planned(topic string, payload []byte, v reflect.Value) bool {
	if d.noPlans || d.plans.closed.Load() || len(payload) < 5 || payload[0] != wireMagic {
		return false
	}
	k := decKey{int(binary.BigEndian.Uint32(payload[1:5])), v.Type()}
	dec, ok := d.plans.get(k)
	if !ok {
		// the core reads the first record of (id, type); the plan is learnt from it
		d.learn(k, topic, payload)
		return false
	}
	if dec == nil {
		return false
	}
	// one copy of the datum, which the decoded strings share (bytes are copied on their own)
	r := &avroReader{b: append([]byte(nil), payload[5:]...), owned: true}
	ok = dec(r, v) == nil && len(r.b) == 0
	d.plans.count(ok)
	return ok
}
