//! A mock AWS Secrets Manager (`GetSecretValue`, JSON 1.1) that verifies
//! each request's SigV4 signature by recomputing it with its own code, and
//! answers 403 `InvalidSignatureException` on any mismatch.

#![allow(dead_code)]

use super::server::{Recorded, Reply, Server};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

pub const ACCESS_KEY_ID: &str = "AKIATESTEXAMPLE00001";
pub const SECRET_ACCESS_KEY: &str = "test/secret+access+key/5c9e1f0a8b7d";
pub const SESSION_TOKEN: &str = "test-session-token-IQoJb3JpZ2luX2VjE";
pub const REGION: &str = "us-west-2";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-west-2:123456789012:secret:cresta-oauth-Ab12Cd";

/// What a secret holds.
#[derive(Debug, Clone)]
pub enum Stored {
    String(String),
    Binary(String),
}

struct State {
    secrets: HashMap<String, Stored>,
    scripts: VecDeque<Reply>,
}

#[derive(Clone)]
pub struct MockSecretsManager {
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl MockSecretsManager {
    /// Starts with `SECRET_ARN` holding the mock Cresta client credentials.
    pub fn start() -> MockSecretsManager {
        Self::start_on(None)
    }

    /// The same stand-in over HTTPS (see `super::tls`).
    pub fn start_tls(tls: Arc<rustls::ServerConfig>) -> MockSecretsManager {
        Self::start_on(Some(tls))
    }

    fn start_on(tls: Option<Arc<rustls::ServerConfig>>) -> MockSecretsManager {
        let mut secrets = HashMap::new();
        secrets.insert(
            SECRET_ARN.to_string(),
            Stored::String(
                json!({"oauthClientId": super::cresta::CLIENT_ID, "oauthClientSecret": super::cresta::CLIENT_SECRET})
                    .to_string(),
            ),
        );
        let state = Arc::new(Mutex::new(State {
            secrets,
            scripts: VecDeque::new(),
        }));
        let shared = state.clone();
        let handler = move |req: &Recorded| answer(&shared, req);
        let server = match tls {
            None => Server::start(handler),
            Some(config) => Server::start_tls(config, handler),
        };
        MockSecretsManager { server, state }
    }

    /// For `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn put(&self, arn: &str, value: Stored) {
        self.state.lock().unwrap().secrets.insert(arn.into(), value);
    }

    /// Replies used, in order, before normal behaviour (signature checks included) resumes.
    pub fn script(&self, replies: Vec<Reply>) {
        self.state.lock().unwrap().scripts.extend(replies);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The environment a Lambda would have for this mock.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_ACCESS_KEY.into()),
            ("AWS_SESSION_TOKEN".into(), SESSION_TOKEN.into()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER".into(), self.url()),
        ]
    }
}

pub fn aws_error(status: u16, kind: &str, message: &str) -> Reply {
    Reply::raw(
        status,
        "application/x-amz-json-1.1",
        json!({"__type": kind, "message": message})
            .to_string()
            .as_bytes(),
    )
}

fn answer(state: &Mutex<State>, req: &Recorded) -> Reply {
    let mut s = state.lock().unwrap();
    if let Some(reply) = s.scripts.pop_front() {
        return reply;
    }
    if let Err(why) = verify_signature(req) {
        return aws_error(403, "InvalidSignatureException", &why);
    }
    if req.header("x-amz-target") != Some("secretsmanager.GetSecretValue") {
        return aws_error(400, "UnknownOperationException", "unknown target");
    }
    if req.header("content-type") != Some("application/x-amz-json-1.1") {
        return aws_error(400, "SerializationException", "bad content type");
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return aws_error(400, "SerializationException", "body is not JSON"),
    };
    let Some(id) = body["SecretId"].as_str() else {
        return aws_error(400, "InvalidParameterException", "SecretId is required");
    };
    match s.secrets.get(id) {
        Some(Stored::String(v)) => Reply::raw(
            200,
            "application/x-amz-json-1.1",
            json!({"ARN": id, "Name": "cresta-oauth", "SecretString": v, "VersionId": "v1"})
                .to_string()
                .as_bytes(),
        ),
        Some(Stored::Binary(v)) => Reply::raw(
            200,
            "application/x-amz-json-1.1",
            json!({"ARN": id, "Name": "cresta-oauth", "SecretBinary": v, "VersionId": "v1"})
                .to_string()
                .as_bytes(),
        ),
        None => aws_error(
            400,
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        ),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Recomputes the SigV4 signature of `req` from scratch.
pub fn verify_signature(req: &Recorded) -> Result<(), String> {
    let auth = req
        .header("authorization")
        .ok_or("no Authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let mut credential = "";
    let mut signed_headers = "";
    let mut signature = "";
    for part in rest.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or("bad Authorization part")?;
        match k {
            "Credential" => credential = v,
            "SignedHeaders" => signed_headers = v,
            "Signature" => signature = v,
            _ => return Err(format!("unexpected Authorization part {k}")),
        }
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err("bad credential scope".into());
    };
    if *key_id != ACCESS_KEY_ID {
        return Err("unknown access key".into());
    }
    if *service != "secretsmanager" || *terminator != "aws4_request" || *region != REGION {
        return Err("wrong scope".into());
    }
    let amz_date = req.header("x-amz-date").ok_or("no X-Amz-Date")?;
    if !amz_date.starts_with(date) {
        return Err("X-Amz-Date does not match the scope date".into());
    }
    if req.header("x-amz-security-token") != Some(SESSION_TOKEN) {
        return Err("missing or wrong X-Amz-Security-Token".into());
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    for required in ["host", "x-amz-date", "x-amz-target", "content-type"] {
        if !names.contains(&required) {
            return Err(format!("{required} is not signed"));
        }
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let value = req
            .header(name)
            .ok_or(format!("signed header {name} missing"))?;
        canonical_headers.push_str(&format!("{name}:{}\n", value.trim()));
    }
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        path,
        query,
        canonical_headers,
        signed_headers,
        hex(&Sha256::digest(&req.body))
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{SECRET_ACCESS_KEY}").as_bytes(), date);
    for part in [*region, *service, "aws4_request"] {
        key = hmac(&key, part);
    }
    let expected = hex(&hmac(&key, &string_to_sign));
    if expected != signature {
        return Err("signature does not match".into());
    }
    Ok(())
}
