//! One connection to one broker: framing, version negotiation, pipelining by correlation id.
//!
//! A [`Connection`] is set up in order (TCP, then TLS, then ApiVersions, then SASL) on a
//! [`Framed`] stream that sends one request at a time. Once ready, the stream is split: any number
//! of tasks call [`Connection::send`] concurrently; each request is written whole under a write
//! lock and its response is routed back by correlation id by one reader task. Responses are
//! decoded by the caller, not the reader, so the reader never stalls on a big response.

use crate::sync::MutexExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::instrumentation::{Event, EventKind, Instrumentation, RequestInfo};
use crate::stats::BrokerStats;
use crate::net::{sasl, tls};

/// Frames above this size are refused: they are garbage (e.g. a TLS alert read as plaintext).
pub(crate) const MAX_FRAME: usize = 512 * 1024 * 1024;

pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// The highest version of each API the broker supports, as ApiVersions reported it.
#[derive(Clone, Debug, Default)]
pub struct ApiVersions {
    ranges: HashMap<i16, (i16, i16)>,
}

impl ApiVersions {
    /// The version to use for request `R`: the highest both sides support.
    pub fn version_for<R: Request>(&self) -> Result<i16> {
        self.pick(R::KEY, R::VERSIONS.min, R::VERSIONS.max)
    }

    /// The highest version of `key` within `[min, max]` that the broker supports.
    pub fn pick(&self, key: i16, min: i16, max: i16) -> Result<i16> {
        let name = ApiKey::try_from(key).map(|k| format!("{k:?}")).unwrap_or(key.to_string());
        let (bmin, bmax) = *self.ranges.get(&key).ok_or_else(|| {
            Error::broker(crate::error::UNSUPPORTED_VERSION, format!("the broker does not support the {name} API"))
        })?;
        let v = bmax.min(max);
        if v < bmin.max(min) {
            return Err(Error::broker(
                crate::error::UNSUPPORTED_VERSION,
                format!("no common version of {name}: broker {bmin}..={bmax}, client {min}..={max}"),
            ));
        }
        Ok(v)
    }

    /// Every API the broker offers: (api key, min version, max version), sorted by key.
    pub fn offered(&self) -> Vec<(i16, i16, i16)> {
        let mut all: Vec<_> = self.ranges.iter().map(|(&k, &(lo, hi))| (k, lo, hi)).collect();
        all.sort_unstable();
        all
    }

    pub fn supports(&self, key: ApiKey) -> bool {
        self.ranges.contains_key(&(key as i16))
    }
}

fn encode_request<R: Request>(
    buf: &mut BytesMut,
    req: &R,
    version: i16,
    correlation_id: i32,
    client_id: &StrBytes,
) -> Result<()> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(client_id.clone()));
    let header_version = R::header_version(version);
    let start = buf.len();
    buf.put_i32(0);
    header
        .encode(buf, header_version)
        .and_then(|_| req.encode(buf, version))
        .map_err(|e| Error::new(ErrorKind::Serialization, format!("encoding {}: {e}", api_name(R::KEY))))?;
    let size = (buf.len() - start - 4) as i32;
    buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

pub(crate) fn decode_response<R: Request>(mut frame: Bytes, version: i16) -> Result<R::Response> {
    let header_version = <R::Response as kafka_protocol::protocol::HeaderVersion>::header_version(version);
    ResponseHeader::decode(&mut frame, header_version)
        .and_then(|_| R::Response::decode(&mut frame, version))
        .map_err(|e| Error::protocol(format!("decoding {} v{version} response: {e}", api_name(R::KEY))))
}

pub(crate) fn api_name(key: i16) -> String {
    ApiKey::try_from(key).map(|k| format!("{k:?}")).unwrap_or_else(|_| format!("api {key}"))
}

