//! The benchmark (issue 7): cold start, first invocation, warm path and
//! memory of the real `bootstrap` under the fake Lambda Runtime API, against
//! the local Cresta stand-in and the mock Secrets Manager, next to a floor
//! (`tests/tools/floor.rs`, a runtime that only answers `{}`) measured in the
//! same run, plus the binary/zip sizes and dependency count that
//! `scripts/bench.sh` measures and passes in. Prints a markdown table with a
//! PASS/FAIL/SKIP per budget and writes it, with JSON, under `target/bench/`.
//! Exit status: 0 when every budget passes, 1 otherwise.
//!
//! Run it with `./scripts/bench.sh` (see its `--help` for the environment).

#[path = "bench_common.rs"]
mod bench_common;
#[path = "../support/mod.rs"]
mod support;

use bench_common::{count_env, fatal, invoke, served_to_posted, Samples, EVENT_BUDGET, WAIT};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use support::cresta::{MockCresta, Route, API_KEY};
use support::runtime_api::FakeRuntime;
use support::secrets_manager::MockSecretsManager;
use support::RuntimeProcess;

/// Warm invocations run and discarded before the measured ones.
const WARMUP: usize = 20;

// Budgets (decimal units: 1 MB = 1,000,000 bytes, 1 KB = 1,000 bytes).
// The arm64 sizes are a no-growth guard at the sizes measured when TLS
// trust, proxies and the secret cache went in: growth must be a decision.
const BUDGET_ARM64_BIN: u64 = 1_660_000;
const BUDGET_ARM64_ZIP: u64 = 960_000;
const BUDGET_CRATES: u64 = 75;
const BUDGET_INIT_ABOVE_FLOOR_MS: f64 = 1.0;
const BUDGET_WARM_OVERHEAD_MS: f64 = 0.3;
const BUDGET_RSS: u64 = 8_000_000;

/// One of the two programs under test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Program {
    Function,
    Floor,
}

/// The mocks and how each program is started.
struct Setup {
    cresta: MockCresta,
    function: PathBuf,
    floor: PathBuf,
    function_env: Vec<(String, String)>,
    event: String,
}

impl Setup {
    fn path(&self, p: Program) -> &Path {
        match p {
            Program::Function => &self.function,
            Program::Floor => &self.floor,
        }
    }

    fn env(&self, p: Program) -> &[(String, String)] {
        match p {
            Program::Function => &self.function_env,
            Program::Floor => &[],
        }
    }

    fn spawn(&self, p: Program, runtime: &FakeRuntime) -> RuntimeProcess {
        RuntimeProcess::spawn_program(self.path(p), &runtime.address(), self.env(p))
    }
}

/// One cold start: a new process under a new fake Runtime API with one event
/// queued. Returns (spawn -> first `/next`, `served_at` -> outcome `at`).
fn cold_start(setup: &Setup, p: Program) -> (Duration, Duration) {
    let runtime = FakeRuntime::start();
    let mut proc = Some(setup.spawn(p, &runtime));
    let outcome = invoke(&runtime, 0, &setup.event, &mut proc);
    let spawned_at = proc.as_ref().unwrap().spawned_at;
    let first_next = runtime.next_calls()[0];
    drop(proc.take().map(RuntimeProcess::finish));
    (first_next - spawned_at, served_to_posted(&outcome))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Status {
    Pass,
    Fail,
    Skip,
    Info,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Info => "",
        }
    }
}

/// One row of the table.
struct Row {
    id: &'static str,
    figure: String,
    value: Option<f64>,
    unit: &'static str,
    shown: String,
    budget: String,
    status: Status,
}

struct Table(Vec<Row>);

impl Table {
    fn info(
        &mut self,
        id: &'static str,
        figure: &str,
        value: f64,
        unit: &'static str,
        shown: String,
    ) {
        self.0.push(Row {
            id,
            figure: figure.into(),
            value: Some(value),
            unit,
            shown,
            budget: String::new(),
            status: Status::Info,
        });
    }

