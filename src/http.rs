//! The one HTTP layer: a process-wide keep-alive `ureq` agent (assembled by
//! [`crate::transport`]), per-attempt timeouts, retries with backoff,
//! `Retry-After`, a cap on response bodies, and the invocation's deadline
//! over all of it. Failures that no retry can mend (a refused certificate, a
//! proxy's 407, a header that cannot be sent) are reported at once.

use crate::deadline::Deadline;
use crate::error::{Category, Error};
use crate::retry::{backoff, is_retryable_status, parse_retry_after, Jitter, RetryPolicy};
use crate::settings::Settings;
use crate::tls::TlsFailure;
use crate::tunnel::{ProxyFailure, ProxyFailureKind};
use std::sync::Mutex;
use std::time::Duration;

/// Largest response body read; a larger one is an error, not an allocation.
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// An HTTP POST to make, with what it is for (used in messages).
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// Short name for messages, e.g. "OAuth token request".
    pub what: &'a str,
    /// The category its failures are reported under.
    pub category: Category,
    pub url: String,
    pub headers: Vec<(&'a str, String)>,
    pub body: Vec<u8>,
    /// The settings the URL and headers come from, named when they cannot
    /// be sent (e.g. "apiDomain (or region) and apiKey").
    pub settings: &'a str,
}

/// A completed HTTP exchange (any status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    /// Attempts made, first included.
    pub attempts: u32,
    /// Set when a retryable answer was not retried for lack of time.
    pub out_of_time: bool,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Attempt count and, when relevant, why retrying stopped.
    pub fn attempts_note(&self) -> String {
        let plural = if self.attempts == 1 { "" } else { "s" };
        if self.out_of_time {
            format!("{} attempt{plural}, stopped by the deadline", self.attempts)
        } else {
            format!("{} attempt{plural}", self.attempts)
        }
    }
}

/// The process's HTTP client.
pub struct HttpClient {
    agent: ureq::Agent,
    preconnector: crate::preconnect::Preconnector,
    policy: RetryPolicy,
    attempt_timeout: Duration,
    /// Shared by concurrent invocations (Lambda Managed Instances).
    jitter: Mutex<Jitter>,
}

/// What one attempt gave.
enum Attempt {
    Answer {
        status: u16,
        body: Vec<u8>,
        retry_after: Option<Duration>,
    },
    Failed(ureq::Error),
}

impl HttpClient {
    /// Builds the agent once for the process, from its network settings.
    pub fn from_settings(settings: &Settings) -> HttpClient {
        let (agent, preconnector) = crate::transport::outbound_agent(
            &settings.trust,
            &settings.proxies,
            settings.connect_timeout,
        );
        HttpClient {
            agent,
            preconnector,
            policy: RetryPolicy {
                max_retries: settings.max_retries,
                base_delay: settings.retry_base_delay,
            },
            attempt_timeout: settings.client_timeout,
            jitter: Mutex::new(Jitter::from_entropy()),
        }
    }

    /// The outbound agent.
    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Starts opening connections to these URLs' hosts at once, on helper
    /// threads, unless one is open already (src/preconnect.rs).
    pub fn preconnect(&self, urls: &[String], deadline: Deadline) {
        let until = std::time::Instant::now() + deadline.remaining();
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        self.preconnector.open(&urls, self.agent.config(), until);
    }

    /// Waits (at most until `deadline`) for the connections being opened.
    pub fn settle(&self, deadline: Deadline) {
        self.preconnector
            .settle(std::time::Instant::now() + deadline.remaining());
    }

    /// POSTs with the default retry rule (transport errors, 408, 429, 5xx).
    pub fn post(&self, req: &Request<'_>, deadline: Deadline) -> Result<Response, Error> {
        self.post_with(req, deadline, &|status, _| is_retryable_status(status))
    }

