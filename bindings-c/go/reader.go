package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
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
	if config.MinBytes > config.MaxBytes && config.MaxBytes != 0 {
		return fmt.Errorf("minimum batch size greater than the maximum (min = %d, max = %d)", config.MinBytes, config.MaxBytes)
	}
	return nil
}

// Reader has kafka-go's methods. TEMPORARY: polykafka's consumer is not wired in yet, so reads
// return ErrNotImplemented; Close and the closed-reader semantics already follow kafka-go.
type Reader struct {
	config ReaderConfig
	mu     sync.Mutex
	closed bool
}

// NewReader validates config (panicking on an invalid one, as kafka-go) and returns a reader.
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
	if config.StartOffset == 0 {
		config.StartOffset = FirstOffset
	}
	return &Reader{config: config}
}

// Config returns the reader's configuration with defaults applied.
func (r *Reader) Config() ReaderConfig { return r.config }

func (r *Reader) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// ReadMessage reads and (with a GroupID) commits the next message. Not implemented yet.
func (r *Reader) ReadMessage(ctx context.Context) (Message, error) {
	return r.FetchMessage(ctx)
}

// FetchMessage reads the next message without committing it. Not implemented yet.
func (r *Reader) FetchMessage(ctx context.Context) (Message, error) {
	if r.isClosed() {
		return Message{}, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	return Message{}, fmt.Errorf("kafka.(*Reader).FetchMessage: %w (the consumer is not wired in yet)", ErrNotImplemented)
}

// CommitMessages commits offset+1 of the highest message per partition. Not implemented yet.
func (r *Reader) CommitMessages(ctx context.Context, msgs ...Message) error {
	if r.isClosed() {
		return io.ErrClosedPipe
	}
	if r.config.GroupID == "" {
		return errors.New("kafka.(*Reader).CommitMessages: unavailable when GroupID is not set")
	}
	return ErrNotImplemented
}

// SetOffset changes the next offset to read (partition mode). Not implemented yet.
func (r *Reader) SetOffset(offset int64) error {
	if r.config.GroupID != "" {
		return errors.New("kafka.(*Reader).SetOffset: unavailable when GroupID is set")
	}
	return ErrNotImplemented
}

// Offset is the next offset to read; -1 in group mode.
func (r *Reader) Offset() int64 { return -1 }

// Lag is the number of messages behind the end of the partition; -1 in group mode.
func (r *Reader) Lag() int64 { return -1 }

// Stats returns the reader's counters.
func (r *Reader) Stats() ReaderStats {
	return ReaderStats{
		MinBytes: int64(r.config.MinBytes),
		MaxBytes: int64(r.config.MaxBytes),
		MaxWait:  r.config.MaxWait,
		Topic:    r.config.Topic,
		Offset:   -1,
		Lag:      -1,
	}
}

// Close closes the reader; later reads return io.EOF. Idempotent.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
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
