// The seed's Kafka Streams application in Go (the topology is in ./seed): reads user-events and
// orders, writes notifications, country-counts, windowed-counts and enriched-orders, until
// interrupted (or for -for). Prints the state changes and, at the end, the counts per country
// from the store user-counts-by-country.
//
//	go run ./examples/streams-seed -bootstrap 127.0.0.1:9092
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/examples/streams-seed/seed"
	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

func main() {
	bootstrap := flag.String("bootstrap", "127.0.0.1:9092", "bootstrap servers")
	app := flag.String("app", "user-event-processor", "application.id")
	prefix := flag.String("prefix", "", "prefix of every topic name")
	runFor := flag.Duration("for", 0, "stop after this long (0: at SIGINT/SIGTERM)")
	flag.Parse()
	p := *prefix
	topics := seed.Topics{Events: p + "user-events", Orders: p + "orders", Notifications: p + "notifications",
		CountryCounts: p + "country-counts", WindowedCounts: p + "windowed-counts", Enriched: p + "enriched-orders"}
	topology, err := seed.Build(topics)
	if err != nil {
		fmt.Fprintln(os.Stderr, "topology:", err)
		os.Exit(1)
	}
	s, err := streams.New(topology, map[string]string{"application.id": *app, "bootstrap.servers": *bootstrap, "commit.interval.ms": "500"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "streams:", err)
		os.Exit(1)
	}
	defer s.Close()
	s.OnStateChange(func(old, new streams.State) { fmt.Printf("state %s -> %s\n", old, new) })
	s.OnError(func(e *streams.ProcessingError) { fmt.Fprintln(os.Stderr, "stopped:", e) })
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	if err := s.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	if store, err := streams.StoreOf(s, "user-counts-by-country", streams.String, streams.Long); err == nil {
		all, _ := store.All()
		sort.Slice(all, func(i, j int) bool { return all[i].Key < all[j].Key })
		for _, kv := range all {
			fmt.Printf("users in %s: %d\n", kv.Key, kv.Value)
		}
	}
	if _, err := s.CloseTimeout(30 * time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	if e := s.Err(); e != nil {
		os.Exit(1)
	}
}
