//! Shared by every integration test, the demo and the benchmark: the mock
//! servers and helpers to run the real `bootstrap` binary.

#![allow(dead_code)]

pub mod cresta;
pub mod latency;
pub mod proxy;
pub mod runtime_api;
pub mod secrets_manager;
pub mod server;
pub mod tls;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test: `BOOTSTRAP_BIN` when set (e.g. an arm64 build),
/// else the one cargo built for this test.
pub fn bootstrap_path() -> PathBuf {
    if let Ok(p) = std::env::var("BOOTSTRAP_BIN") {
        return PathBuf::from(p);
    }
    match option_env!("CARGO_BIN_EXE_bootstrap") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from("target/release/bootstrap"),
    }
}

/// A command for the binary with a clean environment plus `env`.
/// `BOOTSTRAP_RUNNER` (e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`) wraps it.
pub fn bootstrap_command(env: &[(String, String)]) -> Command {
    let runner = std::env::var("BOOTSTRAP_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words);
            c.arg(bootstrap_path());
            c
        }
        None => Command::new(bootstrap_path()),
    };
    with_clean_env(&mut cmd, env);
    cmd
}

/// Only `PATH` from the test's environment, plus `env`.
fn with_clean_env(cmd: &mut Command, env: &[(String, String)]) {
    cmd.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
}

/// The outcome of one `bootstrap --test` run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts exit 1 with one error line on stderr mentioning every word.
    pub fn assert_error(&self, words: &[&str]) {
        assert_eq!(self.code, Some(1), "expected exit 1: {self:?}");
        assert!(
            self.stdout.is_empty(),
            "stdout must be empty on error: {self:?}"
        );
        let line = self
            .stderr
            .lines()
            .find(|l| l.starts_with("[ERROR]"))
            .unwrap_or_else(|| panic!("no [ERROR] line: {self:?}"));
        for w in words {
            assert!(line.contains(w), "error line lacks {w:?}: {line}");
        }
    }
}

/// Runs `bootstrap --test` with `stdin` and `env`, killed after 30 s.
pub fn run_test_mode(stdin: &[u8], env: &[(String, String)]) -> Run {
    let start = Instant::now();
    let mut child = bootstrap_command(env)
        .arg("--test")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bootstrap");
    let mut stdin_pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin_pipe.write_all(&input);
    });
    let out = read_to_end_in_thread(child.stdout.take().unwrap());
    let err = read_to_end_in_thread(child.stderr.take().unwrap());
    let code = wait_bounded(&mut child, Duration::from_secs(30));
    let _ = writer.join();
    Run {
        code,
        stdout: String::from_utf8_lossy(&out.join().unwrap())
            .trim()
            .to_string(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).to_string(),
        elapsed: start.elapsed(),
    }
}

pub fn read_to_end_in_thread(
    mut r: impl Read + Send + 'static,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Waits for the child; kills it (and fails the test) after `limit`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<i32> {
    let end = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bootstrap did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// An event with `ContactId` `contact-1234` and these Parameters.
pub fn event(parameters: &[(&str, &str)]) -> String {
    let params: serde_json::Map<String, serde_json::Value> = parameters
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::json!({
        "Name": "ContactFlowEvent",
        "Details": {
            "ContactData": {
                "ContactId": "contact-1234",
                "Channel": "VOICE",
                "InitialContactId": "initial-5678",
                "CustomerEndpoint": {"Address": "+14155550100", "Type": "TELEPHONE_NUMBER"},
                "MediaStreams": {"Customer": {"Audio": {"StreamARN": "", "StartTimestamp": ""}}},
                "Attributes": {"lang": "en"}
            },
            "Parameters": params
        }
    })
    .to_string()
}

/// Owned environment pairs.
pub fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Environment for API key auth against the mock, with fast retries.
pub fn api_key_env(cresta: &cresta::MockCresta) -> Vec<(String, String)> {
    env(&[
        ("region", "us-west-2-prod"),
        ("apiDomain", &cresta.url()),
        ("apiKey", cresta::API_KEY),
        ("virtualAgentName", cresta::VIRTUAL_AGENT),
        ("HTTP_RETRY_BASE_DELAY", "5ms"),
    ])
}

/// Environment for OAuth through the mock Secrets Manager's secret.
pub fn secret_env(
    cresta: &cresta::MockCresta,
    sm: &secrets_manager::MockSecretsManager,
) -> Vec<(String, String)> {
    let mut e = env(&[
        ("region", "us-west-2-prod"),
        ("apiDomain", &cresta.url()),
        ("authDomain", &cresta.url()),
        ("oauthSecretArn", secrets_manager::SECRET_ARN),
        ("virtualAgentName", cresta::VIRTUAL_AGENT),
    ]);
    e.extend(sm.env());
    e
}

/// `base` with `extra` set, replacing entries of the same name.
pub fn with_env(mut base: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    for (k, v) in extra {
        base.retain(|(n, _)| n != k);
        base.push((k.to_string(), v.to_string()));
    }
    base
}

/// Environment for OAuth client credentials against the mock, with fast retries.
pub fn oauth_env(cresta: &cresta::MockCresta) -> Vec<(String, String)> {
    env(&[
        ("region", "us-west-2-prod"),
        ("apiDomain", &cresta.url()),
        ("authDomain", &cresta.url()),
        ("oauthClientId", cresta::CLIENT_ID),
        ("oauthClientSecret", cresta::CLIENT_SECRET),
        ("virtualAgentName", cresta::VIRTUAL_AGENT),
        ("HTTP_RETRY_BASE_DELAY", "5ms"),
    ])
}

/// A `bootstrap` running as a Lambda runtime against a fake Runtime API;
/// killed when dropped.
pub struct RuntimeProcess {
    pub child: Child,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
    pub spawned_at: Instant,
}

impl RuntimeProcess {
    /// Starts `bootstrap` with `AWS_LAMBDA_RUNTIME_API` pointing at `runtime_api`.
    pub fn spawn(runtime_api: &str, extra_env: &[(String, String)]) -> RuntimeProcess {
        let mut env = extra_env.to_vec();
        env.push(("AWS_LAMBDA_RUNTIME_API".into(), runtime_api.into()));
        Self::start(bootstrap_command(&env))
    }

    /// Starts another runtime binary (the bench's floor) the same way.
    pub fn spawn_program(
        program: &std::path::Path,
        runtime_api: &str,
        extra_env: &[(String, String)],
    ) -> RuntimeProcess {
        let mut cmd = Command::new(program);
        with_clean_env(&mut cmd, extra_env);
        cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api);
        Self::start(cmd)
    }

    fn start(mut cmd: Command) -> RuntimeProcess {
        let spawned_at = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bootstrap");
        let stderr = Some(read_to_end_in_thread(child.stderr.take().unwrap()));
        RuntimeProcess {
            child,
            stderr,
            spawned_at,
        }
    }

    /// The process id, for reading /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself within `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        wait_bounded(&mut self.child, limit)
    }

    /// Kills the process (if still running) and returns what it logged.
    pub fn finish(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let bytes = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).to_string()
    }

    /// A line of /proc/PID/status, in kB (e.g. `VmHWM`, `VmRSS`).
    pub fn status_kb(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }
}

impl Drop for RuntimeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
