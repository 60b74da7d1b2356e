package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/sasl/plain"
	"github.com/polykafka/polykafka/bindings-c/go/sasl/scram"
	kgo "github.com/segmentio/kafka-go"
	kplain "github.com/segmentio/kafka-go/sasl/plain"
	kscram "github.com/segmentio/kafka-go/sasl/scram"
)

const secretPassword = "s3cret-Pa55word-zq"

// leaks says whether out shows one of the secrets, as text or in hex (%x of a string).
func leaks(out string, secrets ...string) bool {
	for _, s := range secrets {
		if strings.Contains(out, s) || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte(s))) {
			return true
		}
	}
	return false
}

// clientKey is a TLS client certificate and its key; keyTexts are the key's secret number as
// fmt could print it (decimal, hex).
func clientKey(t *testing.T) (*tls.Config, []string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return cfg, []string{key.D.String(), key.D.Text(16)}
}

// Every configuration type that carries a secret, formatted with every verb: ours never shows
// the password or the private key. kafka-go's plain.Mechanism, and the Dialer and Transport
// holding it, print the password in %v, %+v, %#v (and %s, %q, %x): recorded in kgoLeaks.
// Pointers inside (scram's client, *tls.Config, the key) print as addresses in %v; with another
// verb (%s, %q...) fmt prints the struct behind a pointer field raw: kafka-go's Writer, Reader,
// ReaderConfig and Client then show the password, and so did ours before they had Format methods.
func TestSecretsNotFormatted(t *testing.T) {
	tlsCfg, keyTexts := clientKey(t)
	ks, err := kscram.Mechanism(kscram.SHA512, "alice", secretPassword)
	if err != nil {
		t.Fatal(err)
	}
	os, err := scram.Mechanism(scram.SHA512, "alice", secretPassword)
	if err != nil {
		t.Fatal(err)
	}
	kp, op := kplain.Mechanism{Username: "alice", Password: secretPassword}, plain.Mechanism{Username: "alice", Password: secretPassword}
	kr := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Dialer: &kgo.Dialer{SASLMechanism: kp}})
	defer kr.Close()
	or := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", Dialer: &kafka.Dialer{SASLMechanism: op}})
	defer or.Close()
	rows := []struct {
		name      string
		kgo, ours any
		kgoLeaks  bool
	}{
		{"plain.Mechanism", kp, op, true},
		{"*plain.Mechanism", &kp, &op, true},
		{"scram.Mechanism", ks, os, false},
		{"Dialer{SASLMechanism: plain}", kgo.Dialer{SASLMechanism: kp}, kafka.Dialer{SASLMechanism: op}, true},
		{"*Dialer{SASLMechanism: scram, TLS}", &kgo.Dialer{SASLMechanism: ks, TLS: tlsCfg}, &kafka.Dialer{SASLMechanism: os, TLS: tlsCfg}, false},
		{"Transport{SASL: plain}", kgo.Transport{SASL: kp}, kafka.Transport{SASL: op}, true},
		{"*Transport{SASL: scram, TLS}", &kgo.Transport{SASL: ks, TLS: tlsCfg}, &kafka.Transport{SASL: os, TLS: tlsCfg}, false},
		{"ReaderConfig{Dialer: plain}", kgo.ReaderConfig{Dialer: &kgo.Dialer{SASLMechanism: kp}}, kafka.ReaderConfig{Dialer: &kafka.Dialer{SASLMechanism: op}}, false},
		{"Writer{Transport: plain}", &kgo.Writer{Transport: &kgo.Transport{SASL: kp}}, &kafka.Writer{Transport: &kafka.Transport{SASL: op}}, false},
		{"[]any{plain, scram}", []any{kp, ks}, []any{op, os}, true},
		{"map[string]any{plain}", map[string]any{"sasl": kp}, map[string]any{"sasl": op}, true},
		{"a struct of the application's holding a *Dialer", struct{ D *kgo.Dialer }{&kgo.Dialer{SASLMechanism: kp}},
			struct{ D *kafka.Dialer }{&kafka.Dialer{SASLMechanism: op}}, false},
		{"*Reader", kr, or, false},
		{"*Client", &kgo.Client{Transport: &kgo.Transport{SASL: kp}}, &kafka.Client{Transport: &kafka.Transport{SASL: op}}, false},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"}
	for _, r := range rows {
		kgoLeaked := false
		for _, verb := range verbs {
			if out := fmt.Sprintf(verb, r.ours); leaks(out, append(keyTexts, secretPassword)...) {
				t.Errorf("%s: %s of ours shows a secret: %s", r.name, verb, out)
			}
			if verb == "%v" || verb == "%+v" || verb == "%#v" {
				kgoLeaked = kgoLeaked || leaks(fmt.Sprintf(verb, r.kgo), append(keyTexts, secretPassword)...)
			}
		}
		if kgoLeaked != r.kgoLeaks {
			t.Errorf("%s: kafka-go shows the secret in %%v/%%+v/%%#v: %v, recorded %v", r.name, kgoLeaked, r.kgoLeaks)
		}
	}
	// The user name stays visible: the redaction hides only the secret.
	if out := fmt.Sprintf("%+v", op); out != "{Username:alice Password:[redacted]}" {
		t.Errorf("%%+v: %s", out)
	}
	if out := fmt.Sprintf("%#v", op); out != `plain.Mechanism{Username:"alice", Password:"[redacted]"}` {
		t.Errorf("%%#v: %s", out)
	}
}

