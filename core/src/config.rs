//! Configuration: Kafka's standard dotted property names, parsed into typed structs.
//!
//! A client is configured by a map of properties (`bootstrap.servers`, `acks`, ...), as in the
//! Java client. [`ProducerConfig::from_properties`], [`ConsumerConfig::from_properties`] and
//! [`AdminConfig::from_properties`] validate every key: a key that does not exist for that client,
//! or a value that is not valid for its key, is a config error naming the key. Defaults follow the
//! Java client of Kafka 4.x.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// Supplies OAUTHBEARER tokens (KIP-255). Called before each authentication.
pub trait TokenProvider: Send + Sync {
    fn token(&self) -> Result<OAuthToken>;
}

/// A bearer token and the SASL extensions sent with it.
#[derive(Clone, Debug, Default)]
pub struct OAuthToken {
    pub value: String,
    pub extensions: BTreeMap<String, String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
    pub fn uses_sasl(self) -> bool {
        matches!(self, SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
    OAuthBearer,
}

impl SaslMechanism {
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
            SaslMechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

#[derive(Clone)]
pub struct SaslConfig {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
    /// A static OAUTHBEARER token (`sasl.oauthbearer.token`).
    pub oauth_token: Option<String>,
    /// A token provider for OAUTHBEARER, set in code by the binding.
    pub token_provider: Option<Arc<dyn TokenProvider>>,
}

impl fmt::Debug for SaslConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslConfig")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("token_provider", &self.token_provider.is_some())
            .finish()
    }
}

#[derive(Clone, Default)]
pub struct TlsConfig {
    /// CA certificates: from `ssl.ca.location` (a PEM file) or `ssl.ca.pem` (PEM text).
    /// When neither is set, the system's roots are trusted.
    pub ca_location: Option<String>,
    pub ca_pem: Option<String>,
    /// Client certificate and key for mTLS (`ssl.certificate.location`/`.pem`,
    /// `ssl.key.location`/`.pem`).
    pub certificate_location: Option<String>,
    pub certificate_pem: Option<String>,
    pub key_location: Option<String>,
    pub key_pem: Option<String>,
    /// `ssl.endpoint.identification.algorithm`: `https` (default) checks the hostname, `none`
    /// does not.
    pub verify_hostname: bool,
    /// `enable.ssl.certificate.verification` (librdkafka's name): `false` accepts any broker
    /// certificate, neither its chain nor its name is checked (Go's `InsecureSkipVerify`).
    pub verify_certificates: bool,
    /// `ssl.server.name`: the name sent in SNI and checked in every broker's certificate,
    /// instead of the host connected to (Go's `tls.Config.ServerName`).
    pub server_name: Option<String>,
}

/// The client's private key (`key_pem`) is shown only as set or not.
impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca_location", &self.ca_location)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<set>"))
            .field("certificate_location", &self.certificate_location)
            .field("certificate_pem", &self.certificate_pem.as_ref().map(|_| "<set>"))
            .field("key_location", &self.key_location)
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<redacted>"))
            .field("verify_hostname", &self.verify_hostname)
            .field("verify_certificates", &self.verify_certificates)
            .field("server_name", &self.server_name)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct SecurityConfig {
    pub protocol: SecurityProtocol,
    pub sasl: Option<SaslConfig>,
    pub tls: TlsConfig,
}

