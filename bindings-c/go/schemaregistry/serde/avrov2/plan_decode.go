package avrov2

import (
	"encoding/binary"
	"math"
	"reflect"
	"time"
	"unicode/utf8"
	"unsafe"
)

// A decode plan reads the Avro binary of one writer schema straight into a Go value of one
// type, storing what native.Assign stores from the core's decoded value (fields the record has
// not are left alone; a pointer is reused or allocated; slices and maps are new). Whatever the
// core's path would refuse or store otherwise gives errRecord and the caller runs that path.

type decodeFn func(r *avroReader, v reflect.Value) error

type avroReader struct {
	b     []byte
	owned bool // b is the reader's own copy: strings may share it
}

// text gives s (read from r) as a Go string: sharing r's own copy, else copied.
func (r *avroReader) text(s []byte) string {
	if r.owned && len(s) > 0 {
		return unsafe.String(unsafe.SliceData(s), len(s))
	}
	return string(s)
}

func (r *avroReader) long() (int64, error) {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if len(r.b) == 0 {
			return 0, errRecord
		}
		c := r.b[0]
		r.b = r.b[1:]
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, errRecord
}

func (r *avroReader) take(n int64) ([]byte, error) {
	if n < 0 || n > int64(len(r.b)) {
		return nil, errRecord
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out, nil
}

func (r *avroReader) str() ([]byte, error) {
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	s, err := r.take(n)
	if err == nil && !utf8.Valid(s) {
		err = errRecord
	}
	return s, err
}

// float reads a float (single) or a double; NaN and infinities (which JSON has not) give
// errRecord.
func (r *avroReader) float(single bool) (float64, error) {
	var f float64
	if single {
		b, err := r.take(4)
		if err != nil {
			return 0, err
		}
		f = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	} else {
		b, err := r.take(8)
		if err != nil {
			return 0, err
		}
		f = math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errRecord
	}
	return f, nil
}

// bytesOf reads a bytes or fixed datum of n (sharing the reader's buffer).
func (r *avroReader) bytesOf(n *avroNode) ([]byte, error) {
	if n.kind != aBytes {
		return r.take(int64(n.size))
	}
	l, err := r.long()
	if err != nil {
		return nil, err
	}
	return r.take(l)
}

// block gives the count of the next array or map block (its byte size skipped).
func (r *avroReader) block() (int64, error) {
	n, err := r.long()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		if _, err := r.long(); err != nil {
			return 0, err
		}
		n = -n
	}
	return n, nil
}

// items calls item for each item of an array or map, block after block.
func (r *avroReader) items(item func() error) error {
	for {
		k, err := r.block()
		if err != nil || k == 0 {
			return err
		}
		if k > int64(len(r.b)) { // a count the bytes cannot hold: the core's path
			return errRecord
		}
		for ; k > 0; k-- {
			if err := item(); err != nil {
				return err
			}
		}
	}
}

type decCompiler struct {
	memo map[encKey]*decodeFn
}

func compileDecoder(t reflect.Type, n *avroNode) (decodeFn, error) {
	c := &decCompiler{memo: map[encKey]*decodeFn{}}
	return c.compile(t, n)
}

func (c *decCompiler) compile(t reflect.Type, n *avroNode) (decodeFn, error) {
	key := encKey{t, n}
	if p, ok := c.memo[key]; ok {
		return func(r *avroReader, v reflect.Value) error { return (*p)(r, v) }, nil
	}
	slot := new(decodeFn)
	c.memo[key] = slot
	f, err := c.build(t, n)
	if err != nil {
		return nil, err
	}
	*slot = f
	return f, nil
}

func setZeroOrNil(v reflect.Value) { v.SetZero() }

