//! Where the deployer's credentials may go. Connect Parameters override the
//! environment, so whoever edits a contact flow could otherwise point
//! `apiDomain`/`authDomain` at their own host and receive the API key, client
//! secret or token that IAM and Secrets Manager were meant to fence off.
//!
//! The rule: a credential goes to `cresta.com`, `cresta.ai` or a subdomain of
//! either; to the origin of the function's own `apiDomain`/`authDomain`
//! environment variables; to a host listed in `CRESTA_ALLOWED_HOSTS`; or
//! anywhere when the event's Parameters supplied that credential themselves.
//! Pure: [`crate::config::resolve`] applies it before any request is made.

use crate::error::Error;

/// The environment variable that widens the rule.
pub const ALLOWED_HOSTS_VAR: &str = "CRESTA_ALLOWED_HOSTS";

/// Domains whose every subdomain is Cresta's.
const CRESTA_DOMAINS: [&str; 2] = ["cresta.com", "cresta.ai"];

/// One `CRESTA_ALLOWED_HOSTS` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// `host` (any port) or `host:port` (that port only).
    Exact { host: String, port: Option<u16> },
    /// `.example.com`: any subdomain of `example.com`, not itself.
    Suffix(String),
}

/// The hosts the deployer allows, besides Cresta's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fence {
    /// Origins (host, port) of the environment's `apiDomain`/`authDomain`.
    env_origins: Vec<(String, u16)>,
    listed: Vec<Entry>,
}

impl Fence {
    /// `env_bases`: the environment's `apiDomain`/`authDomain`, already
    /// validated base URLs; `allowed_hosts`: the `CRESTA_ALLOWED_HOSTS` value.
    pub fn new(env_bases: &[String], allowed_hosts: Option<&str>) -> Result<Fence, Error> {
        Ok(Fence {
            env_origins: env_bases.iter().filter_map(|b| origin(b)).collect(),
            listed: match allowed_hosts {
                Some(list) => parse_list(list)?,
                None => Vec::new(),
            },
        })
    }

    /// Whether the deployer's credentials may be sent to base URL `base`.
    pub fn allows(&self, base: &str) -> bool {
        let Some((host, port)) = origin(base) else {
            return false;
        };
        let bare = host.strip_suffix('.').unwrap_or(&host);
        CRESTA_DOMAINS.iter().any(|d| is_same_or_subdomain(bare, d))
            || self.env_origins.contains(&(host.clone(), port))
            || self.listed.iter().any(|entry| match entry {
                Entry::Exact { host: h, port: p } => h == bare && p.is_none_or(|p| p == port),
                // An IP address has no subdomains: `.0.0.1` is not a pattern.
                Entry::Suffix(s) => {
                    bare.parse::<std::net::Ipv4Addr>().is_err()
                        && bare.len() > s.len() + 1
                        && is_same_or_subdomain(bare, s)
                }
            })
    }

    /// `Ok` when `base` is allowed; otherwise `Config.UntrustedHost` naming
    /// the host, the key it came from (`variable`) and how to allow it.
    pub fn check(&self, base: &str, variable: &str, credential: &str) -> Result<(), Error> {
        if self.allows(base) {
            return Ok(());
        }
        let host = origin(base).map_or_else(|| base.to_string(), |(h, _)| h);
        Err(Error::config(
            "UntrustedHost",
            format!(
                "{variable} host {host} may not receive the function's {credential}: credentials go only to cresta.com, cresta.ai and their subdomains, the apiDomain/authDomain of the function's environment, and {ALLOWED_HOSTS_VAR}; add {host} to {ALLOWED_HOSTS_VAR} to allow it"
            ),
        ))
    }
}

fn is_same_or_subdomain(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|head| head.ends_with('.'))
}

/// `(host, port)` of a base URL as [`crate::config::base_url`] returns it:
/// `scheme://host[:port]`, the port defaulted from the scheme.
fn origin(base: &str) -> Option<(String, u16)> {
    let (scheme, authority) = base.split_once("://")?;
    let authority = authority.trim_end_matches('/');
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, if scheme == "http" { 80 } else { 443 }),
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