/// Settings every client has.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub bootstrap_servers: Vec<String>,
    pub client_id: String,
    pub request_timeout: Duration,
    pub metadata_max_age: Duration,
    pub reconnect_backoff: Duration,
    pub reconnect_backoff_max: Duration,
    pub connection_setup_timeout: Duration,
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
    pub allow_auto_create_topics: bool,
    /// `statistics.interval.ms` (librdkafka's): how often a statistics snapshot is due
    /// ([`crate::stats`]); zero: never.
    pub statistics_interval: Duration,
    pub security: SecurityConfig,
    /// Where request and group events go, set in code by a binding that reports them.
    pub instrumentation: Option<crate::instrumentation::Instrumentation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl Acks {
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompressionType {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionerKind {
    /// Java's default: murmur2 of the key, sticky partitions for null keys.
    Murmur2Sticky,
    /// librdkafka's `consistent_random`: crc32 of the key, random for null keys.
    ConsistentRandom,
    /// librdkafka's `consistent`: crc32 of the key, null keys hash like empty ones.
    Consistent,
    /// librdkafka's `murmur2_random`: murmur2 of the key, random for null keys.
    Murmur2Random,
    /// librdkafka's `murmur2`: murmur2 of the key, null keys hash like empty ones.
    Murmur2,
    /// Random partition for every record.
    Random,
    /// Each record to the next partition in turn.
    RoundRobin,
}

#[derive(Clone, Debug)]
pub struct ProducerConfig {
    pub client: ClientConfig,
    pub acks: Acks,
    pub enable_idempotence: bool,
    pub linger: Duration,
    pub batch_size: usize,
    pub buffer_memory: usize,
    pub max_block: Duration,
    pub compression: CompressionType,
    pub compression_level: Option<i32>,
    pub partitioner: PartitionerKind,
    pub retries: u32,
    pub delivery_timeout: Duration,
    pub max_in_flight: usize,
    pub max_request_size: usize,
    /// librdkafka's `queue.buffering.max.messages`: records queued and not yet completed, at
    /// most (beside `buffer.memory`). `usize::MAX` (the default, as the Java client) is no bound.
    pub max_queued_records: usize,
    /// librdkafka's `batch.num.messages`: records per batch, at most (beside `batch.size`).
    /// `usize::MAX` (the default, as the Java client) is no bound.
    pub batch_max_records: usize,
    pub transactional_id: Option<String>,
    pub transaction_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    ReadCommitted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupProtocol {
    Classic,
    Consumer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignorKind {
    Range,
    RoundRobin,
    CooperativeSticky,
}

#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    pub client: ClientConfig,
    pub group_id: Option<String>,
    pub group_instance_id: Option<String>,
    pub group_protocol: GroupProtocol,
    pub group_remote_assignor: Option<String>,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_poll_interval: Duration,
    pub rebalance_timeout: Option<Duration>,
    pub assignors: Vec<AssignorKind>,
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    pub auto_commit_interval: Duration,
    /// librdkafka's `enable.auto.offset.store`: true (as the Java client) makes each delivered
    /// record's position the offset that auto-commit and `commit(None)` commit; false leaves it
    /// to `Consumer::store_offsets` (confluent-kafka's `store_offsets`, kafkajs's
    /// `resolveOffset`, kafka-go's committed messages).
    pub auto_offset_store: bool,
    /// librdkafka's `enable.partition.eof`: a [`crate::ConsumerEvent::PartitionEof`] each time a
    /// partition's position reaches its end (the high watermark), once per end reached.
    pub enable_partition_eof: bool,
    pub isolation_level: IsolationLevel,
    pub fetch_min_bytes: i32,
    pub fetch_max_bytes: i32,
    pub max_partition_fetch_bytes: i32,
    pub fetch_max_wait: Duration,
    pub max_poll_records: usize,
    pub check_crcs: bool,
    pub client_rack: Option<String>,
    pub default_api_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct AdminConfig {
    pub client: ClientConfig,
    pub default_api_timeout: Duration,
}

/// Which client a key belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Common,
    Producer,
    Consumer,
}

const KEYS: &[(&str, Role)] = &[
    ("bootstrap.servers", Role::Common),
    ("client.id", Role::Common),
    ("request.timeout.ms", Role::Common),
    ("metadata.max.age.ms", Role::Common),
    ("reconnect.backoff.ms", Role::Common),
    ("reconnect.backoff.max.ms", Role::Common),
    ("socket.connection.setup.timeout.ms", Role::Common),
    ("retry.backoff.ms", Role::Common),
    ("retry.backoff.max.ms", Role::Common),
    ("allow.auto.create.topics", Role::Common),
    ("statistics.interval.ms", Role::Common),
    ("default.api.timeout.ms", Role::Common),
    ("security.protocol", Role::Common),
    ("sasl.mechanism", Role::Common),
    ("sasl.username", Role::Common),
    ("sasl.password", Role::Common),
    ("sasl.jaas.config", Role::Common),
    ("sasl.oauthbearer.token", Role::Common),
    ("ssl.ca.location", Role::Common),
    ("ssl.ca.pem", Role::Common),
    ("ssl.certificate.location", Role::Common),
    ("ssl.certificate.pem", Role::Common),
    ("ssl.key.location", Role::Common),
    ("ssl.key.pem", Role::Common),
    ("ssl.endpoint.identification.algorithm", Role::Common),
    ("enable.ssl.certificate.verification", Role::Common),
    ("ssl.server.name", Role::Common),
    ("acks", Role::Producer),
    ("enable.idempotence", Role::Producer),
    ("linger.ms", Role::Producer),
    ("batch.size", Role::Producer),
    ("buffer.memory", Role::Producer),
    ("max.block.ms", Role::Producer),
    ("compression.type", Role::Producer),
    ("compression.level", Role::Producer),
    ("partitioner", Role::Producer),
    ("retries", Role::Producer),
    ("delivery.timeout.ms", Role::Producer),
    ("max.in.flight.requests.per.connection", Role::Producer),
    ("max.request.size", Role::Producer),
    ("queue.buffering.max.messages", Role::Producer),
    ("batch.num.messages", Role::Producer),
    ("transactional.id", Role::Producer),
    ("transaction.timeout.ms", Role::Producer),
    ("group.id", Role::Consumer),
    ("group.instance.id", Role::Consumer),
    ("group.protocol", Role::Consumer),
    ("group.remote.assignor", Role::Consumer),
    ("session.timeout.ms", Role::Consumer),
    ("heartbeat.interval.ms", Role::Consumer),
    ("max.poll.interval.ms", Role::Consumer),
    ("rebalance.timeout.ms", Role::Consumer),
    ("partition.assignment.strategy", Role::Consumer),
    ("auto.offset.reset", Role::Consumer),
    ("enable.auto.commit", Role::Consumer),
    ("auto.commit.interval.ms", Role::Consumer),
    ("enable.auto.offset.store", Role::Consumer),
    ("enable.partition.eof", Role::Consumer),
    ("isolation.level", Role::Consumer),
    ("fetch.min.bytes", Role::Consumer),
    ("fetch.max.bytes", Role::Consumer),
    ("max.partition.fetch.bytes", Role::Consumer),
    ("fetch.max.wait.ms", Role::Consumer),
    ("max.poll.records", Role::Consumer),
    ("check.crcs", Role::Consumer),
    ("client.rack", Role::Consumer),
];

/// Every key the engine implements, with the client it belongs to: the one table bindings
/// translate through (a binding that ignores one of these keys is a bug).
pub fn keys() -> &'static [(&'static str, Role)] {
    KEYS
}

/// librdkafka's name for a setting the engine has under Kafka's (Java) name: the key the
/// engine uses for it, for bindings and C programs written against librdkafka.
pub fn from_librdkafka(key: &str) -> Option<&'static str> {
    LIBRDKAFKA_NAMES.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// librdkafka name -> engine (Java) name, where they differ.
const LIBRDKAFKA_NAMES: &[(&str, &str)] = &[
    ("metadata.broker.list", "bootstrap.servers"),
    ("request.required.acks", "acks"),
    ("topic.request.required.acks", "acks"),
    ("queue.buffering.max.ms", "linger.ms"),
    ("compression.codec", "compression.type"),
    ("topic.compression.codec", "compression.type"),
    ("message.timeout.ms", "delivery.timeout.ms"),
    ("topic.message.timeout.ms", "delivery.timeout.ms"),
    ("message.max.bytes", "max.request.size"),
    ("sasl.mechanisms", "sasl.mechanism"),
    ("max.in.flight", "max.in.flight.requests.per.connection"),
    ("message.send.max.retries", "retries"),
    ("socket.timeout.ms", "request.timeout.ms"),
    // How long a produce waits for an unknown topic to appear before failing.
    ("topic.metadata.propagation.max.ms", "max.block.ms"),
    ("topic.metadata.refresh.interval.ms", "metadata.max.age.ms"),
    ("topic.partitioner", "partitioner"),
    ("fetch.wait.max.ms", "fetch.max.wait.ms"),
    ("topic.auto.offset.reset", "auto.offset.reset"),
];

/// A map of properties being read: each read marks its key, so keys of another client are
/// reported.
pub(crate) struct Props<'a> {
    map: &'a BTreeMap<String, String>,
}

