//! The network-mode benchmark (issue 13): the same real `bootstrap` and
//! floor as `tests/tools/bench.rs`, but each stand-in sits behind a
//! round-trip emulator (`tests/support/latency.rs`): Cresta's token host and
//! API host on two ports 40 ms away, Secrets Manager 4 ms away, the Runtime
//! API local as in Lambda. Figures in milliseconds and in Cresta round trips:
//! the cold first answer, the first answer after a prefetching init, the warm
//! answer right after, and after 20 s and 60 s of idle.
//!
//! Two transports, each with its own table: plain HTTP, then TLS (as in
//! production). Over TLS the stand-ins present a leaf of a CA made at run
//! time (`tests/support/tls.rs`, nothing committed), valid for 127.0.0.1, and
//! the function trusts it through `SSL_CERT_FILE`; the emulator is byte-level,
//! so the handshake pays its real round trips. The idle rows (80 s of waiting)
//! run in the TLS mode only. `BENCH_NET_TLS=1` runs TLS alone (with the idle
//! rows), `BENCH_NET_TLS=0` plain HTTP alone (with them).
//!
//! Prints markdown tables with PASS/FAIL per budget and writes them, with
//! JSON, under `target/bench/` (network.md, network.json). Exit status: 0
//! when every budget passes, 1 otherwise. Run it with `./scripts/bench.sh`.

#[path = "bench_common.rs"]
mod bench_common;
#[path = "../support/mod.rs"]
mod support;

use bench_common::{count_env, fatal, invoke, served_to_posted, Samples, EVENT_BUDGET, WAIT};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use support::cresta::{MockCresta, Route, VIRTUAL_AGENT};
use support::latency::Latency;
use support::runtime_api::{FakeRuntime, Outcome};
use support::secrets_manager::MockSecretsManager;
use support::tls::{Leaf, TestPki};
use support::RuntimeProcess;

/// Round trip to Cresta's hosts (token and API), the unit of the table.
const CRESTA_RTT: Duration = Duration::from_millis(40);
/// Round trip to Secrets Manager (a regional AWS endpoint).
const SECRETS_RTT: Duration = Duration::from_millis(4);
/// How long after start the event of a prefetching init is queued.
const PREFETCH_DELAY: Duration = Duration::from_secs(2);
/// The two idle gaps measured.
const IDLE_GAPS: [Duration; 2] = [Duration::from_secs(20), Duration::from_secs(60)];
/// Warm events measured right after the first one, per process.
const WARM_AFTER: usize = 10;

// Budgets, in Cresta round trips plus a fixed allowance. A TLS 1.3
// handshake adds one round trip to the cold path (connections opened in
// parallel: TCP, TLS, then the token request, then the API call).
const BUDGET_COLD_PLAIN: (f64, f64) = (3.0, 15.0);
const BUDGET_COLD_TLS: (f64, f64) = (4.0, 15.0);
const BUDGET_PREFETCHED: (f64, f64) = (1.0, 5.0);
const BUDGET_IDLE_60: (f64, f64) = (1.0, 2.0);

/// Where the configuration lives, which decides whether init prefetches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Config {
    /// All of it in the environment: init prefetches (SPEC section 9).
    Environment,
    /// `virtualAgentName` in the event's Parameters: the environment alone is
    /// not a complete configuration, so the invocation opens its connections.
    Event,
}

/// The stand-ins, each behind its emulated network.
struct Net {
    cresta: MockCresta,
    api: Latency,
    token: Latency,
    secrets: Latency,
    function: PathBuf,
    floor: PathBuf,
    /// The CA file the function trusts (`SSL_CERT_FILE`) when the stand-ins
    /// speak TLS; `None` for plain HTTP.
    ca: Option<PathBuf>,
}

