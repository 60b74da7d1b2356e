package kafka_test

// kafka-go's half of vectors_test.go in the main module: kafka-go's Murmur2Balancer and
// CRC32Balancer give the partitions of the vectors shared by every binding, as ours do.

import (
	"testing"

	"github.com/polykafka/polykafka/bindings-c/go/internal/testenv"
	kgo "github.com/segmentio/kafka-go"
)

func TestKafkaGoPartitionerVectorsMurmur2(t *testing.T) {
	v := testenv.LoadPartitionerVectors(t)
	for _, c := range v.Murmur2 {
		for _, n := range []int{1, 3, 6, 17} {
			parts := make([]int, n)
			for i := range parts {
				parts[i] = i
			}
			want := int((uint32(c.Murmur2) & 0x7fffffff) % uint32(n))
			if got := (kgo.Murmur2Balancer{Consistent: true}).Balance(kgo.Message{Key: []byte(c.Key)}, parts...); got != want {
				t.Errorf("kafka-go: %q over %d = %d, want %d", c.Key, n, got, want)
			}
		}
	}
}

func TestKafkaGoPartitionerVectorsCRC32(t *testing.T) {
	v := testenv.LoadPartitionerVectors(t)
	for _, c := range v.CRC32 {
		parts := make([]int, c.Partitions)
		for i := range parts {
			parts[i] = i
		}
		if got := (kgo.CRC32Balancer{Consistent: true}).Balance(kgo.Message{Key: []byte(c.Key)}, parts...); got != c.CRC32 {
			t.Errorf("kafka-go: %q over %d = %d, want %d", c.Key, c.Partitions, got, c.CRC32)
		}
	}
}