impl<'a> Props<'a> {
    fn check_keys(map: &'a BTreeMap<String, String>, role: Role, client: &str) -> Result<Self> {
        for key in map.keys() {
            match KEYS.iter().find(|(k, _)| k == key) {
                None => {
                    return Err(Error::config(format!(
                        "unknown configuration key '{key}'"
                    )))
                }
                Some((_, r)) if *r != Role::Common && *r != role => {
                    return Err(Error::config(format!(
                        "configuration key '{key}' does not apply to a {client}"
                    )))
                }
                _ => {}
            }
        }
        Ok(Props { map })
    }

    fn raw(&self, key: &str) -> Option<&'a str> {
        self.map.get(key).map(|s| s.trim())
    }

    fn string(&self, key: &str) -> Option<String> {
        self.raw(key).filter(|v| !v.is_empty()).map(str::to_string)
    }

    fn bad(key: &str, value: &str, expected: &str) -> Error {
        Error::config(format!(
            "invalid value '{value}' for configuration key '{key}': expected {expected}"
        ))
    }

    fn int(&self, key: &str, default: i64, min: i64, max: i64) -> Result<i64> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= min && n <= max => Ok(n),
                _ => Err(Props::bad(key, v, &format!("an integer from {min} to {max}"))),
            },
        }
    }

    /// Milliseconds: a whole number, or a decimal one as librdkafka takes for `linger.ms`
    /// (`queue.buffering.max.ms`), e.g. `0.5`.
    fn ms(&self, key: &str, default_ms: i64) -> Result<Duration> {
        match self.raw(key) {
            Some(v) if v.contains('.') => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && (0.0..=i32::MAX as f64).contains(&x) => Ok(Duration::from_secs_f64(x / 1000.0)),
                _ => Err(Props::bad(key, v, &format!("milliseconds from 0 to {}", i32::MAX))),
            },
            _ => self.int(key, default_ms, 0, i32::MAX as i64).map(|n| Duration::from_millis(n as u64)),
        }
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(Props::bad(key, v, "true or false")),
            },
        }
    }

    fn choice<T: Copy>(&self, key: &str, default: T, options: &[(&str, T)]) -> Result<T> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => options
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(v))
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                    Props::bad(key, v, &format!("one of {}", names.join(", ")))
                }),
        }
    }
}

