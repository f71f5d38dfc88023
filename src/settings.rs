//! Process-wide settings, read from the environment once at start-up:
//! retry policy, timeouts, cache lifetimes, the DTMF characters, and the
//! network path (trust roots, proxies). These are environment-only by
//! contract, so a bad value fails start-up, not a call.

use crate::error::Error;
use crate::proxy::Proxies;
use crate::trust::Trust;
use std::time::Duration;

/// Settings that hold for every invocation of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Retries after the first attempt (`HTTP_MAX_RETRIES`, default 3).
    pub max_retries: u32,
    /// First backoff delay, doubled per retry (`HTTP_RETRY_BASE_DELAY`, default 100ms).
    pub retry_base_delay: Duration,
    /// Bound on each HTTP attempt (`HTTP_CLIENT_TIMEOUT`, default 3s): short
    /// enough that a stalled attempt leaves room for a retry in Connect's 8 s.
    pub client_timeout: Duration,
    /// Bound on making a connection: TCP, a proxy's tunnel and the TLS
    /// handshake (`HTTP_CONNECT_TIMEOUT`, default 2s, never above the
    /// attempt's own bound).
    pub connect_timeout: Duration,
    /// How long a fetched secret is reused (`SECRET_CACHE_TTL`, default 5m).
    pub secret_cache_ttl: Duration,
    /// Sent to Cresta as `supportedDtmfChars` (default `0123456789*`).
    pub supported_dtmf_chars: String,
    /// Extra trust roots (`SSL_CERT_FILE`, `AWS_CA_BUNDLE`).
    pub trust: Trust,
    /// Egress proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    pub proxies: Proxies,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_retries: 3,
            retry_base_delay: Duration::from_millis(100),
            client_timeout: DEFAULT_CLIENT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            secret_cache_ttl: Duration::from_secs(300),
            supported_dtmf_chars: "0123456789*".to_string(),
            trust: Trust::default(),
            proxies: Proxies::default(),
        }
    }
}

/// Connect's 8 s less the runtime's margin is 7.75 s: two stalled 3 s
/// attempts and their backoff still leave time for a third, short one.
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
/// A TCP + TLS set-up takes milliseconds even across regions; 2 s covers
/// a slow proxy without eating the attempt that follows.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Highest accepted `HTTP_MAX_RETRIES`; the deadline bounds retries anyway.
const MAX_RETRIES_LIMIT: u32 = 10;

impl Settings {
    /// Reads the settings; an unparsable value is an error naming the variable.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        let mut s = Settings::default();
        if let Some(v) = get("HTTP_MAX_RETRIES") {
            s.max_retries = v
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_RETRIES_LIMIT)
                .ok_or_else(|| {
                    invalid(
                        "HTTP_MAX_RETRIES",
                        &v,
                        &format!("a whole number from 0 to {MAX_RETRIES_LIMIT}"),
                    )
                })?;
        }
        if let Some(v) = get("HTTP_RETRY_BASE_DELAY") {
            s.retry_base_delay = duration_setting("HTTP_RETRY_BASE_DELAY", &v)?;
        }
        if let Some(v) = get("HTTP_CLIENT_TIMEOUT") {
            s.client_timeout = duration_setting("HTTP_CLIENT_TIMEOUT", &v)?;
            if s.client_timeout.is_zero() {
                return Err(invalid("HTTP_CLIENT_TIMEOUT", &v, "a duration above zero"));
            }
        }
        if let Some(v) = get("HTTP_CONNECT_TIMEOUT") {
            s.connect_timeout = duration_setting("HTTP_CONNECT_TIMEOUT", &v)?;
            if s.connect_timeout.is_zero() {
                return Err(invalid("HTTP_CONNECT_TIMEOUT", &v, "a duration above zero"));
            }
        }
        // Connecting is part of an attempt: an attempt bound set below the
        // default connect bound (e.g. HTTP_CLIENT_TIMEOUT=1s) lowers it too.
        s.connect_timeout = s.connect_timeout.min(s.client_timeout);
        if let Some(v) = get("SECRET_CACHE_TTL") {
            s.secret_cache_ttl = duration_setting("SECRET_CACHE_TTL", &v)?;
        }
        if let Some(v) = get("supportedDtmfChars") {
            if v.is_empty() {
                return Err(invalid("supportedDtmfChars", &v, "at least one character"));
            }
            s.supported_dtmf_chars = v;
        }
        s.trust = Trust::from_env(&get)?;
        s.proxies = Proxies::from_env(&get)?;
        Ok(s)
    }
}

