// Package seed is the seed's Kafka Streams application (its Java example, as
// tests/streams-java/SeedTopology.java runs it) written with polykafka's Go streams package, and
// a generated input with the results Kafka Streams' semantics give for it, computed here
// record by record, independently of the runtime (as bindings-python/tests/streams_seed.py).
package seed

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

// Event is a user event (the value of user-events, keyed by user id).
type Event struct {
	UserID    string `json:"userId"`
	EventType string `json:"eventType"`
	Country   string `json:"country"`
	Seq       int    `json:"seq"`
}

// Notification is what USER_CREATED events become.
type Notification struct {
	UserID string `json:"userId"`
}

// Order is an order (keyed by country).
type Order struct {
	OrderID string `json:"orderId"`
	Country string `json:"country"`
	Amount  int    `json:"amount"`
}

// Enriched is an order with the count of users of its country (nil: none yet).
type Enriched struct {
	Order
	UserCount *int64 `json:"userCount"`
}

// Topics names the topology's topics.
type Topics struct {
	Events, Orders, Notifications, CountryCounts, WindowedCounts, Enriched string
}

// Window and Grace are the windowed count's (TimeWindows.ofSizeAndGrace(5 min, 1 min)).
const (
	Window = 5 * time.Minute
	Grace  = time.Minute
)

// Build is the seed's topology:
//
//	events.filter(USER_CREATED).mapValues({userId}).to(notifications)
//	counts = events.groupBy(country).count("user-counts-by-country"); counts.toStream().to(country-counts)
//	events.groupByKey().windowedBy(5 min, grace 1 min).count("windowed-counts").toStream().to(windowed-counts)
//	orders.leftJoin(counts, {...order, userCount}).to(enriched-orders)
func Build(t Topics) (*streams.Topology, error) {
	b := streams.NewBuilder()
	events := streams.From(b, streams.String, streams.JSON[Event](), t.Events)
	created := events.Filter(func(_ string, e Event) bool { return e.EventType == "USER_CREATED" })
	streams.MapValues(created, func(e Event) (Notification, error) { return Notification{e.UserID}, nil }, streams.JSON[Notification]()).To(t.Notifications)

	counts := streams.GroupBy(events, func(_ string, e Event) (string, error) { return e.Country, nil }, streams.String).Count("user-counts-by-country")
	counts.ToStream().To(t.CountryCounts)

	windowed := streams.WindowedCount(events.GroupByKey().WindowedBy(streams.TumblingWindows(Window, Grace)), "windowed-counts")
	windowed.ToStream().To(t.WindowedCounts)

	orders := streams.From(b, streams.String, streams.JSON[Order](), t.Orders)
	enriched := streams.LeftJoin(orders, counts, func(o Order, count int64, found bool) (Enriched, error) {
		e := Enriched{Order: o}
		if found {
			e.UserCount = &count
		}
		return e, nil
	}, streams.JSON[Enriched]())
	enriched.To(t.Enriched)
	return b.Build()
}

// Countries and Types are the generator's.
var (
	Countries = []string{"DE", "FR", "US", "BR", "JP", "IN", "NG"}
	Types     = []string{"USER_CREATED", "PAGE_VIEW", "PAGE_VIEW", "CLICK", "LOGOUT"}
)

// BaseMs is 2026-01-01T00:00:00Z, a multiple of five minutes.
const BaseMs = 1_767_225_600_000

// Input is one generated event with its key and timestamp.
type Input struct {
	User  string
	Event Event
	TsMs  int64
}

// Generate gives n events of users over minutes of event time, out of order by up to 50 s
// (within the grace) and every lateEvery-th one late by 7 to 12 minutes (past the grace), as
// streams_seed.generate does (with Go's random numbers).
func Generate(n, users, minutes int, seed int64, lateEvery int) []Input {
	rnd := rand.New(rand.NewSource(seed))
	span := int64(minutes) * 60_000
	home := map[string]string{}
	out := make([]Input, 0, n)
	for i := 0; i < n; i++ {
		user := fmt.Sprintf("user-%d", rnd.Intn(users))
		country, ok := home[user]
		if !ok {
			country = Countries[rnd.Intn(len(Countries))]
			home[user] = country
		}
		ts := BaseMs + int64(i)*span/int64(n) - rnd.Int63n(50_000)
		if lateEvery > 0 && i%lateEvery == lateEvery-1 {
			ts -= 7*60_000 + rnd.Int63n(5*60_000)
		}
		ts = max(ts, BaseMs-20*60_000)
		out = append(out, Input{user, Event{user, Types[rnd.Intn(len(Types))], country, i}, ts})
	}
	return out
}

// Orders gives n orders of the countries and of "ZZ" (no user there: the left join finds none).
func Orders(n int, seed int64) []Order {
	rnd := rand.New(rand.NewSource(seed))
	cs := append(append([]string{}, Countries...), "ZZ")
	out := make([]Order, n)
	for i := range out {
		c := cs[rnd.Intn(len(cs))]
		out[i] = Order{fmt.Sprintf("o-%d", i), c, 1 + rnd.Intn(499)}
	}
	return out
}

// WindowKey is a user's window.
type WindowKey struct {
	User  string
	Start int64
}

// Results are the final values of every output: notifications (JSON text -> how many),
// counts per country, windowed counts per user and window, the late records dropped, and the
// enriched orders by id.
type Results struct {
	Notifications map[string]int
	ByCountry     map[string]int64
	Windowed      map[WindowKey]int64
	Late          int
	Enriched      map[string]Enriched
}

// Expected computes the results of Kafka Streams' semantics for the input produced in order,
// partitioned by user id over the given partitions (stream time is per partition).
func Expected(events []Input, orders []Order, partitions int) Results {
	r := Results{Notifications: map[string]int{}, ByCountry: map[string]int64{}, Windowed: map[WindowKey]int64{}, Enriched: map[string]Enriched{}}
	size, grace := Window.Milliseconds(), Grace.Milliseconds()
	streamTime := map[int]int64{}
	for _, in := range events {
		if in.Event.EventType == "USER_CREATED" {
			b, _ := json.Marshal(Notification{in.Event.UserID})
			r.Notifications[string(b)]++
		}
		r.ByCountry[in.Event.Country]++
		p := PartitionOf(in.User, partitions)
		st, ok := streamTime[p]
		if !ok || in.TsMs > st {
			st = in.TsMs
			streamTime[p] = st
		}
		start := in.TsMs - in.TsMs%size
		if start+size > st-grace {
			r.Windowed[WindowKey{in.User, start}]++
		} else {
			r.Late++
		}
	}
	for _, o := range orders {
		e := Enriched{Order: o}
		if c, ok := r.ByCountry[o.Country]; ok {
			e.UserCount = &c
		}
		r.Enriched[o.OrderID] = e
	}
	return r
}

// PartitionOf is the Java client's partition of a key: murmur2(key) & 0x7fffffff mod n.
func PartitionOf(key string, partitions int) int {
	ps := make([]int, partitions)
	for i := range ps {
		ps[i] = i
	}
	return kafka.Murmur2Balancer{Consistent: true}.Balance(kafka.Message{Key: []byte(key)}, ps...)
}
