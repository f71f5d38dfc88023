//! The one HTTP layer: a process-wide keep-alive `ureq` agent, per-attempt
//! timeouts, retries with backoff, `Retry-After`, a cap on response bodies,
//! and the invocation's deadline over all of it.

use crate::deadline::Deadline;
use crate::error::{Category, Error};
use crate::retry::{backoff, is_retryable_status, parse_retry_after, Jitter, RetryPolicy};
use std::cell::RefCell;
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
    jitter: RefCell<Jitter>,
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
    /// Builds the agent once for the process.
    pub fn new(policy: RetryPolicy, attempt_timeout: Duration) -> HttpClient {
        let (agent, preconnector) = agent_with_preconnect();
        HttpClient {
            agent,
            preconnector,
            policy,
            attempt_timeout,
            jitter: RefCell::new(Jitter::from_entropy()),
        }
    }

    /// The shared agent, for the Runtime API client.
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
                Attempt::Failed(_) => (true, None),
            };
            let mut out_of_time = false;
            if retryable && attempt < max_attempts {
                let wait = retry_after.unwrap_or_else(|| {
                    backoff(
                        self.policy.base_delay,
                        attempt,
                        self.jitter.borrow_mut().next_unit(),
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

/// The agent configuration every call uses: statuses are answers, not
/// errors; redirects are never followed; no proxy from the environment (the
/// Runtime API is local and Lambda has no proxy); IP literals resolved
/// without a thread.
pub fn agent() -> ureq::Agent {
    agent_with_preconnect().0
}

/// How long an idle connection is kept for reuse. ureq's default (15 s)
/// made a Connect call 20 s after the last one pay a new TCP and TLS set-up;
/// load balancers keep idle connections 60 s (AWS ALB's default) to 350 s
/// (NAT gateways, NLB) or more, and a connection the server closed earlier
/// is noticed by ureq's probe before use at no cost. Measured by
/// `scripts/bench.sh` (network mode: warm answer after 20 s and 60 s idle).
pub const IDLE_LIMIT: Duration = Duration::from_secs(120);

/// The agent, its connector chain behind the preconnect layer.
fn agent_with_preconnect() -> (ureq::Agent, crate::preconnect::Preconnector) {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .max_idle_age(IDLE_LIMIT)
        .user_agent(format!("connect-pstn-transfer/{}", crate::VERSION))
        .build();
    let (connector, preconnector) = crate::preconnect::layer(
        ureq::unversioned::transport::DefaultConnector::new(),
        IDLE_LIMIT,
    );
    let agent = ureq::Agent::with_parts(config, connector, LiteralResolver::default());
    (agent, preconnector)
}

/// Host names go to ureq's resolver, which runs `getaddrinfo` on a helper
/// thread to bound it by the timeout; an IP literal (the Runtime API's
/// `127.0.0.1:9001`, the tests' servers) needs no lookup and no thread.
/// This uses ureq's semver-exempt `unversioned` API: Cargo.lock pins ureq,
/// and an upgrade must re-check it.
#[derive(Debug, Default)]
struct LiteralResolver(ureq::unversioned::resolver::DefaultResolver);

impl ureq::unversioned::resolver::Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let literal = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<std::net::IpAddr>().ok());
        let port = uri.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        match (literal, port) {
            (Some(ip), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => self.0.resolve(uri, config, timeout),
        }
    }
}

fn describe(outcome: &Attempt) -> String {
    match outcome {
        Attempt::Answer { status, .. } => format!("status {status}"),
        Attempt::Failed(e) => e.to_string(),
    }
}

fn transport_error(req: &Request<'_>, e: &ureq::Error, attempts: u32, out_of_time: bool) -> Error {
    let reason = match e {
        ureq::Error::Timeout(_) => "Timeout",
        _ => "Connection",
    };
    let plural = if attempts == 1 { "" } else { "s" };
    let stop = if out_of_time {
        ", stopped by the deadline"
    } else {
        ""
    };
    Error::new(
        req.category,
        reason,
        format!(
            "{} to {} failed after {attempts} attempt{plural}{stop}: {e}",
            req.what,
            host_of(&req.url)
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