async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Bytes> {
    let size = stream.read_i32().await?;
    if size < 4 || size as usize > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("invalid response frame size {size}: is security.protocol right for this listener?"),
        ));
    }
    let mut buf = BytesMut::zeroed(size as usize);
    stream.read_exact(&mut buf).await?;
    Ok(buf.freeze())
}

/// A stream that sends one request and waits for its response: used while a connection is set
/// up (ApiVersions, SASL), before pipelining starts.
pub(crate) struct Framed {
    stream: Box<dyn Stream>,
    correlation_id: i32,
    client_id: StrBytes,
    timeout: Duration,
    pub(crate) versions: ApiVersions,
    probe: Option<Arc<Probe>>,
}

impl Framed {
    pub(crate) async fn request<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response> {
        self.correlation_id += 1;
        let mut buf = BytesMut::new();
        encode_request(&mut buf, req, version, self.correlation_id, &self.client_id)?;
        let timing = self.probe.as_ref().and_then(|p| p.timing(R::KEY, version, self.correlation_id));
        let fut = async {
            self.stream.write_all(&buf).await?;
            self.stream.flush().await?;
            read_frame(&mut self.stream).await
        };
        let frame = match tokio::time::timeout(self.timeout, fut).await {
            Ok(frame) => frame?,
            Err(_) => {
                if let (Some(p), Some(t)) = (&self.probe, timing) {
                    p.timed_out(t);
                }
                return Err(Error::timeout(format!("{} request timed out", api_name(R::KEY))));
            }
        };
        check_correlation(&frame, self.correlation_id)?;
        if let (Some(p), Some(t)) = (&self.probe, timing) {
            p.answered(t, frame.len());
        }
        decode_response::<R>(frame, version)
    }

}

fn check_correlation(frame: &Bytes, expected: i32) -> Result<()> {
    let got = (&frame[..]).get_i32();
    if got != expected {
        return Err(Error::protocol(format!(
            "response correlation id {got} does not match request {expected}"
        )));
    }
    Ok(())
}

/// A request waiting for its response: where the response goes, and (when request events are
/// wanted) what the events need.
struct Waiter {
    tx: oneshot::Sender<Result<Bytes>>,
    timing: Option<Timing>,
    /// When the request was written, for the broker's round-trip statistics.
    written: Instant,
}

/// A request's identity and times, kept for its event.
#[derive(Clone, Copy)]
struct Timing {
    correlation_id: i32,
    api_key: i16,
    api_version: i16,
    created_at: SystemTime,
    created: Instant,
    sent: Instant,
}

/// A connection's link to its client's [`Instrumentation`], with the names its events carry.
struct Probe {
    sink: Instrumentation,
    broker: Arc<str>,
    client_id: Arc<str>,
}

impl Probe {
    fn new(config: &ClientConfig, addr: &str) -> Option<Arc<Probe>> {
        let sink = config.instrumentation.clone()?;
        Some(Arc::new(Probe { sink, broker: addr.into(), client_id: config.client_id.as_str().into() }))
    }

    /// Starts timing a request about to be written, when request events are wanted.
    fn timing(&self, api_key: i16, api_version: i16, correlation_id: i32) -> Option<Timing> {
        if !self.sink.wants(EventKind::Request) && !self.sink.wants(EventKind::RequestTimeout) {
            return None;
        }
        let now = Instant::now();
        Some(Timing { correlation_id, api_key, api_version, created_at: SystemTime::now(), created: now, sent: now })
    }

    fn info(&self, t: Timing, size: usize) -> RequestInfo {
        let pending_duration = t.sent.saturating_duration_since(t.created);
        RequestInfo {
            broker: self.broker.clone(),
            client_id: self.client_id.clone(),
            correlation_id: t.correlation_id,
            api_key: t.api_key,
            api_version: t.api_version,
            size,
            created_at: t.created_at,
            sent_at: t.created_at + pending_duration,
            pending_duration,
            duration: t.sent.elapsed(),
        }
    }

