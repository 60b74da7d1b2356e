//! Summaries of what happened since the last look: count, sum, min and max of the values recorded
//! since the last [`Window::take`], which starts the next window. kafka-go's `Stats()` reports
//! its durations and sizes this way (each call resets them); the cumulative histograms of the
//! statistics snapshot stay as they are.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Values recorded since the last take. Recording is four relaxed atomic operations; a value
/// recorded while a take runs may be counted in either window, never lost.
pub struct Window {
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for Window {
    fn default() -> Self {
        Window { count: AtomicU64::new(0), sum: AtomicU64::new(0), min: AtomicU64::new(u64::MAX), max: AtomicU64::new(0) }
    }
}

/// One window's values (all 0 when nothing was recorded).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WindowSummary {
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
}

impl Window {
    pub fn record(&self, v: u64) {
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.min.fetch_min(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    /// The values since the last take; the window starts again empty.
    pub fn take(&self) -> WindowSummary {
        let count = self.count.swap(0, Relaxed);
        let sum = self.sum.swap(0, Relaxed);
        let min = self.min.swap(u64::MAX, Relaxed);
        let max = self.max.swap(0, Relaxed);
        if count == 0 {
            return WindowSummary::default();
        }
        WindowSummary { count, sum, min: min.min(max), max }
    }
}

impl WindowSummary {
    /// Both windows as one (the connect times of several brokers).
    pub fn merge(self, o: WindowSummary) -> WindowSummary {
        match (self.count, o.count) {
            (0, _) => o,
            (_, 0) => self,
            _ => WindowSummary { count: self.count + o.count, sum: self.sum + o.sum, min: self.min.min(o.min), max: self.max.max(o.max) },
        }
    }

    pub fn to_json(self) -> Value {
        json!({ "count": self.count, "sum": self.sum, "min": self.min, "max": self.max })
    }
}

/// The client's windows, in the units their names say. Producer: a batch's wait from its first
/// record until it was ready to go (`batch_queue_us`) and until its request was written
/// (`batch_us`), its records and its size as written (compressed, with its header), each Produce request's round trip and the broker's
/// throttle time; `retries` counts batches sent again. Consumer: each Fetch request's wait for
/// its response, and per partition of a response the time to decode its records, their count and
/// bytes (keys and values). Connection set-up times are kept per broker
/// ([`BrokerStats`](super::BrokerStats)) and merged by [`Stats::take_windows`](super::Stats::take_windows).
#[derive(Default)]
pub struct Windows {
    pub batch_queue_us: Window,
    pub batch_us: Window,
    pub batch_msgs: Window,
    pub batch_bytes: Window,
    pub produce_us: Window,
    pub throttle_ms: Window,
    pub retries: AtomicU64,
    pub fetch_wait_us: Window,
    pub fetch_read_us: Window,
    pub fetch_msgs: Window,
    pub fetch_bytes: Window,
}

impl Windows {
    /// Every window taken, as JSON (`{"batch_us": {count, sum, min, max}, ..., "retries": n}`),
    /// with `connect_us` given by the caller.
    pub(crate) fn take_json(&self, connect_us: WindowSummary) -> Value {
        let w = |w: &Window| w.take().to_json();
        json!({
            "batch_queue_us": w(&self.batch_queue_us),
            "batch_us": w(&self.batch_us),
            "batch_msgs": w(&self.batch_msgs),
            "batch_bytes": w(&self.batch_bytes),
            "produce_us": w(&self.produce_us),
            "throttle_ms": w(&self.throttle_ms),
            "retries": self.retries.swap(0, Relaxed),
            "fetch_wait_us": w(&self.fetch_wait_us),
            "fetch_read_us": w(&self.fetch_read_us),
            "fetch_msgs": w(&self.fetch_msgs),
            "fetch_bytes": w(&self.fetch_bytes),
            "connect_us": connect_us.to_json(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_take_reports_the_values_since_the_last_one() {
        let w = Window::default();
        assert_eq!(w.take(), WindowSummary::default());
        for v in [5, 2, 9] {
            w.record(v);
        }
        assert_eq!(w.take(), WindowSummary { count: 3, sum: 16, min: 2, max: 9 });
        assert_eq!(w.take(), WindowSummary::default(), "a second take without new values");
        w.record(7);
        assert_eq!(w.take(), WindowSummary { count: 1, sum: 7, min: 7, max: 7 });
        let a = WindowSummary { count: 2, sum: 10, min: 3, max: 7 };
        assert_eq!(a.merge(WindowSummary::default()), a);
        assert_eq!(WindowSummary::default().merge(a), a);
        assert_eq!(a.merge(WindowSummary { count: 1, sum: 1, min: 1, max: 1 }), WindowSummary { count: 3, sum: 11, min: 1, max: 7 });
    }
}
