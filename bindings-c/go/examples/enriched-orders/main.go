// The demo's pipeline, Go's part: reads the orders Node's streams application enriched
// (bindings-node/demo_streams.js) with kafka-go's Reader API in a consumer group and prints them;
// exits once it has read N of them (or after 60 s, with an error).
//
//	KAFKA_BOOTSTRAP=... go run ./examples/enriched-orders TOPIC GROUP N
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go"
)

// Enriched is an order with the sign-ups of its country in its minute.
type Enriched struct {
	OrderID           string `json:"orderId"`
	UserID            string `json:"userId"`
	Country           string `json:"country"`
	AmountCents       int64  `json:"amountCents"`
	Timestamp         int64  `json:"timestamp"`
	SignupsThatMinute int64  `json:"signupsThatMinute"`
}

func main() {
	if len(os.Args) != 4 {
		log.Fatal("usage: enriched-orders TOPIC GROUP N")
	}
	topic, group := os.Args[1], os.Args[2]
	n, err := strconv.Atoi(os.Args[3])
	if err != nil {
		log.Fatalf("N: %v", err)
	}
	addr := os.Getenv("KAFKA_BOOTSTRAP")
	if addr == "" {
		addr = "127.0.0.1:9092"
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, GroupID: group, Topic: topic, StartOffset: kafka.FirstOffset, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		m, err := r.ReadMessage(ctx) // commits in the group
		if err != nil {
			log.Fatalf("read %d of %d enriched orders: %v", i, n, err)
		}
		var e Enriched
		if err := json.Unmarshal(m.Value, &e); err != nil {
			log.Fatalf("offset %d: %v", m.Offset, err)
		}
		at := time.UnixMilli(e.Timestamp).UTC()
		signups := "sign-ups"
		if e.SignupsThatMinute == 1 {
			signups = "sign-up"
		}
		fmt.Printf("go read @%d: order %s (%s, %s, %d.%02d) at %s: %d %s in %s that minute\n",
			m.Offset, e.OrderID, e.UserID, e.Country, e.AmountCents/100, e.AmountCents%100, at.Format("15:04:05"), e.SignupsThatMinute, signups, e.Country)
	}
}
