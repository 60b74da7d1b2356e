package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Writer writes messages to Kafka, with kafka-go's fields, defaults and semantics. The zero
// value is usable once Addr is set: the native producer is created at the first write.
// A Writer must not be copied after first use.
type Writer struct {
	// Addr is the address of the cluster's bootstrap brokers (see TCP).
	Addr net.Addr
	// Topic is the topic of every message; when empty, each Message names its topic. Setting
	// both, or neither, is an error.
	Topic string
	// Balancer chooses partitions; default &RoundRobin{}.
	Balancer Balancer
	// MaxAttempts is the number of attempts per batch; default 10.
	MaxAttempts int
	// WriteBackoffMin and WriteBackoffMax bound the backoff between attempts; default 100 ms, 1 s.
	WriteBackoffMin time.Duration
	WriteBackoffMax time.Duration
	// BatchSize is the number of messages after which a call is sent at once; default 100.
	BatchSize int
	// BatchBytes is the largest message size accepted (larger ones give MessageTooLargeError)
	// and the size a partition's batch may grow to; default 1 MiB.
	BatchBytes int64
	// BatchTimeout is how long a batch waits to fill before it is sent; default 1 s.
	BatchTimeout time.Duration
	// ReadTimeout is accepted for compatibility; WriteTimeout bounds every request.
	ReadTimeout time.Duration
	// WriteTimeout bounds each produce request and the wait for metadata; default 10 s.
	WriteTimeout time.Duration
	// RequiredAcks is the acknowledgement a write waits for; default RequireNone. With
	// RequireAll the engine also makes the writer idempotent (no duplicates on retry).
	RequiredAcks RequiredAcks
	// Async makes WriteMessages return at once; outcomes go to Completion and ErrorLogger.
	Async bool
	// Completion, when set, is called with each partition's messages (Topic, Partition,
	// Offset and Time filled in) and their error, in sync and async mode.
	Completion func(messages []Message, err error)
	// Compression is the codec of the batches; default none.
	Compression Compression
	Logger      Logger
	ErrorLogger Logger
	// Transport: a *Transport's ClientID, DialTimeout, MetadataTTL, TLS and SASL are used.
	Transport RoundTripper
	// AllowAutoTopicCreation lets a write to a missing topic create it; default false.
	AllowAutoTopicCreation bool

	// Idempotent (not in kafka-go) makes the broker drop the duplicates retries would write,
	// and keeps each partition's order across retries. It implies RequiredAcks RequireAll.
	Idempotent bool
	// TransactionalID (not in kafka-go) makes the Writer transactional: WriteMessages must run
	// between BeginTransaction and CommitTransaction or AbortTransaction (see transaction.go).
	// Implies Idempotent. One Writer per id: a new Writer with the same id fences the old one.
	TransactionalID string

	txnMu     sync.Mutex
	txnInited bool

	mu       sync.Mutex
	closed   bool
	native   *nativeProducer
	logID    uint64         // engine logs to Logger/ErrorLogger (logs.go); 0: none
	sending  sync.WaitGroup // calls between entering and queueing their batch
	inflight sync.WaitGroup // calls and async completions not finished
	stats    writerCounters
}

type writerCounters struct {
	writes, messages, bytes, errors int64
	dials                           int64 // the engine's total at the last Stats call
}

func (w *Writer) batchSize() int {
	if w.BatchSize > 0 {
		return w.BatchSize
	}
	return 100
}

func (w *Writer) batchBytes() int64 {
	if w.BatchBytes > 0 {
		return w.BatchBytes
	}
	return 1048576
}

func (w *Writer) batchTimeout() time.Duration {
	if w.BatchTimeout > 0 {
		return w.BatchTimeout
	}
	return time.Second
}

func (w *Writer) writeTimeout() time.Duration {
	if w.WriteTimeout > 0 {
		return w.WriteTimeout
	}
	return 10 * time.Second
}

func (w *Writer) readTimeout() time.Duration {
	if w.ReadTimeout > 0 {
		return w.ReadTimeout
	}
	return 10 * time.Second
}

func (w *Writer) maxAttempts() int {
	if w.MaxAttempts > 0 {
		return w.MaxAttempts
	}
	return 10
}

