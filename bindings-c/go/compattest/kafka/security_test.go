package kafka_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	kafka "github.com/polykafka/polykafka/bindings-c/go"
	"github.com/polykafka/polykafka/bindings-c/go/sasl"
	"github.com/polykafka/polykafka/bindings-c/go/sasl/plain"
	"github.com/polykafka/polykafka/bindings-c/go/sasl/scram"
	kgo "github.com/segmentio/kafka-go"
	kgosasl "github.com/segmentio/kafka-go/sasl"
	kgoplain "github.com/segmentio/kafka-go/sasl/plain"
	kgoscram "github.com/segmentio/kafka-go/sasl/scram"
)

// The security tests run the same body against kafka-go and ours over the cluster's SASL,
// SSL, SASL_SSL and mTLS listeners: what passes for kafka-go shows the setting means what
// the test assumes, and ours must behave alike.

// secure is one way of connecting: a listener (a cluster.env key), TLS and SASL settings.
type secure struct {
	listener   string // KAFKA_SSL_BOOTSTRAP...
	tls        bool
	ca         string // cluster.env key of the CA file; "" with tls: the system's roots
	clientCert bool   // present KAFKA_CLIENT_CERT_PEM/KAFKA_CLIENT_KEY_PEM
	skipVerify bool
	serverName string
	mechanism  string // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; "" none
	password   string // "" the right one
}

// secureEnv gives the cluster's facts, or skips the test when the listener is missing.
func secureEnv(t *testing.T, s secure) map[string]string {
	t.Helper()
	env := clusterEnv()
	for _, k := range []string{s.listener, s.ca, "KAFKA_CA_PEM", "KAFKA_SASL_USER", "KAFKA_SASL_PASSWORD"} {
		if k != "" && env[k] == "" {
			t.Skipf("the cluster env has no %s (start the cluster with tests/cluster/kafka up, or set KAFKA_CLUSTER_ENV)", k)
		}
	}
	return env
}

