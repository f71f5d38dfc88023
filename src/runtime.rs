//! The Lambda custom runtime: a plain loop over the Runtime API
//! (`/next`, then `/response` or `/error`), no async runtime. On Lambda
//! Managed Instances (`AWS_LAMBDA_MAX_CONCURRENCY=N`) N threads each run
//! that loop, sharing one [`Handler`].

use crate::deadline::Deadline;
use crate::error::{Category, Error};
use crate::handler::Handler;
use crate::invocation::Context;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Kept back from Lambda's deadline so an error can still be posted in time.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(250);
/// Used when `/next` gives no usable deadline: Connect's own limit.
const FALLBACK_BUDGET: Duration = Duration::from_secs(8);
/// Largest event accepted from `/next` (Lambda's synchronous payload limit).
const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024;
/// Bound on posting a result to the local Runtime API.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// Content type of error posts, as the Runtime API documents it.
const ERROR_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error+json";
/// Set by Lambda Managed Instances: how many invocations may run at once.
pub const MAX_CONCURRENCY_VAR: &str = "AWS_LAMBDA_MAX_CONCURRENCY";
/// Most workers: Lambda's largest `PerExecutionEnvironmentMaxConcurrency`.
pub const MAX_WORKERS: usize = 1600;

/// The number of workers for `AWS_LAMBDA_MAX_CONCURRENCY`: 1 when it is
/// absent, else a whole number from 1 to [`MAX_WORKERS`].
pub fn workers(value: Option<&str>) -> Result<usize, Error> {
    let Some(v) = value else { return Ok(1) };
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_WORKERS).contains(n))
        .ok_or_else(|| {
            Error::config(
                "InvalidSetting",
                format!(
                    "{MAX_CONCURRENCY_VAR}={v:?} is invalid: expected a whole number from 1 to {MAX_WORKERS}"
                ),
            )
        })
}

/// The Runtime API endpoints, from `AWS_LAMBDA_RUNTIME_API`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    base: String,
}

impl Endpoints {
    /// `host:port` as Lambda gives it, or a URL with a path prefix as
    /// emulators give it (cargo-lambda: `http://[::]:9000/.rt`); IPv6
    /// literals in brackets either way. An unspecified address (`[::]`,
    /// `0.0.0.0`) is the emulator's listening address; connecting to it
    /// reaches this host's loopback on Linux, so it is used as it is.
    pub fn new(runtime_api: &str) -> Endpoints {
        let api = runtime_api.trim().trim_end_matches('/');
        let base = if api.contains("://") {
            api.to_string()
        } else {
            format!("http://{api}")
        };
        Endpoints {
            base: format!("{base}/2018-06-01/runtime"),
        }
    }

    /// `GET` the next event.
    pub fn next(&self) -> String {
        format!("{}/invocation/next", self.base)
    }

    /// `POST` an invocation's answer.
    pub fn response(&self, request_id: &str) -> String {
        format!("{}/invocation/{request_id}/response", self.base)
    }

    /// `POST` an invocation's failure.
    pub fn error(&self, request_id: &str) -> String {
        format!("{}/invocation/{request_id}/error", self.base)
    }

    /// `POST` a start-up failure.
    pub fn init_error(&self) -> String {
        format!("{}/init/error", self.base)
    }
}

/// The body of `/error` and `/init/error` posts.
#[derive(Debug, PartialEq, Eq)]
pub struct ErrorBody {
    pub error_message: String,
    pub error_type: String,
}

impl ErrorBody {
    /// From an error, with credentials redacted from the message.
    pub fn from_error(e: &Error) -> ErrorBody {
        ErrorBody {
            error_message: crate::log::redact(e.message()),
            error_type: e.error_type(),
        }
    }

    /// `{"errorMessage": ..., "errorType": ...}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({"errorMessage": self.error_message, "errorType": self.error_type})
            .to_string()
    }
}

/// One invocation's context, from the `/next` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`, milliseconds since the epoch; `None`
    /// when missing, unparseable or implausible (see [`usable_deadline`]).
    pub deadline_ms: Option<u64>,
    pub function_arn: Option<String>,
    pub trace_id: Option<String>,
}

