package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	kgo "github.com/segmentio/kafka-go"
)

type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) Printf(f string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(f, args...))
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.l...)
}

func waitLines(l *lines) []string {
	deadline := time.Now().Add(15 * time.Second)
	for len(l.get()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return l.get()
}

func hasEngineConnectionFailed(got []string) bool {
	for _, l := range got {
		if strings.HasPrefix(l, "WARN polykafka") && strings.Contains(l, "connection failed") && strings.Contains(l, "127.0.0.1:1") {
			return true
		}
	}
	return false
}

// Our Writer with an ErrorLogger, whose broker cannot be reached: the ErrorLogger gets the
// engine's "connection failed" record, and the Logger nothing at that level. (kafka-go's
// Writer logs nothing here: it fails at the metadata lookup and logs only failed batch writes,
// so the comparison with kafka-go is the group Reader below.)
func TestWriterErrorLoggerGetsEngineRecords(t *testing.T) {
	errs, infos := &lines{}, &lines{}
	w := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), Topic: "logs-test", WriteTimeout: time.Second,
		BatchTimeout: 10 * time.Millisecond, ErrorLogger: errs, Logger: infos}
	if err := w.WriteMessages(context.Background(), kafka.Message{Value: []byte("x")}); err == nil {
		t.Fatal("a write to a dead port succeeded")
	}
	got := waitLines(errs)
	if err := w.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if !hasEngineConnectionFailed(got) {
		t.Errorf("no engine 'connection failed' record in the ErrorLogger: %q", got)
	}
	for _, l := range infos.get() {
		if strings.Contains(l, "connection failed") {
			t.Errorf("a warning went to Logger although ErrorLogger is set: %q", l)
		}
	}
	// Once closed, the Writer's loggers get nothing more.
	n := len(errs.get())
	w2 := &kafka.Writer{Addr: kafka.TCP("127.0.0.1:1"), Topic: "logs-test", WriteTimeout: time.Second,
		BatchTimeout: 10 * time.Millisecond, ErrorLogger: &lines{}}
	_ = w2.WriteMessages(context.Background(), kafka.Message{Value: []byte("x")})
	w2.Close()
	if len(errs.get()) != n {
		t.Errorf("a closed Writer's ErrorLogger got %q", errs.get()[n:])
	}
}

// A group Reader with an ErrorLogger whose broker cannot be reached: the ErrorLogger gets at
// least one line with kafka-go's Reader and ours (kafka-go's words differ from the engine's, so
// only "something was logged" is compared); ours is the engine's "connection failed" record.
func TestReaderErrorLoggerOnDeadPort(t *testing.T) {
	for _, name := range []string{"kafka-go", "polykafka"} {
		t.Run(name, func(t *testing.T) {
			errs := &lines{}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var err error
			if name == "kafka-go" {
				r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{"127.0.0.1:1"}, GroupID: "logs-test", Topic: "logs-test",
					ErrorLogger: errs, MaxWait: 100 * time.Millisecond})
				_, err = r.ReadMessage(ctx)
				waitLines(errs)
				r.Close()
			} else {
				r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{"127.0.0.1:1"}, GroupID: "logs-test", Topic: "logs-test",
					ErrorLogger: errs, MaxWait: 100 * time.Millisecond})
				_, err = r.ReadMessage(ctx)
				waitLines(errs)
				r.Close()
			}
			if err == nil {
				t.Fatal("a read from a dead port succeeded")
			}
			got := errs.get()
			t.Logf("ErrorLogger: %q", got)
			if len(got) == 0 {
				t.Fatal("the ErrorLogger got nothing")
			}
			if name == "polykafka" && !hasEngineConnectionFailed(got) {
				t.Errorf("no engine 'connection failed' record in %q", got)
			}
		})
	}
}
