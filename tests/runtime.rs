//! End-to-end tests of the Lambda runtime loop: the real binary against the
//! fake Runtime API and the local Cresta stand-in.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::cresta::{MockCresta, Route, API_KEY, DTMF, PHONE_NUMBER, VIRTUAL_AGENT};
use support::runtime_api::FakeRuntime;
use support::server::{Reply, Server};
use support::{api_key_env, env, event, oauth_env, RuntimeProcess};

const BUDGET: Duration = Duration::from_secs(8);
const WAIT: Duration = Duration::from_secs(20);

fn pstn() -> String {
    event(&[("action", "get_pstn_transfer_data")])
}

fn handoff() -> String {
    event(&[("action", "get_handoff_data")])
}

#[test]
fn mixed_invocations_are_all_answered_in_order() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &api_key_env(&cresta));
    let ids = [
        rt.push(&pstn(), BUDGET),
        rt.push("this is not json", BUDGET),
        rt.push(&handoff(), BUDGET),
        rt.push("[1,2]", BUDGET),
        rt.push(r#"{"Name":"ContactFlowEvent"}"#, BUDGET),
        rt.push(&event(&[("action", "nope")]), BUDGET),
        rt.push(&event(&[]), BUDGET),
        rt.push(&pstn(), BUDGET),
    ];
    let outcomes = rt.wait_outcomes(ids.len(), WAIT);
    let log = proc.finish();
    assert_eq!(outcomes.len(), ids.len(), "{log}");
    let got: Vec<(&str, bool, Option<&str>)> = outcomes
        .iter()
        .map(|o| (o.request_id.as_str(), o.ok, o.error_type.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (ids[0].as_str(), true, None),
            (ids[1].as_str(), false, Some("Event.Malformed")),
            (ids[2].as_str(), true, None),
            (ids[3].as_str(), false, Some("Event.Malformed")),
            (ids[4].as_str(), false, Some("Event.Malformed")),
            (ids[5].as_str(), false, Some("Config.InvalidAction")),
            (ids[6].as_str(), false, Some("Config.MissingAction")),
            (ids[7].as_str(), true, None),
        ]
    );
    assert_eq!(
        outcomes[0].json(),
        json!({"phoneNumber": PHONE_NUMBER, "dtmfSequence": DTMF})
    );
    assert_eq!(outcomes[2].json()["handoff_transferTarget"], "pstn:PSTN3");
    let err = &outcomes[1];
    assert_eq!(
        err.content_type.as_deref(),
        Some("application/vnd.aws.lambda.error+json")
    );
    assert_eq!(err.json()["errorType"], "Event.Malformed");
    assert!(err.json()["errorMessage"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
}

#[test]
fn warm_invocations_reuse_the_token_and_the_connection() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &oauth_env(&cresta));
    for _ in 0..3 {
        rt.push(&handoff(), BUDGET);
    }
    let outcomes = rt.wait_outcomes(3, WAIT);
    let log = proc.finish();
    assert!(outcomes.iter().all(|o| o.ok), "{outcomes:?} {log}");
    assert_eq!(
        cresta.requests(Route::Token).len(),
        1,
        "one token for three invocations"
    );
    let api = cresta.requests(Route::Handoff);
    assert_eq!(api.len(), 3);
    let first = api[0].connection;
    assert!(
        api.iter().all(|r| r.connection == first),
        "keep-alive: all calls on one connection"
    );
}

