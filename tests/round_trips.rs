//! Round trips at a cold start and after idle (issue 13), end to end: the
//! real binary under the fake Runtime API, the stand-ins behind the
//! round-trip emulator (tests/support/latency.rs) so each host's connections
//! can be counted. Timings belong to `scripts/bench.sh`; these tests check
//! who connects where and how often.

mod support;

use std::time::{Duration, Instant};
use support::cresta::{MockCresta, Route, VIRTUAL_AGENT};
use support::latency::Latency;
use support::runtime_api::FakeRuntime;
use support::secrets_manager::{aws_error, MockSecretsManager};
use support::{api_key_env, event, secret_env, with_env, RuntimeProcess};

const BUDGET: Duration = Duration::from_secs(8);
const WAIT: Duration = Duration::from_secs(20);
const RTT: Duration = Duration::from_millis(2);

/// The stand-ins, each host behind its own forwarder.
struct Hosts {
    cresta: MockCresta,
    sm: MockSecretsManager,
    api: Latency,
    token: Latency,
    secrets: Latency,
}

impl Hosts {
    fn start() -> Hosts {
        let cresta = MockCresta::start();
        let sm = MockSecretsManager::start();
        Hosts {
            api: Latency::start(cresta.server.addr, RTT),
            token: Latency::start(cresta.server.addr, RTT),
            secrets: Latency::start(sm.server.addr, RTT),
            cresta,
            sm,
        }
    }

    /// OAuth through the secret, every host through its forwarder. With
    /// `complete`, the environment alone is a whole configuration (init
    /// prefetches); without, `virtualAgentName` must come in the event.
    fn env(&self, complete: bool) -> Vec<(String, String)> {
        let mut env = with_env(
            secret_env(&self.cresta, &self.sm),
            &[
                ("apiDomain", &self.api.url()),
                ("authDomain", &self.token.url()),
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.secrets.url()),
                ("HTTP_RETRY_BASE_DELAY", "5ms"),
            ],
        );
        if !complete {
            env.retain(|(k, _)| k != "virtualAgentName");
        }
        env
    }

    /// (Secrets Manager, token, API) connections accepted so far.
    fn connections(&self) -> (usize, usize, usize) {
        (
            self.secrets.connections(),
            self.token.connections(),
            self.api.connections(),
        )
    }

    /// (secret, token, API) requests served so far.
    fn requests(&self) -> (usize, usize, usize) {
        (
            self.sm.requests().len(),
            self.cresta.requests(Route::Token).len(),
            self.cresta.requests(Route::Pstn).len(),
        )
    }
}

fn pstn() -> String {
    event(&[("action", "get_pstn_transfer_data")])
}

/// Polls `f` until it returns true or a second has passed (accepts are
/// counted on the forwarder's thread, a moment after the client connected).
fn eventually(f: impl Fn() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(1);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    f()
}

#[test]
fn a_cold_invocation_opens_one_connection_per_host() {
    let hosts = Hosts::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &hosts.env(false));
    rt.push(
        &event(&[
            ("action", "get_pstn_transfer_data"),
            ("virtualAgentName", VIRTUAL_AGENT),
        ]),
        BUDGET,
    );
    let outcomes = rt.wait_outcomes(1, WAIT);
    let log = proc.finish();
    assert!(outcomes.first().is_some_and(|o| o.ok), "{log}");
    assert_eq!(hosts.requests(), (1, 1, 1), "{log}");
    assert!(
        eventually(|| hosts.connections() == (1, 1, 1)),
        "{:?} {log}",
        hosts.connections()
    );
}

#[test]
fn after_a_prefetching_init_the_first_event_makes_only_the_api_call() {
    let hosts = Hosts::start();
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &hosts.env(true));
    rt.wait_next_calls(1, WAIT);
    // Before the first /next: the secret, the token and the API connection.
    assert_eq!(hosts.requests(), (1, 1, 0));
    assert!(
        eventually(|| hosts.connections() == (1, 1, 1)),
        "{:?}",
        hosts.connections()
    );
    rt.push(&pstn(), BUDGET);
    let outcomes = rt.wait_outcomes(1, WAIT);
    let log = proc.finish();
    assert!(outcomes.first().is_some_and(|o| o.ok), "{log}");
    // The event: no secret, no token, the API call on the pre-opened connection.
    assert_eq!(hosts.requests(), (1, 1, 1), "{log}");
    assert_eq!(hosts.connections(), (1, 1, 1), "{log}");
    assert!(
        log.contains("init prefetch: secret, token and API connection ready"),
        "{log}"
    );
}

#[test]
fn a_failing_prefetch_lets_init_finish_and_the_event_fetch_for_itself() {
    let hosts = Hosts::start();
    let failure = aws_error(500, "InternalServiceError", "try later");
    hosts.sm.script(vec![failure; 4]);
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &hosts.env(true));
    assert_eq!(rt.wait_next_calls(1, WAIT).len(), 1, "init did not finish");
    assert_eq!(hosts.requests(), (4, 0, 0));
    rt.push(&pstn(), BUDGET);
    let outcomes = rt.wait_outcomes(1, WAIT);
    let log = proc.finish();
    assert!(outcomes.first().is_some_and(|o| o.ok), "{log}");
    assert_eq!(hosts.requests(), (5, 1, 1), "{log}");
    assert!(log.contains("init prefetch failed"), "{log}");
    assert!(rt.wait_init_error(Duration::ZERO).is_none());
}

#[test]
fn a_connection_the_server_closed_while_idle_is_replaced_without_a_retry() {
    let cresta = MockCresta::start();
    // Like a load balancer with a short idle timeout.
    let api = Latency::start_with(cresta.server.addr, RTT, Some(Duration::from_millis(300)));
    let env = with_env(api_key_env(&cresta), &[("apiDomain", &api.url())]);
    let rt = FakeRuntime::start();
    let proc = RuntimeProcess::spawn(&rt.address(), &env);
    rt.push(&pstn(), BUDGET);
    assert_eq!(rt.wait_outcomes(1, WAIT).len(), 1);
    assert!(
        eventually(|| api.idle_closed() == 1),
        "the forwarder closed nothing"
    );
    std::thread::sleep(Duration::from_millis(50));
    rt.push(&pstn(), BUDGET);
    let outcomes = rt.wait_outcomes(2, WAIT);
    let log = proc.finish();
    assert!(
        outcomes.iter().all(|o| o.ok) && outcomes.len() == 2,
        "{log}"
    );
    // One request per event: the closed connection was never written to.
    assert_eq!(cresta.requests(Route::Pstn).len(), 2, "{log}");
    assert_eq!(api.connections(), 2, "{log}");
    assert!(!log.contains("retrying") && !log.contains("WARN"), "{log}");
}
