package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

// The duration and size summaries of Writer.Stats() and Reader.Stats(), run against kafka-go and
// ours: what kafka-go reports for the same traffic is what ours must report.

type summary struct{ Count, Sum, Min, Max int64 }

// view reads kafka-go's SummaryStats and DurationStats too: they have the same fields.
func view(s kafka.SummaryStats) summary { return summary{s.Count, s.Sum, s.Min, s.Max} }

func viewDurations(d kafka.DurationStats) summary {
	return summary{d.Count, int64(d.Sum), int64(d.Min), int64(d.Max)}
}

// writerSummaries is one Stats() call: BatchSize, BatchBytes, BatchTime, BatchQueueTime,
// WriteTime and Retries.
type writerSummaries struct {
	size, bytes, batch, queue, write summary
	retries                          int64
}

func writerStats(w testWriter) writerSummaries {
	switch w := w.(type) {
	case kgoWriter:
		s := w.w.Stats()
		return writerSummaries{view(kafka.SummaryStats(s.BatchSize)), view(kafka.SummaryStats(s.BatchBytes)), viewDurations(kafka.DurationStats(s.BatchTime)),
			viewDurations(kafka.DurationStats(s.BatchQueueTime)), viewDurations(kafka.DurationStats(s.WriteTime)), s.Retries}
	case ourWriter:
		s := w.w.Stats()
		return writerSummaries{view(s.BatchSize), view(s.BatchBytes), viewDurations(s.BatchTime), viewDurations(s.BatchQueueTime), viewDurations(s.WriteTime), s.Retries}
	}
	panic(fmt.Sprintf("unknown writer %T", w))
}

// Three synchronous writes of a full batch (BatchSize 10) each: three batches of 10 messages,
// each with its queue, batch and write times; the next call reports nothing.
func TestWriterStatsSummaries(t *testing.T) {
	for _, impl := range impls {
		impl := impl
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			topic := newTopic(t, 1)
			w := impl.new(bootstrap(t), wconf{topic: topic, acks: -1, batchSize: 10, batchTimeout: 5 * time.Second})
			defer w.Close()
			for round := 0; round < 3; round++ {
				if err := w.Write(context.Background(), keyed(10)...); err != nil {
					t.Fatal(err)
				}
			}
			s := writerStats(w)
			// kafka-go's first Stats() call reports Min 0 (its minimum starts at 0, not at "none
			// yet"), later calls the smallest value; ours always the smallest value.
			if s.size.Count != 3 || s.size.Sum != 30 || s.size.Max != 10 || s.size.Min > 10 || (impl.name == "polykafka" && s.size.Min != 10) {
				t.Errorf("BatchSize %+v", s.size)
			}
			// keyed(10): keys key-0..key-9 (5 bytes), values value-000.. (9 bytes).
			if s.bytes.Count != 3 || s.bytes.Sum < 30*14 || s.bytes.Min > s.bytes.Max {
				t.Errorf("BatchBytes %+v", s.bytes)
			}
			for name, d := range map[string]summary{"BatchTime": s.batch, "BatchQueueTime": s.queue} {
				if d.Count != 3 || d.Min < 0 || d.Min > d.Max || d.Max > int64(5*time.Second) {
					t.Errorf("%s %+v", name, d)
				}
			}
			if s.write.Count < 3 || s.write.Max <= 0 || s.write.Min > s.write.Max {
				t.Errorf("WriteTime (a Produce request's round trip) %+v", s.write)
			}
			if s.retries != 0 {
				t.Errorf("Retries %d", s.retries)
			}
			if again := writerStats(w); again != (writerSummaries{}) {
				t.Errorf("a second call without writes: %+v", again)
			}
		})
	}
}

// readerSummaries is one Stats() call: FetchSize, FetchBytes, WaitTime, ReadTime.
type readerSummaries struct{ size, bytes, wait, read summary }

func readerStats(r testReader) readerSummaries {
	switch r := r.(type) {
	case kgoReader:
		s := r.r.Stats()
		return readerSummaries{view(kafka.SummaryStats(s.FetchSize)), view(kafka.SummaryStats(s.FetchBytes)),
			viewDurations(kafka.DurationStats(s.WaitTime)), viewDurations(kafka.DurationStats(s.ReadTime))}
	case ourReader:
		s := r.r.Stats()
		return readerSummaries{view(s.FetchSize), view(s.FetchBytes), viewDurations(s.WaitTime), viewDurations(s.ReadTime)}
	}
	panic(fmt.Sprintf("unknown reader %T", r))
}

// add is both summaries as one (an empty one adds nothing).
func (a summary) add(b summary) summary {
	if a.Count == 0 {
		return b
	}
	if b.Count == 0 {
		return a
	}
	return summary{Count: a.Count + b.Count, Sum: a.Sum + b.Sum, Min: min(a.Min, b.Min), Max: max(a.Max, b.Max)}
}

// A partition reader reads 20 messages: its fetches hold 20 messages and their keys' and
// values' bytes, each fetch waited for and read. A fetch is counted once its messages are
// queued, so the summaries are added up over calls until all 20 are seen.
func TestReaderStatsSummaries(t *testing.T) {
	forEachReader(t, func(t *testing.T, newReader func(rconf) testReader) {
		topic := newTopic(t, 1)
		produce(t, topic, 0, 20, "v") // keys k-0..k-19, values v-0..v-19
		r := newReader(rconf{topic: topic})
		fetchN(t, r, 20, false)
		var total readerSummaries
		for deadline := time.Now().Add(10 * time.Second); total.size.Sum < 20 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			s := readerStats(r)
			total = readerSummaries{total.size.add(s.size), total.bytes.add(s.bytes), total.wait.add(s.wait), total.read.add(s.read)}
		}
		wantBytes := int64(0)
		for i := 0; i < 20; i++ {
			wantBytes += int64(len(fmt.Sprintf("k-%d", i)) + len(fmt.Sprintf("v-%d", i)))
		}
		if total.size.Sum != 20 || total.size.Count < 1 || total.size.Max > 20 {
			t.Errorf("FetchSize %+v", total.size)
		}
		if total.bytes.Sum != wantBytes || total.bytes.Count != total.size.Count {
			t.Errorf("FetchBytes %+v, want a sum of %d", total.bytes, wantBytes)
		}
		if total.wait.Count < 1 || total.wait.Max <= 0 || total.read.Count != total.size.Count {
			t.Errorf("WaitTime %+v ReadTime %+v", total.wait, total.read)
		}
	})
}

// Ours only (kafka-go's Writer counts dials only through its default Transport): the dials the
// engine made, with their set-up times.
func TestWriterStatsDialTime(t *testing.T) {
	topic := newTopic(t, 1)
	w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireOne}
	defer w.Close()
	if err := w.WriteMessages(context.Background(), kafka.Message{Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Dials < 1 || s.DialTime.Count != s.Dials || s.DialTime.Min <= 0 || s.DialTime.Avg < s.DialTime.Min || s.DialTime.Max < s.DialTime.Avg {
		t.Errorf("Dials %d DialTime %+v", s.Dials, s.DialTime)
	}
}
