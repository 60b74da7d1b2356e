package avrov2

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The Go side's reading of a writer schema, only for the compiled plans (plan_encode.go,
// plan_decode.go): the core parses the same text and stays the authority, each plan is checked
// against it once (plan.go). What this reader does not know makes the plan fail to compile,
// and the type keeps the core's path.

type avroKind int

const (
	aNull avroKind = iota
	aBoolean
	aInt
	aLong
	aFloat
	aDouble
	aBytes
	aString
	aFixed
	aEnum
	aArray
	aMap
	aUnion
	aRecord
	aDate
	aTimeMillis
	aTimeMicros
	aTimestampMillis
	aTimestampMicros
	aUUID
	aDecimal
)

type avroNode struct {
	kind     avroKind
	name     string      // full name of a record, enum or fixed
	size     int         // fixed (and decimal over fixed: its size, 0 over bytes)
	symbols  []string    // enum
	items    *avroNode   // array items, map values
	branches []*avroNode // union
	fields   []avroField // record
}

type avroField struct {
	name       string
	node       *avroNode
	hasDefault bool
}

var errUnsupported = errors.New("not supported by the compiled plan")

type schemaReader struct {
	named map[string]*avroNode
}

// parseAvroSchema reads a schema's JSON text (no references).
func parseAvroSchema(text string) (*avroNode, error) {
	var j any
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		return nil, err
	}
	r := &schemaReader{named: map[string]*avroNode{}}
	return r.node(j, "")
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

var primitives = map[string]avroKind{
	"null": aNull, "boolean": aBoolean, "int": aInt, "long": aLong, "float": aFloat,
	"double": aDouble, "bytes": aBytes, "string": aString,
}

func (r *schemaReader) node(j any, ns string) (*avroNode, error) {
	switch x := j.(type) {
	case string:
		if k, ok := primitives[x]; ok {
			return &avroNode{kind: k}, nil
		}
		if n, ok := r.named[fullName(x, ns)]; ok {
			return n, nil
		}
		if n, ok := r.named[x]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type %q: %w", x, errUnsupported)
	case []any:
		u := &avroNode{kind: aUnion}
		for _, b := range x {
			n, err := r.node(b, ns)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, n)
		}
		return u, nil
	case map[string]any:
		return r.complex(x, ns)
	}
	return nil, fmt.Errorf("schema %v: %w", j, errUnsupported)
}

func (r *schemaReader) named1(o map[string]any, ns string, n *avroNode) (string, error) {
	name, _ := o["name"].(string)
	if name == "" {
		return "", fmt.Errorf("a named type without a name: %w", errUnsupported)
	}
	if s, ok := o["namespace"].(string); ok && !strings.Contains(name, ".") {
		ns = s
	}
	n.name = fullName(name, ns)
	r.named[n.name] = n
	if i := strings.LastIndexByte(n.name, '.'); i >= 0 {
		return n.name[:i], nil
	}
	return "", nil
}

func (r *schemaReader) complex(o map[string]any, ns string) (*avroNode, error) {
	t, ok := o["type"].(string)
	if !ok {
		// {"type": {...}} or {"type": [...]}: the inner schema
		if inner, ok := o["type"]; ok {
			return r.node(inner, ns)
		}
		return nil, fmt.Errorf("schema without a type: %w", errUnsupported)
	}
	logical, _ := o["logicalType"].(string)
	var n *avroNode
	switch t {
	case "record", "error":
		n = &avroNode{kind: aRecord}
		inner, err := r.named1(o, ns, n)
		if err != nil {
			return nil, err
		}
		fields, _ := o["fields"].([]any)
		for _, f := range fields {
			fo, ok := f.(map[string]any)
			if !ok {
				return nil, errUnsupported
			}
			name, _ := fo["name"].(string)
			fn, err := r.node(fo["type"], inner)
			if err != nil {
				return nil, err
			}
			_, hasDefault := fo["default"]
			n.fields = append(n.fields, avroField{name: name, node: fn, hasDefault: hasDefault})
		}
		return n, nil
	case "enum":
		n = &avroNode{kind: aEnum}
		if _, err := r.named1(o, ns, n); err != nil {
			return nil, err
		}
		syms, _ := o["symbols"].([]any)
		for _, s := range syms {
			str, ok := s.(string)
			if !ok {
				return nil, errUnsupported
			}
			n.symbols = append(n.symbols, str)
		}
		return n, nil
	case "fixed":
		n = &avroNode{kind: aFixed}
		if _, err := r.named1(o, ns, n); err != nil {
			return nil, err
		}
		size, ok := o["size"].(float64)
		if !ok || size < 0 {
			return nil, errUnsupported
		}
		n.size = int(size)
		switch logical {
		case "":
		case "decimal":
			n.kind = aDecimal
		default:
			return nil, fmt.Errorf("logical type %q on fixed: %w", logical, errUnsupported)
		}
		return n, nil
	case "array", "map":
		key := "items"
		n = &avroNode{kind: aArray}
		if t == "map" {
			key, n.kind = "values", aMap
		}
		items, err := r.node(o[key], ns)
		if err != nil {
			return nil, err
		}
		n.items = items
		return n, nil
	}
	k, ok := primitives[t]
	if !ok {
		// a named type referred to as {"type": "Name"}
		return r.node(t, ns)
	}
	n = &avroNode{kind: k}
	if logical == "" {
		return n, nil
	}
	// the logical types the core knows (others stay their type: local timestamps, nanos)
	lk, base := map[string]avroKind{
		"date": aDate, "time-millis": aTimeMillis, "time-micros": aTimeMicros,
		"timestamp-millis": aTimestampMillis, "timestamp-micros": aTimestampMicros,
		"uuid": aUUID, "decimal": aDecimal,
	}[logical], map[string]avroKind{
		"date": aInt, "time-millis": aInt, "time-micros": aLong, "timestamp-millis": aLong,
		"timestamp-micros": aLong, "uuid": aString, "decimal": aBytes,
		"local-timestamp-millis": aLong, "local-timestamp-micros": aLong, "timestamp-nanos": aLong,
		"local-timestamp-nanos": aLong,
	}[logical]
	if base != k || (lk == 0 && base == 0) {
		return nil, fmt.Errorf("logical type %q on %s: %w", logical, t, errUnsupported)
	}
	if lk != 0 {
		n.kind = lk
	}
	return n, nil
}

// nullUnion gives the branches of a union of null and at most one other type (-1: none);
// false for any other union.
func nullUnion(n *avroNode) (nullAt, otherAt int, ok bool) {
	nullAt, otherAt = -1, -1
	for i, br := range n.branches {
		switch {
		case br.kind == aNull && nullAt < 0:
			nullAt = i
		case br.kind != aNull && otherAt < 0:
			otherAt = i
		default:
			return -1, -1, false
		}
	}
	return nullAt, otherAt, true
}