    /// POSTs, retrying a completed answer when `retry_if(status, body)` says so
    /// (transport errors are always retried). Returns the last answer, whatever
    /// its status; errors only when no answer could be had at all.
    pub fn post_with(
        &self,
        req: &Request<'_>,
        deadline: Deadline,
        retry_if: &dyn Fn(u16, &[u8]) -> bool,
    ) -> Result<Response, Error> {
        if let Some(e) = unsendable(req) {
            return Err(e);
        }
        let max_attempts = self.policy.max_retries + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.remaining();
            if !deadline.allows(Duration::ZERO) {
                return Err(Error::new(
                    Category::Deadline,
                    "Exceeded",
                    format!(
                        "no time left for the {} (attempt {attempt} of {max_attempts})",
                        req.what
                    ),
                ));
            }
            let timeout = self.attempt_timeout.min(remaining);
            crate::debug!(
                "{} attempt {attempt}/{max_attempts}: POST {} (timeout {})",
                req.what,
                req.url,
                crate::log::ms(timeout)
            );
            let outcome = self.attempt(req, timeout);
            let (retryable, retry_after) = match &outcome {
                Attempt::Answer {
                    status,
                    body,
                    retry_after,
                } => {
                    let ok = (200..300).contains(status);
                    (!ok && retry_if(*status, body), *retry_after)
                }
                Attempt::Failed(ureq::Error::BodyExceedsLimit(_)) => {
                    return Err(Error::new(
                        req.category,
                        "BodyTooLarge",
                        format!(
                            "{} answer is larger than {MAX_BODY_BYTES} bytes; refused",
                            req.what
                        ),
                    ))
                }
                Attempt::Failed(e) => match permanent_failure(req, e) {
                    Some(err) => return Err(err),
                    None => (true, None),
                },
            };
            let mut out_of_time = false;
            if retryable && attempt < max_attempts {
                let wait = retry_after.unwrap_or_else(|| {
                    backoff(
                        self.policy.base_delay,
                        attempt,
                        self.jitter
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .next_unit(),
                    )
                });
                if deadline.allows(wait) {
                    crate::warn!(
                        "{} attempt {attempt} failed ({}); retrying in {}",
                        req.what,
                        describe(&outcome),
                        crate::log::ms(wait)
                    );
                    std::thread::sleep(wait);
                    continue;
                }
                out_of_time = true;
            }
            return match outcome {
                Attempt::Answer { status, body, .. } => Ok(Response {
                    status,
                    body,
                    attempts: attempt,
                    out_of_time,
                }),
                Attempt::Failed(e) => Err(transport_error(req, &e, attempt, out_of_time)),
            };
        }
    }

    fn attempt(&self, req: &Request<'_>, timeout: Duration) -> Attempt {
        let mut builder = self
            .agent
            .post(&req.url)
            .config()
            .timeout_global(Some(timeout))
            .build();
        for (name, value) in &req.headers {
            builder = builder.header(*name, value.as_str());
        }
        let mut response = match builder.send(&req.body[..]) {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(e),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
        {
            Ok(body) => Attempt::Answer {
                status,
                body,
                retry_after,
            },
            Err(e) => Attempt::Failed(e),
        }
    }
}

fn describe(outcome: &Attempt) -> String {
    match outcome {
        Attempt::Answer { status, .. } => format!("status {status}"),
        Attempt::Failed(e) => e.to_string(),
    }
}

/// A request that cannot leave this process as it is: a URL that does not
/// parse, or a header value with bytes HTTP forbids (CR, LF, other control
/// characters). A local mistake, so a `Config` error naming what carries it,
/// never retried and never reported as a connection failure.
fn unsendable(req: &Request<'_>) -> Option<Error> {
    let valid_url = req
        .url
        .parse::<ureq::http::Uri>()
        .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
    if !valid_url {
        return Some(Error::config(
            "InvalidUrl",
            format!(
                "the {} cannot be sent: its URL is not a valid http(s) URL; check {}",
                req.what, req.settings
            ),
        ));
    }
    for (name, value) in &req.headers {
        if ureq::http::HeaderValue::from_str(value).is_err() {
            return Some(Error::config(
                "InvalidHeader",
                format!(
                    "the {} cannot be sent: its {name} header would hold a control character (CR, LF...) or another byte HTTP forbids; check {}",
                    req.what, req.settings
                ),
            ));
        }
    }
    None
}

