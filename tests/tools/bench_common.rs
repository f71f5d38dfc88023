//! What the two benchmarks (`bench.rs` on loopback, `bench_net.rs` in
//! network mode) share: driving one invocation through the fake Runtime API,
//! samples and their percentiles, counts from the environment, and the way
//! they give up. Included by both with `#[path]`.

#![allow(dead_code)]

use crate::support::runtime_api::{FakeRuntime, Outcome};
use crate::support::RuntimeProcess;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// Lambda's budget for each event given by the fake Runtime API.
pub const EVENT_BUDGET: Duration = Duration::from_secs(8);
/// How long one outcome may take before the bench gives up.
pub const WAIT: Duration = Duration::from_secs(15);

/// Stops the bench with an error line.
pub fn fatal(msg: &str) -> ! {
    eprintln!("bench: error: {msg}");
    std::process::exit(1);
}

/// Pushes one event and waits for its outcome, which must be a success.
pub fn invoke(
    runtime: &FakeRuntime,
    done: usize,
    event: &str,
    proc: &mut Option<RuntimeProcess>,
) -> Outcome {
    runtime.push(event, EVENT_BUDGET);
    let outcomes = runtime.wait_outcomes(done + 1, WAIT);
    match outcomes.get(done) {
        Some(o) if o.ok => o.clone(),
        other => {
            let log = proc.take().map(RuntimeProcess::finish).unwrap_or_default();
            fatal(&format!(
                "invocation {} failed ({:?}); the process logged:\n{log}",
                done + 1,
                other.map(|o| String::from_utf8_lossy(&o.body).into_owned())
            ))
        }
    }
}

/// From the fake Runtime API handing out the event to its outcome post.
pub fn served_to_posted(o: &Outcome) -> Duration {
    o.at - o.served_at.unwrap_or(o.at)
}

/// Durations, kept in seconds.
#[derive(Default, Clone)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.0.push(d.as_secs_f64());
    }

    /// Nearest-rank percentile, in milliseconds.
    pub fn pct_ms(&self, p: f64) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        v[rank.min(v.len()) - 1] * 1e3
    }

    /// Every sample in microseconds (one decimal), for `samples.json`.
    pub fn json_us(&self) -> Value {
        json!(self
            .0
            .iter()
            .map(|s| (s * 1e7).round() / 10.0)
            .collect::<Vec<_>>())
    }
}

/// A positive count from the environment, or `default` when unset.
pub fn count_env(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| fatal(&format!("{var}={v:?} is not a positive count"))),
        Err(_) => default,
    }
}

/// Where the bench writes (`BENCH_OUT_DIR`, default `target/bench`).
pub fn out_dir() -> PathBuf {
    PathBuf::from(std::env::var("BENCH_OUT_DIR").unwrap_or("target/bench".into()))
}

/// The function (`BOOTSTRAP_BIN`) and the floor (`FLOOR_BIN`), which must
/// both have been built.
pub fn binaries() -> (PathBuf, PathBuf) {
    let floor =
        PathBuf::from(std::env::var("FLOOR_BIN").unwrap_or("target/release/examples/floor".into()));
    let function = crate::support::bootstrap_path();
    for p in [&function, &floor] {
        if !p.is_file() {
            fatal(&format!(
                "{} not found; build it first (scripts/bench.sh does)",
                p.display()
            ));
        }
    }
    (function, floor)
}
