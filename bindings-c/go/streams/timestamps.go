package streams

// TimestampExtractor is one of Kafka Streams' built-in timestamp extractors, for
// Stream.WithTimestampExtractor (a source's records take default.timestamp.extractor otherwise,
// FailOnInvalidTimestamp unless set). A record whose time comes out negative is dropped
// (Metrics.TimestampDropped), except where the extractor fails on it.
type TimestampExtractor int

// The built-in extractors, in the C ABI's order (pk_timestamp_extractor).
const (
	// FailOnInvalidTimestamp: the record's timestamp; a negative one stops the application.
	FailOnInvalidTimestamp TimestampExtractor = iota
	// LogAndSkipOnInvalidTimestamp: the record's timestamp; a record with a negative one is skipped.
	LogAndSkipOnInvalidTimestamp
	// UsePartitionTimeOnInvalidTimestamp: the record's timestamp; a negative one is replaced by
	// the partition's time (and stops the application while there is none yet).
	UsePartitionTimeOnInvalidTimestamp
	// WallclockTimestampExtractor: the wall-clock time when the record is read.
	WallclockTimestampExtractor
)

// timestampUser is the C ABI's PK_TIMESTAMP_EXTRACTOR_USER.
const timestampUser = 4

// WithTimestampExtractor gives the source stream s (of From) a built-in timestamp extractor
// (Kafka Streams' Consumed.withTimestampExtractor); s itself is returned. On a stream that is not
// a source, the error comes back from Build.
func (s *Stream[K, V]) WithTimestampExtractor(e TimestampExtractor) *Stream[K, V] {
	if e < FailOnInvalidTimestamp || e > WallclockTimestampExtractor {
		s.b.fail(&Error{Kind: "invalid_argument", Message: "WithTimestampExtractor takes one of the built-in extractors (FailOnInvalidTimestamp, ...)"})
		return s
	}
	s.b.c.timestampExtractor(s.node, int(e))
	return s
}

// WithTimestampFunc gives the source stream s (of From) a timestamp extractor of its own:
// extract(key, value, recordTimestamp, partitionTime) is the record's event time (Kafka Streams'
// TimestampExtractor.extract; partitionTime is the largest time extracted from the record's
// partition before it, -1 when none). A negative time drops the record; an error or a panic stops
// the application (OnError gets the record's topic, partition and offset); a key or value the
// serdes cannot read goes to the deserialization handler. Called once per batch of a partition's
// records, in the order read.
func (s *Stream[K, V]) WithTimestampFunc(extract func(key K, value V, recordTimestamp, partitionTime int64) (int64, error)) *Stream[K, V] {
	if extract == nil {
		s.b.fail(&Error{Kind: "invalid_argument", Message: "WithTimestampFunc needs a function (it is nil)"})
		return s
	}
	s.b.c.timestampExtractor(s.node, timestampUser)
	if s.b.Err() == nil {
		s.b.r.extracts[s.node] = &extractOp{
			fn:    func(k, v any, ts, pt int64) (int64, error) { return extract(as[K](k), as[V](v), ts, pt) },
			keyIn: codecOf(s.ks), valIn: codecOf(s.vs),
		}
	}
	return s
}
