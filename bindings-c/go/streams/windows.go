package streams

import "time"

// TimeWindows are Kafka Streams' TimeWindows: epoch-aligned windows [start, start+size), a new
// one every advance (tumbling when advance is the size, hopping when smaller); a record later
// than a window's end plus grace (in stream time) is dropped for that window. Checked by the
// core when made: the error comes back from Builder.Build.
type TimeWindows struct {
	Size, Advance, Grace time.Duration
}

// TumblingWindows gives Kafka Streams' TimeWindows.ofSizeAndGrace(size, grace).
func TumblingWindows(size, grace time.Duration) TimeWindows {
	return TimeWindows{Size: size, Advance: size, Grace: grace}
}

// AdvanceBy gives hopping windows (Kafka Streams' advanceBy).
func (w TimeWindows) AdvanceBy(advance time.Duration) TimeWindows {
	w.Advance = advance
	return w
}

// Check reports what the core finds wrong with the windows, if anything.
func (w TimeWindows) Check() error { return checkTimeWindows(w) }

// JoinWindows are Kafka Streams' JoinWindows: a record at t joins the other stream's records of
// its key from t-Before to t+After; Grace more of stream time is left for late records.
type JoinWindows struct {
	Before, After, Grace time.Duration
}

// JoinTimeDifference gives Kafka Streams' JoinWindows.ofTimeDifferenceAndGrace(d, grace).
func JoinTimeDifference(d, grace time.Duration) JoinWindows {
	return JoinWindows{Before: d, After: d, Grace: grace}
}

// Check reports what the core finds wrong with the windows, if anything.
func (w JoinWindows) Check() error { return checkJoinWindows(w) }

// SessionWindows are Kafka Streams' SessionWindows: a key's records less than Gap apart (in
// event time) form one session [first, last], both ends inclusive; a record bridging two
// sessions merges them. A record whose session would end before stream time minus Gap minus
// Grace is late: dropped (Metrics.LateDropped). Checked by the core when used (Builder.Build gives
// the error) or with Check.
type SessionWindows struct {
	Gap, Grace time.Duration
}

// OfInactivityGapWithNoGrace gives Kafka Streams' SessionWindows.ofInactivityGapWithNoGrace(gap).
func OfInactivityGapWithNoGrace(gap time.Duration) SessionWindows {
	return SessionWindows{Gap: gap}
}

// OfInactivityGapAndGrace gives Kafka Streams' SessionWindows.ofInactivityGapAndGrace(gap, grace).
func OfInactivityGapAndGrace(gap, grace time.Duration) SessionWindows {
	return SessionWindows{Gap: gap, Grace: grace}
}

// Check reports what the core finds wrong with the windows (a gap that is not positive, a
// negative grace), as an *Error of Kind "invalid_argument".
func (w SessionWindows) Check() error { return checkSessionWindows(w) }
