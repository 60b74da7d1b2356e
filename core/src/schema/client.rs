//! The schema registry client: Confluent's REST API over HTTP(S) with the engine's TLS
//! (rustls with ring), basic auth or a bearer token, several URLs, a timeout per request and
//! retries of 5xx answers and connection errors with exponential backoff.
//!
//! Caches: id -> schema and (subject, schema, normalize) -> registered schema never expire
//! (an id never changes its schema); the latest version of a subject is kept for
//! `cache.latest.ttl.sec` (forever when unset, as confluent-kafka). Concurrent misses of one
//! key make one request: they wait on the same `OnceCell`; a failure is not cached.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::error::{SchemaError, SchemaResult};
use crate::config::TlsConfig;

/// The kind of a schema (`schemaType`; absent means AVRO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SchemaType {
    #[default]
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
    pub fn parse(s: &str) -> SchemaResult<SchemaType> {
        match s.to_ascii_uppercase().as_str() {
            "AVRO" => Ok(SchemaType::Avro),
            "JSON" => Ok(SchemaType::Json),
            "PROTOBUF" => Ok(SchemaType::Protobuf),
            other => Err(SchemaError::config(format!("unknown schema type '{other}' (AVRO, JSON or PROTOBUF)"))),
        }
    }
}

/// A reference from a schema to another registered one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: i32,
}

/// A schema: its text, type and references.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Schema {
    pub schema_str: String,
    pub schema_type: SchemaType,
    pub references: Vec<SchemaReference>,
}

impl Schema {
    pub fn new(schema_str: impl Into<String>, schema_type: SchemaType) -> Schema {
        Schema { schema_str: schema_str.into(), schema_type, references: Vec::new() }
    }
}

/// A schema as registered under a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredSchema {
    pub id: i32,
    pub subject: String,
    pub version: i32,
    pub schema: Schema,
}

/// The client's settings, from confluent-kafka's configuration keys.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `url`: one or more base URLs, comma-separated; tried in turn on failures.
    pub urls: Vec<String>,
    /// `basic.auth.user.info` (`user:password`).
    pub basic_auth: Option<(String, String)>,
    /// `bearer.auth.token`.
    pub bearer_token: Option<String>,
    /// `timeout` (seconds in confluent-kafka): per request.
    pub timeout: Duration,
    /// `max.retries` (3), `retries.wait.ms` (1000), `retries.max.wait.ms` (20000).
    pub max_retries: u32,
    pub retries_wait: Duration,
    pub retries_max_wait: Duration,
    /// `cache.latest.ttl.sec`: how long a latest version is cached (None: forever).
    pub latest_ttl: Option<Duration>,
    /// `ssl.ca.location`, `ssl.certificate.location`, `ssl.key.location`.
    pub tls: TlsConfig,
}

fn default_tls() -> TlsConfig {
    TlsConfig {
        ca_location: None,
        ca_pem: None,
        certificate_location: None,
        certificate_pem: None,
        key_location: None,
        key_pem: None,
        verify_hostname: true,
        verify_certificates: true,
        server_name: None,
    }
}

impl RegistryConfig {
    /// A configuration for one URL with every other setting at its default.
    pub fn new(url: impl Into<String>) -> RegistryConfig {
        RegistryConfig {
            urls: vec![url.into()],
            basic_auth: None,
            bearer_token: None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            retries_wait: Duration::from_millis(1000),
            retries_max_wait: Duration::from_millis(20000),
            latest_ttl: None,
            tls: default_tls(),
        }
    }

