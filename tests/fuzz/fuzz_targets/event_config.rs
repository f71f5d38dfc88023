//! `Event::parse`, then `config::resolve` with an environment chosen by the
//! input, plus `Settings::from_env` on the same environment and a
//! `settings::parse_duration` round trip of Go-formatted durations.
//!
//! Input: two mask bytes (bit i set = env key `ENV[i]` is set), then fields
//! separated by `0xFF`: the event JSON, then the values of the set keys in
//! order (a set key without a field gets a plausible default, so the
//! successful paths are reachable from small inputs).
#![no_main]

use connect_pstn_transfer::config::{
    base_url, parse_secret_arn, parse_virtual_agent, resolve, Action, Config, CredentialSource,
    CONFIG_KEYS,
};
use connect_pstn_transfer::event::Event;
use connect_pstn_transfer::settings::{parse_duration, Settings};
use connect_pstn_transfer_fuzz::{check_error, fields, go_duration_string, text, Mix};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Environment keys the input can set, with the default used when the input
/// sets a key but gives no value for it.
const ENV: [(&str, &str); 14] = [
    ("region", "us-west-2-prod"),
    ("apiDomain", "api-customer-profile.cresta.com"),
    ("authDomain", "auth.us-west-2-prod.cresta.ai"),
    ("action", "get_handoff_data"),
    ("virtualAgentName", "customers/c/profiles/p/virtualAgents/v"),
    ("apiKey", "key-1234"),
    ("oauthClientId", "client-id"),
    ("oauthClientSecret", "client-secret"),
    (
        "oauthSecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:cresta-AbCdEf",
    ),
    ("HTTP_MAX_RETRIES", "3"),
    ("HTTP_RETRY_BASE_DELAY", "100ms"),
    ("HTTP_CLIENT_TIMEOUT", "2s"),
    ("SECRET_CACHE_TTL", "5m"),
    ("supportedDtmfChars", "0123456789*#"),
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let mask = u16::from_le_bytes([data[0], data[1]]);
    let parts = fields(&data[2..], 1 + ENV.len());
    let event_bytes = parts[0];
    let mut values = parts[1..].iter();
    let env: BTreeMap<&str, String> = ENV
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, (key, default))| {
            let value = values
                .next()
                .map_or_else(|| default.to_string(), |v| text(v));
            (*key, value)
        })
        .collect();
    let env_fn = |k: &str| env.get(k).cloned();

    if !env.values().any(|v| known_bug::duration_overflow(v)) {
        check_settings(&env_fn);
        for value in env.values() {
            // Any text: never panics.
            let _ = parse_duration(value);
            let _ = parse_duration(value.trim());
        }
    }
    check_duration_round_trip(&mut Mix::new(data));

    let event = match Event::parse(event_bytes) {
        Ok(event) => event,
        Err(e) => {
            check_error(&e, "Event");
            assert_eq!(e.error_type(), "Event.Malformed");
            return;
        }
    };
    // A parsed event is a JSON object with a Details object, and parsing the
    // value again gives the same event.
    let value: Value = serde_json::from_slice(event_bytes).expect("Event::parse took invalid JSON");
    assert!(value.get("Details").is_some_and(Value::is_object));
    assert_eq!(Event::from_value(value).as_ref(), Ok(&event));
    match event.contact_id() {
        Ok(id) => assert!(!id.trim().is_empty()),
        Err(e) => check_error(&e, "Event"),
    }

    if known_bug::region_from_non_ascii_api_domain(&event.parameters, &env_fn) {
        return;
    }
    match resolve(&event.parameters, &env_fn) {
        Ok(config) => check_config(&config, &event.parameters, &env_fn),
        Err(e) => check_error(&e, "Config"),
    }
});

