//! A latency histogram for the statistics: fixed logarithmic buckets of atomics, so recording a
//! value is a handful of relaxed atomic operations, no lock and no allocation.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two: values are kept to within 1/SUB (25%) of their size.
const SUB_BITS: u32 = 2;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = 64 * SUB;

/// Values recorded since the client started: count, sum, min, max and percentiles (each
/// percentile is the upper bound of the bucket it falls in).
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let frac = (v >> (exp - SUB_BITS)) as usize & (SUB - 1);
    ((exp - SUB_BITS + 1) as usize) * SUB + frac
}

/// The largest value of bucket `i`.
fn upper(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let exp = (i / SUB) as u32 + SUB_BITS - 1;
    let frac = (i % SUB) as u64;
    let low = (1u64 << exp) | (frac << (exp - SUB_BITS));
    low + (1u64 << (exp - SUB_BITS)) - 1
}

/// What a snapshot reads from a histogram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub min: u64,
    pub max: u64,
    pub avg: u64,
    pub sum: u64,
    pub cnt: u64,
    pub p50: u64,
    pub p75: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p99_99: u64,
}

impl Histogram {
    pub fn record(&self, v: u64) {
        self.buckets[bucket(v)].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.min.fetch_min(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    pub fn summary(&self) -> Summary {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let cnt: u64 = counts.iter().sum();
        if cnt == 0 {
            return Summary::default();
        }
        let (min, max, sum) = (self.min.load(Relaxed), self.max.load(Relaxed), self.sum.load(Relaxed));
        let pct = |q: f64| {
            let rank = ((q * cnt as f64).ceil() as u64).max(1);
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return upper(i).clamp(min, max);
                }
            }
            max
        };
        Summary {
            min,
            max,
            avg: sum / cnt,
            sum,
            cnt,
            p50: pct(0.50),
            p75: pct(0.75),
            p90: pct(0.90),
            p95: pct(0.95),
            p99: pct(0.99),
            p99_99: pct(0.9999),
        }
    }
}

impl Summary {
    /// librdkafka's window object (`rtt`, `throttle`, `int_latency`, ...).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "min": self.min, "max": self.max, "avg": self.avg, "sum": self.sum, "cnt": self.cnt,
            "p50": self.p50, "p75": self.p75, "p90": self.p90, "p95": self.p95, "p99": self.p99,
            "p99_99": self.p99_99,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_their_values() {
        for v in [0u64, 1, 3, 4, 5, 7, 8, 100, 1000, 123_456, u64::MAX / 3] {
            let i = bucket(v);
            assert!(upper(i) >= v, "{v} above bucket {i} ({})", upper(i));
            assert!(i == 0 || upper(i - 1) < v, "{v} belongs below bucket {i}");
        }
    }

    #[test]
    fn percentiles_within_a_bucket_of_the_truth() {
        let h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v);
        }
        let s = h.summary();
        assert_eq!((s.min, s.max, s.cnt, s.sum, s.avg), (1, 1000, 1000, 500_500, 500));
        for (got, want) in [(s.p50, 500u64), (s.p95, 950), (s.p99, 990)] {
            assert!(got >= want && got <= want + want / 4, "percentile {got}, true value {want}");
        }
        assert_eq!(Histogram::default().summary(), Summary::default());
    }
}