    /// A row whose value (when measured) must be at most `limit`.
    #[allow(clippy::too_many_arguments)]
    fn budget(
        &mut self,
        id: &'static str,
        figure: &str,
        value: Result<f64, String>,
        unit: &'static str,
        show: impl Fn(f64) -> String,
        limit: f64,
        budget: String,
    ) {
        let (value, shown, status) = match value {
            Ok(v) => (
                Some(v),
                show(v),
                if v <= limit {
                    Status::Pass
                } else {
                    Status::Fail
                },
            ),
            Err(why) => (None, format!("n/a ({why})"), Status::Skip),
        };
        self.0.push(Row {
            id,
            figure: figure.into(),
            value,
            unit,
            shown,
            budget,
            status,
        });
    }
}

fn mb(bytes: f64) -> String {
    format!("{:.3} MB ({} B)", bytes / 1e6, group(bytes as u64))
}

fn kb(bytes: f64) -> String {
    format!("{:.1} KB ({} B)", bytes / 1e3, group(bytes as u64))
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(v: f64) -> String {
    format!("{v:.3} ms")
}

/// A number passed in by bench.sh, or why there is none.
fn given(var: &str) -> Result<f64, String> {
    match std::env::var(var) {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) => Ok(n as f64),
            Err(_) => Err(v
                .trim()
                .trim_start_matches("n/a")
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_string()),
        },
        Err(_) => Err(format!("{var} not set; run scripts/bench.sh")),
    }
}

/// `YYYY-MM-DD HH:MM:SS UTC` for now (from the function's own log clock).
fn utc_now() -> String {
    let t = connect_pstn_transfer::log::rfc3339_now();
    format!("{} {} UTC", &t[..10], &t[11..19])
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn commit() -> String {
    if let Ok(c) = std::env::var("BENCH_COMMIT") {
        return c;
    }
    match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c} (with uncommitted changes)")
            } else {
                c
            }
        }
        None => "unknown".into(),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

const DEFINITIONS: &[&str] = &[
    "**stripped binary**: size in bytes of `bootstrap` after `strip` (the release profile already strips); **zip**: size of the deployable zip written by `scripts/build.sh` (bootstrap alone, deflate level 9). 1 MB = 1,000,000 B, 1 KB = 1,000 B.",
    "**crates**: distinct `name version` lines of `cargo tree -e normal --prefix none --no-dedupe` (host target), our own crate excluded.",
    "**init**: from just before the bench spawns a new process to the arrival of that process's first `GET /invocation/next` at the fake Runtime API (exec, dynamic loading, settings, HTTP agent, first connect). One cold start = one new process; function and floor cold starts alternate.",
    "**init above floor** = function init median - floor init median.",
    "**first invocation**: in each cold start, from the fake Runtime API handing out the event (`served_at`) to its outcome post being read (`at`). For the function, with OAuth via `oauthSecretArn` and a complete configuration in the environment: the init prefetch (src/prefetch.rs) has already fetched the secret and the token and opened the API connection before the first `GET /next` (that work is in **init**), so this is the PSTN API call alone, on the pre-opened connection.",
    "**warm**: `served_at` -> `at` of each invocation of one long-lived process, after the warm-up invocations (the first one cold); the function's secret and token are cached, so each is one PSTN API call with a Bearer token. Function, floor and bare round trip invocations are interleaved one by one, so machine noise hits all three alike.",
    "**bare HTTP round trip**: the bench itself POSTing the function's own PSTN request body to the Cresta stand-in's `:generatePSTNTransferData` endpoint with the API key, on a keep-alive `ureq` agent, timed around the call and the body read.",
    "**warm overhead** = function warm p50 - floor warm p50 (the budgeted figure: everything the function does per event beyond what any runtime must, its Cresta call included); **own work excluding the Cresta call** = warm overhead - bare round trip p50 (an estimate: the bare round trip is timed on the client side).",
    "**peak RSS**: `VmHWM` of /proc/PID/status (kB = 1,024 B) after the warm invocations.",
    "Percentiles are nearest-rank (p50 = median = the ceil(n/2)-th smallest). The fake Runtime API's own cost is inside every init, first-invocation and warm figure, for the floor as for the function; the differences remove it.",
];