impl ClientConfig {
    fn parse(p: &Props) -> Result<Self> {
        let bootstrap: Vec<String> = p
            .raw("bootstrap.servers")
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if bootstrap.is_empty() {
            return Err(Error::config(
                "configuration key 'bootstrap.servers' is required (host:port[,host:port...])",
            ));
        }
        for server in &bootstrap {
            parse_host_port(server).map_err(|m| {
                Error::config(format!("invalid value '{server}' in 'bootstrap.servers': {m}"))
            })?;
        }
        let protocol = p.choice(
            "security.protocol",
            SecurityProtocol::Plaintext,
            &[
                ("PLAINTEXT", SecurityProtocol::Plaintext),
                ("SSL", SecurityProtocol::Ssl),
                ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
                ("SASL_SSL", SecurityProtocol::SaslSsl),
            ],
        )?;
        let sasl = if protocol.uses_sasl() {
            Some(parse_sasl(p)?)
        } else {
            None
        };
        let verify_hostname = p.choice(
            "ssl.endpoint.identification.algorithm",
            true,
            &[("https", true), ("none", false), ("", false)],
        )?;
        let tls = TlsConfig {
            ca_location: p.string("ssl.ca.location"),
            ca_pem: p.string("ssl.ca.pem"),
            certificate_location: p.string("ssl.certificate.location"),
            certificate_pem: p.string("ssl.certificate.pem"),
            key_location: p.string("ssl.key.location"),
            key_pem: p.string("ssl.key.pem"),
            verify_hostname,
            verify_certificates: p.bool("enable.ssl.certificate.verification", true)?,
            server_name: p.string("ssl.server.name"),
        };
        let has_cert = tls.certificate_location.is_some() || tls.certificate_pem.is_some();
        let has_key = tls.key_location.is_some() || tls.key_pem.is_some();
        if has_cert != has_key {
            return Err(Error::config(
                "a client certificate needs its key: set both 'ssl.certificate.location' (or .pem) and 'ssl.key.location' (or .pem)",
            ));
        }
        Ok(ClientConfig {
            bootstrap_servers: bootstrap,
            client_id: p.string("client.id").unwrap_or_else(|| "polykafka".to_string()),
            request_timeout: p.ms("request.timeout.ms", 30_000)?,
            metadata_max_age: p.ms("metadata.max.age.ms", 300_000)?,
            reconnect_backoff: p.ms("reconnect.backoff.ms", 50)?,
            reconnect_backoff_max: p.ms("reconnect.backoff.max.ms", 1_000)?,
            connection_setup_timeout: p.ms("socket.connection.setup.timeout.ms", 10_000)?,
            retry_backoff: p.ms("retry.backoff.ms", 100)?,
            retry_backoff_max: p.ms("retry.backoff.max.ms", 1_000)?,
            allow_auto_create_topics: p.bool("allow.auto.create.topics", true)?,
            statistics_interval: Duration::from_millis(p.int("statistics.interval.ms", 0, 0, 86_400_000)? as u64),
            security: SecurityConfig {
                protocol,
                sasl,
                tls,
            },
            instrumentation: None,
        })
    }

