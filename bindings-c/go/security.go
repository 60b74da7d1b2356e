package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/polykafka/polykafka/bindings-c/go/internal/saslcred"
	"github.com/polykafka/polykafka/bindings-c/go/sasl"
)

// connection is what a Transport or Dialer says about connecting: translated into the
// engine's security.protocol, ssl.* and sasl.* properties. The TLS handshake and the SASL
// exchange run in the engine.
type connection struct {
	clientID    string
	dialTimeout time.Duration
	tls         *tls.Config
	rootCAsPEM  []byte
	sasl        sasl.Mechanism
}

// properties gives the engine's properties, or an error for a setting the engine cannot
// honour: never a connection weaker than the one asked for.
func (c connection) properties() (map[string]string, error) {
	props := map[string]string{}
	if c.clientID != "" {
		props["client.id"] = c.clientID
	}
	if c.dialTimeout > 0 {
		props["socket.connection.setup.timeout.ms"] = ms(c.dialTimeout)
	}
	switch {
	case c.tls != nil && c.sasl != nil:
		props["security.protocol"] = "SASL_SSL"
	case c.tls != nil:
		props["security.protocol"] = "SSL"
	case c.sasl != nil:
		props["security.protocol"] = "SASL_PLAINTEXT"
	}
	if c.sasl != nil {
		carrier, ok := c.sasl.(saslcred.Carrier)
		if !ok {
			return nil, &ClientError{Kind: "config", Code: int16(UnsupportedSASLMechanism), Name: "UNSUPPORTED_SASL_MECHANISM",
				Message: fmt.Sprintf("SASL mechanism %q (%T) is not one of polykafka's: use sasl/plain or sasl/scram of this module (the exchange runs in the engine)", c.sasl.Name(), c.sasl)}
		}
		cred := carrier.Credentials()
		props["sasl.mechanism"] = cred.Mechanism
		props["sasl.username"] = cred.Username
		props["sasl.password"] = cred.Password
	}
	if c.tls != nil {
		if err := tlsProperties(c.tls, c.rootCAsPEM, props); err != nil {
			return nil, &ClientError{Kind: "config", Name: "_CONFIG", Message: err.Error()}
		}
	}
	return props, nil
}

// tlsProperties translates a *tls.Config into ssl.* properties.
func tlsProperties(cfg *tls.Config, rootCAsPEM []byte, props map[string]string) error {
	switch {
	case cfg.VerifyPeerCertificate != nil, cfg.VerifyConnection != nil:
		return errors.New("TLS.VerifyPeerCertificate and TLS.VerifyConnection are Go callbacks the engine cannot run (the handshake is in the engine)")
	case cfg.GetClientCertificate != nil && len(cfg.Certificates) == 0:
		return errors.New("TLS.GetClientCertificate is a Go callback the engine cannot run: put the client certificate in TLS.Certificates")
	}
	if cfg.InsecureSkipVerify {
		props["enable.ssl.certificate.verification"] = "false"
	} else if err := rootCAs(cfg.RootCAs, rootCAsPEM, props); err != nil {
		return err
	}
	if cfg.ServerName != "" {
		props["ssl.server.name"] = cfg.ServerName
	}
	if len(cfg.Certificates) > 0 {
		cert := cfg.Certificates[0]
		if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
			return errors.New("TLS.Certificates[0] needs its certificate chain and private key (tls.LoadX509KeyPair or tls.X509KeyPair give both)")
		}
		key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		if err != nil {
			return fmt.Errorf("TLS.Certificates[0]'s private key: %w", err)
		}
		var chain []byte
		for _, der := range cert.Certificate {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		}
		props["ssl.certificate.pem"] = string(chain)
		props["ssl.key.pem"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))
	}
	return nil
}

// rootCAs chooses the CAs the engine trusts. A *x509.CertPool cannot be listed, so a
// RootCAs pool other than the system's needs the same certificates in PEM (RootCAsPEM); the
// two are compared, and a pool without its PEM is an error rather than a quiet fallback to
// the system's roots.
func rootCAs(pool *x509.CertPool, pemCerts []byte, props map[string]string) error {
	if len(pemCerts) > 0 {
		fromPEM := x509.NewCertPool()
		if !fromPEM.AppendCertsFromPEM(pemCerts) {
			return errors.New("RootCAsPEM holds no PEM certificate")
		}
		if pool != nil && !pool.Equal(fromPEM) {
			return errors.New("TLS.RootCAs and RootCAsPEM hold different certificates")
		}
		props["ssl.ca.pem"] = string(pemCerts)
		return nil
	}
	if pool == nil {
		return nil // the system's roots, as in Go
	}
	if system, err := x509.SystemCertPool(); err == nil && pool.Equal(system) {
		return nil
	}
	return errors.New("TLS.RootCAs cannot be read from a *x509.CertPool: set RootCAsPEM (of the Transport or Dialer) to the same certificates in PEM")
}
