//! The host rule and redaction together. The deployer's credentials (an API
//! key, a client secret, a token, an AWS session token) are planted in the
//! environment and registered for redaction, as the function does; the input
//! chooses the rest of the environment, the event's Parameters and what a
//! server echoes back. Two properties:
//!
//! 1. `config::resolve` never sends a planted credential (or the token it
//!    buys) to a host outside the rule, checked against a separate, plain
//!    reading of the rule written here.
//! 2. No 8-character piece of a planted credential reaches any output (error
//!    messages as posted or logged, body excerpts, the answer built from a
//!    200), whatever its position in the echo and whether it is echoed raw,
//!    JSON-escaped or percent-encoded.
//!    A credential the input itself spells in part is not checked.
//!
//! Input: env mask byte, Parameters mask byte, echo selector byte, offset
//! byte, status byte, then `0xFF`-separated fields: the values of the set env
//! keys, of the set Parameters, the echo's text before and after the secret.
#![no_main]

use connect_pstn_transfer::config::{resolve, CredentialSource};
use connect_pstn_transfer::error::excerpt;
use connect_pstn_transfer::http::Response;
use connect_pstn_transfer::log::{redact, register_secret};
use connect_pstn_transfer_fuzz::{check_error, fields, text};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Once, OnceLock};

// Unusual runs of characters (no word the code writes), with the characters
// that need escaping in JSON and in URLs.
const API_KEY: &str = "Pq7-Akx/ky+1 é~7Q2x-9vW";
const CLIENT_SECRET: &str = "Cs4\"Zr%41 Wm-Zk3uu";
const TOKEN: &str = "eyJ9Tq.Vb_Q5r8-u1Vb";
const SESSION_TOKEN: &str = "IQoJ//Sx+Tn==Xy8pw";
const PLANTED: [&str; 4] = [API_KEY, CLIENT_SECRET, TOKEN, SESSION_TOKEN];

/// Keys the input may set in the environment, with a default used when it
/// sets a key but gives no value. Credentials are always the planted ones.
const ENV: [(&str, &str); 7] = [
    ("apiDomain", "http://127.0.0.1:4000"),
    ("authDomain", "auth.partner.example"),
    ("region", "us-west-2-prod"),
    ("CRESTA_ALLOWED_HOSTS", "127.0.0.1:4001,.partner.example"),
    ("apiKey", API_KEY),
    ("oauthClientSecret", CLIENT_SECRET),
    (
        "oauthSecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:c-1",
    ),
];

/// Parameters the input may set (a flow editor's choices).
const PARAMS: [(&str, &str); 8] = [
    ("apiDomain", "https://api-x.evil.example"),
    ("authDomain", "https://auth.evil.example"),
    ("region", "us-west-2-prod"),
    ("apiKey", "flow-own-api-key"),
    ("oauthClientId", "flow-client-id"),
    ("oauthClientSecret", "flow-own-secret"),
    (
        "oauthSecretArn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:f-1",
    ),
    ("virtualAgentName", "customers/c/profiles/p/virtualAgents/v"),
];

fuzz_target!(|data: &[u8]| {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| PLANTED.iter().for_each(|p| register_secret(p)));
    if data.len() < 5 {
        return;
    }
    let (env_mask, param_mask, echo, offset, status) =
        (data[0], data[1], data[2], data[3], data[4]);
    let parts = fields(&data[5..], ENV.len() + PARAMS.len() + 2);
    let mut values = parts.iter().map(|f| text(f));
    let mut env: BTreeMap<&str, String> = BTreeMap::new();
    env.insert("action", "get_handoff_data".into());
    env.insert(
        "virtualAgentName",
        "customers/c/profiles/p/virtualAgents/v".into(),
    );
    env.insert("oauthClientId", "deployer-client-id".into());
    for (i, (key, default)) in ENV.iter().enumerate() {
        if env_mask & (1 << i) != 0 {
            let planted = PLANTED.contains(default);
            let v = values
                .next()
                .filter(|_| !planted)
                .unwrap_or(default.to_string());
            env.insert(key, v);
        }
    }
    let mut params: BTreeMap<String, String> = BTreeMap::new();
    for (i, (key, default)) in PARAMS.iter().enumerate() {
        if param_mask & (1 << i) != 0 {
            let v = values.next().unwrap_or(default.to_string());
            params.insert(key.to_string(), v);
        }
    }
    let before = values.next().unwrap_or_default();
    let after = values.next().unwrap_or_default();
    let env_fn = |k: &str| env.get(k).cloned();
    let known = known_to_input(data);

    // 1. The host rule.
    match resolve(&params, &env_fn) {
        Ok(config) => {
            let deployers = match &config.credentials {
                CredentialSource::ApiKey(k) => k == API_KEY,
                CredentialSource::Client { secret, .. } => secret == CLIENT_SECRET,
                CredentialSource::Secret(_) => true,
            };
            if deployers {
                for base in [Some(&config.api_base), config.auth_base.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    assert!(
                        oracle_allows(base, &env),
                        "deployer's credential sent to {base} (env {env:?}, params {params:?})"
                    );
                }
            }
        }
        Err(e) => {
            check_error(&e, "Config");
            assert_no_piece(&redact(e.message()), &known);
        }
    }

    // 2. Echoes: the planted credential at `offset` in the chosen form.
    let secret = PLANTED[usize::from(echo & 3)];
    let form = match (echo >> 2) & 7 {
        0 => secret.to_string(),
        1 => serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
        2 => json_ascii(secret),
        3 => percent(secret, false, false),
        4 => percent(secret, true, false),
        5 => percent(secret, false, true),
        6 => percent(secret, false, false).replace("%20", "+"),
        _ => format!("Bearer {secret}"),
    };
    let pad = "x".repeat(usize::from(offset) * 2);
    let body = format!("{before}{pad}{form}{after}");
    assert_no_piece(&excerpt(body.as_bytes()), &known);
    let resp = Response {
        status: if status & 1 == 0 {
            200
        } else {
            400 + u16::from(status >> 1)
        },
        body: body.clone().into_bytes(),
        attempts: 1,
        out_of_time: false,
    };
    for action in [
        connect_pstn_transfer::config::Action::PstnTransferData,
        connect_pstn_transfer::config::Action::HandoffData,
    ] {
        match connect_pstn_transfer::cresta::interpret(action, &resp) {
            // The answer the flow gets: not redacted again on its way out.
            Ok(map) => {
                for (k, v) in &map {
                    assert_no_piece(k, &known);
                    assert_no_piece(v, &known);
                }
            }
            Err(e) => assert_no_piece(&redact(e.message()), &known),
        }
    }
    if let Err(e) = connect_pstn_transfer::auth::parse_token(body.as_bytes()) {
        assert_no_piece(&redact(e.message()), &known);
    }
    if let Err(e) =
        connect_pstn_transfer::secrets::interpret(resp.status, body.as_bytes(), "1 attempt")
    {
        assert_no_piece(&redact(e.message()), &known);
    }
    assert_no_piece(&redact(&body), &known);
});

