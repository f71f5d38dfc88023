//! Lambda Managed Instances: `AWS_LAMBDA_MAX_CONCURRENCY=N` runs N workers
//! in one process. The real binary against a fake Runtime API that hands out
//! events to several outstanding `/next` calls, the Cresta stand-in and the
//! mock Secrets Manager.

mod support;

use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::cresta::{MockCresta, Route};
use support::runtime_api::FakeRuntime;
use support::secrets_manager::MockSecretsManager;
use support::server::Reply;
use support::{api_key_env, env, oauth_env, secret_env, with_env, RuntimeProcess};

const BUDGET: Duration = Duration::from_secs(8);
const WAIT: Duration = Duration::from_secs(20);

/// A handoff event for its own contact: the answer echoes the contact id.
fn handoff_for(contact: &str) -> String {
    json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {"ContactId": contact, "Channel": "VOICE"},
            "Parameters": {"action": "get_handoff_data"}
        }
    })
    .to_string()
}

/// The environment without `virtualAgentName`, which the events then carry
/// (see [`agent_in_event`]): no longer a complete configuration by itself, so
/// init does not prefetch and the invocations make the fetches under test.
fn without_prefetch(mut e: Vec<(String, String)>) -> Vec<(String, String)> {
    e.retain(|(k, _)| k != "virtualAgentName");
    e
}

/// `handoff_for` with the virtual agent in the event's Parameters.
fn agent_in_event(contact: &str) -> String {
    let mut v: Value = serde_json::from_str(&handoff_for(contact)).unwrap();
    v["Details"]["Parameters"]["virtualAgentName"] = support::cresta::VIRTUAL_AGENT.into();
    v.to_string()
}

/// The trace id the fake Runtime API gives an invocation.
fn trace_of(request_id: &str) -> String {
    format!(
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Id={request_id}"
    )
}

/// Starts the function with `workers` and waits until they all poll `/next`.
fn start(rt: &FakeRuntime, workers: usize, e: &[(String, String)]) -> RuntimeProcess {
    let n = workers.to_string();
    let proc = RuntimeProcess::spawn(
        &rt.address(),
        &with_env(e.to_vec(), &[("AWS_LAMBDA_MAX_CONCURRENCY", &n)]),
    );
    assert_eq!(
        rt.wait_waiting(workers, WAIT),
        workers,
        "{workers} workers poll /next at once"
    );
    proc
}

#[test]
fn eight_events_on_four_workers_are_answered_in_two_waves_with_one_token() {
    let cresta = MockCresta::start();
    cresta.set_latency(Duration::from_millis(400));
    let sm = MockSecretsManager::start();
    let rt = FakeRuntime::start();
    let e = with_env(
        without_prefetch(secret_env(&cresta, &sm)),
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ],
    );
    let proc = start(&rt, 4, &e);
    let began = Instant::now();
    let contacts: HashMap<String, String> = (1..=8)
        .map(|i| {
            let contact = format!("contact-{i:02}-c0ffee");
            (rt.push(&agent_in_event(&contact), BUDGET), contact)
        })
        .collect();
    let outcomes = rt.wait_outcomes(8, WAIT);
    let took = began.elapsed();
    let log = proc.finish();
    assert_eq!(outcomes.len(), 8, "{log}");
    println!("8 events, 4 workers, 0.4 s stand-in: all answered in {took:?}");

    // Every answer went to its own request id and carries its contact.
    for (id, contact) in &contacts {
        let o = rt
            .outcome(id)
            .unwrap_or_else(|| panic!("no outcome for {id}"));
        assert!(o.ok, "{id}: {} {log}", String::from_utf8_lossy(&o.body));
        assert_eq!(
            o.json()["handoff_conversationCorrelationId"],
            contact.as_str(),
            "{id}"
        );
    }

    // Two waves of four: token + call (0.8 s), then a call (0.4 s); serial
    // would be 0.4 s + 8 x 0.4 s.
    assert_eq!(rt.max_in_flight(), 4, "four at once, never more");
    assert!(took < Duration::from_secs(2), "took {took:?}: not in waves");
    assert_eq!(
        cresta.requests(Route::Token).len(),
        1,
        "one token for all: {log}"
    );
    assert_eq!(sm.requests().len(), 1, "one secret fetch for all: {log}");
    assert_eq!(cresta.requests(Route::Handoff).len(), 8);

    // The secret fetch carries the trace id of the invocation that made it.
    let traces: Vec<String> = contacts.keys().map(|id| trace_of(id)).collect();
    let sent = sm.requests()[0]
        .header("x-amzn-trace-id")
        .map(str::to_string)
        .expect("X-Amzn-Trace-Id on the Secrets Manager request");
    assert!(traces.contains(&sent), "{sent}");

    // Each line is attributed to its own invocation.
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let mut answered = 0;
    let mut started = 0;
    for l in &lines {
        let message = l["message"].as_str().unwrap();
        let Some(id) = l["requestId"].as_str() else {
            continue;
        };
        let contact = contacts
            .get(id)
            .unwrap_or_else(|| panic!("unknown request id: {l}"));
        for other in contacts.values().filter(|c| *c != contact) {
            assert!(
                !message.contains(other.as_str()),
                "{id} logged {other}: {l}"
            );
        }
        if message.contains("answered with") {
            assert!(message.contains(contact.as_str()), "{l}");
            answered += 1;
        }
        if message.starts_with("invocation for") {
            // The trace id is the invocation's own, and the process
            // environment was left alone.
            assert!(message.contains(&format!("{:?}", trace_of(id))), "{l}");
            assert!(message.contains("_X_AMZN_TRACE_ID=\"\""), "{l}");
            started += 1;
        }
    }
    assert_eq!((answered, started), (8, 8), "{log}");
    assert!(!log.contains(support::cresta::CLIENT_SECRET));
}

