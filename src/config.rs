//! Configuration resolution: Parameters first, then the environment, into
//! one validated [`Config`]. Pure: no I/O, so every rule is unit-tested here.

use crate::error::Error;
use crate::fence::{Fence, ALLOWED_HOSTS_VAR};
use std::collections::BTreeMap;

/// The two things a contact flow can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `get_pstn_transfer_data`: the number and DTMF digits to dial.
    PstnTransferData,
    /// `get_handoff_data`: where the caller goes after the AI call.
    HandoffData,
}

/// `customers/{customer}/profiles/{profile}/virtualAgents/{agent}`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAgent {
    pub customer: String,
    pub profile: String,
    pub agent: String,
}

impl VirtualAgent {
    /// The resource name, as used in the PSTN transfer path.
    pub fn name(&self) -> String {
        format!(
            "customers/{}/profiles/{}/virtualAgents/{}",
            self.customer, self.profile, self.agent
        )
    }
}

/// A Secrets Manager secret ARN and the region it lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretArn {
    pub arn: String,
    pub region: String,
}

/// Where the credentials come from, in the contract's priority order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// OAuth client credentials held in a Secrets Manager secret.
    Secret(SecretArn),
    /// OAuth client credentials given directly.
    Client { id: String, secret: String },
    /// The deprecated API key.
    ApiKey(String),
}

/// Everything one invocation needs, resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub action: Action,
    /// API base URL without trailing slash, e.g. `https://api.us-west-2-prod.cresta.com`.
    pub api_base: String,
    /// OAuth base URL; `Some` exactly when OAuth is used.
    pub auth_base: Option<String>,
    pub virtual_agent: VirtualAgent,
    pub credentials: CredentialSource,
    /// Parameters minus the configuration keys, sent as metadata.
    pub metadata_parameters: BTreeMap<String, String>,
}

/// Keys that configure the function and are never forwarded as metadata.
pub const CONFIG_KEYS: [&str; 10] = [
    "apiDomain",
    "region",
    "action",
    "apiKey",
    "oauthClientId",
    "oauthClientSecret",
    "virtualAgentName",
    "supportedDtmfChars",
    "authDomain",
    "oauthSecretArn",
];

