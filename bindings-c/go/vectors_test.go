package kafka

// The partitioner vectors shared by every binding (tests/vectors/partitioners.json): our Go copy
// of Java's murmur2 and our balancers, and kafka-go's Murmur2Balancer and CRC32Balancer, all give
// the same partitions.

import (
	"encoding/json"
	"os"
	"testing"

	kgo "github.com/segmentio/kafka-go"
)

type partitionerVectors struct {
	Murmur2 []struct {
		Key     string `json:"key"`
		Murmur2 int32  `json:"murmur2"`
	} `json:"murmur2"`
	CRC32 []struct {
		Key        string `json:"key"`
		Partitions int    `json:"partitions"`
		CRC32      int    `json:"crc32"`
	} `json:"crc32"`
}

func loadPartitionerVectors(t *testing.T) partitionerVectors {
	t.Helper()
	data, err := os.ReadFile("../../tests/vectors/partitioners.json")
	if err != nil {
		t.Fatal(err)
	}
	var v partitionerVectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Murmur2) < 10 || len(v.CRC32) < 10 {
		t.Fatalf("too few vectors: %d murmur2, %d crc32", len(v.Murmur2), len(v.CRC32))
	}
	return v
}

func TestPartitionerVectorsMurmur2(t *testing.T) {
	v := loadPartitionerVectors(t)
	for _, c := range v.Murmur2 {
		if got := int32(murmur2([]byte(c.Key))); got != c.Murmur2 {
			t.Errorf("murmur2(%q) = %d, want %d", c.Key, got, c.Murmur2)
		}
		for _, n := range []int{1, 3, 6, 17} {
			parts := make([]int, n)
			for i := range parts {
				parts[i] = i
			}
			want := int((uint32(c.Murmur2) & 0x7fffffff) % uint32(n))
			msg := Message{Key: []byte(c.Key)}
			if got := (Murmur2Balancer{Consistent: true}).Balance(msg, parts...); got != want {
				t.Errorf("ours: %q over %d = %d, want %d", c.Key, n, got, want)
			}
			if got := (kgo.Murmur2Balancer{Consistent: true}).Balance(kgo.Message{Key: []byte(c.Key)}, parts...); got != want {
				t.Errorf("kafka-go: %q over %d = %d, want %d", c.Key, n, got, want)
			}
		}
	}
}

func TestPartitionerVectorsCRC32(t *testing.T) {
	v := loadPartitionerVectors(t)
	for _, c := range v.CRC32 {
		parts := make([]int, c.Partitions)
		for i := range parts {
			parts[i] = i
		}
		if got := (CRC32Balancer{Consistent: true}).Balance(Message{Key: []byte(c.Key)}, parts...); got != c.CRC32 {
			t.Errorf("ours: %q over %d = %d, want %d", c.Key, c.Partitions, got, c.CRC32)
		}
		if got := (kgo.CRC32Balancer{Consistent: true}).Balance(kgo.Message{Key: []byte(c.Key)}, parts...); got != c.CRC32 {
			t.Errorf("kafka-go: %q over %d = %d, want %d", c.Key, c.Partitions, got, c.CRC32)
		}
	}
}
