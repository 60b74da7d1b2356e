package kafka

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "polykafka.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// DeadLetterConfig configures a DeadLetterReader (polykafka's, beyond kafka-go). The zero value
// retries a failed message 3 times in place (100 ms, 200 ms, 400 ms) and then writes it to
// "<topic>-dlq".
type DeadLetterConfig struct {
	// Topic is the dead-letter topic; "" means the message's topic + "-dlq".
	Topic string
	// MaxRetries is how many times a failed message is retried after its first attempt: 0
	// means 3, a negative number none (dead-lettered at its first failure).
	MaxRetries int
	// BackoffMin is the wait before the first retry (default 100 ms); each further wait is
	// the previous one times BackoffMultiplier (default 2), at most BackoffMax (default 30 s).
	BackoffMin        time.Duration
	BackoffMax        time.Duration
	BackoffMultiplier float64
	// RetryTopic, when set, re-publishes a failed message there (with a "retry-not-before"
	// header) and commits past it, instead of retrying in place: the Reader must read that
	// topic too (GroupTopics).
	RetryTopic string
	// Producer holds engine properties of the producer writing the copies ("acks",
	// "transactional.id", ...); without "bootstrap.servers" it connects as the Reader does.
	Producer map[string]string
}

// ErrNoRetry, wrapped in a handler's error (fmt.Errorf("...: %w", kafka.ErrNoRetry)), sends
// the message to the dead-letter topic at once, without retries: for a message that cannot
// be decoded.
var ErrNoRetry = errors.New("kafka: no retry for this message")

func (c *DeadLetterConfig) properties() (map[string]string, error) {
	switch {
	case c.BackoffMin < 0 || c.BackoffMax < 0:
		return nil, fmt.Errorf("kafka.DeadLetterConfig: negative backoff (min %v, max %v)", c.BackoffMin, c.BackoffMax)
	case c.BackoffMultiplier != 0 && !(c.BackoffMultiplier >= 1):
		return nil, fmt.Errorf("kafka.DeadLetterConfig: BackoffMultiplier %v is below 1", c.BackoffMultiplier)
	}
	props := map[string]string{}
	for k, v := range c.Producer {
		props[k] = v
	}
	switch {
	case c.MaxRetries < 0:
		props["dlq.max.retries"] = "0"
	case c.MaxRetries > 0:
		props["dlq.max.retries"] = strconv.Itoa(c.MaxRetries)
	}
	if c.BackoffMin > 0 {
		props["dlq.backoff.ms"] = ms(c.BackoffMin)
	}
	if c.BackoffMax > 0 {
		props["dlq.backoff.max.ms"] = ms(c.BackoffMax)
	}
	if c.BackoffMultiplier != 0 {
		props["dlq.backoff.multiplier"] = strconv.FormatFloat(c.BackoffMultiplier, 'g', -1, 64)
	}
	if c.Topic != "" {
		props["dlq.topic"] = c.Topic
	}
	if c.RetryTopic != "" {
		props["dlq.retry.topic"] = c.RetryTopic
	}
	return props, nil
}

// DeadLetterReader runs a handler on the messages of a group Reader with retries and a
// dead-letter topic, the engine's implementation shared with the other bindings:
//   - a handler that returns an error is retried in place with exponential backoff: the
//     message's partition is paused and moved back to it while it waits, so the reader stays
//     in its group and the other partitions keep flowing;
//   - after the last retry (or at once for an error wrapping ErrNoRetry) the message is
//     written to the dead-letter topic with its key, value, time and headers, plus the headers
//     retry-count, original-topic, original-partition, original-offset, error (the error's
//     text) and error-type (its Go type), and only once that copy is acknowledged is the
//     offset after it committed;
//   - a handler that returns nil has its message committed as CommitMessages does (with a
//     CommitInterval, stored for the next interval commit).
//
// A crash between the copy's acknowledgement and the commit delivers the message again after
// the restart: it may be dead-lettered twice, never lost.
type DeadLetterReader struct {
	r  *Reader
	mu sync.RWMutex // read-held by calls, write-held by Close
	q  *C.pk_dead_letter_queue
}