// tlsConfig builds s's *tls.Config and the CA file's PEM.
func tlsConfig(t *testing.T, env map[string]string, s secure) (*tls.Config, []byte) {
	t.Helper()
	if !s.tls {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: s.skipVerify, ServerName: s.serverName}
	var caPEM []byte
	if s.ca != "" {
		var err error
		if caPEM, err = os.ReadFile(env[s.ca]); err != nil {
			t.Fatal(err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(caPEM) {
			t.Fatalf("no certificate in %s", env[s.ca])
		}
	}
	if s.clientCert {
		cert, err := tls.LoadX509KeyPair(env["KAFKA_CLIENT_CERT_PEM"], env["KAFKA_CLIENT_KEY_PEM"])
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, caPEM
}

func (s secure) credentials(env map[string]string) (user, pass string) {
	pass = s.password
	if pass == "" {
		pass = env["KAFKA_SASL_PASSWORD"]
	}
	return env["KAFKA_SASL_USER"], pass
}

// secImpl is kafka-go or ours: a Client, a Writer and a Reader over one secure setting.
type secImpl struct {
	name string
	// createTopic creates a one-partition topic with the implementation's Client.
	createTopic func(ctx context.Context, s secure, topic string) error
	// write writes the values with a Writer.
	write func(ctx context.Context, s secure, topic string, values ...string) error
	// read reads n values from partition 0 with a Reader.
	read func(ctx context.Context, s secure, topic string, n int) ([]string, error)
	// authFailed tells a wrong-password error.
	authFailed func(error) bool
}

func secImpls(t *testing.T) []secImpl {
	ours := func(s secure) (*kafka.Transport, *kafka.Dialer) {
		env := secureEnv(t, s)
		cfg, caPEM := tlsConfig(t, env, s)
		user, pass := s.credentials(env)
		mech := mechanism(t, s, func() sasl.Mechanism { return plain.Mechanism{Username: user, Password: pass} },
			func(sha512 bool) (sasl.Mechanism, error) {
				return scram.Mechanism(pick(sha512, scram.SHA512, scram.SHA256), user, pass)
			})
		return &kafka.Transport{TLS: cfg, RootCAsPEM: caPEM, SASL: mech, DialTimeout: 5 * time.Second},
			&kafka.Dialer{TLS: cfg, RootCAsPEM: caPEM, SASLMechanism: mech, Timeout: 5 * time.Second}
	}
	theirs := func(s secure) (*kgo.Transport, *kgo.Dialer) {
		env := secureEnv(t, s)
		cfg, _ := tlsConfig(t, env, s)
		user, pass := s.credentials(env)
		mech := mechanism(t, s, func() kgosasl.Mechanism { return kgoplain.Mechanism{Username: user, Password: pass} },
			func(sha512 bool) (kgosasl.Mechanism, error) {
				return kgoscram.Mechanism(pick(sha512, kgoscram.SHA512, kgoscram.SHA256), user, pass)
			})
		return &kgo.Transport{TLS: cfg, SASL: mech, DialTimeout: 5 * time.Second},
			&kgo.Dialer{TLS: cfg, SASLMechanism: mech, Timeout: 5 * time.Second}
	}
	addr := func(s secure) string { return clusterEnv()[s.listener] }
	return []secImpl{
		{
			name: "kafka-go",
			createTopic: func(ctx context.Context, s secure, topic string) error {
				tr, _ := theirs(s)
				c := &kgo.Client{Addr: kgo.TCP(addr(s)), Transport: tr, Timeout: 10 * time.Second}
				resp, err := c.CreateTopics(ctx, &kgo.CreateTopicsRequest{Topics: []kgo.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}})
				if err == nil {
					err = resp.Errors[topic]
				}
				return err
			},
			write: func(ctx context.Context, s secure, topic string, values ...string) error {
				tr, _ := theirs(s)
				w := &kgo.Writer{Addr: kgo.TCP(addr(s)), Topic: topic, Transport: tr, RequiredAcks: kgo.RequireAll,
					BatchTimeout: 5 * time.Millisecond, MaxAttempts: 2, WriteBackoffMax: 100 * time.Millisecond, WriteTimeout: 5 * time.Second}
				defer w.Close()
				return w.WriteMessages(ctx, messages(values, func(v []byte) kgo.Message { return kgo.Message{Value: v} })...)
			},
			read: func(ctx context.Context, s secure, topic string, n int) ([]string, error) {
				_, d := theirs(s)
				r := kgo.NewReader(kgo.ReaderConfig{Brokers: []string{addr(s)}, Topic: topic, Dialer: d, MaxWait: 200 * time.Millisecond})
				defer r.Close()
				return readValues(ctx, n, func(ctx context.Context) ([]byte, error) {
					m, err := r.ReadMessage(ctx)
					return m.Value, err
				})
			},
			authFailed: func(err error) bool { return errors.Is(err, kgo.SASLAuthenticationFailed) },
		},
		{
			name: "polykafka",
			createTopic: func(ctx context.Context, s secure, topic string) error {
				tr, _ := ours(s)
				c := &kafka.Client{Addr: kafka.TCP(addr(s)), Transport: tr, Timeout: 10 * time.Second}
				defer c.Close()
				resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: 1, ReplicationFactor: 1}}})
				if err == nil {
					err = resp.Errors[topic]
				}
				return err
			},
			write: func(ctx context.Context, s secure, topic string, values ...string) error {
				tr, _ := ours(s)
				return ourWrite(ctx, &kafka.Writer{Addr: kafka.TCP(addr(s)), Topic: topic, Transport: tr}, values...)
			},
			read: func(ctx context.Context, s secure, topic string, n int) ([]string, error) {
				_, d := ours(s)
				return ourRead(ctx, kafka.ReaderConfig{Brokers: []string{addr(s)}, Topic: topic, Dialer: d}, n)
			},
			authFailed: func(err error) bool { return errors.Is(err, kafka.SASLAuthenticationFailed) },
		},
	}
}

// ourWrite writes the values with w (given its address, topic and transport).
func ourWrite(ctx context.Context, w *kafka.Writer, values ...string) error {
	w.RequiredAcks, w.BatchTimeout, w.MaxAttempts = kafka.RequireAll, 5*time.Millisecond, 2
	w.WriteBackoffMax, w.WriteTimeout = 100*time.Millisecond, 5*time.Second
	defer w.Close()
	return w.WriteMessages(ctx, messages(values, func(v []byte) kafka.Message { return kafka.Message{Value: v} })...)
}

// ourRead reads n values with a Reader of cfg.
func ourRead(ctx context.Context, cfg kafka.ReaderConfig, n int) ([]string, error) {
	cfg.MaxWait = 200 * time.Millisecond
	r := kafka.NewReader(cfg)
	defer r.Close()
	return readValues(ctx, n, func(ctx context.Context) ([]byte, error) {
		m, err := r.ReadMessage(ctx)
		return m.Value, err
	})
}

