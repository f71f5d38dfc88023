//! The local stand-in for Cresta: the OAuth token endpoint and both API
//! endpoints, checking headers and bodies the way the real service would,
//! with scripted replies per route for failure cases.

#![allow(dead_code)]

use super::server::{Recorded, Reply, Server};
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const API_KEY: &str = "test-api-key-7f3a9c2e";
pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret-b41d9e";
pub const VIRTUAL_AGENT: &str = "customers/cresta/profiles/walter-dev/virtualAgents/556b441c";
pub const PHONE_NUMBER: &str = "+15551230000";
pub const DTMF: &str = "4321";

/// The endpoints the stand-in serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Token,
    Pstn,
    Handoff,
    Other,
}

impl Route {
    pub fn of(path: &str) -> Route {
        if path.ends_with("/v1/oauth/regionalToken") {
            Route::Token
        } else if path.ends_with(":generatePSTNTransferData") {
            Route::Pstn
        } else if path.ends_with(":fetchAIAgentHandoff") {
            Route::Handoff
        } else {
            Route::Other
        }
    }
}

struct State {
    scripts: HashMap<Route, VecDeque<Reply>>,
    clients: Vec<(String, String)>,
    tokens: Vec<String>,
    issued: usize,
    token_lifetime: i64,
    /// Added before every reply, as a remote service's latency.
    latency: std::time::Duration,
}

/// A running stand-in.
#[derive(Clone)]
pub struct MockCresta {
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl MockCresta {
    pub fn start() -> MockCresta {
        Self::start_on(None)
    }

    /// The same stand-in over HTTPS (see `super::tls`).
    pub fn start_tls(tls: Arc<rustls::ServerConfig>) -> MockCresta {
        Self::start_on(Some(tls))
    }

    fn start_on(tls: Option<Arc<rustls::ServerConfig>>) -> MockCresta {
        let state = Arc::new(Mutex::new(State {
            scripts: HashMap::new(),
            clients: vec![(CLIENT_ID.into(), CLIENT_SECRET.into())],
            tokens: Vec::new(),
            issued: 0,
            token_lifetime: 3600,
            latency: std::time::Duration::ZERO,
        }));
        let shared = state.clone();
        let handler = move |req: &Recorded| answer(&shared, req);
        let server = match tls {
            None => Server::start(handler),
            Some(config) => Server::start_tls(config, handler),
        };
        MockCresta { server, state }
    }

    /// Base URL, usable as `apiDomain` and `authDomain`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Replies used, in order, before the route's normal behaviour resumes.
    pub fn script(&self, route: Route, replies: Vec<Reply>) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(route)
            .or_default()
            .extend(replies);
    }

    pub fn requests(&self, route: Route) -> Vec<Recorded> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| Route::of(&r.path) == route)
            .collect()
    }

    /// The client the token endpoint accepts from now on (rotation).
    pub fn set_client(&self, id: &str, secret: &str) {
        self.state.lock().unwrap().clients = vec![(id.into(), secret.into())];
    }

    /// Invalidates every token issued so far.
    pub fn revoke_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    /// `expires_in` of the next tokens.
    pub fn set_token_lifetime(&self, secs: i64) {
        self.state.lock().unwrap().token_lifetime = secs;
    }

    /// Every reply from now on comes `latency` late (requests still run in
    /// parallel: the wait is outside the stand-in's lock).
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Tokens issued so far (they are credentials: tests check they never leak).
    pub fn issued_tokens(&self) -> Vec<String> {
        let s = self.state.lock().unwrap();
        (1..=s.issued).map(token_value).collect()
    }
}

fn token_value(n: usize) -> String {
    format!("mock-access-token-{n:04}-e7c1d2")
}

fn error(status: u16, msg: &str) -> Reply {
    Reply::json(status, &json!({"error": msg, "code": status}).to_string())
}

fn answer(state: &Mutex<State>, req: &Recorded) -> Reply {
    let latency = state.lock().unwrap().latency;
    let reply = answer_now(state, req);
    if latency.is_zero() {
        reply
    } else {
        Reply::Delay(latency, Box::new(reply))
    }
}

fn answer_now(state: &Mutex<State>, req: &Recorded) -> Reply {
    let route = Route::of(&req.path);
    let mut s = state.lock().unwrap();
    if let Some(reply) = s.scripts.get_mut(&route).and_then(VecDeque::pop_front) {
        return reply;
    }
    if req.method != "POST" {
        return error(405, "method not allowed");
    }
    if req.header("content-type") != Some("application/json") {
        return error(415, "content type must be application/json");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return error(400, "body is not JSON");
    };
    match route {
        Route::Token => {
            let auth = req.header("authorization").unwrap_or("");
            let ok = s
                .clients
                .iter()
                .any(|(id, secret)| auth == format!("Basic {}", base64(&format!("{id}:{secret}"))));
            if !ok {
                return error(401, "invalid client credentials");
            }
            if body != json!({"grant_type": "client_credentials"}) {
                return error(400, "unsupported grant");
            }
            s.issued += 1;
            let token = token_value(s.issued);
            s.tokens.push(token.clone());
            Reply::json(
                200,
                &json!({"access_token": token, "token_type": "Bearer", "expires_in": s.token_lifetime})
                    .to_string(),
            )
        }
        Route::Pstn | Route::Handoff => {
            let auth = req.header("authorization").unwrap_or("");
            let ok = auth == format!("ApiKey {API_KEY}")
                || auth
                    .strip_prefix("Bearer ")
                    .is_some_and(|t| s.tokens.iter().any(|k| k == t));
            if !ok {
                return error(401, "unauthenticated");
            }
            if route == Route::Pstn {
                let valid = body["callId"].is_string()
                    && body["ccaasMetadata"].is_object()
                    && body["supportedDtmfChars"].is_string();
                if !valid {
                    return error(
                        400,
                        "callId, ccaasMetadata and supportedDtmfChars are required",
                    );
                }
                Reply::json(
                    200,
                    &json!({"phoneNumber": PHONE_NUMBER, "dtmfSequence": DTMF}).to_string(),
                )
            } else {
                let Some(id) = body["correlationId"].as_str() else {
                    return error(400, "correlationId is required");
                };
                Reply::json(
                    200,
                    &json!({"handoff": {
                        "conversation": "customers/cresta/profiles/walter-dev/conversations/51ca9fc2",
                        "conversationCorrelationId": id,
                        "summary": "Caller asked about an order.",
                        "transferTarget": "pstn:PSTN3"
                    }})
                    .to_string(),
                )
            }
        }
        Route::Other => error(404, "not found"),
    }
}

/// Standard base64, written here so the mock does not trust the code under test.
pub fn base64(input: &str) -> String {
    base64_bytes(input.as_bytes())
}

/// Standard base64 of bytes.
pub fn base64_bytes(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