    /// Parses confluent-kafka's `SchemaRegistryClient` configuration. An unknown key or a bad
    /// value is a config error naming the key.
    pub fn from_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> SchemaResult<RegistryConfig> {
        let mut cfg = RegistryConfig::new("");
        cfg.urls.clear();
        let mut auth_source: Option<String> = None;
        let mut bearer_source: Option<String> = None;
        let mut unknown = Vec::new();
        let number = |key: &str, value: &str| -> SchemaResult<f64> {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0 && v.is_finite())
                .ok_or_else(|| SchemaError::config(format!("invalid value '{value}' for {key}: a non-negative number is expected")))
        };
        for (key, value) in props {
            match key {
                "url" => {
                    cfg.urls = value.split(',').map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty()).collect();
                }
                "basic.auth.user.info" => {
                    let (user, password) = value.split_once(':').ok_or_else(|| {
                        SchemaError::config("basic.auth.user.info must be of the form 'user:password'")
                    })?;
                    cfg.basic_auth = Some((user.to_string(), password.to_string()));
                }
                "basic.auth.credentials.source" => auth_source = Some(value.to_ascii_uppercase()),
                "bearer.auth.credentials.source" => bearer_source = Some(value.to_ascii_uppercase()),
                "bearer.auth.token" => cfg.bearer_token = Some(value.to_string()),
                "timeout" => cfg.timeout = Duration::from_secs_f64(number(key, value)?),
                "max.retries" => cfg.max_retries = number(key, value)? as u32,
                "retries.wait.ms" => cfg.retries_wait = Duration::from_millis(number(key, value)? as u64),
                "retries.max.wait.ms" => cfg.retries_max_wait = Duration::from_millis(number(key, value)? as u64),
                "cache.latest.ttl.sec" => cfg.latest_ttl = Some(Duration::from_secs_f64(number(key, value)?)),
                // the caches here never evict what a serde still uses; the key is accepted as
                // confluent-kafka's (its LRU bound), checked but not needed
                "cache.capacity" => {
                    number(key, value)?;
                }
                "ssl.ca.location" => cfg.tls.ca_location = Some(value.to_string()),
                "ssl.certificate.location" => cfg.tls.certificate_location = Some(value.to_string()),
                "ssl.key.location" => cfg.tls.key_location = Some(value.to_string()),
                other => unknown.push(other.to_string()),
            }
        }
        if !unknown.is_empty() {
            unknown.sort();
            return Err(SchemaError::config(format!("Unrecognized properties: {}", unknown.join(", "))));
        }
        if cfg.urls.is_empty() {
            return Err(SchemaError::config("Missing required configuration property url"));
        }
        for url in &cfg.urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SchemaError::config(format!("Invalid url {}: it must start with http:// or https://", redacted(url))));
            }
        }
        match auth_source.as_deref() {
            None | Some("USER_INFO") => {}
            Some("URL") | Some("SASL_INHERIT") | Some(_) => {
                return Err(SchemaError::config(format!(
                    "basic.auth.credentials.source {} is not supported (USER_INFO is)",
                    auth_source.unwrap_or_default()
                )))
            }
        }
        if auth_source.is_some() && cfg.basic_auth.is_none() {
            return Err(SchemaError::config("basic.auth.credentials.source USER_INFO needs basic.auth.user.info"));
        }
        match bearer_source.as_deref() {
            None => {}
            Some("STATIC_TOKEN") if cfg.bearer_token.is_none() => {
                return Err(SchemaError::config("bearer.auth.credentials.source STATIC_TOKEN needs bearer.auth.token"));
            }
            Some("STATIC_TOKEN") => {}
            Some(other) => {
                return Err(SchemaError::config(format!("bearer.auth.credentials.source {other} is not supported (STATIC_TOKEN is)")))
            }
        }
        if cfg.bearer_token.is_some() && cfg.basic_auth.is_some() {
            return Err(SchemaError::config("basic.auth.user.info and bearer.auth.token cannot both be set"));
        }
        Ok(cfg)
    }
}

