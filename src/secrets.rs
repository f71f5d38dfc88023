//! OAuth client credentials from AWS Secrets Manager: a hand-built
//! `GetSecretValue` request (JSON 1.1 protocol) signed with SigV4, and a
//! per-process cache so warm invocations make no Secrets Manager call.

use crate::auth::ClientCredentials;
use crate::config::SecretArn;
use crate::deadline::Deadline;
use crate::error::{Category, Error};
use crate::http::{HttpClient, Request};
use crate::retry::is_retryable_status;
use crate::single_flight::Flights;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// The Lambda execution role's credentials, as Lambda puts them in the environment.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AwsCredentials {{ access_key_id: {:?}, .. }}",
            self.access_key_id
        )
    }
}

impl AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<AwsCredentials, Error> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(access_key_id), Some(secret_access_key)) => {
                let session_token = get("AWS_SESSION_TOKEN");
                crate::log::register_secret(&secret_access_key);
                if let Some(t) = &session_token {
                    crate::log::register_secret(t);
                }
                Ok(AwsCredentials {
                    access_key_id,
                    secret_access_key,
                    session_token,
                })
            }
            _ => Err(Error::new(
                Category::Secrets,
                "MissingAwsCredentials",
                "oauthSecretArn is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not in the environment",
            )),
        }
    }
}

/// The Secrets Manager base URL for a secret: the deployer's override, or
/// the regional host of the ARN's partition (see [`crate::aws_endpoint`]).
pub fn endpoint(secret: &SecretArn, env: &dyn Fn(&str) -> Option<String>) -> Result<String, Error> {
    let partition = crate::aws_endpoint::partition_of(&secret.arn)?;
    crate::aws_endpoint::secrets_manager(partition, &secret.region, env)
}

/// `X-Amzn-Trace-Id` for an AWS call, as the AWS SDKs add it in Lambda: the
/// invocation's own trace id (from its `/next` headers, passed down with the
/// invocation), left out when absent or not sendable as a header.
pub fn trace_header(trace_id: Option<&str>) -> Option<(&'static str, String)> {
    let id = trace_id?.trim();
    let sendable = !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    sendable.then(|| ("X-Amzn-Trace-Id", id.to_string()))
}

/// Headers (signature included) and body of a signed request.
pub type SignedRequest = (Vec<(String, String)>, Vec<u8>);

/// The headers (signature included) and body of `GetSecretValue`, signed at
/// `time`. Pure, so a fixed clock gives a fixed signature.
pub fn signed_request(
    creds: &AwsCredentials,
    region: &str,
    endpoint: &str,
    secret_id: &str,
    time: SystemTime,
) -> Result<SignedRequest, Error> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    let body = serde_json::json!({ "SecretId": secret_id })
        .to_string()
        .into_bytes();
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-amz-json-1.1".to_string(),
        ),
        (
            "X-Amz-Target".to_string(),
            "secretsmanager.GetSecretValue".to_string(),
        ),
    ];
    let identity = aws_credential_types::Credentials::new(
        &creds.access_key_id,
        &creds.secret_access_key,
        creds.session_token.clone(),
        None,
        "environment",
    )
    .into();
    let signing_error = |e: &dyn std::fmt::Display| {
        Error::new(
            Category::Secrets,
            "SigningFailed",
            format!("could not sign the Secrets Manager request: {e}"),
        )
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("secretsmanager")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| signing_error(&e))?
        .into();
    let url = format!("{endpoint}/");
    let signable = SignableRequest::new(
        "POST",
        url.as_str(),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| signing_error(&e))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| signing_error(&e))?
        .into_parts();
    headers.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    Ok((headers, body))
}

/// The JSON 1.1 error type of an answer, without its namespace.
pub fn error_type(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let t = value.get("__type")?.as_str()?;
    Some(t.rsplit('#').next().unwrap_or(t).to_string())
}

fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("Message")
                .or_else(|| v.get("message"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Whether an answer is worth retrying: the usual statuses, plus throttling
/// and internal errors that the JSON protocol sends as 400.
pub fn is_retryable(status: u16, body: &[u8]) -> bool {
    is_retryable_status(status)
        || matches!(
            error_type(body).as_deref(),
            Some("ThrottlingException" | "TooManyRequestsException" | "InternalServiceError")
        )
}

/// Reads the client credentials out of a `GetSecretValue` answer. No error
/// text ever contains the secret's value.
pub fn interpret(
    status: u16,
    body: &[u8],
    attempts_note: &str,
) -> Result<ClientCredentials, Error> {
    let err = |reason: &str, msg: String| Error::new(Category::Secrets, reason, msg);
    if status != 200 {
        let kind = error_type(body).unwrap_or_default();
        let detail = error_message(body);
        let (reason, what) = match kind.as_str() {
            "ResourceNotFoundException" => ("NotFound", "the secret does not exist"),
            "AccessDeniedException" => {
                ("AccessDenied", "the execution role may not read the secret")
            }
            "DecryptionFailure" => (
                "DecryptionFailure",
                "the secret's KMS key cannot decrypt it",
            ),
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "IncompleteSignature" => {
                ("InvalidAwsCredentials", "the AWS credentials were refused")
            }
            "ThrottlingException" | "TooManyRequestsException" => {
                ("Throttled", "Secrets Manager kept throttling")
            }
            "InternalServiceError" => ("ServiceError", "Secrets Manager kept failing"),
            _ if status == 403 => ("AccessDenied", "the request was refused"),
            _ => ("Failed", "GetSecretValue failed"),
        };
        let kind = if kind.is_empty() {
            "no error type".to_string()
        } else {
            kind
        };
        return Err(err(
            reason,
            format!(
                "Secrets Manager: {what} (status {status}, {kind}, {attempts_note}){}",
                if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::error::one_line(&detail))
                }
            ),
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| err("Malformed", "Secrets Manager answer is not JSON".into()))?;
    let Some(text) = value.get("SecretString").and_then(Value::as_str) else {
        if value.get("SecretBinary").is_some() {
            return Err(err(
                "BinaryUnsupported",
                "the secret is stored as SecretBinary; store it as a SecretString JSON object with oauthClientId and oauthClientSecret".into(),
            ));
        }
        return Err(err(
            "Malformed",
            "Secrets Manager answer has no SecretString".into(),
        ));
    };
    let Ok(Value::Object(secret)) = serde_json::from_str::<Value>(text) else {
        return Err(err(
            "Malformed",
            "the secret's SecretString is not a JSON object with oauthClientId and oauthClientSecret".into(),
        ));
    };
    let field = |name: &str| -> Result<String, Error> {
        match secret.get(name).and_then(Value::as_str) {
            Some(v) if !v.is_empty() => Ok(v.to_string()),
            _ => Err(err(
                "Malformed",
                format!("the secret has no non-empty string field {name}"),
            )),
        }
    };
    let creds = ClientCredentials {
        id: field("oauthClientId")?,
        secret: field("oauthClientSecret")?,
    };
    crate::log::register_secret(&creds.secret);
    Ok(creds)
}

/// Secrets by ARN, reused for the configured TTL and shared by concurrent
/// invocations: those that need a secret at the same time wait for one
/// `GetSecretValue` (single flight).
pub struct SecretCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (ClientCredentials, Instant)>>,
    flights: Flights<String, (ClientCredentials, bool)>,
}

/// The cache never holds more than this many secrets.
const MAX_ENTRIES: usize = 16;

impl SecretCache {
    /// An empty cache whose entries live `ttl` (zero disables caching).
    pub fn new(ttl: Duration) -> SecretCache {
        SecretCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            flights: Flights::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, (ClientCredentials, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops a secret that may have been rotated, unless another invocation
    /// has re-read it already (`stale` is what the caller had).
    pub fn forget(&self, arn: &str, stale: &ClientCredentials) {
        let mut entries = self.entries();
        if entries.get(arn).is_some_and(|(c, _)| c == stale) {
            entries.remove(arn);
        }
    }

    /// The cached credentials for `arn`, while fresh.
    pub fn cached(&self, arn: &str) -> Option<ClientCredentials> {
        self.entries()
            .get(arn)
            .filter(|(_, fetched)| fetched.elapsed() < self.ttl)
            .map(|(c, _)| c.clone())
    }

    /// The credentials, and whether they came from the cache. Concurrent
    /// callers for the same secret share one fetch, each waiting until its
    /// own deadline; the fetch carries the trace id of the one that made it.
    pub fn get(
        &self,
        http: &HttpClient,
        secret: &SecretArn,
        env: &dyn Fn(&str) -> Option<String>,
        trace_id: Option<&str>,
        deadline: Deadline,
    ) -> Result<(ClientCredentials, bool), Error> {
        if let Some(creds) = self.cached(&secret.arn) {
            return Ok((creds, true));
        }
        self.flights
            .run(&secret.arn, deadline, "Secrets Manager request", || {
                // A fetch that ended just before this one began may have
                // filled the cache.
                if let Some(creds) = self.cached(&secret.arn) {
                    return Ok((creds, true));
                }
                let creds = fetch(http, secret, env, trace_id, deadline)?;
                if !self.ttl.is_zero() {
                    let mut entries = self.entries();
                    if entries.len() >= MAX_ENTRIES {
                        entries.clear();
                    }
                    entries.insert(secret.arn.clone(), (creds.clone(), Instant::now()));
                }
                Ok((creds, false))
            })
    }
}

/// One `GetSecretValue` call (with retries; each attempt signed afresh).
fn fetch(
    http: &HttpClient,
    secret: &SecretArn,
    env: &dyn Fn(&str) -> Option<String>,
    trace_id: Option<&str>,
    deadline: Deadline,
) -> Result<ClientCredentials, Error> {
    let aws = AwsCredentials::from_env(env)?;
    let endpoint = endpoint(secret, env)?;
    let (headers, body) = signed_request(
        &aws,
        &secret.region,
        &endpoint,
        &secret.arn,
        SystemTime::now(),
    )?;
    crate::debug!("fetching secret {} from {endpoint}", secret.arn);
    let req = Request {
        what: "Secrets Manager GetSecretValue request",
        category: Category::Secrets,
        url: format!("{endpoint}/"),
        // The trace header is not signed (SigV4 leaves it out, as the SDKs do).
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            // Not signed, as the AWS SDKs do: X-Ray may rewrite it.
            .chain(trace_header(trace_id))
            .collect(),
        body,
        settings: "oauthSecretArn, AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL and the AWS_* credentials",
    };
    let resp = http.post_with(&req, deadline, &is_retryable)?;
    interpret(resp.status, &resp.body, &resp.attempts_note())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn creds() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("session-token-example".into()),
        }
    }

    #[test]
    fn signature_is_deterministic_under_a_fixed_clock() {
        let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cresta-AbCdEf";
        let (headers, body) = signed_request(
            &creds(),
            "us-east-1",
            "https://secretsmanager.us-east-1.amazonaws.com",
            arn,
            time,
        )
        .unwrap();
        assert_eq!(body, format!(r#"{{"SecretId":"{arn}"}}"#).into_bytes());
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-amz-date"), Some("20231114T221320Z"));
        assert_eq!(get("x-amz-security-token"), Some("session-token-example"));
        assert_eq!(get("X-Amz-Target"), Some("secretsmanager.GetSecretValue"));
        assert_eq!(
            get("authorization"),
            Some(PINNED_AUTHORIZATION),
            "signature changed"
        );
    }

    // Recomputed independently (Python hmac/hashlib) when it was pinned.
    const PINNED_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=e4a0ca7327bbe5df4c5c8eac3842af7ebefaea1fd6eb0cf622c34d5d6111e4a6";

    #[test]
    fn endpoint_override_order_and_partition() {
        let env = crate::lookup;
        let arn = |a: &str| crate::config::parse_secret_arn(a).unwrap();
        let gov = arn("arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x");
        let cn = arn("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x");
        assert_eq!(
            endpoint(&gov, &env(&[])).unwrap(),
            "https://secretsmanager.us-gov-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint(&cn, &env(&[])).unwrap(),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            endpoint(
                &cn,
                &env(&[
                    ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                    (
                        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                        "https://vpce-1.secretsmanager.cn-north-1.vpce.amazonaws.com.cn"
                    )
                ])
            )
            .unwrap(),
            "https://vpce-1.secretsmanager.cn-north-1.vpce.amazonaws.com.cn"
        );
        assert!(AwsCredentials::from_env(&env(&[("AWS_ACCESS_KEY_ID", "a")])).is_err());
    }

    #[test]
    fn the_trace_header_comes_from_the_invocation() {
        assert_eq!(trace_header(None), None);
        assert_eq!(trace_header(Some("")), None);
        assert_eq!(
            trace_header(Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")),
            Some((
                "X-Amzn-Trace-Id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()
            ))
        );
        assert_eq!(trace_header(Some("Root=1\r\nX: y")), None);
    }

    #[test]
    fn answers_are_interpreted_without_leaking_the_value() {
        let ok = br#"{"ARN":"a","SecretString":"{\"oauthClientId\":\"id\",\"oauthClientSecret\":\"very-secret\"}"}"#;
        let c = interpret(200, ok, "1 attempt").unwrap();
        assert_eq!((c.id.as_str(), c.secret.as_str()), ("id", "very-secret"));
        let cases: [(u16, &[u8], &str); 8] = [
            (
                400,
                br#"{"__type":"ResourceNotFoundException","Message":"nope"}"#,
                "Secrets.NotFound",
            ),
            (
                400,
                br#"{"__type":"com.amazon#AccessDeniedException"}"#,
                "Secrets.AccessDenied",
            ),
            (
                400,
                br#"{"__type":"DecryptionFailure"}"#,
                "Secrets.DecryptionFailure",
            ),
            (
                200,
                br#"{"SecretBinary":"AAEC"}"#,
                "Secrets.BinaryUnsupported",
            ),
            (
                200,
                br#"{"SecretString":"not json hunter2"}"#,
                "Secrets.Malformed",
            ),
            (
                200,
                br#"{"SecretString":"{\"oauthClientId\":\"id\"}"}"#,
                "Secrets.Malformed",
            ),
            (
                200,
                br#"{"SecretString":"{\"oauthClientId\":\"\",\"oauthClientSecret\":\"hunter2\"}"}"#,
                "Secrets.Malformed",
            ),
            (403, b"<html>", "Secrets.AccessDenied"),
        ];
        for (status, body, expect) in cases {
            let e = interpret(status, body, "1 attempt").unwrap_err();
            assert_eq!(e.error_type(), expect, "{e}");
            assert!(!e.message().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn forgetting_a_rotated_secret_keeps_one_read_since() {
        let cache = SecretCache::new(Duration::from_secs(300));
        let arn = "arn:aws:secretsmanager:us-east-1:1:secret:s";
        let (old, new) = (
            ClientCredentials {
                id: "id".into(),
                secret: "old-secret".into(),
            },
            ClientCredentials {
                id: "id".into(),
                secret: "new-secret".into(),
            },
        );
        cache
            .entries()
            .insert(arn.into(), (new.clone(), Instant::now()));
        cache.forget(arn, &old);
        assert_eq!(cache.cached(arn), Some(new.clone()));
        cache.forget(arn, &new);
        assert_eq!(cache.cached(arn), None);
    }

    #[test]
    fn throttling_sent_as_400_is_retryable() {
        assert!(is_retryable(400, br#"{"__type":"ThrottlingException"}"#));
        assert!(is_retryable(
            400,
            br#"{"__type":"TooManyRequestsException"}"#
        ));
        assert!(is_retryable(500, br#"{"__type":"InternalServiceError"}"#));
        assert!(!is_retryable(
            400,
            br#"{"__type":"ResourceNotFoundException"}"#
        ));
        assert!(!is_retryable(400, b"garbage"));
    }
}
