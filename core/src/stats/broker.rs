//! Per-broker statistics, kept by the broker's connections with relaxed atomics.

use super::histogram::Histogram;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::Instant;

const INIT: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// One broker as the client sees it (all its connections together).
pub struct BrokerStats {
    pub(crate) name: String,
    pub(crate) node_id: i32,
    started: Instant,
    state: AtomicU8,
    /// Microseconds after `started` when the state last changed.
    state_at: AtomicU64,
    pub(crate) connects: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) tx: AtomicU64,
    pub(crate) tx_bytes: AtomicU64,
    pub(crate) tx_errs: AtomicU64,
    pub(crate) rx: AtomicU64,
    pub(crate) rx_bytes: AtomicU64,
    pub(crate) req_timeouts: AtomicU64,
    /// Requests waiting to be written.
    pub(crate) outbuf_cnt: AtomicI64,
    /// Requests written, their response not yet read.
    pub(crate) waitresp_cnt: AtomicI64,
    /// Request round trips, microseconds.
    pub(crate) rtt: Histogram,
    /// Broker throttle times, milliseconds.
    pub(crate) throttle: Histogram,
    /// Connection set-up times (TCP, TLS, ApiVersions, SASL), microseconds, since the last take.
    pub(crate) connect_us: super::Window,
}

impl BrokerStats {
    pub(crate) fn new(name: String, node_id: i32, started: Instant) -> Self {
        let z = || AtomicU64::new(0);
        BrokerStats {
            name,
            node_id,
            started,
            state: AtomicU8::new(INIT),
            state_at: z(),
            connects: z(),
            disconnects: z(),
            tx: z(),
            tx_bytes: z(),
            tx_errs: z(),
            rx: z(),
            rx_bytes: z(),
            req_timeouts: z(),
            outbuf_cnt: AtomicI64::new(0),
            waitresp_cnt: AtomicI64::new(0),
            rtt: Histogram::default(),
            throttle: Histogram::default(),
            connect_us: super::Window::default(),
        }
    }

    fn set_state(&self, s: u8) {
        self.state.store(s, Relaxed);
        self.state_at.store(self.started.elapsed().as_micros() as u64, Relaxed);
    }

    /// A connection attempt starts (librdkafka counts attempts, failed ones included).
    pub(crate) fn connecting(&self) {
        self.connects.fetch_add(1, Relaxed);
    }
    pub(crate) fn connected(&self) {
        self.set_state(UP);
    }
    /// A connection broke or was closed.
    pub(crate) fn disconnected(&self) {
        self.disconnects.fetch_add(1, Relaxed);
        self.set_state(DOWN);
    }
    pub(crate) fn sent(&self, bytes: usize) {
        self.tx.fetch_add(1, Relaxed);
        self.tx_bytes.fetch_add(bytes as u64, Relaxed);
    }
    pub(crate) fn received(&self, bytes: usize, rtt_us: u64) {
        self.rx.fetch_add(1, Relaxed);
        self.rx_bytes.fetch_add(bytes as u64, Relaxed);
        self.rtt.record(rtt_us);
    }

    /// librdkafka's `brokers.<name>` object, for every field kept here.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let state = match self.state.load(Relaxed) {
            UP => "UP",
            DOWN => "DOWN",
            _ => "INIT",
        };
        let now = self.started.elapsed().as_micros() as u64;
        let (host, port) = crate::config::parse_host_port(self.name.rsplit_once('/').map_or(&self.name, |(a, _)| a))
            .unwrap_or_default();
        let l = |a: &AtomicU64| a.load(Relaxed);
        serde_json::json!({
            "name": self.name,
            "nodeid": self.node_id,
            "nodename": format!("{host}:{port}"),
            "source": if self.node_id < 0 { "configured" } else { "learned" },
            "state": state,
            "stateage": now.saturating_sub(l(&self.state_at)),
            "outbuf_cnt": self.outbuf_cnt.load(Relaxed).max(0),
            "waitresp_cnt": self.waitresp_cnt.load(Relaxed).max(0),
            "tx": l(&self.tx),
            "txbytes": l(&self.tx_bytes),
            "txerrs": l(&self.tx_errs),
            "req_timeouts": l(&self.req_timeouts),
            "rx": l(&self.rx),
            "rxbytes": l(&self.rx_bytes),
            "connects": l(&self.connects),
            "disconnects": l(&self.disconnects),
            "rtt": self.rtt.summary().to_json(),
            "throttle": self.throttle.summary().to_json(),
        })
    }
}