fn main() -> ExitCode {
    if std::env::args()
        .nth(1)
        .is_some_and(|a| a == "--help" || a == "-h")
    {
        println!(
            "bench: run through scripts/bench.sh (see its --help). Environment: BOOTSTRAP_BIN, FLOOR_BIN, \
             BENCH_COLD_RUNS (100), BENCH_WARM_RUNS (1000), BENCH_OUT_DIR (target/bench), BENCH_COMMIT, \
             BENCH_{{X86_64,ARM64}}_{{BIN,ZIP}}_BYTES and BENCH_CRATES (numbers, or 'n/a (why)')."
        );
        return ExitCode::SUCCESS;
    }
    let cold_runs = count_env("BENCH_COLD_RUNS", 100);
    let warm_runs = count_env("BENCH_WARM_RUNS", 1000);
    let out_dir = bench_common::out_dir();
    let (function, floor) = bench_common::binaries();

    let cresta = MockCresta::start();
    let secrets = MockSecretsManager::start();
    let function_env = support::secret_env(&cresta, &secrets);
    let setup = Setup {
        cresta,
        function,
        floor,
        function_env,
        event: support::event(&[("action", "get_pstn_transfer_data")]),
    };
    let date = utc_now();
    eprintln!(
        "bench: {cold_runs} cold starts each, then {warm_runs} warm invocations each (function: {}, floor: {})",
        setup.function.display(),
        setup.floor.display()
    );

    // Cold starts, function and floor alternating (and which goes first too).
    let (mut init_fn, mut init_floor) = (Samples::default(), Samples::default());
    let (mut first_fn, mut first_floor) = (Samples::default(), Samples::default());
    for round in 0..cold_runs {
        let order = if round % 2 == 0 {
            [Program::Function, Program::Floor]
        } else {
            [Program::Floor, Program::Function]
        };
        for p in order {
            let (init, first) = cold_start(&setup, p);
            match p {
                Program::Function => {
                    init_fn.push(init);
                    first_fn.push(first);
                }
                Program::Floor => {
                    init_floor.push(init);
                    first_floor.push(first);
                }
            }
        }
    }

    // Warm: one process of each, interleaved one event at a time with a bare
    // round trip to the stand-in.
    let rt_fn = FakeRuntime::start();
    let rt_floor = FakeRuntime::start();
    let mut proc_fn = Some(setup.spawn(Program::Function, &rt_fn));
    let mut proc_floor = Some(setup.spawn(Program::Floor, &rt_floor));
    for i in 0..WARMUP {
        invoke(&rt_fn, i, &setup.event, &mut proc_fn);
        invoke(&rt_floor, i, &setup.event, &mut proc_floor);
    }
    let pstn = setup.cresta.requests(Route::Pstn);
    let Some(sample) = pstn.last() else {
        fatal("the function made no PSTN request during the warm-up")
    };
    let pstn_url = format!("{}{}", setup.cresta.url(), sample.path);
    let pstn_body = sample.body.clone();
    setup.cresta.server.clear();
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build(),
    );
    let bare = || -> Duration {
        let start = Instant::now();
        let resp = agent
            .post(&pstn_url)
            .header("Content-Type", "application/json")
            .header("Authorization", &format!("ApiKey {API_KEY}"))
            .send(&pstn_body[..]);
        match resp {
            Ok(mut r) if r.status() == 200 => {
                let body = r.body_mut().read_to_vec();
                let took = start.elapsed();
                if body.is_err() {
                    fatal("bare round trip: reading the answer failed");
                }
                took
            }
            Ok(r) => fatal(&format!("bare round trip answered {}", r.status())),
            Err(e) => fatal(&format!("bare round trip failed: {e}")),
        }
    };
    for _ in 0..WARMUP {
        bare();
    }
    let (mut warm_fn, mut warm_floor, mut warm_bare) =
        (Samples::default(), Samples::default(), Samples::default());
    for i in WARMUP..WARMUP + warm_runs {
        warm_fn.push(served_to_posted(&invoke(
            &rt_fn,
            i,
            &setup.event,
            &mut proc_fn,
        )));
        warm_floor.push(served_to_posted(&invoke(
            &rt_floor,
            i,
            &setup.event,
            &mut proc_floor,
        )));
        warm_bare.push(bare());
    }
    let token_calls = setup.cresta.requests(Route::Token).len();
    let rss = |p: &Option<RuntimeProcess>| {
        p.as_ref()
            .and_then(|p| p.status_kb("VmHWM"))
            .unwrap_or_else(|| fatal("cannot read VmHWM"))
    };
    let (hwm_fn, hwm_floor) = (rss(&proc_fn), rss(&proc_floor));
    let log_fn = proc_fn
        .take()
        .map(RuntimeProcess::finish)
        .unwrap_or_default();
    drop(proc_floor.take().map(RuntimeProcess::finish));
    if token_calls != 0 {
        eprintln!("bench: warning: the warm function requested {token_calls} token(s); the cache was not used");
    }

    // The table.
    let mut t = Table(Vec::new());
    t.info(
        "x86_64_binary_bytes",
        "stripped binary, x86_64",
        given("BENCH_X86_64_BIN_BYTES").unwrap_or(f64::NAN),
        "bytes",
        given("BENCH_X86_64_BIN_BYTES").map_or_else(|e| format!("n/a ({e})"), mb),
    );
    t.info(
        "x86_64_zip_bytes",
        "zip, x86_64",
        given("BENCH_X86_64_ZIP_BYTES").unwrap_or(f64::NAN),
        "bytes",
        given("BENCH_X86_64_ZIP_BYTES").map_or_else(|e| format!("n/a ({e})"), kb),
    );
    t.budget(
        "arm64_binary_bytes",
        "stripped binary, arm64",
        given("BENCH_ARM64_BIN_BYTES"),
        "bytes",
        mb,
        BUDGET_ARM64_BIN as f64,
        "<= 1.66 MB (no growth)".into(),
    );
    t.budget(
        "arm64_zip_bytes",
        "zip, arm64",
        given("BENCH_ARM64_ZIP_BYTES"),
        "bytes",
        kb,
        BUDGET_ARM64_ZIP as f64,
        "<= 960 KB (no growth)".into(),
    );
    t.budget(
        "crates",
        "crates in the normal dependency tree",
        given("BENCH_CRATES"),
        "crates",
        |v| format!("{v}"),
        BUDGET_CRATES as f64,
        format!("<= {BUDGET_CRATES}"),
    );
    let pair = |s: &Samples, a: f64, b: f64, la: &str, lb: &str| {
        format!("{la} {} / {lb} {}", ms(s.pct_ms(a)), ms(s.pct_ms(b)))
    };
    t.info(
        "init_function_median_ms",
        &format!("init, function ({} cold starts)", cold_runs),
        init_fn.pct_ms(50.0),
        "ms",
        pair(&init_fn, 50.0, 90.0, "median", "p90"),
    );
    t.info(
        "init_floor_median_ms",
        &format!("init, floor ({} cold starts)", cold_runs),
        init_floor.pct_ms(50.0),
        "ms",
        pair(&init_floor, 50.0, 90.0, "median", "p90"),
    );
    t.budget(
        "init_above_floor_ms",
        "init above floor (function median - floor median)",
        Ok(init_fn.pct_ms(50.0) - init_floor.pct_ms(50.0)),
        "ms",
        ms,
        BUDGET_INIT_ABOVE_FLOOR_MS,
        "<= 1 ms".into(),
    );
    t.info(
        "first_invocation_function_median_ms",
        "first invocation, function (API call; secret, token and connection prefetched at init)",
        first_fn.pct_ms(50.0),
        "ms",
        pair(&first_fn, 50.0, 90.0, "median", "p90"),
    );
    t.info(
        "first_invocation_floor_median_ms",
        "first invocation, floor",
        first_floor.pct_ms(50.0),
        "ms",
        pair(&first_floor, 50.0, 90.0, "median", "p90"),
    );
    t.info(
        "warm_function_p50_ms",
        &format!("warm invocation, function ({warm_runs} in one process)"),
        warm_fn.pct_ms(50.0),
        "ms",
        pair(&warm_fn, 50.0, 99.0, "p50", "p99"),
    );
    t.info(
        "warm_floor_p50_ms",
        &format!("warm invocation, floor ({warm_runs} in one process)"),
        warm_floor.pct_ms(50.0),
        "ms",
        pair(&warm_floor, 50.0, 99.0, "p50", "p99"),
    );
    t.info(
        "bare_round_trip_p50_ms",
        &format!("bare HTTP round trip to the stand-in ({warm_runs})"),
        warm_bare.pct_ms(50.0),
        "ms",
        pair(&warm_bare, 50.0, 99.0, "p50", "p99"),
    );
    let overhead = warm_fn.pct_ms(50.0) - warm_floor.pct_ms(50.0);
    t.budget(
        "warm_overhead_p50_ms",
        "warm overhead, p50 (function p50 - floor p50)",
        Ok(overhead),
        "ms",
        ms,
        BUDGET_WARM_OVERHEAD_MS,
        "<= 0.3 ms".into(),
    );
    t.info(
        "own_work_p50_ms",
        "own work excluding the Cresta call, p50 (overhead - bare p50)",
        overhead - warm_bare.pct_ms(50.0),
        "ms",
        ms(overhead - warm_bare.pct_ms(50.0)),
    );
    t.budget(
        "peak_rss_function_bytes",
        &format!(
            "peak RSS, function (VmHWM after {} invocations)",
            WARMUP + warm_runs
        ),
        Ok((hwm_fn * 1024) as f64),
        "bytes",
        |v| format!("{:.2} MB ({} kB)", v / 1e6, group(v as u64 / 1024)),
        BUDGET_RSS as f64,
        "<= 8 MB".into(),
    );
    t.info(
        "peak_rss_floor_bytes",
        &format!(
            "peak RSS, floor (VmHWM after {} invocations)",
            WARMUP + warm_runs
        ),
        (hwm_floor * 1024) as f64,
        "bytes",
        format!(
            "{:.2} MB ({} kB)",
            (hwm_floor * 1024) as f64 / 1e6,
            group(hwm_floor)
        ),
    );

    concurrency::measure(&mut t, &setup);

    let count = |s: Status| t.0.iter().filter(|r| r.status == s).count();
    let (pass, fail, skip) = (
        count(Status::Pass),
        count(Status::Fail),
        count(Status::Skip),
    );
    let machine = format!(
        "{} CPUs (nproc), {}, Linux {}; load average at the end {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let commit = commit();
    let mut md = String::new();
    md.push_str("# connect-pstn-transfer benchmark\n\n");
    md.push_str(&format!(
        "- date: {date}\n- machine: {machine}\n- commit: {commit}\n"
    ));
    md.push_str(&format!(
        "- function: `{}`; floor: `{}`\n- runs: {cold_runs} cold starts of each; {WARMUP} warm-up then {warm_runs} measured warm invocations of each\n\n",
        setup.function.display(),
        setup.floor.display()
    ));
    md.push_str("| figure | value | budget | result |\n|---|---|---|---|\n");
    for r in &t.0 {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            r.figure,
            r.shown,
            r.budget,
            r.status.as_str()
        ));
    }
    let verdict = if fail == 0 && skip == 0 {
        "all budgets pass".to_string()
    } else {
        format!("{fail} budget(s) FAIL, {skip} SKIP (not measured)")
    };
    md.push_str(&format!(
        "\n**{pass} PASS, {fail} FAIL, {skip} SKIP: {verdict}.**\n\n"
    ));
    md.push_str("Definitions:\n\n");
    for d in DEFINITIONS.iter().chain(concurrency::DEFINITIONS) {
        md.push_str(&format!("- {d}\n"));
    }

    let figures: Vec<Value> = t
        .0
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "figure": r.figure,
                "value": r.value.filter(|v| v.is_finite()),
                "unit": r.unit,
                "shown": r.shown,
                "budget": if r.budget.is_empty() { Value::Null } else { json!(r.budget) },
                "result": if r.status == Status::Info { Value::Null } else { json!(r.status.as_str()) },
            })
        })
        .collect();
    let stats = |s: &Samples| {
        json!({"n": s.0.len(), "p50_ms": s.pct_ms(50.0), "p90_ms": s.pct_ms(90.0), "p99_ms": s.pct_ms(99.0),
               "min_ms": s.pct_ms(0.0), "max_ms": s.pct_ms(100.0)})
    };
    let results = json!({
        "date": date,
        "machine": machine,
        "commit": commit,
        "function": setup.function.display().to_string(),
        "floor": setup.floor.display().to_string(),
        "cold_runs": cold_runs,
        "warm_runs": warm_runs,
        "warmup": WARMUP,
        "figures": figures,
        "summary": {
            "init_function": stats(&init_fn), "init_floor": stats(&init_floor),
            "first_function": stats(&first_fn), "first_floor": stats(&first_floor),
            "warm_function": stats(&warm_fn), "warm_floor": stats(&warm_floor), "warm_bare": stats(&warm_bare),
        },
        "pass": pass, "fail": fail, "skip": skip,
        "all_pass": fail == 0 && skip == 0,
        "definitions": DEFINITIONS.iter().chain(concurrency::DEFINITIONS).collect::<Vec<_>>(),
    });
    let samples = json!({
        "unit": "microseconds",
        "init_function": init_fn.json_us(), "init_floor": init_floor.json_us(),
        "first_function": first_fn.json_us(), "first_floor": first_floor.json_us(),
        "warm_function": warm_fn.json_us(), "warm_floor": warm_floor.json_us(), "warm_bare": warm_bare.json_us(),
    });
    let write = |name: &str, text: &str| {
        let path = out_dir.join(name);
        if let Err(e) = std::fs::create_dir_all(&out_dir).and_then(|_| std::fs::write(&path, text))
        {
            fatal(&format!("cannot write {}: {e}", path.display()));
        }
    };
    write("results.md", &md);
    write(
        "results.json",
        &format!("{}\n", serde_json::to_string_pretty(&results).unwrap()),
    );
    write("samples.json", &samples.to_string());
    write("function.log", &log_fn);
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{md}");
    let _ = writeln!(
        out,
        "\nWritten: {0}/results.md, {0}/results.json, {0}/samples.json (raw samples), {0}/function.log",
        out_dir.display()
    );
    if fail == 0 && skip == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Lambda Managed Instances (issue 14): throughput with 1, 4 and 16 workers