impl Net {
    /// The stand-ins over plain HTTP, or over TLS with a leaf of `pki`
    /// (valid for 127.0.0.1: the URLs are IP literals, nothing to resolve).
    /// The emulator is byte-level: only the URLs and the trust roots change.
    fn start(function: PathBuf, floor: PathBuf, pki: Option<&TestPki>) -> Net {
        // The mocks' servers live until the process exits.
        let (cresta, sm, ca) = match pki {
            None => (MockCresta::start(), MockSecretsManager::start(), None),
            Some(pki) => {
                let config = pki.server_config(Leaf::Good);
                (
                    MockCresta::start_tls(config.clone()),
                    MockSecretsManager::start_tls(config),
                    Some(pki.ca_file()),
                )
            }
        };
        Net {
            api: Latency::start(cresta.server.addr, CRESTA_RTT),
            token: Latency::start(cresta.server.addr, CRESTA_RTT),
            secrets: Latency::start(sm.server.addr, SECRETS_RTT),
            cresta,
            function,
            floor,
            ca,
        }
    }

    fn tls(&self) -> bool {
        self.ca.is_some()
    }

    fn transport(&self) -> &'static str {
        if self.tls() {
            "TLS"
        } else {
            "plain HTTP"
        }
    }

    /// The base URL of an emulated host: the emulator's address, the
    /// stand-ins' scheme. The environment's apiDomain/authDomain, so the
    /// credential fence (src/fence.rs) lets the credentials go there.
    fn url(&self, host: &Latency) -> String {
        let scheme = if self.tls() { "https" } else { "http" };
        format!("{scheme}://{}", host.addr)
    }

    fn env(&self, config: Config) -> Vec<(String, String)> {
        let mut env = support::env(&[
            ("region", "us-west-2-prod"),
            ("apiDomain", &self.url(&self.api)),
            ("authDomain", &self.url(&self.token)),
            ("oauthSecretArn", support::secrets_manager::SECRET_ARN),
            ("AWS_ACCESS_KEY_ID", support::secrets_manager::ACCESS_KEY_ID),
            (
                "AWS_SECRET_ACCESS_KEY",
                support::secrets_manager::SECRET_ACCESS_KEY,
            ),
            ("AWS_SESSION_TOKEN", support::secrets_manager::SESSION_TOKEN),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.url(&self.secrets)),
        ]);
        if let Some(ca) = &self.ca {
            env.push(("SSL_CERT_FILE".into(), ca.display().to_string()));
        }
        if config == Config::Environment {
            env.push(("virtualAgentName".into(), VIRTUAL_AGENT.into()));
        }
        env
    }

    fn event(config: Config) -> String {
        match config {
            Config::Environment => support::event(&[("action", "get_pstn_transfer_data")]),
            Config::Event => support::event(&[
                ("action", "get_pstn_transfer_data"),
                ("virtualAgentName", VIRTUAL_AGENT),
            ]),
        }
    }

    fn spawn_function(&self, runtime: &FakeRuntime, config: Config) -> RuntimeProcess {
        RuntimeProcess::spawn_program(&self.function, &runtime.address(), &self.env(config))
    }

    fn spawn_floor(&self, runtime: &FakeRuntime) -> RuntimeProcess {
        RuntimeProcess::spawn_program(&self.floor, &runtime.address(), &[])
    }

    fn token_requests(&self) -> usize {
        self.cresta.requests(Route::Token).len()
    }
}

fn rtts(ms: f64) -> f64 {
    ms / (CRESTA_RTT.as_secs_f64() * 1e3)
}

/// One row of the table.
struct Row {
    id: String,
    figure: String,
    samples: Samples,
    budget: Option<(f64, f64)>,
}

impl Row {
    fn median(&self) -> f64 {
        self.samples.pct_ms(50.0)
    }

    fn limit_ms(&self) -> Option<f64> {
        self.budget
            .map(|(n, extra)| n * CRESTA_RTT.as_secs_f64() * 1e3 + extra)
    }

    fn passes(&self) -> Option<bool> {
        self.limit_ms().map(|l| self.median() <= l)
    }

