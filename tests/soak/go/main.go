// The Go soak program (tests/soak/run): kafka-go's API on polykafka. Arguments: BOOTSTRAP TOPIC GROUP RECORDS
// CHUNK. Writes CHUNK records (key, ~150-byte value, a `seq` header) with a Writer, reads them back with a group
// Reader (FetchMessage, CommitMessages), repeats until RECORDS went both ways; prints `progress N` after each
// chunk and `ok N` at the end, or `FAIL ...` (exit 2) when a record is missing, doubled, out of order or damaged.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
)

const send = 1000

var pad = strings.Repeat("x", 130)

func fail(format string, args ...any) {
	fmt.Printf("FAIL "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: soak-go BOOTSTRAP TOPIC GROUP RECORDS CHUNK")
		os.Exit(64)
	}
	boot, topic, group := os.Args[1], os.Args[2], os.Args[3]
	total, _ := strconv.Atoi(os.Args[4])
	chunk, _ := strconv.Atoi(os.Args[5])
	ctx := context.Background()
	w := &kafka.Writer{Addr: kafka.TCP(strings.Split(boot, ",")...), Topic: topic, BatchTimeout: 5 * time.Millisecond,
		AllowAutoTopicCreation: true}
	var r *kafka.Reader
	expected := 0
	msgs := make([]kafka.Message, 0, send)
	for expected < total {
		end := min(expected+chunk, total)
		for start := expected; start < end; start += send {
			msgs = msgs[:0]
			for seq := start; seq < min(start+send, end); seq++ {
				msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprintf("key-%d", seq%100)),
					Value:   []byte(fmt.Sprintf("%012d|%s", seq, pad)),
					Headers: []kafka.Header{{Key: "seq", Value: []byte(strconv.Itoa(seq))}}})
			}
			if err := w.WriteMessages(ctx, msgs...); err != nil {
				fail("WriteMessages at %d: %v", start, err)
			}
		}
		if r == nil {
			// Made once the Writer created the topic (auto-created), so the group assigns its partition at once.
			r = kafka.NewReader(kafka.ReaderConfig{Brokers: strings.Split(boot, ","), Topic: topic, GroupID: group,
				StartOffset: kafka.FirstOffset})
		}
		var last kafka.Message
		for expected < end {
			fetchCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
			m, err := r.FetchMessage(fetchCtx)
			cancel()
			if err != nil {
				fail("FetchMessage at %d (chunk ends at %d): %v", expected, end, err)
			}
			seq, _ := strconv.Atoi(string(m.Value[:12]))
			if seq != expected {
				fail("read %d, expected %d", seq, expected)
			}
			if string(m.Key) != fmt.Sprintf("key-%d", seq%100) || len(m.Value) != 143 || len(m.Headers) != 1 ||
				m.Headers[0].Key != "seq" || string(m.Headers[0].Value) != strconv.Itoa(seq) {
				fail("record %d damaged: key %q headers %v value length %d", seq, m.Key, m.Headers, len(m.Value))
			}
			expected++
			last = m
		}
		if err := r.CommitMessages(ctx, last); err != nil {
			fail("CommitMessages at %d: %v", expected, err)
		}
		fmt.Printf("progress %d\n", expected)
	}
	if err := r.Close(); err != nil {
		fail("Reader.Close: %v", err)
	}
	if err := w.Close(); err != nil {
		fail("Writer.Close: %v", err)
	}
	fmt.Printf("ok %d\n", expected)
}
