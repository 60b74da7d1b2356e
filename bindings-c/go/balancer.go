package kafka

import (
	"hash"
	"hash/crc32"
	"hash/fnv"
	"math/rand"
	"sort"
	"sync"
)

// Balancer chooses the partition of a message among the partitions given, as in kafka-go.
type Balancer interface {
	Balance(msg Message, partitions ...int) (partition int)
}

// BalancerFunc adapts a function to Balancer.
type BalancerFunc func(Message, ...int) int

func (f BalancerFunc) Balance(msg Message, partitions ...int) int { return f(msg, partitions...) }

// RoundRobin cycles through the partitions, ChunkSize messages to each (1 when unset). Keys are
// ignored. It is the Writer's default.
type RoundRobin struct {
	ChunkSize int
	mu        sync.Mutex
	counter   uint32
}

func (rr *RoundRobin) Balance(msg Message, partitions ...int) int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	chunk := rr.ChunkSize
	if chunk < 1 {
		chunk = 1
	}
	p := partitions[int(rr.counter/uint32(chunk))%len(partitions)]
	rr.counter++
	return p
}

// LeastBytes sends each message to the partition that received the fewest key+value bytes so
// far (through this balancer).
type LeastBytes struct {
	mu       sync.Mutex
	counters []leastBytesCounter
}

type leastBytesCounter struct {
	partition int
	bytes     uint64
}

func (lb *LeastBytes) Balance(msg Message, partitions ...int) int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if len(partitions) != len(lb.counters) {
		lb.counters = make([]leastBytesCounter, len(partitions))
		for i, p := range partitions {
			lb.counters[i].partition = p
		}
		sort.Slice(lb.counters, func(i, j int) bool { return lb.counters[i].partition < lb.counters[j].partition })
	}
	best := 0
	for i := range lb.counters {
		if lb.counters[i].bytes < lb.counters[best].bytes {
			best = i
		}
	}
	c := &lb.counters[best]
	c.bytes += uint64(len(msg.Key) + len(msg.Value))
	return c.partition
}

var fnv1a = sync.Pool{New: func() interface{} { return fnv.New32a() }}

func hashKey(h hash.Hash32, lock *sync.Mutex, key []byte) uint32 {
	if h != nil {
		lock.Lock()
		defer lock.Unlock()
	} else {
		pooled := fnv1a.Get().(hash.Hash32)
		defer fnv1a.Put(pooled)
		h = pooled
	}
	h.Reset()
	_, _ = h.Write(key)
	return h.Sum32()
}

// Hash partitions by the FNV-1a hash of the key (or Hasher), as Sarama: abs(int32(h) % n).
// A nil key goes round-robin.
type Hash struct {
	rr     RoundRobin
	Hasher hash.Hash32
	lock   sync.Mutex
}

func (h *Hash) Balance(msg Message, partitions ...int) int {
	if msg.Key == nil {
		return h.rr.Balance(msg, partitions...)
	}
	p := int32(hashKey(h.Hasher, &h.lock, msg.Key)) % int32(len(partitions))
	if p < 0 {
		p = -p
	}
	return int(p)
}

// ReferenceHash partitions by the FNV-1a hash of the key (or Hasher), as the reference Java
// client does with murmur2: (h & 0x7fffffff) % n. A nil key goes to a random partition.
type ReferenceHash struct {
	Hasher hash.Hash32
	lock   sync.Mutex
}

func (h *ReferenceHash) Balance(msg Message, partitions ...int) int {
	if msg.Key == nil {
		return partitions[rand.Intn(len(partitions))]
	}
	return int((int32(hashKey(h.Hasher, &h.lock, msg.Key)) & 0x7fffffff) % int32(len(partitions)))
}

// CRC32Balancer partitions as librdkafka's consistent partitioners: crc32(key) % n. A nil or
// empty key goes to a random partition unless Consistent.
type CRC32Balancer struct {
	Consistent bool
}

func (b CRC32Balancer) Balance(msg Message, partitions ...int) int {
	if len(msg.Key) == 0 && !b.Consistent {
		return partitions[rand.Intn(len(partitions))]
	}
	return partitions[crc32.ChecksumIEEE(msg.Key)%uint32(len(partitions))]
}

// Murmur2Balancer partitions as the Java client: (murmur2(key) & 0x7fffffff) % n. A nil key
// goes to a random partition unless Consistent.
type Murmur2Balancer struct {
	Consistent bool
}

func (b Murmur2Balancer) Balance(msg Message, partitions ...int) int {
	if msg.Key == nil && !b.Consistent {
		return partitions[rand.Intn(len(partitions))]
	}
	return partitions[(murmur2(msg.Key)&0x7fffffff)%uint32(len(partitions))]
}

// murmur2 is Kafka's variant of MurmurHash2 (seed 0x9747b28c).
func murmur2(data []byte) uint32 {
	const m, r = 0x5bd1e995, 24
	n := len(data)
	h := uint32(0x9747b28c) ^ uint32(n)
	for i := 0; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h = h*m ^ k
	}
	tail := data[n&^3:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// corePartitioner names the engine's partitioner that behaves as b, or "" when b must run in
// Go. Recognised by type, so a custom Balancer is never mistaken for a built-in one.
func corePartitioner(b Balancer) string {
	switch b := b.(type) {
	case nil:
		return "round_robin"
	case *RoundRobin:
		if b.ChunkSize <= 1 {
			return "round_robin"
		}
	case Murmur2Balancer:
		return murmurName(b.Consistent)
	case *Murmur2Balancer:
		return murmurName(b.Consistent)
	case CRC32Balancer:
		return crcName(b.Consistent)
	case *CRC32Balancer:
		return crcName(b.Consistent)
	}
	return ""
}

func murmurName(consistent bool) string {
	if consistent {
		return "murmur2" // a nil key hashes as an empty one
	}
	return "murmur2_random"
}

func crcName(consistent bool) string {
	if consistent {
		return "consistent"
	}
	return "consistent_random" // nil and empty keys are random
}
