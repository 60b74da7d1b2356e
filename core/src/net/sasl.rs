//! SASL authentication: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (RFC 5802) and OAUTHBEARER
//! (RFC 7628, KIP-255), over SaslHandshake v1 + SaslAuthenticate.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::StrBytes;
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};

use crate::config::{SaslConfig, SaslMechanism};
use crate::error::{Error, ErrorKind, Result};
use crate::net::connection::Framed;

fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Authentication, message).with_retriable(false)
}

pub(crate) async fn authenticate(framed: &mut Framed, sasl: &SaslConfig) -> Result<()> {
    let hs_version = framed.versions.version_for::<SaslHandshakeRequest>()?.min(1);
    let resp = framed
        .request(
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(sasl.mechanism.name())),
            hs_version,
        )
        .await?;
    if resp.error_code != 0 {
        let enabled: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
        // UNSUPPORTED_SASL_MECHANISM (the Java client's UnsupportedSaslMechanismException).
        let message = format!("the broker does not enable {} (enabled: {})", sasl.mechanism.name(), enabled.join(", "));
        return Err(Error::broker(resp.error_code, message).with_kind(ErrorKind::Authentication).with_retriable(false));
    }
    let mut exchange = Exchange { framed, version: 0 };
    exchange.version = exchange.framed.versions.version_for::<SaslAuthenticateRequest>()?;
    match sasl.mechanism {
        SaslMechanism::Plain => {
            let msg = format!("\0{}\0{}", sasl.username, sasl.password);
            exchange.step(msg.into_bytes()).await?;
            Ok(())
        }
        SaslMechanism::ScramSha256 => scram::<Sha256>(&mut exchange, sasl).await,
        SaslMechanism::ScramSha512 => scram::<Sha512>(&mut exchange, sasl).await,
        SaslMechanism::OAuthBearer => oauthbearer(&mut exchange, sasl).await,
    }
}

struct Exchange<'a> {
    framed: &'a mut Framed,
    version: i16,
}

impl Exchange<'_> {
    async fn step(&mut self, bytes: Vec<u8>) -> Result<Bytes> {
        let resp = self
            .framed
            .request(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes)), self.version)
            .await?;
        if resp.error_code != 0 {
            let detail = resp.error_message.map(|m| m.to_string()).unwrap_or_default();
            return Err(Error::broker(resp.error_code, format!("authentication failed: {detail}"))
                .with_kind(ErrorKind::Authentication)
                .with_retriable(false));
        }
        Ok(resp.auth_bytes)
    }
}

/// SCRAM user names escape '=' and ','.
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// The hash a SCRAM mechanism is built on.
pub(crate) trait ScramHash {
    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8>;
    fn hash(data: &[u8]) -> Vec<u8>;
    fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8>;
}

macro_rules! scram_hash {
    ($t:ty, $len:expr) => {
        impl ScramHash for $t {
            fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
                let mut mac = <Hmac<$t> as Mac>::new_from_slice(key).expect("HMAC takes any key");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            fn hash(data: &[u8]) -> Vec<u8> {
                <$t>::digest(data).to_vec()
            }
            fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
                let mut out = vec![0u8; $len];
                pbkdf2::pbkdf2_hmac::<$t>(password, salt, iterations, &mut out);
                out
            }
        }
    };
}
scram_hash!(Sha256, 32);
scram_hash!(Sha512, 64);

async fn scram<D: ScramHash>(ex: &mut Exchange<'_>, sasl: &SaslConfig) -> Result<()> {
    let mut nonce_bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut nonce_bytes);
    let client = ScramClient::<D>::new(&sasl.username, &B64.encode(nonce_bytes));
    let server_first = ex.step(client.first_message().into_bytes()).await?;
    let (client_final, server_signature) = client.handle_server_first(&server_first, &sasl.password)?;
    let server_final = ex.step(client_final.into_bytes()).await?;
    verify_server_final(&server_final, &server_signature)
}

/// Kafka's largest SCRAM iteration count (`ScramMechanism.maxIterations`).
const SCRAM_MAX_ITERATIONS: u32 = 16384;

/// The client side of a SCRAM exchange (RFC 5802) without the I/O: what the client sends and how
/// it checks what the server answers (the server's messages are untrusted input).
pub(crate) struct ScramClient<D> {
    client_nonce: String,
    first_bare: String,
    hash: std::marker::PhantomData<D>,
}

impl<D: ScramHash> ScramClient<D> {
    pub(crate) fn new(username: &str, client_nonce: &str) -> Self {
        ScramClient {
            client_nonce: client_nonce.to_string(),
            first_bare: format!("n={},r={client_nonce}", saslname(username)),
            hash: std::marker::PhantomData,
        }
    }

