//! Tumbling and hopping time windows, as Kafka Streams' `TimeWindows`: epoch-aligned, half-open
//! `[start, start + size)`, a new window every `advance`, closed at `end + grace` of stream time.

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindows {
    pub size_ms: i64,
    pub advance_ms: i64,
    pub grace_ms: i64,
}

impl TimeWindows {
    /// `TimeWindows.ofSizeAndGrace`: tumbling windows (advance = size).
    pub fn of_size_and_grace(size_ms: i64, grace_ms: i64) -> Result<Self> {
        if size_ms <= 0 {
            return Err(Error::invalid(format!("window size must be positive, got {size_ms} ms")));
        }
        if grace_ms < 0 {
            return Err(Error::invalid(format!("grace period must not be negative, got {grace_ms} ms")));
        }
        Ok(TimeWindows { size_ms, advance_ms: size_ms, grace_ms })
    }

    /// `TimeWindows.ofSizeWithNoGrace`.
    pub fn of_size_with_no_grace(size_ms: i64) -> Result<Self> {
        Self::of_size_and_grace(size_ms, 0)
    }

    /// `advanceBy`: hopping windows.
    pub fn advance_by(self, advance_ms: i64) -> Result<Self> {
        if advance_ms <= 0 || advance_ms > self.size_ms {
            return Err(Error::invalid(format!(
                "window advance must be positive and at most the size ({} ms), got {advance_ms} ms",
                self.size_ms
            )));
        }
        Ok(TimeWindows { advance_ms, ..self })
    }

    /// The starts of the windows holding `timestamp`, oldest first (`windowsFor`).
    pub fn starts_for(&self, timestamp: i64) -> impl Iterator<Item = i64> + '_ {
        let first = ((timestamp - self.size_ms + self.advance_ms).max(0) / self.advance_ms) * self.advance_ms;
        (0..).map(move |i| first + i * self.advance_ms).take_while(move |s| *s <= timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tumbling_and_hopping_windows_as_kafka_streams() {
        let t = TimeWindows::of_size_with_no_grace(300_000).unwrap();
        assert_eq!(t.starts_for(299_999).collect::<Vec<_>>(), vec![0]);
        assert_eq!(t.starts_for(300_000).collect::<Vec<_>>(), vec![300_000]);
        let h = TimeWindows::of_size_and_grace(10, 5).unwrap().advance_by(5).unwrap();
        assert_eq!(h.starts_for(12).collect::<Vec<_>>(), vec![5, 10]);
        assert_eq!(h.starts_for(3).collect::<Vec<_>>(), vec![0]);
        assert!(TimeWindows::of_size_and_grace(0, 0).is_err());
        assert!(TimeWindows::of_size_and_grace(10, -1).is_err());
        assert!(h.advance_by(11).is_err());
    }
}