impl Invocation {
    /// Reads the `Lambda-Runtime-*` headers; a missing request id means the
    /// Runtime API is broken.
    pub fn from_headers(header: impl Fn(&str) -> Option<String>) -> Result<Invocation, Error> {
        let request_id = header("Lambda-Runtime-Aws-Request-Id")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b'/'))
            .ok_or_else(|| {
                Error::new(
                    Category::Runtime,
                    "MissingRequestId",
                    "the Runtime API gave an event without a usable Lambda-Runtime-Aws-Request-Id",
                )
            })?;
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        let deadline_ms = match usable_deadline(header("Lambda-Runtime-Deadline-Ms"), now_ms) {
            Ok(ms) => Some(ms),
            Err(why) => {
                if !DEADLINE_WARNED.swap(true, Ordering::Relaxed) {
                    crate::warn!(
                        "{why}; using Connect's {} s budget for this and every such invocation (logged once)",
                        FALLBACK_BUDGET.as_secs()
                    );
                }
                None
            }
        };
        Ok(Invocation {
            request_id,
            deadline_ms,
            function_arn: header("Lambda-Runtime-Invoked-Function-Arn"),
            trace_id: header("Lambda-Runtime-Trace-Id"),
        })
    }

    /// The time budget, less the margin to report.
    pub fn deadline(&self) -> Deadline {
        match self.deadline_ms {
            Some(ms) => Deadline::from_epoch_ms(ms, DEADLINE_MARGIN),
            None => Deadline::after(FALLBACK_BUDGET - DEADLINE_MARGIN),
        }
    }
}

/// Farthest a real deadline can be from the clock: Lambda's longest timeout
/// (15 min) plus generous clock skew. Anything else is not an epoch time
/// from Lambda (cargo-lambda's emulator sends a relative 600000).
const PLAUSIBLE_DEADLINE_WINDOW_MS: u64 = 60 * 60 * 1000;

/// Whether the unusable-deadline warning was logged (once per process).
static DEADLINE_WARNED: AtomicBool = AtomicBool::new(false);

/// `Lambda-Runtime-Deadline-Ms` as an epoch time in milliseconds, or why it
/// cannot be used: missing, not a number, or not within an hour of `now_ms`.
pub fn usable_deadline(raw: Option<String>, now_ms: u64) -> Result<u64, String> {
    let raw = raw.ok_or("no Lambda-Runtime-Deadline-Ms header")?;
    let raw = raw.trim();
    let ms: u64 = raw.parse().map_err(|_| {
        let shown: String = raw.chars().take(32).collect();
        format!("Lambda-Runtime-Deadline-Ms {shown:?} is not a number")
    })?;
    if ms.abs_diff(now_ms) > PLAUSIBLE_DEADLINE_WINDOW_MS {
        return Err(format!(
            "Lambda-Runtime-Deadline-Ms {ms} is not an epoch time within an hour of now"
        ));
    }
    Ok(ms)
}

/// Talks to the Runtime API over the process's agent.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    endpoints: Endpoints,
}

impl Client {
    /// A client for `AWS_LAMBDA_RUNTIME_API` on the shared agent.
    pub fn new(agent: ureq::Agent, runtime_api: &str) -> Client {
        Client {
            agent,
            endpoints: Endpoints::new(runtime_api),
        }
    }

