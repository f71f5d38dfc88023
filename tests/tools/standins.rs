//! The local stand-ins (Cresta, Secrets Manager) as a process of their own,
//! for end-to-end runs outside `cargo test` (scripts/cargo-lambda-e2e.sh):
//! prints the function's environment for them as `KEY=VALUE` lines, then
//! `ready`, and serves on 127.0.0.1 until stdin closes or the time limit
//! passes. On exit it prints how many requests each route saw.

#[path = "../support/mod.rs"]
mod support;

use std::io::Read;
use std::sync::mpsc;
use std::time::Duration;
use support::cresta::{MockCresta, Route};
use support::secrets_manager::MockSecretsManager;

/// Serving stops after this long even if nobody closes stdin.
const DEFAULT_LIMIT: Duration = Duration::from_secs(600);

fn main() {
    let limit = match std::env::args().nth(1) {
        None => DEFAULT_LIMIT,
        Some(s) => {
            match s.parse::<u64>() {
                Ok(secs) if secs > 0 => Duration::from_secs(secs),
                _ => {
                    eprintln!("standins: error: the argument is the time limit in whole seconds, not {s:?}");
                    std::process::exit(2);
                }
            }
        }
    };
    let cresta = MockCresta::start();
    let secrets = MockSecretsManager::start();
    for (k, v) in support::secret_env(&cresta, &secrets) {
        println!("{k}={v}");
    }
    println!("ready");

    // Whichever comes first: stdin closed, or the limit.
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(limit);
    println!(
        "requests: secrets={} token={} pstn={} handoff={}",
        secrets.requests().len(),
        cresta.requests(Route::Token).len(),
        cresta.requests(Route::Pstn).len(),
        cresta.requests(Route::Handoff).len()
    );
}
