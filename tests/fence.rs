//! Where credentials may go, against the real binary: a flow that points
//! `apiDomain`/`authDomain` at a host of its choosing gets `Config.UntrustedHost`
//! and that host gets nothing, unless the flow supplied the credential itself
//! or the deployer allowed the host.

mod support;

use std::time::Duration;
use support::cresta::{MockCresta, Route, API_KEY, CLIENT_ID, CLIENT_SECRET};
use support::runtime_api::FakeRuntime;
use support::secrets_manager::MockSecretsManager;
use support::{api_key_env, event, oauth_env, run_test_mode, with_env, RuntimeProcess};

fn handoff(extra: &[(&str, &str)]) -> String {
    let mut p = vec![("action", "get_handoff_data")];
    p.extend_from_slice(extra);
    event(&p)
}

/// The host the flow editor controls: a stand-in that records everything.
fn attacker() -> MockCresta {
    MockCresta::start()
}

fn assert_untouched(attacker: &MockCresta) {
    let seen = attacker.server.requests();
    assert!(
        seen.is_empty(),
        "the untrusted host got {} requests",
        seen.len()
    );
}

#[test]
fn env_api_key_with_a_flow_chosen_api_domain_is_refused() {
    let cresta = MockCresta::start();
    let evil = attacker();
    let run = run_test_mode(
        handoff(&[("apiDomain", &evil.url())]).as_bytes(),
        &api_key_env(&cresta),
    );
    run.assert_error(&[
        "Config.UntrustedHost",
        "apiDomain",
        "127.0.0.1",
        "CRESTA_ALLOWED_HOSTS",
    ]);
    assert_untouched(&evil);
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn env_oauth_credentials_with_a_flow_chosen_auth_domain_send_nothing() {
    let cresta = MockCresta::start();
    let evil = attacker();
    let run = run_test_mode(
        handoff(&[("apiDomain", &evil.url()), ("authDomain", &evil.url())]).as_bytes(),
        &oauth_env(&cresta),
    );
    run.assert_error(&["Config.UntrustedHost", "authDomain", "OAuth client secret"]);
    assert_untouched(&evil);
    // Only the token endpoint chosen by the flow, the API host left alone.
    let run = run_test_mode(
        handoff(&[("apiDomain", &cresta.url()), ("authDomain", &evil.url())]).as_bytes(),
        &oauth_env(&cresta),
    );
    run.assert_error(&["Config.UntrustedHost", "authDomain"]);
    assert_untouched(&evil);
    assert!(cresta.requests(Route::Token).is_empty());
}

#[test]
fn a_secret_with_a_flow_chosen_auth_domain_sends_nothing() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let evil = attacker();
    // Even a secret ARN chosen by the flow yields the deployer's secret.
    let run = run_test_mode(
        handoff(&[
            ("apiDomain", &cresta.url()),
            ("authDomain", &evil.url()),
            ("oauthSecretArn", support::secrets_manager::SECRET_ARN),
        ])
        .as_bytes(),
        &support::secret_env(&cresta, &sm),
    );
    run.assert_error(&["Config.UntrustedHost", "authDomain", "oauthSecretArn"]);
    assert_untouched(&evil);
    assert!(sm.requests().is_empty(), "the secret was read");
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn flow_owned_credentials_go_where_the_flow_says() {
    let cresta = MockCresta::start();
    let other = attacker();
    // The flow's own API key, to the flow's own host: allowed, as before.
    let run = run_test_mode(
        handoff(&[("apiDomain", &other.url()), ("apiKey", API_KEY)]).as_bytes(),
        &api_key_env(&cresta),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(other.requests(Route::Handoff).len(), 1);
    // The flow's own client id and secret, to its own auth and API hosts.
    let run = run_test_mode(
        handoff(&[
            ("apiDomain", &other.url()),
            ("authDomain", &other.url()),
            ("oauthClientId", CLIENT_ID),
            ("oauthClientSecret", CLIENT_SECRET),
        ])
        .as_bytes(),
        &with_env(
            oauth_env(&cresta),
            &[("oauthClientSecret", "deployer-secret-0000")],
        ),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(other.requests(Route::Token).len(), 1);
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn allowed_hosts_let_the_flow_choose_a_listed_host() {
    let cresta = MockCresta::start();
    let other = attacker();
    let port = other.url().rsplit(':').next().unwrap().to_string();
    for (list, ok) in [
        ("127.0.0.1".to_string(), true),
        (format!("example.invalid, 127.0.0.1:{port}"), true),
        ("127.0.0.1:1".to_string(), false),
        (".0.0.1".to_string(), false),
    ] {
        let env = with_env(api_key_env(&cresta), &[("CRESTA_ALLOWED_HOSTS", &list)]);
        let run = run_test_mode(handoff(&[("apiDomain", &other.url())]).as_bytes(), &env);
        if ok {
            assert_eq!(run.code, Some(0), "{list}: {run:?}");
        } else {
            run.assert_error(&["Config.UntrustedHost"]);
        }
    }
    assert_eq!(other.requests(Route::Handoff).len(), 2);
}

#[test]
fn runtime_mode_posts_the_refusal_and_keeps_serving() {
    let cresta = MockCresta::start();
    let evil = attacker();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &api_key_env(&cresta));
    rt.push(
        &handoff(&[("apiDomain", &evil.url())]),
        Duration::from_secs(8),
    );
    rt.push(&handoff(&[]), Duration::from_secs(8));
    let outcomes = rt.wait_outcomes(2, Duration::from_secs(20));
    let log = proc.finish();
    assert_eq!(outcomes.len(), 2, "{log}");
    assert_eq!(
        outcomes[0].error_type.as_deref(),
        Some("Config.UntrustedHost"),
        "{log}"
    );
    assert!(outcomes[1].ok, "{log}");
    assert_untouched(&evil);
}

/// A flow that names the deployer's client id (not a secret) with a secret of
/// its own must not be handed the deployer's cached token for its own host.
#[test]
fn a_flow_supplied_client_id_does_not_reuse_the_deployers_token() {
    let cresta = MockCresta::start();
    let evil = attacker();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &oauth_env(&cresta));
    rt.push(&handoff(&[]), Duration::from_secs(8));
    rt.wait_outcomes(1, Duration::from_secs(20));
    rt.push(
        &handoff(&[
            ("apiDomain", &evil.url()),
            ("authDomain", &cresta.url()),
            ("oauthClientId", CLIENT_ID),
            ("oauthClientSecret", "not-the-deployers-secret"),
        ]),
        Duration::from_secs(8),
    );
    let outcomes = rt.wait_outcomes(2, Duration::from_secs(20));
    let log = proc.finish();
    assert_eq!(outcomes.len(), 2, "{log}");
    assert!(outcomes[0].ok, "{log}");
    // The wrong secret is refused by the token endpoint; the token the
    // deployer's secret obtained never reaches the flow's host.
    assert_eq!(
        outcomes[1].error_type.as_deref(),
        Some("Auth.TokenRejected"),
        "{log}"
    );
    let tokens = cresta.issued_tokens();
    for req in evil.server.requests() {
        let auth = req.header("authorization").unwrap_or_default().to_string();
        for t in &tokens {
            assert!(
                !auth.contains(t.as_str()),
                "the deployer's token reached the flow's host"
            );
        }
    }
    assert_untouched(&evil);
}