/// (`AWS_LAMBDA_MAX_CONCURRENCY`) against a stand-in that answers in 50 ms,
/// and the peak RSS of the 16-worker process under that load.
mod concurrency {
    use super::*;

    /// The stand-in's latency on every call (token and API).
    const LATENCY: Duration = Duration::from_millis(50);
    /// Worker counts measured; the first is the baseline.
    const WORKERS: [usize; 3] = [1, 4, 16];
    /// N=4 must serve at least this many times the invocations per second of N=1.
    const BUDGET_SPEEDUP_4: f64 = 3.5;
    /// Peak RSS of the 16-worker process under load.
    const BUDGET_RSS_16: u64 = 12 * 1024 * 1024;

    pub const DEFINITIONS: &[&str] = &[
        "**throughput, N workers**: one process with `AWS_LAMBDA_MAX_CONCURRENCY=N` (OAuth via `oauthSecretArn`) against a Cresta stand-in that answers every call 50 ms late. One warm-up wave of N events (secret, token and connections), then N x `BENCH_CONCURRENCY_WAVES` (default 40) events queued at once; invocations per second = events / (last outcome - queueing). **speed-up** = N=4 throughput / N=1 throughput.",
        "**peak RSS, 16 workers**: `VmHWM` (kB = 1,024 B; budget 12 MiB = 12,582,912 B) of the 16-worker process after its run.",
    ];