// mechanism builds s's SASL mechanism with an implementation's constructors (zero: none).
func mechanism[M any](t *testing.T, s secure, plainOf func() M, scramOf func(sha512 bool) (M, error)) (m M) {
	t.Helper()
	switch s.mechanism {
	case "PLAIN":
		return plainOf()
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		m, err := scramOf(s.mechanism == "SCRAM-SHA-512")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	return m
}

func pick[T any](cond bool, yes, no T) T {
	if cond {
		return yes
	}
	return no
}

func messages[M any](values []string, of func([]byte) M) []M {
	out := make([]M, len(values))
	for i, v := range values {
		out[i] = of([]byte(v))
	}
	return out
}

// readValues reads n values with next.
func readValues(ctx context.Context, n int, next func(context.Context) ([]byte, error)) ([]string, error) {
	var out []string
	for len(out) < n {
		v, err := next(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, string(v))
	}
	return out, nil
}

func secTopic(t *testing.T, impl string) string {
	return fmt.Sprintf("go-sec-%s-%d-%d", impl, time.Now().UnixNano()%1e9, time.Now().Nanosecond()%1000)
}

// TestSecureRoundTrip creates a topic with a Client, writes with a Writer and reads with a
// Reader, each over the secure listener.
func TestSecureRoundTrip(t *testing.T) {
	cases := map[string]secure{
		"SASL_PLAINTEXT/PLAIN":         {listener: "KAFKA_SASL_BOOTSTRAP", mechanism: "PLAIN"},
		"SASL_PLAINTEXT/SCRAM-SHA-256": {listener: "KAFKA_SASL_BOOTSTRAP", mechanism: "SCRAM-SHA-256"},
		"SASL_PLAINTEXT/SCRAM-SHA-512": {listener: "KAFKA_SASL_BOOTSTRAP", mechanism: "SCRAM-SHA-512"},
		"SSL/CA":                       {listener: "KAFKA_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM"},
		"SSL/ServerName":               {listener: "KAFKA_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM", serverName: "localhost"},
		"SSL/InsecureSkipVerify":       {listener: "KAFKA_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_OTHER_CA_PEM", skipVerify: true},
		"MTLS/client certificate":      {listener: "KAFKA_MTLS_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM", clientCert: true},
		"SASL_SSL/PLAIN":               {listener: "KAFKA_SASL_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM", mechanism: "PLAIN"},
		"SASL_SSL/SCRAM-SHA-512":       {listener: "KAFKA_SASL_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM", mechanism: "SCRAM-SHA-512"},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			for _, impl := range secImpls(t) {
				t.Run(impl.name, func(t *testing.T) {
					ctx := ctxT(30 * time.Second)
					topic := secTopic(t, impl.name)
					if err := impl.createTopic(ctx, s, topic); err != nil {
						t.Fatalf("CreateTopics: %v", err)
					}
					want := []string{"one", "two", "three"}
					if err := impl.write(ctx, s, topic, want...); err != nil {
						t.Fatalf("WriteMessages: %v", err)
					}
					got, err := impl.read(ctx, s, topic, len(want))
					if err != nil {
						t.Fatalf("ReadMessage after %v: %v", got, err)
					}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("read %v, want %v", got, want)
					}
				})
			}
		})
	}
}

// TestSecureFailures: settings the broker refuses fail the Writer, with kafka-go as with ours.
func TestSecureFailures(t *testing.T) {
	cases := map[string]struct {
		s    secure
		auth bool // a SASL authentication failure
	}{
		"wrong password/PLAIN":         {s: secure{listener: "KAFKA_SASL_BOOTSTRAP", mechanism: "PLAIN", password: "wrong"}, auth: true},
		"wrong password/SCRAM-SHA-512": {s: secure{listener: "KAFKA_SASL_BOOTSTRAP", mechanism: "SCRAM-SHA-512", password: "wrong"}, auth: true},
		"untrusted CA":                 {s: secure{listener: "KAFKA_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_OTHER_CA_PEM"}},
		"wrong ServerName":             {s: secure{listener: "KAFKA_SSL_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM", serverName: "kafka.invalid"}},
		"MTLS without certificate":     {s: secure{listener: "KAFKA_MTLS_BOOTSTRAP", tls: true, ca: "KAFKA_CA_PEM"}},
	}
	topic := newTopic(t, 1)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, impl := range secImpls(t) {
				t.Run(impl.name, func(t *testing.T) {
					err := impl.write(ctxT(20*time.Second), c.s, topic, "never")
					if err == nil {
						t.Fatal("WriteMessages succeeded")
					}
					t.Logf("%T: %v", err, err)
					if c.auth && !impl.authFailed(err) {
						t.Fatalf("not SASLAuthenticationFailed: %v", err)
					}
					var ce *kafka.ClientError
					if impl.name == "polykafka" && !c.auth && (!errors.As(err, &ce) || (ce.Kind != "tls" && ce.Kind != "connection")) {
						t.Fatalf("want a tls or connection ClientError, got %T %v", err, err)
					}
				})
			}
		})
	}
}

