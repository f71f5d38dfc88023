//! `bootstrap`: the Lambda custom runtime, or `--test` for one event on stdin.

use connect_pstn_transfer::deadline::Deadline;
use connect_pstn_transfer::handler::Handler;
use connect_pstn_transfer::invocation::Context;
use connect_pstn_transfer::log::{self, LogConfig};
use connect_pstn_transfer::runtime::{self, Client};
use connect_pstn_transfer::settings::Settings;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Duration;

/// Connect waits this long at most; `--test` gives itself the same budget.
const TEST_BUDGET: Duration = Duration::from_secs(8);
/// Largest event read from stdin (Lambda's own payload limit).
const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024;

fn main() -> ExitCode {
    let env = |k: &str| std::env::var(k).ok();
    log::init(LogConfig::from_env(env));
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--test") | Some("--version") | Some("-V") | Some("--help") | Some("-h")
            if args.len() > 1 =>
        {
            eprintln!(
                "[ERROR] unexpected argument {:?} after {}; see --help",
                args[1], args[0]
            );
            ExitCode::from(2)
        }
        Some("--test") => test_mode(),
        Some("--version") | Some("-V") => {
            println!("connect-pstn-transfer {}", connect_pstn_transfer::VERSION);
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") => {
            println!("{}", HELP);
            ExitCode::SUCCESS
        }
        None => runtime_mode(),
        Some(other) => {
            eprintln!("[ERROR] unknown argument {other:?}; see --help");
            ExitCode::from(2)
        }
    }
}

const HELP: &str = "bootstrap: Amazon Connect -> Cresta PSTN transfer Lambda

  bootstrap            run as an AWS Lambda custom runtime (needs AWS_LAMBDA_RUNTIME_API)
  bootstrap --test     read one Connect event on stdin, print the answer JSON on stdout
                       (exit 0), or the error on stderr (exit 1)
  bootstrap --version  print the version";

/// The Lambda custom runtime: init once, then serve events until the
/// Runtime API breaks (the only way out, with a non-zero exit).
fn runtime_mode() -> ExitCode {
    runtime::install_panic_hook();
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        return fail(
            "Runtime.NoRuntimeApi",
            "AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda (use --test for one event on stdin)",
        );
    };
    let handler = Settings::from_env(|k| std::env::var(k).ok()).and_then(|s| {
        let workers =
            runtime::workers(std::env::var(runtime::MAX_CONCURRENCY_VAR).ok().as_deref())?;
        Ok((
            Handler::new(s, Box::new(|k| std::env::var(k).ok())),
            workers,
        ))
    });
    // The Runtime API's own agent: never proxied, whatever the environment says.
    let client = Client::new(connect_pstn_transfer::transport::runtime_agent(), &api);
    let (handler, workers) = match handler {
        Ok(h) => h,
        Err(e) => {
            if let Err(post) = client.init_failed(&e) {
                log::write(log::Level::Error, format_args!("{post}"));
            }
            return fail(&e.error_type(), e.message());
        }
    };
    connect_pstn_transfer::prefetch::at_init(&handler, &|k| std::env::var(k).ok());
    let e = runtime::run(handler, &client, workers);
    fail(&e.error_type(), e.message())
}

/// One event from stdin, the answer on stdout; errors on stderr, exit 1.
fn test_mode() -> ExitCode {
    let deadline = Deadline::after(TEST_BUDGET);
    let settings = match Settings::from_env(|k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => return fail(&e.error_type(), &e.to_string()),
    };
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut input)
    {
        return fail(
            "Event.Unreadable",
            &format!("could not read the event from stdin: {e}"),
        );
    }
    if input.len() as u64 > MAX_EVENT_BYTES {
        return fail(
            "Event.TooLarge",
            &format!("event is larger than {MAX_EVENT_BYTES} bytes"),
        );
    }
    let handler = Handler::new(settings, Box::new(|k| std::env::var(k).ok()));
    match handler.handle(&input, &Context::with_deadline(deadline)) {
        Ok(answer) => {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{answer}").and_then(|_| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.error_type(), &e.to_string()),
    }
}

fn fail(error_type: &str, message: &str) -> ExitCode {
    log::write(log::Level::Error, format_args!("{error_type}: {message}"));
    ExitCode::FAILURE
}
