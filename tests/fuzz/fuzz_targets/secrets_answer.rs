//! Secrets Manager answers (`secrets::interpret`, `is_retryable`,
//! `error_type`) and OAuth token answers (`auth::parse_token`).
//!
//! Input: a status selector byte, two bytes of raw status (used when the
//! selector is past the table of usual statuses), a mode byte, then either
//! the raw body (mode & 3 == 0) or `0xFF`-separated fields from which a
//! `GetSecretValue` answer is built around a known secret that starts with
//! [`MARKER`]. Either way, no error message may contain the marker unless it
//! also occurs in the answer outside `SecretString`.
#![no_main]

use connect_pstn_transfer::auth::parse_token;
use connect_pstn_transfer::retry::is_retryable_status;
use connect_pstn_transfer::secrets::{error_type, interpret, is_retryable};
use connect_pstn_transfer_fuzz::{check_error, fields, text};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Starts every secret value this target plants.
const MARKER: &str = "zQ7-SECRET-";

const STATUSES: [u16; 10] = [200, 200, 200, 200, 400, 400, 403, 404, 500, 503];

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let status = STATUSES
        .get(usize::from(data[0]))
        .copied()
        .unwrap_or_else(|| u16::from_le_bytes([data[1], data[2]]));
    let mode = data[3];
    let rest = &data[4..];

    if mode & 3 == 0 {
        check_secret_answer(status, rest);
        check_token_answer(rest);
        return;
    }
    let f = fields(rest, 5);
    let field = |i: usize| f.get(i).map(|b| text(b)).unwrap_or_default();
    let (id, secret) = (field(0), format!("{MARKER}{}", field(1)));
    let (kind, message, extra) = (field(2), field(3), field(4));
    let full = json!({ "oauthClientId": id, "oauthClientSecret": secret }).to_string();
    let secret_string = match (mode >> 2) & 7 {
        0 => full,
        1 => json!({ "oauthClientSecret": secret }).to_string(),
        2 => json!({ "oauthClientId": "", "oauthClientSecret": secret }).to_string(),
        3 => {
            // Cut short: invalid JSON that still holds (part of) the secret.
            let mut cut = extra.len() % full.len().max(1);
            while !full.is_char_boundary(cut) {
                cut -= 1;
            }
            full[..cut].to_string()
        }
        4 => json!([secret]).to_string(),
        5 => secret.clone(),
        6 => json!({ "oauthClientId": id, "oauthClientSecret": 5, "x": secret }).to_string(),
        _ => json!({ "oauthClientId": id, "oauthClientSecret": { "v": secret } }).to_string(),
    };
    let mut body = Map::new();
    body.insert(
        "ARN".into(),
        json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:x"),
    );
    body.insert("SecretString".into(), Value::String(secret_string));
    if mode & 0x20 != 0 {
        body.insert("__type".into(), Value::String(kind));
    }
    if mode & 0x40 != 0 {
        body.insert("Message".into(), Value::String(message));
    }
    if mode & 0x80 != 0 {
        body.insert("SecretBinary".into(), Value::String(extra.clone()));
        body.remove("SecretString");
    }
    let body = Value::Object(body).to_string();
    check_secret_answer(status, body.as_bytes());

    let token = format!(
        r#"{{"access_token":{},"expires_in":{extra}}}"#,
        json!(secret)
    );
    check_token_answer(token.as_bytes());
});

fn check_secret_answer(status: u16, body: &[u8]) {
    let kind = error_type(body);
    if let Some(k) = &kind {
        assert!(!k.contains('#'), "namespace kept in {k:?}");
    }
    let retryable = is_retryable(status, body);
    if is_retryable_status(status)
        || matches!(
            kind.as_deref(),
            Some("ThrottlingException" | "TooManyRequestsException" | "InternalServiceError")
        )
    {
        assert!(retryable, "status {status} / {kind:?} not retryable");
    }

    match interpret(status, body, "1 attempt") {
        Ok(creds) => {
            assert_eq!(
                status, 200,
                "credentials taken from a status {status} answer"
            );
            assert!(!creds.id.is_empty() && !creds.secret.is_empty());
            let value: Value = serde_json::from_slice(body).unwrap();
            let inner: Value =
                serde_json::from_str(value["SecretString"].as_str().unwrap()).unwrap();
            assert_eq!(inner["oauthClientId"].as_str(), Some(creds.id.as_str()));
            assert_eq!(
                inner["oauthClientSecret"].as_str(),
                Some(creds.secret.as_str())
            );
            if creds.secret.contains(MARKER) && !creds.id.contains(MARKER) {
                assert!(
                    !format!("{creds:?}").contains(MARKER),
                    "Debug shows the secret"
                );
            }
        }
        Err(e) => {
            check_error(&e, "Secrets");
            assert!(
                !e.message().contains(MARKER) || marker_outside_secret(body),
                "secret value leaked into the error: {}",
                e.message()
            );
        }
    }
}

/// Whether the marker occurs in the answer other than inside the top-level
/// `SecretString` (e.g. in `Message`, which is meant to be shown).
fn marker_outside_secret(body: &[u8]) -> bool {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        // Not JSON: nothing in it reaches a message, so no excuse either.
        return false;
    };
    if let Value::Object(m) = &mut value {
        // With duplicate keys the parsed value holds the last one, which is
        // also the one `interpret` reads.
        if m.get("SecretString").is_some_and(Value::is_string) {
            m.remove("SecretString");
        }
    }
    contains_marker(&value)
}

fn contains_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains(MARKER),
        Value::Array(a) => a.iter().any(contains_marker),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.contains(MARKER) || contains_marker(v)),
        _ => false,
    }
}

fn check_token_answer(body: &[u8]) {
    match parse_token(body) {
        Ok((token, lifetime)) => {
            assert!(!token.is_empty());
            assert!(lifetime <= Duration::from_secs(366 * 86_400));
            let value: Value = serde_json::from_slice(body).unwrap();
            assert_eq!(value["access_token"].as_str(), Some(token.as_str()));
            assert!(value["expires_in"].as_f64().is_some_and(|s| s > 0.0));
        }
        Err(e) => {
            check_error(&e, "Auth");
            assert_eq!(e.error_type(), "Auth.TokenMalformed");
        }
    }
}