// customMechanism is a sasl.Mechanism the engine does not know.
type customMechanism struct{}

func (customMechanism) Name() string { return "CUSTOM" }
func (customMechanism) Start(context.Context) (sasl.StateMachine, []byte, error) {
	return nil, nil, errors.New("never called")
}

// TestSecureRefusedSettings: what the engine cannot honour is an error at first use, never a
// weaker connection (polykafka only: kafka-go runs these in Go).
func TestSecureRefusedSettings(t *testing.T) {
	env := secureEnv(t, secure{listener: "KAFKA_SASL_BOOTSTRAP", ca: "KAFKA_OTHER_CA_PEM"})
	ctx := ctxT(20 * time.Second)
	addr := kafka.TCP(env["KAFKA_SASL_BOOTSTRAP"])
	custom := &kafka.Transport{SASL: customMechanism{}}
	err := ourWrite(ctx, &kafka.Writer{Addr: addr, Topic: "never", Transport: custom}, "x")
	if !errors.Is(err, kafka.UnsupportedSASLMechanism) {
		t.Fatalf("Writer with a custom mechanism: %v", err)
	}
	t.Log(err)
	_, err = ourRead(ctx, kafka.ReaderConfig{Brokers: []string{addr.String()}, Topic: "never", Dialer: &kafka.Dialer{SASLMechanism: customMechanism{}}}, 1)
	if !errors.Is(err, kafka.UnsupportedSASLMechanism) {
		t.Fatalf("Reader with a custom mechanism: %v", err)
	}
	c := &kafka.Client{Addr: addr, Transport: custom}
	defer c.Close()
	_, err = c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "never", NumPartitions: 1, ReplicationFactor: 1}}})
	if !errors.Is(err, kafka.UnsupportedSASLMechanism) {
		t.Fatalf("Client with a custom mechanism: %v", err)
	}

	ca, _ := os.ReadFile(env["KAFKA_CA_PEM"])
	other, _ := os.ReadFile(env["KAFKA_OTHER_CA_PEM"])
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	var clientCert tls.Certificate
	clientCert.Certificate = [][]byte{{1}} // no private key
	refused := map[string]*kafka.Transport{
		"RootCAs without RootCAsPEM": {TLS: &tls.Config{RootCAs: pool}},
		"RootCAs and another PEM":    {TLS: &tls.Config{RootCAs: pool}, RootCAsPEM: other},
		"RootCAsPEM without PEM":     {TLS: &tls.Config{}, RootCAsPEM: []byte("not PEM")},
		"VerifyPeerCertificate": {TLS: &tls.Config{RootCAs: pool, VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return nil }},
			RootCAsPEM: ca},
		"certificate without key": {TLS: &tls.Config{Certificates: []tls.Certificate{clientCert}}},
	}
	for name, tr := range refused {
		err := ourWrite(ctx, &kafka.Writer{Addr: kafka.TCP(env["KAFKA_SSL_BOOTSTRAP"]), Topic: "never", Transport: tr}, "x")
		var ce *kafka.ClientError
		if !errors.As(err, &ce) || ce.Kind != "config" {
			t.Errorf("%s: want a config ClientError, got %T %v", name, err, err)
		}
		t.Logf("%s: %v", name, err)
	}

	if _, err := scram.Mechanism(otherAlgo{}, "u", "p"); err == nil {
		t.Error("scram.Mechanism accepted an algorithm the engine lacks")
	}
}

type otherAlgo struct{ kgoscram.Algorithm }

func (otherAlgo) Name() string { return "SCRAM-SHA-1" }