/// A map whose misses are filled once even when many callers miss at the same time.
struct CoalescingCache<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> CoalescingCache<K, V> {
    fn new() -> Self {
        CoalescingCache { cells: Mutex::new(HashMap::new()) }
    }
    fn cell(&self, key: &K) -> Arc<OnceCell<V>> {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.entry(key.clone()).or_default().clone()
    }
    fn peek(&self, key: &K) -> Option<V> {
        let cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.get(key).and_then(|c| c.get().cloned())
    }
    async fn get_or_fetch<F, Fut>(&self, key: &K, fetch: F) -> SchemaResult<V>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = SchemaResult<V>>,
    {
        let cell = self.cell(key);
        cell.get_or_try_init(fetch).await.cloned()
    }
    fn put(&self, key: K, value: V) {
        let cell = self.cell(&key);
        let _ = cell.set(value);
    }
    fn remove_where(&self, pred: impl Fn(&K) -> bool) {
        let mut cells = self.cells.lock().unwrap_or_else(|p| p.into_inner());
        cells.retain(|k, _| !pred(k));
    }
}

#[derive(Deserialize)]
struct SchemaBody {
    schema: String,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<SchemaReference>,
}

#[derive(Deserialize)]
struct RegisteredBody {
    id: i32,
    subject: Option<String>,
    version: Option<i32>,
    schema: Option<String>,
    #[serde(rename = "schemaType")]
    schema_type: Option<String>,
    #[serde(default)]
    references: Vec<SchemaReference>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: Option<i32>,
    message: Option<String>,
}

fn schema_body(schema: &Schema) -> serde_json::Value {
    let mut body = serde_json::json!({ "schema": schema.schema_str });
    if schema.schema_type != SchemaType::Avro {
        body["schemaType"] = schema.schema_type.as_str().into();
    }
    if !schema.references.is_empty() {
        body["references"] = serde_json::to_value(&schema.references).unwrap_or_default();
    }
    body
}

fn encode_path(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The schema registry client. Cheap to share (`Arc`); every method is async and never creates
/// a runtime.
pub struct RegistryClient {
    config: RegistryConfig,
    http: reqwest::Client,
    auth_header: Option<String>,
    by_id: CoalescingCache<i32, Schema>,
    by_schema: CoalescingCache<(String, Schema, bool), RegisteredSchema>,
    registered: CoalescingCache<(String, Schema, bool), i32>,
    latest: Mutex<HashMap<String, (Instant, RegisteredSchema)>>,
    versions: CoalescingCache<(String, i32), RegisteredSchema>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient").field("urls", &self.config.urls).finish()
    }
}

