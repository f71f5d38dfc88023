//! The retry policy: which answers are worth another attempt and how long to
//! wait before it. Pure functions; the HTTP layer applies them.

use std::time::Duration;

/// Retries after the first attempt, and the first backoff delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
}

/// Transient statuses: request timeout, throttling and server errors.
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// The wait before retry number `retry` (1-based): `base * 2^(retry-1)`
/// plus up to 25% jitter, where `jitter` is uniform in `[0, 1)`.
pub fn backoff(base: Duration, retry: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << retry.saturating_sub(1).min(20));
    let extra = Duration::try_from_secs_f64(exp.as_secs_f64() * 0.25 * jitter.clamp(0.0, 1.0))
        .unwrap_or(Duration::MAX);
    exp.saturating_add(extra)
}

/// A `Retry-After` value in delta-seconds (HTTP dates are not honoured:
/// the caller falls back to its own backoff).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A small xorshift generator for jitter; not for anything secret.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// Seeded from the clock and the process id, so processes differ.
    pub fn from_entropy() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        Jitter::seeded(nanos ^ (u64::from(std::process::id()) << 32))
    }

    /// A fixed seed, for tests.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    /// The next value, uniform in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 409, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(base, 2, 0.0), Duration::from_millis(200));
        assert_eq!(backoff(base, 3, 0.0), Duration::from_millis(400));
        assert_eq!(
            backoff(base, 3, 0.999_999),
            Duration::from_millis(400).mul_f64(1.249_999_75)
        );
        assert_eq!(backoff(base, 1, 7.0), Duration::from_millis(125));
        // Huge retry numbers and bases saturate instead of overflowing.
        assert!(backoff(base, 200, 0.5) > Duration::from_secs(1000));
        assert_eq!(backoff(Duration::MAX, 10, 0.9), Duration::MAX);
    }

    #[test]
    fn jitter_stays_in_unit_interval() {
        let mut j = Jitter::seeded(42);
        for _ in 0..10_000 {
            let x = j.next_unit();
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
