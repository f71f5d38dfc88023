//! Fault injection: a server that misbehaves at the HTTP level. Each fault
//! gets the right retry behaviour and a clear error within the deadline, and
//! the runtime loop survives all of them in one process.

mod support;

use std::time::Duration;
use support::cresta::{MockCresta, Route};
use support::runtime_api::FakeRuntime;
use support::server::{Reply, Server};
use support::{api_key_env, event, run_test_mode, RuntimeProcess};

/// Fast settings: 300 ms per attempt, 5 ms base backoff, 3 retries.
fn fast_env(cresta: &MockCresta) -> Vec<(String, String)> {
    let mut e = api_key_env(cresta);
    e.push(("HTTP_CLIENT_TIMEOUT".into(), "300ms".into()));
    e
}

fn pstn() -> String {
    event(&[("action", "get_pstn_transfer_data")])
}

struct Case {
    name: &'static str,
    reply: Reply,
    /// Error words expected when every attempt gets the fault; None = success.
    words: Option<&'static [&'static str]>,
    /// Attempts made when every attempt gets the fault.
    attempts: usize,
}

fn cases() -> Vec<Case> {
    let drip = Reply::Drip {
        interval: Duration::from_millis(100),
        body: br#"{"phoneNumber":"+15551230000","dtmfSequence":"4321"}"#.to_vec(),
    };
    vec![
        Case {
            name: "reset before answering",
            reply: Reply::Reset,
            words: Some(&["Upstream.Connection", "4 attempts"]),
            attempts: 4,
        },
        Case {
            name: "reset mid-body",
            reply: Reply::ResetMidBody,
            words: Some(&["Upstream.Connection", "4 attempts"]),
            attempts: 4,
        },
        Case {
            name: "truncated chunked body",
            reply: Reply::TruncatedChunked,
            words: Some(&["Upstream.Connection", "4 attempts"]),
            attempts: 4,
        },
        Case {
            name: "headers then stall",
            reply: Reply::StallAfterHeaders(Duration::from_secs(3)),
            words: Some(&["Upstream.Timeout", "4 attempts"]),
            attempts: 4,
        },
        Case {
            name: "slow drip past the timeout",
            reply: drip,
            words: Some(&["Upstream.Timeout", "4 attempts"]),
            attempts: 4,
        },
        Case {
            name: "invalid UTF-8 body",
            reply: Reply::raw(200, "application/json", b"{\"phoneNumber\":\"\xff\xfe\"}"),
            words: Some(&["Upstream.MalformedResponse", "not JSON"]),
            attempts: 1,
        },
        Case {
            name: "200 with an empty body",
            reply: Reply::raw(200, "application/json", b""),
            words: Some(&["Upstream.MalformedResponse", "empty body"]),
            attempts: 1,
        },
        Case {
            name: "duplicate headers",
            reply: Reply::DuplicateHeaders {
                name: "X-Request-Id".into(),
                values: vec!["a".into(), "b".into()],
                body: br#"{"phoneNumber":"+1","dtmfSequence":"2"}"#.to_vec(),
            },
            words: None,
            attempts: 1,
        },
    ]
}

#[test]
fn each_fault_on_every_attempt_gives_a_clear_error_in_time() {
    for case in cases() {
        let cresta = MockCresta::start();
        cresta.script(Route::Pstn, vec![case.reply.clone(); 8]);
        let run = run_test_mode(pstn().as_bytes(), &fast_env(&cresta));
        match case.words {
            Some(words) => run.assert_error(words),
            None => assert_eq!(run.code, Some(0), "{}: {run:?}", case.name),
        }
        assert_eq!(
            cresta.requests(Route::Pstn).len(),
            case.attempts,
            "{}",
            case.name
        );
        // 4 attempts of at most 300 ms plus backoff: well inside Connect's 8 s.
        assert!(
            run.elapsed < Duration::from_secs(3),
            "{}: took {:?}",
            case.name,
            run.elapsed
        );
    }
}

#[test]
fn a_transient_fault_is_retried_then_succeeds() {
    for case in cases().into_iter().filter(|c| c.attempts > 1) {
        let cresta = MockCresta::start();
        cresta.script(Route::Pstn, vec![case.reply.clone()]);
        let run = run_test_mode(pstn().as_bytes(), &fast_env(&cresta));
        assert_eq!(run.code, Some(0), "{}: {run:?}", case.name);
        assert_eq!(cresta.requests(Route::Pstn).len(), 2, "{}", case.name);
    }
}

#[test]
fn a_redirect_is_never_followed_to_another_host() {
    let elsewhere =
        Server::start(|_| Reply::json(200, r#"{"phoneNumber":"+1666","dtmfSequence":"6"}"#));
    for status in [301, 302, 307, 308] {
        let cresta = MockCresta::start();
        let target = format!("{}/v1/steal", elsewhere.url());
        cresta.script(
            Route::Pstn,
            vec![Reply::json(status, "{}").with_header("Location", &target)],
        );
        let run = run_test_mode(pstn().as_bytes(), &fast_env(&cresta));
        run.assert_error(&[&format!("Upstream.Status{status}"), "1 attempt"]);
    }
    assert!(elsewhere.requests().is_empty(), "the redirect was followed");
}

#[test]
fn the_runtime_loop_survives_every_fault_in_one_process() {
    let cresta = MockCresta::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &fast_env(&cresta));
    let all = cases();
    for case in &all {
        cresta.script(Route::Pstn, vec![case.reply.clone(); case.attempts]);
        rt.push(&pstn(), Duration::from_secs(8));
        let n = rt.outcomes().len() + 1;
        rt.wait_outcomes(n, Duration::from_secs(15));
    }
    rt.push(&pstn(), Duration::from_secs(8));
    let outcomes = rt.wait_outcomes(all.len() + 1, Duration::from_secs(15));
    let log = proc.finish();
    assert_eq!(outcomes.len(), all.len() + 1, "{log}");
    for (case, o) in all.iter().zip(&outcomes) {
        assert_eq!(o.ok, case.words.is_none(), "{}: {o:?}", case.name);
        if let Some(words) = case.words {
            assert_eq!(o.error_type.as_deref(), Some(words[0]), "{}", case.name);
        }
        assert!(o.at < o.deadline.unwrap(), "{} answered late", case.name);
    }
    assert!(
        outcomes.last().unwrap().ok,
        "the process still serves after all faults: {log}"
    );
}
