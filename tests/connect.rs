//! Connection set-up and local failures, end to end: the connect timeout
//! (`HTTP_CONNECT_TIMEOUT`) bounds a TLS handshake or a proxy's CONNECT
//! that never completes, and a request that cannot leave the process (a
//! credential with CR/LF) is a `Config` error at once, never retried, never
//! a `*.Connection`. (A URL that cannot be built is refused the same way;
//! the configuration's own checks catch those first, so http.rs unit-tests it.)

mod support;

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::cresta::{MockCresta, API_KEY};
use support::{api_key_env, event, oauth_env, run_test_mode, with_env};

fn pstn() -> String {
    event(&[("action", "get_pstn_transfer_data")])
}

/// A listener that accepts connections and never says a word; counts them.
fn silent_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, count)
}

#[test]
fn a_stalled_tls_handshake_is_bounded_by_the_connect_timeout_and_retried() {
    let (addr, connections) = silent_listener();
    let cresta = MockCresta::start();
    let env = with_env(
        api_key_env(&cresta),
        &[
            ("apiDomain", &format!("https://{addr}")),
            ("HTTP_CONNECT_TIMEOUT", "300ms"),
            ("HTTP_MAX_RETRIES", "1"),
        ],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&["Upstream.Timeout", "2 attempts"]);
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    // Two 300 ms connects, not two 3 s attempts.
    assert!(run.elapsed < Duration::from_secs(3), "{run:?}");
}

#[test]
fn a_proxy_that_never_answers_connect_is_named_within_the_connect_timeout() {
    let (addr, _) = silent_listener();
    let cresta = MockCresta::start();
    let proxy = format!("http://{addr}");
    let env = with_env(
        api_key_env(&cresta),
        &[
            ("apiDomain", "https://api.cresta.test"),
            ("HTTPS_PROXY", &proxy),
            ("HTTP_CONNECT_TIMEOUT", "300ms"),
            ("HTTP_MAX_RETRIES", "0"),
        ],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&["Upstream.ProxyFailed", &proxy, "no answer to CONNECT"]);
    assert!(run.elapsed < Duration::from_secs(3), "{run:?}");
}

#[test]
fn an_api_key_with_cr_lf_is_a_config_error_and_no_request() {
    let cresta = MockCresta::start();
    let event = event(&[
        ("action", "get_pstn_transfer_data"),
        ("apiKey", &format!("{API_KEY}\r\nX-Injected: 1")),
    ]);
    let run = run_test_mode(event.as_bytes(), &api_key_env(&cresta));
    run.assert_error(&["Config.InvalidHeader", "apiKey", "Authorization"]);
    assert!(!run.stderr.contains("X-Injected"), "{run:?}");
    assert_eq!(cresta.server.connections(), 0);
}

#[test]
fn a_token_with_cr_lf_is_refused_before_the_api_call() {
    let cresta = MockCresta::start();
    // The Basic header is base64, so client credentials are always
    // sendable; the token comes from the server, and one with CR/LF is
    // refused before the API call.
    cresta.script(
        support::cresta::Route::Token,
        vec![support::server::Reply::json(
            200,
            r#"{"access_token":"tok\r\nX-Injected: 1","expires_in":3600}"#,
        )],
    );
    let run = run_test_mode(pstn().as_bytes(), &oauth_env(&cresta));
    run.assert_error(&["Config.InvalidHeader", "Authorization"]);
    assert_eq!(cresta.requests(support::cresta::Route::Pstn).len(), 0);
}
