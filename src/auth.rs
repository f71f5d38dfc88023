//! OAuth 2 client credentials against Cresta's regional token endpoint, with
//! a token cache that lives for the whole process and is shared by
//! concurrent invocations.

use crate::deadline::Deadline;
use crate::error::{excerpt, Category, Error};
use crate::http::{HttpClient, Request};
use crate::single_flight::Flights;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// An OAuth client id and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ClientCredentials {{ id: {:?}, secret: <redacted> }}",
            self.id
        )
    }
}

/// A token is dropped this long before it expires...
const SAFETY_BUFFER: Duration = Duration::from_secs(300);
/// ...and the cache never holds more than this many clients.
const MAX_ENTRIES: usize = 16;

/// How long a token that the server says lasts `expires_in` is reused:
/// five minutes less, or half of it when it is five minutes or less.
pub fn reuse_for(expires_in: Duration) -> Duration {
    if expires_in > SAFETY_BUFFER {
        expires_in - SAFETY_BUFFER
    } else {
        expires_in / 2
    }
}

struct CachedToken {
    token: String,
    /// The secret it was issued for: a caller with the same client id but
    /// another secret gets no token it could not have obtained itself.
    secret: String,
    reuse_until: Instant,
}

/// (auth base URL, client id).
type Key = (String, String);

/// Tokens by (auth base URL, client id), valid for the process's life and
/// shared by concurrent invocations: those that need a token at the same
/// time wait for one request (single flight).
#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<Key, CachedToken>>,
    /// Keyed by (auth base URL, client id, secret): only callers with the
    /// same credentials share a request.
    flights: Flights<(String, String, String), (String, bool)>,
}

impl TokenCache {
    /// A cached, still fresh token for these credentials.
    pub fn get(&self, auth_base: &str, creds: &ClientCredentials) -> Option<String> {
        lock(&self.entries)
            .get(&(auth_base.to_string(), creds.id.clone()))
            .filter(|t| t.secret == creds.secret && Instant::now() < t.reuse_until)
            .map(|t| t.token.clone())
    }

    /// Drops a token the API refused, unless another invocation has
    /// replaced it already.
    pub fn forget(&self, auth_base: &str, client_id: &str, token: &str) {
        let mut entries = lock(&self.entries);
        let key = (auth_base.to_string(), client_id.to_string());
        if entries.get(&key).is_some_and(|t| t.token == token) {
            entries.remove(&key);
        }
    }

    /// A fresh token: the cached one, or a new one (whether it came from the
    /// cache is the second value). Concurrent callers with the same
    /// credentials share one request; each waits until its own deadline.
    pub fn token(
        &self,
        http: &HttpClient,
        auth_base: &str,
        creds: &ClientCredentials,
        deadline: Deadline,
    ) -> Result<(String, bool), Error> {
        if let Some(t) = self.get(auth_base, creds) {
            return Ok((t, true));
        }
        let key = (
            auth_base.to_string(),
            creds.id.clone(),
            creds.secret.clone(),
        );
        self.flights.run(&key, deadline, "OAuth token request", || {
            // A request that ended just before this one began may have
            // filled the cache.
            if let Some(t) = self.get(auth_base, creds) {
                return Ok((t, true));
            }
            let (token, lifetime) = request_token(http, auth_base, creds, deadline)?;
            self.store(auth_base, creds, &token, lifetime);
            Ok((token, false))
        })
    }

    fn store(&self, auth_base: &str, creds: &ClientCredentials, token: &str, lifetime: Duration) {
        let now = Instant::now();
        let mut entries = lock(&self.entries);
        entries.retain(|_, t| now < t.reuse_until);
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (auth_base.to_string(), creds.id.clone()),
            CachedToken {
                token: token.to_string(),
                secret: creds.secret.clone(),
                reuse_until: now + reuse_for(lifetime),
            },
        );
    }
}