    /// A configuration with only `bootstrap.servers` set, for tests and examples.
    pub fn with_bootstrap(servers: &str) -> Result<Self> {
        let map = BTreeMap::from([("bootstrap.servers".to_string(), servers.to_string())]);
        ClientConfig::parse(&Props::check_keys(&map, Role::Common, "client")?)
    }
}

fn parse_sasl(p: &Props) -> Result<SaslConfig> {
    let mechanism = p.choice(
        "sasl.mechanism",
        SaslMechanism::Plain,
        &[
            ("PLAIN", SaslMechanism::Plain),
            ("SCRAM-SHA-256", SaslMechanism::ScramSha256),
            ("SCRAM-SHA-512", SaslMechanism::ScramSha512),
            ("OAUTHBEARER", SaslMechanism::OAuthBearer),
        ],
    )?;
    let (mut username, mut password) = (p.string("sasl.username"), p.string("sasl.password"));
    if let Some(jaas) = p.raw("sasl.jaas.config") {
        let field = |name: &str| -> Option<String> {
            let start = jaas.find(&format!("{name}=\""))? + name.len() + 2;
            let end = jaas[start..].find('"')? + start;
            Some(jaas[start..end].to_string())
        };
        username = username.or_else(|| field("username"));
        password = password.or_else(|| field("password"));
    }
    let oauth_token = p.string("sasl.oauthbearer.token");
    if mechanism != SaslMechanism::OAuthBearer && (username.is_none() || password.is_none()) {
        return Err(Error::config(format!(
            "sasl.mechanism {} needs 'sasl.username' and 'sasl.password'",
            mechanism.name()
        )));
    }
    Ok(SaslConfig {
        mechanism,
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
        oauth_token,
        token_provider: None,
    })
}

/// Splits `host:port` (also `[v6]:port`).
pub fn parse_host_port(s: &str) -> std::result::Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed '['")?;
        let port = rest[end + 1..].strip_prefix(':').ok_or("missing port")?;
        (&rest[..end], port)
    } else {
        s.rsplit_once(':').ok_or("missing port (expected host:port)")?
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("'{port}' is not a port number"))?;
    Ok((host.to_string(), port))
}

fn to_map<I, K, V>(props: I) -> BTreeMap<String, String>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    props
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

