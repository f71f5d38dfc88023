//! End-to-end tests of `bootstrap --test` against the local Cresta stand-in.

mod support;

use serde_json::json;
use std::time::Duration;
use support::cresta::{
    MockCresta, Route, API_KEY, CLIENT_ID, CLIENT_SECRET, DTMF, PHONE_NUMBER, VIRTUAL_AGENT,
};
use support::server::{Reply, Server};
use support::{api_key_env, env, event, oauth_env, run_test_mode, with_env as with};

fn pstn() -> String {
    event(&[
        ("action", "get_pstn_transfer_data"),
        ("customParam", "blue"),
    ])
}

fn handoff() -> String {
    event(&[("action", "get_handoff_data")])
}

#[test]
fn pstn_transfer_with_api_key_sends_the_exact_body() {
    let cresta = MockCresta::start();
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({"phoneNumber": PHONE_NUMBER, "dtmfSequence": DTMF})
    );
    let reqs = cresta.requests(Route::Pstn);
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(
        req.path,
        format!("/v1/{VIRTUAL_AGENT}:generatePSTNTransferData")
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("ApiKey {API_KEY}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    let version = std::fs::read_to_string("VERSION").unwrap();
    assert_eq!(
        req.json(),
        json!({
            "callId": "contact-1234",
            "ccaasMetadata": {
                "ContactId": "contact-1234",
                "Channel": "VOICE",
                "InitialContactId": "initial-5678",
                "CustomerEndpoint": {"Address": "+14155550100", "Type": "TELEPHONE_NUMBER"},
                "MediaStreams": {"Customer": {"Audio": {"StreamARN": "", "StartTimestamp": ""}}},
                "Attributes": {"lang": "en"},
                "parameters": {"customParam": "blue"},
                "version": version.trim(),
            },
            "supportedDtmfChars": "0123456789*",
        })
    );
    assert!(cresta.requests(Route::Token).is_empty());
}

#[test]
fn config_keys_in_parameters_are_not_forwarded() {
    let cresta = MockCresta::start();
    let ev = event(&[
        ("action", "get_pstn_transfer_data"),
        ("apiKey", API_KEY),
        ("region", "us-west-2-prod"),
        ("apiDomain", &cresta.url()),
        ("virtualAgentName", VIRTUAL_AGENT),
        ("authDomain", "auth.example.cresta.ai"),
        ("oauthSecretArn", ""),
        ("oauthClientId", "someone"),
        ("supportedDtmfChars", "12"),
        ("keep", "me"),
    ]);
    let run = run_test_mode(ev.as_bytes(), &env(&[]));
    assert_eq!(run.code, Some(0), "{run:?}");
    let body = cresta.requests(Route::Pstn)[0].json();
    assert_eq!(body["ccaasMetadata"]["parameters"], json!({"keep": "me"}));
    // supportedDtmfChars is environment-only.
    assert_eq!(body["supportedDtmfChars"], "0123456789*");
}

#[test]
fn supported_dtmf_chars_come_from_the_environment() {
    let cresta = MockCresta::start();
    let run = run_test_mode(
        pstn().as_bytes(),
        &with(
            api_key_env(&cresta),
            &[("supportedDtmfChars", "0123456789*#")],
        ),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        cresta.requests(Route::Pstn)[0].json()["supportedDtmfChars"],
        "0123456789*#"
    );
}

#[test]
fn handoff_with_oauth_checks_every_header() {
    let cresta = MockCresta::start();
    let run = run_test_mode(handoff().as_bytes(), &oauth_env(&cresta));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({
            "handoff_conversation": "customers/cresta/profiles/walter-dev/conversations/51ca9fc2",
            "handoff_conversationCorrelationId": "contact-1234",
            "handoff_summary": "Caller asked about an order.",
            "handoff_transferTarget": "pstn:PSTN3",
        })
    );
    let token = cresta.requests(Route::Token);
    assert_eq!(token.len(), 1);
    let basic = support::cresta::base64(&format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    assert_eq!(
        token[0].header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(token[0].header("content-type"), Some("application/json"));
    assert_eq!(token[0].json(), json!({"grant_type": "client_credentials"}));
    let api = cresta.requests(Route::Handoff);
    assert_eq!(api.len(), 1);
    assert_eq!(
        api[0].path,
        "/v1/customers/cresta/profiles/walter-dev/handoffs:fetchAIAgentHandoff"
    );
    assert_eq!(
        api[0].header("authorization"),
        Some(format!("Bearer {}", cresta.issued_tokens()[0]).as_str())
    );
    assert_eq!(api[0].json(), json!({"correlationId": "contact-1234"}));
}

#[test]
fn status_400_is_not_retried() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![Reply::json(400, r#"{"error":"bad callId"}"#)],
    );
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Upstream.Status400", "400", "bad callId", "1 attempt"]);
    assert_eq!(cresta.requests(Route::Pstn).len(), 1);
}

#[test]
fn transient_statuses_are_retried_then_succeed() {
    for status in [408, 429, 500, 502, 503] {
        let cresta = MockCresta::start();
        cresta.script(
            Route::Pstn,
            vec![Reply::json(status, r#"{"error":"busy"}"#)],
        );
        let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
        assert_eq!(run.code, Some(0), "status {status}: {run:?}");
        assert_eq!(cresta.requests(Route::Pstn).len(), 2, "status {status}");
    }
}

#[test]
fn retry_after_on_429_is_honoured() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![Reply::json(429, r#"{"error":"slow down"}"#).with_header("Retry-After", "1")],
    );
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    assert_eq!(run.code, Some(0), "{run:?}");
    let reqs = cresta.requests(Route::Pstn);
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    assert!(gap >= Duration::from_millis(950), "waited only {gap:?}");
}

#[test]
fn retry_after_beyond_the_deadline_stops_at_once() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![Reply::json(429, r#"{"error":"slow down"}"#).with_header("Retry-After", "60")],
    );
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Upstream.Status429", "stopped by the deadline"]);
    assert!(run.elapsed < Duration::from_secs(5), "{run:?}");
    assert_eq!(cresta.requests(Route::Pstn).len(), 1);
}

#[test]
fn persistent_500_gives_up_after_four_attempts() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Handoff,
        vec![Reply::json(500, r#"{"error":"down"}"#); 10],
    );
    let run = run_test_mode(handoff().as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Upstream.Status500", "500", "down", "4 attempts"]);
    assert_eq!(cresta.requests(Route::Handoff).len(), 4);
}

#[test]
fn max_retries_setting_is_honoured() {
    let cresta = MockCresta::start();
    cresta.script(Route::Handoff, vec![Reply::json(503, "{}"); 10]);
    let run = run_test_mode(
        handoff().as_bytes(),
        &with(api_key_env(&cresta), &[("HTTP_MAX_RETRIES", "1")]),
    );
    run.assert_error(&["Upstream.Status503", "2 attempts"]);
    assert_eq!(cresta.requests(Route::Handoff).len(), 2);
}

#[test]
fn backoff_grows_between_attempts() {
    let cresta = MockCresta::start();
    cresta.script(Route::Handoff, vec![Reply::json(500, "{}"); 3]);
    let run = run_test_mode(
        handoff().as_bytes(),
        &with(api_key_env(&cresta), &[("HTTP_RETRY_BASE_DELAY", "100ms")]),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    let at: Vec<_> = cresta
        .requests(Route::Handoff)
        .iter()
        .map(|r| r.at)
        .collect();
    assert_eq!(at.len(), 4);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, min) in gaps.iter().zip([100, 200, 400]) {
        assert!(*gap >= Duration::from_millis(min), "{gaps:?}");
        assert!(*gap < Duration::from_millis(min * 5 / 4 + 300), "{gaps:?}");
    }
}

#[test]
fn token_rejection_is_an_auth_error() {
    let cresta = MockCresta::start();
    let run = run_test_mode(
        handoff().as_bytes(),
        &with(
            oauth_env(&cresta),
            &[("oauthClientSecret", "wrong-secret-value")],
        ),
    );
    run.assert_error(&["Auth.TokenRejected", "token", "401"]);
    assert_eq!(cresta.requests(Route::Token).len(), 1);
    assert!(cresta.requests(Route::Handoff).is_empty());
}

#[test]
fn malformed_token_answers_are_errors() {
    for body in [
        r#"{"token_type":"Bearer","expires_in":3600}"#,
        r#"{"access_token":"abc-token","expires_in":0}"#,
        "<html>",
    ] {
        let cresta = MockCresta::start();
        cresta.script(Route::Token, vec![Reply::json(200, body)]);
        let run = run_test_mode(handoff().as_bytes(), &oauth_env(&cresta));
        run.assert_error(&["Auth.TokenMalformed", "token"]);
        assert!(cresta.requests(Route::Handoff).is_empty());
    }
}

#[test]
fn token_endpoint_500s_are_retried() {
    let cresta = MockCresta::start();
    cresta.script(Route::Token, vec![Reply::json(500, "{}")]);
    let run = run_test_mode(handoff().as_bytes(), &oauth_env(&cresta));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(cresta.requests(Route::Token).len(), 2);
}

/// Each validation rule of the configuration: a clear error and no request.
#[test]
fn validation_errors_make_no_request() {
    let cresta = MockCresta::start();
    let url = cresta.url();
    let agent = ("virtualAgentName", VIRTUAL_AGENT);
    let key = ("apiKey", API_KEY);
    let act = ("action", "get_pstn_transfer_data");
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![act, agent, ("apiDomain", &url), ("oauthClientId", "i"), ("oauthClientSecret", "s")],
            vec!["Config.DomainPair", "apiDomain and authDomain must be provided together"],
        ),
        (
            vec![act, agent, ("authDomain", &url), ("oauthSecretArn", support::secrets_manager::SECRET_ARN), ("region", "us-west-2-prod")],
            vec!["Config.DomainPair", "apiDomain and authDomain must be provided together"],
        ),
        (vec![act, agent, key], vec!["Config.MissingRegion", "region is required"]),
        (vec![act, agent, key, ("apiDomain", "example.com")], vec!["Config.InvalidApiDomain", "region"]),
        (vec![act, agent, key, ("region", "r"), ("apiDomain", "http://api.us-west-2-prod.cresta.com")], vec!["Config.InvalidUrl", "http"]),
        (vec![act, agent, key, ("region", "r"), ("apiDomain", "api.x.cresta.com/v1")], vec!["Config.InvalidUrl", "path"]),
        (vec![act, agent, key, ("region", "r"), ("apiDomain", "api.x.cresta.com?q=1")], vec!["Config.InvalidUrl", "query"]),
        (vec![act, agent, key, ("region", "r"), ("apiDomain", "api.x.cresta.com#f")], vec!["Config.InvalidUrl", "fragment"]),
        (vec![act, agent, key, ("region", "r"), ("apiDomain", "api..cresta.com")], vec!["Config.InvalidUrl", ".."]),
        (vec![agent, key, ("region", "r")], vec!["Config.MissingAction", "action is required"]),
        (vec![act, key, ("region", "r")], vec!["Config.MissingVirtualAgentName", "virtualAgentName"]),
        (vec![act, key, ("region", "r"), ("virtualAgentName", "customers/c/profiles/p")], vec!["Config.InvalidVirtualAgentName"]),
        (vec![act, key, ("region", "r"), ("virtualAgentName", "customers/../profiles/p/virtualAgents/v")], vec!["Config.InvalidVirtualAgentName", ".."]),
        (vec![act, key, ("region", "r"), ("virtualAgentName", "customers/c/profiles/%2E%2E/virtualAgents/v")], vec!["Config.InvalidVirtualAgentName", ".."]),
        (vec![act, key, ("region", "r"), ("virtualAgentName", "customers/c/profiles/p/virtualAgents/a\u{0}b")], vec!["Config.InvalidVirtualAgentName"]),
        (vec![act, agent, ("region", "r")], vec!["Config.MissingCredentials", "either apiKey (deprecated), oauthClientId/oauthClientSecret, or oauthSecretArn must be provided"]),
        (vec![act, agent, ("region", "r"), ("oauthClientId", "only-id")], vec!["Config.MissingCredentials"]),
        (vec![act, agent, ("region", "r"), ("oauthSecretArn", "arn:aws:s3:::bucket")], vec!["Config.InvalidSecretArn"]),
        (vec![("action", "transfer_please"), agent, key, ("region", "r")], vec!["Config.InvalidAction", "invalid action: transfer_please"]),
    ];
    for (params, words) in cases {
        let run = run_test_mode(event(&params).as_bytes(), &env(&[]));
        run.assert_error(&words);
        assert!(
            cresta.server.requests().is_empty(),
            "a request was made for {params:?}"
        );
    }
}

#[test]
fn bad_events_are_one_line_errors() {
    let cases: [(&[u8], &[&str]); 7] = [
        (b"", &["Event.Malformed", "empty"]),
        (b"not json", &["Event.Malformed", "not valid JSON"]),
        (b"[1,2,3]", &["Event.Malformed", "array"]),
        (b"{\"Name\":\"x\"}", &["Event.Malformed", "Details"]),
        (
            b"{\"Details\":{\"Parameters\":{\"action\":5}}}",
            &["Event.Malformed", "Parameters.action", "string"],
        ),
        (
            b"{\"Details\":{\"Parameters\":\"x\"}}",
            &["Event.Malformed", "Parameters"],
        ),
        (b"\xff\xfe\x00", &["Event.Malformed", "JSON"]),
    ];
    for (input, words) in cases {
        let run = run_test_mode(input, &env(&[]));
        run.assert_error(words);
        assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    }
}

#[test]
fn missing_contact_id_is_an_error() {
    let cresta = MockCresta::start();
    let ev = json!({"Details": {"ContactData": {}, "Parameters": {"action": "get_handoff_data"}}})
        .to_string();
    let run = run_test_mode(ev.as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Event.Malformed", "ContactId"]);
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn bad_answers_are_clear_errors() {
    let big = vec![b'x'; 2 * 1024 * 1024];
    let cases: Vec<(Route, Reply, Vec<&str>)> = vec![
        (
            Route::Pstn,
            Reply::raw(200, "text/plain", b"all good"),
            vec!["Upstream.MalformedResponse", "not JSON", "all good"],
        ),
        (
            Route::Pstn,
            Reply::raw(200, "text/html", b"<html><body>Gateway</body></html>"),
            vec!["Upstream.MalformedResponse", "<html>"],
        ),
        (
            Route::Pstn,
            Reply::json(200, "[]"),
            vec!["Upstream.MalformedResponse", "array"],
        ),
        (
            Route::Pstn,
            Reply::json(200, ""),
            vec!["Upstream.MalformedResponse", "empty body"],
        ),
        (
            Route::Pstn,
            Reply::raw(200, "application/json", &[0x7b, 0xff, 0xfe, 0x7d]),
            vec!["Upstream.MalformedResponse"],
        ),
        (
            Route::Handoff,
            Reply::json(
                200,
                r#"{"handoff":{"conversation":"c","summary":"s","transferTarget":"t"}}"#,
            ),
            vec![
                "Upstream.MalformedResponse",
                "handoff.conversationCorrelationId",
            ],
        ),
        (
            Route::Handoff,
            Reply::json(200, r#"{"other":1}"#),
            vec!["Upstream.MalformedResponse", "handoff"],
        ),
        (
            Route::Pstn,
            Reply::raw(200, "application/json", &big),
            vec!["Upstream.BodyTooLarge", "1048576"],
        ),
        (
            Route::Pstn,
            Reply::raw(502, "text/html", b"<html>Bad Gateway</html>"),
            vec!["Upstream.Status502", "<html>Bad Gateway</html>"],
        ),
    ];
    for (route, reply, words) in cases {
        let cresta = MockCresta::start();
        cresta.script(route, vec![reply; 4]);
        let ev = if route == Route::Pstn {
            pstn()
        } else {
            handoff()
        };
        let run = run_test_mode(ev.as_bytes(), &api_key_env(&cresta));
        run.assert_error(&words);
    }
}

#[test]
fn nested_answers_are_flattened_to_strings() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![Reply::json(
            200,
            r#"{"phoneNumber":"+1555","dtmfSequence":"12","meta":{"ttl":30,"ok":true,"none":null,"deep":{"x":"y"}},"list":[1,2]}"#,
        )],
    );
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({"phoneNumber": "+1555", "dtmfSequence": "12", "meta_ttl": "30", "meta_ok": "true",
               "meta_none": "", "meta_deep_x": "y", "list": "[1,2]"})
    );
}

#[test]
fn answers_connect_would_refuse_are_errors() {
    let cresta = MockCresta::start();
    let huge = json!({"phoneNumber": "+1", "blob": "y".repeat(40_000)}).to_string();
    cresta.script(Route::Pstn, vec![Reply::json(200, &huge)]);
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Response.TooLarge", "32768"]);
}

/// API key auth against any base URL (for servers that are not the stand-in).
fn api_key_env_for(url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let base = env(&[
        ("region", "us-west-2-prod"),
        ("apiDomain", url),
        ("apiKey", API_KEY),
        ("virtualAgentName", VIRTUAL_AGENT),
    ]);
    with(base, extra)
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let run = run_test_mode(
        handoff().as_bytes(),
        &api_key_env_for(
            &format!("http://127.0.0.1:{port}"),
            &[("HTTP_RETRY_BASE_DELAY", "5ms")],
        ),
    );
    run.assert_error(&["Upstream.Connection", "4 attempts", "127.0.0.1"]);
}

#[test]
fn a_server_that_never_answers_times_out_per_attempt() {
    let silent =
        Server::start(|_| Reply::Delay(Duration::from_secs(60), Box::new(Reply::json(200, "{}"))));
    let run = run_test_mode(
        handoff().as_bytes(),
        &api_key_env_for(
            &silent.url(),
            &[
                ("HTTP_CLIENT_TIMEOUT", "300ms"),
                ("HTTP_MAX_RETRIES", "1"),
                ("HTTP_RETRY_BASE_DELAY", "5ms"),
            ],
        ),
    );
    run.assert_error(&["Upstream.Timeout", "2 attempts"]);
    assert_eq!(silent.requests().len(), 2);
    assert!(run.elapsed < Duration::from_secs(3), "{run:?}");
}

#[test]
fn the_eight_second_budget_bounds_everything() {
    // A 10 s per-attempt timeout, but Connect's 8 s budget wins.
    let silent =
        Server::start(|_| Reply::Delay(Duration::from_secs(60), Box::new(Reply::json(200, "{}"))));
    let env = api_key_env_for(&silent.url(), &[("HTTP_CLIENT_TIMEOUT", "10s")]);
    let run = run_test_mode(handoff().as_bytes(), &env);
    run.assert_error(&["Upstream.Timeout", "1 attempt"]);
    assert!(run.elapsed < Duration::from_millis(8_500), "{run:?}");
    assert!(run.elapsed >= Duration::from_millis(7_500), "{run:?}");
}

#[test]
fn default_timeouts_leave_room_for_a_retry_after_a_stalled_attempt() {
    // The first attempt stalls; the default 3 s per-attempt bound ends it
    // early enough that the retry answers inside Connect's 8 s.
    let first = std::sync::atomic::AtomicBool::new(true);
    let server = Server::start(move |_| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            Reply::Delay(Duration::from_secs(60), Box::new(Reply::json(200, "{}")))
        } else {
            Reply::json(200, r#"{"phoneNumber":"+1555","dtmfSequence":"1"}"#)
        }
    });
    let run = run_test_mode(pstn().as_bytes(), &api_key_env_for(&server.url(), &[]));
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(server.requests().len(), 2);
    assert!(run.elapsed < Duration::from_millis(7_750), "{run:?}");
}

#[test]
fn redirects_are_not_followed() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![Reply::json(302, "{}").with_header("Location", "http://127.0.0.1:9/elsewhere")],
    );
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Upstream.Status302", "1 attempt"]);
    assert_eq!(cresta.server.requests().len(), 1);
}

