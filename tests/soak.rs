//! Soak: many invocations with mixed outcomes in one runtime process, one at
//! a time and with 8 workers (`AWS_LAMBDA_MAX_CONCURRENCY=8`). Every answer
//! must be right and reach its own request id, and memory must not grow:
//! VmRSS at the end within 1 MB of VmRSS after the first 1 000 invocations.
//!
//! `SOAK_INVOCATIONS` sets the count (default 20 000; `scripts/soak.sh`).

mod support;

use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::runtime_api::{FakeRuntime, Outcome};
use support::server::{Reply, Server};
use support::{env, event, RuntimeProcess};

/// What each event in the cycle should produce.
const CYCLE: [(&str, Option<&str>); 8] = [
    ("pstn", None),
    ("handoff", None),
    ("pstn-nested", None),
    ("bad-action", Some("Config.InvalidAction")),
    ("not-json", Some("Event.Malformed")),
    ("upstream-500", Some("Upstream.Status500")),
    ("upstream-400", Some("Upstream.Status400")),
    ("handoff-missing-field", Some("Upstream.MalformedResponse")),
];

fn event_for(kind: &str) -> String {
    let agent = |profile: &str| format!("customers/c/profiles/{profile}/virtualAgents/v");
    match kind {
        "pstn" => event(&[("action", "get_pstn_transfer_data")]),
        "handoff" => event(&[("action", "get_handoff_data")]),
        "pstn-nested" => event(&[
            ("action", "get_pstn_transfer_data"),
            ("virtualAgentName", &agent("nested")),
        ]),
        "bad-action" => event(&[("action", "transfer")]),
        "not-json" => "{\"Details\":".to_string(),
        "upstream-500" => event(&[
            ("action", "get_pstn_transfer_data"),
            ("virtualAgentName", &agent("p500")),
        ]),
        "upstream-400" => event(&[
            ("action", "get_handoff_data"),
            ("virtualAgentName", &agent("p400")),
        ]),
        "handoff-missing-field" => event(&[
            ("action", "get_handoff_data"),
            ("virtualAgentName", &agent("partial")),
        ]),
        _ => unreachable!(),
    }
}

fn cresta(req: &support::server::Recorded) -> Reply {
    let p = &req.path;
    if p.contains("/profiles/p500/") {
        Reply::json(500, r#"{"error":"down"}"#)
    } else if p.contains("/profiles/p400/") {
        Reply::json(400, r#"{"error":"bad"}"#)
    } else if p.contains("/profiles/partial/") {
        Reply::json(200, r#"{"handoff":{"conversation":"c"}}"#)
    } else if p.contains("/profiles/nested/") {
        Reply::json(
            200,
            r#"{"phoneNumber":"+1","dtmfSequence":"2","meta":{"n":1,"b":true}}"#,
        )
    } else if p.ends_with(":generatePSTNTransferData") {
        Reply::json(
            200,
            r#"{"phoneNumber":"+15551230000","dtmfSequence":"4321"}"#,
        )
    } else {
        Reply::json(
            200,
            r#"{"handoff":{"conversation":"c","conversationCorrelationId":"contact-1234","summary":"s","transferTarget":"pstn:PSTN3"}}"#,
        )
    }
}

fn expected_answer(kind: &str) -> serde_json::Value {
    match kind {
        "pstn" => json!({"phoneNumber": "+15551230000", "dtmfSequence": "4321"}),
        "pstn-nested" => {
            json!({"phoneNumber": "+1", "dtmfSequence": "2", "meta_n": "1", "meta_b": "true"})
        }
        _ => {
            json!({"handoff_conversation": "c", "handoff_conversationCorrelationId": "contact-1234",
                    "handoff_summary": "s", "handoff_transferTarget": "pstn:PSTN3"})
        }
    }
}

/// Pushes events `from..to` of the cycle; returns (request id, cycle index).
fn run_batch(rt: &FakeRuntime, from: usize, to: usize) -> Vec<(String, usize)> {
    let ids = (from..to)
        .map(|i| {
            let kind = CYCLE[i % CYCLE.len()].0;
            (rt.push(&event_for(kind), Duration::from_secs(8)), i)
        })
        .collect();
    let got = rt.wait_outcomes(to, Duration::from_secs(600));
    assert_eq!(got.len(), to, "only {} of {to} answered", got.len());
    ids
}

fn invocations() -> usize {
    let total: usize = std::env::var("SOAK_INVOCATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    assert!(total >= 2_000, "SOAK_INVOCATIONS must be at least 2000");
    total
}

/// Runs the soak with `workers` (`None`: the variable unset).
fn soak(workers: Option<usize>) {
    let total = invocations();
    let server = Server::start(cresta);
    let rt = FakeRuntime::start();
    let mut e = env(&[
        ("region", "us-west-2-prod"),
        ("apiDomain", &server.url()),
        ("apiKey", "soak-api-key-0001"),
        ("virtualAgentName", "customers/c/profiles/p/virtualAgents/v"),
        ("HTTP_MAX_RETRIES", "0"),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
    ]);
    if let Some(n) = workers {
        e.push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), n.to_string()));
    }
    let proc = RuntimeProcess::spawn(&rt.address(), &e);
    let start = Instant::now();
    let mut ids = run_batch(&rt, 0, 1_000);
    let rss_after_1000 = proc.status_kb("VmRSS").expect("VmRSS");
    ids.extend(run_batch(&rt, 1_000, total));
    let elapsed = start.elapsed();
    let rss_end = proc.status_kb("VmRSS").expect("VmRSS");
    let hwm = proc.status_kb("VmHWM").expect("VmHWM");
    let log = proc.finish();
    let outcomes: HashMap<String, Outcome> = rt
        .outcomes()
        .into_iter()
        .map(|o| (o.request_id.clone(), o))
        .collect();
    assert_eq!(outcomes.len(), total, "one outcome per request id");
    for (id, i) in &ids {
        let (kind, error) = CYCLE[i % CYCLE.len()];
        let o = &outcomes[id];
        match error {
            None => {
                assert!(o.ok, "#{i} {kind}: {o:?}");
                assert_eq!(o.json(), expected_answer(kind), "#{i} {kind}");
            }
            Some(t) => assert_eq!(o.error_type.as_deref(), Some(t), "#{i} {kind}"),
        }
    }
    let most = rt.max_in_flight();
    println!(
        "soak ({} worker(s), at most {most} in flight): {total} invocations in {:.1} s ({:.0}/s); VmRSS {rss_after_1000} kB after 1000, {rss_end} kB at the end; VmHWM {hwm} kB",
        workers.unwrap_or(1),
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(most, workers.unwrap_or(1), "invocations in flight at once");
    assert!(
        rss_end <= rss_after_1000 + 1024,
        "memory grew: {rss_after_1000} kB -> {rss_end} kB\n{log}"
    );
}

#[test]
#[ignore = "long: run by scripts/soak.sh and scripts/test.sh"]
fn soak_mixed_outcomes_without_growth() {
    soak(None);
}

#[test]
#[ignore = "long: run by scripts/soak.sh and scripts/test.sh"]
fn soak_eight_workers_mixed_outcomes_without_growth() {
    soak(Some(8));
}