impl ProducerConfig {
    pub fn from_properties<I, K, V>(props: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = to_map(props);
        let p = Props::check_keys(&map, Role::Producer, "producer")?;
        let client = ClientConfig::parse(&p)?;
        let transactional_id = p.string("transactional.id");
        let idempotence_set = p.raw("enable.idempotence").is_some();
        let acks = p.choice(
            "acks",
            Acks::All,
            &[("all", Acks::All), ("-1", Acks::All), ("1", Acks::Leader), ("0", Acks::None)],
        )?;
        let max_in_flight = p.int("max.in.flight.requests.per.connection", 5, 1, 1_000_000)? as usize;
        let retries = p.int("retries", i32::MAX as i64, 0, i32::MAX as i64)? as u32;
        // As the Java client: idempotence is on by default unless the settings conflict with it,
        // and asking for it explicitly with conflicting settings is an error.
        let conflicts = acks != Acks::All || max_in_flight > 5 || retries == 0;
        let mut enable_idempotence = p.bool("enable.idempotence", true)?;
        if enable_idempotence && conflicts {
            if idempotence_set || transactional_id.is_some() {
                return Err(Error::config(
                    "enable.idempotence=true requires acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5",
                ));
            }
            enable_idempotence = false;
        }
        if transactional_id.is_some() && !enable_idempotence {
            return Err(Error::config(
                "transactional.id requires enable.idempotence=true",
            ));
        }
        let linger = p.ms("linger.ms", 5)?;
        let delivery_timeout = p.ms("delivery.timeout.ms", 120_000)?;
        if delivery_timeout < linger + client.request_timeout {
            return Err(Error::config(
                "delivery.timeout.ms must be at least linger.ms + request.timeout.ms",
            ));
        }
        Ok(ProducerConfig {
            acks,
            enable_idempotence,
            linger,
            batch_size: p.int("batch.size", 16_384, 1, i32::MAX as i64)? as usize,
            buffer_memory: p.int("buffer.memory", 32 * 1024 * 1024, 1024, i64::MAX)? as usize,
            max_block: p.ms("max.block.ms", 60_000)?,
            compression: p.choice(
                "compression.type",
                CompressionType::None,
                &[
                    ("none", CompressionType::None),
                    ("gzip", CompressionType::Gzip),
                    ("snappy", CompressionType::Snappy),
                    ("lz4", CompressionType::Lz4),
                    ("zstd", CompressionType::Zstd),
                ],
            )?,
            compression_level: match p.raw("compression.level") {
                None => None,
                Some(_) => Some(p.int("compression.level", 0, -131072, 22)? as i32),
            },
            partitioner: p.choice(
                "partitioner",
                PartitionerKind::Murmur2Sticky,
                &[
                    ("murmur2_sticky", PartitionerKind::Murmur2Sticky),
                    ("default", PartitionerKind::Murmur2Sticky),
                    ("consistent_random", PartitionerKind::ConsistentRandom),
                    ("consistent", PartitionerKind::Consistent),
                    ("murmur2_random", PartitionerKind::Murmur2Random),
                    ("murmur2", PartitionerKind::Murmur2),
                    ("random", PartitionerKind::Random),
                    ("round_robin", PartitionerKind::RoundRobin),
                ],
            )?,
            retries,
            delivery_timeout,
            max_in_flight,
            max_request_size: p.int("max.request.size", 1_048_576, 1, i32::MAX as i64)? as usize,
            max_queued_records: match p.raw("queue.buffering.max.messages") {
                None => usize::MAX,
                Some(_) => p.int("queue.buffering.max.messages", 0, 1, i32::MAX as i64)? as usize,
            },
            batch_max_records: match p.raw("batch.num.messages") {
                None => usize::MAX,
                Some(_) => p.int("batch.num.messages", 0, 1, 1_000_000)? as usize,
            },
            transactional_id,
            transaction_timeout: p.ms("transaction.timeout.ms", 60_000)?,
            client,
        })
    }
}