    /// The response (`size` bytes) of a timed request arrived.
    fn answered(&self, t: Timing, size: usize) {
        if self.sink.wants(EventKind::Request) {
            self.sink.emit(Event::Request(self.info(t, size)));
        }
    }

    fn timed_out(&self, t: Timing) {
        if self.sink.wants(EventKind::RequestTimeout) {
            self.sink.emit(Event::RequestTimeout(self.info(t, 0)));
        }
    }

    fn queue_size(&self, queue_size: usize) {
        crate::instrumentation::report(Some(&self.sink), EventKind::RequestQueueSize, || Event::RequestQueueSize {
            broker: self.broker.clone(),
            client_id: self.client_id.clone(),
            queue_size,
        });
    }
}

/// A request counted among those waiting to be written, until dropped (also when the waiting
/// caller gives up).
struct Queued<'a> {
    conn: &'a Connection,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let n = self.conn.queued.fetch_sub(1, Ordering::AcqRel) - 1;
        self.conn.stats.outbuf_cnt.fetch_sub(1, Ordering::Relaxed);
        if let Some(p) = &self.conn.probe {
            p.queue_size(n);
        }
    }
}

/// A request written to a connection, its response not yet read.
pub struct InFlight<R: Request> {
    correlation_id: i32,
    version: i16,
    rx: oneshot::Receiver<Result<Bytes>>,
    _request: std::marker::PhantomData<fn() -> R>,
}

impl<R: Request> InFlight<R> {
    /// Waits at most `timeout` for the response from `conn` (the connection it was written to).
    pub async fn wait(self, conn: &Connection, timeout: Duration) -> Result<R::Response> {
        match tokio::time::timeout(timeout, self.rx).await {
            Ok(Ok(Ok(frame))) => decode_response::<R>(frame, self.version),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Err(_)) => Err(Error::connection(format!("connection to {} closed", conn.addr))),
            Err(_) => {
                // As the Java client: a request that timed out poisons the connection.
                let err = Error::timeout(format!(
                    "{} request to {} (node {}) timed out after {timeout:?}",
                    api_name(R::KEY),
                    conn.addr,
                    conn.node_id
                ));
                let waiter = conn.pending.locked().waiters.remove(&self.correlation_id);
                conn.stats.req_timeouts.fetch_add(1, Ordering::Relaxed);
                if waiter.is_some() {
                    conn.stats.waitresp_cnt.fetch_sub(1, Ordering::Relaxed);
                }
                if let (Some(p), Some(t)) = (&conn.probe, waiter.and_then(|w| w.timing)) {
                    p.timed_out(t);
                }
                conn.fail(Error::connection(format!("connection to {} closed after a request timeout", conn.addr)));
                Err(err)
            }
        }
    }
}

struct Pending {
    waiters: HashMap<i32, Waiter>,
    /// Set once the connection broke; every later send fails with it.
    broken: Option<Error>,
    stats: Arc<BrokerStats>,
}

/// A ready connection to one broker. Cheap to share (`Arc`); dropped connections close.
pub struct Connection {
    addr: String,
    node_id: i32,
    versions: ApiVersions,
    writer: tokio::sync::Mutex<Box<dyn AsyncWrite + Send + Unpin>>,
    pending: Arc<Mutex<Pending>>,
    correlation: AtomicI32,
    client_id: StrBytes,
    request_timeout: Duration,
    /// The task routing responses; taken by `shutdown`.
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The broker asked for a pause (throttle_time_ms, KIP-219): no request goes out before.
    throttled_until: Mutex<Option<tokio::time::Instant>>,
    /// Requests waiting to be written: for a throttle to end, or for their turn.
    queued: AtomicUsize,
    probe: Option<Arc<Probe>>,
    stats: Arc<BrokerStats>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.get_mut().unwrap_or_else(|p| p.into_inner()).take() {
            reader.abort();
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection({} node {})", self.addr, self.node_id)
    }
}