/// Parses a comma list of `host`, `host:port` or `.suffix` entries; an entry
/// that is not a host name is an error, not silently ignored.
fn parse_list(list: &str) -> Result<Vec<Entry>, Error> {
    let mut entries = Vec::new();
    for raw in list.split(',') {
        let item = raw.trim().to_ascii_lowercase();
        if item.is_empty() {
            continue;
        }
        let bad = |why: &str| {
            Error::config(
                "InvalidSetting",
                format!(
                    "{ALLOWED_HOSTS_VAR} entry {item:?} {why}: expected host, host:port or .suffix"
                ),
            )
        };
        let (name, port) = match item.rsplit_once(':') {
            Some((h, p)) => (
                h,
                Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| bad("has a port that is not 1 to 65535"))?,
                ),
            ),
            None => (item.as_str(), None),
        };
        let suffix = name.strip_prefix('.');
        let host = suffix.unwrap_or(name);
        let host = host.strip_suffix('.').unwrap_or(host);
        let valid = !host.is_empty()
            && !host.contains("..")
            && !host.starts_with('.')
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        if !valid {
            return Err(bad("is not a host name"));
        }
        entries.push(match (suffix, port) {
            (Some(_), Some(_)) => return Err(bad("is a .suffix with a port")),
            (Some(_), None) => Entry::Suffix(host.to_string()),
            (None, port) => Entry::Exact {
                host: host.to_string(),
                port,
            },
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fence(env: &[&str], list: Option<&str>) -> Fence {
        let env: Vec<String> = env.iter().map(|s| s.to_string()).collect();
        Fence::new(&env, list).unwrap()
    }

    #[test]
    fn cresta_hosts_and_their_subdomains_are_allowed() {
        let f = fence(&[], None);
        for ok in [
            "https://api.us-west-2-prod.cresta.com",
            "https://api-customer-profile.cresta.com",
            "https://auth.us-west-2-prod.cresta.ai",
            "https://api.staging.cresta.ai:8443",
            "https://cresta.com",
            "https://api.cresta.com.",
        ] {
            assert!(f.allows(ok), "{ok}");
        }
        for bad in [
            "https://evilcresta.com",
            "https://cresta.com.evil.example",
            "https://cresta.ai.example",
            "https://api.cresta.co",
            "http://127.0.0.1:8080",
            "https://example.com",
            "not a url",
        ] {
            assert!(!f.allows(bad), "{bad}");
        }
    }

    #[test]
    fn the_environment_domains_allow_their_own_origin_only() {
        let f = fence(
            &["http://127.0.0.1:4000", "https://auth.partner.example"],
            None,
        );
        assert!(f.allows("http://127.0.0.1:4000"));
        assert!(f.allows("https://auth.partner.example"));
        assert!(f.allows("https://auth.partner.example:443"));
        assert!(!f.allows("http://127.0.0.1:4001"));
        assert!(!f.allows("https://auth.partner.example:8443"));
        assert!(!f.allows("https://x.auth.partner.example"));
    }

    #[test]
    fn listed_hosts_exact_with_port_and_suffix() {
        let f = fence(
            &[],
            Some(" proxy.corp.example , 127.0.0.1:9000,.partner.example,"),
        );
        assert!(f.allows("https://proxy.corp.example"));
        assert!(f.allows("https://proxy.corp.example:8443"));
        assert!(!f.allows("https://a.proxy.corp.example"));
        assert!(f.allows("http://127.0.0.1:9000"));
        assert!(!f.allows("http://127.0.0.1:9001"));
        assert!(f.allows("https://api.partner.example"));
        assert!(f.allows("https://a.b.partner.example:444"));
        assert!(!f.allows("https://partner.example"));
        assert!(!f.allows("https://evilpartner.example"));
        assert!(!fence(&[], Some(".0.0.1")).allows("http://127.0.0.1:9000"));
    }

    #[test]
    fn bad_list_entries_are_errors() {
        for bad in [
            "https://x.example",
            "a b",
            "x.example:0",
            "x.example:http",
            ".",
            "..x",
            ".x.example:443",
            "*",
        ] {
            let e = Fence::new(&[], Some(bad)).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidSetting", "{bad}");
            assert!(e.message().contains(ALLOWED_HOSTS_VAR), "{bad}");
        }
        assert_eq!(Fence::new(&[], Some(" , ")).unwrap(), Fence::default());
    }

    #[test]
    fn refusal_names_host_variable_and_the_way_out() {
        let e = fence(&[], None)
            .check("https://evil.example:8443", "apiDomain", "API key")
            .unwrap_err();
        assert_eq!(e.error_type(), "Config.UntrustedHost");
        for word in [
            "apiDomain",
            "evil.example",
            "API key",
            "CRESTA_ALLOWED_HOSTS",
        ] {
            assert!(e.message().contains(word), "{word}: {e}");
        }
        assert!(fence(&[], None)
            .check("https://api.x.cresta.com", "apiDomain", "API key")
            .is_ok());
    }
}