// A Writer and a Reader whose SASL PLAIN and TLS client key fail against this listener (no
// TLS, no SASL): the errors and every line their Logger and ErrorLogger get carry neither the
// password nor the key, in ours and in kafka-go.
func TestSecretsNotLogged(t *testing.T) {
	tlsCfg, keyTexts := clientKey(t)
	secrets := append(keyTexts, secretPassword)
	topic := newTopic(t, 1)
	for _, name := range []string{"kafka-go", "polykafka"} {
		name := name
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var lines []string
			logf := func(msg string, args ...interface{}) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, fmt.Sprintf(msg, args...))
			}
			var errs []error
			for _, withTLS := range []bool{false, true} {
				cfg := tlsCfg
				if !withTLS {
					cfg = nil
				}
				if name == "kafka-go" {
					tr := &kgo.Transport{SASL: kplain.Mechanism{Username: "alice", Password: secretPassword}, TLS: cfg}
					w := &kgo.Writer{Addr: kgo.TCP(bootstrap(t)), Topic: topic, Transport: tr, Logger: kgo.LoggerFunc(logf), ErrorLogger: kgo.LoggerFunc(logf)}
					errs = append(errs, w.WriteMessages(ctxT(5*time.Second), kgo.Message{Value: []byte("v")}))
					w.Close()
					tr.CloseIdleConnections()
				} else {
					tr := &kafka.Transport{SASL: plain.Mechanism{Username: "alice", Password: secretPassword}, TLS: cfg, DialTimeout: 2 * time.Second}
					w := &kafka.Writer{Addr: kafka.TCP(bootstrap(t)), Topic: topic, Transport: tr, Logger: kafka.LoggerFunc(logf), ErrorLogger: kafka.LoggerFunc(logf)}
					errs = append(errs, w.WriteMessages(ctxT(5*time.Second), kafka.Message{Value: []byte("v")}))
					w.Close()
				}
			}
			for _, err := range errs {
				if err == nil {
					t.Errorf("a write through SASL/TLS to a plaintext listener succeeded")
				} else if leaks(fmt.Sprintf("%v %+v %#v", err, err, err), secrets...) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range lines {
				if leaks(l, secrets...) {
					t.Errorf("a log line shows a secret: %s", l)
				}
			}
			t.Logf("%s: %d errors, %d log lines checked", name, len(errs), len(lines))
		})
	}
}
