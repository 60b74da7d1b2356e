package kafka

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "polykafka.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// The consumer, transaction and group-admin half of the C ABI's memory rules (see native.go):
// a polled batch is copied into one Go allocation and freed with one call, so a batch of
// records costs two cgo calls, not one per message.

// nativeConsumer owns one pk_consumer.
type nativeConsumer struct {
	mu  sync.RWMutex // read-held by calls (close included), write-held by free
	ptr *C.pk_consumer
}

func newNativeConsumer(props map[string]string) (*nativeConsumer, error) {
	cfg, err := newConfig(props)
	if err != nil {
		return nil, err
	}
	defer C.pk_config_free(cfg)
	var ptr *C.pk_consumer
	if err := takeError(C.pk_consumer_new(cfg, &ptr)); err != nil {
		return nil, err
	}
	c := &nativeConsumer{ptr: ptr}
	runtime.SetFinalizer(c, (*nativeConsumer).free)
	return c, nil
}

func (c *nativeConsumer) call(f func(*C.pk_consumer) error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return errClosedNative
	}
	err := f(c.ptr)
	runtime.KeepAlive(c)
	return err
}

func (c *nativeConsumer) free() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.pk_consumer_free(c.ptr)
		c.ptr = nil
	}
	runtime.SetFinalizer(c, nil)
}

func (c *nativeConsumer) close() error {
	return c.call(func(p *C.pk_consumer) error { return takeError(C.pk_consumer_close(p)) })
}

func (c *nativeConsumer) subscribe(topics []string) error {
	base, ptrs := cStrings(topics)
	defer C.free(base)
	return c.call(func(p *C.pk_consumer) error {
		return takeError(C.pk_consumer_subscribe(p, &ptrs[0], C.size_t(len(ptrs))))
	})
}

// partitionOffset is a partition and an offset crossing the boundary.
type partitionOffset struct {
	topic     string
	partition int
	offset    int64
}

// withPartitions builds a pk_topic_partition array (topics in C memory) for one call.
func withPartitions(list []partitionOffset, f func(*C.pk_topic_partition, C.size_t) error) error {
	if len(list) == 0 {
		return f(nil, 0)
	}
	names := make([]string, len(list))
	for i, p := range list {
		names[i] = p.topic
	}
	base, ptrs := cStrings(names)
	defer C.free(base)
	arr := (*C.pk_topic_partition)(C.malloc(C.size_t(len(list)) * C.size_t(unsafe.Sizeof(C.pk_topic_partition{}))))
	defer C.free(unsafe.Pointer(arr))
	tps := unsafe.Slice(arr, len(list))
	for i, p := range list {
		tps[i] = C.pk_topic_partition{topic: ptrs[i], topic_len: 0, partition: C.int32_t(p.partition), offset: C.int64_t(p.offset)}
	}
	err := f(arr, C.size_t(len(list)))
	for i := range list {
		list[i].offset = int64(tps[i].offset)
	}
	return err
}

func (c *nativeConsumer) assign(list []partitionOffset) error {
	return withPartitions(list, func(arr *C.pk_topic_partition, n C.size_t) error {
		return c.call(func(p *C.pk_consumer) error { return takeError(C.pk_consumer_assign(p, arr, n)) })
	})
}

func (c *nativeConsumer) commit(list []partitionOffset) error {
	return withPartitions(list, func(arr *C.pk_topic_partition, n C.size_t) error {
		return c.call(func(p *C.pk_consumer) error { return takeError(C.pk_consumer_commit(p, arr, n)) })
	})
}

// storeOffsets stores offsets for the engine's auto-commit (enable.auto.offset.store=false).
func (c *nativeConsumer) storeOffsets(list []partitionOffset) error {
	return withPartitions(list, func(arr *C.pk_topic_partition, n C.size_t) error {
		return c.call(func(p *C.pk_consumer) error { return takeError(C.pk_consumer_store_offsets(p, arr, n)) })
	})
}