/// Shared, prepared security state: built once per client, used by every connection.
#[derive(Clone)]
pub struct Security {
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    /// `ssl.server.name`: the TLS name of every broker, instead of its host.
    pub(crate) server_name: Option<String>,
}

impl Security {
    pub fn new(config: &ClientConfig) -> Result<Self> {
        let tls = if config.security.protocol.uses_tls() {
            Some(tls::client_config(&config.security.tls)?)
        } else {
            None
        };
        Ok(Security { tls, server_name: config.security.tls.server_name.clone() })
    }
}

impl Connection {
    /// Connects to `addr` (`host:port`) and makes the connection ready: TLS, ApiVersions, SASL.
    /// Its statistics are its own; a client's connections use [`connect_counted`](Self::connect_counted).
    pub async fn connect(addr: &str, node_id: i32, config: &ClientConfig, security: &Security) -> Result<Arc<Connection>> {
        let stats = crate::stats::Stats::new(&config.client_id, Duration::ZERO).broker(addr, node_id);
        Connection::connect_counted(addr, node_id, config, security, stats).await
    }

    /// [`connect`](Self::connect), counting into `stats` (the client's, for this broker).
    pub async fn connect_counted(
        addr: &str,
        node_id: i32,
        config: &ClientConfig,
        security: &Security,
        stats: Arc<BrokerStats>,
    ) -> Result<Arc<Connection>> {
        let (host, port) = crate::config::parse_host_port(addr).map_err(Error::invalid)?;
        stats.connecting();
        let started = std::time::Instant::now();
        let setup = async {
            let tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| Error::connection(format!("connecting to {addr}: {e}")))?;
            let _ = tcp.set_nodelay(true);
            let stream: Box<dyn Stream> = match &security.tls {
                Some(tls_config) => Box::new(tls::handshake(tcp, security.server_name.as_deref().unwrap_or(&host), tls_config.clone()).await.map_err(|e| e.context(format!("TLS with {addr}")))?),
                None => Box::new(tcp),
            };
            let mut framed = Framed {
                stream,
                correlation_id: 0,
                client_id: StrBytes::from_string(config.client_id.clone()),
                timeout: config.request_timeout,
                versions: ApiVersions::default(),
                probe: Probe::new(config, addr),
            };
            framed.versions = negotiate_versions(&mut framed).await.map_err(|e| e.context(format!("ApiVersions with {addr}")))?;
            if let Some(sasl) = &config.security.sasl {
                sasl::authenticate(&mut framed, sasl).await.map_err(|e| e.context(format!("SASL {} with {addr}", sasl.mechanism.name())))?;
            }
            Ok::<_, Error>(framed)
        };
        let framed = tokio::time::timeout(config.connection_setup_timeout, setup)
            .await
            .map_err(|_| Error::timeout(format!("connection setup to {addr} timed out after {:?}", config.connection_setup_timeout)))??;
        stats.connected();
        stats.connect_us.record(started.elapsed().as_micros() as u64);
        Ok(Connection::ready(addr.to_string(), node_id, framed, config.request_timeout, stats))
    }

    fn ready(addr: String, node_id: i32, framed: Framed, request_timeout: Duration, stats: Arc<BrokerStats>) -> Arc<Connection> {
        let (read, write) = tokio::io::split(framed.stream);
        let pending = Arc::new(Mutex::new(Pending { waiters: HashMap::new(), broken: None, stats: stats.clone() }));
        let reader = tokio::spawn(read_loop(read, pending.clone(), addr.clone(), framed.probe.clone()));
        Arc::new(Connection {
            addr,
            node_id,
            versions: framed.versions,
            writer: tokio::sync::Mutex::new(Box::new(write)),
            pending,
            correlation: AtomicI32::new(framed.correlation_id + 1),
            client_id: framed.client_id,
            request_timeout,
            reader: Mutex::new(Some(reader)),
            throttled_until: Mutex::new(None),
            queued: AtomicUsize::new(0),
            probe: framed.probe,
            stats,
        })
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Closes the connection for good: requests still waiting fail, and the reader task has
    /// ended (not merely been told to) when this returns, so nothing of it outlives the client.
    pub(crate) async fn shutdown(&self) {
        let reader = self.reader.locked().take();
        if let Some(reader) = reader {
            reader.abort();
            let _ = reader.await;
        }
        fail_all(&self.pending, Error::connection(format!("connection to {} closed by the client", self.addr)));
    }
    pub fn node_id(&self) -> i32 {
        self.node_id
    }
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
    pub fn versions(&self) -> &ApiVersions {
        &self.versions
    }
    /// True once the connection broke; a new one must be made.
    pub fn is_broken(&self) -> bool {
        self.pending.locked().broken.is_some()
    }

    /// Sends `req` at the highest common version and waits for its response.
    pub async fn send<R: Request>(&self, req: &R) -> Result<R::Response> {
        let version = self.versions.version_for::<R>()?;
        self.send_version(req, version, self.request_timeout).await
    }

    /// Sends `req` at `version`, waiting at most `timeout` for the response (long polls such as
    /// Fetch or JoinGroup pass their own).
    pub async fn send_version<R: Request>(&self, req: &R, version: i16, timeout: Duration) -> Result<R::Response> {
        self.start(req, version).await?.wait(self, timeout).await
    }

    /// Writes `req` and returns without waiting for the response: requests written in turn by
    /// one task reach the broker in that order (the producer relies on it for sequence order).
    pub async fn start<R: Request>(&self, req: &R, version: i16) -> Result<InFlight<R>> {
        let (correlation_id, rx) = self.write(req, version, true).await?;
        Ok(InFlight {
            correlation_id,
            version,
            rx: rx.expect("a waiter was registered"),
            _request: std::marker::PhantomData,
        })
    }

    /// Sends a request whose response the broker will not send (Produce with acks=0).
    pub async fn send_no_response<R: Request>(&self, req: &R, version: i16) -> Result<()> {
        self.write(req, version, false).await.map(|_| ())
    }

    /// Honours a response's `throttle_time_ms`: requests to this broker wait that long
    /// (KIP-219, the client backs off instead of the broker muting the connection).
    pub fn throttle(&self, throttle_time_ms: i32) {
        self.stats.throttle.record(throttle_time_ms.max(0) as u64);
        if throttle_time_ms <= 0 {
            return;
        }
        let until = tokio::time::Instant::now() + Duration::from_millis(throttle_time_ms as u64);
        let mut t = self.throttled_until.locked();
        if t.map_or(true, |old| old < until) {
            tracing::debug!(node = self.node_id, throttle_time_ms, "throttled by the broker");
            *t = Some(until);
        }
    }

    /// Counts one more request waiting to be written.
    fn enqueue(&self) -> Queued<'_> {
        let n = self.queued.fetch_add(1, Ordering::AcqRel) + 1;
        self.stats.outbuf_cnt.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = &self.probe {
            p.queue_size(n);
        }
        Queued { conn: self }
    }

    async fn write<R: Request>(
        &self,
        req: &R,
        version: i16,
        expect_response: bool,
    ) -> Result<(i32, Option<oneshot::Receiver<Result<Bytes>>>)> {
        let correlation_id = self.correlation.fetch_add(1, Ordering::Relaxed);
        let mut timing = self.probe.as_ref().and_then(|p| p.timing(R::KEY, version, correlation_id));
        let mut queued = None;
        let throttled = *self.throttled_until.locked();
        if let Some(until) = throttled {
            if until > tokio::time::Instant::now() {
                queued = Some(self.enqueue());
                tokio::time::sleep_until(until).await;
            }
        }
        let mut buf = BytesMut::with_capacity(req.compute_size(version).unwrap_or(64) + 64);
        encode_request(&mut buf, req, version, correlation_id, &self.client_id)?;
        let mut writer = match self.writer.try_lock() {
            Ok(w) => w,
            Err(_) => {
                queued.get_or_insert_with(|| self.enqueue());
                self.writer.lock().await
            }
        };
        drop(queued);
        if let Some(t) = &mut timing {
            t.sent = Instant::now();
        }
        // Registered once it is this request's turn to be written, so its timing starts then;
        // no response can come before the write.
        let rx = {
            let mut pending = self.pending.locked();
            if let Some(e) = &pending.broken {
                return Err(e.clone());
            }
            expect_response.then(|| {
                let (tx, rx) = oneshot::channel();
                pending.waiters.insert(correlation_id, Waiter { tx, timing, written: Instant::now() });
                self.stats.waitresp_cnt.fetch_add(1, Ordering::Relaxed);
                rx
            })
        };
        let res = async {
            writer.write_all(&buf).await?;
            writer.flush().await
        }
        .await;
        drop(writer);
        if let Err(e) = res {
            self.stats.tx_errs.fetch_add(1, Ordering::Relaxed);
            let err = Error::connection(format!("writing to {}: {e}", self.addr));
            self.fail(err.clone());
            return Err(err);
        }
        self.stats.sent(buf.len());
        if !expect_response {
            // As kafkajs: a request without a response is complete once written, size 0.
            if let (Some(p), Some(t)) = (&self.probe, timing) {
                p.answered(t, 0);
            }
        }
        Ok((correlation_id, rx))
    }

    fn fail(&self, err: Error) {
        fail_all(&self.pending, err);
    }
}

