//! Which proxy, if any, a call goes through: `HTTPS_PROXY`/`https_proxy`
//! for https targets, `HTTP_PROXY`/`http_proxy` for http targets, and
//! `NO_PROXY`/`no_proxy` as curl reads it. Read once at init; the decision
//! per call ([`Proxies::for_target`]) is a pure function.
//!
//! The Lambda Runtime API never goes through a proxy: its agent
//! ([`crate::transport::runtime_agent`]) never consults this module.

use crate::error::Error;
use std::net::IpAddr;

/// A proxy server to tunnel through, without its credentials in any
/// printable form.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyServer {
    /// The variable it came from, for messages.
    pub variable: &'static str,
    /// Host name or IP literal (an IPv6 literal without brackets).
    pub host: String,
    pub port: u16,
    /// `Basic ...` when the URL carried credentials.
    authorization: Option<String>,
}

impl ProxyServer {
    /// `http://host:port`, never with credentials: for messages and logs.
    pub fn display(&self) -> String {
        format!("http://{}", self.authority())
    }

    /// `host:port`, IPv6 literals in brackets.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Proxy-Authorization` value, when the URL carried credentials.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }
}

impl std::fmt::Debug for ProxyServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ProxyServer({} from {}{})",
            self.display(),
            self.variable,
            if self.authorization.is_some() {
                ", with credentials"
            } else {
                ""
            }
        )
    }
}

/// The proxy settings of the process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    https: Option<ProxyServer>,
    http: Option<ProxyServer>,
    no_proxy: Vec<NoProxyEntry>,
}

impl Proxies {
    /// Reads the proxy variables; the lowercase name wins when both are set
    /// (as curl does). An unusable proxy URL is an error naming the variable.
    /// Credentials are registered for redaction before anything else.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Proxies, Error> {
        let pick = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| get(n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
        };
        let server = |names| match pick(names) {
            Some((var, url)) => parse_proxy_url(var, url.trim()).map(Some),
            None => Ok(None),
        };
        Ok(Proxies {
            https: server(["https_proxy", "HTTPS_PROXY"])?,
            http: server(["http_proxy", "HTTP_PROXY"])?,
            no_proxy: pick(["no_proxy", "NO_PROXY"])
                .map(|(_, v)| parse_no_proxy(&v))
                .unwrap_or_default(),
        })
    }

    /// Whether no proxy is configured at all.
    pub fn is_empty(&self) -> bool {
        self.https.is_none() && self.http.is_none()
    }

    /// The proxy for a target, or `None` to connect directly.
    pub fn for_target(&self, scheme: &str, host: &str) -> Option<&ProxyServer> {
        let server = match scheme {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }?;
        if self.no_proxy.iter().any(|e| e.matches(host)) {
            return None;
        }
        Some(server)
    }
}

/// One `NO_PROXY` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NoProxyEntry {
    /// `*`: no host is proxied.
    All,
    /// A host name (lowercase, no leading dot): itself and its subdomains.
    Domain(String),
    /// An IP address, or a CIDR range.
    Ip(IpAddr, u8),
}

impl NoProxyEntry {
    fn matches(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host);
        match self {
            NoProxyEntry::All => true,
            NoProxyEntry::Domain(d) => {
                let host = host.to_ascii_lowercase();
                host == *d
                    || host
                        .strip_suffix(d.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            NoProxyEntry::Ip(net, bits) => host
                .parse::<IpAddr>()
                .is_ok_and(|ip| in_network(ip, *net, *bits)),
        }
    }
}

/// curl's reading: entries separated by commas (or spaces); `*` alone
/// matches every host; `example.com`, `.example.com` and `*.example.com`
/// all match `example.com` and every subdomain of it; IP addresses match
/// exactly, `10.0.0.0/8` style ranges by prefix; a `:port` on an entry is
/// ignored. Entries curl would not understand are ignored, as curl does.
fn parse_no_proxy(value: &str) -> Vec<NoProxyEntry> {
    value
        .split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            if e == "*" {
                return Some(NoProxyEntry::All);
            }
            let (addr, bits) = match e.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (e, None),
            };
            // A port (`host:8443`, `[::1]:8443`) is ignored: the host decides.
            let addr = match addr.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None if addr.matches(':').count() == 1 => {
                    addr.split(':').next().unwrap_or_default()
                }
                None => addr,
            };
            if let Ok(ip) = addr.parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                let bits = match bits {
                    Some(b) => b.parse::<u8>().ok().filter(|b| *b <= max)?,
                    None => max,
                };
                return Some(NoProxyEntry::Ip(ip, bits));
            }
            if bits.is_some() {
                return None;
            }
            let name = addr.trim_start_matches("*.").trim_start_matches('.');
            let name = name.strip_suffix('.').unwrap_or(name);
            (!name.is_empty()).then(|| NoProxyEntry::Domain(name.to_ascii_lowercase()))
        })
        .collect()
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
        let whole = usize::from(bits / 8);
        let rest = bits % 8;
        if a[..whole] != b[..whole] {
            return false;
        }
        rest == 0 || (a[whole] ^ b[whole]) & (0xffu8 << (8 - rest)) == 0
    }
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(&a.octets(), &b.octets(), bits),
        (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(&a.octets(), &b.octets(), bits),
        _ => false,
    }
}

