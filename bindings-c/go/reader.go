package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ReaderConfig has every field of kafka-go's, so configurations compile unchanged.
type ReaderConfig struct {
	Brokers                []string
	GroupID                string
	GroupTopics            []string
	Topic                  string
	Partition              int
	Dialer                 *Dialer
	QueueCapacity          int
	MinBytes               int
	MaxBytes               int
	MaxWait                time.Duration
	ReadBatchTimeout       time.Duration
	ReadLagInterval        time.Duration
	GroupBalancers         []GroupBalancer
	HeartbeatInterval      time.Duration
	CommitInterval         time.Duration
	PartitionWatchInterval time.Duration
	WatchPartitionChanges  bool
	SessionTimeout         time.Duration
	RebalanceTimeout       time.Duration
	JoinGroupBackoff       time.Duration
	RetentionTime          time.Duration
	StartOffset            int64
	ReadBackoffMin         time.Duration
	ReadBackoffMax         time.Duration
	Logger                 Logger
	ErrorLogger            Logger
	IsolationLevel         IsolationLevel
	MaxAttempts            int
	OffsetOutOfRangeError  bool
}

// GroupBalancer is kafka-go's consumer group assignor interface (names only so far).
type GroupBalancer interface {
	ProtocolName() string
}

// RangeGroupBalancer and RoundRobinGroupBalancer name kafka-go's assignors.
type (
	RangeGroupBalancer      struct{}
	RoundRobinGroupBalancer struct{}
)

func (RangeGroupBalancer) ProtocolName() string      { return "range" }
func (RoundRobinGroupBalancer) ProtocolName() string { return "roundrobin" }

// Validate checks the configuration as kafka-go does.
func (config *ReaderConfig) Validate() error {
	if len(config.Brokers) == 0 {
		return errors.New("cannot create a new kafka reader with an empty list of broker addresses")
	}
	if config.Partition < 0 || config.Partition >= (1<<31) {
		return fmt.Errorf("partition number out of bounds: %d", config.Partition)
	}
	if config.MinBytes < 0 {
		return fmt.Errorf("invalid negative minimum batch size (min = %d)", config.MinBytes)
	}
	if config.MaxBytes < 0 {
		return fmt.Errorf("invalid negative maximum batch size (max = %d)", config.MaxBytes)
	}
	if config.GroupID != "" {
		if config.Partition != 0 {
			return errors.New("either Partition or GroupID may be specified, but not both")
		}
		if len(config.Topic) == 0 && len(config.GroupTopics) == 0 {
			return errors.New("either Topic or GroupTopics must be specified with GroupID")
		}
	} else if len(config.Topic) == 0 {
		return errors.New("cannot create a new kafka reader with an empty topic")
	}
	// As kafka-go: checked before NewReader's defaults, so MinBytes without MaxBytes fails.
	if config.MinBytes > config.MaxBytes {
		return fmt.Errorf("minimum batch size greater than the maximum (min = %d, max = %d)", config.MinBytes, config.MaxBytes)
	}
	if config.ReadBackoffMax < 0 {
		return fmt.Errorf("ReadBackoffMax out of bounds: %d", config.ReadBackoffMax)
	}
	if config.ReadBackoffMin < 0 {
		return fmt.Errorf("ReadBackoffMin out of bounds: %d", config.ReadBackoffMin)
	}
	return nil
}