    fn shown(&self) -> String {
        let s = &self.samples;
        format!(
            "median {:.1} ms / p90 {:.1} ms (n={})",
            s.pct_ms(50.0),
            s.pct_ms(90.0),
            s.0.len()
        )
    }
}

/// How many runs of each kind.
struct Counts {
    cold: usize,
    prefetch: usize,
    idle: usize,
}

/// The figures of one transport.
struct Measured {
    net_tls: bool,
    transport: &'static str,
    rows: Vec<Row>,
    /// Token requests made by the events after a prefetching init.
    fetched_during: usize,
    /// New API connections across the idle gaps, when they were measured.
    new_api_connections: Option<usize>,
}

fn main() -> ExitCode {
    if std::env::args()
        .nth(1)
        .is_some_and(|a| a == "--help" || a == "-h")
    {
        println!(
            "bench_net: run through scripts/bench.sh (see its --help). Environment: BOOTSTRAP_BIN, FLOOR_BIN, \
             BENCH_NET_COLD_RUNS (10), BENCH_NET_PREFETCH_RUNS (5), BENCH_NET_IDLE_RUNS (3), BENCH_OUT_DIR (target/bench), \
             BENCH_NET_TLS (unset: plain HTTP then TLS, idle rows over TLS only; 1: TLS only; 0: plain HTTP only)."
        );
        return ExitCode::SUCCESS;
    }
    let counts = Counts {
        cold: count_env("BENCH_NET_COLD_RUNS", 10),
        prefetch: count_env("BENCH_NET_PREFETCH_RUNS", 5),
        idle: count_env("BENCH_NET_IDLE_RUNS", 3),
    };
    let out_dir = bench_common::out_dir();
    let (function, floor) = bench_common::binaries();
    // Which transports run; the idle rows run in the last one only.
    let modes: &[bool] = match std::env::var("BENCH_NET_TLS").as_deref() {
        Err(_) | Ok("") => &[false, true],
        Ok("1") => &[true],
        Ok("0") => &[false],
        Ok(v) => fatal(&format!(
            "BENCH_NET_TLS={v:?}: expected 1 (TLS only), 0 (plain HTTP only) or unset (both)"
        )),
    };
    // One CA for the run, made now: its file lives in the temp directory.
    let pki = TestPki::new("bench_net test CA");
    let mut measured = Vec::new();
    for (i, &tls) in modes.iter().enumerate() {
        let net = Net::start(function.clone(), floor.clone(), tls.then_some(&pki));
        let idle = i + 1 == modes.len();
        eprintln!(
            "bench_net: {}: Cresta {} ms away (token and API hosts), Secrets Manager {} ms away; \
             {} cold starts of each kind, {} prefetching inits{}",
            net.transport(),
            CRESTA_RTT.as_millis(),
            SECRETS_RTT.as_millis(),
            counts.cold,
            counts.prefetch,
            if idle {
                format!(
                    ", {} idle runs (~{} s)",
                    counts.idle,
                    IDLE_GAPS.iter().map(Duration::as_secs).sum::<u64>() + 5
                )
            } else {
                String::new()
            }
        );
        measured.push(measure(&net, &counts, idle));
    }
    report(&measured, &counts, &out_dir)
}

