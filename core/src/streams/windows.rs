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

    /// Windows from their three durations, checked as the named constructors check them (what a
    /// binding's windows end in: tumbling when `advance_ms` equals `size_ms`).
    pub fn new(size_ms: i64, advance_ms: i64, grace_ms: i64) -> Result<Self> {
        Self::of_size_and_grace(size_ms, grace_ms)?.advance_by(advance_ms)
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

/// The windows of a stream-stream join, as Kafka Streams' `JoinWindows`: a record at `t` joins
/// the other side's records of the same key from `t - before` to `t + after` (both included);
/// records wait `grace` more of stream time for late partners. The result of a left or outer
/// join without a partner is emitted only once its window has closed (Kafka Streams 3.1+).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinWindows {
    pub before_ms: i64,
    pub after_ms: i64,
    pub grace_ms: i64,
}

impl JoinWindows {
    /// Join windows from `before`, `after` and `grace` (what the other constructors give).
    pub fn new(before_ms: i64, after_ms: i64, grace_ms: i64) -> Result<Self> {
        if grace_ms < 0 {
            return Err(Error::invalid(format!("grace period must not be negative, got {grace_ms} ms")));
        }
        JoinWindows { before_ms, after_ms, grace_ms }.checked()
    }

    /// `JoinWindows.ofTimeDifferenceAndGrace`.
    pub fn of_time_difference_and_grace(difference_ms: i64, grace_ms: i64) -> Result<Self> {
        if difference_ms < 0 {
            return Err(Error::invalid(format!("join time difference must not be negative, got {difference_ms} ms")));
        }
        if grace_ms < 0 {
            return Err(Error::invalid(format!("grace period must not be negative, got {grace_ms} ms")));
        }
        Ok(JoinWindows { before_ms: difference_ms, after_ms: difference_ms, grace_ms })
    }

    /// `JoinWindows.ofTimeDifferenceWithNoGrace`.
    pub fn of_time_difference_with_no_grace(difference_ms: i64) -> Result<Self> {
        Self::of_time_difference_and_grace(difference_ms, 0)
    }

    /// `before(...)`: how far back of a record of this side the other side's records join.
    pub fn before(self, before_ms: i64) -> Result<Self> {
        JoinWindows { before_ms, ..self }.checked()
    }

    /// `after(...)`: how far ahead.
    pub fn after(self, after_ms: i64) -> Result<Self> {
        JoinWindows { after_ms, ..self }.checked()
    }

    fn checked(self) -> Result<Self> {
        if self.before_ms.saturating_add(self.after_ms) < 0 {
            return Err(Error::invalid(format!(
                "join window interval (before + after) must not be negative, got {} + {} ms",
                self.before_ms, self.after_ms
            )));
        }
        Ok(self)
    }

    /// `size()`: before + after.
    pub fn size_ms(&self) -> i64 {
        self.before_ms + self.after_ms
    }

    /// How long the join's window stores keep a record: size + grace (Kafka Streams' join store
    /// retention).
    pub fn retention_ms(&self) -> i64 {
        self.size_ms() + self.grace_ms
    }
}

/// Session windows, as Kafka Streams' `SessionWindows`: a key's records less than `gap` apart
/// (both ends inclusive) form one session `[first, last]`; a record bridging two sessions merges
/// them. A session closes once stream time passes its end plus `gap` plus `grace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionWindows {
    pub gap_ms: i64,
    pub grace_ms: i64,
}

impl SessionWindows {
    /// `SessionWindows.ofInactivityGapAndGrace` (what a binding's windows end in).
    pub fn of_inactivity_gap_and_grace(gap_ms: i64, grace_ms: i64) -> Result<Self> {
        if gap_ms <= 0 {
            return Err(Error::invalid(format!("session inactivity gap must be positive, got {gap_ms} ms")));
        }
        if grace_ms < 0 {
            return Err(Error::invalid(format!("grace period must not be negative, got {grace_ms} ms")));
        }
        Ok(SessionWindows { gap_ms, grace_ms })
    }

    /// `SessionWindows.ofInactivityGapWithNoGrace`.
    pub fn of_inactivity_gap_with_no_grace(gap_ms: i64) -> Result<Self> {
        Self::of_inactivity_gap_and_grace(gap_ms, 0)
    }

    /// How long the session store keeps a session after its end (Kafka Streams' default
    /// retention of session stores: gap + grace).
    pub fn retention_ms(&self) -> i64 {
        self.gap_ms.saturating_add(self.grace_ms)
    }

    /// The stream time before which a session may not end any more (`windowCloseTime` of Kafka
    /// Streams' session aggregation): a record whose merged session ends before it is late.
    pub fn close_time(&self, stream_time: i64) -> i64 {
        stream_time.saturating_sub(self.grace_ms).saturating_sub(self.gap_ms)
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
        assert_eq!(TimeWindows::new(10, 5, 5).unwrap(), h);
        assert!(TimeWindows::new(10, 0, 0).is_err() && TimeWindows::new(10, 10, -1).is_err());
    }

    #[test]
    fn session_windows_as_kafka_streams() {
        let s = SessionWindows::of_inactivity_gap_and_grace(300, 100).unwrap();
        assert_eq!((s.gap_ms, s.grace_ms, s.retention_ms(), s.close_time(1000)), (300, 100, 400, 600));
        assert_eq!(SessionWindows::of_inactivity_gap_with_no_grace(5).unwrap().grace_ms, 0);
        let e = SessionWindows::of_inactivity_gap_with_no_grace(0).unwrap_err();
        assert!(e.message().contains("gap must be positive"), "{e}");
        assert!(SessionWindows::of_inactivity_gap_with_no_grace(-1).is_err());
        assert!(SessionWindows::of_inactivity_gap_and_grace(1, -1).unwrap_err().message().contains("grace"));
    }

    #[test]
    fn join_windows_as_kafka_streams() {
        let j = JoinWindows::of_time_difference_and_grace(300_000, 60_000).unwrap();
        assert_eq!((j.before_ms, j.after_ms, j.grace_ms, j.size_ms(), j.retention_ms()), (300_000, 300_000, 60_000, 600_000, 660_000));
        let j = JoinWindows::of_time_difference_with_no_grace(10).unwrap().before(0).unwrap();
        assert_eq!((j.before_ms, j.after_ms, j.grace_ms), (0, 10, 0));
        assert!(j.before(-11).is_err());
        assert!(j.before(-10).is_ok());
        assert!(JoinWindows::of_time_difference_and_grace(-1, 0).is_err());
        assert!(JoinWindows::of_time_difference_and_grace(1, -1).is_err());
    }
}