#[test]
fn bad_settings_fail_before_any_request() {
    let cresta = MockCresta::start();
    for (k, v) in [
        ("HTTP_MAX_RETRIES", "many"),
        ("HTTP_RETRY_BASE_DELAY", "100"),
        ("HTTP_CLIENT_TIMEOUT", "soon"),
    ] {
        let run = run_test_mode(pstn().as_bytes(), &with(api_key_env(&cresta), &[(k, v)]));
        run.assert_error(&["Config.InvalidSetting", k]);
    }
    assert!(cresta.server.requests().is_empty());
}

#[test]
fn debug_logs_never_show_credentials() {
    let cresta = MockCresta::start();
    let ev = event(&[
        ("action", "get_handoff_data"),
        ("oauthClientSecret", CLIENT_SECRET),
        ("apiKey", API_KEY),
    ]);
    let run = run_test_mode(
        ev.as_bytes(),
        &with(oauth_env(&cresta), &[("DEBUG_LOGGING", "true")]),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("[DEBUG]"), "{run:?}");
    let basic = support::cresta::base64(&format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    for secret in [CLIENT_SECRET, API_KEY, &basic, &cresta.issued_tokens()[0]] {
        assert!(
            !run.stderr.contains(secret),
            "{secret} leaked: {}",
            run.stderr
        );
        assert!(!run.stdout.contains(secret));
    }
}

#[test]
fn version_is_the_version_file() {
    let version = std::fs::read_to_string("VERSION").unwrap();
    let out = support::bootstrap_command(&[])
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("connect-pstn-transfer {}", version.trim())
    );
    let cargo = std::fs::read_to_string("Cargo.toml").unwrap();
    assert!(
        cargo.contains(&format!("\nversion = \"{}\"\n", version.trim())),
        "Cargo.toml version must match VERSION"
    );
}

#[test]
fn parameters_and_environment_combine() {
    for name in ["get_pstn_transfer_data", "get_handoff_data"] {
        let cresta = MockCresta::start();
        let mut ev: serde_json::Value = serde_json::from_str(&event(&[])).unwrap();
        ev["Details"]["Parameters"] = json!({"action": name, "virtualAgentName": VIRTUAL_AGENT});
        let run = run_test_mode(ev.to_string().as_bytes(), &api_key_env(&cresta));
        assert_eq!(run.code, Some(0), "{run:?}");
    }
}

#[test]
fn an_extra_argument_is_named_in_the_error() {
    for args in [&["--test", "extra"][..], &["--version", "extra"][..]] {
        let out = support::bootstrap_command(&[])
            .args(args)
            .output()
            .expect("run bootstrap");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("\"extra\""), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
