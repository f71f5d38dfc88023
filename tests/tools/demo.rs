//! The demo: the real `bootstrap` as a Lambda runtime, fed both Connect
//! actions by the fake Runtime API, talking to the local Cresta stand-in and
//! the mock Secrets Manager. Run it with `./scripts/demo.sh`.

#[path = "../support/mod.rs"]
mod support;

use std::time::Duration;
use support::cresta::{MockCresta, Route};
use support::runtime_api::FakeRuntime;
use support::secrets_manager::MockSecretsManager;
use support::{event, RuntimeProcess};

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let cresta = MockCresta::start();
    let secrets = MockSecretsManager::start();
    let runtime = FakeRuntime::start();
    println!(
        "bootstrap:            {}",
        support::bootstrap_path().display()
    );
    println!("Cresta stand-in:      {}", cresta.url());
    println!("mock Secrets Manager: {}", secrets.url());
    println!("fake Runtime API:     {}", runtime.address());

    let vars = support::secret_env(&cresta, &secrets);
    let process = RuntimeProcess::spawn(&runtime.address(), &vars);
    let first_next = runtime.wait_next_calls(1, Duration::from_secs(10));
    let Some(first_next) = first_next.first() else {
        eprintln!("bootstrap never asked for an event:\n{}", process.finish());
        std::process::exit(1);
    };
    println!(
        "\ncold start (spawn to first GET /next): {}",
        ms(*first_next - process.spawned_at)
    );

    let events = [
        (
            "get_pstn_transfer_data",
            event(&[
                ("action", "get_pstn_transfer_data"),
                ("customParam", "demo"),
            ]),
        ),
        ("get_handoff_data", event(&[("action", "get_handoff_data")])),
        (
            "get_pstn_transfer_data (warm)",
            event(&[("action", "get_pstn_transfer_data")]),
        ),
    ];
    for (i, (name, body)) in events.iter().enumerate() {
        runtime.push(body, Duration::from_secs(8));
        let outcomes = runtime.wait_outcomes(i + 1, Duration::from_secs(10));
        let Some(o) = outcomes.get(i) else {
            eprintln!("no answer for {name}:\n{}", process.finish());
            std::process::exit(1);
        };
        let took = o.at - o.served_at.unwrap_or(o.at);
        let answer: serde_json::Value = serde_json::from_slice(&o.body).unwrap_or_default();
        println!(
            "\n{name}: {} in {}",
            if o.ok { "answered" } else { "FAILED" },
            ms(took)
        );
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).unwrap_or_default()
        );
        if !o.ok {
            eprintln!("{}", process.finish());
            std::process::exit(1);
        }
    }
    println!(
        "\nrequests seen: {} to Secrets Manager, {} token, {} PSTN, {} handoff (the secret and the token are cached for the process)",
        secrets.requests().len(),
        cresta.requests(Route::Token).len(),
        cresta.requests(Route::Pstn).len(),
        cresta.requests(Route::Handoff).len()
    );
    let log = process.finish();
    println!("\nfunction log:\n{}", log.trim_end());
}