func (c *decCompiler) build(t reflect.Type, n *avroNode) (decodeFn, error) {
	if t.Kind() == reflect.Interface && t.NumMethod() == 0 {
		return c.dynamic(n)
	}
	if n.kind == aUnion {
		return c.union(t, n)
	}
	if n.kind == aNull {
		return func(r *avroReader, v reflect.Value) error { setZeroOrNil(v); return nil }, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem, err := c.compile(t.Elem(), n)
		if err != nil {
			return nil, err
		}
		et := t.Elem()
		return func(r *avroReader, v reflect.Value) error {
			if v.IsNil() {
				v.Set(reflect.New(et))
			}
			return elem(r, v.Elem())
		}, nil
	case reflect.Interface:
		return nil, unsupported(t, n)
	}
	switch n.kind {
	case aBoolean:
		if t.Kind() == reflect.Bool {
			return func(r *avroReader, v reflect.Value) error {
				b, err := r.take(1)
				if err != nil || b[0] > 1 {
					return errRecord
				}
				v.SetBool(b[0] == 1)
				return nil
			}, nil
		}
	case aInt, aLong, aDate:
		return intDecoder(t, n)
	case aTimestampMillis, aTimestampMicros:
		millis := n.kind == aTimestampMillis
		micros := func(r *avroReader) (int64, error) {
			i, err := r.long()
			if err != nil || !millis {
				return i, err
			}
			return saturatingMul1000(i), nil
		}
		if t == timeType {
			return func(r *avroReader, v reflect.Value) error {
				us, err := micros(r)
				if err != nil {
					return err
				}
				v.Set(reflect.ValueOf(time.UnixMicro(us).UTC()))
				return nil
			}, nil
		}
		if t.Kind() == reflect.Int64 {
			return func(r *avroReader, v reflect.Value) error {
				us, err := micros(r)
				if err != nil {
					return err
				}
				v.SetInt(time.UnixMicro(us).UnixMilli())
				return nil
			}, nil
		}
	case aFloat, aDouble:
		if t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64 {
			single := n.kind == aFloat
			return func(r *avroReader, v reflect.Value) error {
				f, err := r.float(single)
				if err == nil {
					v.SetFloat(f)
				}
				return err
			}, nil
		}
	case aString, aUUID:
		if t.Kind() == reflect.String {
			return func(r *avroReader, v reflect.Value) error {
				s, err := r.str()
				if err != nil {
					return err
				}
				v.SetString(r.text(s))
				return nil
			}, nil
		}
	case aEnum:
		if t.Kind() == reflect.String {
			return func(r *avroReader, v reflect.Value) error {
				i, err := r.long()
				if err != nil || i < 0 || i >= int64(len(n.symbols)) {
					return errRecord
				}
				v.SetString(n.symbols[i])
				return nil
			}, nil
		}
	case aBytes, aFixed:
		if isBytes(t) {
			return bytesDecoder(t, n), nil
		}
	case aArray:
		if t.Kind() == reflect.Slice && !isBytes(t) {
			item, err := c.compile(t.Elem(), n.items)
			if err != nil {
				return nil, err
			}
			return func(r *avroReader, v reflect.Value) error {
				s := reflect.MakeSlice(t, 0, 0)
				err := r.items(func() error {
					s = reflect.Append(s, reflect.Zero(t.Elem()))
					return item(r, s.Index(s.Len()-1))
				})
				if err == nil {
					v.Set(s)
				}
				return err
			}, nil
		}
	case aMap:
		if t.Kind() == reflect.Map && t.Key().Kind() == reflect.String {
			val, err := c.compile(t.Elem(), n.items)
			if err != nil {
				return nil, err
			}
			kt, et := t.Key(), t.Elem()
			return func(r *avroReader, v reflect.Value) error {
				m := reflect.MakeMap(t)
				err := r.items(func() error {
					key, err := r.str()
					if err != nil {
						return err
					}
					x := reflect.New(et).Elem()
					if err := val(r, x); err != nil {
						return err
					}
					m.SetMapIndex(reflect.ValueOf(r.text(key)).Convert(kt), x)
					return nil
				})
				if err == nil {
					v.Set(m)
				}
				return err
			}, nil
		}
	case aRecord:
		if t.Kind() == reflect.Struct && t != timeType {
			return c.record(t, n)
		}
	}
	return nil, unsupported(t, n)
}

func saturatingMul1000(i int64) int64 {
	switch {
	case i > math.MaxInt64/1000:
		return math.MaxInt64
	case i < math.MinInt64/1000:
		return math.MinInt64
	}
	return i * 1000
}

func intDecoder(t reflect.Type, n *avroNode) (decodeFn, error) {
	date := n.kind == aDate
	read := func(r *avroReader) (int64, error) {
		i, err := r.long()
		if err == nil && date && (i < math.MinInt32 || i > math.MaxInt32) {
			err = errRecord
		}
		return i, err
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(r *avroReader, v reflect.Value) error {
			i, err := read(r)
			if err != nil || v.OverflowInt(i) {
				return errRecord
			}
			v.SetInt(i)
			return nil
		}, nil
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(r *avroReader, v reflect.Value) error {
			i, err := read(r)
			if err != nil || i < 0 || v.OverflowUint(uint64(i)) {
				return errRecord
			}
			v.SetUint(uint64(i))
			return nil
		}, nil
	case reflect.Float32, reflect.Float64:
		if date {
			break
		}
		return func(r *avroReader, v reflect.Value) error {
			i, err := read(r)
			if err != nil {
				return err
			}
			v.SetFloat(float64(i))
			return nil
		}, nil
	}
	return nil, unsupported(t, n)
}