fn check_config(
    config: &Config,
    parameters: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) {
    // The value resolve saw for a key: Parameters first, then env; trimmed.
    let effective = |k: &str| {
        parameters
            .get(k)
            .cloned()
            .or_else(|| env(k))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    check_base(&config.api_base);
    match (&config.credentials, &config.auth_base) {
        (CredentialSource::ApiKey(key), None) => {
            assert!(!key.is_empty() && key.trim() == key);
            assert_eq!(effective("apiKey").as_deref(), Some(key.as_str()));
        }
        (CredentialSource::ApiKey(_), Some(auth)) => panic!("API key with auth_base {auth:?}"),
        (_, None) => panic!("OAuth credentials without auth_base"),
        (CredentialSource::Client { id, secret }, Some(auth)) => {
            check_base(auth);
            assert!(!id.is_empty() && id.trim() == id);
            assert!(!secret.is_empty() && secret.trim() == secret);
            assert_eq!(
                effective("oauthSecretArn"),
                None,
                "Client chosen over a secret ARN"
            );
        }
        (CredentialSource::Secret(arn), Some(auth)) => {
            check_base(auth);
            assert_eq!(parse_secret_arn(&arn.arn).as_ref(), Ok(arn));
            assert!(!arn.region.is_empty());
        }
    }
    let action = effective("action").expect("resolved without an action");
    let expect = match action.as_str() {
        "get_pstn_transfer_data" => Action::PstnTransferData,
        "get_handoff_data" => Action::HandoffData,
        other => panic!("resolved an unknown action {other:?}"),
    };
    assert_eq!(config.action, expect);
    assert_eq!(
        parse_virtual_agent(&config.virtual_agent.name()).as_ref(),
        Ok(&config.virtual_agent),
        "virtual agent name does not round-trip"
    );
    for (k, v) in &config.metadata_parameters {
        assert!(
            !CONFIG_KEYS.contains(&k.as_str()),
            "config key {k} forwarded"
        );
        assert_eq!(
            parameters.get(k),
            Some(v),
            "metadata {k} is not a parameter"
        );
    }
    let forwarded = parameters
        .keys()
        .filter(|k| !CONFIG_KEYS.contains(&k.as_str()))
        .count();
    assert_eq!(config.metadata_parameters.len(), forwarded);
}

/// A resolved base URL: https, or http only for loopback; no trailing slash,
/// path, query or user info; and validating it again changes nothing.
fn check_base(url: &str) {
    assert!(
        url.starts_with("https://")
            || url.starts_with("http://127.")
            || url.starts_with("http://localhost"),
        "base URL {url:?}: not https and not loopback http"
    );
    // Note: "http://127.example.com" passes this documented check (the host is
    // only prefix-matched); see the fuzzing report.
    let authority = url.split_once("://").expect("no scheme").1;
    assert!(!authority.is_empty());
    assert!(
        !authority.contains(['/', '?', '#', '@']) && !authority.chars().any(char::is_whitespace),
        "base URL {url:?} has more than a host and port"
    );
    assert_eq!(
        base_url("x", url).as_deref(),
        Ok(url),
        "base_url is not idempotent"
    );
}

fn check_settings(env: &dyn Fn(&str) -> Option<String>) {
    match Settings::from_env(env) {
        Ok(s) => {
            assert!(s.max_retries <= 10);
            assert!(!s.client_timeout.is_zero());
            assert!(!s.supported_dtmf_chars.is_empty());
        }
        Err(e) => {
            check_error(&e, "Config");
            assert_eq!(e.error_type(), "Config.InvalidSetting");
        }
    }
}

/// Go-syntax durations built from known values parse back to those values.
fn check_duration_round_trip(mix: &mut Mix) {
    // 1. Go's own formatting (`1h2m3.5s`, `1.5ms`, ...), over the whole range.
    let secs = match mix.below(4) {
        0 => 0,
        1 => mix.below(100_000),
        2 => mix.next_u64(),
        _ => u64::MAX - mix.below(1000),
    };
    let d = Duration::new(secs, (mix.below(1_000_000_000)) as u32);
    for d in [d, Duration::from_nanos(mix.below(1_000_000))] {
        let s = go_duration_string(d);
        assert_eq!(parse_duration(&s), Some(d), "{s:?} does not round-trip");
        assert_eq!(parse_duration(&format!("+{s}")), Some(d), "+{s:?}");
    }

    // 2. Any sequence of integer components, units in any order and repeated.
    const UNITS: [(&str, u128); 8] = [
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("µs", 1_000),
        ("μs", 1_000),
        ("ns", 1),
    ];
    let mut s = String::new();
    let mut total: u128 = 0;
    for _ in 0..=mix.below(6) {
        let (unit, nanos) = UNITS[mix.below(UNITS.len() as u64) as usize];
        let n = u128::from(mix.below(1_000_000));
        s.push_str(&format!("{n}{unit}"));
        total += n * nanos;
    }
    let expect = Duration::new(
        (total / 1_000_000_000) as u64,
        (total % 1_000_000_000) as u32,
    );
    assert_eq!(parse_duration(&s), Some(expect), "{s:?}");

    // 3. A decimal fraction no finer than a nanosecond is exact.
    let (unit, nanos, places) = [("h", 3_600_000_000_000u128, 9), ("m", 60_000_000_000, 9)]
        .into_iter()
        .chain([
            ("s", 1_000_000_000, 9),
            ("ms", 1_000_000, 6),
            ("us", 1_000, 3),
        ])
        .nth(mix.below(5) as usize)
        .unwrap();
    let digits = 1 + mix.below(places) as u32;
    let whole = u128::from(mix.below(10_000));
    let frac = u128::from(mix.next_u64()) % 10u128.pow(digits);
    let s = format!("{whole}.{frac:0width$}{unit}", width = digits as usize);
    let total = whole * nanos + frac * nanos / 10u128.pow(digits);
    let expect = Duration::new(
        (total / 1_000_000_000) as u64,
        (total % 1_000_000_000) as u32,
    );
    assert_eq!(parse_duration(&s), Some(expect), "{s:?}");
}

/// Panics found by this target and not yet fixed in the library. While a bug
/// is still present (probed once, with the panic hook silenced), inputs that
/// would hit it are skipped so the campaign keeps exploring everything else;
/// once the library is fixed the probe fails and nothing is skipped.
/// `FUZZ_STRICT=1` disables the skipping, to replay the reproducers in
/// `tests/fuzz/regressions/event_config/`.
mod known_bug {
    use connect_pstn_transfer::config::region_from_api_domain;
    use connect_pstn_transfer::settings::parse_duration;
    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    fn panics(f: fn()) -> bool {
        if std::env::var_os("FUZZ_STRICT").is_some() {
            return false;
        }
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let panicked = std::panic::catch_unwind(f).is_err();
        std::panic::set_hook(hook);
        panicked
    }

    fn present(cell: &OnceLock<bool>, name: &str, f: fn()) -> bool {
        *cell.get_or_init(|| {
            let p = panics(f);
            if p {
                eprintln!("event_config: known bug still present, skipping its inputs: {name}");
            }
            p
        })
    }

    /// `region_from_api_domain` slices `&domain[start..]` at every byte, so
    /// a non-ASCII apiDomain (with no region to take precedence) panics with
    /// "byte index N is not a char boundary".
    pub fn region_from_non_ascii_api_domain(
        parameters: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        static BUG: OnceLock<bool> = OnceLock::new();
        let get = |k: &str| parameters.get(k).cloned().or_else(|| env(k));
        let hits = get("region").is_none_or(|r| r.trim().is_empty())
            && get("apiDomain").is_some_and(|d| !d.is_ascii());
        hits && present(
            &BUG,
            "non-ASCII apiDomain in region_from_api_domain",
            || {
                let _ = region_from_api_domain("\u{e9}");
            },
        )
    }

    /// `parse_duration` adds the fraction with a plain `+=` after a checked
    /// multiply, so a whole part near `u128::MAX / unit` overflows (a panic
    /// with debug assertions, a wrapped, too small value without).
    pub fn duration_overflow(value: &str) -> bool {
        static BUG: OnceLock<bool> = OnceLock::new();
        let hits = value.bytes().filter(u8::is_ascii_digit).count() >= 20 && value.contains('.');
        hits && present(&BUG, "u128 overflow in parse_duration", || {
            let _ = parse_duration("340282366920938463463374607431768211.999us");
        })
    }
}