// NewDeadLetterReader makes the retry and dead-letter path of r, which must have a GroupID
// (commits and pausing need a group). A bad config is an error.
func NewDeadLetterReader(r *Reader, config DeadLetterConfig) (*DeadLetterReader, error) {
	native, err := r.groupConsumer()
	if err != nil {
		return nil, fmt.Errorf("kafka.NewDeadLetterReader: %w", err)
	}
	props, err := config.properties()
	if err != nil {
		return nil, err
	}
	cfg, err := newConfig(props)
	if err != nil {
		return nil, err
	}
	defer C.pk_config_free(cfg)
	d := &DeadLetterReader{r: r}
	err = native.call(func(p *C.pk_consumer) error { return takeError(C.pk_dead_letter_queue_new(p, cfg, &d.q)) })
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(d, (*DeadLetterReader).free)
	return d, nil
}

func (d *DeadLetterReader) call(f func(*C.pk_dead_letter_queue) error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.q == nil {
		return errClosedNative
	}
	err := f(d.q)
	runtime.KeepAlive(d)
	return err
}

// Process fetches messages and runs handler on each, until ctx ends (it returns ctx.Err()) or
// the Reader is closed (io.EOF), or an error fetching, committing or writing a copy (the
// message is then delivered again later: nothing was committed past it). The handler gets
// ctx; when it fails because ctx ended, the message is neither retried nor committed (when it
// returns nil, the message is committed even if ctx ended meanwhile). One
// Process at a time per Reader, and no FetchMessage meanwhile.
func (d *DeadLetterReader) Process(ctx context.Context, handler func(context.Context, Message) error) error {
	for {
		next, err := d.resumeDue()
		if err != nil {
			return err
		}
		m, err := d.fetch(ctx, next)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			continue // a retry is due
		}
		if err != nil {
			return err
		}
		if skip, err := d.skip(&m); err != nil || skip {
			if err != nil {
				return err
			}
			// Its partition was moved back: what was fetched after it comes again.
			d.r.dropFetched(m.Topic, m.Partition)
			continue
		}
		herr := handler(ctx, m)
		if herr != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if herr == nil {
			if err := d.succeeded(ctx, &m); err != nil {
				return err
			}
			continue
		}
		retry, err := d.failed(&m, herr)
		if err != nil {
			return fmt.Errorf("kafka: dead letter of %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
		}
		if retry {
			d.r.dropFetched(m.Topic, m.Partition)
		}
	}
}

// fetch is FetchMessage, ending when the next retry is due (next >= 0) to resume it.
func (d *DeadLetterReader) fetch(ctx context.Context, next time.Duration) (Message, error) {
	if next < 0 {
		return d.r.FetchMessage(ctx)
	}
	due, cancel := context.WithTimeout(ctx, next+time.Millisecond)
	defer cancel()
	return d.r.FetchMessage(due)
}

// resumeDue resumes the partitions whose wait is over; the time until the next is due, -1 if
// none waits.
func (d *DeadLetterReader) resumeDue() (time.Duration, error) {
	var next C.int64_t
	err := d.call(func(q *C.pk_dead_letter_queue) error { return takeError(C.pk_dead_letter_queue_resume_due(q, &next)) })
	if next < 0 {
		return -1, err
	}
	return time.Duration(next) * time.Millisecond, err
}

// skip: the message's partition waits for a retry, or it is a retry-topic copy not due yet.
func (d *DeadLetterReader) skip(m *Message) (bool, error) {
	var skip C.int32_t
	// Only the retry-not-before header matters here: the key and value do not cross.
	view := Message{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset}
	for _, h := range m.Headers {
		if h.Key == "retry-not-before" {
			view.Headers = m.Headers
		}
	}
	err := withRecord(&view, func(r *C.pk_consumer_record) error {
		return d.call(func(q *C.pk_dead_letter_queue) error { return takeError(C.pk_dead_letter_queue_skip(q, r, &skip)) })
	})
	return skip != 0, err
}