/// Every figure of one transport; the idle gaps only when `idle`.
fn measure(net: &Net, counts: &Counts, idle: bool) -> Measured {
    let budget_cold = if net.tls() {
        BUDGET_COLD_TLS
    } else {
        BUDGET_COLD_PLAIN
    };
    // Cold starts: the event is queued before the process starts.
    let (mut cold_event, mut cold_env, mut cold_floor) =
        (Samples::default(), Samples::default(), Samples::default());
    for _ in 0..counts.cold {
        for config in [Config::Event, Config::Environment] {
            let runtime = FakeRuntime::start();
            runtime.push(&Net::event(config), EVENT_BUDGET);
            let mut proc = Some(net.spawn_function(&runtime, config));
            let outcome = wait_first(&runtime, &mut proc);
            let took = outcome.at - proc.as_ref().unwrap().spawned_at;
            match config {
                Config::Event => cold_event.push(took),
                Config::Environment => cold_env.push(took),
            }
            drop(proc.take().map(RuntimeProcess::finish));
        }
        let runtime = FakeRuntime::start();
        runtime.push(&Net::event(Config::Event), EVENT_BUDGET);
        let mut proc = Some(net.spawn_floor(&runtime));
        let outcome = wait_first(&runtime, &mut proc);
        cold_floor.push(outcome.at - proc.as_ref().unwrap().spawned_at);
        drop(proc.take().map(RuntimeProcess::finish));
    }

    // After each wait, a bare request on a kept-alive connection through the
    // API host's emulator goes first: it wakes the bench's own threads (the
    // emulator's, the stand-ins') so their wake-up is not charged to the
    // function, and shows what the machine costs after idle. It is the
    // bench's own probe, not the function: over TLS it skips verification.
    let bare_agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_idle_age(Duration::from_secs(600))
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            )
            .build(),
    );
    let bare_url = format!("{}/bare", net.url(&net.api));
    let bare = || {
        let start = std::time::Instant::now();
        match bare_agent
            .post(&bare_url)
            .header("Content-Type", "application/json")
            .send(&b"{}"[..])
            .and_then(|mut r| r.body_mut().read_to_vec())
        {
            Ok(_) => start.elapsed(),
            Err(e) => fatal(&format!("bare request through the emulator failed: {e}")),
        }
    };
    bare();

    // Prefetching inits: the event arrives 2 s after the start.
    let mut prefetched = Samples::default();
    let mut fetched_during = 0;
    for _ in 0..counts.prefetch {
        let runtime = FakeRuntime::start();
        let mut proc = Some(net.spawn_function(&runtime, Config::Environment));
        std::thread::sleep(PREFETCH_DELAY);
        bare();
        let tokens_before = net.token_requests();
        let o = invoke(&runtime, 0, &Net::event(Config::Environment), &mut proc);
        fetched_during += net.token_requests() - tokens_before;
        prefetched.push(served_to_posted(&o));
        drop(proc.take().map(RuntimeProcess::finish));
    }

    // Warm: processes side by side, each warm; then (idle mode) idle 20 s,
    // then 60 s.
    let mut warm = Samples::default();
    let mut warm_floor = Samples::default();
    let event = Net::event(Config::Environment);
    let mut procs: Vec<(FakeRuntime, Option<RuntimeProcess>, usize)> = (0..counts.idle)
        .map(|_| {
            let runtime = FakeRuntime::start();
            let proc = Some(net.spawn_function(&runtime, Config::Environment));
            (runtime, proc, 0)
        })
        .collect();
    let floor_rt = FakeRuntime::start();
    let mut floor_proc = Some(net.spawn_floor(&floor_rt));
    for i in 0..=WARM_AFTER {
        for (runtime, proc, done) in &mut procs {
            let o = invoke(runtime, *done, &event, proc);
            *done += 1;
            if i > 0 {
                warm.push(served_to_posted(&o));
            }
        }
        let o = invoke(&floor_rt, i, &event, &mut floor_proc);
        if i > 0 {
            warm_floor.push(served_to_posted(&o));
        }
    }
    let gaps: &[Duration] = if idle { &IDLE_GAPS } else { &[] };
    let mut after_idle: Vec<Samples> = gaps.iter().map(|_| Samples::default()).collect();
    let mut bare_idle: Vec<Samples> = gaps.iter().map(|_| Samples::default()).collect();
    let mut floor_idle: Vec<Samples> = gaps.iter().map(|_| Samples::default()).collect();
    let connections_before = net.api.connections();
    for (i, gap) in gaps.iter().enumerate() {
        std::thread::sleep(*gap);
        bare_idle[i].push(bare());
        let o = invoke(&floor_rt, WARM_AFTER + 1 + i, &event, &mut floor_proc);
        floor_idle[i].push(served_to_posted(&o));
        for (runtime, proc, done) in &mut procs {
            let o = invoke(runtime, *done, &event, proc);
            *done += 1;
            after_idle[i].push(served_to_posted(&o));
        }
    }
    let new_api_connections = idle.then(|| net.api.connections() - connections_before);
    drop(floor_proc.take().map(RuntimeProcess::finish));
    for (_, proc, _) in &mut procs {
        drop(proc.take().map(RuntimeProcess::finish));
    }

    let mut rows = vec![
        Row {
            id: "cold_first_answer_event_config".into(),
            figure: "cold first answer, spawn to response (configuration partly in the event: the invocation opens its connections)".into(),
            samples: cold_event,
            budget: Some(budget_cold),
        },
        Row {
            id: "cold_first_answer_env_config".into(),
            figure: "cold first answer, spawn to response (configuration in the environment: init prefetches, the event is already waiting)".into(),
            samples: cold_env,
            budget: Some(budget_cold),
        },
        Row {
            id: "cold_first_answer_floor".into(),
            figure: "cold first answer, floor (no upstream round trips)".into(),
            samples: cold_floor,
            budget: None,
        },
        Row {
            id: "first_answer_after_prefetch".into(),
            figure: format!("first answer after a prefetching init (event queued {} s after start)", PREFETCH_DELAY.as_secs()),
            samples: prefetched,
            budget: Some(BUDGET_PREFETCHED),
        },
        Row {
            id: "warm_answer".into(),
            figure: "warm answer right after".into(),
            samples: warm,
            budget: None,
        },
        Row {
            id: "warm_answer_floor".into(),
            figure: "warm answer, floor".into(),
            samples: warm_floor,
            budget: None,
        },
    ];
    for ((gap, samples), (bare, floor)) in gaps
        .iter()
        .zip(after_idle)
        .zip(bare_idle.into_iter().zip(floor_idle))
    {
        let secs = gap.as_secs();
        let rows_after_idle = [
            ("bare_round_trip", format!("bare request through the emulator after {secs} s idle (kept-alive connection, measured first)"), bare, None),
            ("floor_answer", format!("floor answer after {secs} s idle"), floor, None),
            ("warm_answer", format!("warm answer after {secs} s idle"), samples, (secs == 60).then_some(BUDGET_IDLE_60)),
        ];
        for (id, figure, samples, budget) in rows_after_idle {
            rows.push(Row {
                id: format!("{id}_after_{secs}s_idle"),
                figure,
                samples,
                budget,
            });
        }
    }
    Measured {
        net_tls: net.tls(),
        transport: net.transport(),
        rows,
        fetched_during,
        new_api_connections,
    }
}

