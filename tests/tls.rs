//! HTTPS end to end: the real `bootstrap` against the Cresta, token and
//! Secrets Manager stand-ins serving TLS with a CA made for the test run,
//! trusted through `SSL_CERT_FILE` and `AWS_CA_BUNDLE`; and the refusals
//! (unknown CA, another host's certificate, an expired one), each a `*.Tls`
//! error in words after exactly one handshake, with no HTTP request served.

mod support;

use support::cresta::{MockCresta, Route, DTMF, PHONE_NUMBER};
use support::secrets_manager::MockSecretsManager;
use support::tls::{Leaf, TestPki};
use support::{api_key_env, event, oauth_env, run_test_mode, secret_env, with_env};

fn pstn() -> String {
    event(&[("action", "get_pstn_transfer_data")])
}

fn handoff() -> String {
    event(&[("action", "get_handoff_data")])
}

#[test]
fn both_actions_over_https_with_an_api_key_and_the_ca_in_ssl_cert_file() {
    let pki = TestPki::new("cresta test CA");
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::Good));
    assert!(cresta.url().starts_with("https://"));
    let ca = pki.ca_file();
    let env = with_env(
        api_key_env(&cresta),
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.json()["phoneNumber"], PHONE_NUMBER);
    assert_eq!(run.json()["dtmfSequence"], DTMF);
    let run = run_test_mode(handoff().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.json()["handoff_transferTarget"], "pstn:PSTN3");
    assert_eq!(cresta.requests(Route::Pstn).len(), 1);
    assert_eq!(cresta.requests(Route::Handoff).len(), 1);
}

#[test]
fn oauth_token_and_api_over_https_with_the_ca_in_aws_ca_bundle() {
    let pki = TestPki::new("cresta test CA");
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::Good));
    let ca = pki.ca_file();
    let env = with_env(
        oauth_env(&cresta),
        &[("AWS_CA_BUNDLE", ca.to_str().unwrap())],
    );
    for action in [pstn(), handoff()] {
        let run = run_test_mode(action.as_bytes(), &env);
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    assert_eq!(
        cresta.requests(Route::Token).len(),
        2,
        "one token per process"
    );
    assert_eq!(cresta.requests(Route::Pstn).len(), 1);
    assert_eq!(cresta.requests(Route::Handoff).len(), 1);
}

/// Two private CAs, one in each variable: both are trusted at once.
#[test]
fn the_secret_over_https_with_one_ca_in_each_variable() {
    let cresta_pki = TestPki::new("company proxy CA");
    let aws_pki = TestPki::new("aws test CA");
    let cresta = MockCresta::start_tls(cresta_pki.server_config(Leaf::Good));
    let sm = MockSecretsManager::start_tls(aws_pki.server_config(Leaf::Good));
    assert!(sm.url().starts_with("https://"));
    let (ca1, ca2) = (cresta_pki.ca_file(), aws_pki.ca_file());
    let env = with_env(
        secret_env(&cresta, &sm),
        &[
            ("SSL_CERT_FILE", ca1.to_str().unwrap()),
            ("AWS_CA_BUNDLE", ca2.to_str().unwrap()),
        ],
    );
    for action in [pstn(), handoff()] {
        let run = run_test_mode(action.as_bytes(), &env);
        assert_eq!(run.code, Some(0), "{run:?}");
    }
    assert_eq!(sm.requests().len(), 2, "one GetSecretValue per process");
    assert_eq!(cresta.requests(Route::Token).len(), 2);
}

/// Asserts the refusal: the error type and words, one handshake, no request.
fn assert_refused(
    run: &support::Run,
    server: &support::server::Server,
    error_type: &str,
    words: &str,
) {
    run.assert_error(&[error_type, words]);
    assert_eq!(server.connections(), 1, "exactly one handshake: {run:?}");
    assert!(
        server.requests().is_empty(),
        "no HTTP request reached the server"
    );
}

#[test]
fn an_unknown_ca_is_upstream_tls_after_one_handshake() {
    let pki = TestPki::new("cresta test CA");
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::Good));
    // Default retries (3) are on: a certificate failure must not use them.
    let run = run_test_mode(pstn().as_bytes(), &api_key_env(&cresta));
    assert_refused(
        &run,
        &cresta.server,
        "Upstream.Tls",
        "unknown certificate authority",
    );
    assert!(run.stderr.contains("127.0.0.1"), "names the host: {run:?}");
    // Another CA in the bundle does not help.
    let other = TestPki::new("unrelated CA").ca_file();
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::Good));
    let env = with_env(
        api_key_env(&cresta),
        &[("SSL_CERT_FILE", other.to_str().unwrap())],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_refused(
        &run,
        &cresta.server,
        "Upstream.Tls",
        "unknown certificate authority",
    );
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let pki = TestPki::new("cresta test CA");
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::WrongHost));
    let ca = pki.ca_file();
    let env = with_env(
        api_key_env(&cresta),
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    let run = run_test_mode(handoff().as_bytes(), &env);
    assert_refused(&run, &cresta.server, "Upstream.Tls", "another host name");
}

#[test]
fn an_expired_certificate_is_refused_on_the_token_endpoint() {
    let pki = TestPki::new("cresta test CA");
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::Expired));
    let ca = pki.ca_file();
    let env = with_env(
        oauth_env(&cresta),
        &[("AWS_CA_BUNDLE", ca.to_str().unwrap())],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_refused(&run, &cresta.server, "Auth.Tls", "expired");
}

#[test]
fn secrets_manager_with_an_unknown_ca_is_secrets_tls() {
    let cresta_pki = TestPki::new("cresta test CA");
    let cresta = MockCresta::start_tls(cresta_pki.server_config(Leaf::Good));
    let sm = MockSecretsManager::start_tls(TestPki::new("aws CA").server_config(Leaf::Good));
    let ca = cresta_pki.ca_file();
    let env = with_env(
        secret_env(&cresta, &sm),
        &[("SSL_CERT_FILE", ca.to_str().unwrap())],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_refused(
        &run,
        &sm.server,
        "Secrets.Tls",
        "unknown certificate authority",
    );
    // Connections to Cresta may have been opened ahead, in parallel with the
    // secret (src/preconnect.rs); no request went over them.
    assert!(
        cresta.server.requests().is_empty(),
        "nothing was sent to Cresta"
    );
}

/// A plain HTTP server behind an https:// URL answers the ClientHello with
/// an HTTP error, as nginx does.
#[test]
fn https_to_a_plain_http_server_is_a_tls_error_in_words() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let cresta = MockCresta::start();
    let env = with_env(
        api_key_env(&cresta),
        &[("apiDomain", &format!("https://{addr}"))],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&["Upstream.Tls", "did not speak TLS"]);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[test]
fn bad_bundles_fail_at_init_naming_the_variable() {
    let cresta = MockCresta::start();
    let missing = "/nonexistent/company-ca.pem";
    let run = run_test_mode(
        pstn().as_bytes(),
        &with_env(api_key_env(&cresta), &[("SSL_CERT_FILE", missing)]),
    );
    run.assert_error(&["Config.InvalidSetting", "SSL_CERT_FILE", "cannot be read"]);
    let empty = support::tls::write_temp("empty.pem", b"no certificates here\n");
    let run = run_test_mode(
        pstn().as_bytes(),
        &with_env(
            api_key_env(&cresta),
            &[("AWS_CA_BUNDLE", empty.to_str().unwrap())],
        ),
    );
    run.assert_error(&["Config.InvalidSetting", "AWS_CA_BUNDLE", "no certificate"]);
    assert!(cresta.server.requests().is_empty());
}
