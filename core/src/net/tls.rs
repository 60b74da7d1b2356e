//! TLS through rustls: trusted CAs from a PEM file or string (else the system's roots),
//! hostname verification on by default, client certificates for mTLS; verification can be
//! relaxed to the chain only (`ssl.endpoint.identification.algorithm=none`) or turned off
//! (`enable.ssl.certificate.verification=false`).

use std::io::BufReader;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::TlsConfig;
use crate::error::{Error, ErrorKind, Result};

fn tls_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Tls, message).with_retriable(false)
}

fn read_pem(location: &Option<String>, pem: &Option<String>, what: &str, key: &str) -> Result<Option<Vec<u8>>> {
    if let Some(text) = pem {
        return Ok(Some(text.as_bytes().to_vec()));
    }
    match location {
        None => Ok(None),
        Some(path) => std::fs::read(path).map(Some).map_err(|e| {
            Error::config(format!("cannot read {what} from '{path}' ({key}): {e}"))
        }),
    }
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut BufReader::new(pem))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::config(format!("invalid PEM in {what}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::config(format!("no certificate found in {what}")));
    }
    Ok(certs)
}

/// Builds the rustls client configuration once per client.
pub fn client_config(cfg: &TlsConfig) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match read_pem(&cfg.ca_location, &cfg.ca_pem, "the CA certificates", "ssl.ca.location/ssl.ca.pem")? {
        Some(pem) => {
            for cert in certificates(&pem, "the CA certificates (ssl.ca.location/ssl.ca.pem)")? {
                roots
                    .add(cert)
                    .map_err(|e| Error::config(format!("invalid CA certificate: {e}")))?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for cert in native.certs {
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?;
    let roots = Arc::new(roots);
    let builder = if cfg.verify_hostname && cfg.verify_certificates {
        builder.with_root_certificates(roots)
    } else {
        let chain = if cfg.verify_certificates {
            Some(
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| tls_error(format!("building the certificate verifier: {e}")))?,
            )
        } else {
            None
        };
        let algorithms = provider.signature_verification_algorithms;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(RelaxedVerifier { chain, algorithms }))
    };
    let cert = read_pem(&cfg.certificate_location, &cfg.certificate_pem, "the client certificate", "ssl.certificate.location")?;
    let key = read_pem(&cfg.key_location, &cfg.key_pem, "the client key", "ssl.key.location")?;
    let config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(&cert, "the client certificate")?;
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut BufReader::new(&key[..]))
                .map_err(|e| Error::config(format!("invalid PEM in the client key: {e}")))?
                .ok_or_else(|| Error::config("no private key found in the client key (ssl.key.location/ssl.key.pem)"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::config(format!("client certificate and key do not fit: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Runs the TLS handshake on a connected socket.
pub async fn handshake(tcp: TcpStream, host: &str, config: Arc<rustls::ClientConfig>) -> Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Error::invalid(format!("'{host}' is not a valid TLS server name: {e}")))?;
    TlsConnector::from(config).connect(name, tcp).await.map_err(|e| {
        match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(rustls::Error::InvalidCertificate(cert)) => {
                tls_error(format!("the broker's certificate was refused: {cert:?}"))
            }
            Some(other) => tls_error(format!("handshake failed: {other}")),
            None => Error::connection(format!("handshake failed: {e}")),
        }
    })
}

/// Verifies the chain against the trusted roots but not the hostname
/// (`ssl.endpoint.identification.algorithm=none`), or, without `chain`, accepts any certificate
/// (`enable.ssl.certificate.verification=false`). The handshake's signatures are always checked.
#[derive(Debug)]
struct RelaxedVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for RelaxedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