// Reader reads messages with kafka-go's semantics, over polykafka's consumer.
//
// With a GroupID it is a member of that consumer group (subscribed to Topic or GroupTopics);
// partitions are shared among the group's readers, and a new group starts at StartOffset
// (FirstOffset by default, as kafka-go: auto.offset.reset earliest; LastOffset: latest).
// Without a GroupID it reads Topic's Partition from FirstOffset, or from SetOffset's offset.
//
// Reading and committing follow kafka-go exactly, which surprises:
//   - ReadMessage commits the message BEFORE returning it, so before the application has
//     processed it: a crash after ReadMessage loses the message (at-most-once). Use
//     FetchMessage, process, then CommitMessages for at-least-once.
//   - With CommitInterval 0 (the default) every commit is a synchronous round-trip to the
//     group coordinator: ReadMessage costs one round-trip per message.
//   - With CommitInterval > 0, CommitMessages returns at once: it stores the offsets in the
//     engine, which commits them every CommitInterval, before a rebalance takes a partition
//     away and on Close (errors go to ErrorLogger). Unlike kafka-go, which keeps the highest
//     offset given within one interval, a later call with a lower message moves the stored
//     offset back at once.
//   - CommitMessages commits offset+1 of the highest message per partition among those given;
//     a later call with a lower message moves the committed offset back.
//
// Records are fetched by the engine in the background and cross into Go one batch per cgo call
// (at most 500 records), then FetchMessage hands them out one by one.
type Reader struct {
	config ReaderConfig
	group  bool

	mu       sync.Mutex
	closed   atomic.Bool // set under mu by Close; read without it on every FetchMessage
	closedCh chan struct{}
	started  atomic.Bool  // set under mu; read without it on every FetchMessage
	offset   atomic.Int64 // non-group: the next offset (kafka-go's Offset()); stored by the holder of sem
	lag      atomic.Int64
	version  int64 // bumped by SetOffset: results of older polls are dropped

	native  *nativeConsumer
	logID   uint64 // engine logs to Logger/ErrorLogger (logs.go); 0: none
	initErr error

	sem     chan struct{}   // held by the one fetching goroutine
	buf     []Message       // fetched, not yet handed out
	cur     []Message       // the array of buf (its messages are zeroed as they are handed out)
	spare   []Message       // a zeroed array that the next poll fills, if it has room
	pending chan pollResult // a poll in flight, nil if none
	pendVer int64           // version of the pending poll

	stats readerCounters
}

type topicPartition struct {
	topic     string
	partition int
}

type pollResult struct {
	msgs  []Message
	bytes int64 // keys + values of msgs
	err   error
}

type readerCounters struct {
	fetches, messages, bytes, errors, timeouts int64
	dials, rebalances                          int64 // the engine's totals at the last Stats call
}

var (
	errOnlyAvailableWithGroup = errors.New("unavailable when GroupID is not set")
	errNotAvailableWithGroup  = errors.New("unavailable when GroupID is set")
)

// pollTimeout bounds one blocking poll call, so SetOffset and Close never wait longer.
const pollTimeout = 500 * time.Millisecond

// NewReader validates config (panicking on an invalid one, as kafka-go) and returns a reader.
// A group reader joins its group at once; a partition reader starts at its first read.
func NewReader(config ReaderConfig) *Reader {
	if err := config.Validate(); err != nil {
		panic(err)
	}
	if config.MinBytes == 0 {
		config.MinBytes = 1
	}
	if config.MaxBytes == 0 {
		config.MaxBytes = 1e6
	}
	if config.MaxWait == 0 {
		config.MaxWait = 10 * time.Second
	}
	if config.QueueCapacity == 0 {
		config.QueueCapacity = 100
	}
	if config.StartOffset == 0 {
		config.StartOffset = FirstOffset
	}
	if config.HeartbeatInterval == 0 {
		config.HeartbeatInterval = 3 * time.Second
	}
	if config.SessionTimeout == 0 {
		config.SessionTimeout = 30 * time.Second
	}
	if config.RebalanceTimeout == 0 {
		config.RebalanceTimeout = 30 * time.Second
	}
	if config.GroupID != "" && len(config.GroupBalancers) == 0 {
		config.GroupBalancers = []GroupBalancer{RangeGroupBalancer{}, RoundRobinGroupBalancer{}}
	}
	r := &Reader{
		config:   config,
		group:    config.GroupID != "",
		closedCh: make(chan struct{}),
		sem:      make(chan struct{}, 1),
	}
	r.offset.Store(FirstOffset)
	r.lag.Store(-1)
	props, err := r.properties()
	if r.initErr = err; err == nil {
		r.logID, r.initErr = registerLogs(config.Logger, config.ErrorLogger)
	}
	if r.initErr == nil {
		r.native, r.initErr = newNativeConsumer(props)
	}
	if r.initErr == nil && r.group {
		r.initErr = r.native.subscribe(r.topics())
	}
	return r
}

