//! Helpers shared by the fuzz targets: input splitting, the error invariants
//! every target checks, and a Go `time.Duration.String()` formatter used to
//! round-trip `settings::parse_duration`.

use connect_pstn_transfer::error::Error;
use std::time::Duration;

/// Splits a fuzz input into fields at `0xFF` (a byte that never occurs in
/// UTF-8, so JSON and text fields stay intact). Returns at most `max` fields;
/// the last one keeps any further separators.
pub fn fields(data: &[u8], max: usize) -> Vec<&[u8]> {
    data.splitn(max.max(1), |b| *b == 0xFF).collect()
}

/// A field as text (invalid UTF-8 replaced), as a header or env value would be.
pub fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// The invariants of every error the library returns: the type is
/// `Category.Reason` (both non-empty, ASCII alphanumeric), the category is
/// `category`, and the message is non-empty and on one line (no control
/// characters at all, so no `\n` or `\r`).
pub fn check_error(e: &Error, category: &str) {
    let ty = e.error_type();
    let (cat, reason) = ty
        .split_once('.')
        .unwrap_or_else(|| panic!("error type {ty:?} is not Category.Reason"));
    assert_eq!(cat, category, "error type {ty:?}: wrong category");
    assert!(
        !reason.is_empty() && reason.bytes().all(|b| b.is_ascii_alphanumeric()),
        "error type {ty:?}: reason must be non-empty ASCII alphanumeric"
    );
    let msg = e.message();
    assert!(!msg.trim().is_empty(), "{ty}: empty message");
    assert!(
        !msg.chars().any(char::is_control),
        "{ty}: message is not one line: {msg:?}"
    );
    assert_eq!(e.to_string(), msg, "{ty}: Display differs from message()");
}

/// A tiny deterministic generator (splitmix64) seeded from the input, for
/// values the fuzzer need not steer (e.g. durations to round-trip).
pub struct Mix(u64);

impl Mix {
    pub fn new(data: &[u8]) -> Mix {
        // FNV-1a over the input.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in data {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Mix(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Formats like Go's `time.Duration.String()` (`1h2m3.5s`, `1.5ms`, `250µs`,
/// `7ns`, `0s`), extended to the whole range of `std::time::Duration`.
pub fn go_duration_string(d: Duration) -> String {
    let u: u128 = d.as_nanos();
    if u == 0 {
        return "0s".to_string();
    }
    if u < 1_000_000_000 {
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let (frac, whole) = fmt_frac(u, prec);
        return format!("{whole}{frac}{unit}");
    }
    let (frac, secs) = fmt_frac(u, 9);
    let mut out = format!("{}{frac}s", secs % 60);
    let minutes = secs / 60;
    if minutes > 0 {
        out = format!("{}m{out}", minutes % 60);
        let hours = minutes / 60;
        if hours > 0 {
            out = format!("{hours}h{out}");
        }
    }
    out
}

/// Go's `fmtFrac`: the fraction of `v / 10^prec` as `.ddd` without trailing
/// zeros (empty when zero), and the integer part.
fn fmt_frac(v: u128, prec: u32) -> (String, u128) {
    if prec == 0 {
        return (String::new(), v);
    }
    let p = 10u128.pow(prec);
    let digits = format!("{:0width$}", v % p, width = prec as usize);
    let digits = digits.trim_end_matches('0');
    let frac = if digits.is_empty() {
        String::new()
    } else {
        format!(".{digits}")
    };
    (frac, v / p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_format_matches_go() {
        let ns = Duration::from_nanos;
        assert_eq!(go_duration_string(ns(0)), "0s");
        assert_eq!(go_duration_string(ns(7)), "7ns");
        assert_eq!(go_duration_string(ns(1_500)), "1.5µs");
        assert_eq!(go_duration_string(ns(1_500_000)), "1.5ms");
        assert_eq!(go_duration_string(ns(100_000_000)), "100ms");
        assert_eq!(go_duration_string(ns(1_500_000_000)), "1.5s");
        assert_eq!(go_duration_string(Duration::from_secs(5400)), "1h30m0s");
        assert_eq!(go_duration_string(Duration::from_secs(61)), "1m1s");
        assert_eq!(
            go_duration_string(ns(9_223_372_036_854_775_807)),
            "2562047h47m16.854775807s"
        );
    }

    #[test]
    fn fields_split_at_ff() {
        assert_eq!(fields(b"a\xffb\xffc", 2), vec![&b"a"[..], &b"b\xffc"[..]]);
        assert_eq!(fields(b"", 3), vec![&b""[..]]);
    }
}