func bytesDecoder(t reflect.Type, n *avroNode) decodeFn {
	return func(r *avroReader, v reflect.Value) error {
		b, err := r.bytesOf(n)
		if err != nil {
			return err
		}
		if t.Kind() == reflect.Slice {
			v.SetBytes(append(make([]byte, 0, len(b)), b...))
			return nil
		}
		if v.Len() != len(b) {
			return errRecord
		}
		reflect.Copy(v, reflect.ValueOf(b))
		return nil
	}
}

// union: null sets the zero value (nil for a pointer), the other branch decodes into the value.
func (c *decCompiler) union(t reflect.Type, n *avroNode) (decodeFn, error) {
	nullAt, otherAt, ok := nullUnion(n)
	if !ok {
		return nil, unsupported(t, n)
	}
	var other decodeFn
	if otherAt >= 0 {
		var err error
		if other, err = c.compile(t, n.branches[otherAt]); err != nil {
			return nil, err
		}
	}
	return func(r *avroReader, v reflect.Value) error {
		i, err := r.long()
		switch {
		case err != nil:
			return err
		case i == int64(nullAt):
			setZeroOrNil(v)
			return nil
		case i == int64(otherAt):
			return other(r, v)
		}
		return errRecord
	}, nil
}

func (c *decCompiler) record(t reflect.Type, n *avroNode) (decodeFn, error) {
	var fields []goField
	structFields(t, nil, &fields)
	type step struct {
		index []int
		dec   decodeFn // nil: skip the field's datum
		skip  func(r *avroReader) error
	}
	steps := make([]step, 0, len(n.fields))
	for _, af := range n.fields {
		var idx []int
		for _, gf := range fields {
			if gf.name == af.name {
				if idx != nil {
					return nil, unsupported(t, n) // two Go fields of one name
				}
				idx = gf.index
			}
		}
		if idx == nil {
			skip, err := skipper(af.node, 0)
			if err != nil {
				return nil, err
			}
			steps = append(steps, step{skip: skip})
			continue
		}
		dec, err := c.compile(t.FieldByIndex(idx).Type, af.node)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{index: idx, dec: dec})
	}
	return func(r *avroReader, v reflect.Value) error {
		for i := range steps {
			s := &steps[i]
			if s.dec == nil {
				if err := s.skip(r); err != nil {
					return err
				}
				continue
			}
			var fv reflect.Value
			if len(s.index) == 1 {
				fv = v.Field(s.index[0])
			} else {
				fv = v.FieldByIndex(s.index)
			}
			if err := s.dec(r, fv); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// skipper passes over a datum of n that the Go type has no field for (it must still be valid
// for the core's path to accept the record: invalid data gives errRecord).
func skipper(n *avroNode, depth int) (func(r *avroReader) error, error) {
	if depth > 16 { // a recursive record: the core's path
		return nil, errUnsupported
	}
	switch n.kind {
	case aNull:
		return func(*avroReader) error { return nil }, nil
	case aBoolean:
		return func(r *avroReader) error {
			b, err := r.take(1)
			if err != nil || b[0] > 1 {
				return errRecord
			}
			return nil
		}, nil
	case aInt, aLong, aDate, aTimeMillis, aTimeMicros, aTimestampMillis, aTimestampMicros:
		return func(r *avroReader) error { _, err := r.long(); return err }, nil
	case aFloat, aDouble:
		// NaN is refused by the core's path even in a field nobody reads
		return func(r *avroReader) error { _, err := r.float(n.kind == aFloat); return err }, nil
	case aString, aUUID:
		return func(r *avroReader) error { _, err := r.str(); return err }, nil
	case aBytes, aFixed:
		return func(r *avroReader) error { _, err := r.bytesOf(n); return err }, nil
	case aEnum:
		return func(r *avroReader) error {
			i, err := r.long()
			if err != nil || i < 0 || i >= int64(len(n.symbols)) {
				return errRecord
			}
			return nil
		}, nil
	case aUnion:
		var branches []func(r *avroReader) error
		for _, b := range n.branches {
			f, err := skipper(b, depth+1)
			if err != nil {
				return nil, err
			}
			branches = append(branches, f)
		}
		return func(r *avroReader) error {
			i, err := r.long()
			if err != nil || i < 0 || i >= int64(len(branches)) {
				return errRecord
			}
			return branches[i](r)
		}, nil
	case aRecord:
		var fields []func(r *avroReader) error
		for _, f := range n.fields {
			skip, err := skipper(f.node, depth+1)
			if err != nil {
				return nil, err
			}
			fields = append(fields, skip)
		}
		return func(r *avroReader) error {
			for _, f := range fields {
				if err := f(r); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
	// arrays, maps, decimals: the core's path
	return nil, errUnsupported
}