/// Which planted credentials the input holds a 4-byte piece of (as bytes,
/// or as text with control characters turned into spaces, which is what a
/// one-line message makes of it). Those are not checked for that input: it
/// could spell a piece itself, around text the code adds.
fn known_to_input(input: &[u8]) -> [bool; 4] {
    let flat = connect_pstn_transfer::error::one_line(&text(input));
    let quads: HashSet<&[u8]> = input.windows(4).chain(flat.as_bytes().windows(4)).collect();
    PLANTED.map(|secret| secret.as_bytes().windows(4).any(|p| quads.contains(p)))
}

/// Every 8-byte piece of each planted credential, with its index.
fn pieces() -> &'static HashMap<&'static [u8], usize> {
    static PIECES: OnceLock<HashMap<&'static [u8], usize>> = OnceLock::new();
    PIECES.get_or_init(|| {
        PLANTED
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.as_bytes().windows(8).map(move |w| (w, i)))
            .collect()
    })
}

/// No 8-byte piece of a planted credential the input does not know in `output`.
fn assert_no_piece(output: &str, known: &[bool; 4]) {
    for w in output.as_bytes().windows(8) {
        if let Some(&i) = pieces().get(w) {
            assert!(
                known[i],
                "piece {:?} of a planted credential in output: {output}",
                String::from_utf8_lossy(w)
            );
        }
    }
}

/// `(host, port)` of a URL or bare host, the port defaulted from the scheme.
fn host_port(value: &str) -> (String, String) {
    let value = value.trim().to_ascii_lowercase();
    let (scheme, rest) = value.split_once("://").unwrap_or(("https", &value));
    let authority = rest.split('/').next().unwrap_or("");
    match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.to_string()),
        None => {
            let port = if scheme == "http" { "80" } else { "443" };
            (authority.to_string(), port.to_string())
        }
    }
}

/// The rule, read plainly: Cresta's domains, the environment's own
/// apiDomain/authDomain origins, or a CRESTA_ALLOWED_HOSTS entry.
fn oracle_allows(base: &str, env: &BTreeMap<&str, String>) -> bool {
    let (host, port) = host_port(base);
    if ["apiDomain", "authDomain"]
        .iter()
        .filter_map(|k| env.get(k))
        .any(|v| host_port(v) == (host.clone(), port.clone()))
    {
        return true;
    }
    let host = host.strip_suffix('.').unwrap_or(&host).to_string();
    if ["cresta.com", "cresta.ai"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    {
        return true;
    }
    let list = env.get("CRESTA_ALLOWED_HOSTS").cloned().unwrap_or_default();
    list.split(',').any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((n, p)) => (n.to_string(), Some(p.to_string())),
            None => (entry.clone(), None),
        };
        let name = name.strip_suffix('.').unwrap_or(&name).to_string();
        match name.strip_prefix('.') {
            Some(suffix) => {
                host.parse::<std::net::Ipv4Addr>().is_err() && host.ends_with(&format!(".{suffix}"))
            }
            None => name == host && entry_port.is_none_or(|p| p == port),
        }
    })
}

fn percent(s: &str, lower: bool, all: bool) -> String {
    s.bytes()
        .map(|b| {
            if !all && (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
                (b as char).to_string()
            } else if lower {
                format!("%{b:02x}")
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// JSON as Python's `json.dumps` writes it: non-ASCII as `\uXXXX`.
fn json_ascii(s: &str) -> String {
    let json = serde_json::to_string(s).unwrap();
    let inner = json.trim_matches('"');
    inner
        .chars()
        .map(|c| {
            if c.is_ascii() {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}
