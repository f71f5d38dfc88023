//! Smoke tests for a cross-built binary run under an emulator, e.g. arm64
//! under qemu. Ignored by default; scripts/test.sh runs them with
//! `BOOTSTRAP_BIN` (the arm64 binary) and `BOOTSTRAP_RUNNER`
//! (`qemu-aarch64 -L /usr/aarch64-linux-gnu`).

mod support;

use serde_json::json;
use support::cresta::{MockCresta, Route, DTMF, PHONE_NUMBER};
use support::{api_key_env, event, oauth_env, run_test_mode};

fn require_cross_binary() {
    assert!(
        std::env::var("BOOTSTRAP_BIN").is_ok() && std::env::var("BOOTSTRAP_RUNNER").is_ok(),
        "set BOOTSTRAP_BIN and BOOTSTRAP_RUNNER (see scripts/test.sh)"
    );
    let out = support::bootstrap_command(&[])
        .arg("--version")
        .output()
        .expect("run under the emulator");
    assert!(out.status.success(), "{out:?}");
}

#[test]
#[ignore = "needs BOOTSTRAP_BIN and BOOTSTRAP_RUNNER"]
fn cross_binary_answers_pstn_transfer() {
    require_cross_binary();
    let cresta = MockCresta::start();
    let run = run_test_mode(
        event(&[("action", "get_pstn_transfer_data")]).as_bytes(),
        &api_key_env(&cresta),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.json(),
        json!({"phoneNumber": PHONE_NUMBER, "dtmfSequence": DTMF})
    );
}

#[test]
#[ignore = "needs BOOTSTRAP_BIN and BOOTSTRAP_RUNNER"]
fn cross_binary_answers_handoff_with_oauth() {
    require_cross_binary();
    let cresta = MockCresta::start();
    let run = run_test_mode(
        event(&[("action", "get_handoff_data")]).as_bytes(),
        &oauth_env(&cresta),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.json()["handoff_transferTarget"], "pstn:PSTN3");
    assert_eq!(cresta.requests(Route::Token).len(), 1);
}

#[test]
#[ignore = "needs BOOTSTRAP_BIN and BOOTSTRAP_RUNNER"]
fn cross_binary_reports_errors() {
    require_cross_binary();
    let cresta = MockCresta::start();
    cresta.script(
        Route::Pstn,
        vec![support::server::Reply::json(500, r#"{"error":"down"}"#); 4],
    );
    let run = run_test_mode(
        event(&[("action", "get_pstn_transfer_data")]).as_bytes(),
        &api_key_env(&cresta),
    );
    run.assert_error(&["Upstream.Status500", "4 attempts"]);
    let run = run_test_mode(b"[]", &api_key_env(&cresta));
    run.assert_error(&["Event.Malformed"]);
}

#[test]
#[ignore = "needs BOOTSTRAP_BIN and BOOTSTRAP_RUNNER"]
fn cross_binary_prefetches_at_init_and_answers_as_a_runtime() {
    // Init prefetch and parallel connection set-up start threads: under
    // qemu-user only a statically linked binary survives that
    // (scripts/arm64-smoke.sh builds one).
    require_cross_binary();
    let cresta = MockCresta::start();
    let sm = support::secrets_manager::MockSecretsManager::start();
    let rt = support::runtime_api::FakeRuntime::start();
    let proc = support::RuntimeProcess::spawn(&rt.address(), &support::secret_env(&cresta, &sm));
    rt.push(
        &event(&[("action", "get_pstn_transfer_data")]),
        std::time::Duration::from_secs(8),
    );
    let outcomes = rt.wait_outcomes(1, std::time::Duration::from_secs(60));
    let log = proc.finish();
    assert!(outcomes.first().is_some_and(|o| o.ok), "{log}");
    assert!(
        log.contains("init prefetch: secret, token and API connection ready"),
        "{log}"
    );
    assert_eq!(cresta.requests(Route::Token).len(), 1);
}
