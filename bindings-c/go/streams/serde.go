package streams

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
)

// Serde turns keys or values of type T into bytes and back. A nil slice is Kafka's null: a
// Serde gives the zero value for it, and may serialize a value as nil (JSON's nil pointers, maps
// and slices).
type Serde[T any] interface {
	Serialize(v T) ([]byte, error)
	Deserialize(data []byte) (T, error)
}

type stringSerde struct{}

func (stringSerde) Serialize(v string) ([]byte, error)   { return []byte(v), nil }
func (stringSerde) Deserialize(b []byte) (string, error) { return string(b), nil }
func (stringSerde) String() string                       { return "streams.String" }

type bytesSerde struct{}

func (bytesSerde) Serialize(v []byte) ([]byte, error)   { return v, nil }
func (bytesSerde) Deserialize(b []byte) ([]byte, error) { return b, nil }
func (bytesSerde) String() string                       { return "streams.Bytes" }

type longSerde struct{}

func (longSerde) Serialize(v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)), nil
}

func (longSerde) Deserialize(b []byte) (int64, error) {
	if b == nil {
		return 0, nil
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("streams.Long: size of data received is not 8 but %d", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

func (longSerde) String() string { return "streams.Long" }

// The built-in serdes: String (UTF-8 as is), Bytes, and Long (8 bytes big-endian, Kafka's
// LongSerializer: what count() gives).
var (
	String Serde[string] = stringSerde{}
	Bytes  Serde[[]byte] = bytesSerde{}
	Long   Serde[int64]  = longSerde{}
)

type jsonSerde[T any] struct{}

func (jsonSerde[T]) Serialize(v T) ([]byte, error) {
	rv := reflect.ValueOf(&v).Elem()
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("streams.JSON: %w", err)
	}
	return b, nil
}

func (jsonSerde[T]) Deserialize(b []byte) (T, error) {
	var v T
	if b == nil {
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("streams.JSON: not JSON: %w", err)
	}
	return v, nil
}

func (jsonSerde[T]) String() string { return "streams.JSON" }

// JSON is the serde of T as compact UTF-8 JSON (encoding/json); nil pointers, maps, slices
// and interfaces are Kafka's null.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

// Windowed is a key of a windowed table: the record's key and its window [Start, End) in
// milliseconds since the epoch.
type Windowed[K any] struct {
	Key        K
	Start, End int64
}

type windowedSerde[K any] struct {
	inner  Serde[K]
	sizeMs int64
}

// WindowedSerde is Kafka Streams' time-windowed key format (WindowedSerdes.timeWindowedSerdeFrom):
// the inner key's bytes, then the window start as 8 bytes big-endian; the end is start + size.
// The encoding is the core's (through the C ABI), the same as every other binding's.
func WindowedSerde[K any](inner Serde[K], windowSizeMs int64) Serde[Windowed[K]] {
	return windowedSerde[K]{inner, windowSizeMs}
}

func (w windowedSerde[K]) Serialize(v Windowed[K]) ([]byte, error) {
	inner, err := w.inner.Serialize(v.Key)
	if err != nil {
		return nil, err
	}
	return windowedEncode(inner, v.Start)
}

func (w windowedSerde[K]) Deserialize(b []byte) (Windowed[K], error) {
	if b == nil {
		return Windowed[K]{}, nil
	}
	n, start, err := windowedDecode(b)
	if err != nil {
		return Windowed[K]{}, err
	}
	k, err := w.inner.Deserialize(b[:n:n])
	if err != nil {
		return Windowed[K]{}, err
	}
	return Windowed[K]{Key: k, Start: start, End: start + w.sizeMs}, nil
}

func (w windowedSerde[K]) String() string {
	return fmt.Sprintf("streams.WindowedSerde(%v, %d)", w.inner, w.sizeMs)
}

// sameSerde tells whether two serdes are the same value (false when they cannot be compared).
func sameSerde(a, b any) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}