func (r *Reader) topics() []string {
	if len(r.config.GroupTopics) > 0 {
		return r.config.GroupTopics
	}
	return []string{r.config.Topic}
}

// properties translates the configuration (and its Dialer's) into the engine's.
func (r *Reader) properties() (map[string]string, error) {
	c := &r.config
	props := map[string]string{
		"bootstrap.servers":         strings.Join(c.Brokers, ","),
		"client.id":                 "kafka-go",
		"fetch.min.bytes":           strconv.Itoa(c.MinBytes),
		"max.partition.fetch.bytes": strconv.Itoa(c.MaxBytes),
		"fetch.max.bytes":           strconv.Itoa(max(c.MaxBytes, 52428800)),
		"fetch.max.wait.ms":         ms(c.MaxWait),
		"request.timeout.ms":        ms(c.MaxWait + 30*time.Second),
		"enable.auto.commit":        "false",
		"isolation.level":           "read_uncommitted",
	}
	if c.IsolationLevel == ReadCommitted {
		props["isolation.level"] = "read_committed"
	}
	dialer, err := c.Dialer.properties()
	for k, v := range dialer {
		props[k] = v
	}
	if r.group {
		props["group.id"] = c.GroupID
		props["heartbeat.interval.ms"] = ms(c.HeartbeatInterval)
		props["session.timeout.ms"] = ms(c.SessionTimeout)
		props["rebalance.timeout.ms"] = ms(c.RebalanceTimeout)
		// kafka-go has no poll deadline: a reader that is not read from stays in the group.
		props["max.poll.interval.ms"] = "86400000"
		props["auto.offset.reset"] = "earliest"
		if c.CommitInterval > 0 {
			// CommitMessages stores; the engine commits the stored offsets by interval, on
			// revoke and on close.
			props["enable.auto.commit"] = "true"
			props["enable.auto.offset.store"] = "false"
			props["auto.commit.interval.ms"] = ms(c.CommitInterval)
		}
		if c.StartOffset == LastOffset {
			props["auto.offset.reset"] = "latest"
		}
		var names []string
		for _, b := range c.GroupBalancers {
			switch b.ProtocolName() {
			case "range", "roundrobin":
				names = append(names, b.ProtocolName())
			}
		}
		if len(names) > 0 {
			props["partition.assignment.strategy"] = strings.Join(names, ",")
		}
	}
	return props, err
}

// Config returns the reader's configuration with defaults applied.
func (r *Reader) Config() ReaderConfig { return r.config }

func (r *Reader) isClosed() bool { return r.closed.Load() }

func (r *Reader) log(format string, args ...interface{}) {
	if r.config.Logger != nil {
		r.config.Logger.Printf(format, args...)
	}
}

func (r *Reader) logError(format string, args ...interface{}) {
	if r.config.ErrorLogger != nil {
		r.config.ErrorLogger.Printf(format, args...)
	} else if r.config.Logger != nil {
		r.config.Logger.Printf(format, args...)
	}
}

// ReadMessage is FetchMessage followed, with a GroupID, by CommitMessages of that message —
// before the application sees it (at-most-once). Errors are wrapped ("fetching message: %w",
// "committing message: %w"), so errors.Is(err, io.EOF) holds after Close.
func (r *Reader) ReadMessage(ctx context.Context) (Message, error) {
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return Message{}, fmt.Errorf("fetching message: %w", err)
	}
	if r.group {
		if err := r.CommitMessages(ctx, m); err != nil {
			return Message{}, fmt.Errorf("committing message: %w", err)
		}
	}
	return m, nil
}