    impl Table {
        /// A row whose value must be at least `floor`.
        #[allow(clippy::too_many_arguments)]
        fn at_least(
            &mut self,
            id: &'static str,
            figure: &str,
            value: f64,
            unit: &'static str,
            shown: String,
            floor: f64,
            budget: String,
        ) {
            self.0.push(Row {
                id,
                figure: figure.into(),
                value: Some(value),
                unit,
                shown,
                budget,
                status: if value >= floor {
                    Status::Pass
                } else {
                    Status::Fail
                },
            });
        }
    }

    /// Invocations per second and VmHWM (kB) of one process with `workers`.
    fn run(setup: &Setup, workers: usize, waves: usize) -> (f64, u64) {
        let cresta = MockCresta::start();
        cresta.set_latency(LATENCY);
        let secrets = MockSecretsManager::start();
        let mut env = support::secret_env(&cresta, &secrets);
        env.push(("AWS_LAMBDA_MAX_CONCURRENCY".into(), workers.to_string()));
        let runtime = FakeRuntime::start();
        let mut proc = Some(RuntimeProcess::spawn_program(
            &setup.function,
            &runtime.address(),
            &env,
        ));
        let mut check = |n: usize| {
            let outcomes = runtime.wait_outcomes(n, WAIT * 4);
            if outcomes.len() < n || !outcomes.iter().all(|o| o.ok) {
                let log = proc.take().map(RuntimeProcess::finish).unwrap_or_default();
                fatal(&format!(
                    "{workers} workers: {} of {n} invocations answered, some failed? the process logged:\n{log}",
                    outcomes.len()
                ));
            }
            outcomes
        };
        for _ in 0..workers {
            runtime.push(&setup.event, EVENT_BUDGET);
        }
        check(workers);
        let events = workers * waves;
        let queued = Instant::now();
        for _ in 0..events {
            runtime.push(&setup.event, EVENT_BUDGET);
        }
        let outcomes = check(workers + events);
        let last = outcomes[workers..].iter().map(|o| o.at).max().unwrap();
        let ips = events as f64 / (last - queued).as_secs_f64();
        let hwm = proc
            .as_ref()
            .and_then(|p| p.status_kb("VmHWM"))
            .unwrap_or_else(|| fatal("cannot read VmHWM"));
        drop(proc.take().map(RuntimeProcess::finish));
        if cresta.requests(Route::Token).len() != 1 || secrets.requests().len() != 1 {
            eprintln!(
                "bench: warning: {workers} workers made {} token and {} secret requests (expected one each)",
                cresta.requests(Route::Token).len(),
                secrets.requests().len()
            );
        }
        (ips, hwm)
    }

