package native

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// The JSON forms of the C ABI for values JSON has not: {"$bytes": base64},
// {"$timestamp_us": n}, {"$date": n}, {"$time_us": n}, {"$decimal": "1.5"}.

var timeType = reflect.TypeOf(time.Time{})

// fieldName is a struct field's name in tag (avro or json): "" and false when skipped.
func fieldName(f reflect.StructField, tag string) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	name := f.Tag.Get(tag)
	if i := strings.IndexByte(name, ','); i >= 0 {
		name = name[:i]
	}
	if name == "-" {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}

// ToTree turns a Go value (struct with `avro` tags, map, slice, pointer, time.Time, []byte,
// basic types) into a tree of JSON values in the ABI's forms; record fields keep their order.
func ToTree(v reflect.Value, path string) (any, error) {
	if !v.IsValid() {
		return nil, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return ToTree(v.Elem(), path)
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > math.MaxInt64 {
			return nil, fmt.Errorf("%s: %d does not fit a 64-bit signed integer", path, v.Uint())
		}
		return int64(v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return v.Float(), nil
	case reflect.String:
		return v.String(), nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Slice && v.IsNil() {
				return nil, nil
			}
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(b)}, nil
		}
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}, nil
		}
		out := make([]any, v.Len())
		for i := range out {
			x, err := ToTree(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: a map key must be a string, not %s", path, v.Type().Key())
		}
		// in key order, so that a map's encoding does not depend on Go's iteration order
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		out := make(orderedMap, 0, len(keys))
		for _, key := range keys {
			k := key.String()
			x, err := ToTree(v.MapIndex(key), path+"."+k)
			if err != nil {
				return nil, err
			}
			out = append(out, kv{k, x})
		}
		return out, nil
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			return map[string]any{"$timestamp_us": t.UnixMicro()}, nil
		}
		out := orderedMap{}
		if err := structTree(v, path, &out); err != nil {
			return nil, err
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: cannot serialize a value of kind %s", path, v.Kind())
	}
}

// embedded says whether f is an embedded struct without a tag: its fields are the record's.
func embedded(f reflect.StructField) bool {
	return f.Anonymous && f.Tag.Get("avro") == "" && f.Type.Kind() == reflect.Struct && f.Type != timeType
}

func structTree(v reflect.Value, path string, out *orderedMap) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if embedded(t.Field(i)) {
			if err := structTree(v.Field(i), path, out); err != nil {
				return err
			}
			continue
		}
		name, ok := fieldName(t.Field(i), "avro")
		if !ok {
			continue
		}
		x, err := ToTree(v.Field(i), path+"."+name)
		if err != nil {
			return err
		}
		*out = append(*out, kv{name, x})
	}
	return nil
}

func assignStruct(dst reflect.Value, m map[string]any, path string) error {
	t := dst.Type()
	for i := 0; i < t.NumField(); i++ {
		if embedded(t.Field(i)) {
			if err := assignStruct(dst.Field(i), m, path); err != nil {
				return err
			}
			continue
		}
		name, ok := fieldName(t.Field(i), "avro")
		if !ok {
			continue
		}
		e, present := m[name]
		if !present {
			continue
		}
		if err := Assign(dst.Field(i), e, path+"."+name); err != nil {
			return err
		}
	}
	return nil
}

type kv struct {
	k string
	v any
}

// orderedMap marshals its entries in order.
type orderedMap []kv

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ParseTree parses JSON text with numbers kept as json.Number.
func ParseTree(text []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// Plain turns the ABI's tagged forms into Go values for an `any` target: []byte, time.Time
// (UTC), int64/float64 numbers; dates and times of day stay numbers (days, microseconds).
func Plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = Plain(x[i])
		}
		return x
	case map[string]any:
		if len(x) == 1 {
			for k, e := range x {
				switch k {
				case "$bytes":
					if s, ok := e.(string); ok {
						if b, err := base64.StdEncoding.DecodeString(s); err == nil {
							return b
						}
					}
				case "$timestamp_us":
					if n, ok := e.(json.Number); ok {
						if i, err := n.Int64(); err == nil {
							return time.UnixMicro(i).UTC()
						}
					}
				case "$date", "$time_us":
					return Plain(e)
				case "$decimal":
					return e
				}
			}
		}
		for k, e := range x {
			x[k] = Plain(e)
		}
		return x
	default:
		return v
	}
}

// Assign stores a parsed tree into dst (a settable value): structs by `avro` tags, maps,
// slices, pointers (nil for null), time.Time, []byte, numbers with range checks.
func Assign(dst reflect.Value, v any, path string) error {
	if dst.Kind() == reflect.Interface && dst.NumMethod() == 0 {
		if v == nil {
			dst.SetZero()
			return nil
		}
		dst.Set(reflect.ValueOf(Plain(v)))
		return nil
	}
	if dst.Kind() == reflect.Pointer {
		if v == nil {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		return Assign(dst.Elem(), v, path)
	}
	if v == nil {
		dst.SetZero()
		return nil
	}
	mismatch := func() error {
		return fmt.Errorf("%s: cannot store %T in a Go %s", path, v, dst.Type())
	}
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k, e := range m {
			if strings.HasPrefix(k, "$") {
				p := Plain(map[string]any{k: e})
				switch pv := p.(type) {
				case []byte:
					if dst.Kind() == reflect.Slice && dst.Type().Elem().Kind() == reflect.Uint8 {
						dst.SetBytes(pv)
						return nil
					}
					if dst.Kind() == reflect.Array && dst.Type().Elem().Kind() == reflect.Uint8 && dst.Len() == len(pv) {
						reflect.Copy(dst, reflect.ValueOf(pv))
						return nil
					}
					return mismatch()
				case time.Time:
					if dst.Type() == timeType {
						dst.Set(reflect.ValueOf(pv))
						return nil
					}
					if dst.Kind() == reflect.Int64 {
						dst.SetInt(pv.UnixMilli())
						return nil
					}
					return mismatch()
				default:
					if k == "$decimal" && dst.Kind() == reflect.String {
						dst.SetString(fmt.Sprint(pv))
						return nil
					}
					if k == "$date" || k == "$time_us" {
						return Assign(dst, e, path)
					}
				}
			}
		}
	}
	switch dst.Kind() {
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return mismatch()
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		i, err := n.Int64()
		if err != nil || dst.OverflowInt(i) {
			return fmt.Errorf("%s: %s does not fit a Go %s", path, n, dst.Type())
		}
		dst.SetInt(i)
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		i, err := n.Int64()
		if err != nil || i < 0 || dst.OverflowUint(uint64(i)) {
			return fmt.Errorf("%s: %s does not fit a Go %s", path, n, dst.Type())
		}
		dst.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return mismatch()
		}
		f, err := n.Float64()
		if err != nil {
			return mismatch()
		}
		dst.SetFloat(f)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch()
		}
		dst.SetString(s)
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			return mismatch()
		}
		s := reflect.MakeSlice(dst.Type(), len(a), len(a))
		for i, e := range a {
			if err := Assign(s.Index(i), e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		dst.Set(s)
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok || dst.Type().Key().Kind() != reflect.String {
			return mismatch()
		}
		out := reflect.MakeMapWithSize(dst.Type(), len(m))
		for k, e := range m {
			x := reflect.New(dst.Type().Elem()).Elem()
			if err := Assign(x, e, path+"."+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), x)
		}
		dst.Set(out)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return mismatch()
		}
		return assignStruct(dst, m, path)
	default:
		return mismatch()
	}
	return nil
}
