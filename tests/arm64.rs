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
