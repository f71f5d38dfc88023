//! End-to-end tests of `oauthSecretArn`: the real binary against a mock
//! Secrets Manager that verifies every SigV4 signature independently.

mod support;

use serde_json::json;
use std::time::Duration;
use support::cresta::{MockCresta, Route, CLIENT_ID, CLIENT_SECRET};
use support::runtime_api::FakeRuntime;
use support::secrets_manager::{
    aws_error, MockSecretsManager, Stored, SECRET_ACCESS_KEY, SECRET_ARN, SESSION_TOKEN,
};
use support::{event, run_test_mode, with_env as with, RuntimeProcess};

const BUDGET: Duration = Duration::from_secs(8);

fn handoff() -> String {
    event(&[("action", "get_handoff_data")])
}

/// OAuth through the secret, with fast retries.
fn secret_env(cresta: &MockCresta, sm: &MockSecretsManager) -> Vec<(String, String)> {
    with(
        support::secret_env(cresta, sm),
        &[("HTTP_RETRY_BASE_DELAY", "5ms")],
    )
}

#[test]
fn credentials_from_the_secret_reach_the_token_endpoint() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let run = run_test_mode(handoff().as_bytes(), &secret_env(&cresta, &sm));
    assert_eq!(run.code, Some(0), "{run:?}");
    let reqs = sm.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/");
    assert_eq!(
        r.header("x-amz-target"),
        Some("secretsmanager.GetSecretValue")
    );
    assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
    assert_eq!(r.header("x-amz-security-token"), Some(SESSION_TOKEN));
    assert_eq!(r.json(), json!({"SecretId": SECRET_ARN}));
    assert!(support::secrets_manager::verify_signature(r).is_ok());
    assert_eq!(cresta.requests(Route::Token).len(), 1);
}

#[test]
fn the_generic_endpoint_override_works_too() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let mut e = secret_env(&cresta, &sm);
    e.retain(|(k, _)| k != "AWS_ENDPOINT_URL_SECRETS_MANAGER");
    e.push(("AWS_ENDPOINT_URL".into(), sm.url()));
    let run = run_test_mode(handoff().as_bytes(), &e);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(sm.requests().len(), 1);
}

#[test]
fn a_bad_signature_is_refused_by_the_mock() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let run = run_test_mode(
        handoff().as_bytes(),
        &with(
            secret_env(&cresta, &sm),
            &[("AWS_SECRET_ACCESS_KEY", "not-the-right-key-at-all")],
        ),
    );
    run.assert_error(&["Secrets.InvalidAwsCredentials", "InvalidSignatureException"]);
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn the_secret_wins_over_client_credentials_in_the_environment() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let e = with(
        secret_env(&cresta, &sm),
        &[
            ("oauthClientId", "env-client"),
            ("oauthClientSecret", "env-secret-value"),
        ],
    );
    let run = run_test_mode(handoff().as_bytes(), &e);
    assert_eq!(run.code, Some(0), "{run:?}");
    let basic = support::cresta::base64(&format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(
        cresta.requests(Route::Token)[0].header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
}

#[test]
fn each_secret_failure_has_its_own_error() {
    let not_json = Stored::String("hunter2-not-json".into());
    let lacks = Stored::String(json!({"oauthClientId": "x"}).to_string());
    let empty = Stored::String(json!({"oauthClientId": "x", "oauthClientSecret": ""}).to_string());
    let cases: Vec<(Option<Stored>, Option<support::server::Reply>, Vec<&str>)> = vec![
        (
            None,
            Some(aws_error(400, "ResourceNotFoundException", "can't find it")),
            vec!["Secrets.NotFound", "does not exist"],
        ),
        (
            None,
            Some(aws_error(400, "AccessDeniedException", "not allowed")),
            vec!["Secrets.AccessDenied", "not allowed"],
        ),
        (
            None,
            Some(aws_error(400, "DecryptionFailure", "kms said no")),
            vec!["Secrets.DecryptionFailure", "KMS"],
        ),
        (
            Some(Stored::Binary("AAECAw==".into())),
            None,
            vec!["Secrets.BinaryUnsupported", "SecretBinary"],
        ),
        (
            Some(not_json),
            None,
            vec!["Secrets.Malformed", "not a JSON object"],
        ),
        (
            Some(lacks),
            None,
            vec!["Secrets.Malformed", "oauthClientSecret"],
        ),
        (
            Some(empty),
            None,
            vec!["Secrets.Malformed", "oauthClientSecret"],
        ),
    ];
    for (stored, scripted, words) in cases {
        let cresta = MockCresta::start();
        let sm = MockSecretsManager::start();
        if let Some(s) = stored {
            sm.put(SECRET_ARN, s);
        }
        if let Some(r) = scripted {
            sm.script(vec![r]);
        }
        let run = run_test_mode(handoff().as_bytes(), &secret_env(&cresta, &sm));
        run.assert_error(&words);
        assert!(!run.stderr.contains("hunter2"), "{run:?}");
        assert_eq!(sm.requests().len(), 1, "not retried: {words:?}");
        assert!(cresta.server.requests().is_empty());
    }
}

#[test]
fn unknown_secrets_are_not_found() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:missing-Zz99";
    let run = run_test_mode(
        handoff().as_bytes(),
        &with(secret_env(&cresta, &sm), &[("oauthSecretArn", arn)]),
    );
    run.assert_error(&["Secrets.NotFound", "ResourceNotFoundException"]);
}

