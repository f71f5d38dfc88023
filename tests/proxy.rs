//! Egress proxies end to end: the real `bootstrap` through a real CONNECT
//! proxy (tests/support/proxy.rs) to the HTTPS stand-ins. Targets are named
//! (`api.cresta.test`): only the proxy knows them (it maps every name to
//! 127.0.0.1), so a call that succeeds went through the tunnel, and a
//! target in NO_PROXY is visibly not sent there.

mod support;

use std::time::Duration;
use support::cresta::{MockCresta, Route, PHONE_NUMBER};
use support::proxy::ConnectProxy;
use support::runtime_api::FakeRuntime;
use support::secrets_manager::MockSecretsManager;
use support::tls::{Leaf, TestPki};
use support::{api_key_env, event, oauth_env, run_test_mode, secret_env, with_env, RuntimeProcess};

fn pstn() -> String {
    event(&[("action", "get_pstn_transfer_data")])
}

/// An HTTPS Cresta stand-in, its CA file, and its URL by a name only the
/// proxy resolves.
struct Https {
    cresta: MockCresta,
    ca: String,
    named_url: String,
}

fn https_cresta() -> Https {
    let pki = TestPki::new("company proxy CA");
    let cresta = MockCresta::start_tls(pki.server_config(Leaf::Good));
    let named_url = format!("https://api.cresta.test:{}", cresta.server.addr.port());
    Https {
        ca: pki.ca_file().to_str().unwrap().to_string(),
        cresta,
        named_url,
    }
}

/// API key auth against `url`, the CA trusted, plus `extra`.
fn env_for(h: &Https, url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let base = with_env(
        api_key_env(&h.cresta),
        &[("apiDomain", url), ("SSL_CERT_FILE", &h.ca)],
    );
    with_env(base, extra)
}

#[test]
fn https_targets_go_through_https_proxy_in_a_connect_tunnel() {
    let h = https_cresta();
    let proxy = ConnectProxy::start();
    let env = env_for(&h, &h.named_url, &[("HTTPS_PROXY", &proxy.url())]);
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.json()["phoneNumber"], PHONE_NUMBER);
    let seen = proxy.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let port = h.cresta.server.addr.port();
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].target, format!("api.cresta.test:{port}"));
    assert_eq!(
        seen[0].header("host"),
        Some(format!("api.cresta.test:{port}").as_str())
    );
    assert_eq!(seen[0].header("proxy-authorization"), None);
    let calls = h.cresta.requests(Route::Pstn);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].header("host"),
        Some(format!("api.cresta.test:{port}").as_str())
    );
}