// committed fills the offsets of list with the group's committed offsets (-1: none).
func (c *nativeConsumer) committed(list []partitionOffset, timeout time.Duration) error {
	return withPartitions(list, func(arr *C.pk_topic_partition, n C.size_t) error {
		return c.call(func(p *C.pk_consumer) error {
			return takeError(C.pk_consumer_committed(p, arr, n, C.int32_t(timeout.Milliseconds())))
		})
	})
}

func (c *nativeConsumer) seek(topic string, partition int, offset int64) error {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	return c.call(func(p *C.pk_consumer) error {
		return takeError(C.pk_consumer_seek(p, ct, C.int32_t(partition), C.int64_t(offset)))
	})
}

func (c *nativeConsumer) watermarks(topic string, partition int, timeout time.Duration) (int64, int64, error) {
	ct := C.CString(topic)
	defer C.free(unsafe.Pointer(ct))
	var lo, hi C.int64_t
	err := c.call(func(p *C.pk_consumer) error {
		return takeError(C.pk_consumer_watermarks(p, ct, C.int32_t(partition), C.int32_t(timeout.Milliseconds()), &lo, &hi))
	})
	return int64(lo), int64(hi), err
}

// pollBatch waits up to timeout for records and copies up to max of them into Go memory
// (one allocation for all keys, values and header values); bytes is the keys and values. The
// messages go into reuse when it has room (a batch already handed out: its array is reused).
func (c *nativeConsumer) pollBatch(max int, timeout time.Duration, reuse []Message) (msgs []Message, bytes int64, err error) {
	var b *C.pk_message_batch
	err = c.call(func(p *C.pk_consumer) error {
		return takeError(C.pk_consumer_poll_batch(p, C.size_t(max), C.int32_t(timeout.Milliseconds()), &b))
	})
	if err != nil {
		return nil, 0, err
	}
	defer C.pk_message_batch_free(b)
	n := int(b.len)
	if n == 0 {
		return reuse[:0], 0, nil
	}
	recs := unsafe.Slice(b.records, n)
	size, nHeaders := 0, 0
	for i := range recs {
		r := &recs[i]
		size += int(r.key_len) + int(r.value_len)
		bytes += int64(r.key_len) + int64(r.value_len)
		if r.headers_len > 0 {
			for _, h := range unsafe.Slice(r.headers, int(r.headers_len)) {
				size += int(h.value_len)
			}
			nHeaders += int(r.headers_len)
		}
	}
	arena := make([]byte, size)
	headers := make([]Header, nHeaders)
	pos := 0
	take := func(p *C.uint8_t, l C.size_t) []byte {
		if p == nil {
			return nil
		}
		start := pos
		pos += copy(arena[pos:], unsafe.Slice((*byte)(unsafe.Pointer(p)), int(l)))
		return arena[start:pos:pos]
	}
	// A batch holds one topic or a few: the last name seen is reused before the map is asked.
	var topics map[*C.char]string
	var lastPtr *C.char
	lastTopic := ""
	out := reuse[:0]
	if cap(out) < n {
		out = make([]Message, n)
	}
	out = out[:n]
	for i := range recs {
		r := &recs[i]
		if r.topic != lastPtr || i == 0 {
			topic, ok := topics[r.topic]
			if !ok {
				topic = C.GoStringN(r.topic, C.int(r.topic_len))
				if topics == nil {
					topics = map[*C.char]string{}
				}
				topics[r.topic] = topic
			}
			lastPtr, lastTopic = r.topic, topic
		}
		m := &out[i]
		*m = Message{
			Topic:         lastTopic,
			Partition:     int(r.partition),
			Offset:        int64(r.offset),
			HighWaterMark: int64(r.high_watermark),
			Key:           take(r.key, r.key_len),
			Value:         take(r.value, r.value_len),
			Time:          time.UnixMilli(int64(r.timestamp_ms)),
		}
		if r.headers_len > 0 {
			hs := unsafe.Slice(r.headers, int(r.headers_len))
			m.Headers = headers[:len(hs):len(hs)]
			headers = headers[len(hs):]
			for j := range hs {
				m.Headers[j] = Header{Key: C.GoString(hs[j].key), Value: take(hs[j].value, hs[j].value_len)}
			}
		}
	}
	return out, bytes, nil
}