    /// Adds the section's rows to the table.
    pub fn measure(t: &mut Table, setup: &Setup) {
        let waves = count_env("BENCH_CONCURRENCY_WAVES", 40);
        eprintln!("bench: concurrency: {WORKERS:?} workers, {waves} waves each, stand-in latency {LATENCY:?}");
        let mut ips = Vec::new();
        let mut hwm_16 = 0;
        for n in WORKERS {
            let (v, hwm) = run(setup, n, waves);
            ips.push(v);
            if n == 16 {
                hwm_16 = hwm;
            }
        }
        for (n, v) in WORKERS.iter().zip(&ips) {
            let id = match n {
                1 => "throughput_1_worker_ips",
                4 => "throughput_4_workers_ips",
                _ => "throughput_16_workers_ips",
            };
            t.info(
                id,
                &format!(
                    "throughput, {n} worker(s), 50 ms stand-in ({} events)",
                    n * waves
                ),
                *v,
                "invocations/s",
                format!("{v:.1} invocations/s"),
            );
        }
        let speedup = ips[1] / ips[0];
        t.at_least(
            "speedup_4_workers",
            "speed-up, 4 workers over 1 (throughput ratio)",
            speedup,
            "ratio",
            format!("{speedup:.2}x"),
            BUDGET_SPEEDUP_4,
            format!(">= {BUDGET_SPEEDUP_4}x"),
        );
        t.budget(
            "peak_rss_16_workers_bytes",
            "peak RSS, 16 workers under load (VmHWM)",
            Ok((hwm_16 * 1024) as f64),
            "bytes",
            |v| {
                format!(
                    "{:.2} MiB ({} kB)",
                    v / 1024.0 / 1024.0,
                    group(v as u64 / 1024)
                )
            },
            BUDGET_RSS_16 as f64,
            "<= 12 MiB".into(),
        );
    }
}
