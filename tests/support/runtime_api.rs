//! A fake AWS Lambda Runtime API: queues events, serves `/next` with the
//! four `Lambda-Runtime-*` headers, and records responses, errors, init
//! errors and timings. Several `/next` calls may be outstanding at once (one
//! per connection), as on Lambda Managed Instances: each event goes to one
//! of them, and the fake counts how many invocations run at the same time.

#![allow(dead_code)]

use super::server::{Recorded, Reply, Server};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PREFIX: &str = "/2018-06-01/runtime";
pub const FUNCTION_ARN: &str =
    "arn:aws:lambda:us-west-2:123456789012:function:connect-pstn-transfer";

/// What the function posted for one invocation (or for init).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request_id: String,
    /// True for `/response`, false for `/error` and `/init/error`.
    pub ok: bool,
    pub body: Vec<u8>,
    /// `Lambda-Runtime-Function-Error-Type`, for errors.
    pub error_type: Option<String>,
    pub content_type: Option<String>,
    /// When the event was handed out by `/next`, and when the outcome arrived.
    pub served_at: Option<Instant>,
    pub at: Instant,
    /// The deadline given to the function, as an instant.
    pub deadline: Option<Instant>,
}

impl Outcome {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("outcome body is JSON")
    }
}

struct Pending {
    id: String,
    body: String,
    budget: Duration,
    served_at: Option<Instant>,
    deadline: Option<Instant>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Pending>,
    served: Vec<Pending>,
    outcomes: Vec<Outcome>,
    init_error: Option<Outcome>,
    next_calls: Vec<Instant>,
    counter: usize,
    fail_next: bool,
    /// `/next` calls waiting for an event right now.
    waiting: usize,
    /// Events handed out and not yet answered, now and at most.
    in_flight: usize,
    max_in_flight: usize,
}

#[derive(Clone)]
pub struct FakeRuntime {
    pub server: Server,
    state: Arc<(Mutex<State>, Condvar)>,
}

impl FakeRuntime {
    pub fn start() -> FakeRuntime {
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let shared = state.clone();
        let server = Server::start(move |req| answer(&shared, req));
        FakeRuntime { server, state }
    }

