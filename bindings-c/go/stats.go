package kafka

// #include <stdlib.h>
// #include "polykafka.h"
import "C"

import (
	"encoding/json"
	"sync/atomic"
	"time"
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

// window is one of the engine's summaries of the values since the last take (see
// pk_producer_stats_windows_json in polykafka.h).
type window struct {
	Count, Sum, Min, Max int64
}

// engineWindows are the engine's durations (microseconds, throttle in milliseconds) and sizes
// since the last take: what kafka-go's Stats summaries report.
type engineWindows struct {
	BatchQueue window `json:"batch_queue_us"`
	Batch      window `json:"batch_us"`
	BatchMsgs  window `json:"batch_msgs"`
	BatchBytes window `json:"batch_bytes"`
	Produce    window `json:"produce_us"`
	Throttle   window `json:"throttle_ms"`
	Retries    int64  `json:"retries"`
	FetchWait  window `json:"fetch_wait_us"`
	FetchRead  window `json:"fetch_read_us"`
	FetchMsgs  window `json:"fetch_msgs"`
	FetchBytes window `json:"fetch_bytes"`
	Connect    window `json:"connect_us"`
}

// windowsOf takes the engine's windows through take; zeros when there is no native client.
func windowsOf(take func() (string, error)) (w engineWindows) {
	if text, err := take(); err == nil {
		_ = json.Unmarshal([]byte(text), &w) // the engine's own JSON: a failure leaves zeros
	}
	return w
}

func (w window) summary() SummaryStats {
	s := SummaryStats{Min: w.Min, Max: w.Max, Count: w.Count, Sum: w.Sum}
	if w.Count > 0 {
		s.Avg = w.Sum / w.Count
	}
	return s
}

func (w window) durations(unit time.Duration) DurationStats {
	s := w.summary()
	return DurationStats{Avg: time.Duration(s.Avg) * unit, Min: time.Duration(s.Min) * unit, Max: time.Duration(s.Max) * unit, Count: s.Count, Sum: time.Duration(s.Sum) * unit}
}

// since turns a total into the change since the last call (kafka-go's Stats resets its
// counters): `last` keeps the total seen last. No snapshot (a closed client): 0.
func since(last *int64, total int64, ok bool) int64 {
	if !ok {
		return 0
	}
	return total - atomic.SwapInt64(last, total)
}

// takeString returns the string a C call left in its out parameter, and frees it.
func takeString(call func(out **C.char) error) (string, error) {
	var out *C.char
	if err := call(&out); err != nil {
		return "", err
	}
	defer C.pk_string_free(out)
	return C.GoString(out), nil
}

// statsJSON is the engine's snapshot of this producer.
func (p *nativeProducer) statsJSON() (string, error) {
	return takeString(func(out **C.char) error {
		return p.call(func(ptr *C.pk_producer) error { return takeError(C.pk_producer_stats_json(ptr, out)) })
	})
}

// statsWindowsJSON takes the engine's windows of this producer (and starts new ones).
func (p *nativeProducer) statsWindowsJSON() (string, error) {
	return takeString(func(out **C.char) error {
		return p.call(func(ptr *C.pk_producer) error { return takeError(C.pk_producer_stats_windows_json(ptr, out)) })
	})
}

// statsJSON is the engine's snapshot of this consumer.
func (c *nativeConsumer) statsJSON() (string, error) {
	return takeString(func(out **C.char) error {
		return c.call(func(ptr *C.pk_consumer) error { return takeError(C.pk_consumer_stats_json(ptr, out)) })
	})
}

// statsWindowsJSON takes the engine's windows of this consumer (and starts new ones).
func (c *nativeConsumer) statsWindowsJSON() (string, error) {
	return takeString(func(out **C.char) error {
		return c.call(func(ptr *C.pk_consumer) error { return takeError(C.pk_consumer_stats_windows_json(ptr, out)) })
	})
}