fn fail_all(pending: &Mutex<Pending>, err: Error) {
    let waiters = {
        let mut p = pending.locked();
        if p.broken.is_none() {
            p.broken = Some(err.clone());
            p.stats.disconnected();
        }
        p.stats.waitresp_cnt.fetch_sub(p.waiters.len() as i64, Ordering::Relaxed);
        std::mem::take(&mut p.waiters)
    };
    for (_, w) in waiters {
        let _ = w.tx.send(Err(err.clone()));
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut read: R, pending: Arc<Mutex<Pending>>, addr: String, probe: Option<Arc<Probe>>) {
    loop {
        match read_frame(&mut read).await {
            Ok(frame) => {
                let correlation_id = (&frame[..]).get_i32();
                let (waiter, stats) = {
                    let mut p = pending.locked();
                    (p.waiters.remove(&correlation_id), p.stats.clone())
                };
                if let Some(w) = waiter {
                    stats.waitresp_cnt.fetch_sub(1, Ordering::Relaxed);
                    stats.received(frame.len() + 4, w.written.elapsed().as_micros() as u64);
                    if let (Some(p), Some(t)) = (&probe, w.timing) {
                        p.answered(t, frame.len());
                    }
                    let _ = w.tx.send(Ok(frame));
                }
                // A response nobody waits for belongs to a request that timed out: dropped.
            }
            Err(e) => {
                let msg = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    format!("connection to {addr} closed by the broker")
                } else {
                    format!("reading from {addr}: {e}")
                };
                fail_all(&pending, Error::connection(msg));
                return;
            }
        }
    }
}

/// ApiVersions: v3 first (KIP-511); a broker that does not know it answers v0 with its range.
async fn negotiate_versions(framed: &mut Framed) -> Result<ApiVersions> {
    let req = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("polykafka"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    let mut resp: ApiVersionsResponse = framed.request(&req, 3).await?;
    if resp.error_code == crate::error::UNSUPPORTED_VERSION {
        resp = framed.request(&req, 0).await?;
    }
    Error::check(resp.error_code, "ApiVersions")?;
    let ranges = resp
        .api_keys
        .iter()
        .map(|k| (k.api_key, (k.min_version, k.max_version)))
        .collect();
    Ok(ApiVersions { ranges })
}
