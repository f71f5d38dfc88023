//! Log lines on stderr: `[LEVEL] message` text, or one JSON object per line
//! when Lambda's advanced logging asks for it. Every line passes through
//! [`crate::redact`], so no registered credential is ever written.

use std::cell::RefCell;
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Redaction lives in [`crate::redact`]; these names stay for callers.
pub use crate::redact::{is_sensitive_key, redact, redact_json, register_secret, try_redact};

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Parses Lambda's `AWS_LAMBDA_LOG_LEVEL` names, any case.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Level::Trace,
            "DEBUG" => Level::Debug,
            "INFO" => Level::Info,
            "WARN" | "WARNING" => Level::Warn,
            "ERROR" => Level::Error,
            "FATAL" => Level::Fatal,
            _ => return None,
        })
    }
}

/// How lines are written, decided once from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogConfig {
    /// The lowest level written.
    pub min_level: Level,
    /// One JSON object per line instead of `[LEVEL] message`.
    pub json: bool,
}

impl LogConfig {
    /// `AWS_LAMBDA_LOG_FORMAT=JSON` selects JSON lines; `AWS_LAMBDA_LOG_LEVEL`
    /// sets the level (default INFO); `DEBUG_LOGGING=true` lowers it to DEBUG.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> LogConfig {
        let json = get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|v| v.eq_ignore_ascii_case("json"));
        let mut min_level = get("AWS_LAMBDA_LOG_LEVEL")
            .and_then(|v| Level::parse(&v))
            .unwrap_or(Level::Info);
        if get("DEBUG_LOGGING").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            min_level = min_level.min(Level::Debug);
        }
        LogConfig { min_level, json }
    }
}

static CONFIG: OnceLock<LogConfig> = OnceLock::new();
thread_local! {
    /// The request id of the invocation this thread serves: each runtime
    /// worker has its own, so concurrent invocations' lines never mix.
    static REQUEST_ID: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Sets the configuration; only the first call counts.
pub fn init(config: LogConfig) {
    let _ = CONFIG.set(config);
}

fn config() -> LogConfig {
    *CONFIG.get_or_init(|| LogConfig::from_env(|k| std::env::var(k).ok()))
}

/// Whether a line at `level` would be written.
pub fn enabled(level: Level) -> bool {
    level >= config().min_level
}

/// The request id put on every line this thread writes until it is
/// cleared with `None`.
pub fn set_request_id(id: Option<&str>) {
    REQUEST_ID.with_borrow_mut(|current| {
        current.clear();
        current.push_str(id.unwrap_or(""));
    });
}

/// This thread's request id; empty when none (or while the thread exits).
fn request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.try_borrow().map(|id| id.clone()).unwrap_or_default())
        .unwrap_or_default()
}

/// Writes one line at `level` (after the level check and redaction).
pub fn write(level: Level, message: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let message = redact(&crate::error::one_line(&message.to_string()));
    let request_id = request_id();
    let line = if config().json {
        let mut obj = serde_json::Map::new();
        obj.insert("timestamp".into(), rfc3339_now().into());
        obj.insert("level".into(), level.as_str().into());
        obj.insert("message".into(), message.into());
        if !request_id.is_empty() {
            obj.insert("requestId".into(), request_id.into());
        }
        serde_json::Value::Object(obj).to_string()
    } else if request_id.is_empty() {
        format!("[{}] {message}", level.as_str())
    } else {
        format!("[{}] [{request_id}] {message}", level.as_str())
    };
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// A duration as milliseconds with three decimals, without float formatting
/// (which would add its code to the binary for a log line).
pub fn ms(d: std::time::Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn rfc3339_now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_millis())
}

fn rfc3339(secs: u64, millis: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Logs at DEBUG; the arguments are only formatted when DEBUG is on.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Debug, format_args!($($arg)*)) };
}
/// Logs at INFO.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($arg)*)) };
}
/// Logs at WARN.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($arg)*)) };
}
/// Logs at ERROR.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn each_thread_has_its_own_request_id() {
        set_request_id(Some("req-main"));
        let other = std::thread::spawn(|| {
            let before = request_id();
            set_request_id(Some("req-other"));
            (before, request_id())
        })
        .join()
        .unwrap();
        assert_eq!(other, (String::new(), "req-other".to_string()));
        assert_eq!(request_id(), "req-main");
        set_request_id(None);
        assert_eq!(request_id(), "");
    }

    #[test]
    fn config_from_env() {
        let env = crate::lookup;
        let c = LogConfig::from_env(env(&[]));
        assert_eq!((c.min_level, c.json), (Level::Info, false));
        let c = LogConfig::from_env(env(&[("DEBUG_LOGGING", "true")]));
        assert_eq!(c.min_level, Level::Debug);
        let c = LogConfig::from_env(env(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "warn"),
        ]));
        assert_eq!((c.min_level, c.json), (Level::Warn, true));
    }

    #[test]
    fn durations_print_as_milliseconds() {
        assert_eq!(ms(std::time::Duration::from_micros(12_345)), "12.345 ms");
        assert_eq!(ms(std::time::Duration::from_secs(8)), "8000.000 ms");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_568_000, 7), "2026-11-25T00:53:20.007Z");
        assert_eq!(rfc3339(951_782_400, 999), "2000-02-29T00:00:00.999Z");
    }
}
