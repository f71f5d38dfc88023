//! Connection set-up: how the process's `ureq` agents are assembled.
//!
//! Outbound calls (Cresta, the token endpoint, Secrets Manager) use a chain
//! of small connectors, one concept each, as ureq's own chain does:
//! [`TunnelConnector`] (a `CONNECT` tunnel when [`crate::proxy`] says so),
//! then TCP, then [`TlsConnector`] (rustls with [`crate::trust`]'s roots).
//! [`build_agent`] is the one place an outbound agent is made from such
//! parts, so another layer (e.g. pre-connecting) can wrap the connector.
//!
//! The Lambda Runtime API has its own agent ([`runtime_agent`]): plain HTTP
//! to a local address, never through a proxy whatever the environment says.
//!
//! This uses ureq's semver-exempt `unversioned` API: Cargo.lock pins ureq,
//! and an upgrade must re-check it.

use crate::preconnect::Preconnector;
use crate::proxy::Proxies;
use crate::tls::TlsConnector;
use crate::trust::Trust;
use crate::tunnel::TunnelConnector;
use std::sync::Arc;
use std::time::Duration;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, NextTimeout, TcpConnector, Transport,
};

/// The outbound connector chain: tunnel (when proxied), TCP, TLS (for https).
pub fn outbound_connector(
    trust: &Trust,
    proxies: Arc<Proxies>,
) -> impl Connector<(), Out = impl Transport> {
    ().chain(TunnelConnector::new(proxies))
        .chain(TcpConnector::default())
        .chain(TlsConnector::new(trust.clone()))
}

/// The agent for outbound calls, from the process's network settings, with
/// its connector chain behind the pre-connecting layer ([`crate::preconnect`])
/// and the handle that feeds that layer.
pub fn outbound_agent(
    trust: &Trust,
    proxies: &Proxies,
    connect_timeout: Duration,
) -> (ureq::Agent, Preconnector) {
    let proxies = Arc::new(proxies.clone());
    let (connector, preconnector) = crate::preconnect::layer(
        outbound_connector(trust, proxies.clone()),
        ProxyAwareResolver::new(proxies.clone()),
        IDLE_LIMIT,
    );
    let agent = build_agent(connector, ProxyAwareResolver::new(proxies), connect_timeout);
    (agent, preconnector)
}

/// How long an idle connection is kept for reuse. ureq's default (15 s)
/// made a Connect call 20 s after the last one pay a new TCP and TLS set-up;
/// load balancers keep idle connections 60 s (AWS ALB's default) to 350 s
/// (NAT gateways, NLB) or more, and a connection the server closed earlier
/// is noticed by ureq's probe before use at no cost. Measured by
/// `scripts/bench.sh` (network mode: warm answer after 20 s and 60 s idle).
pub const IDLE_LIMIT: Duration = Duration::from_secs(120);

/// An agent from a connector and a resolver. Statuses are answers, not
/// errors; redirects are never followed; ureq's own proxy support is off
/// (proxies are the connector's business); connecting (TCP, the proxy's
/// tunnel and the TLS handshake) is bounded by `connect_timeout`.
pub fn build_agent(
    connector: impl Connector,
    resolver: impl Resolver,
    connect_timeout: Duration,
) -> ureq::Agent {
    let config = base_config().timeout_connect(Some(connect_timeout)).build();
    ureq::Agent::with_parts(config, connector, resolver)
}

/// Idle connections kept, per host and overall: enough for every worker of
/// `AWS_LAMBDA_MAX_CONCURRENCY` (see `runtime::MAX_WORKERS`) to keep its own.
const MAX_IDLE_CONNECTIONS: usize = 1600;

/// Per-connection buffers: the input one bounds a response's headers.
const INPUT_BUFFER_BYTES: usize = 32 * 1024;
const OUTPUT_BUFFER_BYTES: usize = 16 * 1024;

/// What every agent shares: statuses are answers, no redirects, no ureq
/// proxy, a connection kept per concurrent worker, small buffers.
fn base_config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        // Concurrent invocations each hold a connection to the same hosts;
        // keep them all for reuse (ureq keeps 3 per host by default).
        .max_idle_connections(MAX_IDLE_CONNECTIONS)
        .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
        .max_idle_age(IDLE_LIMIT)
        // ureq fills both buffers of every connection (128 KB each by
        // default): with a connection per worker that is most of the RSS.
        // Requests and response headers here are a few KB; bodies stream.
        .input_buffer_size(INPUT_BUFFER_BYTES)
        .output_buffer_size(OUTPUT_BUFFER_BYTES)
        .max_response_header_size(INPUT_BUFFER_BYTES - 1)
        .user_agent(format!("connect-pstn-transfer/{}", crate::VERSION))
}

/// The Runtime API's agent: plain TCP (the Runtime API is local HTTP), no
/// proxy whatever the environment says, IP literals resolved without a
/// thread. Also used by the panic hook. Not ureq's `DefaultConnector`: that
/// would link a second TLS and proxy stack into the binary for nothing.
pub fn runtime_agent() -> ureq::Agent {
    let config = base_config().build();
    ureq::Agent::with_parts(
        config,
        ().chain(TcpConnector::default()),
        LiteralResolver::default(),
    )
}

/// What is left of the connect timeout: the connectors after TCP share the
/// budget that started when the connection began.
pub fn remaining(details: &ConnectionDetails) -> NextTimeout {
    use ureq::unversioned::transport::time::{Duration as UDuration, Instant as UInstant};
    let mut timeout = details.timeout;
    if let (UDuration::Exact(limit), UInstant::Exact(start), UInstant::Exact(now)) =
        (timeout.after, details.now, (details.current_time)())
    {
        timeout.after =
            UDuration::Exact(limit.saturating_sub(now.saturating_duration_since(start)));
    }
    timeout
}

/// The port of a URI, or its scheme's default.
pub fn port_of(uri: &ureq::http::Uri) -> Option<u16> {
    uri.port_u16().or(match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

/// Host names go to ureq's resolver, which runs `getaddrinfo` on a helper
/// thread to bound it by the timeout; an IP literal (the Runtime API's
/// `127.0.0.1:9001`, the tests' servers) needs no lookup and no thread.
#[derive(Debug, Default)]
pub struct LiteralResolver(DefaultResolver);

impl Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<std::net::IpAddr>().ok());
        match (literal, port_of(uri)) {
            (Some(ip), Some(port)) => {
                let mut addrs = self.empty();
                addrs.push(std::net::SocketAddr::new(ip, port));
                Ok(addrs)
            }
            _ => self.0.resolve(uri, config, timeout),
        }
    }
}

/// A target reached through a proxy is not resolved here: the proxy
/// resolves it (as curl does), so a VPC that resolves only the proxy works.
#[derive(Debug)]
pub struct ProxyAwareResolver {
    proxies: Arc<Proxies>,
    inner: LiteralResolver,
}

impl ProxyAwareResolver {
    pub fn new(proxies: Arc<Proxies>) -> ProxyAwareResolver {
        ProxyAwareResolver {
            proxies,
            inner: LiteralResolver::default(),
        }
    }
}

impl Resolver for ProxyAwareResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let proxied = uri.host().is_some_and(|host| {
            self.proxies
                .for_target(uri.scheme_str().unwrap_or_default(), host)
                .is_some()
        });
        if proxied {
            return Ok(self.empty());
        }
        self.inner.resolve(uri, config, timeout)
    }
}