func (w *Writer) backoff() (time.Duration, time.Duration) {
	lo, hi := w.WriteBackoffMin, w.WriteBackoffMax
	if lo <= 0 {
		lo = 100 * time.Millisecond
	}
	if hi <= 0 {
		hi = time.Second
	}
	return lo, hi
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// properties translates the Writer's fields (and its Transport's) into the engine's
// configuration.
func (w *Writer) properties() (map[string]string, error) {
	lo, hi := w.backoff()
	linger, timeout := w.batchTimeout(), w.writeTimeout()
	delivery := linger + timeout*time.Duration(w.maxAttempts()) + hi*time.Duration(w.maxAttempts())
	if delivery > 24*time.Hour {
		delivery = 24 * time.Hour
	}
	props := map[string]string{
		"bootstrap.servers":        w.Addr.String(),
		"linger.ms":                ms(linger),
		"batch.size":               strconv.FormatInt(w.batchBytes(), 10),
		"max.request.size":         strconv.FormatInt(w.batchBytes()+64*1024, 10),
		"request.timeout.ms":       ms(timeout),
		"delivery.timeout.ms":      ms(delivery),
		"max.block.ms":             ms(timeout),
		"retries":                  strconv.Itoa(w.maxAttempts() - 1),
		"retry.backoff.ms":         ms(lo),
		"retry.backoff.max.ms":     ms(hi),
		"allow.auto.create.topics": strconv.FormatBool(w.AllowAutoTopicCreation),
		"compression.type":         w.Compression.String(),
		"client.id":                "kafka-go",
	}
	switch w.RequiredAcks {
	case RequireNone:
		props["acks"] = "0"
	case RequireOne:
		props["acks"] = "1"
	case RequireAll:
		props["acks"] = "all"
	default:
		// kafka-go sends the number and the broker refuses it with INVALID_REQUIRED_ACKS; it
		// used to become "all" here, a write that succeeded with other semantics.
		return nil, &ClientError{Kind: "config", Code: int16(InvalidRequiredAcks), Name: "INVALID_REQUIRED_ACKS",
			Message: fmt.Sprintf("Writer.RequiredAcks %d is not RequireNone (0), RequireOne (1) or RequireAll (-1)", int(w.RequiredAcks))}
	}
	if w.Compression.String() == "unknown" {
		// kafka-go writes such batches uncompressed without a word.
		return nil, &ClientError{Kind: "config", Name: "_CONFIG",
			Message: fmt.Sprintf("Writer.Compression %d is not a codec (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)", int(w.Compression))}
	}
	if w.Idempotent || w.TransactionalID != "" {
		props["acks"] = "all"
		props["enable.idempotence"] = "true"
	}
	if w.TransactionalID != "" {
		props["transactional.id"] = w.TransactionalID
	}
	if p := corePartitioner(w.Balancer); p != "" {
		props["partitioner"] = p
	}
	transport, err := transportProperties(w.Transport)
	for k, v := range transport {
		props[k] = v
	}
	return props, err
}

// enter registers a call, or reports the writer closed.
func (w *Writer) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.sending.Add(1)
	w.inflight.Add(1)
	return true
}

func (w *Writer) producer() (*nativeProducer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.native == nil {
		props, err := w.properties()
		if err != nil {
			return nil, err
		}
		if w.logID == 0 {
			if w.logID, err = registerLogs(w.Logger, w.ErrorLogger); err != nil {
				return nil, err
			}
		}
		p, err := newNativeProducer(props)
		if err != nil {
			return nil, err
		}
		w.native = p
	}
	return w.native, nil
}

func (w *Writer) chooseTopic(msg *Message) (string, error) {
	switch {
	case w.Topic != "" && msg.Topic != "":
		return "", errors.New("kafka.(*Writer): Topic must not be specified for both Writer and Message")
	case w.Topic == "" && msg.Topic == "":
		return "", errors.New("kafka.(*Writer): Topic must be specified for Writer or Message")
	case msg.Topic != "":
		return msg.Topic, nil
	default:
		return w.Topic, nil
	}
}

