package avrov2

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"time"
	"unicode/utf8"
)

// An encode plan writes the Avro binary of a Go value of one type for one writer schema,
// straight from the value by reflection (no JSON in between). It encodes what the core's path
// (native.ToTree, then the core's encoder) encodes, to the same bytes; for any value the core
// would refuse or treat otherwise (out of range, NaN, invalid UTF-8, a nil where a value is
// needed, ...) it gives errRecord and the caller runs the core's path, whose error is the one
// returned.

type encodeFn func(b []byte, v reflect.Value) ([]byte, error)

var errRecord = errors.New("the compiled plan leaves this record to the core")

type encKey struct {
	t reflect.Type
	n *avroNode
}

type encCompiler struct {
	memo map[encKey]*encodeFn
}

func compileEncoder(t reflect.Type, n *avroNode) (encodeFn, error) {
	c := &encCompiler{memo: map[encKey]*encodeFn{}}
	return c.compile(t, n)
}

func appendLong(b []byte, i int64) []byte {
	u := uint64(i<<1) ^ uint64(i>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func (c *encCompiler) compile(t reflect.Type, n *avroNode) (encodeFn, error) {
	key := encKey{t, n}
	if p, ok := c.memo[key]; ok {
		// a recursive type: call through the slot filled below
		return func(b []byte, v reflect.Value) ([]byte, error) { return (*p)(b, v) }, nil
	}
	slot := new(encodeFn)
	c.memo[key] = slot
	f, err := c.build(t, n)
	if err != nil {
		return nil, err
	}
	*slot = f
	return f, nil
}

func unsupported(t reflect.Type, n *avroNode) error {
	return fmt.Errorf("Go %s as Avro kind %d: %w", t, n.kind, errUnsupported)
}

func isBytes(t reflect.Type) bool {
	return (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() == reflect.Uint8
}

func (c *encCompiler) build(t reflect.Type, n *avroNode) (encodeFn, error) {
	if n.kind == aUnion {
		return c.union(t, n)
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem, err := c.compile(t.Elem(), n)
		if err != nil {
			return nil, err
		}
		return func(b []byte, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return b, errRecord
			}
			return elem(b, v.Elem())
		}, nil
	case reflect.Interface, reflect.Uint8, reflect.Uintptr, reflect.Complex64, reflect.Complex128,
		reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Invalid:
		return nil, unsupported(t, n)
	}
	switch n.kind {
	case aBoolean:
		if t.Kind() == reflect.Bool {
			return func(b []byte, v reflect.Value) ([]byte, error) {
				if v.Bool() {
					return append(b, 1), nil
				}
				return append(b, 0), nil
			}, nil
		}
	case aInt, aDate, aTimeMillis:
		if get := intGetter(t); get != nil {
			return func(b []byte, v reflect.Value) ([]byte, error) {
				i, ok := get(v)
				if !ok || i < math.MinInt32 || i > math.MaxInt32 {
					return b, errRecord
				}
				return appendLong(b, i), nil
			}, nil
		}
	case aLong, aTimeMicros:
		if get := intGetter(t); get != nil {
			return longEncoder(get), nil
		}
	case aTimestampMillis, aTimestampMicros:
		if get := intGetter(t); get != nil {
			return longEncoder(get), nil
		}
		if t == timeType {
			micros := n.kind == aTimestampMicros
			return func(b []byte, v reflect.Value) ([]byte, error) {
				tm := v.Interface().(time.Time)
				if micros {
					return appendLong(b, tm.UnixMicro()), nil
				}
				return appendLong(b, floorDiv(tm.UnixMicro(), 1000)), nil
			}, nil
		}
	case aFloat, aDouble:
		return floatEncoder(t, n.kind == aFloat)
	case aString, aUUID:
		if t.Kind() == reflect.String {
			return func(b []byte, v reflect.Value) ([]byte, error) {
				s := v.String()
				if !utf8.ValidString(s) {
					return b, errRecord // JSON would carry U+FFFD: the core's path decides
				}
				b = appendLong(b, int64(len(s)))
				return append(b, s...), nil
			}, nil
		}
	case aEnum:
		if t.Kind() == reflect.String {
			index := make(map[string]int64, len(n.symbols))
			for i, s := range n.symbols {
				index[s] = int64(i)
			}
			return func(b []byte, v reflect.Value) ([]byte, error) {
				i, ok := index[v.String()]
				if !ok {
					return b, errRecord
				}
				return appendLong(b, i), nil
			}, nil
		}
	case aBytes, aFixed, aDecimal:
		if isBytes(t) {
			return bytesEncoder(t, n), nil
		}
	case aArray:
		if (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && !isBytes(t) {
			item, err := c.compile(t.Elem(), n.items)
			if err != nil {
				return nil, err
			}
			return func(b []byte, v reflect.Value) ([]byte, error) {
				if l := v.Len(); l > 0 {
					b = appendLong(b, int64(l))
					for i := 0; i < l; i++ {
						var err error
						if b, err = item(b, v.Index(i)); err != nil {
							return b, err
						}
					}
				}
				return append(b, 0), nil
			}, nil
		}
	case aMap:
		if t.Kind() == reflect.Map && t.Key().Kind() == reflect.String {
			return c.mapEncoder(t, n)
		}
	case aRecord:
		if t.Kind() == reflect.Struct && t != timeType {
			return c.record(t, n)
		}
	}
	return nil, unsupported(t, n)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// intGetter reads the Go integer kinds the core's path accepts as integers (uint8 is not one).
func intGetter(t reflect.Type) func(v reflect.Value) (int64, bool) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(v reflect.Value) (int64, bool) { return v.Int(), true }
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(v reflect.Value) (int64, bool) {
			u := v.Uint()
			return int64(u), u <= math.MaxInt64
		}
	}
	return nil
}

func longEncoder(get func(v reflect.Value) (int64, bool)) encodeFn {
	return func(b []byte, v reflect.Value) ([]byte, error) {
		i, ok := get(v)
		if !ok {
			return b, errRecord
		}
		return appendLong(b, i), nil
	}
}

func floatEncoder(t reflect.Type, single bool) (encodeFn, error) {
	put := func(b []byte, f float64) []byte {
		if single {
			u := math.Float32bits(float32(f))
			return append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
		}
		u := math.Float64bits(f)
		return append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
	}
	if get := intGetter(t); get != nil {
		return func(b []byte, v reflect.Value) ([]byte, error) {
			i, ok := get(v)
			if !ok {
				return b, errRecord
			}
			if single {
				return put(b, float64(float32(i))), nil
			}
			return put(b, float64(i)), nil
		}, nil
	}
	if t.Kind() != reflect.Float32 && t.Kind() != reflect.Float64 {
		return nil, fmt.Errorf("Go %s as a float: %w", t, errUnsupported)
	}
	return func(b []byte, v reflect.Value) ([]byte, error) {
		f := v.Float()
		// JSON has no NaN or infinity, and writes -0 as an integer: the core's path decides
		if math.IsNaN(f) || math.IsInf(f, 0) || (f == 0 && math.Signbit(f)) {
			return b, errRecord
		}
		return put(b, f), nil
	}, nil
}

func bytesEncoder(t reflect.Type, n *avroNode) encodeFn {
	sized := n.kind == aFixed || (n.kind == aDecimal && n.size > 0)
	return func(b []byte, v reflect.Value) ([]byte, error) {
		if v.Kind() == reflect.Slice && v.IsNil() {
			return b, errRecord // null where bytes are needed
		}
		l := v.Len()
		if sized {
			if l != n.size {
				return b, errRecord
			}
		} else {
			b = appendLong(b, int64(l))
		}
		if v.Kind() == reflect.Slice {
			return append(b, v.Bytes()...), nil
		}
		for i := 0; i < l; i++ {
			b = append(b, byte(v.Index(i).Uint()))
		}
		return b, nil
	}
}

func (c *encCompiler) mapEncoder(t reflect.Type, n *avroNode) (encodeFn, error) {
	val, err := c.compile(t.Elem(), n.items)
	if err != nil {
		return nil, err
	}
	return func(b []byte, v reflect.Value) ([]byte, error) {
		l := v.Len()
		if l > 0 {
			keys := make([]reflect.Value, 0, l)
			iter := v.MapRange()
			for iter.Next() {
				keys = append(keys, iter.Key())
			}
			// in key order, as native.ToTree gives them to the core
			sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
			b = appendLong(b, int64(l))
			for _, k := range keys {
				s := k.String()
				if !utf8.ValidString(s) {
					return b, errRecord
				}
				b = appendLong(b, int64(len(s)))
				b = append(b, s...)
				var err error
				if b, err = val(b, v.MapIndex(k)); err != nil {
					return b, err
				}
			}
		}
		return append(b, 0), nil
	}, nil
}

// union compiles a union of null and at most one other branch: a nil pointer (or nil []byte)
// is the null branch, any other value the other one, as the core picks the first branch a
// value fits.
func (c *encCompiler) union(t reflect.Type, n *avroNode) (encodeFn, error) {
	nullAt, otherAt, ok := nullUnion(n)
	if !ok {
		return nil, fmt.Errorf("union of %d branches: %w", len(n.branches), errUnsupported)
	}
	nullable := t.Kind() == reflect.Pointer || (t.Kind() == reflect.Slice && isBytes(t))
	var other encodeFn
	if otherAt >= 0 {
		et := t
		if t.Kind() == reflect.Pointer {
			et = t.Elem()
		}
		var err error
		if other, err = c.compile(et, n.branches[otherAt]); err != nil {
			return nil, err
		}
	}
	return func(b []byte, v reflect.Value) ([]byte, error) {
		if nullable && v.IsNil() {
			if nullAt < 0 {
				return b, errRecord
			}
			return appendLong(b, int64(nullAt)), nil
		}
		if other == nil {
			return b, errRecord
		}
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		return other(appendLong(b, int64(otherAt)), v)
	}, nil
}

// goField is a struct field by its Avro name: its index path (through embedded structs, as
// native.ToTree flattens them).
type goField struct {
	name  string
	index []int
}

func structFields(t reflect.Type, prefix []int, out *[]goField) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(append([]int{}, prefix...), i)
		if f.Anonymous && f.Tag.Get("avro") == "" && f.Type.Kind() == reflect.Struct && f.Type != timeType {
			structFields(f.Type, idx, out)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name := avroName(f)
		if name == "-" {
			continue
		}
		*out = append(*out, goField{name, idx})
	}
}

func avroName(f reflect.StructField) string {
	name := f.Tag.Get("avro")
	for i := 0; i < len(name); i++ {
		if name[i] == ',' {
			name = name[:i]
			break
		}
	}
	if name == "" {
		name = f.Name
	}
	return name
}

func findField(fields []goField, name string) (goField, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return goField{}, false
}

func (c *encCompiler) record(t reflect.Type, n *avroNode) (encodeFn, error) {
	var fields []goField
	structFields(t, nil, &fields)
	type step struct {
		index []int
		enc   encodeFn
	}
	steps := make([]step, 0, len(n.fields))
	for _, af := range n.fields {
		gf, ok := findField(fields, af.name)
		if !ok {
			// the core fills a default (or refuses): its path
			return nil, fmt.Errorf("field %s missing from Go %s: %w", af.name, t, errUnsupported)
		}
		ft := t.FieldByIndex(gf.index).Type
		enc, err := c.compile(ft, af.node)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{gf.index, enc})
	}
	return func(b []byte, v reflect.Value) ([]byte, error) {
		for i := range steps {
			var fv reflect.Value
			if len(steps[i].index) == 1 {
				fv = v.Field(steps[i].index[0])
			} else {
				fv = v.FieldByIndex(steps[i].index)
			}
			var err error
			if b, err = steps[i].enc(b, fv); err != nil {
				return b, err
			}
		}
		return b, nil
	}, nil
}
