package kafka

// #include <stdlib.h>
// #include "polykafka.h"
import "C"

import (
	"encoding/json"
	"sync/atomic"
)

// engineStats is the part of the engine's statistics snapshot (librdkafka's JSON layout, see
// the README's "Statistics") that WriterStats and ReaderStats carry.
type engineStats struct {
	MsgCnt  int64 `json:"msg_cnt"`
	Brokers map[string]struct {
		Connects int64 `json:"connects"`
	} `json:"brokers"`
	Cgrp *struct {
		RebalanceCnt int64 `json:"rebalance_cnt"`
	} `json:"cgrp"`
}

// snapshotOf takes and parses the engine's snapshot through statsJSON; ok is false when there
// is none (no native client, or a closed one).
func snapshotOf(statsJSON func() (string, error)) (s engineStats, ok bool) {
	text, err := statsJSON()
	if err != nil {
		return s, false
	}
	_ = json.Unmarshal([]byte(text), &s) // the engine's own JSON: a failure leaves zeros
	return s, true
}

// dials is the connection attempts to every broker since the client started.
func (s engineStats) dials() int64 {
	var n int64
	for _, b := range s.Brokers {
		n += b.Connects
	}
	return n
}

func (s engineStats) rebalances() int64 {
	if s.Cgrp == nil {
		return 0
	}
	return s.Cgrp.RebalanceCnt
}

// since turns a total into the change since the last call (kafka-go's Stats resets its
// counters): `last` keeps the total seen last. No snapshot (a closed client): 0.
func since(last *int64, total int64, ok bool) int64 {
	if !ok {
		return 0
	}
	return total - atomic.SwapInt64(last, total)
}

// statsJSON is the engine's snapshot of this producer.
func (p *nativeProducer) statsJSON() (string, error) {
	var out *C.char
	err := p.call(func(ptr *C.pk_producer) error { return takeError(C.pk_producer_stats_json(ptr, &out)) })
	if err != nil {
		return "", err
	}
	defer C.pk_string_free(out)
	return C.GoString(out), nil
}

// statsJSON is the engine's snapshot of this consumer.
func (c *nativeConsumer) statsJSON() (string, error) {
	var out *C.char
	err := c.call(func(ptr *C.pk_consumer) error { return takeError(C.pk_consumer_stats_json(ptr, &out)) })
	if err != nil {
		return "", err
	}
	defer C.pk_string_free(out)
	return C.GoString(out), nil
}