// FetchMessage returns the next message, blocking until one arrives, an error, or the end of
// ctx (ctx.Err()). It never commits. After Close it returns io.EOF.
func (r *Reader) FetchMessage(ctx context.Context) (Message, error) {
	if r.isClosed() {
		return Message{}, io.EOF
	}
	if r.initErr != nil {
		return Message{}, r.initErr
	}
	select {
	case r.sem <- struct{}{}: // uncontended (the usual case): no multi-way select per message
	default:
		select {
		case r.sem <- struct{}{}:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		case <-r.closedCh:
			return Message{}, io.EOF
		}
	}
	defer func() { <-r.sem }()
	if err := r.start(ctx); err != nil {
		return Message{}, err
	}
	for len(r.buf) == 0 {
		if r.pending == nil {
			r.startPoll()
		}
		select {
		case <-ctx.Done():
			return Message{}, ctx.Err() // the poll stays pending: nothing is lost
		case <-r.closedCh:
			return Message{}, io.EOF
		case res := <-r.pending:
			if err := r.takePoll(res); err != nil {
				return Message{}, err
			}
		}
	}
	m := r.buf[0]
	r.buf[0] = Message{}
	r.buf = r.buf[1:]
	if !r.group {
		r.offset.Store(m.Offset + 1)
		r.lag.Store(m.HighWaterMark - m.Offset - 1)
	}
	return m, nil
}

// start assigns the partition of a non-group reader at its first read (holding sem). As
// kafka-go's, whose first read dials the leader, it fails with the connection error when no
// broker answers (bounded by ctx); the next read tries again.
func (r *Reader) start(ctx context.Context) error {
	if r.group || r.started.Load() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started.Load() {
		return nil
	}
	if _, err := run(ctx, func() (struct{}, error) { return struct{}{}, r.native.connectOnce() }); err != nil {
		return err
	}
	err := r.native.assign([]partitionOffset{{r.config.Topic, r.config.Partition, r.offset.Load()}})
	if err != nil {
		return err
	}
	r.started.Store(true)
	return nil
}

// startPoll starts one blocking poll call on its own goroutine (holding sem).
func (r *Reader) startPoll() {
	ch := make(chan pollResult, 1)
	r.pending = ch
	r.mu.Lock()
	r.pendVer = r.version
	r.mu.Unlock()
	max := r.config.QueueCapacity
	if max < 500 {
		max = 500
	}
	reuse := r.spare
	r.spare = nil
	go func() {
		msgs, bytes, err := r.native.pollBatch(max, pollTimeout, reuse)
		ch <- pollResult{msgs, bytes, err}
	}()
}

// takePoll consumes a finished poll (holding sem).
func (r *Reader) takePoll(res pollResult) error {
	r.pending = nil
	r.mu.Lock()
	stale := r.pendVer != r.version
	r.mu.Unlock()
	if res.err != nil {
		if r.isClosed() || errors.Is(res.err, io.ErrClosedPipe) {
			return io.EOF
		}
		atomic.AddInt64(&r.stats.errors, 1)
		var ce *ClientError
		if errors.As(res.err, &ce) && ce.Retriable {
			r.logError("kafka reader: %v (retrying)", res.err)
			return nil
		}
		return res.err
	}
	if len(res.msgs) == 0 {
		r.spare = res.msgs // the array passed in, for the next poll
		atomic.AddInt64(&r.stats.timeouts, 1)
		return nil
	}
	atomic.AddInt64(&r.stats.fetches, 1)
	if stale {
		clear(res.msgs)
		r.spare = res.msgs
		return nil
	}
	// buf is empty here: the array it was read from is all handed out (zeroed), free for reuse
	r.spare, r.cur, r.buf = r.cur, res.msgs, res.msgs
	// Counted when fetched, as kafka-go's reader counts what it queues: once per batch.
	atomic.AddInt64(&r.stats.messages, int64(len(res.msgs)))
	atomic.AddInt64(&r.stats.bytes, res.bytes)
	return nil
}

// CommitMessages commits offset+1 of the highest message per partition among msgs. Without a
// GroupID it fails; after Close it returns io.ErrClosedPipe. With CommitInterval 0 it is
// synchronous (retried up to 3 times); otherwise it stores the offsets in the engine for its
// next interval commit and returns at once (a partition no longer assigned is reported to
// ErrorLogger, as kafka-go reports a failed interval commit).
func (r *Reader) CommitMessages(ctx context.Context, msgs ...Message) error {
	if !r.group {
		return errOnlyAvailableWithGroup
	}
	if r.isClosed() {
		return io.ErrClosedPipe
	}
	if len(msgs) == 0 {
		return nil
	}
	highest := map[topicPartition]int64{}
	for _, m := range msgs {
		tp := topicPartition{m.Topic, m.Partition}
		if o, ok := highest[tp]; !ok || m.Offset+1 > o {
			highest[tp] = m.Offset + 1
		}
	}
	if r.config.CommitInterval > 0 {
		if err := r.native.storeOffsets(offsetList(highest)); err != nil {
			if errors.Is(err, io.ErrClosedPipe) {
				return io.ErrClosedPipe
			}
			r.logError("kafka reader: storing offsets to commit: %v", err)
		}
		return nil
	}
	return r.commitSync(ctx, highest)
}

