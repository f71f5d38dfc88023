//! What one invocation carries with it down to every call it makes: its
//! request id, its deadline and its X-Ray trace id. Passed along explicitly,
//! never kept in process-wide state, so concurrent invocations (Lambda
//! Managed Instances) cannot see each other's.

use crate::deadline::Deadline;

/// One invocation's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// Lambda's request id (empty outside Lambda, e.g. `--test`).
    pub request_id: String,
    /// The time budget every wait and attempt is bounded by.
    pub deadline: Deadline,
    /// `Lambda-Runtime-Trace-Id`, for the `X-Amzn-Trace-Id` of AWS calls.
    pub trace_id: Option<String>,
}

impl Context {
    /// A context with only a deadline (the `--test` mode, unit tests).
    pub fn with_deadline(deadline: Deadline) -> Context {
        Context {
            request_id: String::new(),
            deadline,
            trace_id: None,
        }
    }
}
