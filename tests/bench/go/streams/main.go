// The streams cases (K1, K2) of tests/bench/README.md with polykafka's Go streams package
// (bindings-c/go/streams: one cgo call per batch and fused chain of Go functions):
//
//	bench-go-streams --workload K1|K2 --bootstrap H:P --topic T --records N --size B [--keys K]
//
// Reads T (filled by the harness: null keys, the record index in the first 8 bytes of each
// value), writes T-out; application id bench-T; commit.interval.ms 1000, the runtime's defaults
// otherwise. The window runs from the first record a user function sees to the return of Close
// (its last commit); startup_s (start to that first record) is printed beside it (kcase.Window).
package main

import (
	"context"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"

	"github.com/polykafka/polykafka/tests/bench/go/kcase"
)

func main() {
	a := kcase.Parse()
	w := kcase.NewWindow(a)
	b := streams.NewBuilder()
	src := streams.From(b, streams.Bytes, streams.Bytes, a.Topic)
	if a.Workload == "K1" {
		// A value too short for an index passes the filter, so that MapValues fails on it by name.
		kept := src.Filter(func(_ []byte, v []byte) bool {
			w.Begin()
			i, err := kcase.Index(v)
			return err != nil || i%4 != 0
		})
		streams.MapValues(kept, func(v []byte) ([]byte, error) {
			if _, err := kcase.Index(v); err != nil {
				return nil, err
			}
			w.Kept()
			r := make([]byte, 0, len(v))
			return append(append(r, v[8:]...), v[:8]...), nil
		}, streams.Bytes).To(a.Out())
	} else {
		grouped := streams.GroupBy(src, func(_ []byte, v []byte) (string, error) {
			w.Begin()
			i, err := kcase.Index(v)
			return a.Key(i), err
		}, streams.String).Named("by-key")
		grouped.Count("counts").ToStream().Peek(w.Count).To(a.Out())
	}
	top, err := b.Build()
	if err != nil {
		kcase.Die("%v", err)
	}
	s, err := streams.New(top, map[string]string{
		"application.id": "bench-" + a.Topic, "bootstrap.servers": a.Bootstrap, "commit.interval.ms": "1000"})
	if err != nil {
		kcase.Die("%v", err)
	}
	failed := make(chan *streams.ProcessingError, 1)
	s.OnError(func(e *streams.ProcessingError) { failed <- e })
	w.Start()
	if err := s.Start(context.Background()); err != nil {
		kcase.Die("%v", err)
	}
	select {
	case <-w.Done():
	case e := <-failed:
		kcase.Die("the application failed: %v", e)
	case <-time.After(900 * time.Second):
		kcase.Die("not done after 900 s")
	}
	if ok, err := s.CloseTimeout(60 * time.Second); err != nil || !ok {
		kcase.Die("close() did not finish within 60 s (%v)", err)
	}
	w.Report("polykafka-go-streams")
	_ = s.Close()
}
