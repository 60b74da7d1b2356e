package avrov2

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

func marshal(tree any) ([]byte, error) { return json.Marshal(tree) }

var timeType = reflect.TypeOf(time.Time{})

// StructToSchema derives an Avro schema (JSON text) from a Go type as confluent-kafka-go's
// StructToSchema does: a struct is a record named after its type with fields named by their
// `avro` tags (else their Go names) and zero defaults; a pointer is a ["null", T] union;
// time.Time is a timestamp-millis long; []byte is bytes.
func StructToSchema(t reflect.Type) (string, error) {
	s, err := toSchema(t)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(s)
	return string(b), err
}

func toSchema(t reflect.Type) (any, error) {
	switch t.Kind() {
	case reflect.Struct:
		if t == timeType {
			return map[string]any{"type": "long", "logicalType": "timestamp-millis"}, nil
		}
		var fields []any
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Tag.Get("avro")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fs, err := toSchema(f.Type)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			field := map[string]any{"name": name, "type": fs}
			if d, ok := zeroDefault(fs); ok {
				field["default"] = d
			}
			fields = append(fields, orderedField(field))
		}
		name := t.Name()
		if name == "" {
			name = "anonymous"
		}
		return map[string]any{"type": "record", "name": name, "fields": fields}, nil
	case reflect.Map:
		v, err := toSchema(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "map", "values": v}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "bytes", nil
		}
		v, err := toSchema(t.Elem())
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": "array", "items": v}, nil
	case reflect.Pointer:
		v, err := toSchema(t.Elem())
		if err != nil {
			return nil, err
		}
		return []any{"null", v}, nil
	case reflect.Bool:
		return "boolean", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16, reflect.Uint32:
		return "int", nil
	case reflect.Int64, reflect.Uint64:
		return "long", nil
	case reflect.Float32:
		return "float", nil
	case reflect.Float64:
		return "double", nil
	case reflect.String:
		return "string", nil
	default:
		return nil, fmt.Errorf("unknown type %s", t.Kind())
	}
}

func zeroDefault(s any) (any, bool) {
	switch x := s.(type) {
	case string:
		switch x {
		case "string", "bytes":
			return "", true
		case "boolean":
			return false, true
		case "int", "long", "float", "double":
			return 0, true
		}
	case []any:
		return nil, true
	case map[string]any:
		switch x["type"] {
		case "map":
			return map[string]any{}, true
		case "array":
			return []any{}, true
		}
	}
	return nil, false
}

// orderedField keeps name, type, default in that order.
type orderedField map[string]any

func (f orderedField) MarshalJSON() ([]byte, error) {
	var parts []string
	for _, k := range []string{"name", "type", "default"} {
		v, ok := f[k]
		if !ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		parts = append(parts, fmt.Sprintf("%q:%s", k, b))
	}
	return []byte("{" + strings.Join(parts, ",") + "}"), nil
}
