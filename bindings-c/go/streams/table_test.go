package streams_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/streams"
)

type tUser struct {
	Name string `json:"name"`
}

type tOrder struct {
	O    int     `json:"o"`
	User *string `json:"user"`
}

// TableFrom keeps the latest value per key (a null value deletes it) and joins; TableMapValues
// sees the deletion; Filter over a count sends a tombstone only for a key that was in the derived
// table (phases: each update's old value is the previous phase's). The semantics are the core's,
// checked against Kafka Streams by bindings-python/tests/test_streams_table.py.
func TestTableFromFilterAndMapValues(t *testing.T) {
	ts := topics(t, 1, "users", "orders", "enriched", "derived", "src", "evens")
	users, orders, enriched, derivedT, src, evens := ts[0], ts[1], ts[2], ts[3], ts[4], ts[5]
	now := time.Now()
	user := func(k, name string) rec { return jsonRec(k, tUser{name}, now) }
	produce(t, users, []rec{user("u1", "Ann"), user("u2", "Bob"), user("u1", "Ann B"), user("u3", "Cy"), {[]byte("u3"), nil, now}})

	b := streams.NewBuilder()
	table := streams.TableFrom(b, streams.String, streams.JSON[tUser](), users, "users-table")
	streams.LeftJoin(streams.From(b, streams.String, streams.JSON[tOrder](), orders), table, func(o tOrder, u tUser, found bool) (tOrder, error) {
		if found {
			o.User = &u.Name
		}
		return o, nil
	}, streams.JSON[tOrder]()).To(enriched)
	streams.TableMapValues(table, func(u tUser) (string, error) { return strings.ToUpper(u.Name), nil }, streams.String).ToStream().To(derivedT)
	even := streams.From(b, streams.String, streams.String, src).GroupByKey().Count("").Filter(func(_ string, n int64) bool { return n%2 == 0 })
	streams.TableMapValues(even, func(n int64) (int64, error) { return n * 10, nil }, streams.Long).ToStream().To(evens)
	top, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := start(t, top, config(t, unique(t, "app")))
	defer s.Close()
	processed := func(n uint64) {
		waitFor(t, 60*time.Second, fmt.Sprintf("%d records processed", n), func() bool { return s.Metrics().Processed == n }, func() string { return fmt.Sprint(s.Metrics(), s.Err()) })
	}
	str := func(k string) rec { return rec{[]byte(k), []byte("v"), now} }
	produce(t, src, []rec{str("x"), str("d"), str("d")})
	processed(8)
	produce(t, orders, []rec{jsonRec("u1", tOrder{O: 1}, now), jsonRec("u2", tOrder{O: 2}, now), jsonRec("u3", tOrder{O: 3}, now), jsonRec("u9", tOrder{O: 4}, now)})
	produce(t, src, []rec{str("d")})
	processed(13)
	produce(t, src, []rec{str("x")})
	processed(14)
	store, err := streams.Store(s, table)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok, err := store.Get("u1"); err != nil || !ok || u.Name != "Ann B" {
		t.Errorf("store u1: %v %v %v", u, ok, err)
	}
	if _, ok, err := store.Get("u3"); err != nil || ok {
		t.Errorf("store u3 (deleted): found %v, %v", ok, err)
	}
	var got []string
	for _, m := range readAll(t, enriched, 1) {
		got = append(got, string(m.Value))
	}
	want := []string{`{"o":1,"user":"Ann B"}`, `{"o":2,"user":"Bob"}`, `{"o":3,"user":null}`, `{"o":4,"user":null}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("enriched %v, want %v", got, want)
	}
	last := map[string]*string{}
	for _, m := range readAll(t, derivedT, 1) {
		if m.Value == nil {
			last[string(m.Key)] = nil
		} else {
			v := string(m.Value)
			last[string(m.Key)] = &v
		}
	}
	if b, _ := json.Marshal(last); string(b) != `{"u1":"ANN B","u2":"BOB","u3":null}` {
		t.Errorf("derived table %s: u3's deletion must reach it", b)
	}
	var seq []string
	for _, m := range readAll(t, evens, 1) {
		if m.Value == nil {
			seq = append(seq, string(m.Key)+"=nil")
			continue
		}
		n, _ := streams.Long.Deserialize(m.Value)
		seq = append(seq, fmt.Sprintf("%s=%d", m.Key, n))
	}
	if want := []string{"d=20", "d=nil", "x=20"}; !reflect.DeepEqual(seq, want) {
		t.Errorf("filtered counts %v, want %v", seq, want)
	}
}