// groupMetadata returns the consumer's group identity; the caller frees it.
func (c *nativeConsumer) groupMetadata() (*C.pk_group_metadata, error) {
	var m *C.pk_group_metadata
	err := c.call(func(p *C.pk_consumer) error { return takeError(C.pk_consumer_group_metadata(p, &m)) })
	return m, err
}

// --- transactions on the producer ---

func (p *nativeProducer) initTransactions(timeout time.Duration) error {
	return p.call(func(ptr *C.pk_producer) error {
		return takeError(C.pk_producer_init_transactions(ptr, C.int32_t(timeout.Milliseconds())))
	})
}

func (p *nativeProducer) beginTransaction() error {
	return p.call(func(ptr *C.pk_producer) error { return takeError(C.pk_producer_begin_transaction(ptr)) })
}

func (p *nativeProducer) endTransaction(commit bool, timeout time.Duration) error {
	return p.call(func(ptr *C.pk_producer) error {
		if commit {
			return takeError(C.pk_producer_commit_transaction(ptr, C.int32_t(timeout.Milliseconds())))
		}
		return takeError(C.pk_producer_abort_transaction(ptr, C.int32_t(timeout.Milliseconds())))
	})
}

// sendOffsets adds the offsets to the transaction for the group of consumer c (or of groupID
// when c is nil).
func (p *nativeProducer) sendOffsets(list []partitionOffset, c *nativeConsumer, groupID string, timeout time.Duration) error {
	var meta *C.pk_group_metadata
	var err error
	if c != nil {
		meta, err = c.groupMetadata()
	} else {
		cg := C.CString(groupID)
		err = takeError(C.pk_group_metadata_new(cg, &meta))
		C.free(unsafe.Pointer(cg))
	}
	if err != nil {
		return err
	}
	defer C.pk_group_metadata_free(meta)
	return withPartitions(list, func(arr *C.pk_topic_partition, n C.size_t) error {
		return p.call(func(ptr *C.pk_producer) error {
			return takeError(C.pk_producer_send_offsets_to_transaction(ptr, arr, n, meta, C.int32_t(timeout.Milliseconds())))
		})
	})
}

// --- consumer groups on the admin client ---

type groupListing struct{ id, protocolType, state, groupType string }

func (a *nativeAdmin) listGroups() ([]groupListing, error) {
	var l *C.pk_group_list
	if err := a.call(func(p *C.pk_admin) error { return takeError(C.pk_admin_list_groups(p, &l)) }); err != nil {
		return nil, err
	}
	defer C.pk_group_list_free(l)
	out := make([]groupListing, int(l.len))
	for i, g := range unsafe.Slice(l.items, int(l.len)) {
		out[i] = groupListing{C.GoString(g.group_id), C.GoString(g.protocol_type), C.GoString(g.state), C.GoString(g.group_type)}
	}
	return out, nil
}

