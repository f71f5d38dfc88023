//! Secret hygiene: every scenario, with debug logging on, in both modes;
//! no credential value may appear in anything the function writes or posts,
//! even when a server echoes it back in an error body.

mod support;

use std::time::Duration;
use support::cresta::{MockCresta, Route, API_KEY, CLIENT_ID, CLIENT_SECRET};
use support::runtime_api::FakeRuntime;
use support::secrets_manager::{aws_error, MockSecretsManager, SECRET_ACCESS_KEY, SESSION_TOKEN};
use support::server::Reply;
use support::{env, event, run_test_mode, RuntimeProcess};

const DEBUG: [(&str, &str); 2] = [("DEBUG_LOGGING", "true"), ("AWS_LAMBDA_LOG_LEVEL", "DEBUG")];

fn debug(mut e: Vec<(String, String)>) -> Vec<(String, String)> {
    e.extend(env(&DEBUG));
    e
}

fn secrets_env(cresta: &MockCresta, sm: &MockSecretsManager) -> Vec<(String, String)> {
    debug(support::with_env(
        support::secret_env(cresta, sm),
        &[("HTTP_RETRY_BASE_DELAY", "1ms")],
    ))
}

/// One scenario: how to set it up, and which credential env to use.
struct Scenario {
    name: &'static str,
    auth: &'static str,
    setup: fn(&MockCresta, &MockSecretsManager),
    parameters: &'static [(&'static str, &'static str)],
}