func offsetList(m map[topicPartition]int64) []partitionOffset {
	list := make([]partitionOffset, 0, len(m))
	for tp, o := range m {
		list = append(list, partitionOffset{tp.topic, tp.partition, o})
	}
	return list
}

func (r *Reader) commitSync(ctx context.Context, offsets map[topicPartition]int64) error {
	list := offsetList(offsets)
	_, err := run(ctx, func() (struct{}, error) {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			if err = r.native.commit(list); err == nil {
				return struct{}{}, nil
			}
			var ce *ClientError
			if !errors.As(err, &ce) || !ce.Retriable {
				break
			}
			time.Sleep(100 * time.Millisecond << attempt)
		}
		return struct{}{}, err
	})
	if err != nil && errors.Is(err, io.ErrClosedPipe) {
		return io.ErrClosedPipe
	}
	return err
}

// SetOffset sets the next offset to read, FirstOffset or LastOffset included. With a GroupID it
// fails; after Close it returns io.ErrClosedPipe. Messages fetched but not yet returned are
// dropped.
func (r *Reader) SetOffset(offset int64) error {
	if r.group {
		return errNotAvailableWithGroup
	}
	if r.isClosed() {
		return io.ErrClosedPipe
	}
	if offset < 0 && offset != FirstOffset && offset != LastOffset {
		return fmt.Errorf("kafka.(*Reader).SetOffset: invalid offset %d", offset)
	}
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	if r.pending != nil {
		// A poll left by a FetchMessage whose ctx ended could take records after the seek below
		// and be dropped as stale with them: it ends first (within pollTimeout) and is dropped.
		select {
		case <-r.pending:
		case <-r.closedCh:
		}
		r.pending = nil
	}
	r.mu.Lock()
	r.version++
	started := r.started.Load()
	r.offset.Store(offset)
	r.mu.Unlock()
	clear(r.buf) // the array is reused by the next poll
	r.buf, r.spare, r.cur = nil, r.cur, nil
	if started {
		r.log("setting the offset of the kafka reader for partition %d of %s to %d", r.config.Partition, r.config.Topic, offset)
		return r.native.seek(r.config.Topic, r.config.Partition, offset)
	}
	return nil
}

// Offset is the offset of the next message FetchMessage returns (FirstOffset before the first
// one unless SetOffset was called); -1 with a GroupID.
func (r *Reader) Offset() int64 {
	if r.group {
		return -1
	}
	return r.offset.Load()
}

// Lag is the number of messages after the last one returned, as of its fetch; -1 with a
// GroupID (and before the first message).
func (r *Reader) Lag() int64 {
	if r.group {
		return -1
	}
	return r.lag.Load()
}

// ReadLag asks the partition's leader for its end and returns how far the reader is behind it.
// Not available with a GroupID (use Client.ConsumerGroupLag).
func (r *Reader) ReadLag(ctx context.Context) (int64, error) {
	if r.group {
		return 0, errNotAvailableWithGroup
	}
	if r.initErr != nil {
		return 0, r.initErr
	}
	type marks struct{ lo, hi int64 }
	w, err := run(ctx, func() (marks, error) {
		lo, hi, err := r.native.watermarks(r.config.Topic, r.config.Partition, 10*time.Second)
		return marks{lo, hi}, err
	})
	if err != nil {
		return 0, err
	}
	switch cur := r.Offset(); cur {
	case FirstOffset:
		return w.hi - w.lo, nil
	case LastOffset:
		return 0, nil
	default:
		return w.hi - cur, nil
	}
}