impl ConsumerConfig {
    pub fn from_properties<I, K, V>(props: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = to_map(props);
        let p = Props::check_keys(&map, Role::Consumer, "consumer")?;
        let client = ClientConfig::parse(&p)?;
        let mut assignors = Vec::new();
        if let Some(list) = p.raw("partition.assignment.strategy") {
            for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let short = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
                let kind = match short.as_str() {
                    "range" | "rangeassignor" => AssignorKind::Range,
                    "roundrobin" | "round_robin" | "roundrobinassignor" => AssignorKind::RoundRobin,
                    "cooperative-sticky" | "cooperative_sticky" | "cooperativestickyassignor" => {
                        AssignorKind::CooperativeSticky
                    }
                    _ => {
                        return Err(Props::bad(
                            "partition.assignment.strategy",
                            name,
                            "range, roundrobin or cooperative-sticky",
                        ))
                    }
                };
                assignors.push(kind);
            }
        }
        if assignors.is_empty() {
            assignors = vec![AssignorKind::Range, AssignorKind::CooperativeSticky];
        }
        let session_timeout = p.ms("session.timeout.ms", 45_000)?;
        let heartbeat_interval = p.ms("heartbeat.interval.ms", 3_000)?;
        if heartbeat_interval >= session_timeout {
            return Err(Error::config(
                "heartbeat.interval.ms must be lower than session.timeout.ms",
            ));
        }
        Ok(ConsumerConfig {
            group_id: p.string("group.id"),
            group_instance_id: p.string("group.instance.id"),
            group_protocol: p.choice(
                "group.protocol",
                GroupProtocol::Classic,
                &[("classic", GroupProtocol::Classic), ("consumer", GroupProtocol::Consumer)],
            )?,
            group_remote_assignor: p.string("group.remote.assignor"),
            session_timeout,
            heartbeat_interval,
            max_poll_interval: p.ms("max.poll.interval.ms", 300_000)?,
            rebalance_timeout: match p.raw("rebalance.timeout.ms") {
                None => None,
                Some(_) => Some(p.ms("rebalance.timeout.ms", 0)?),
            },
            assignors,
            auto_offset_reset: p.choice(
                "auto.offset.reset",
                OffsetReset::Latest,
                &[
                    ("earliest", OffsetReset::Earliest),
                    ("smallest", OffsetReset::Earliest),
                    ("beginning", OffsetReset::Earliest),
                    ("latest", OffsetReset::Latest),
                    ("largest", OffsetReset::Latest),
                    ("end", OffsetReset::Latest),
                    ("none", OffsetReset::None),
                    ("error", OffsetReset::None),
                ],
            )?,
            enable_auto_commit: p.bool("enable.auto.commit", true)?,
            auto_offset_store: p.bool("enable.auto.offset.store", true)?,
            enable_partition_eof: p.bool("enable.partition.eof", false)?,
            auto_commit_interval: p.ms("auto.commit.interval.ms", 5_000)?,
            isolation_level: p.choice(
                "isolation.level",
                IsolationLevel::ReadUncommitted,
                &[
                    ("read_uncommitted", IsolationLevel::ReadUncommitted),
                    ("read_committed", IsolationLevel::ReadCommitted),
                ],
            )?,
            fetch_min_bytes: p.int("fetch.min.bytes", 1, 0, i32::MAX as i64)? as i32,
            fetch_max_bytes: p.int("fetch.max.bytes", 52_428_800, 0, i32::MAX as i64)? as i32,
            max_partition_fetch_bytes: p.int("max.partition.fetch.bytes", 1_048_576, 0, i32::MAX as i64)?
                as i32,
            fetch_max_wait: p.ms("fetch.max.wait.ms", 500)?,
            max_poll_records: p.int("max.poll.records", 500, 1, i32::MAX as i64)? as usize,
            check_crcs: p.bool("check.crcs", true)?,
            client_rack: p.string("client.rack"),
            default_api_timeout: p.ms("default.api.timeout.ms", 60_000)?,
            client,
        })
    }
}