    /// Waits (without a timeout: the process is frozen in between) for the next event.
    pub fn next(&self) -> Result<(Invocation, Vec<u8>), Error> {
        let broken = |why: String| Error::new(Category::Runtime, "NextFailed", why);
        let mut resp = self
            .agent
            .get(&self.endpoints.next())
            .config()
            .timeout_global(None)
            .build()
            .call()
            .map_err(|e| broken(format!("GET /next failed: {e}")))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(broken(format!("GET /next answered status {status}")));
        }
        let headers = resp.headers().clone();
        let invocation = Invocation::from_headers(|name| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })?;
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_EVENT_BYTES)
            .read_to_vec()
            .map_err(|e| broken(format!("reading the event failed: {e}")))?;
        Ok((invocation, body))
    }

    /// Posts an answer; the status tells whether the Runtime API took it.
    pub fn respond(&self, request_id: &str, answer: &str) -> Result<u16, Error> {
        self.post(
            &self.endpoints.response(request_id),
            "application/json",
            None,
            answer.as_bytes(),
        )
    }

    /// Posts an invocation error.
    pub fn fail(&self, request_id: &str, e: &Error) -> Result<u16, Error> {
        self.post_error(&self.endpoints.error(request_id), e)
    }

    /// Posts a start-up error.
    pub fn init_failed(&self, e: &Error) -> Result<u16, Error> {
        self.post_error(&self.endpoints.init_error(), e)
    }

    fn post_error(&self, url: &str, e: &Error) -> Result<u16, Error> {
        let body = ErrorBody::from_error(e).to_json();
        self.post(
            url,
            ERROR_CONTENT_TYPE,
            Some(&e.error_type()),
            body.as_bytes(),
        )
    }

    fn post(
        &self,
        url: &str,
        content_type: &str,
        error_type: Option<&str>,
        body: &[u8],
    ) -> Result<u16, Error> {
        let mut req = self
            .agent
            .post(url)
            .config()
            .timeout_global(Some(POST_TIMEOUT))
            .build()
            .header("Content-Type", content_type);
        if let Some(t) = error_type {
            req = req.header("Lambda-Runtime-Function-Error-Type", t);
        }
        let mut resp = req.send(body).map_err(|e| {
            Error::new(
                Category::Runtime,
                "PostFailed",
                format!("POST to the Runtime API failed: {e}"),
            )
        })?;
        // Drain the small acknowledgement so the connection can be reused.
        let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(resp.status().as_u16())
    }
}

thread_local! {
    /// The `/error` URL of the invocation this thread is serving, for the
    /// panic hook (which runs on the panicking thread).
    static IN_FLIGHT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that logs the panic (redacted) and posts it as the
/// panicking thread's invocation's `Runtime.Panic` error. Release builds then abort
/// (Lambda starts a fresh process for the next event); builds that unwind
/// go on serving. Locks are only tried: the panic may have happened under one.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let detail = crate::log::try_redact(&payload).unwrap_or_default();
        eprintln!("[ERROR] Runtime.Panic: the function panicked{location}: {detail}");
        let url = IN_FLIGHT
            .try_with(|u| u.try_borrow_mut().ok().and_then(|mut u| u.take()))
            .ok()
            .flatten();
        if let Some(url) = url {
            report_panic(&url, &format!("the function panicked{location}"));
        }
    }));
}

/// Posts a `Runtime.Panic` error on a fresh agent: the process's may be
/// in the middle of a request.
fn report_panic(url: &str, message: &str) {
    let body = ErrorBody {
        error_message: message.to_string(),
        error_type: "Runtime.Panic".to_string(),
    }
    .to_json();
    let _ = crate::transport::runtime_agent()
        .post(url)
        .config()
        .timeout_global(Some(POST_TIMEOUT))
        .build()
        .header("Content-Type", ERROR_CONTENT_TYPE)
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.Panic")
        .send(body.as_bytes());
}

/// Serves events until the Runtime API breaks; returns that failure. One
/// worker runs on this thread, exactly as before Managed Instances; more
/// run on their own threads, each with its own loop, and the first failure
/// that ends one ends the process.
pub fn run(handler: Handler, client: &Client, workers: usize) -> Error {
    if workers <= 1 {
        return serve_forever(&handler, client, false);
    }
    crate::info!("serving up to {workers} invocations at once ({MAX_CONCURRENCY_VAR})");
    let handler = Arc::new(handler);
    let failed: Arc<Failure> = Arc::default();
    // No worker asks for an event before all exist: a failure to start one
    // is still an init error.
    let start = Arc::new(Barrier::new(workers + 1));
    for n in 1..=workers {
        let worker = Worker {
            n,
            handler: handler.clone(),
            client: client.clone(),
            failed: failed.clone(),
            start: start.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || worker.run());
        if let Err(e) = spawned {
            let e = Error::new(
                Category::Runtime,
                "WorkerSpawnFailed",
                format!("could not start worker {n} of {workers}: {e}"),
            );
            if let Err(post) = client.init_failed(&e) {
                crate::error!("{post}");
            }
            return e;
        }
    }
    start.wait();
    failed.wait()
}