// Stats returns the counters and summaries since the last call (they are reset) and the
// configuration. Dials, Rebalances, QueueLength and the summaries come from the engine: WaitTime
// is each Fetch request's wait for its response, ReadTime, FetchSize and FetchBytes the decoding
// time, messages and key+value bytes of each partition of a response, as kafka-go's per fetch.
func (r *Reader) Stats() ReaderStats {
	partition := strconv.Itoa(r.config.Partition)
	if r.group {
		partition = "-1"
	}
	var engine engineStats
	var win engineWindows
	ok := false
	if r.native != nil {
		engine, ok = snapshotOf(r.native.statsJSON)
		win = windowsOf(r.native.statsWindowsJSON)
	}
	return ReaderStats{
		DialTime:      win.Connect.durations(time.Microsecond),
		ReadTime:      win.FetchRead.durations(time.Microsecond),
		WaitTime:      win.FetchWait.durations(time.Microsecond),
		FetchSize:     win.FetchMsgs.summary(),
		FetchBytes:    win.FetchBytes.summary(),
		Dials:         since(&r.stats.dials, engine.dials(), ok),
		Rebalances:    since(&r.stats.rebalances, engine.rebalances(), ok),
		QueueLength:   engine.MsgCnt,
		Fetches:       atomic.SwapInt64(&r.stats.fetches, 0),
		Messages:      atomic.SwapInt64(&r.stats.messages, 0),
		Bytes:         atomic.SwapInt64(&r.stats.bytes, 0),
		Timeouts:      atomic.SwapInt64(&r.stats.timeouts, 0),
		Errors:        atomic.SwapInt64(&r.stats.errors, 0),
		MinBytes:      int64(r.config.MinBytes),
		MaxBytes:      int64(r.config.MaxBytes),
		MaxWait:       r.config.MaxWait,
		QueueCapacity: int64(r.config.QueueCapacity),
		Topic:         r.config.Topic,
		Partition:     partition,
		ClientID:      "kafka-go",
		Offset:        r.Offset(),
		Lag:           r.Lag(),
	}
}

// Close commits what CommitMessages stored (CommitInterval > 0), leaves the group and
// releases the native consumer. Reads then return io.EOF, commits io.ErrClosedPipe.
// Idempotent.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed.Load() {
		r.mu.Unlock()
		return nil
	}
	r.closed.Store(true)
	close(r.closedCh)
	r.mu.Unlock()
	var err error
	if r.native != nil {
		if cerr := r.native.close(); cerr != nil && !errors.Is(cerr, io.ErrClosedPipe) {
			err = cerr
		}
		r.native.free()
	}
	unregisterLogs(r.logID)
	return err
}

// groupConsumer gives the native consumer of a group reader (for Writer.SendOffsets).
func (r *Reader) groupConsumer() (*nativeConsumer, error) {
	if !r.group {
		return nil, errOnlyAvailableWithGroup
	}
	if r.isClosed() {
		return nil, io.ErrClosedPipe
	}
	if r.initErr != nil {
		return nil, r.initErr
	}
	return r.native, nil
}

// ReaderStats has kafka-go's fields.
type ReaderStats struct {
	Dials      int64
	Fetches    int64
	Messages   int64
	Bytes      int64
	Rebalances int64
	Timeouts   int64
	Errors     int64

	DialTime   DurationStats
	ReadTime   DurationStats
	WaitTime   DurationStats
	FetchSize  SummaryStats
	FetchBytes SummaryStats

	Offset        int64
	Lag           int64
	MinBytes      int64
	MaxBytes      int64
	MaxWait       time.Duration
	QueueLength   int64
	QueueCapacity int64

	ClientID  string
	Topic     string
	Partition string
}

// dropFetched drops the fetched messages of a partition not handed out yet (the partition was
// moved back by a seek: they come again).
func (r *Reader) dropFetched(topic string, partition int) {
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	kept := r.buf[:0]
	for _, m := range r.buf {
		if m.Topic != topic || m.Partition != partition {
			kept = append(kept, m)
		}
	}
	clear(r.buf[len(kept):])
	r.buf = kept
}