/// `[http://][user[:password]@]host[:port][/]`. Only plain-HTTP proxies are
/// supported (https targets go through them in a CONNECT tunnel); the port
/// defaults to 80, as Go and Python do for `http://`.
fn parse_proxy_url(var: &'static str, url: &str) -> Result<ProxyServer, Error> {
    let bad = |why: &str| {
        Error::config(
            "InvalidSetting",
            format!("{var} is not a usable proxy URL: {why}"),
        )
    };
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(bad(&format!(
                "the {scheme:?} scheme is not supported (only http://host:port)"
            )))
        }
        None => url,
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err(bad(
            "expected http://[user:password@]host:port with no path",
        ));
    }
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = split_host_port(hostport).ok_or_else(|| bad("no host, or a bad port"))?;
    let authorization = match userinfo {
        Some(info) => {
            // Registered before any check below can fail and quote it.
            crate::log::register_secret(info);
            let (user, password) = info.split_once(':').unwrap_or((info, ""));
            let user = percent_decode(user).ok_or_else(|| bad("bad %-escape in the user name"))?;
            let password =
                percent_decode(password).ok_or_else(|| bad("bad %-escape in the password"))?;
            crate::log::register_secret(&password);
            let basic = crate::auth::base64(format!("{user}:{password}").as_bytes());
            crate::log::register_secret(&basic);
            Some(format!("Basic {basic}"))
        }
        None => None,
    };
    Ok(ProxyServer {
        variable: var,
        host,
        port,
        authorization,
    })
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        host.parse::<std::net::Ipv6Addr>().ok()?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == ':';
    if host.is_empty() || !host.chars().all(valid) {
        return None;
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
        None => 80,
    };
    Some((host.to_ascii_lowercase(), port))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup as env;

    fn proxies(pairs: &[(&str, &str)]) -> Proxies {
        Proxies::from_env(&env(pairs)).unwrap()
    }

    #[test]
    fn each_scheme_has_its_variable() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://secure:3128"),
            ("HTTP_PROXY", "plain:8080"),
        ]);
        assert_eq!(
            p.for_target("https", "api.cresta.com").unwrap().display(),
            "http://secure:3128"
        );
        assert_eq!(
            p.for_target("http", "localstack").unwrap().display(),
            "http://plain:8080"
        );
        let only_https = proxies(&[("HTTPS_PROXY", "http://p:1")]);
        assert!(only_https.for_target("http", "x").is_none());
        assert!(proxies(&[]).is_empty());
        assert!(proxies(&[]).for_target("https", "x").is_none());
    }

    #[test]
    fn lowercase_wins_as_in_curl() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:2"),
        ]);
        assert_eq!(p.for_target("https", "h").unwrap().host, "lower");
        let p = proxies(&[
            ("HTTPS_PROXY", "http://p:1"),
            ("NO_PROXY", "a.com"),
            ("no_proxy", "b.com"),
        ]);
        assert!(p.for_target("https", "a.com").is_some());
        assert!(p.for_target("https", "b.com").is_none());
    }

    #[test]
    fn no_proxy_reads_like_curl() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://p:1"),
            (
                "NO_PROXY",
                "localhost, .internal.example, amazonaws.com,*.corp.net ,10.0.0.0/8,[::1],192.168.1.7,svc.local:8443,[fd00::2]:443",
            ),
        ]);
        let direct = |h: &str| p.for_target("https", h).is_none();
        assert!(direct("localhost"));
        assert!(direct("LOCALHOST."));
        assert!(direct("internal.example"));
        assert!(direct("svc.internal.example"));
        assert!(direct("amazonaws.com"));
        assert!(direct("secretsmanager.us-east-1.amazonaws.com"));
        assert!(direct("a.b.corp.net"));
        assert!(direct("corp.net"));
        assert!(direct("10.1.2.3"));
        assert!(direct("[::1]"));
        assert!(direct("192.168.1.7"));
        assert!(!direct("192.168.1.8"));
        assert!(direct("svc.local"));
        assert!(direct("[fd00::2]"));
        assert!(!direct("notamazonaws.com"));
        assert!(!direct("api.cresta.com"));
        assert!(!direct("11.0.0.1"));
        let all = proxies(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert!(all.for_target("https", "anything").is_none());
        let none = proxies(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "")]);
        assert!(none.for_target("https", "anything").is_some());
    }

    #[test]
    fn credentials_become_basic_and_never_print() {
        let p = proxies(&[("HTTPS_PROXY", "http://us%40er:p%3Ass@proxy.corp:3128/")]);
        let s = p.for_target("https", "h").unwrap();
        assert_eq!(
            s.authorization(),
            Some(format!("Basic {}", crate::auth::base64(b"us@er:p:ss")).as_str())
        );
        assert_eq!(s.display(), "http://proxy.corp:3128");
        let shown = format!("{p:?} {}", s.display());
        assert!(
            !shown.contains("p%3Ass") && !shown.contains("p:ss"),
            "{shown}"
        );
        assert!(shown.contains("with credentials"), "{shown}");
    }

    #[test]
    fn ipv6_and_default_port() {
        let p = proxies(&[
            ("HTTP_PROXY", "http://[::1]:8888"),
            ("HTTPS_PROXY", "proxy"),
        ]);
        let v6 = p.for_target("http", "h").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8888));
        assert_eq!(v6.authority(), "[::1]:8888");
        assert_eq!(p.for_target("https", "h").unwrap().port, 80);
    }

    #[test]
    fn unusable_proxy_urls_name_the_variable_and_hide_credentials() {
        for (var, url) in [
            ("HTTPS_PROXY", "https://p:443"),
            ("HTTPS_PROXY", "socks5://p:1080"),
            ("HTTP_PROXY", "http://p:notaport"),
            ("HTTP_PROXY", "http://p:0"),
            ("https_proxy", "http://:3128"),
            ("HTTPS_PROXY", "http://p:1/path"),
            ("HTTPS_PROXY", "http://user:hunter2secret@p:99999"),
        ] {
            let e = Proxies::from_env(&env(&[(var, url)])).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidSetting");
            assert!(e.message().contains(var), "{e}");
            assert!(!e.message().contains("hunter2"), "{e}");
        }
    }
}
