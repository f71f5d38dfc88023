//! Where the GetSecretValue call goes, end to end: the regional host of
//! the ARN's partition, its FIPS variant, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`,
//! an override with a path prefix, and the `X-Amzn-Trace-Id` header. The
//! real AWS hosts are never reached: the CONNECT proxy stand-in records
//! which host was asked for, and then fails the tunnel (nothing listens on
//! 127.0.0.1:443).

mod support;

use std::time::Duration;
use support::cresta::{MockCresta, Route};
use support::proxy::ConnectProxy;
use support::runtime_api::FakeRuntime;
use support::secrets_manager::MockSecretsManager;
use support::{event, run_test_mode, secret_env, with_env, RuntimeProcess};

fn handoff() -> String {
    event(&[("action", "get_handoff_data")])
}

/// The host:port the function asked the proxy for, with `extra` set and
/// no endpoint override.
fn connect_target(arn: &str, extra: &[(&str, &str)]) -> (String, support::Run) {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let proxy = ConnectProxy::start();
    let mut env = secret_env(&cresta, &sm);
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL_SECRETS_MANAGER");
    env = with_env(
        env,
        &[
            ("oauthSecretArn", arn),
            ("HTTPS_PROXY", &proxy.url()),
            ("HTTP_MAX_RETRIES", "0"),
        ],
    );
    let run = run_test_mode(handoff().as_bytes(), &with_env(env, extra));
    let targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(targets.len(), 1, "{targets:?} {run:?}");
    (targets[0].clone(), run)
}

#[test]
fn the_host_follows_the_arns_partition() {
    for (arn, host) in [
        (
            "arn:aws:secretsmanager:us-west-2:123456789012:secret:s-AbCdEf",
            "secretsmanager.us-west-2.amazonaws.com:443",
        ),
        (
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:s-AbCdEf",
            "secretsmanager.cn-north-1.amazonaws.com.cn:443",
        ),
        (
            "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:s-AbCdEf",
            "secretsmanager.us-gov-west-1.amazonaws.com:443",
        ),
        (
            "arn:aws-iso-b:secretsmanager:us-isob-east-1:123456789012:secret:s-AbCdEf",
            "secretsmanager.us-isob-east-1.sc2s.sgov.gov:443",
        ),
    ] {
        let (target, run) = connect_target(arn, &[]);
        assert_eq!(target, host);
        // The stand-in proxy has no AWS behind it: the tunnel fails.
        run.assert_error(&["Secrets.ProxyRefused"]);
    }
}

#[test]
fn fips_and_ignoring_configured_endpoints() {
    let arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:s-AbCdEf";
    let (target, _) = connect_target(arn, &[("AWS_USE_FIPS_ENDPOINT", "true")]);
    assert_eq!(target, "secretsmanager-fips.us-west-2.amazonaws.com:443");
    let (target, _) = connect_target(
        arn,
        &[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ],
    );
    assert_eq!(target, "secretsmanager.us-west-2.amazonaws.com:443");
}

#[test]
fn an_unknown_partition_is_refused_before_any_request() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let env = with_env(
        secret_env(&cresta, &sm),
        &[(
            "oauthSecretArn",
            "arn:aws-moon:secretsmanager:moon-1:123456789012:secret:s-AbCdEf",
        )],
    );
    let run = run_test_mode(handoff().as_bytes(), &env);
    run.assert_error(&["Config.InvalidSecretArn", "aws-moon"]);
    assert!(sm.requests().is_empty());
}

#[test]
fn an_override_with_a_path_prefix_is_signed_and_used() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let env = with_env(
        secret_env(&cresta, &sm),
        &[(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            &format!("{}/gateway/sm/", sm.url()),
        )],
    );
    let run = run_test_mode(handoff().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    let reqs = sm.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/gateway/sm/");
    assert!(support::secrets_manager::verify_signature(&reqs[0]).is_ok());
    assert_eq!(
        reqs[0].header("x-amzn-trace-id"),
        None,
        "no invocation, no trace id"
    );
}

#[test]
fn get_secret_value_carries_the_invocations_trace_id() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(
        &rt.address(),
        &with_env(secret_env(&cresta, &sm), &[("SECRET_CACHE_TTL", "0")]),
    );
    let ids = [
        rt.push(&handoff(), Duration::from_secs(8)),
        rt.push(&handoff(), Duration::from_secs(8)),
    ];
    let outcomes = rt.wait_outcomes(2, Duration::from_secs(30));
    let log = proc.finish();
    assert!(outcomes.iter().all(|o| o.ok), "{outcomes:?} {log}");
    // Init prefetches the secret outside any invocation: that read carries
    // no trace id; each invocation's own read carries its own.
    let reqs = sm.requests();
    assert!(reqs.len() <= 3, "{reqs:?}");
    let traces: Vec<String> = reqs
        .iter()
        .filter_map(|r| r.header("x-amzn-trace-id").map(str::to_string))
        .collect();
    assert_eq!(traces.len(), 2);
    for (trace, id) in traces.iter().zip(ids) {
        // The fake Runtime API puts the request id in each trace id.
        assert!(trace.starts_with("Root=1-"), "{trace}");
        assert!(trace.ends_with(&format!("Id={id}")), "{trace} for {id}");
    }
    assert_eq!(cresta.requests(Route::Handoff).len(), 2);
}