    /// For `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        self.server.addr.to_string()
    }

    /// Queues an event with `budget` until its deadline; returns its request id.
    pub fn push(&self, event: &str, budget: Duration) -> String {
        let (lock, cv) = &*self.state;
        let mut s = lock.lock().unwrap();
        s.counter += 1;
        let id = format!("req-{:05}-8f2e", s.counter);
        s.queue.push_back(Pending {
            id: id.clone(),
            body: event.to_string(),
            budget,
            served_at: None,
            deadline: None,
        });
        cv.notify_all();
        id
    }

    /// Makes the next `/next` call answer 500 (a broken environment).
    pub fn fail_next(&self) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().fail_next = true;
        cv.notify_all();
    }

    /// Waits until `n` outcomes have arrived (or `timeout`), and returns them.
    pub fn wait_outcomes(&self, n: usize, timeout: Duration) -> Vec<Outcome> {
        let (lock, cv) = &*self.state;
        let end = Instant::now() + timeout;
        let mut s = lock.lock().unwrap();
        while s.outcomes.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
        s.outcomes.clone()
    }

    pub fn outcomes(&self) -> Vec<Outcome> {
        self.state.0.lock().unwrap().outcomes.clone()
    }

    /// Waits for an init error post (or `timeout`).
    pub fn wait_init_error(&self, timeout: Duration) -> Option<Outcome> {
        let (lock, cv) = &*self.state;
        let end = Instant::now() + timeout;
        let mut s = lock.lock().unwrap();
        while s.init_error.is_none() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
        s.init_error.clone()
    }

    /// The most invocations that were handed out and not yet answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.state.0.lock().unwrap().max_in_flight
    }

    /// Waits until `n` `/next` calls are waiting for an event at once (or `timeout`).
    pub fn wait_waiting(&self, n: usize, timeout: Duration) -> usize {
        let (lock, cv) = &*self.state;
        let end = Instant::now() + timeout;
        let mut s = lock.lock().unwrap();
        while s.waiting < n {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
        s.waiting
    }

    /// The outcome posted for `request_id`, if any.
    pub fn outcome(&self, request_id: &str) -> Option<Outcome> {
        self.state
            .0
            .lock()
            .unwrap()
            .outcomes
            .iter()
            .find(|o| o.request_id == request_id)
            .cloned()
    }

    /// When each `/next` call arrived.
    pub fn next_calls(&self) -> Vec<Instant> {
        self.state.0.lock().unwrap().next_calls.clone()
    }

    /// Waits until at least `n` `/next` calls have arrived (or `timeout`).
    pub fn wait_next_calls(&self, n: usize, timeout: Duration) -> Vec<Instant> {
        let (lock, cv) = &*self.state;
        let end = Instant::now() + timeout;
        let mut s = lock.lock().unwrap();
        while s.next_calls.len() < n {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = cv.wait_timeout(s, left).unwrap().0;
        }
        s.next_calls.clone()
    }
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn answer(state: &(Mutex<State>, Condvar), req: &Recorded) -> Reply {
    let (lock, cv) = state;
    let path = req.path.as_str();
    if req.method == "GET" && path == format!("{PREFIX}/invocation/next") {
        let mut s = lock.lock().unwrap();
        s.next_calls.push(req.at);
        s.waiting += 1;
        cv.notify_all();
        let (mut s, reply) = next_event(s, cv);
        s.waiting -= 1;
        return reply;
    }
    answer_post(state, req)
}

/// Waits (the lock released meanwhile) for an event, or a scripted failure.
fn next_event<'a>(mut s: MutexGuard<'a, State>, cv: &Condvar) -> (MutexGuard<'a, State>, Reply) {
    let end = Instant::now() + Duration::from_secs(600);
    loop {
        if s.fail_next {
            s.fail_next = false;
            let reply = Reply::json(
                500,
                r#"{"errorMessage":"runtime api broken","errorType":"ServiceException"}"#,
            );
            return (s, reply);
        }
        if let Some(mut p) = s.queue.pop_front() {
            let now = Instant::now();
            let deadline_ms = epoch_ms() + p.budget.as_millis() as u64;
            p.served_at = Some(now);
            p.deadline = Some(now + p.budget);
            let reply = Reply::raw(200, "application/json", p.body.as_bytes())
                .with_header("Lambda-Runtime-Aws-Request-Id", &p.id)
                .with_header("Lambda-Runtime-Deadline-Ms", &deadline_ms.to_string())
                .with_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                .with_header(
                    "Lambda-Runtime-Trace-Id",
                    &format!("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Id={}", p.id),
                );
            s.served.push(p);
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            return (s, reply);
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let reply = Reply::json(500, r#"{"errorMessage":"no event for 10 minutes"}"#);
            return (s, reply);
        }
        s = cv.wait_timeout(s, left).unwrap().0;
    }
}

fn answer_post(state: &(Mutex<State>, Condvar), req: &Recorded) -> Reply {
    let (lock, cv) = state;
    let path = req.path.as_str();
    if req.method != "POST" {
        return Reply::json(404, r#"{"errorMessage":"unknown route"}"#);
    }
    let mut s = lock.lock().unwrap();
    let error_type = req
        .header("lambda-runtime-function-error-type")
        .map(str::to_string);
    let content_type = req.header("content-type").map(str::to_string);
    if path == format!("{PREFIX}/init/error") {
        s.init_error = Some(Outcome {
            request_id: String::new(),
            ok: false,
            body: req.body.clone(),
            error_type,
            content_type,
            served_at: None,
            at: req.at,
            deadline: None,
        });
        cv.notify_all();
        return Reply::json(202, r#"{"status":"OK"}"#);
    }
    let Some(rest) = path.strip_prefix(&format!("{PREFIX}/invocation/")) else {
        return Reply::json(404, r#"{"errorMessage":"unknown route"}"#);
    };
    let Some((id, kind)) = rest.split_once('/') else {
        return Reply::json(404, r#"{"errorMessage":"unknown route"}"#);
    };
    let ok = match kind {
        "response" => true,
        "error" => false,
        _ => return Reply::json(404, r#"{"errorMessage":"unknown route"}"#),
    };
    let Some(served) = s.served.iter().find(|p| p.id == id) else {
        return Reply::json(
            400,
            r#"{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}"#,
        );
    };
    if s.outcomes.iter().any(|o| o.request_id == id) {
        return Reply::json(
            400,
            r#"{"errorMessage":"already answered","errorType":"InvalidStateTransition"}"#,
        );
    }
    let outcome = Outcome {
        request_id: id.to_string(),
        ok,
        body: req.body.clone(),
        error_type,
        content_type,
        served_at: served.served_at,
        at: req.at,
        deadline: served.deadline,
    };
    s.outcomes.push(outcome);
    s.in_flight -= 1;
    cv.notify_all();
    Reply::json(202, r#"{"status":"OK"}"#)
}