/// Writes network.md and network.json, prints the tables; the exit status.
fn report(measured: &[Measured], counts: &Counts, out_dir: &std::path::Path) -> ExitCode {
    let mut md = String::new();
    md.push_str("# connect-pstn-transfer benchmark, network mode\n\n");
    md.push_str(&format!(
        "- Cresta round trip (RTT) {} ms for the token host and the API host (two ports), Secrets Manager {} ms, Runtime API local; transports: {}\n",
        CRESTA_RTT.as_millis(),
        SECRETS_RTT.as_millis(),
        measured.iter().map(|m| m.transport).collect::<Vec<_>>().join(", then ")
    ));
    md.push_str(&format!(
        "- runs per transport: {} cold starts of each kind, {} prefetching inits, {} processes warm; over {} only, those processes then idle {} s and {} s\n",
        counts.cold,
        counts.prefetch,
        counts.idle,
        measured.last().map_or("", |m| m.transport),
        IDLE_GAPS[0].as_secs(),
        IDLE_GAPS[1].as_secs()
    ));
    let (mut passes, mut fails) = (0, 0);
    let mut json_modes = Vec::new();
    for m in measured {
        md.push_str(&format!("\n## {}\n\n", m.transport));
        md.push_str(&format!(
            "- token requests during the events after a prefetching init: {}",
            m.fetched_during
        ));
        if let Some(n) = m.new_api_connections {
            md.push_str(&format!("; new API connections after idle: {n}"));
        }
        md.push_str(
            "\n\n| figure | value | round trips | budget | result |\n|---|---|---|---|---|\n",
        );
        for r in &m.rows {
            let budget = r
                .budget
                .map(|(n, extra)| {
                    format!(
                        "<= {n} round trips + {extra} ms ({:.0} ms)",
                        r.limit_ms().unwrap()
                    )
                })
                .unwrap_or_default();
            let result = match r.passes() {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "",
            };
            md.push_str(&format!(
                "| {} | {} | {:.2} round trips |  {budget} | {result} |\n",
                r.figure,
                r.shown(),
                rtts(r.median())
            ));
        }
        let f = m.rows.iter().filter(|r| r.passes() == Some(false)).count();
        let p = m.rows.iter().filter(|r| r.passes() == Some(true)).count();
        passes += p;
        fails += f;
        let json_rows: Vec<Value> = m
            .rows
            .iter()
            .map(|r| {
                json!({
                    "id": r.id, "figure": r.figure, "median_ms": r.median(), "p90_ms": r.samples.pct_ms(90.0),
                    "round_trips": rtts(r.median()), "samples_ms": r.samples.0.iter().map(|s| s * 1e3).collect::<Vec<_>>(),
                    "budget_ms": r.limit_ms(), "result": r.passes().map(|p| if p { "PASS" } else { "FAIL" }),
                })
            })
            .collect();
        json_modes.push(json!({
            "tls": m.net_tls, "token_requests_after_prefetch": m.fetched_during,
            "new_api_connections_after_idle": m.new_api_connections, "figures": json_rows,
            "pass": p, "fail": f,
        }));
    }
    md.push_str(&format!("\n**{passes} PASS, {fails} FAIL.**\n\n"));
    md.push_str(
        "Round trips = median / Cresta RTT. A round trip is the time for a byte to reach the host and an answer to come back; \
         a request on a new connection costs two (TCP handshake, then the request), over TLS one more for the handshake (TLS 1.3). \
         \"Spawn to response\" runs from the process start to the answer reaching the Runtime API, with the event queued before the start. \
         The idle rows (20 s and 60 s) are measured over the last transport only (TLS unless BENCH_NET_TLS=0), as in production. \
         After each wait (the prefetching init's 2 s, each idle gap) a bare request on a kept-alive connection through the API host's emulator goes first, \
         so that the bench's own threads are awake when the function's event arrives; the function's process is not touched by it.\n",
    );
    let results = json!({
        "cresta_rtt_ms": CRESTA_RTT.as_millis() as u64, "secrets_rtt_ms": SECRETS_RTT.as_millis() as u64,
        "modes": json_modes, "pass": passes, "fail": fails,
    });
    let write = |name: &str, text: &str| {
        let path = out_dir.join(name);
        if let Err(e) = std::fs::create_dir_all(out_dir).and_then(|_| std::fs::write(&path, text)) {
            fatal(&format!("cannot write {}: {e}", path.display()));
        }
    };
    write("network.md", &md);
    write(
        "network.json",
        &format!("{}\n", serde_json::to_string_pretty(&results).unwrap()),
    );
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{md}");
    let _ = writeln!(
        out,
        "\nWritten: {0}/network.md, {0}/network.json",
        out_dir.display()
    );
    if fails == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The first outcome of a runtime whose event was queued before the start.
fn wait_first(runtime: &FakeRuntime, proc: &mut Option<RuntimeProcess>) -> Outcome {
    match runtime.wait_outcomes(1, WAIT).first() {
        Some(o) if o.ok => o.clone(),
        other => {
            let log = proc.take().map(RuntimeProcess::finish).unwrap_or_default();
            fatal(&format!(
                "cold start failed ({:?}); the process logged:\n{log}",
                other.map(|o| String::from_utf8_lossy(&o.body).into_owned())
            ))
        }
    }
}