/// The cache stays consistent even if a thread panicked holding the lock.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `POST {auth}/v1/oauth/regionalToken` with Basic auth; the token and its lifetime.
fn request_token(
    http: &HttpClient,
    auth_base: &str,
    creds: &ClientCredentials,
    deadline: Deadline,
) -> Result<(String, Duration), Error> {
    let basic = base64(format!("{}:{}", creds.id, creds.secret).as_bytes());
    crate::log::register_secret(&creds.secret);
    crate::log::register_secret(&basic);
    let req = Request {
        what: "OAuth token request",
        category: Category::Auth,
        url: format!("{auth_base}/v1/oauth/regionalToken"),
        headers: vec![
            ("Authorization", format!("Basic {basic}")),
            ("Content-Type", "application/json".to_string()),
        ],
        body: br#"{"grant_type":"client_credentials"}"#.to_vec(),
        settings: "authDomain (or region)",
    };
    let resp = http.post(&req, deadline)?;
    if !resp.is_success() {
        let reason = match resp.status {
            401 | 403 => "TokenRejected".to_string(),
            s => format!("TokenStatus{s}"),
        };
        return Err(Error::new(
            Category::Auth,
            reason,
            format!(
                "OAuth token request failed with status {} ({}): {}",
                resp.status,
                resp.attempts_note(),
                excerpt(&resp.body)
            ),
        ));
    }
    parse_token(&resp.body)
}

/// Reads `{"access_token", "expires_in"}`; a missing token or a lifetime
/// that is not a positive number is an error.
pub fn parse_token(body: &[u8]) -> Result<(String, Duration), Error> {
    let malformed = |why: String| Error::new(Category::Auth, "TokenMalformed", why);
    // No excerpt of the body: it may hold a token in another format.
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        malformed(format!(
            "OAuth token answer is not JSON ({} bytes)",
            body.len()
        ))
    })?;
    let token = value
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| malformed("OAuth token answer has no access_token".to_string()))?;
    crate::log::register_secret(token);
    let expires_in = value
        .get("expires_in")
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| malformed("OAuth token answer has no positive expires_in".to_string()))?;
    let lifetime =
        Duration::try_from_secs_f64(expires_in.min(366.0 * 86_400.0)).unwrap_or(Duration::ZERO);
    Ok((token.to_string(), lifetime))
}

/// Standard base64 with padding.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expect) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expect);
        }
    }

    #[test]
    fn tokens_are_reused_until_five_minutes_before_expiry() {
        assert_eq!(
            reuse_for(Duration::from_secs(3600)),
            Duration::from_secs(3300)
        );
        assert_eq!(
            reuse_for(Duration::from_secs(300)),
            Duration::from_secs(150)
        );
        assert_eq!(reuse_for(Duration::from_secs(60)), Duration::from_secs(30));
    }

    #[test]
    fn token_answers_are_checked() {
        let (t, d) =
            parse_token(br#"{"access_token":"tok-1234","token_type":"Bearer","expires_in":3600}"#)
                .unwrap();
        assert_eq!((t.as_str(), d), ("tok-1234", Duration::from_secs(3600)));
        for bad in [
            &br#"<html>"#[..],
            br#"{"expires_in":3600}"#,
            br#"{"access_token":"","expires_in":3600}"#,
            br#"{"access_token":"t","expires_in":0}"#,
            br#"{"access_token":"t","expires_in":-5}"#,
            br#"{"access_token":"t"}"#,
            br#"[]"#,
        ] {
            assert_eq!(
                parse_token(bad).unwrap_err().error_type(),
                "Auth.TokenMalformed"
            );
        }
    }

    fn creds(secret: &str) -> ClientCredentials {
        ClientCredentials {
            id: "client".into(),
            secret: secret.into(),
        }
    }

    #[test]
    fn a_cached_token_goes_only_to_the_same_credentials() {
        let cache = TokenCache::default();
        let base = "https://auth.example";
        cache.store(
            base,
            &creds("right-secret"),
            "tok-1",
            Duration::from_secs(3600),
        );
        assert_eq!(
            cache.get(base, &creds("right-secret")).as_deref(),
            Some("tok-1")
        );
        assert_eq!(cache.get(base, &creds("other-secret")), None);
        assert_eq!(
            cache.get("https://other.example", &creds("right-secret")),
            None
        );
    }

    #[test]
    fn forgetting_a_refused_token_keeps_a_newer_one() {
        let cache = TokenCache::default();
        let base = "https://auth.example";
        let c = creds("s3cret");
        cache.store(base, &c, "tok-new", Duration::from_secs(3600));
        // Another invocation already replaced the token this one was refused.
        cache.forget(base, &c.id, "tok-old");
        assert_eq!(cache.get(base, &c).as_deref(), Some("tok-new"));
        cache.forget(base, &c.id, "tok-new");
        assert_eq!(cache.get(base, &c), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = ClientCredentials {
            id: "id".into(),
            secret: "hunter2-secret".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
