package kafka

// The partitioner vectors shared by every binding (tests/vectors/partitioners.json): our Go copy
// of Java's murmur2 and our balancers give the partitions they list. kafka-go's balancers are
// checked against the same vectors in compattest/kafka (a module of its own).

import (
	"testing"

	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
)

func TestPartitionerVectorsMurmur2(t *testing.T) {
	v := testenv.LoadPartitionerVectors(t)
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
		}
	}
}

func TestPartitionerVectorsCRC32(t *testing.T) {
	v := testenv.LoadPartitionerVectors(t)
	for _, c := range v.CRC32 {
		parts := make([]int, c.Partitions)
		for i := range parts {
			parts[i] = i
		}
		if got := (CRC32Balancer{Consistent: true}).Balance(Message{Key: []byte(c.Key)}, parts...); got != c.CRC32 {
			t.Errorf("ours: %q over %d = %d, want %d", c.Key, c.Partitions, got, c.CRC32)
		}
	}
}