// partitions returns the topic's partition count, from the engine's metadata cache or
// fetched. An unknown topic or an unreachable cluster fails here at once, as in kafka-go.
func (w *Writer) partitions(p *nativeProducer, topic string) (int, error) {
	return p.partitionCount(topic)
}

var partitionLists sync.Map // int -> []int{0..n-1}

func partitionList(n int) []int {
	if l, ok := partitionLists.Load(n); ok {
		return l.([]int)
	}
	l := make([]int, n)
	for i := range l {
		l[i] = i
	}
	partitionLists.Store(n, l)
	return l
}

// WriteMessages writes messages, as kafka-go's: all messages of the call are sent in one batch
// (one call into the engine). In sync mode it returns when every message was written or
// failed: nil, or WriteErrors with one entry per message. In async mode it returns once the
// messages are queued (after the topic's metadata is known). ctx bounds every wait: when it
// ends first, WriteMessages returns ctx.Err() at once, whatever the engine is doing (messages
// already queued may still be written; Completion reports what happened to them). An
// unreachable cluster fails at once with the connection error, as kafka-go's dial error. After
// Close it returns io.ErrClosedPipe.
func (w *Writer) WriteMessages(ctx context.Context, msgs ...Message) error {
	if w.Addr == nil {
		return errors.New("kafka.(*Writer).WriteMessages: cannot create a kafka writer with a nil address")
	}
	if !w.enter() {
		return io.ErrClosedPipe
	}
	if len(msgs) == 0 {
		w.sending.Done()
		w.inflight.Done()
		return nil
	}
	batchBytes := w.batchBytes()
	for i := range msgs {
		if size := msgs[i].totalSize(); size > batchBytes {
			w.sending.Done()
			w.inflight.Done()
			return messageTooLarge(msgs, i)
		}
	}
	var done chan error
	if !w.Async || w.Completion != nil || ctx.Done() != nil {
		// The messages outlive the call (Completion, or a call that returns early on ctx): a
		// copy of the slice, so that the caller may reuse its own.
		msgs = append([]Message(nil), msgs...)
	}
	if !w.Async {
		done = make(chan error, 1)
	}
	// Whoever claims the call settles w.sending and w.inflight: queue (which may still be running
	// when ctx ends first), or this function when ctx ended before queue started.
	var claimed int32
	_, err := run(ctx, func() (struct{}, error) {
		if !atomic.CompareAndSwapInt32(&claimed, 0, 1) {
			return struct{}{}, nil
		}
		return struct{}{}, w.queue(msgs, done)
	})
	if err != nil {
		if atomic.CompareAndSwapInt32(&claimed, 0, 1) {
			w.sending.Done()
			w.inflight.Done()
		}
		return err
	}
	if w.Async {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-done:
		return err
	}
}

// queue looks up the partitions of the messages' topics, queues them in one call, and starts
// the wait for their outcome (sent to done when not nil). It leaves w.sending once queued or
// failed, and w.inflight when the outcome is known.
func (w *Writer) queue(msgs []Message, done chan error) error {
	queued := false
	defer func() {
		if !queued {
			w.sending.Done()
			w.inflight.Done()
		}
	}()
	p, err := w.producer()
	if err != nil {
		return err
	}
	// The Writer's Topic for every message (the common case), or each message's own.
	var parts []int32
	if corePartitioner(w.Balancer) == "" {
		parts = make([]int32, len(msgs))
	}
	var topics []string
	if w.Topic == "" {
		topics = make([]string, len(msgs))
	}
	lastTopic, n := "", 0
	var bytes int64
	for i := range msgs {
		topic, err := w.chooseTopic(&msgs[i])
		if err != nil {
			return err
		}
		if i == 0 || topic != lastTopic {
			if n, err = w.partitions(p, topic); err != nil {
				return err
			}
			lastTopic = topic
		}
		if topics != nil {
			topics[i] = topic
		}
		if parts != nil {
			parts[i] = int32(w.Balancer.Balance(msgs[i], partitionList(n)...))
		}
		bytes += int64(len(msgs[i].Key) + len(msgs[i].Value))
	}
	batch, err := p.sendBatch(msgs, w.Topic, topics, parts)
	if err != nil {
		atomic.AddInt64(&w.stats.errors, 1)
		return err
	}
	if len(msgs) >= w.batchSize() {
		// kafka-go sends a full batch at once instead of waiting for BatchTimeout.
		w.requestSendNow(p)
	}
	atomic.AddInt64(&w.stats.writes, 1)
	atomic.AddInt64(&w.stats.messages, int64(len(msgs)))
	atomic.AddInt64(&w.stats.bytes, bytes)
	queued = true
	w.sending.Done()
	// Not in the caller's cancellation scope: the outcome is always waited for and reported.
	go func() {
		defer w.inflight.Done()
		results := batch.wait()
		err := w.complete(msgs, results)
		results.release()
		if done != nil {
			done <- err
		}
	}()
	return nil
}