impl AdminConfig {
    pub fn from_properties<I, K, V>(props: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map = to_map(props);
        let p = Props::check_keys(&map, Role::Common, "admin client")?;
        Ok(AdminConfig {
            default_api_timeout: p.ms("default.api.timeout.ms", 60_000)?,
            client: ClientConfig::parse(&p)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(extra: &[(&str, &str)]) -> Result<ProducerConfig> {
        let mut props = vec![("bootstrap.servers", "127.0.0.1:9092")];
        props.extend_from_slice(extra);
        ProducerConfig::from_properties(props)
    }

    #[test]
    fn java_defaults() {
        let c = producer(&[]).unwrap();
        assert_eq!(c.acks, Acks::All);
        assert!(c.enable_idempotence);
        assert_eq!(c.linger, Duration::from_millis(5));
        assert_eq!(c.batch_size, 16_384);
        assert_eq!(c.max_in_flight, 5);
        assert_eq!(c.partitioner, PartitionerKind::Murmur2Sticky);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = producer(&[("linger.msec", "5")]).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Config);
        assert!(e.message().contains("'linger.msec'"), "{e}");
    }

    #[test]
    fn milliseconds_may_be_decimal() {
        let p = producer(&[("linger.ms", "1.5")]).unwrap();
        assert_eq!(p.linger, Duration::from_micros(1500));
        for bad in ["-1.5", "NaN", "1.2.3", "inf"] {
            let e = producer(&[("linger.ms", bad)]).unwrap_err();
            assert!(e.message().contains("linger.ms"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_librdkafka_name_maps_to_a_key_the_engine_has() {
        for (rd, java) in LIBRDKAFKA_NAMES {
            assert!(keys().iter().any(|(k, _)| k == java), "{rd} -> {java}");
            assert!(!keys().iter().any(|(k, _)| k == rd), "{rd} is an engine key already");
            assert_eq!(from_librdkafka(rd), Some(*java));
        }
        assert_eq!(from_librdkafka("bootstrap.servers"), None);
    }

    #[test]
    fn bad_value_is_named() {
        let e = producer(&[("acks", "2")]).unwrap_err();
        assert!(e.message().contains("'acks'") && e.message().contains("'2'"), "{e}");
        let e = producer(&[("linger.ms", "soon")]).unwrap_err();
        assert!(e.message().contains("'linger.ms'"), "{e}");
    }

    #[test]
    fn statistics_interval_is_read_and_bounded() {
        assert_eq!(producer(&[]).unwrap().client.statistics_interval, Duration::ZERO);
        assert_eq!(producer(&[("statistics.interval.ms", "250")]).unwrap().client.statistics_interval, Duration::from_millis(250));
        for bad in ["-1", "86400001", "often"] {
            let e = producer(&[("statistics.interval.ms", bad)]).unwrap_err();
            assert!(e.message().contains("'statistics.interval.ms'"), "{bad}: {e}");
        }
    }

    #[test]
    fn consumer_key_refused_by_producer() {
        let e = producer(&[("group.id", "g")]).unwrap_err();
        assert!(e.message().contains("does not apply to a producer"), "{e}");
    }

    #[test]
    fn idempotence_conflicts() {
        let c = producer(&[("acks", "1")]).unwrap();
        assert!(!c.enable_idempotence, "acks=1 turns implicit idempotence off");
        assert!(producer(&[("acks", "1"), ("enable.idempotence", "true")]).is_err());
        assert!(producer(&[("transactional.id", "t"), ("enable.idempotence", "false")]).is_err());
    }

    #[test]
    fn bootstrap_required_and_checked() {
        assert!(ProducerConfig::from_properties(Vec::<(String, String)>::new()).is_err());
        let e = ProducerConfig::from_properties([("bootstrap.servers", "localhost")]).unwrap_err();
        assert!(e.message().contains("missing port"), "{e}");
        assert_eq!(parse_host_port("[::1]:9092").unwrap(), ("::1".to_string(), 9092));
    }

    #[test]
    fn sasl_from_jaas() {
        let c = producer(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            (
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"alice\" password=\"s3cret\";",
            ),
        ])
        .unwrap();
        let sasl = c.client.security.sasl.unwrap();
        assert_eq!(sasl.mechanism, SaslMechanism::ScramSha512);
        assert_eq!((sasl.username.as_str(), sasl.password.as_str()), ("alice", "s3cret"));
        assert!(producer(&[("security.protocol", "SASL_PLAINTEXT")]).is_err());
    }

    #[test]
    fn tls_verification_switches() {
        let c = producer(&[("security.protocol", "SSL")]).unwrap();
        let tls = &c.client.security.tls;
        assert!(tls.verify_certificates && tls.verify_hostname && tls.server_name.is_none());
        let c = producer(&[
            ("security.protocol", "SSL"),
            ("enable.ssl.certificate.verification", "false"),
            ("ssl.server.name", "kafka.internal"),
        ])
        .unwrap();
        let tls = &c.client.security.tls;
        assert!(!tls.verify_certificates);
        assert_eq!(tls.server_name.as_deref(), Some("kafka.internal"));
        assert!(producer(&[("enable.ssl.certificate.verification", "maybe")]).is_err());
    }

    #[test]
    fn consumer_parsing() {
        let c = ConsumerConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9092"),
            ("group.id", "g"),
            ("partition.assignment.strategy", "cooperative-sticky"),
            ("auto.offset.reset", "earliest"),
        ])
        .unwrap();
        assert_eq!(c.assignors, vec![AssignorKind::CooperativeSticky]);
        assert_eq!(c.auto_offset_reset, OffsetReset::Earliest);
        assert!(ConsumerConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9092"),
            ("acks", "all")
        ])
        .is_err());
    }
}