func (d *DeadLetterReader) succeeded(ctx context.Context, m *Message) error {
	topic := C.CString(m.Topic)
	defer C.free(unsafe.Pointer(topic))
	err := d.call(func(q *C.pk_dead_letter_queue) error {
		return takeError(C.pk_dead_letter_queue_succeeded(q, topic, C.int32_t(m.Partition), C.int64_t(m.Offset)))
	})
	if err != nil || d.r.config.CommitInterval > 0 {
		return err // with a CommitInterval the offset is stored: committed by the engine
	}
	// Handled is committed, even when ctx ended while the handler ran.
	return d.r.CommitMessages(context.WithoutCancel(ctx), *m)
}

// failed reports the handler's error; true when the message will be retried in place.
func (d *DeadLetterReader) failed(m *Message, herr error) (bool, error) {
	text, kind := C.CString(herr.Error()), C.CString(fmt.Sprintf("%T", herr))
	defer C.free(unsafe.Pointer(text))
	defer C.free(unsafe.Pointer(kind))
	var out C.pk_dead_letter_outcome
	err := withRecord(m, func(r *C.pk_consumer_record) error {
		return d.call(func(q *C.pk_dead_letter_queue) error {
			if errors.Is(herr, ErrNoRetry) {
				return takeError(C.pk_dead_letter_queue_undecodable(q, r, text, kind))
			}
			return takeError(C.pk_dead_letter_queue_failed(q, r, text, kind, &out))
		})
	})
	return err == nil && out.action == C.PK_DEAD_LETTER_RETRY, err
}

// withRecord copies m into one C allocation laid out as a pk_consumer_record for f.
func withRecord(m *Message, f func(*C.pk_consumer_record) error) error {
	recSize, hdrSize := int(unsafe.Sizeof(C.pk_consumer_record{})), int(unsafe.Sizeof(C.pk_header{}))
	data := len(m.Topic) + 2 + len(m.Key) + len(m.Value) // a NUL, and room for an empty key at the end
	for _, h := range m.Headers {
		data += len(h.Key) + 1 + len(h.Value)
	}
	base := C.malloc(C.size_t(recSize + len(m.Headers)*hdrSize + data))
	if base == nil {
		panic("kafka: out of memory")
	}
	defer C.free(base)
	r := (*C.pk_consumer_record)(base)
	headers := unsafe.Slice((*C.pk_header)(unsafe.Add(base, recSize)), len(m.Headers))
	arena := unsafe.Slice((*byte)(unsafe.Add(base, recSize+len(m.Headers)*hdrSize)), data)
	a := cArena{buf: arena}
	put, putString := a.put, a.putString
	*r = C.pk_consumer_record{partition: C.int32_t(m.Partition), offset: C.int64_t(m.Offset), high_watermark: -1, leader_epoch: -1}
	r.topic, r.topic_len = putString(m.Topic)
	r.key, r.key_len = put(m.Key)
	r.value, r.value_len = put(m.Value)
	r.timestamp_ms = -1
	if !m.Time.IsZero() {
		r.timestamp_ms = C.int64_t(m.Time.UnixMilli())
	}
	if len(m.Headers) > 0 {
		r.headers, r.headers_len = &headers[0], C.size_t(len(m.Headers))
	}
	for i, h := range m.Headers {
		headers[i].key, headers[i].key_len = putString(h.Key)
		headers[i].value, headers[i].value_len = put(h.Value)
	}
	return f(r)
}

// Close flushes and closes the producer of the copies (not the Reader). Idempotent.
func (d *DeadLetterReader) Close() error {
	var err error
	if cerr := d.call(func(q *C.pk_dead_letter_queue) error { return takeError(C.pk_dead_letter_queue_close(q, 30000)) }); !errors.Is(cerr, errClosedNative) {
		err = cerr
	}
	d.free()
	return err
}

func (d *DeadLetterReader) free() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.q != nil {
		C.pk_dead_letter_queue_free(d.q)
		d.q = nil
	}
	runtime.SetFinalizer(d, nil)
}
