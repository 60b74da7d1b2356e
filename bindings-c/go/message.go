package kafka

import "time"

// Message is a Kafka message, as in kafka-go.
type Message struct {
	// Topic is read by Writer.WriteMessages when the Writer has no Topic, and set by readers.
	Topic string
	// Partition is set by readers and in Completion; the Writer's balancer chooses it on write.
	Partition     int
	Offset        int64
	HighWaterMark int64
	Key           []byte
	Value         []byte
	Headers       []Header
	// WriterData is for the application; the Writer passes it through to Completion.
	WriterData interface{}
	// Time is the message's timestamp; the zero value means "now" when writing.
	Time time.Time
}

// Header is a message header. Keys may repeat.
type Header struct {
	Key   string
	Value []byte
}

// size is kafka-go's estimate of a message's size in a batch, used against BatchBytes.
func (msg *Message) totalSize() int64 {
	size := int64(4 + 1 + 1 + 8 + 4 + len(msg.Key) + 4 + len(msg.Value))
	for _, h := range msg.Headers {
		size += int64(2 + len(h.Key) + 4 + len(h.Value))
	}
	return size
}

const (
	// LastOffset is the offset after the last message of a partition.
	LastOffset int64 = -1
	// FirstOffset is the offset of the first message of a partition.
	FirstOffset int64 = -2
)

// RequiredAcks is the number of acknowledgements a write waits for.
type RequiredAcks int

const (
	RequireNone RequiredAcks = 0
	RequireOne  RequiredAcks = 1
	RequireAll  RequiredAcks = -1
)

func (acks RequiredAcks) String() string {
	switch acks {
	case RequireNone:
		return "none"
	case RequireOne:
		return "one"
	case RequireAll:
		return "all"
	default:
		return "unknown"
	}
}

// Compression is a compression codec; the values are Kafka's (and kafka-go's).
type Compression int8

const (
	Gzip   Compression = 1
	Snappy Compression = 2
	Lz4    Compression = 3
	Zstd   Compression = 4
)

func (c Compression) String() string {
	switch c {
	case 0:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case Lz4:
		return "lz4"
	case Zstd:
		return "zstd"
	default:
		return "unknown"
	}
}

// IsolationLevel says whether a reader sees records of aborted or open transactions.
type IsolationLevel int8

const (
	ReadUncommitted IsolationLevel = 0
	ReadCommitted   IsolationLevel = 1
)