/// A failure that retrying cannot mend, as the error to report: a refused
/// TLS handshake (`*.Tls`), or a proxy's 407 (`*.ProxyAuthRequired`).
fn permanent_failure(req: &Request<'_>, e: &ureq::Error) -> Option<Error> {
    if let Some(tls) = find::<TlsFailure>(e) {
        return Some(Error::new(
            req.category,
            "Tls",
            format!(
                "{} to {} refused: {tls} (not retried: a refused handshake is permanent)",
                req.what,
                host_of(&req.url)
            ),
        ));
    }
    match find::<ProxyFailure>(e) {
        Some(p) if p.kind == ProxyFailureKind::AuthRequired => Some(proxy_error(req, p, 1, false)),
        _ => None,
    }
}

/// A typed failure carried by one of our connectors inside a ureq error.
fn find<T: std::error::Error + 'static>(e: &ureq::Error) -> Option<&T> {
    match e {
        ureq::Error::Other(inner) => inner.downcast_ref::<T>(),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<T>()),
        _ => None,
    }
}

fn proxy_error(req: &Request<'_>, p: &ProxyFailure, attempts: u32, out_of_time: bool) -> Error {
    let reason = match p.kind {
        ProxyFailureKind::Unreachable => "ProxyUnreachable",
        ProxyFailureKind::AuthRequired => "ProxyAuthRequired",
        ProxyFailureKind::Refused(_) => "ProxyRefused",
        ProxyFailureKind::Broken => "ProxyFailed",
    };
    Error::new(
        req.category,
        reason,
        format!(
            "{} could not go through the proxy ({}): {p}",
            req.what,
            attempts_text(attempts, out_of_time)
        ),
    )
}

fn attempts_text(attempts: u32, out_of_time: bool) -> String {
    let plural = if attempts == 1 { "" } else { "s" };
    let stop = if out_of_time {
        ", stopped by the deadline"
    } else {
        ""
    };
    format!("{attempts} attempt{plural}{stop}")
}

fn transport_error(req: &Request<'_>, e: &ureq::Error, attempts: u32, out_of_time: bool) -> Error {
    if let Some(p) = find::<ProxyFailure>(e) {
        return proxy_error(req, p, attempts, out_of_time);
    }
    let reason = match e {
        ureq::Error::Timeout(_) => "Timeout",
        _ => "Connection",
    };
    Error::new(
        req.category,
        reason,
        format!(
            "{} to {} failed after {}: {e}",
            req.what,
            host_of(&req.url),
            attempts_text(attempts, out_of_time)
        ),
    )
}

/// The `scheme://host[:port]` part of a URL, for messages.
pub fn host_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_strips_the_path() {
        assert_eq!(host_of("https://a.b/v1/x:y"), "https://a.b");
        assert_eq!(host_of("http://127.0.0.1:9/"), "http://127.0.0.1:9");
        assert_eq!(host_of("https://a.b"), "https://a.b");
    }

    #[test]
    fn requests_that_cannot_be_sent_are_config_errors_naming_the_settings() {
        let req = |url: &str, value: &str| Request {
            what: "test call",
            category: Category::Upstream,
            url: url.to_string(),
            headers: vec![("Authorization", value.to_string())],
            body: vec![],
            settings: "apiDomain and apiKey",
        };
        assert!(unsendable(&req("https://a.b/v1/x:y", "ApiKey k")).is_none());
        for (url, value, kind) in [
            ("https://a.b/x", "ApiKey k\r\nX: y", "Config.InvalidHeader"),
            ("https://a.b/x", "ApiKey k\u{7f}", "Config.InvalidHeader"),
            ("https://a b/x", "ApiKey k", "Config.InvalidUrl"),
            ("https:///x", "ApiKey k", "Config.InvalidUrl"),
            ("not a url", "ApiKey k", "Config.InvalidUrl"),
        ] {
            let e = unsendable(&req(url, value)).unwrap();
            assert_eq!(e.error_type(), kind, "{url} {value:?}");
            assert!(e.message().contains("apiDomain and apiKey"), "{e}");
            assert!(!e.message().contains("X: y"), "{e}");
        }
    }

    #[test]
    fn attempts_note_reads_well() {
        let r = Response {
            status: 500,
            body: vec![],
            attempts: 4,
            out_of_time: false,
        };
        assert_eq!(r.attempts_note(), "4 attempts");
        let r = Response {
            attempts: 1,
            out_of_time: true,
            ..r
        };
        assert_eq!(r.attempts_note(), "1 attempt, stopped by the deadline");
    }
}
