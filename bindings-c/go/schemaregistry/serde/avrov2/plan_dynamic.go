package avrov2

import (
	"math"
	"reflect"
	"time"
)

// Decoding into interface{} (Deserialize, and interface{} fields): the values native.Plain
// gives from the core's JSON: map[string]interface{} for records and maps, []interface{},
// int64 for int, long, date and times of day (microseconds), float64, string for strings,
// enums and uuids, []byte for bytes and fixed, time.Time (UTC) for timestamps, nil for null;
// a union gives its branch's value. Decimals are left to the core's path.

type dynamicFn func(r *avroReader) (interface{}, error)

func (c *decCompiler) dynamic(n *avroNode) (decodeFn, error) {
	f, err := c.dyn(n, map[*avroNode]*dynamicFn{})
	if err != nil {
		return nil, err
	}
	return func(r *avroReader, v reflect.Value) error {
		x, err := f(r)
		if err != nil {
			return err
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}, nil
}

func (c *decCompiler) dyn(n *avroNode, memo map[*avroNode]*dynamicFn) (dynamicFn, error) {
	if p, ok := memo[n]; ok {
		return func(r *avroReader) (interface{}, error) { return (*p)(r) }, nil
	}
	slot := new(dynamicFn)
	memo[n] = slot
	f, err := c.dynBuild(n, memo)
	if err != nil {
		return nil, err
	}
	*slot = f
	return f, nil
}

func (c *decCompiler) dynBuild(n *avroNode, memo map[*avroNode]*dynamicFn) (dynamicFn, error) {
	switch n.kind {
	case aNull:
		return func(*avroReader) (interface{}, error) { return nil, nil }, nil
	case aBoolean:
		return func(r *avroReader) (interface{}, error) {
			b, err := r.take(1)
			if err != nil || b[0] > 1 {
				return nil, errRecord
			}
			return b[0] == 1, nil
		}, nil
	case aInt, aLong, aDate, aTimeMicros:
		date := n.kind == aDate
		return func(r *avroReader) (interface{}, error) {
			i, err := r.long()
			if err == nil && date && (i < math.MinInt32 || i > math.MaxInt32) {
				err = errRecord
			}
			return i, err
		}, nil
	case aTimeMillis:
		return func(r *avroReader) (interface{}, error) {
			i, err := r.long()
			return saturatingMul1000(i), err
		}, nil
	case aTimestampMillis, aTimestampMicros:
		millis := n.kind == aTimestampMillis
		return func(r *avroReader) (interface{}, error) {
			us, err := r.long()
			if err != nil {
				return nil, err
			}
			if millis {
				us = saturatingMul1000(us)
			}
			return time.UnixMicro(us).UTC(), nil
		}, nil
	case aFloat, aDouble:
		single := n.kind == aFloat
		return func(r *avroReader) (interface{}, error) {
			f, err := r.float(single)
			if err != nil {
				return nil, err
			}
			return f, nil
		}, nil
	case aString, aUUID:
		return func(r *avroReader) (interface{}, error) {
			s, err := r.str()
			if err != nil {
				return nil, err
			}
			return r.text(s), nil
		}, nil
	case aEnum:
		return func(r *avroReader) (interface{}, error) {
			i, err := r.long()
			if err != nil || i < 0 || i >= int64(len(n.symbols)) {
				return nil, errRecord
			}
			return n.symbols[i], nil
		}, nil
	case aBytes, aFixed:
		return func(r *avroReader) (interface{}, error) {
			b, err := r.bytesOf(n)
			if err != nil {
				return nil, err
			}
			return append(make([]byte, 0, len(b)), b...), nil
		}, nil
	case aArray:
		item, err := c.dyn(n.items, memo)
		if err != nil {
			return nil, err
		}
		return func(r *avroReader) (interface{}, error) {
			out := []interface{}{}
			err := r.items(func() error {
				x, err := item(r)
				out = append(out, x)
				return err
			})
			return out, err
		}, nil
	case aMap:
		val, err := c.dyn(n.items, memo)
		if err != nil {
			return nil, err
		}
		return func(r *avroReader) (interface{}, error) {
			out := map[string]interface{}{}
			err := r.items(func() error {
				k, err := r.str()
				if err != nil {
					return err
				}
				x, err := val(r)
				out[r.text(k)] = x
				return err
			})
			return out, err
		}, nil
	case aRecord:
		fields := make([]dynamicFn, len(n.fields))
		for i, f := range n.fields {
			var err error
			if fields[i], err = c.dyn(f.node, memo); err != nil {
				return nil, err
			}
		}
		return func(r *avroReader) (interface{}, error) {
			out := make(map[string]interface{}, len(fields))
			for i, f := range fields {
				x, err := f(r)
				if err != nil {
					return nil, err
				}
				out[n.fields[i].name] = x
			}
			return out, nil
		}, nil
	case aUnion:
		branches := make([]dynamicFn, len(n.branches))
		for i, b := range n.branches {
			var err error
			if branches[i], err = c.dyn(b, memo); err != nil {
				return nil, err
			}
		}
		return func(r *avroReader) (interface{}, error) {
			i, err := r.long()
			if err != nil || i < 0 || i >= int64(len(branches)) {
				return nil, errRecord
			}
			return branches[i](r)
		}, nil
	}
	return nil, errUnsupported // decimals
}