// requestSendNow makes the engine send what is queued without waiting for BatchTimeout. The
// call returns at once (the engine marks the queued batches ready and wakes its sender), so it
// runs on the caller's goroutine.
func (w *Writer) requestSendNow(p *nativeProducer) {
	_ = p.call(func(ptr *nativeHandle) error { return sendNow(ptr) })
}

// complete reports the outcome of a batch: Completion per partition, ErrorLogger, and the
// error WriteMessages returns.
func (w *Writer) complete(msgs []Message, results *deliveries) error {
	var werr WriteErrors
	for i := range msgs {
		partition, offset, timestamp, err := results.get(i)
		if err != nil {
			if werr == nil {
				werr = make(WriteErrors, len(msgs))
			}
			werr[i] = err
			continue
		}
		m := &msgs[i]
		m.Partition = partition
		m.Offset = offset
		if m.Time.IsZero() {
			m.Time = time.UnixMilli(timestamp)
		}
		if m.Topic == "" {
			m.Topic = w.Topic
		}
	}
	if werr != nil {
		atomic.AddInt64(&w.stats.errors, int64(werr.Count()))
		if w.ErrorLogger != nil {
			w.ErrorLogger.Printf("error writing messages to %s: %v", w.Topic, werr)
		} else if w.Logger != nil {
			w.Logger.Printf("error writing messages to %s: %v", w.Topic, werr)
		}
	}
	if w.Completion != nil && werr == nil && samePartition(msgs) {
		// The common case (one partition per call): the messages as they are, no grouping.
		w.Completion(msgs, nil)
		return nil
	}
	if w.Completion != nil {
		// One call per partition's messages, as kafka-go's per-partition batches. A batch call
		// touches few partitions: a linear search from the last group found beats a map, and
		// each group's slice is sized by a first counting pass (no regrowth per message).
		type group struct {
			topic     string
			partition int
			err       error
			n         int
			msgs      []Message
		}
		var groups []group
		of := make([]int32, len(msgs))
		last := -1
		for i := range msgs {
			topic, partition := msgs[i].Topic, msgs[i].Partition
			var err error
			if werr != nil && werr[i] != nil {
				partition, err = -1, werr[i]
			}
			g := last
			if g < 0 || groups[g].partition != partition || groups[g].topic != topic || (err != nil) != (groups[g].err != nil) {
				g = -1
				for j := range groups {
					if groups[j].partition == partition && groups[j].topic == topic && (err != nil) == (groups[j].err != nil) {
						g = j
						break
					}
				}
				if g < 0 {
					groups = append(groups, group{topic: topic, partition: partition, err: err})
					g = len(groups) - 1
				}
				last = g
			}
			groups[g].n++
			of[i] = int32(g)
		}
		if len(groups) == 1 {
			// The common case (one partition per call): the messages as they are.
			w.Completion(msgs, groups[0].err)
			return werrOrNil(werr)
		}
		for j := range groups {
			groups[j].msgs = make([]Message, 0, groups[j].n)
		}
		for i := range msgs {
			g := &groups[of[i]]
			g.msgs = append(g.msgs, msgs[i])
		}
		for j := range groups {
			w.Completion(groups[j].msgs, groups[j].err)
		}
	}
	return werrOrNil(werr)
}

