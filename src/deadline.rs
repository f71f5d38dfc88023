//! The invocation's time budget. Connect waits 8 seconds at most and Lambda
//! gives each invocation a deadline: every attempt and sleep is bounded by it.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A point in time after which no work of this invocation may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
}

impl Deadline {
    /// The deadline `budget` from now.
    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + budget,
        }
    }

    /// The deadline for Lambda's `Lambda-Runtime-Deadline-Ms` (milliseconds
    /// since the epoch), less `margin` kept to report the outcome in time.
    pub fn from_epoch_ms(deadline_ms: u64, margin: Duration) -> Deadline {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let left = Duration::from_millis(deadline_ms.saturating_sub(now_ms));
        Deadline::after(left.saturating_sub(margin))
    }

    /// Time left, zero once passed.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether `wait` can pass and still leave time for useful work.
    pub fn allows(&self, wait: Duration) -> bool {
        wait + MIN_USEFUL < self.remaining()
    }
}

/// Less time than this left is not worth starting an HTTP attempt for.
pub const MIN_USEFUL: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_counts_down_and_saturates() {
        let d = Deadline::after(Duration::from_secs(5));
        assert!(d.remaining() <= Duration::from_secs(5));
        assert!(d.remaining() > Duration::from_secs(4));
        assert!(d.allows(Duration::from_secs(1)));
        assert!(!d.allows(Duration::from_secs(5)));
        assert_eq!(Deadline::after(Duration::ZERO).remaining(), Duration::ZERO);
    }

    #[test]
    fn epoch_deadline_keeps_the_margin() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let d = Deadline::from_epoch_ms(now_ms + 3000, Duration::from_millis(250));
        assert!(d.remaining() <= Duration::from_millis(2750));
        assert!(d.remaining() > Duration::from_millis(2500));
        let past = Deadline::from_epoch_ms(now_ms - 1000, Duration::from_millis(250));
        assert_eq!(past.remaining(), Duration::ZERO);
    }
}
