//! The benchmark's floor: the least a Lambda custom runtime can do. It polls
//! `GET /next` and answers `{}` to every event, nothing else: no settings, no
//! logging, no event parsing. It uses the same HTTP client as `bootstrap`
//! (`ureq`, one keep-alive agent configured the same way), so the difference
//! between `bootstrap` and this binary under the same fake Runtime API is the
//! function's own cost. Built as the `floor` example; see `scripts/bench.sh`.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("floor: AWS_LAMBDA_RUNTIME_API is not set");
        return ExitCode::from(2);
    };
    let base = format!("http://{}/2018-06-01/runtime", api.trim());
    let next = format!("{base}/invocation/next");
    // The function's own agent (same configuration and resolver).
    let agent = connect_pstn_transfer::transport::runtime_agent();
    loop {
        let mut resp = match agent
            .get(&next)
            .config()
            .timeout_global(None)
            .build()
            .call()
        {
            Ok(r) if r.status() == 200 => r,
            Ok(r) => {
                eprintln!("floor: GET /next answered {}", r.status());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("floor: GET /next failed: {e}");
                return ExitCode::FAILURE;
            }
        };
        let Some(id) = resp
            .headers()
            .get("Lambda-Runtime-Aws-Request-Id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            eprintln!("floor: event without a request id");
            return ExitCode::FAILURE;
        };
        // Read (and drop) the event so the connection can be reused.
        if let Err(e) = resp.body_mut().read_to_vec() {
            eprintln!("floor: reading the event failed: {e}");
            return ExitCode::FAILURE;
        }
        let posted = agent
            .post(&format!("{base}/invocation/{id}/response"))
            .config()
            .timeout_global(Some(Duration::from_secs(5)))
            .build()
            .header("Content-Type", "application/json")
            .send(&b"{}"[..]);
        match posted {
            Ok(mut r) => {
                let _ = r.body_mut().read_to_vec();
            }
            Err(e) => {
                eprintln!("floor: POST /response failed: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
}