#[test]
fn malformed_arns_and_missing_aws_credentials_make_no_request() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let run = run_test_mode(
        handoff().as_bytes(),
        &with(
            secret_env(&cresta, &sm),
            &[(
                "oauthSecretArn",
                "arn:aws:secretsmanager:us-west-2:123:secret",
            )],
        ),
    );
    run.assert_error(&["Config.InvalidSecretArn"]);
    let mut e = secret_env(&cresta, &sm);
    e.retain(|(k, _)| k != "AWS_SECRET_ACCESS_KEY");
    let run = run_test_mode(handoff().as_bytes(), &e);
    run.assert_error(&["Secrets.MissingAwsCredentials", "AWS_SECRET_ACCESS_KEY"]);
    assert!(sm.requests().is_empty());
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn throttling_is_retried_then_succeeds() {
    for kind in [
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalServiceError",
    ] {
        let cresta = MockCresta::start();
        let sm = MockSecretsManager::start();
        let status = if kind == "InternalServiceError" {
            500
        } else {
            400
        };
        sm.script(vec![aws_error(status, kind, "slow down")]);
        let run = run_test_mode(handoff().as_bytes(), &secret_env(&cresta, &sm));
        assert_eq!(run.code, Some(0), "{kind}: {run:?}");
        assert_eq!(sm.requests().len(), 2, "{kind}");
    }
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    sm.script(vec![aws_error(400, "ThrottlingException", "slow down"); 4]);
    let run = run_test_mode(handoff().as_bytes(), &secret_env(&cresta, &sm));
    run.assert_error(&["Secrets.Throttled", "4 attempts"]);
}

#[test]
fn warm_invocations_make_no_secrets_manager_call() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &secret_env(&cresta, &sm));
    for _ in 0..3 {
        rt.push(&handoff(), BUDGET);
    }
    let outcomes = rt.wait_outcomes(3, Duration::from_secs(20));
    let log = proc.finish();
    assert!(outcomes.iter().all(|o| o.ok), "{log}");
    assert_eq!(sm.requests().len(), 1);
    assert_eq!(cresta.requests(Route::Token).len(), 1);
}

#[test]
fn a_zero_ttl_reads_the_secret_every_time() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(
        &rt.address(),
        &with(secret_env(&cresta, &sm), &[("SECRET_CACHE_TTL", "0s")]),
    );
    // Init's prefetch (SPEC section 9) reads it once before the first event.
    rt.wait_next_calls(1, Duration::from_secs(20));
    let at_init = sm.requests().len();
    for _ in 0..3 {
        rt.push(&handoff(), BUDGET);
    }
    let outcomes = rt.wait_outcomes(3, Duration::from_secs(20));
    let log = proc.finish();
    assert!(outcomes.iter().all(|o| o.ok), "{log}");
    assert_eq!(sm.requests().len() - at_init, 3);
}

#[test]
fn a_rotated_secret_is_reread_after_a_token_401() {
    let cresta = MockCresta::start();
    cresta.set_token_lifetime(2); // reused for 1 s
    let sm = MockSecretsManager::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &secret_env(&cresta, &sm));
    rt.push(&handoff(), BUDGET);
    assert!(rt.wait_outcomes(1, Duration::from_secs(20))[0].ok);
    // Rotate: Cresta accepts only the new client; the secret holds it.
    cresta.set_client("rotated-client", "rotated-secret-value-1");
    sm.put(
        SECRET_ARN,
        Stored::String(json!({"oauthClientId": "rotated-client", "oauthClientSecret": "rotated-secret-value-1"}).to_string()),
    );
    std::thread::sleep(Duration::from_millis(1100));
    rt.push(&handoff(), BUDGET);
    let outcomes = rt.wait_outcomes(2, Duration::from_secs(20));
    let log = proc.finish();
    assert!(outcomes[1].ok, "{outcomes:?} {log}");
    assert_eq!(sm.requests().len(), 2, "secret re-read once after the 401");
    let tokens = cresta.requests(Route::Token);
    assert_eq!(tokens.len(), 3, "old token, refused, then new");
}

#[test]
fn no_aws_or_oauth_secret_is_ever_logged() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let e = with(secret_env(&cresta, &sm), &[("DEBUG_LOGGING", "true")]);
    let run = run_test_mode(handoff().as_bytes(), &e);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("[DEBUG]"));
    for secret in [
        SECRET_ACCESS_KEY,
        SESSION_TOKEN,
        CLIENT_SECRET,
        &cresta.issued_tokens()[0],
    ] {
        assert!(
            !run.stderr.contains(secret),
            "{secret} leaked: {}",
            run.stderr
        );
    }
}