/// Resolves the configuration from the event's Parameters and the
/// environment (`env`), applying the contract's rules in order.
pub fn resolve(
    parameters: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Error> {
    // A key present in Parameters wins even when empty; empty means unset.
    let get = |key: &str| -> Option<String> {
        parameters
            .get(key)
            .cloned()
            .or_else(|| env(key))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let secret_arn = get("oauthSecretArn");
    let client_id = get("oauthClientId");
    let client_secret = get("oauthClientSecret");
    let api_domain = get("apiDomain");
    let auth_domain = get("authDomain");

    // 1. OAuth with a custom API domain needs its auth domain too.
    let oauth = secret_arn.is_some() || (client_id.is_some() && client_secret.is_some());
    if oauth && api_domain.is_some() != auth_domain.is_some() {
        return Err(Error::config(
            "DomainPair",
            "apiDomain and authDomain must be provided together when OAuth is used",
        ));
    }

    // 2. Region, given or taken from the API domain.
    let region = match (get("region"), &api_domain) {
        (Some(r), _) => r,
        (None, Some(domain)) => region_from_api_domain(domain).ok_or_else(|| {
            Error::config(
                "InvalidApiDomain",
                format!("could not extract region from apiDomain {domain:?}: expected a host like api-REGION.cresta.com or api.REGION.cresta.ai"),
            )
        })?,
        (None, None) => {
            return Err(Error::config(
                "MissingRegion",
                "region is required (or apiDomain to take it from)",
            ))
        }
    };

    // 3 and 4. API base URL, validated.
    let api_base = match &api_domain {
        Some(domain) => base_url("apiDomain", domain)?,
        None if region.ends_with("-prod") => {
            base_url("region", &format!("https://api.{region}.cresta.com"))?
        }
        None => base_url("region", &format!("https://api.{region}.cresta.ai"))?,
    };

    // 5. Action and virtual agent.
    let action = get("action").ok_or_else(|| {
        Error::config(
            "MissingAction",
            "action is required: get_pstn_transfer_data or get_handoff_data",
        )
    })?;
    let virtual_agent = match get("virtualAgentName") {
        Some(name) => parse_virtual_agent(&name)?,
        None => {
            return Err(Error::config(
                "MissingVirtualAgentName",
                "virtualAgentName is required: customers/{customer}/profiles/{profile}/virtualAgents/{id}",
            ))
        }
    };

    // 6. Credentials, in priority order.
    let credentials = if let Some(arn) = secret_arn {
        CredentialSource::Secret(parse_secret_arn(&arn)?)
    } else if let (Some(id), Some(secret)) = (client_id, client_secret) {
        CredentialSource::Client { id, secret }
    } else if let Some(key) = get("apiKey") {
        CredentialSource::ApiKey(key)
    } else {
        return Err(Error::config(
            "MissingCredentials",
            "either apiKey (deprecated), oauthClientId/oauthClientSecret, or oauthSecretArn must be provided",
        ));
    };

    // 7. Auth base URL, only for OAuth.
    let auth_base = match (&credentials, auth_domain) {
        (CredentialSource::ApiKey(_), _) => None,
        (_, Some(domain)) => Some(base_url("authDomain", &domain)?),
        (_, None) => Some(base_url(
            "region",
            &format!("https://auth.{}.cresta.ai", auth_region(&region)),
        )?),
    };

    // 8. The action must be one we know.
    let action = match action.as_str() {
        "get_pstn_transfer_data" => Action::PstnTransferData,
        "get_handoff_data" => Action::HandoffData,
        other => {
            return Err(Error::config(
                "InvalidAction",
                format!(
                    "invalid action: {other} (expected get_pstn_transfer_data or get_handoff_data)"
                ),
            ))
        }
    };

    // 9. The deployer's credentials go only where the deployer allows.
    fence_credentials(
        parameters,
        env,
        &credentials,
        (&api_base, api_domain.is_some()),
        auth_base.as_deref(),
    )?;

    let metadata_parameters = parameters
        .iter()
        .filter(|(k, _)| !CONFIG_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    Ok(Config {
        action,
        api_base,
        auth_base,
        virtual_agent,
        credentials,
        metadata_parameters,
    })
}

/// Refuses (`Config.UntrustedHost`) to send a credential the event did not
/// supply itself to a host outside the [`Fence`]. `api` is the API base URL
/// and whether `apiDomain` chose it; `auth_base` is set for OAuth.
fn fence_credentials(
    parameters: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    credentials: &CredentialSource,
    api: (&str, bool),
    auth_base: Option<&str>,
) -> Result<(), Error> {
    let from_parameters = |key: &str| parameters.get(key).is_some_and(|v| !v.trim().is_empty());
    let (flow_owned, secret_name) = match credentials {
        CredentialSource::ApiKey(_) => (from_parameters("apiKey"), "API key"),
        CredentialSource::Client { .. } => (
            from_parameters("oauthClientId") && from_parameters("oauthClientSecret"),
            "OAuth client secret",
        ),
        // The secret named by an ARN, even one from Parameters, is the deployer's.
        CredentialSource::Secret(_) => (false, "OAuth client secret (from oauthSecretArn)"),
    };
    if flow_owned {
        return Ok(());
    }
    let env_bases: Vec<String> = ["apiDomain", "authDomain"]
        .into_iter()
        .filter_map(|k| {
            let v = env(k)?;
            base_url(k, v.trim()).ok()
        })
        .collect();
    let fence = Fence::new(&env_bases, env(ALLOWED_HOSTS_VAR).as_deref())?;
    let (api_base, api_chosen) = api;
    let api_variable = if api_chosen { "apiDomain" } else { "region" };
    match auth_base {
        None => fence.check(api_base, api_variable, secret_name),
        Some(auth_base) => {
            fence.check(auth_base, "authDomain", secret_name)?;
            fence.check(api_base, api_variable, "OAuth token")
        }
    }
}

/// The first group of `api[-.]([a-z0-9-]+)\.cresta\.(ai|com)`, searched anywhere.
pub fn region_from_api_domain(domain: &str) -> Option<String> {
    let bytes = domain.as_bytes();
    let is_region_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    for start in 0..bytes.len() {
        // "api" is ASCII: a match can only start on a character boundary.
        if !domain.is_char_boundary(start) {
            continue;
        }
        let rest = &domain[start..];
        if !(rest.starts_with("api-") || rest.starts_with("api.")) {
            continue;
        }
        let group = &rest[4..];
        let len = group.bytes().take_while(|b| is_region_byte(*b)).count();
        // The group cannot contain '.', so only its longest run can match.
        let after = &group[len..];
        if len > 0 && (after.starts_with(".cresta.ai") || after.starts_with(".cresta.com")) {
            return Some(group[..len].to_string());
        }
    }
    None
}

/// `voice-prod` and `chat-prod` authenticate against `us-west-2-prod`.
pub fn auth_region(region: &str) -> &str {
    match region {
        "voice-prod" | "chat-prod" => "us-west-2-prod",
        other => other,
    }
}

/// Prefixes `https://` when no scheme is given, then validates the result as
/// a bare base URL: https (http only for loopback), a host, no path, query,
/// fragment or user info. Returns it without a trailing slash.
pub fn base_url(name: &str, value: &str) -> Result<String, Error> {
    let bad = |why: &str| {
        Error::config(
            "InvalidUrl",
            format!("{name} {value:?} is not a valid base URL: {why}"),
        )
    };
    let url = if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if path.contains('?') {
        return Err(bad("a query is not allowed"));
    }
    if path.contains('#') {
        return Err(bad("a fragment is not allowed"));
    }
    if !path.is_empty() && path != "/" {
        return Err(bad("a path is not allowed"));
    }
    if authority.contains('@') {
        return Err(bad("user info is not allowed"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if host.contains("..") {
        return Err(bad("'..' is not allowed in the host"));
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return Err(bad("the host has characters a host name cannot have"));
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad("the port is not a number from 1 to 65535"));
        }
    }
    let host = host.to_ascii_lowercase();
    // Only a real loopback address: `127.attacker.example` is a DNS name.
    let loopback = host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.as_str() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(bad(
                "https is required (plain http is only allowed for localhost and 127.0.0.0/8 addresses)",
            ))
        }
        _ => return Err(bad("the scheme must be https")),
    }
    Ok(match port {
        Some(p) => format!("{scheme}://{host}:{p}"),
        None => format!("{scheme}://{host}"),
    })
}

/// Validates `customers/{c}/profiles/{p}/virtualAgents/{v}`.
pub fn parse_virtual_agent(name: &str) -> Result<VirtualAgent, Error> {
    let bad = |why: &str| {
        Error::config(
            "InvalidVirtualAgentName",
            format!("virtualAgentName {name:?} is invalid: {why}"),
        )
    };
    let parts: Vec<&str> = name.split('/').collect();
    let [c, customer, p, profile, v, agent] = parts.as_slice() else {
        return Err(bad(
            "expected customers/{customer}/profiles/{profile}/virtualAgents/{id}",
        ));
    };
    if (*c, *p, *v) != ("customers", "profiles", "virtualAgents") {
        return Err(bad(
            "expected customers/{customer}/profiles/{profile}/virtualAgents/{id}",
        ));
    }
    for segment in [customer, profile, agent] {
        if segment.is_empty() {
            return Err(bad("a segment is empty"));
        }
        if segment.contains("..") || segment.to_ascii_lowercase().contains("%2e%2e") {
            return Err(bad("a segment contains '..'"));
        }
        if decodes_to_traversal(segment) {
            return Err(bad(
                "a segment is '.', or percent-decodes to '..', '/' or '\\'",
            ));
        }
        if segment
            .chars()
            .any(|ch| ch.is_control() || ch.is_whitespace() || ch == '?' || ch == '#')
        {
            return Err(bad(
                "a segment contains a control character, space, '?' or '#'",
            ));
        }
    }
    Ok(VirtualAgent {
        customer: customer.to_string(),
        profile: profile.to_string(),
        agent: agent.to_string(),
    })
}

/// Whether a path segment is `.`, or contains `\\`, or, percent-decoded
/// once or more (a server may decode again), contains `..`, `/` or `\\`:
/// `.%2e`, `%2E.`, `%2f`, `%5c`, `%252e%252e`.
fn decodes_to_traversal(segment: &str) -> bool {
    let mut bytes = segment.as_bytes().to_vec();
    if bytes == b"." {
        return true;
    }
    loop {
        let bad = bytes.windows(2).any(|w| w == b"..")
            || bytes.contains(&b'/')
            || bytes.contains(&b'\\')
            || bytes == b".";
        if bad {
            return true;
        }
        let decoded = percent_decode(&bytes);
        // Each round that changes anything makes the text shorter: bounded.
        if decoded == bytes {
            return false;
        }
        bytes = decoded;
    }
}

/// `%XX` (any case) decoded; everything else kept as is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?))
            .flatten();
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// Validates `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME` (any AWS partition).
pub fn parse_secret_arn(arn: &str) -> Result<SecretArn, Error> {
    let bad = || {
        Error::config(
            "InvalidSecretArn",
            format!("oauthSecretArn {arn:?} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"),
        )
    };
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    let [prefix, partition, service, region, account, kind, name] = parts.as_slice() else {
        return Err(bad());
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if *prefix != "arn"
        || !partition.starts_with("aws")
        || *service != "secretsmanager"
        || !region_ok
        || !account_ok
        || *kind != "secret"
        || name.is_empty()
        || name.chars().any(char::is_control)
    {
        return Err(bad());
    }
    Ok(SecretArn {
        arn: arn.to_string(),
        region: region.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "customers/cresta/profiles/walter-dev/virtualAgents/556b";

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn resolve_with(p: &[(&str, &str)], e: &[(&str, &str)]) -> Result<Config, Error> {
        let env = params(e);
        resolve(&params(p), &move |k| env.get(k).cloned())
    }

    fn ok(p: &[(&str, &str)]) -> Config {
        resolve_with(p, &[]).unwrap()
    }

    fn err(p: &[(&str, &str)]) -> Error {
        resolve_with(p, &[]).unwrap_err()
    }

    #[test]
    fn region_builds_api_and_auth_urls() {
        let c = ok(&[
            ("action", "get_pstn_transfer_data"),
            ("region", "us-west-2-prod"),
            ("virtualAgentName", AGENT),
            ("oauthClientId", "id"),
            ("oauthClientSecret", "secret"),
        ]);
        assert_eq!(c.action, Action::PstnTransferData);
        assert_eq!(c.api_base, "https://api.us-west-2-prod.cresta.com");
        assert_eq!(
            c.auth_base.as_deref(),
            Some("https://auth.us-west-2-prod.cresta.ai")
        );
        assert_eq!(c.virtual_agent.name(), AGENT);
    }

    #[test]
    fn staging_uses_cresta_ai_and_voice_prod_maps_auth() {
        let c = ok(&[
            ("action", "get_handoff_data"),
            ("region", "us-west-2-staging"),
            ("virtualAgentName", AGENT),
            ("apiKey", "k"),
        ]);
        assert_eq!(c.api_base, "https://api.us-west-2-staging.cresta.ai");
        assert_eq!(c.auth_base, None);
        let c = ok(&[
            ("action", "get_handoff_data"),
            ("region", "voice-prod"),
            ("virtualAgentName", AGENT),
            ("oauthClientId", "id"),
            ("oauthClientSecret", "s"),
        ]);
        assert_eq!(c.api_base, "https://api.voice-prod.cresta.com");
        assert_eq!(
            c.auth_base.as_deref(),
            Some("https://auth.us-west-2-prod.cresta.ai")
        );
        assert_eq!(auth_region("chat-prod"), "us-west-2-prod");
    }

    #[test]
    fn parameters_win_over_env_even_when_empty() {
        let e = resolve_with(
            &[("region", ""), ("action", "get_handoff_data")],
            &[
                ("region", "us-west-2-prod"),
                ("virtualAgentName", AGENT),
                ("apiKey", "k"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.error_type(), "Config.MissingRegion");
        let c = resolve_with(
            &[("action", "get_handoff_data")],
            &[
                ("region", "us-west-2-prod"),
                ("virtualAgentName", AGENT),
                ("apiKey", "k"),
            ],
        )
        .unwrap();
        assert_eq!(c.credentials, CredentialSource::ApiKey("k".into()));
    }

    #[test]
    fn api_domain_with_oauth_needs_auth_domain() {
        let e = err(&[
            ("apiDomain", "api-customer-profile.cresta.com"),
            ("oauthClientId", "id"),
            ("oauthClientSecret", "s"),
        ]);
        assert!(e
            .message()
            .contains("apiDomain and authDomain must be provided together"));
        let e = err(&[
            ("authDomain", "auth.x.cresta.ai"),
            ("oauthSecretArn", "arn"),
        ]);
        assert_eq!(e.error_type(), "Config.DomainPair");
        let c = ok(&[
            ("action", "get_handoff_data"),
            ("apiDomain", "api-customer-profile.cresta.com"),
            ("virtualAgentName", AGENT),
            ("apiKey", "k"),
        ]);
        assert_eq!(c.api_base, "https://api-customer-profile.cresta.com");
        let c = ok(&[
            ("action", "get_handoff_data"),
            ("apiDomain", "api-customer-profile.cresta.com"),
            ("authDomain", "auth.us-west-2-prod.cresta.ai"),
            ("virtualAgentName", AGENT),
            ("oauthClientId", "id"),
            ("oauthClientSecret", "s"),
        ]);
        assert_eq!(
            c.auth_base.as_deref(),
            Some("https://auth.us-west-2-prod.cresta.ai")
        );
    }

    #[test]
    fn region_comes_from_api_domain() {
        assert_eq!(
            region_from_api_domain("api.us-west-2-prod.cresta.com").as_deref(),
            Some("us-west-2-prod")
        );
        assert_eq!(
            region_from_api_domain("https://api-customer-profile.cresta.ai").as_deref(),
            Some("customer-profile")
        );
        assert_eq!(region_from_api_domain("example.com"), None);
        // Non-ASCII text no longer panics (found by the fuzzer).
        assert_eq!(region_from_api_domain("é"), None);
        assert_eq!(
            region_from_api_domain("ünï.api-x.cresta.com").as_deref(),
            Some("x")
        );
        assert_eq!(region_from_api_domain("api..cresta.com"), None);
        let e = err(&[("apiDomain", "example.com"), ("apiKey", "k")]);
        assert_eq!(e.error_type(), "Config.InvalidApiDomain");
        assert!(e.message().contains("region"));
    }

    #[test]
    fn region_is_required() {
        let e = err(&[("action", "get_handoff_data"), ("apiKey", "k")]);
        assert!(e.message().contains("region is required"));
    }

    #[test]
    fn base_urls_are_validated() {
        assert_eq!(
            base_url("x", "api.a.cresta.com/").unwrap(),
            "https://api.a.cresta.com"
        );
        assert_eq!(
            base_url("x", "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            base_url("x", "http://localhost:1").unwrap(),
            "http://localhost:1"
        );
        for bad in [
            "http://api.cresta.com",
            "http://127.attacker.example",
            "http://127.0.0.1.nip.io",
            "ftp://api.cresta.com",
            "https://api.cresta.com/v1",
            "https://api.cresta.com?x=1",
            "https://api.cresta.com#f",
            "https://user@api.cresta.com",
            "https://api..cresta.com",
            "https://",
            "https://a b.com",
            "https://api.cresta.com:99999",
        ] {
            let e = base_url("apiDomain", bad).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidUrl", "{bad}");
        }
        let e = base_url("apiDomain", "http://api.cresta.com").unwrap_err();
        assert!(e.message().contains("https is required"), "{}", e.message());
        let e = err(&[("region", "us/../x"), ("apiKey", "k")]);
        assert_eq!(e.error_type(), "Config.InvalidUrl");
    }

    #[test]
    fn action_and_virtual_agent_are_required_and_checked() {
        let e = err(&[
            ("region", "r"),
            ("virtualAgentName", AGENT),
            ("apiKey", "k"),
        ]);
        assert_eq!(e.error_type(), "Config.MissingAction");
        let e = err(&[
            ("region", "r"),
            ("action", "get_handoff_data"),
            ("apiKey", "k"),
        ]);
        assert_eq!(e.error_type(), "Config.MissingVirtualAgentName");
        let e = err(&[
            ("region", "r"),
            ("action", "nope"),
            ("virtualAgentName", AGENT),
            ("apiKey", "k"),
        ]);
        assert_eq!(
            e.message(),
            "invalid action: nope (expected get_pstn_transfer_data or get_handoff_data)"
        );
        for bad in [
            "customers/c/profiles/p",
            "customers/c/profiles/p/virtualAgents/v/extra",
            "customer/c/profiles/p/virtualAgents/v",
            "customers//profiles/p/virtualAgents/v",
            "customers/../profiles/p/virtualAgents/v",
            "customers/c/profiles/%2E%2e/virtualAgents/v",
            "customers/c/profiles/p/virtualAgents/v\0",
            "customers/c/profiles/p/virtualAgents/v?x",
            "customers/c/profiles/.%2e/virtualAgents/v",
            "customers/c/profiles/%2e./virtualAgents/v",
            "customers/c/profiles/%2E%2e/virtualAgents/v",
            "customers/c/profiles/a%2fb/virtualAgents/v",
            "customers/c/profiles/a%2Fb/virtualAgents/v",
            "customers/c/profiles/a%5cb/virtualAgents/v",
            "customers/c/profiles/a\\b/virtualAgents/v",
            "customers/c/profiles/%252e%252e/virtualAgents/v",
            "customers/./profiles/p/virtualAgents/v",
            "customers/%2e/profiles/p/virtualAgents/v",
        ] {
            let e = parse_virtual_agent(bad).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidVirtualAgentName", "{bad}");
        }
    }

    #[test]
    fn credentials_priority() {
        let base = [
            ("region", "r"),
            ("action", "get_handoff_data"),
            ("virtualAgentName", AGENT),
        ];
        let with = |extra: &[(&str, &str)]| {
            let mut p = base.to_vec();
            p.extend_from_slice(extra);
            resolve_with(&p, &[])
        };
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:name-AbCd";
        let c = with(&[
            ("oauthSecretArn", arn),
            ("oauthClientId", "i"),
            ("oauthClientSecret", "s"),
            ("apiKey", "k"),
        ])
        .unwrap();
        assert_eq!(
            c.credentials,
            CredentialSource::Secret(SecretArn {
                arn: arn.into(),
                region: "us-east-1".into()
            })
        );
        let c = with(&[
            ("oauthClientId", "i"),
            ("oauthClientSecret", "s"),
            ("apiKey", "k"),
        ])
        .unwrap();
        assert_eq!(
            c.credentials,
            CredentialSource::Client {
                id: "i".into(),
                secret: "s".into()
            }
        );
        let c = with(&[("oauthClientId", "i"), ("apiKey", "k")]).unwrap();
        assert_eq!(c.credentials, CredentialSource::ApiKey("k".into()));
        let e = with(&[("oauthClientId", "i")]).unwrap_err();
        assert_eq!(
            e.message(),
            "either apiKey (deprecated), oauthClientId/oauthClientSecret, or oauthSecretArn must be provided"
        );
    }

    #[test]
    fn secret_arns_are_checked() {
        assert!(
            parse_secret_arn("arn:aws:secretsmanager:eu-west-1:123456789012:secret:a/b:c").is_ok()
        );
        for bad in [
            "arn",
            "arn:aws:s3:::bucket",
            "arn:aws:secretsmanager::123456789012:secret:x",
            "arn:aws:secretsmanager:us-east-1:1234:secret:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:parameter:x",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:",
            "arn:aws:secretsmanager:US_EAST:123456789012:secret:x",
        ] {
            assert_eq!(
                parse_secret_arn(bad).unwrap_err().error_type(),
                "Config.InvalidSecretArn",
                "{bad}"
            );
        }
    }

    const BASE: [(&str, &str); 2] = [("action", "get_handoff_data"), ("virtualAgentName", AGENT)];
    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:name-AbCd";

    /// `resolve` with the action and agent in Parameters, plus `p`.
    fn resolve_base(p: &[(&str, &str)], e: &[(&str, &str)]) -> Result<Config, Error> {
        let mut all = BASE.to_vec();
        all.extend_from_slice(p);
        resolve_with(&all, e)
    }

    fn untrusted(p: &[(&str, &str)], e: &[(&str, &str)]) -> Error {
        let e = resolve_base(p, e).unwrap_err();
        assert_eq!(e.error_type(), "Config.UntrustedHost", "{e}");
        e
    }

    #[test]
    fn env_api_key_with_a_flow_chosen_api_domain_is_refused() {
        let e = untrusted(
            &[("apiDomain", "api-x.cresta.com.evil.example")],
            &[("apiKey", "k-env"), ("region", "us-west-2-prod")],
        );
        assert!(e
            .message()
            .contains("apiDomain host api-x.cresta.com.evil.example"));
        assert!(e.message().contains("API key"));
        // The region alone (no apiDomain) builds a Cresta host: allowed.
        let c = resolve_base(
            &[("region", "eu-central-1-prod")],
            &[("apiKey", "k-env"), ("apiDomain", "")],
        )
        .unwrap();
        assert_eq!(c.api_base, "https://api.eu-central-1-prod.cresta.com");
    }

    #[test]
    fn env_oauth_credentials_or_a_secret_with_a_flow_chosen_auth_domain_are_refused() {
        let creds: [&[(&str, &str)]; 3] = [
            &[("oauthClientId", "id"), ("oauthClientSecret", "s-env")],
            &[("oauthSecretArn", ARN)],
            // One half from the flow is not enough: the secret is the deployer's.
            &[("oauthClientSecret", "s-env")],
        ];
        for env in creds {
            let mut env = env.to_vec();
            env.push(("region", "us-west-2-prod"));
            let e = untrusted(
                &[
                    ("apiDomain", "api.us-west-2-prod.cresta.com"),
                    ("authDomain", "auth.evil.example"),
                    ("oauthClientId", "flow-id"),
                ],
                &env,
            );
            assert!(
                e.message().contains("authDomain host auth.evil.example"),
                "{e}"
            );
            // Cresta's auth host but a foreign API host: the token is fenced too.
            let e = untrusted(
                &[
                    ("apiDomain", "api-x.evil.example"),
                    ("region", "us-west-2-prod"),
                    ("authDomain", "auth.us-west-2-prod.cresta.ai"),
                    ("oauthClientId", "flow-id"),
                ],
                &env,
            );
            assert!(e.message().contains("OAuth token"), "{e}");
        }
        // A secret ARN given by the flow still yields the deployer's secret.
        untrusted(
            &[
                ("oauthSecretArn", ARN),
                ("apiDomain", "api.us-west-2-prod.cresta.com"),
                ("authDomain", "auth.evil.example"),
            ],
            &[],
        );
    }

    #[test]
    fn flow_owned_credentials_go_where_the_flow_says() {
        for creds in [
            &[("apiKey", "flow-key")][..],
            &[("oauthClientId", "i"), ("oauthClientSecret", "flow-secret")],
        ] {
            let mut p = creds.to_vec();
            p.extend([
                ("apiDomain", "https://api-x.partner.example"),
                ("authDomain", "https://auth.partner.example"),
                ("region", "r"),
            ]);
            let c = resolve_base(
                &p,
                &[("apiKey", "env-key"), ("oauthClientSecret", "env-secret")],
            )
            .unwrap();
            assert_eq!(c.api_base, "https://api-x.partner.example");
        }
    }

    #[test]
    fn environment_domains_and_allowed_hosts_widen_the_fence() {
        let env_key = [("apiKey", "k-env"), ("region", "r")];
        // The environment's own apiDomain (a loopback stand-in in tests).
        let mut e = env_key.to_vec();
        e.push(("apiDomain", "http://127.0.0.1:4000"));
        assert!(resolve_base(&[], &e).is_ok());
        // The same address chosen by the flow on another port is not it.
        untrusted(&[("apiDomain", "http://127.0.0.1:4001")], &e);
        // CRESTA_ALLOWED_HOSTS: exact, host:port, .suffix.
        for (list, host, ok) in [
            ("127.0.0.1", "http://127.0.0.1:4001", true),
            ("127.0.0.1:4002", "http://127.0.0.1:4001", false),
            ("api.partner.example", "api.partner.example", true),
            ("api.partner.example", "x.api.partner.example", false),
            (".partner.example", "api-eu.partner.example", true),
            (".partner.example", "partner.example", false),
            (".partner.example", "api.partnerexample", false),
        ] {
            let mut e = env_key.to_vec();
            e.push(("CRESTA_ALLOWED_HOSTS", list));
            let r = resolve_base(&[("apiDomain", host)], &e);
            assert_eq!(r.is_ok(), ok, "{list} {host}: {r:?}");
        }
        let mut e = env_key.to_vec();
        e.push(("CRESTA_ALLOWED_HOSTS", "https://x"));
        let err = resolve_base(&[], &e).unwrap_err();
        assert_eq!(err.error_type(), "Config.InvalidSetting");
    }

    #[test]
    fn region_derived_and_customer_specific_cresta_hosts_are_allowed() {
        for (p, api, auth) in [
            (
                &[("region", "us-west-2-prod")][..],
                "https://api.us-west-2-prod.cresta.com",
                "https://auth.us-west-2-prod.cresta.ai",
            ),
            (
                &[("region", "voice-prod")],
                "https://api.voice-prod.cresta.com",
                "https://auth.us-west-2-prod.cresta.ai",
            ),
            (
                &[
                    ("apiDomain", "api-acme-main.cresta.com"),
                    ("authDomain", "auth.acme.cresta.ai"),
                ],
                "https://api-acme-main.cresta.com",
                "https://auth.acme.cresta.ai",
            ),
        ] {
            let c = resolve_base(p, &[("oauthSecretArn", ARN)]).unwrap();
            assert_eq!(
                (c.api_base.as_str(), c.auth_base.as_deref()),
                (api, Some(auth))
            );
        }
    }

    #[test]
    fn config_keys_are_filtered_from_metadata() {
        let mut p: Vec<(&str, &str)> = CONFIG_KEYS.iter().map(|k| (*k, "v")).collect();
        p.retain(|(k, _)| !matches!(*k, "oauthSecretArn" | "apiDomain" | "authDomain"));
        p.extend([
            ("action", "get_handoff_data"),
            ("virtualAgentName", AGENT),
            ("custom", "x"),
        ]);
        let c = ok(&p);
        assert_eq!(c.metadata_parameters, params(&[("custom", "x")]));
    }
}