#[test]
fn a_failed_token_request_fails_only_the_invocations_that_waited_for_it() {
    let cresta = MockCresta::start();
    cresta.script(
        Route::Token,
        vec![Reply::Delay(
            Duration::from_millis(400),
            Box::new(Reply::json(503, r#"{"error":"busy"}"#)),
        )],
    );
    let rt = FakeRuntime::start();
    let e = with_env(
        without_prefetch(oauth_env(&cresta)),
        &[("HTTP_MAX_RETRIES", "0")],
    );
    let proc = start(&rt, 4, &e);
    let first: Vec<String> = (1..=4)
        .map(|i| rt.push(&agent_in_event(&format!("first-{i}")), BUDGET))
        .collect();
    let failed = rt.wait_outcomes(4, WAIT);
    let second: Vec<String> = (1..=4)
        .map(|i| rt.push(&agent_in_event(&format!("second-{i}")), BUDGET))
        .collect();
    rt.wait_outcomes(8, WAIT);
    let log = proc.finish();
    assert_eq!(failed.len(), 4, "{log}");
    for id in &first {
        let o = rt.outcome(id).unwrap();
        assert_eq!(
            o.error_type.as_deref(),
            Some("Auth.TokenStatus503"),
            "{log}"
        );
    }
    for id in &second {
        assert!(rt.outcome(id).unwrap().ok, "{id}: {log}");
    }
    assert_eq!(
        cresta.requests(Route::Token).len(),
        2,
        "one failed request for the first four, one good for the next"
    );
}

#[test]
fn an_invocation_error_never_stops_a_worker() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let proc = start(&rt, 2, &api_key_env(&cresta));
    let ids: Vec<(String, bool)> = (0..10)
        .map(|i| {
            if i % 2 == 0 {
                (rt.push("not json", BUDGET), false)
            } else {
                (rt.push(&handoff_for(&format!("c-{i}")), BUDGET), true)
            }
        })
        .collect();
    let outcomes = rt.wait_outcomes(ids.len(), WAIT);
    let log = proc.finish();
    assert_eq!(outcomes.len(), ids.len(), "{log}");
    for (id, ok) in &ids {
        let o = rt.outcome(id).unwrap();
        assert_eq!(o.ok, *ok, "{id}");
        if !ok {
            assert_eq!(o.error_type.as_deref(), Some("Event.Malformed"));
        }
    }
}

#[test]
fn a_broken_runtime_api_ends_the_process() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let mut proc = start(&rt, 4, &api_key_env(&cresta));
    rt.fail_next();
    let code = proc.wait_exit(Duration::from_secs(10));
    let log = proc.finish();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("Runtime.NextFailed") && log.contains("500"),
        "{log}"
    );
}

#[test]
fn an_invalid_max_concurrency_is_an_init_error() {
    for bad in ["0", "four", "1601", ""] {
        let rt = FakeRuntime::start();
        let mut proc =
            RuntimeProcess::spawn(&rt.address(), &env(&[("AWS_LAMBDA_MAX_CONCURRENCY", bad)]));
        let code = proc.wait_exit(Duration::from_secs(10));
        let log = proc.finish();
        assert_eq!(code, Some(1), "{bad:?}: {log}");
        let init = rt
            .wait_init_error(Duration::from_secs(1))
            .unwrap_or_else(|| panic!("{bad:?}: no init error posted: {log}"));
        assert_eq!(init.error_type.as_deref(), Some("Config.InvalidSetting"));
        assert!(init.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("AWS_LAMBDA_MAX_CONCURRENCY"));
        assert!(rt.next_calls().is_empty(), "{bad:?}");
    }
}

#[test]
fn max_concurrency_one_serves_one_at_a_time_and_sets_the_trace_variable() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let e = with_env(api_key_env(&cresta), &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]);
    let proc = start(&rt, 1, &e);
    let ids: Vec<String> = (1..=3)
        .map(|i| rt.push(&handoff_for(&format!("c-{i}")), BUDGET))
        .collect();
    let outcomes = rt.wait_outcomes(3, WAIT);
    let log = proc.finish();
    assert!(outcomes.iter().all(|o| o.ok), "{log}");
    assert_eq!(rt.max_in_flight(), 1);
    assert!(!log.contains("invocations at once"), "{log}");
    for id in &ids {
        let expect = format!("_X_AMZN_TRACE_ID={:?}", trace_of(id));
        assert!(log.contains(&expect), "{expect} not logged: {log}");
    }
}