#[test]
fn lowercase_https_proxy_and_oauth_through_the_tunnel() {
    let h = https_cresta();
    let proxy = ConnectProxy::start();
    let env = with_env(
        oauth_env(&h.cresta),
        &[
            ("apiDomain", &h.named_url),
            ("authDomain", &h.named_url.replace("api.", "auth.")),
            ("AWS_CA_BUNDLE", &h.ca),
            ("https_proxy", &proxy.url()),
        ],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    let mut targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    // The two tunnels open in parallel (src/preconnect.rs): in any order.
    targets.sort();
    let port = h.cresta.server.addr.port();
    assert_eq!(
        targets,
        vec![
            format!("api.cresta.test:{port}"),
            format!("auth.cresta.test:{port}")
        ]
    );
}

#[test]
fn credentials_become_proxy_authorization_and_never_appear_in_output() {
    let h = https_cresta();
    let password = "s3cr:et@pw-9f2c";
    let proxy = ConnectProxy::with_credentials("egress-user", password);
    let url = proxy.url_with("egress-user:s3cr%3Aet%40pw-9f2c");
    let env = env_for(
        &h,
        &h.named_url,
        &[("HTTPS_PROXY", &url), ("DEBUG_LOGGING", "true")],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    let basic = support::cresta::base64(&format!("egress-user:{password}"));
    let seen = proxy.requests();
    assert_eq!(
        seen[0].header("proxy-authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert!(
        h.cresta.requests(Route::Pstn)[0]
            .header("proxy-authorization")
            .is_none(),
        "the credentials go to the proxy only"
    );
    for fragment in [password, "s3cr%3Aet%40pw-9f2c", &basic] {
        assert!(
            !run.stderr.contains(fragment),
            "{fragment} leaked: {}",
            run.stderr
        );
        assert!(!run.stdout.contains(fragment));
    }
}

#[test]
fn a_407_names_the_proxy_is_not_retried_and_hides_the_password() {
    let h = https_cresta();
    let proxy = ConnectProxy::with_credentials("egress-user", "right-password");
    let url = proxy.url_with("egress-user:wrong-password-77");
    let env = env_for(
        &h,
        &h.named_url,
        &[("HTTPS_PROXY", &url), ("DEBUG_LOGGING", "true")],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&[
        "Upstream.ProxyAuthRequired",
        &proxy.url(),
        "407",
        "HTTPS_PROXY",
    ]);
    assert_eq!(proxy.requests().len(), 1, "407 is not retried");
    assert!(!run.stderr.contains("wrong-password-77"), "{}", run.stderr);
    assert_eq!(h.cresta.server.connections(), 0);
}

#[test]
fn an_unreachable_proxy_is_an_error_naming_the_proxy() {
    let h = https_cresta();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let proxy_url = format!("http://{closed}");
    let env = env_for(
        &h,
        &h.named_url,
        &[
            ("HTTPS_PROXY", &proxy_url),
            ("HTTP_RETRY_BASE_DELAY", "5ms"),
        ],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&["Upstream.ProxyUnreachable", &proxy_url, "cannot be reached"]);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("[ERROR]"))
        .unwrap();
    assert!(
        !line.contains("api.cresta.test"),
        "names the proxy, not the target: {line}"
    );
    assert_eq!(h.cresta.server.connections(), 0);
}

#[test]
fn a_proxy_that_refuses_the_tunnel_is_proxy_refused() {
    let h = https_cresta();
    let proxy = ConnectProxy::start();
    proxy.refuse_with(403);
    let env = env_for(&h, &h.named_url, &[("HTTPS_PROXY", &proxy.url())]);
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&["Upstream.ProxyRefused", &proxy.url(), "status 403"]);
    assert_eq!(h.cresta.server.connections(), 0);
}

#[test]
fn no_proxy_entries_connect_directly() {
    let h = https_cresta();
    let port = h.cresta.server.addr.port();
    let proxy = ConnectProxy::start();
    // Reachable directly: by IP literal, by `localhost`, or everything.
    for (url, no_proxy) in [
        (h.cresta.url(), "127.0.0.1"),
        (format!("https://localhost:{port}"), "example.com,localhost"),
        (h.named_url.clone(), "*"),
    ] {
        let env = env_for(
            &h,
            &url,
            &[("HTTPS_PROXY", &proxy.url()), ("NO_PROXY", no_proxy)],
        );
        let run = run_test_mode(pstn().as_bytes(), &env);
        if no_proxy == "*" {
            // api.cresta.test exists for the proxy only: direct means unresolvable.
            run.assert_error(&["Upstream.Connection", "api.cresta.test"]);
        } else {
            assert_eq!(run.code, Some(0), "{no_proxy}: {run:?}");
        }
    }
    // `.suffix` and bare suffix entries cover the name and its subdomains
    // (so the direct attempt fails to resolve); other entries do not.
    for (no_proxy, direct) in [
        (".cresta.test", true),
        ("cresta.test", true),
        ("api.cresta.test", true),
        ("other.test,.cresta.example", false),
        ("", false),
    ] {
        let env = env_for(
            &h,
            &h.named_url,
            &[
                ("HTTPS_PROXY", &proxy.url()),
                ("no_proxy", no_proxy),
                ("HTTP_MAX_RETRIES", "0"),
            ],
        );
        let run = run_test_mode(pstn().as_bytes(), &env);
        assert_eq!(run.code == Some(0), !direct, "{no_proxy:?}: {run:?}");
    }
    let targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        vec![format!("api.cresta.test:{port}"); 2],
        "only the two runs not in NO_PROXY used the proxy"
    );
}

#[test]
fn http_targets_use_http_proxy_and_https_targets_do_not() {
    // The Secrets Manager endpoint is a plain-HTTP override (localstack
    // style): HTTP_PROXY carries it; the HTTPS Cresta calls are direct.
    let h = https_cresta();
    let sm = MockSecretsManager::start();
    let proxy = ConnectProxy::start();
    let sm_named = format!("http://localstack.test:{}", sm.server.addr.port());
    let env = with_env(
        secret_env(&h.cresta, &sm),
        &[
            ("SSL_CERT_FILE", &h.ca),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &sm_named),
            ("HTTP_PROXY", &proxy.url()),
        ],
    );
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
    let targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        vec![format!("localstack.test:{}", sm.server.addr.port())]
    );
    assert_eq!(
        sm.requests().len(),
        1,
        "signature verified through the tunnel"
    );
}

