//! The proxy link of the connection chain: when [`crate::proxy`] says a
//! target goes through a proxy, open a TCP connection to the proxy and ask
//! for a tunnel with `CONNECT host:port` (with `Proxy-Authorization` when the
//! proxy URL had credentials). TLS to the target, if any, runs inside it.
//!
//! A proxy that cannot be reached, wants credentials (407) or refuses the
//! tunnel is a [`ProxyFailure`] naming the proxy, never the target.

use crate::proxy::Proxies;
use crate::transport::{remaining, LiteralResolver};
use std::io::Write;
use std::sync::Arc;
use ureq::unversioned::resolver::Resolver;
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, Either, TcpConnector, Transport, TransportAdapter,
};

/// Longest CONNECT answer head accepted.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How a proxy failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyFailureKind {
    /// No TCP connection could be made (refused, unresolvable, timed out).
    Unreachable,
    /// 407: the proxy wants (other) credentials. Not retried.
    AuthRequired,
    /// Another non-2xx answer to CONNECT.
    Refused(u16),
    /// The proxy closed the connection or answered something that is not HTTP.
    Broken,
}

/// A proxy failure, carried inside `ureq::Error::Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyFailure {
    /// `http://host:port` of the proxy, no credentials.
    pub proxy: String,
    /// The variable that named the proxy.
    pub variable: &'static str,
    pub kind: ProxyFailureKind,
    pub detail: String,
}

impl std::fmt::Display for ProxyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proxy {} (from {}) ", self.proxy, self.variable)?;
        match self.kind {
            ProxyFailureKind::Unreachable => write!(f, "cannot be reached: {}", self.detail),
            ProxyFailureKind::AuthRequired => write!(
                f,
                "answered 407: it requires credentials, or refused the ones in {}",
                self.variable
            ),
            ProxyFailureKind::Refused(status) => {
                write!(
                    f,
                    "refused the tunnel with status {status}: {}",
                    self.detail
                )
            }
            ProxyFailureKind::Broken => write!(f, "broke the tunnel: {}", self.detail),
        }
    }
}

impl std::error::Error for ProxyFailure {}

/// Opens the tunnel for targets that go through a proxy; passes on the rest.
#[derive(Debug)]
pub struct TunnelConnector {
    proxies: Arc<Proxies>,
    resolver: LiteralResolver,
}

impl TunnelConnector {
    pub fn new(proxies: Arc<Proxies>) -> TunnelConnector {
        TunnelConnector {
            proxies,
            resolver: LiteralResolver::default(),
        }
    }
}

impl<In: Transport> Connector<In> for TunnelConnector {
    type Out = Either<In, Box<dyn Transport>>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let uri = details.uri;
        let scheme = uri.scheme_str().unwrap_or_default();
        let (Some(host), Some(port)) = (uri.host(), crate::transport::port_of(uri)) else {
            return Ok(None);
        };
        let Some(proxy) = self.proxies.for_target(scheme, host) else {
            return Ok(None);
        };
        let fail = |kind, detail: String| {
            ureq::Error::Other(Box::new(ProxyFailure {
                proxy: proxy.display(),
                variable: proxy.variable,
                kind,
                detail,
            }))
        };
        let proxy_uri: ureq::http::Uri = format!("http://{}/", proxy.authority())
            .parse()
            .map_err(|_| fail(ProxyFailureKind::Unreachable, "bad address".into()))?;
        let unreachable = |e: ureq::Error| fail(ProxyFailureKind::Unreachable, e.to_string());
        let addrs = self
            .resolver
            .resolve(&proxy_uri, details.config, remaining(details))
            .map_err(unreachable)?;
        let to_proxy = ConnectionDetails {
            uri: &proxy_uri,
            addrs,
            config: details.config,
            request_level: details.request_level,
            resolver: details.resolver,
            now: details.now,
            timeout: details.timeout,
            current_time: details.current_time.clone(),
            run_connector: details.run_connector.clone(),
            register_shutdown: details.register_shutdown.clone(),
        };
        let tcp = Connector::<()>::connect(&TcpConnector::default(), &to_proxy, None)
            .map_err(unreachable)?
            .ok_or_else(|| fail(ProxyFailureKind::Unreachable, "no connection".into()))?;

        let mut w = TransportAdapter::new(tcp.boxed(), details.current_time.clone());
        w.set_timeout(remaining(details));
        let mut head = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
        if let Some(auth) = proxy.authorization() {
            head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
        }
        head.push_str("\r\n");
        let broken = |e: &dyn std::fmt::Display| fail(ProxyFailureKind::Broken, e.to_string());
        w.write_all(head.as_bytes())
            .and_then(|_| w.flush())
            .map_err(|e| broken(&e))?;
        let mut transport = w.into_inner();

        let status = loop {
            let input = transport.buffers().input();
            if let Some(end) = input.windows(4).position(|w| w == b"\r\n\r\n") {
                let status = parse_status(&input[..end]);
                transport.buffers().input_consume(end + 4);
                break status.ok_or_else(|| broken(&"its answer to CONNECT is not HTTP"))?;
            }
            if input.len() > MAX_HEAD_BYTES {
                return Err(broken(&"its answer to CONNECT is too long"));
            }
            match transport.await_input(remaining(details)) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(broken(
                        &"it closed the connection instead of answering CONNECT",
                    ))
                }
                Err(ureq::Error::Timeout(_)) => {
                    return Err(broken(&"no answer to CONNECT within the connect timeout"))
                }
                Err(e) => return Err(broken(&e)),
            }
        };
        match status {
            200..=299 => Ok(Some(Either::B(transport))),
            407 => Err(fail(ProxyFailureKind::AuthRequired, String::new())),
            s => Err(fail(
                ProxyFailureKind::Refused(s),
                format!("CONNECT {host}:{port}"),
            )),
        }
    }
}

/// The status code of an HTTP/1.x status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts
        .next()?
        .parse()
        .ok()
        .filter(|s| (100..600).contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"HTTP/1.1 200 Connection established"),
            Some(200)
        );
        assert_eq!(parse_status(b"HTTP/1.0 407 Proxy Auth\r\nX: y"), Some(407));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status(b"HTTP/1.1 abc"), None);
    }

    #[test]
    fn failures_name_the_proxy() {
        let f = ProxyFailure {
            proxy: "http://proxy.corp:3128".into(),
            variable: "HTTPS_PROXY",
            kind: ProxyFailureKind::AuthRequired,
            detail: String::new(),
        };
        let text = f.to_string();
        assert!(
            text.starts_with("proxy http://proxy.corp:3128 (from HTTPS_PROXY)"),
            "{text}"
        );
        assert!(text.contains("407"), "{text}");
    }
}