    pub(crate) fn first_message(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// Parses the server-first message; returns the client-final message and the server
    /// signature the server-final message must carry.
    pub(crate) fn handle_server_first(&self, server_first: &[u8], password: &str) -> Result<(String, String)> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| Error::protocol("SCRAM server-first message is not UTF-8"))?;
        let attr = |name: &str| -> Option<&str> {
            server_first.split(',').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        if let Some(e) = attr("e") {
            return Err(auth_error(format!("SCRAM refused: {e}")));
        }
        let nonce = attr("r").ok_or_else(|| Error::protocol("SCRAM server-first message has no nonce"))?;
        if !nonce.starts_with(&self.client_nonce) {
            return Err(auth_error("SCRAM server nonce does not extend the client nonce"));
        }
        let salt = attr("s")
            .and_then(|s| B64.decode(s).ok())
            .ok_or_else(|| Error::protocol("SCRAM server-first message has no valid salt"))?;
        let iterations: u32 = attr("i")
            .and_then(|i| i.parse().ok())
            .filter(|i| *i > 0)
            .ok_or_else(|| Error::protocol("SCRAM server-first message has no valid iteration count"))?;
        // The iteration count is the server's word and the client pays for it (PBKDF2): i=4294967295
        // would hold the connection setup for hours. Kafka stores no credential above 16384.
        if iterations > SCRAM_MAX_ITERATIONS {
            return Err(auth_error(format!(
                "SCRAM server asks for {iterations} iterations, more than Kafka's maximum {SCRAM_MAX_ITERATIONS}"
            )));
        }

        let salted = D::salted_password(password.as_bytes(), &salt, iterations);
        let client_key = D::hmac(&salted, b"Client Key");
        let stored_key = D::hash(&client_key);
        let final_without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{final_without_proof}", self.first_bare);
        let signature = D::hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let server_key = D::hmac(&salted, b"Server Key");
        let expected = B64.encode(D::hmac(&server_key, auth_message.as_bytes()));
        Ok((format!("{final_without_proof},p={}", B64.encode(proof)), expected))
    }
}

/// Checks the server-final message against the signature `handle_server_first` computed.
pub(crate) fn verify_server_final(server_final: &[u8], expected: &str) -> Result<()> {
    let server_final = String::from_utf8_lossy(server_final);
    if let Some(e) = server_final.strip_prefix("e=") {
        return Err(auth_error(format!("SCRAM refused: {e}")));
    }
    match server_final.strip_prefix("v=") {
        Some(v) if v == expected => Ok(()),
        _ => Err(auth_error("SCRAM server signature does not verify: the broker is not who it claims")),
    }
}

async fn oauthbearer(ex: &mut Exchange<'_>, sasl: &SaslConfig) -> Result<()> {
    let token = match (&sasl.token_provider, &sasl.oauth_token) {
        (Some(provider), _) => provider.token()?,
        (None, Some(value)) => crate::config::OAuthToken { value: value.clone(), extensions: Default::default() },
        (None, None) => {
            return Err(Error::config(
                "OAUTHBEARER needs 'sasl.oauthbearer.token' or a token provider",
            ))
        }
    };
    let mut msg = format!("n,,\x01auth=Bearer {}\x01", token.value);
    for (k, v) in &token.extensions {
        msg.push_str(&format!("{k}={v}\x01"));
    }
    msg.push('\x01');
    let challenge = ex.step(msg.into_bytes()).await?;
    if !challenge.is_empty() {
        // The broker refused the token and sent its reason; RFC 7628 says answer with a bare
        // separator, after which the broker fails the exchange.
        let reason = String::from_utf8_lossy(&challenge).to_string();
        let _ = ex.step(vec![0x01]).await;
        return Err(auth_error(format!("OAUTHBEARER token refused: {reason}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped() {
        assert_eq!(saslname("a=b,c"), "a=3Db=2Cc");
    }

    /// A server-first message asking for more iterations than Kafka allows is refused before any
    /// PBKDF2 work (seen while writing the SCRAM fuzz target; input kept in fuzz/regressions/sasl_scram/).
    #[test]
    fn excessive_iterations_are_refused() {
        let client = ScramClient::<Sha256>::new("user", "abc");
        let first = |i: u64| format!("r=abcdef,s=c2FsdA==,i={i}");
        let start = std::time::Instant::now();
        let err = client.handle_server_first(first(4_294_967_295).as_bytes(), "pencil").unwrap_err();
        assert!(err.to_string().contains("4294967295 iterations"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        assert!(client.handle_server_first(first(16385).as_bytes(), "pencil").is_err());
        let (client_final, _) = client.handle_server_first(first(16384).as_bytes(), "pencil").unwrap();
        assert!(client_final.starts_with("c=biws,r=abcdef,p="), "{client_final}");
    }

    /// RFC 7677 test vector (SCRAM-SHA-256): user "user", password "pencil".
    #[test]
    fn rfc7677_vector() {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = Sha256::salted_password(b"pencil", &salt, 4096);
        let client_key = Sha256::hmac(&salted, b"Client Key");
        let stored_key = Sha256::hash(&client_key);
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let sig = Sha256::hmac(&stored_key, auth.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
        assert_eq!(B64.encode(proof), "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        let server_key = Sha256::hmac(&salted, b"Server Key");
        assert_eq!(
            B64.encode(Sha256::hmac(&server_key, auth.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }
}