/// Runtime mode with all four proxy variables set: the Cresta and Secrets
/// Manager calls go through the proxy (Secrets Manager's VPC endpoint is in
/// NO_PROXY and presents another CA), the Runtime API never does.
#[test]
fn runtime_mode_with_all_four_variables_never_proxies_the_runtime_api() {
    let h = https_cresta();
    let aws_pki = TestPki::new("aws test CA");
    let sm = MockSecretsManager::start_tls(aws_pki.server_config(Leaf::Good));
    let aws_ca = aws_pki.ca_file();
    let proxy = ConnectProxy::start();
    let rt = FakeRuntime::start();
    let env = with_env(
        secret_env(&h.cresta, &sm),
        &[
            ("apiDomain", &h.named_url),
            ("authDomain", &h.named_url.replace("api.", "auth.")),
            ("SSL_CERT_FILE", &h.ca),
            ("AWS_CA_BUNDLE", aws_ca.to_str().unwrap()),
            ("HTTPS_PROXY", &proxy.url()),
            ("https_proxy", &proxy.url()),
            ("HTTP_PROXY", &proxy.url()),
            ("http_proxy", &proxy.url()),
            ("NO_PROXY", "127.0.0.1"),
        ],
    );
    let proc = RuntimeProcess::spawn(&rt.address(), &env);
    let ids = [
        rt.push(&pstn(), Duration::from_secs(8)),
        rt.push(&pstn(), Duration::from_secs(8)),
    ];
    let outcomes = rt.wait_outcomes(ids.len(), Duration::from_secs(30));
    let log = proc.finish();
    assert_eq!(outcomes.len(), 2, "{log}");
    assert!(outcomes.iter().all(|o| o.ok), "{outcomes:?} {log}");
    let port = h.cresta.server.addr.port();
    let mut targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    targets.sort();
    assert_eq!(
        targets,
        vec![
            format!("api.cresta.test:{port}"),
            format!("auth.cresta.test:{port}")
        ],
        "one tunnel per host, kept alive; never the Runtime API"
    );
    assert_eq!(sm.requests().len(), 1);
    assert_eq!(h.cresta.requests(Route::Pstn).len(), 2);
}

/// Without NO_PROXY, even a loopback Runtime API stays off the proxy.
#[test]
fn runtime_api_is_not_proxied_even_without_no_proxy() {
    let h = https_cresta();
    let proxy = ConnectProxy::start();
    let rt = FakeRuntime::start();
    let env = env_for(
        &h,
        &h.named_url,
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("https_proxy", &proxy.url()),
            ("HTTP_PROXY", &proxy.url()),
            ("http_proxy", &proxy.url()),
        ],
    );
    let proc = RuntimeProcess::spawn(&rt.address(), &env);
    rt.push(&pstn(), Duration::from_secs(8));
    let outcomes = rt.wait_outcomes(1, Duration::from_secs(30));
    let log = proc.finish();
    assert_eq!(outcomes.len(), 1, "{log}");
    assert!(outcomes[0].ok, "{outcomes:?} {log}");
    let targets: Vec<String> = proxy.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        vec![format!("api.cresta.test:{}", h.cresta.server.addr.port())]
    );
}

/// The first-run experience behind a TLS-inspecting proxy: without
/// the company's CA the call is refused as `Upstream.Tls`, in words, once;
/// with `SSL_CERT_FILE` it works.
#[test]
fn behind_an_inspecting_proxy_the_company_ca_is_what_is_missing() {
    let h = https_cresta();
    let proxy = ConnectProxy::start();
    let mut env = env_for(&h, &h.named_url, &[("HTTPS_PROXY", &proxy.url())]);
    env.retain(|(k, _)| k != "SSL_CERT_FILE");
    let run = run_test_mode(pstn().as_bytes(), &env);
    run.assert_error(&[
        "Upstream.Tls",
        "unknown certificate authority",
        "SSL_CERT_FILE",
    ]);
    assert_eq!(proxy.requests().len(), 1, "one tunnel, one handshake");
    assert!(h.cresta.server.requests().is_empty());
    let env = with_env(env, &[("SSL_CERT_FILE", &h.ca)]);
    let run = run_test_mode(pstn().as_bytes(), &env);
    assert_eq!(run.code, Some(0), "{run:?}");
}

/// In runtime mode a bad CA bundle or proxy URL is an init error posted to
/// the Runtime API (never through a proxy), naming the variable, and no
/// credential of the proxy URL appears in it.
#[test]
fn bad_network_settings_are_init_errors_naming_the_variable() {
    for (var, value) in [
        ("AWS_CA_BUNDLE", "/nonexistent/bundle.pem"),
        ("HTTPS_PROXY", "socks5://user:sekrit-pw-77@127.0.0.1:1080"),
    ] {
        let rt = FakeRuntime::start();
        let proxy = ConnectProxy::start();
        let env = support::env(&[(var, value), ("HTTP_PROXY", &proxy.url())]);
        let mut proc = RuntimeProcess::spawn(&rt.address(), &env);
        let code = proc.wait_exit(Duration::from_secs(10));
        let log = proc.finish();
        assert_eq!(code, Some(1), "{log}");
        let init = rt
            .wait_init_error(Duration::from_secs(1))
            .expect("init error posted");
        assert_eq!(init.error_type.as_deref(), Some("Config.InvalidSetting"));
        let message = init.json()["errorMessage"].as_str().unwrap().to_string();
        assert!(message.contains(var), "{message}");
        assert!(
            !message.contains("sekrit") && !log.contains("sekrit"),
            "{log}"
        );
        assert!(
            proxy.requests().is_empty(),
            "the Runtime API is not proxied"
        );
    }
}