// Close flushes what is queued, waits for writes in progress, and releases the native
// producer. Later writes return io.ErrClosedPipe. Idempotent.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	native := w.native
	logID := w.logID
	w.mu.Unlock()
	defer unregisterLogs(logID)
	w.sending.Wait()
	var err error
	if native != nil {
		if cerr := native.close(int((w.writeTimeout() * time.Duration(w.maxAttempts())).Milliseconds())); cerr != nil && !errors.Is(cerr, io.ErrClosedPipe) {
			err = cerr
		}
	}
	w.inflight.Wait()
	if native != nil {
		native.free()
	}
	return err
}

// Stats returns the counters and summaries since the last call (they are reset) and the
// configuration. Dials, QueueLength, the batch, write, wait and dial summaries and Retries come
// from the engine: BatchQueueTime is a batch's wait from its first message until it was ready
// to go, BatchTime until its request was written, WriteTime each Produce request's round trip,
// WaitTime the broker's throttle time, as in kafka-go.
func (w *Writer) Stats() WriterStats {
	lo, hi := w.backoff()
	var engine engineStats
	var win engineWindows
	ok := false
	w.mu.Lock()
	native := w.native
	w.mu.Unlock()
	if native != nil {
		engine, ok = snapshotOf(native.statsJSON)
		win = windowsOf(native.statsWindowsJSON)
	}
	return WriterStats{
		BatchTime:       win.Batch.durations(time.Microsecond),
		BatchQueueTime:  win.BatchQueue.durations(time.Microsecond),
		WriteTime:       win.Produce.durations(time.Microsecond),
		WaitTime:        win.Throttle.durations(time.Millisecond),
		Retries:         win.Retries,
		BatchSize:       win.BatchMsgs.summary(),
		BatchBytes:      win.BatchBytes.summary(),
		DialTime:        win.Connect.durations(time.Microsecond),
		Dials:           since(&w.stats.dials, engine.dials(), ok),
		QueueLength:     engine.MsgCnt,
		Writes:          atomic.SwapInt64(&w.stats.writes, 0),
		Messages:        atomic.SwapInt64(&w.stats.messages, 0),
		Bytes:           atomic.SwapInt64(&w.stats.bytes, 0),
		Errors:          atomic.SwapInt64(&w.stats.errors, 0),
		MaxAttempts:     int64(w.maxAttempts()),
		WriteBackoffMin: lo,
		WriteBackoffMax: hi,
		MaxBatchSize:    int64(w.batchSize()),
		BatchTimeout:    w.batchTimeout(),
		ReadTimeout:     w.readTimeout(),
		WriteTimeout:    w.writeTimeout(),
		RequiredAcks:    int64(w.RequiredAcks),
		Async:           w.Async,
		Topic:           w.Topic,
		ClientID:        "kafka-go",
	}
}

// WriterStats has kafka-go's fields.
type WriterStats struct {
	Writes   int64
	Messages int64
	Bytes    int64
	Errors   int64

	BatchTime      DurationStats
	BatchQueueTime DurationStats
	WriteTime      DurationStats
	WaitTime       DurationStats
	Retries        int64
	BatchSize      SummaryStats
	BatchBytes     SummaryStats

	MaxAttempts     int64
	WriteBackoffMin time.Duration
	WriteBackoffMax time.Duration
	MaxBatchSize    int64
	BatchTimeout    time.Duration
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	RequiredAcks    int64
	Async           bool

	Topic string

	Dials    int64
	DialTime DurationStats

	Rebalances        int64
	RebalanceInterval time.Duration
	QueueLength       int64
	QueueCapacity     int64
	ClientID          string
}

// DurationStats summarises durations.
type DurationStats struct {
	Avg   time.Duration
	Min   time.Duration
	Max   time.Duration
	Count int64
	Sum   time.Duration
}

// SummaryStats summarises values.
type SummaryStats struct {
	Avg   int64
	Min   int64
	Max   int64
	Count int64
	Sum   int64
}

// werrOrNil returns werr as an error, or a nil error (not a nil WriteErrors in an interface).
func werrOrNil(werr WriteErrors) error {
	if werr != nil {
		return werr
	}
	return nil
}

// samePartition: every message has the topic and partition of the first.
func samePartition(msgs []Message) bool {
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Partition != msgs[0].Partition || msgs[i].Topic != msgs[0].Topic {
			return false
		}
	}
	return true
}