fn invalid(name: &str, value: &str, expected: &str) -> Error {
    Error::config(
        "InvalidSetting",
        format!("{name}={value:?} is invalid: expected {expected}"),
    )
}

/// Longest accepted duration setting: a Lambda runs 15 minutes at most, and
/// a day is plenty for a secret's cache life; larger values are mistakes.
const MAX_DURATION_SETTING: Duration = Duration::from_secs(24 * 3600);

fn duration_setting(name: &str, value: &str) -> Result<Duration, Error> {
    parse_duration(value.trim())
        .filter(|d| *d <= MAX_DURATION_SETTING)
        .ok_or_else(|| {
            invalid(
                name,
                value,
                "a duration such as 100ms, 2s or 1m, at most 24h",
            )
        })
}

/// Parses Go's `time.ParseDuration` syntax (`300ms`, `1.5s`, `1h30m`, `0`);
/// negative durations are refused.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(Duration::ZERO);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(num_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let mut nanos = whole.checked_mul(unit_nanos)?;
        let mut scale = unit_nanos;
        for digit in frac.bytes().take(18) {
            scale /= 10;
            nanos = nanos.checked_add(u128::from(digit - b'0') * scale)?;
        }
        total = total.checked_add(nanos)?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (total % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lookup as env;

    #[test]
    fn go_durations_parse() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("100ms"), Some(ms(100)));
        assert_eq!(parse_duration("2s"), Some(ms(2000)));
        assert_eq!(parse_duration("1m"), Some(ms(60_000)));
        assert_eq!(parse_duration("1.5s"), Some(ms(1500)));
        assert_eq!(parse_duration("1h30m"), Some(ms(5_400_000)));
        assert_eq!(parse_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Some(Duration::from_micros(250)));
        assert_eq!(parse_duration(".5s"), Some(ms(500)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_refused() {
        for bad in [
            "",
            "100",
            "ms",
            "-1s",
            "1x",
            "1..5s",
            "1s2",
            "99999999999999999999h",
            // Overflowed in the fraction (found by the fuzzer).
            "340282366920938463463374607431768211.999us",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(Settings::from_env(env(&[])).unwrap(), Settings::default());
        let s = Settings::from_env(env(&[
            ("HTTP_MAX_RETRIES", "0"),
            ("HTTP_RETRY_BASE_DELAY", "5ms"),
            ("HTTP_CLIENT_TIMEOUT", "2s"),
            ("HTTP_CONNECT_TIMEOUT", "500ms"),
            ("SECRET_CACHE_TTL", "1m"),
            ("supportedDtmfChars", "0123456789*#"),
        ]))
        .unwrap();
        assert_eq!(s.max_retries, 0);
        assert_eq!(s.retry_base_delay, Duration::from_millis(5));
        assert_eq!(s.client_timeout, Duration::from_secs(2));
        assert_eq!(s.connect_timeout, Duration::from_millis(500));
        assert_eq!(s.secret_cache_ttl, Duration::from_secs(60));
        assert_eq!(s.supported_dtmf_chars, "0123456789*#");
    }

    #[test]
    fn default_timeouts_leave_room_for_a_retry_in_connects_budget() {
        let s = Settings::default();
        let budget = Duration::from_millis(7750);
        let backoff = s.retry_base_delay;
        assert!(s.client_timeout * 2 + backoff < budget);
        assert!(s.connect_timeout <= s.client_timeout);
        let short = Settings::from_env(env(&[("HTTP_CLIENT_TIMEOUT", "1s")])).unwrap();
        assert_eq!(short.connect_timeout, Duration::from_secs(1));
        let long = Settings::from_env(env(&[("HTTP_CLIENT_TIMEOUT", "10s")])).unwrap();
        assert_eq!(long.client_timeout, Duration::from_secs(10));
        assert_eq!(long.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for (k, v) in [
            ("HTTP_MAX_RETRIES", "three"),
            ("HTTP_MAX_RETRIES", "-1"),
            ("HTTP_MAX_RETRIES", "1000"),
            ("HTTP_RETRY_BASE_DELAY", "100"),
            ("HTTP_CLIENT_TIMEOUT", "0s"),
            ("HTTP_CONNECT_TIMEOUT", "0"),
            ("HTTP_CONNECT_TIMEOUT", "2"),
            ("HTTPS_PROXY", "ftp://proxy"),
            ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
            ("SECRET_CACHE_TTL", "soon"),
            ("HTTP_RETRY_BASE_DELAY", "5000000000000000h"),
            ("SECRET_CACHE_TTL", "25h"),
        ] {
            let e = Settings::from_env(env(&[(k, v)])).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidSetting");
            assert!(e.message().contains(k), "{e}");
        }
    }
}