impl RegistryClient {
    pub fn new(config: RegistryConfig) -> SchemaResult<RegistryClient> {
        let tls = crate::net::tls::client_config(&config.tls)
            .map_err(|e| SchemaError::config(format!("schema registry TLS settings: {}", e.message())))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .timeout(config.timeout)
            .no_proxy()
            .build()
            .map_err(|e| SchemaError::config(format!("cannot build the HTTP client: {e}")))?;
        let auth_header = if let Some((user, password)) = &config.basic_auth {
            Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))))
        } else {
            config.bearer_token.as_ref().map(|t| format!("Bearer {t}"))
        };
        Ok(RegistryClient {
            config,
            http,
            auth_header,
            by_id: CoalescingCache::new(),
            by_schema: CoalescingCache::new(),
            registered: CoalescingCache::new(),
            latest: Mutex::new(HashMap::new()),
            versions: CoalescingCache::new(),
        })
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.retries_wait.as_millis() as u64;
        let max = self.config.retries_max_wait.as_millis() as u64;
        let exp = base.saturating_mul(1u64 << attempt.min(20)).min(max.max(base));
        // full jitter, at least half of the exponential step
        let jitter = if exp > 1 { rand::random::<u64>() % (exp / 2 + 1) } else { 0 };
        Duration::from_millis(exp / 2 + jitter)
    }

    /// One request with retries: 5xx/429 answers and transport errors are retried on the next
    /// URL, up to `max.retries` times, with exponential backoff between rounds.
    async fn request(&self, method: reqwest::Method, path: &str, body: Option<&serde_json::Value>) -> SchemaResult<serde_json::Value> {
        let urls = &self.config.urls;
        let mut attempt: u32 = 0;
        loop {
            let base = &urls[attempt as usize % urls.len()];
            let target = format!("{base}{path}");
            // What errors show: the URL without its user info (a password may be there).
            let url = redacted(&target);
            let mut req = self
                .http
                .request(method.clone(), &target)
                .header("Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json");
            if let Some(auth) = &self.auth_header {
                req = req.header("Authorization", auth);
            }
            if let Some(body) = body {
                req = req
                    .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    .body(serde_json::to_vec(body).unwrap_or_default());
            }
            let err = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.map_err(|e| SchemaError::unreachable(format!("{method} {url}: reading the answer: {e}")));
                    match bytes {
                        Ok(bytes) if (200..300).contains(&status) => {
                            return serde_json::from_slice(&bytes).map_err(|e| {
                                SchemaError::registry(status, -1, format!("{method} {url}: the answer is not JSON: {e}"))
                            });
                        }
                        Ok(bytes) => {
                            let parsed: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
                            let (code, message) = match parsed {
                                Some(ErrorBody { error_code, message }) => (
                                    error_code.unwrap_or(-1),
                                    message.unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned()),
                                ),
                                None => (-1, String::from_utf8_lossy(&bytes).into_owned()),
                            };
                            SchemaError::registry(status, code, message)
                        }
                        Err(e) => e,
                    }
                }
                Err(e) => {
                    let what = if e.is_timeout() { "timed out" } else { "failed" };
                    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
                    let mut detail = e.to_string();
                    while let Some(s) = source {
                        detail = format!("{detail}: {s}");
                        source = s.source();
                    }
                    SchemaError::unreachable(format!("{method} {url} {what}: {detail}"))
                }
            };
            if !err.retriable() || attempt >= self.config.max_retries {
                return Err(err);
            }
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
    }

    fn parse_schema(body: serde_json::Value, what: &str) -> SchemaResult<Schema> {
        let b: SchemaBody = serde_json::from_value(body)
            .map_err(|e| SchemaError::registry(200, -1, format!("{what}: unexpected answer: {e}")))?;
        Ok(Schema {
            schema_str: b.schema,
            schema_type: SchemaType::parse(b.schema_type.as_deref().unwrap_or("AVRO"))?,
            references: b.references,
        })
    }

    fn parse_registered(body: serde_json::Value, subject: &str, fallback: Option<&Schema>, what: &str) -> SchemaResult<RegisteredSchema> {
        let b: RegisteredBody = serde_json::from_value(body)
            .map_err(|e| SchemaError::registry(200, -1, format!("{what}: unexpected answer: {e}")))?;
        let schema = match (b.schema, fallback) {
            (Some(text), _) => Schema {
                schema_str: text,
                schema_type: SchemaType::parse(b.schema_type.as_deref().unwrap_or("AVRO"))?,
                references: b.references,
            },
            (None, Some(s)) => s.clone(),
            (None, None) => return Err(SchemaError::registry(200, -1, format!("{what}: the answer has no schema"))),
        };
        Ok(RegisteredSchema { id: b.id, subject: b.subject.unwrap_or_else(|| subject.to_string()), version: b.version.unwrap_or(0), schema })
    }

    /// Registers `schema` under `subject` (POST /subjects/{subject}/versions) and returns its
    /// id; cached per (subject, schema, normalize).
    pub async fn register(&self, subject: &str, schema: &Schema, normalize: bool) -> SchemaResult<i32> {
        let key = (subject.to_string(), schema.clone(), normalize);
        self.registered
            .get_or_fetch(&key, || async {
                let path = format!("/subjects/{}/versions?normalize={normalize}", encode_path(subject));
                let body = self.request(reqwest::Method::POST, &path, Some(&schema_body(schema))).await?;
                let id = body
                    .get("id")
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| SchemaError::registry(200, -1, format!("register under {subject}: the answer has no id: {body}")))?;
                let id = id as i32;
                self.by_id.put(id, schema.clone());
                Ok(id)
            })
            .await
    }

    /// The registered schema matching `schema` under `subject` (POST /subjects/{subject}); cached.
    pub async fn lookup_schema(&self, subject: &str, schema: &Schema, normalize: bool) -> SchemaResult<RegisteredSchema> {
        let key = (subject.to_string(), schema.clone(), normalize);
        if let Some(id) = self.registered.peek(&key) {
            if let Some(r) = self.by_schema.peek(&key) {
                return Ok(r);
            }
            let _ = id;
        }
        self.by_schema
            .get_or_fetch(&key, || async {
                let path = format!("/subjects/{}?normalize={normalize}", encode_path(subject));
                let body = self.request(reqwest::Method::POST, &path, Some(&schema_body(schema))).await?;
                let r = Self::parse_registered(body, subject, Some(schema), "lookup schema")?;
                self.by_id.put(r.id, schema.clone());
                Ok(r)
            })
            .await
    }

    /// The schema with `id` (GET /schemas/ids/{id}); cached forever.
    pub async fn get_schema(&self, id: i32) -> SchemaResult<Schema> {
        self.by_id
            .get_or_fetch(&id, || async {
                let body = self.request(reqwest::Method::GET, &format!("/schemas/ids/{id}"), None).await?;
                Self::parse_schema(body, "get schema")
            })
            .await
    }

    /// The schema with GUID `guid` (GET /schemas/guids/{guid}), for the 0x01 framing.
    pub async fn get_schema_by_guid(&self, guid: &str) -> SchemaResult<Schema> {
        let body = self.request(reqwest::Method::GET, &format!("/schemas/guids/{}", encode_path(guid)), None).await?;
        Self::parse_schema(body, "get schema by guid")
    }

    /// The latest version under `subject`, cached for `cache.latest.ttl.sec` (forever when unset).
    pub async fn get_latest_version(&self, subject: &str) -> SchemaResult<RegisteredSchema> {
        {
            let latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, r)) = latest.get(subject) {
                if self.config.latest_ttl.is_none_or(|ttl| at.elapsed() < ttl) {
                    return Ok(r.clone());
                }
            }
        }
        let body = self.request(reqwest::Method::GET, &format!("/subjects/{}/versions/latest", encode_path(subject)), None).await?;
        let r = Self::parse_registered(body, subject, None, "get latest version")?;
        self.by_id.put(r.id, r.schema.clone());
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).insert(subject.to_string(), (Instant::now(), r.clone()));
        Ok(r)
    }

    /// Version `version` of `subject`; cached.
    pub async fn get_version(&self, subject: &str, version: i32) -> SchemaResult<RegisteredSchema> {
        let key = (subject.to_string(), version);
        self.versions
            .get_or_fetch(&key, || async {
                let body = self.request(reqwest::Method::GET, &format!("/subjects/{}/versions/{version}", encode_path(subject)), None).await?;
                let r = Self::parse_registered(body, subject, None, "get version")?;
                self.by_id.put(r.id, r.schema.clone());
                Ok(r)
            })
            .await
    }

    /// The version numbers registered under `subject`.
    pub async fn get_versions(&self, subject: &str) -> SchemaResult<Vec<i32>> {
        let body = self.request(reqwest::Method::GET, &format!("/subjects/{}/versions", encode_path(subject)), None).await?;
        serde_json::from_value(body).map_err(|e| SchemaError::registry(200, -1, format!("get versions: unexpected answer: {e}")))
    }

    /// Every subject.
    pub async fn get_subjects(&self) -> SchemaResult<Vec<String>> {
        let body = self.request(reqwest::Method::GET, "/subjects", None).await?;
        serde_json::from_value(body).map_err(|e| SchemaError::registry(200, -1, format!("get subjects: unexpected answer: {e}")))
    }

    fn forget_subject(&self, subject: &str) {
        self.registered.remove_where(|k| k.0 == subject);
        self.by_schema.remove_where(|k| k.0 == subject);
        self.versions.remove_where(|k| k.0 == subject);
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).remove(subject);
    }

    /// Deletes `subject` (soft, or hard with `permanent`); returns the deleted versions.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> SchemaResult<Vec<i32>> {
        let body = self
            .request(reqwest::Method::DELETE, &format!("/subjects/{}?permanent={permanent}", encode_path(subject)), None)
            .await?;
        self.forget_subject(subject);
        serde_json::from_value(body).map_err(|e| SchemaError::registry(200, -1, format!("delete subject: unexpected answer: {e}")))
    }

    /// Deletes one version of `subject`; returns its number.
    pub async fn delete_version(&self, subject: &str, version: i32, permanent: bool) -> SchemaResult<i32> {
        let body = self
            .request(
                reqwest::Method::DELETE,
                &format!("/subjects/{}/versions/{version}?permanent={permanent}", encode_path(subject)),
                None,
            )
            .await?;
        self.forget_subject(subject);
        serde_json::from_value(body).map_err(|e| SchemaError::registry(200, -1, format!("delete version: unexpected answer: {e}")))
    }

    /// Whether `schema` is compatible with `version` of `subject` (None: latest).
    pub async fn test_compatibility(&self, subject: &str, schema: &Schema, version: Option<i32>) -> SchemaResult<bool> {
        let v = version.map(|v| v.to_string()).unwrap_or_else(|| "latest".into());
        let body = self
            .request(
                reqwest::Method::POST,
                &format!("/compatibility/subjects/{}/versions/{v}", encode_path(subject)),
                Some(&schema_body(schema)),
            )
            .await?;
        body.get("is_compatible")
            .and_then(|v| v.as_bool())
            .ok_or_else(|| SchemaError::registry(200, -1, format!("test compatibility: unexpected answer: {body}")))
    }

    /// The compatibility level of `subject`, or the global one (None).
    pub async fn get_compatibility(&self, subject: Option<&str>) -> SchemaResult<String> {
        let path = match subject {
            Some(s) => format!("/config/{}", encode_path(s)),
            None => "/config".to_string(),
        };
        let body = self.request(reqwest::Method::GET, &path, None).await?;
        body.get("compatibilityLevel")
            .or_else(|| body.get("compatibility"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| SchemaError::registry(200, -1, format!("get compatibility: unexpected answer: {body}")))
    }

    /// Sets the compatibility level of `subject`, or the global one (None); returns it.
    pub async fn set_compatibility(&self, subject: Option<&str>, level: &str) -> SchemaResult<String> {
        let path = match subject {
            Some(s) => format!("/config/{}", encode_path(s)),
            None => "/config".to_string(),
        };
        let body = self
            .request(reqwest::Method::PUT, &path, Some(&serde_json::json!({ "compatibility": level.to_ascii_uppercase() })))
            .await?;
        Ok(body
            .get("compatibility")
            .or_else(|| body.get("compatibilityLevel"))
            .and_then(|v| v.as_str())
            .unwrap_or(level)
            .to_string())
    }
}

/// `url` as errors show it: the user info (`user:password@`) of an URL is replaced by `***@`.
fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let authority_end = url[scheme_end..].find(['/', '?', '#']).map_or(url.len(), |i| scheme_end + i);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &url[scheme_end + at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_no_user_info() {
        assert_eq!(redacted("http://alice:pw-1@registry:8081/subjects"), "http://***@registry:8081/subjects");
        assert_eq!(redacted("https://registry:8081/a@b"), "https://registry:8081/a@b");
        assert_eq!(redacted("not a url"), "not a url");
        let err = RegistryConfig::from_properties([("url", "ftp://alice:pw-1@registry")]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("ftp://***@registry") && !err.contains("pw-1"), "{err}");
    }
}