#[test]
fn a_refused_cached_token_is_replaced_once() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &oauth_env(&cresta));
    rt.push(&handoff(), BUDGET);
    assert!(rt.wait_outcomes(1, WAIT)[0].ok);
    cresta.revoke_tokens();
    rt.push(&handoff(), BUDGET);
    let outcomes = rt.wait_outcomes(2, WAIT);
    // Every token refused: one refresh, then the 401 is the answer.
    cresta.script(
        Route::Handoff,
        vec![Reply::json(401, r#"{"error":"no"}"#); 4],
    );
    rt.push(&handoff(), BUDGET);
    let all = rt.wait_outcomes(3, WAIT);
    let log = proc.finish();
    assert!(outcomes[1].ok, "{outcomes:?} {log}");
    assert_eq!(
        all[2].error_type.as_deref(),
        Some("Upstream.Status401"),
        "{log}"
    );
    assert_eq!(cresta.requests(Route::Token).len(), 3);
    assert_eq!(cresta.requests(Route::Handoff).len(), 1 + 2 + 2);
}

#[test]
fn persistent_failure_is_reported_before_the_deadline() {
    let silent =
        Server::start(|_| Reply::Delay(Duration::from_secs(30), Box::new(Reply::json(200, "{}"))));
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(
        &rt.address(),
        &env(&[
            ("region", "us-west-2-prod"),
            ("apiDomain", &silent.url()),
            ("apiKey", API_KEY),
            ("virtualAgentName", VIRTUAL_AGENT),
        ]),
    );
    rt.push(&handoff(), Duration::from_millis(1500));
    let outcomes = rt.wait_outcomes(1, WAIT);
    let log = proc.finish();
    assert_eq!(outcomes.len(), 1, "{log}");
    let o = &outcomes[0];
    assert!(!o.ok);
    assert_eq!(o.error_type.as_deref(), Some("Upstream.Timeout"), "{log}");
    let deadline = o.deadline.unwrap();
    assert!(
        o.at < deadline,
        "error posted {:?} after the deadline",
        o.at - deadline
    );
    assert!(
        deadline - o.at < Duration::from_millis(600),
        "gave up too early: {:?} left",
        deadline - o.at
    );
}

#[test]
fn persistent_500s_with_slow_backoff_stop_before_the_deadline() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![Reply::json(500, r#"{"error":"down"}"#); 10],
    );
    let rt = FakeRuntime::start();
    let mut e = api_key_env(&cresta);
    e.retain(|(k, _)| k != "HTTP_RETRY_BASE_DELAY");
    e.push(("HTTP_RETRY_BASE_DELAY".into(), "700ms".into()));
    let proc = RuntimeProcess::spawn(&rt.address(), &e);
    rt.push(&pstn(), Duration::from_millis(1500));
    let outcomes = rt.wait_outcomes(1, WAIT);
    let log = proc.finish();
    let o = &outcomes[0];
    assert_eq!(o.error_type.as_deref(), Some("Upstream.Status500"), "{log}");
    assert!(o.json()["errorMessage"]
        .as_str()
        .unwrap()
        .contains("stopped by the deadline"));
    assert!(o.at < o.deadline.unwrap());
    assert_eq!(
        cresta.requests(Route::Pstn).len(),
        2,
        "0 ms, ~700-875 ms; no time for a third"
    );
}

#[test]
fn bad_settings_are_an_init_error() {
    let rt = FakeRuntime::start();
    let mut proc =
        RuntimeProcess::spawn(&rt.address(), &env(&[("HTTP_CLIENT_TIMEOUT", "forever")]));
    let code = proc.wait_exit(Duration::from_secs(10));
    let log = proc.finish();
    assert_eq!(code, Some(1), "{log}");
    let init = rt
        .wait_init_error(Duration::from_secs(1))
        .expect("init error posted");
    assert_eq!(init.error_type.as_deref(), Some("Config.InvalidSetting"));
    let body: Value = init.json();
    assert_eq!(body["errorType"], "Config.InvalidSetting");
    assert!(body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("HTTP_CLIENT_TIMEOUT"));
    assert!(rt.next_calls().is_empty());
    assert!(log.contains("HTTP_CLIENT_TIMEOUT"), "{log}");
}

#[test]
fn an_unreachable_runtime_api_exits_with_a_clear_message() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut proc = RuntimeProcess::spawn(&format!("127.0.0.1:{port}"), &env(&[]));
    let code = proc.wait_exit(Duration::from_secs(10));
    let log = proc.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("Runtime.NextFailed") && log.contains("/next"),
        "{log}"
    );
}

#[test]
fn no_runtime_api_variable_is_a_clear_error() {
    let out = support::bootstrap_command(&[]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AWS_LAMBDA_RUNTIME_API"), "{err}");
}

#[test]
fn a_500_from_the_runtime_api_ends_the_process() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let mut proc = RuntimeProcess::spawn(&rt.address(), &api_key_env(&cresta));
    rt.push(&pstn(), BUDGET);
    assert!(rt.wait_outcomes(1, WAIT)[0].ok);
    rt.fail_next();
    let code = proc.wait_exit(Duration::from_secs(10));
    let log = proc.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("500"), "{log}");
}

#[test]
fn json_logs_carry_the_request_id_and_parse() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let mut e = oauth_env(&cresta);
    e.extend(env(&[
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
    ]));
    let proc = RuntimeProcess::spawn(&rt.address(), &e);
    let ok_id = rt.push(&handoff(), BUDGET);
    let bad_id = rt.push(&event(&[("action", "nope")]), BUDGET);
    rt.wait_outcomes(2, WAIT);
    let log = proc.finish();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 4, "{log}");
    let mut in_init = true;
    for l in &lines {
        assert!(l["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(["DEBUG", "INFO", "WARN", "ERROR"].contains(&l["level"].as_str().unwrap()));
        assert!(l["message"].is_string());
        // Init's lines (its prefetch, SPEC section 9) come first and belong
        // to no invocation; every later line carries its request id.
        if in_init && l.get("requestId").is_none() {
            continue;
        }
        in_init = false;
        let id = l["requestId"].as_str().unwrap();
        assert!(id == ok_id || id == bad_id, "{l}");
    }
    assert!(lines
        .iter()
        .any(|l| l["level"] == "ERROR" && l["requestId"] == bad_id.as_str()));
    // Each invocation's trace id is in the process environment while it runs.
    for id in [&ok_id, &bad_id] {
        let expect = format!(
            "_X_AMZN_TRACE_ID=\"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Id={id}\""
        );
        assert!(
            lines.iter().any(|l| l["requestId"] == id.as_str()
                && l["message"].as_str().unwrap().contains(&expect)),
            "{expect} not logged: {log}"
        );
    }
    assert!(!log.contains(support::cresta::CLIENT_SECRET));
}

#[test]
fn log_level_filters_text_lines() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let mut e = api_key_env(&cresta);
    e.extend(env(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR")]));
    let proc = RuntimeProcess::spawn(&rt.address(), &e);
    rt.push(&pstn(), BUDGET);
    rt.push(&event(&[("action", "nope")]), BUDGET);
    rt.wait_outcomes(2, WAIT);
    let log = proc.finish();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].starts_with("[ERROR] [req-"), "{log}");
    assert!(lines[0].contains("Config.InvalidAction"));
}