/// The first failure that ends a worker, which ends the process.
#[derive(Default)]
struct Failure {
    first: Mutex<Option<Error>>,
    reported: Condvar,
}

impl Failure {
    fn report(&self, e: Error) {
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert(e);
        self.reported.notify_all();
    }

    /// Waits (with no bound: the workers run for the process's life) for one.
    fn wait(&self) -> Error {
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(e) = first.take() {
                return e;
            }
            first = self.reported.wait(first).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// One of several workers, on its own thread.
struct Worker {
    n: usize,
    handler: Arc<Handler>,
    client: Client,
    /// Where the failure that ends this worker goes.
    failed: Arc<Failure>,
    /// Passed once every worker exists.
    start: Arc<Barrier>,
}

impl Worker {
    fn run(self) {
        self.start.wait();
        let e = catch_unwind(AssertUnwindSafe(|| {
            serve_forever(&self.handler, &self.client, true)
        }))
        .unwrap_or_else(|_| {
            Error::new(
                Category::Runtime,
                "Panic",
                format!(
                    "worker {} panicked outside an invocation (see the log)",
                    self.n
                ),
            )
        });
        self.failed.report(e);
    }
}

/// One worker's loop: serves events until the Runtime API breaks.
fn serve_forever(handler: &Handler, client: &Client, concurrent: bool) -> Error {
    loop {
        let (invocation, event) = match client.next() {
            Ok(next) => next,
            Err(e) => return e,
        };
        if let Err(e) = serve(handler, client, &invocation, &event, concurrent) {
            return e;
        }
    }
}

fn set_in_flight(url: Option<String>) -> Option<String> {
    IN_FLIGHT.with_borrow_mut(|slot| std::mem::replace(slot, url))
}

/// Handles one event and posts its outcome. Only a broken Runtime API is an `Err`.
/// With `concurrent` workers the trace id goes only with the invocation's
/// context; a single worker also puts it in `_X_AMZN_TRACE_ID`.
fn serve(
    handler: &Handler,
    client: &Client,
    invocation: &Invocation,
    event: &[u8],
    concurrent: bool,
) -> Result<(), Error> {
    let started = Instant::now();
    crate::log::set_request_id(Some(&invocation.request_id));
    if !concurrent {
        crate::trace::set(invocation.trace_id.as_deref());
    }
    crate::debug!(
        "invocation for {:?}, trace id {:?}, _X_AMZN_TRACE_ID={:?}",
        invocation.function_arn,
        invocation.trace_id.as_deref().unwrap_or_default(),
        std::env::var("_X_AMZN_TRACE_ID").unwrap_or_default()
    );
    let context = Context {
        request_id: invocation.request_id.clone(),
        deadline: invocation.deadline(),
        trace_id: invocation.trace_id.clone(),
    };
    set_in_flight(Some(client.endpoints.error(&invocation.request_id)));
    let outcome = catch_unwind(AssertUnwindSafe(|| handler.handle(event, &context)));
    // The hook takes the URL when it reports a panic itself.
    let reported_by_hook = set_in_flight(None).is_none();
    let outcome = match outcome {
        Ok(result) => result,
        Err(_) if reported_by_hook => {
            crate::log::set_request_id(None);
            return Ok(());
        }
        Err(_) => Err(Error::new(
            Category::Runtime,
            "Panic",
            "the function panicked while handling the event (see the log)",
        )),
    };
    // Answers are below Connect's 32 KB (flatten::to_answer refuses more),
    // far under the Runtime API's 6 MB limit, so a 413 cannot come from us.
    let result = match outcome {
        Ok(answer) => {
            let status = client.respond(&invocation.request_id, &answer)?;
            crate::debug!("answered in {}", crate::log::ms(started.elapsed()));
            status
        }
        Err(e) => {
            crate::error!("{}: {}", e.error_type(), e.message());
            client.fail(&invocation.request_id, &e)?
        }
    };
    crate::log::set_request_id(None);
    match result {
        200..=299 => Ok(()),
        500..=599 => Err(Error::new(
            Category::Runtime,
            "ApiFailed",
            format!("the Runtime API answered status {result}: the environment is broken"),
        )),
        other => {
            crate::error!(
                "the Runtime API refused the result for {} with status {other}",
                invocation.request_id
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_posted_as_the_invocations_error() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/2018-06-01/runtime/invocation/r1/error",
            listener.local_addr().unwrap()
        );
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("Runtime.Panic\"}") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "connection closed early");
                seen.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&seen).to_string()
        });
        install_panic_hook();
        set_in_flight(Some(url));
        let caught = catch_unwind(|| panic!("boom with Bearer abc.def"));
        let _ = std::panic::take_hook();
        assert!(caught.is_err());
        assert!(set_in_flight(None).is_none(), "the hook took the URL");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /2018-06-01/runtime/invocation/r1/error "),
            "{request}"
        );
        assert!(request
            .to_ascii_lowercase()
            .contains("lambda-runtime-function-error-type: runtime.panic"));
        assert!(
            request.contains(r#""errorType":"Runtime.Panic""#),
            "{request}"
        );
    }

    #[test]
    fn each_worker_thread_has_its_own_invocation_in_flight() {
        set_in_flight(Some("http://rt/invocation/main/error".into()));
        let other = std::thread::spawn(|| {
            let before = set_in_flight(Some("http://rt/invocation/other/error".into()));
            (before, set_in_flight(None))
        })
        .join()
        .unwrap();
        assert_eq!(
            other,
            (None, Some("http://rt/invocation/other/error".to_string()))
        );
        assert_eq!(
            set_in_flight(None).as_deref(),
            Some("http://rt/invocation/main/error")
        );
    }

    #[test]
    fn max_concurrency_sets_the_workers() {
        assert_eq!(workers(None).unwrap(), 1);
        assert_eq!(workers(Some("1")).unwrap(), 1);
        assert_eq!(workers(Some(" 16 ")).unwrap(), 16);
        assert_eq!(workers(Some("1600")).unwrap(), MAX_WORKERS);
        for bad in [
            "",
            "0",
            "-4",
            "4.0",
            "four",
            "1601",
            "99999999999999999999999",
        ] {
            let e = workers(Some(bad)).unwrap_err();
            assert_eq!(e.error_type(), "Config.InvalidSetting", "{bad}");
            assert!(e.message().contains(MAX_CONCURRENCY_VAR), "{e}");
        }
    }

    #[test]
    fn endpoint_urls() {
        let e = Endpoints::new("127.0.0.1:9001");
        assert_eq!(
            e.next(),
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"
        );
        assert_eq!(
            e.response("abc"),
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/abc/response"
        );
        assert_eq!(
            e.error("abc"),
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/abc/error"
        );
        assert_eq!(
            e.init_error(),
            "http://127.0.0.1:9001/2018-06-01/runtime/init/error"
        );
    }

    #[test]
    fn endpoint_urls_from_emulators() {
        for (api, next) in [
            ("localhost:9001", "http://localhost:9001"),
            (" 127.0.0.1:9001\n", "http://127.0.0.1:9001"),
            ("[::1]:9001", "http://[::1]:9001"),
            ("http://127.0.0.1:9001", "http://127.0.0.1:9001"),
            ("http://127.0.0.1:9001/", "http://127.0.0.1:9001"),
            ("http://[::]:9000/.rt", "http://[::]:9000/.rt"),
            ("http://[::1]:9000/.rt/", "http://[::1]:9000/.rt"),
            ("http://localhost:9000/a/b", "http://localhost:9000/a/b"),
        ] {
            let e = Endpoints::new(api);
            assert_eq!(
                e.next(),
                format!("{next}/2018-06-01/runtime/invocation/next"),
                "{api:?}"
            );
            assert_eq!(
                e.error("r1"),
                format!("{next}/2018-06-01/runtime/invocation/r1/error"),
                "{api:?}"
            );
        }
    }

    #[test]
    fn deadline_header_must_be_a_plausible_epoch_time() {
        let now = 1_764_000_000_000u64;
        let ok = |v: &str| usable_deadline(Some(v.to_string()), now);
        assert_eq!(ok(&(now + 8_000).to_string()), Ok(now + 8_000));
        assert_eq!(ok(&format!(" {} ", now + 900_000)), Ok(now + 900_000));
        // Already passed (a late invocation) is still Lambda's word.
        assert_eq!(ok(&(now - 5_000).to_string()), Ok(now - 5_000));
        let why = usable_deadline(None, now).unwrap_err();
        assert!(why.contains("no Lambda-Runtime-Deadline-Ms"), "{why}");
        let why = ok("soon").unwrap_err();
        assert!(why.contains("\"soon\" is not a number"), "{why}");
        assert!(ok("-1").is_err());
        assert!(ok("").is_err());
        // cargo-lambda's relative 600000, and times off by more than an hour.
        for bad in [600_000, now + 3_600_001, now - 3_600_001, u64::MAX] {
            let why = ok(&bad.to_string()).unwrap_err();
            assert!(why.contains("not an epoch time within an hour"), "{why}");
        }
    }

    #[test]
    fn an_unusable_deadline_means_connects_budget() {
        let headers = crate::lookup;
        for deadline in [None, Some("600000"), Some("soon")] {
            let mut h = vec![("Lambda-Runtime-Aws-Request-Id", "x")];
            h.extend(deadline.map(|d| ("Lambda-Runtime-Deadline-Ms", d)));
            let inv = Invocation::from_headers(headers(&h)).unwrap();
            assert_eq!(inv.deadline_ms, None, "{deadline:?}");
            let left = inv.deadline().remaining();
            assert!(left <= FALLBACK_BUDGET - DEADLINE_MARGIN, "{deadline:?}");
            assert!(left > FALLBACK_BUDGET - DEADLINE_MARGIN - Duration::from_secs(1));
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let soon = (now_ms + 3_000).to_string();
        let inv = Invocation::from_headers(headers(&[
            ("Lambda-Runtime-Aws-Request-Id", "x"),
            ("Lambda-Runtime-Deadline-Ms", &soon),
        ]))
        .unwrap();
        assert_eq!(inv.deadline_ms, Some(now_ms + 3_000));
        assert!(inv.deadline().remaining() <= Duration::from_millis(2_750));
    }

    #[test]
    fn error_body_shape() {
        let e = Error::config("MissingAction", "action is required");
        let json = ErrorBody::from_error(&e).to_json();
        assert_eq!(
            json,
            r#"{"errorMessage":"action is required","errorType":"Config.MissingAction"}"#
        );
    }

    #[test]
    fn invocation_from_headers() {
        let headers = crate::lookup;
        let inv = Invocation::from_headers(headers(&[
            ("Lambda-Runtime-Aws-Request-Id", "8476a536"),
            ("Lambda-Runtime-Deadline-Ms", "1542409706888"),
            (
                "Lambda-Runtime-Invoked-Function-Arn",
                "arn:aws:lambda:us-east-2:1:function:f",
            ),
            ("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7"),
        ]))
        .unwrap();
        assert_eq!(inv.request_id, "8476a536");
        // An epoch time of 2018, far from now: not usable.
        assert_eq!(inv.deadline_ms, None);
        assert_eq!(inv.trace_id.as_deref(), Some("Root=1-5bef4de7"));
        let inv = Invocation::from_headers(headers(&[
            ("Lambda-Runtime-Aws-Request-Id", "x"),
            ("Lambda-Runtime-Deadline-Ms", "soon"),
        ]))
        .unwrap();
        assert_eq!(inv.deadline_ms, None);
        assert!(inv.deadline().remaining() <= FALLBACK_BUDGET - DEADLINE_MARGIN);
        for bad in [&[][..], &[("Lambda-Runtime-Aws-Request-Id", "a/b")][..]] {
            let e = Invocation::from_headers(headers(bad)).unwrap_err();
            assert_eq!(e.error_type(), "Runtime.MissingRequestId");
        }
    }
}