fn echo_token(cresta: &MockCresta, _: &MockSecretsManager) {
    // A server that echoes what it was sent: the token it just issued.
    let token = "mock-access-token-0001-e7c1d2";
    cresta.script(
        Route::Handoff,
        vec![Reply::json(401, &format!(r#"{{"error":"bad token {token}"}}"#)); 4],
    );
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "api key success",
            auth: "apikey",
            setup: |_, _| {},
            parameters: &[],
        },
        Scenario {
            name: "api key in Parameters",
            auth: "none",
            setup: |_, _| {},
            parameters: &[("apiKey", API_KEY)],
        },
        Scenario {
            name: "client secret in Parameters",
            auth: "none",
            setup: |_, _| {},
            parameters: &[
                ("oauthClientId", CLIENT_ID),
                ("oauthClientSecret", CLIENT_SECRET),
            ],
        },
        Scenario {
            name: "oauth success",
            auth: "oauth",
            setup: |_, _| {},
            parameters: &[],
        },
        Scenario {
            name: "secret success",
            auth: "secret",
            setup: |_, _| {},
            parameters: &[],
        },
        Scenario {
            name: "upstream 400 echoing the api key",
            auth: "apikey",
            setup: |c, _| {
                c.script(
                    Route::Handoff,
                    vec![Reply::json(
                        400,
                        &format!(r#"{{"error":"key {API_KEY} refused"}}"#),
                    )],
                )
            },
            parameters: &[],
        },
        Scenario {
            name: "upstream 401 echoing the token",
            auth: "oauth",
            setup: echo_token,
            parameters: &[],
        },
        Scenario {
            name: "token endpoint 401 echoing the client secret",
            auth: "oauth",
            setup: |c, _| {
                c.script(
                    Route::Token,
                    vec![Reply::json(
                        401,
                        &format!(r#"{{"error":"secret {CLIENT_SECRET} wrong"}}"#),
                    )],
                )
            },
            parameters: &[],
        },
        Scenario {
            name: "secrets manager error echoing the session token",
            auth: "secret",
            setup: |_, s| {
                s.script(vec![aws_error(
                    400,
                    "AccessDeniedException",
                    &format!("token {SESSION_TOKEN} not allowed"),
                )])
            },
            parameters: &[],
        },
        Scenario {
            name: "malformed answer",
            auth: "secret",
            setup: |c, _| {
                c.script(
                    Route::Handoff,
                    vec![Reply::raw(200, "text/html", b"<html>oops</html>")],
                )
            },
            parameters: &[],
        },
        Scenario {
            name: "unknown action",
            auth: "oauth",
            setup: |_, _| {},
            parameters: &[("action", "nope")],
        },
    ]
}

fn env_for(auth: &str, cresta: &MockCresta, sm: &MockSecretsManager) -> Vec<(String, String)> {
    match auth {
        "apikey" => debug(support::api_key_env(cresta)),
        "oauth" => debug(support::oauth_env(cresta)),
        "secret" => secrets_env(cresta, sm),
        _ => debug(env(&[
            ("region", "us-west-2-prod"),
            ("apiDomain", &cresta.url()),
            ("authDomain", &cresta.url()),
            ("virtualAgentName", support::cresta::VIRTUAL_AGENT),
            ("HTTP_RETRY_BASE_DELAY", "1ms"),
        ])),
    }
}

fn event_for(s: &Scenario) -> String {
    let mut params = vec![("action", "get_handoff_data")];
    for (k, v) in s.parameters {
        params.retain(|(n, _)| n != k);
        params.push((k, v));
    }
    event(&params)
}

fn assert_clean(what: &str, text: &str, cresta: &MockCresta) {
    let basic = support::cresta::base64(&format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let mut secrets = vec![
        API_KEY.to_string(),
        CLIENT_SECRET.to_string(),
        basic,
        SECRET_ACCESS_KEY.to_string(),
        SESSION_TOKEN.to_string(),
    ];
    secrets.extend(cresta.issued_tokens());
    secrets.push("mock-access-token-0001-e7c1d2".to_string());
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "{what}: {s} leaked:\n{text}");
    }
}

#[test]
fn no_credential_in_test_mode_output() {
    for s in scenarios() {
        let cresta = MockCresta::start();
        let sm = MockSecretsManager::start();
        (s.setup)(&cresta, &sm);
        let run = run_test_mode(event_for(&s).as_bytes(), &env_for(s.auth, &cresta, &sm));
        assert!(
            run.stderr.contains("[DEBUG]"),
            "{}: debug logging is on: {run:?}",
            s.name
        );
        assert_clean(s.name, &format!("{}\n{}", run.stdout, run.stderr), &cresta);
    }
}

#[test]
fn no_credential_in_runtime_logs_or_error_posts() {
    for auth in ["apikey", "oauth", "secret", "none"] {
        let cresta = MockCresta::start();
        let sm = MockSecretsManager::start();
        let rt = FakeRuntime::start();
        let mut e = env_for(auth, &cresta, &sm);
        e.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
        let proc = RuntimeProcess::spawn(&rt.address(), &e);
        let mine: Vec<Scenario> = scenarios().into_iter().filter(|s| s.auth == auth).collect();
        for (i, s) in mine.iter().enumerate() {
            (s.setup)(&cresta, &sm);
            rt.push(&event_for(s), Duration::from_secs(8));
            rt.wait_outcomes(i + 1, Duration::from_secs(20));
        }
        let outcomes = rt.outcomes();
        let log = proc.finish();
        assert_eq!(outcomes.len(), mine.len(), "{log}");
        assert!(log.contains("\"DEBUG\""), "{log}");
        assert_clean(auth, &log, &cresta);
        for o in outcomes {
            assert_clean(auth, &String::from_utf8_lossy(&o.body), &cresta);
        }
    }
}

/// A client secret no other text of the test shares 8 characters with.
const ECHOED_SECRET: &str = "zq9-Echo-Secret-77Kx3vW0pLm4";
/// Errors keep this many characters of a body (`error::excerpt`).
const EXCERPT_LIMIT: usize = 300;

/// Offsets that put the secret before, across and after the excerpt's cut.
fn offsets() -> std::ops::RangeInclusive<usize> {
    EXCERPT_LIMIT - ECHOED_SECRET.len() - 3..=EXCERPT_LIMIT + 3
}

/// A token endpoint answer of `offset` filler characters, then the secret.
fn echo_at(offset: usize) -> Reply {
    let body = format!("{}{ECHOED_SECRET} and more after it", "x".repeat(offset));
    Reply::raw(401, "text/plain", body.as_bytes())
}

fn echo_env(cresta: &MockCresta) -> Vec<(String, String)> {
    cresta.set_client(CLIENT_ID, ECHOED_SECRET);
    debug(support::with_env(
        support::oauth_env(cresta),
        &[("oauthClientSecret", ECHOED_SECRET)],
    ))
}

/// No 8-character piece of `secret` anywhere in `text`.
fn assert_no_piece(what: &str, secret: &str, text: &str) {
    for piece in secret.as_bytes().windows(8) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(!text.contains(piece), "{what}: {piece:?} leaked:\n{text}");
    }
}

#[test]
fn an_echo_around_the_excerpt_cut_leaves_no_piece_in_test_mode() {
    let cresta = MockCresta::start();
    let env = echo_env(&cresta);
    for offset in offsets() {
        cresta.script(Route::Token, vec![echo_at(offset)]);
        let run = run_test_mode(event(&[("action", "get_handoff_data")]).as_bytes(), &env);
        run.assert_error(&["Auth.TokenRejected", "xxx"]);
        assert!(run.stderr.contains("[DEBUG]"), "{run:?}");
        assert_no_piece(
            &format!("offset {offset}"),
            ECHOED_SECRET,
            &format!("{}\n{}", run.stdout, run.stderr),
        );
    }
}

#[test]
fn an_echo_around_the_excerpt_cut_leaves_no_piece_in_runtime_mode() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let mut env = echo_env(&cresta);
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    // The agent comes with each event, so the environment alone is not a
    // complete configuration: init does not prefetch a token, and every
    // invocation meets the echoing token endpoint itself.
    env.retain(|(k, _)| k != "virtualAgentName");
    let proc = RuntimeProcess::spawn(&rt.address(), &env);
    let mut n = 0;
    for offset in offsets() {
        cresta.script(Route::Token, vec![echo_at(offset)]);
        rt.push(
            &event(&[
                ("action", "get_handoff_data"),
                ("virtualAgentName", support::cresta::VIRTUAL_AGENT),
            ]),
            Duration::from_secs(8),
        );
        n += 1;
        rt.wait_outcomes(n, Duration::from_secs(20));
    }
    // The secret's escaped and encoded forms, echoed by the API.
    let encoded = ECHOED_SECRET.replace('-', "%2D");
    for form in [encoded.as_str(), &format!("\\\"{ECHOED_SECRET}\\\"")] {
        cresta.script(
            Route::Handoff,
            vec![Reply::json(400, &format!(r#"{{"error":"{form}"}}"#))],
        );
        rt.push(
            &event(&[
                ("action", "get_handoff_data"),
                ("virtualAgentName", support::cresta::VIRTUAL_AGENT),
            ]),
            Duration::from_secs(8),
        );
        n += 1;
        rt.wait_outcomes(n, Duration::from_secs(20));
    }
    let outcomes = rt.outcomes();
    let log = proc.finish();
    assert_eq!(outcomes.len(), n, "{log}");
    assert!(log.contains("\"DEBUG\""), "{log}");
    assert_no_piece("runtime log", ECHOED_SECRET, &log);
    for o in &outcomes {
        assert!(!o.ok);
        assert_no_piece(
            "error post",
            ECHOED_SECRET,
            &String::from_utf8_lossy(&o.body),
        );
    }
    assert_eq!(
        outcomes.last().unwrap().error_type.as_deref(),
        Some("Upstream.Status400")
    );
}

/// 200 tokens in one process, each a new credential to remember: the first
/// ones (the session token, the first bearer token) are still redacted.
#[test]
fn two_hundred_tokens_later_the_first_session_token_is_still_redacted() {
    let cresta = MockCresta::start();
    let sm = MockSecretsManager::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &secrets_env(&cresta, &sm));
    for i in 0..200 {
        // The cached token is refused: one more token for each invocation.
        cresta.revoke_tokens();
        rt.push(
            &event(&[("action", "get_handoff_data")]),
            Duration::from_secs(8),
        );
        rt.wait_outcomes(i + 1, Duration::from_secs(20));
    }
    let tokens = cresta.issued_tokens();
    assert!(tokens.len() >= 200, "{} tokens", tokens.len());
    let echo = format!("session {SESSION_TOKEN} first token {}", tokens[0]);
    cresta.script(
        Route::Handoff,
        vec![Reply::raw(400, "text/plain", echo.as_bytes())],
    );
    rt.push(
        &event(&[("action", "get_handoff_data")]),
        Duration::from_secs(8),
    );
    let outcomes = rt.wait_outcomes(201, Duration::from_secs(20));
    let log = proc.finish();
    assert_eq!(outcomes.len(), 201, "{log}");
    assert!(outcomes[..200].iter().all(|o| o.ok), "{log}");
    let last = &outcomes[200];
    assert_eq!(
        last.error_type.as_deref(),
        Some("Upstream.Status400"),
        "{log}"
    );
    let body = String::from_utf8_lossy(&last.body);
    assert!(
        body.contains("session [REDACTED] first token [REDACTED]"),
        "{body}"
    );
    assert_clean("200 tokens", &format!("{log}\n{body}"), &cresta);
}

/// An API host that answers 200 with the Authorization header it was sent.
fn echo_server() -> support::server::Server {
    support::server::Server::start(|req| {
        let auth = req.header("authorization").unwrap_or_default();
        Reply::json(
            200,
            &serde_json::json!({"phoneNumber": "+1", "dtmfSequence": "1", "seen": auth,
                                "seenEncoded": auth.replace(' ', "%20")})
            .to_string(),
        )
    })
}

#[test]
fn a_200_that_echoes_the_credential_gives_the_flow_none_of_it() {
    let cresta = MockCresta::start();
    let echo = echo_server();
    let pstn = event(&[("action", "get_pstn_transfer_data")]);
    let key_env = support::with_env(
        debug(support::api_key_env(&cresta)),
        &[("apiDomain", &echo.url())],
    );
    let oauth_env = support::with_env(
        debug(support::oauth_env(&cresta)),
        &[("apiDomain", &echo.url())],
    );
    for env in [&key_env, &oauth_env] {
        let run = run_test_mode(pstn.as_bytes(), env);
        assert_eq!(run.code, Some(0), "{run:?}");
        let answer = run.json();
        assert!(
            answer["seen"].as_str().unwrap().contains("[REDACTED]"),
            "{answer}"
        );
        assert_clean(
            "test mode 200 echo",
            &format!("{}\n{}", run.stdout, run.stderr),
            &cresta,
        );
    }
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &oauth_env);
    rt.push(&pstn, Duration::from_secs(8));
    let outcomes = rt.wait_outcomes(1, Duration::from_secs(20));
    let log = proc.finish();
    assert_eq!(outcomes.len(), 1, "{log}");
    assert!(outcomes[0].ok, "{log}");
    assert_clean(
        "runtime 200 echo",
        &format!("{log}\n{}", String::from_utf8_lossy(&outcomes[0].body)),
        &cresta,
    );
}