func (a *nativeAdmin) describeGroup(id string) (DescribeGroupsResponseGroup, error) {
	base, ptrs := cStrings([]string{id})
	defer C.free(base)
	var d *C.pk_group_descriptions
	if err := a.call(func(p *C.pk_admin) error {
		return takeError(C.pk_admin_describe_groups(p, &ptrs[0], 1, &d))
	}); err != nil {
		return DescribeGroupsResponseGroup{GroupID: id}, err
	}
	defer C.pk_group_descriptions_free(d)
	g := unsafe.Slice(d.items, int(d.len))[0]
	out := DescribeGroupsResponseGroup{GroupID: C.GoString(g.group_id), GroupState: C.GoString(g.state)}
	if g.members_len > 0 {
		for _, m := range unsafe.Slice(g.members, int(g.members_len)) {
			mem := DescribeGroupsResponseMember{MemberID: C.GoString(m.member_id), ClientID: C.GoString(m.client_id), ClientHost: C.GoString(m.host)}
			byTopic := map[string][]int{}
			var order []string
			if m.assignment_len > 0 {
				for _, tp := range unsafe.Slice(m.assignment, int(m.assignment_len)) {
					t := C.GoString(tp.topic)
					if _, ok := byTopic[t]; !ok {
						order = append(order, t)
					}
					byTopic[t] = append(byTopic[t], int(tp.partition))
				}
			}
			for _, t := range order {
				mem.MemberAssignments.Topics = append(mem.MemberAssignments.Topics, GroupMemberTopic{Topic: t, Partitions: byTopic[t]})
				mem.MemberMetadata.Topics = append(mem.MemberMetadata.Topics, t)
			}
			out.Members = append(out.Members, mem)
		}
	}
	return out, nil
}

func (a *nativeAdmin) deleteGroups(ids []string) ([]error, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	base, ptrs := cStrings(ids)
	defer C.free(base)
	results := make([]*C.pk_error, len(ids))
	if err := a.call(func(p *C.pk_admin) error {
		return takeError(C.pk_admin_delete_groups(p, &ptrs[0], C.size_t(len(ids)), &results[0]))
	}); err != nil {
		return nil, err
	}
	errs := make([]error, len(ids))
	for i, r := range results {
		errs[i] = takeError(r)
	}
	return errs, nil
}

// groupOffset is a committed offset with, for lag, the high watermark and the difference.
type groupOffset struct {
	topic                string
	partition            int
	committed, high, lag int64
}

func takeOffsets(o *C.pk_partition_offsets) []groupOffset {
	defer C.pk_partition_offsets_free(o)
	out := make([]groupOffset, int(o.len))
	if o.len == 0 {
		return out
	}
	for i, it := range unsafe.Slice(o.items, int(o.len)) {
		out[i] = groupOffset{C.GoString(it.topic), int(it.partition), int64(it.committed), int64(it.high_watermark), int64(it.lag)}
	}
	return out
}

func (a *nativeAdmin) groupOffsets(group string, list []partitionOffset) ([]groupOffset, error) {
	cg := C.CString(group)
	defer C.free(unsafe.Pointer(cg))
	var o *C.pk_partition_offsets
	err := withPartitions(list, func(arr *C.pk_topic_partition, n C.size_t) error {
		return a.call(func(p *C.pk_admin) error { return takeError(C.pk_admin_list_group_offsets(p, cg, arr, n, &o)) })
	})
	if err != nil {
		return nil, err
	}
	return takeOffsets(o), nil
}

func (a *nativeAdmin) groupLag(group string) ([]groupOffset, error) {
	cg := C.CString(group)
	defer C.free(unsafe.Pointer(cg))
	var o *C.pk_partition_offsets
	if err := a.call(func(p *C.pk_admin) error { return takeError(C.pk_admin_group_lag(p, cg, &o)) }); err != nil {
		return nil, err
	}
	return takeOffsets(o), nil
}

// connectOnce reaches one broker (an open connection counts) without retrying: the
// connection error at once when none answers.
func (c *nativeConsumer) connectOnce() error {
	return c.call(func(p *C.pk_consumer) error { return takeError(C.pk_consumer_connect_once(p)) })
}

// connectOnce reaches one broker (an open connection counts) without retrying: the
// connection error at once when none answers.
func (a *nativeAdmin) connectOnce() error {
	return a.call(func(p *C.pk_admin) error { return takeError(C.pk_admin_connect_once(p)) })
}
