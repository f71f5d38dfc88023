//! connect-pstn-transfer: an AWS Lambda (custom runtime, `provided.al2023`)
//! that lets an Amazon Connect contact flow hand a call to a Cresta AI agent
//! over PSTN and get it back afterwards.
//!
//! The data flows one way: [`event`] -> [`config`] -> credentials ([`secrets`],
//! [`auth`]) -> [`cresta`] -> [`flatten`], driven by [`handler`] and, in Lambda,
//! by the [`runtime`] loop. [`http`] is the one HTTP layer under all calls;
//! [`transport`] assembles its connections from [`trust`], [`proxy`],
//! [`tunnel`] and [`tls`].

/// The version from the repository's `VERSION` file, compiled in.
pub const VERSION: &str = include_str!("../VERSION").trim_ascii();

#[macro_use]
pub mod log;

pub mod auth;
pub mod aws_endpoint;
pub mod config;
pub mod cresta;
pub mod deadline;
pub mod error;
pub mod event;
pub mod fence;
pub mod flatten;
pub mod handler;
pub mod http;
pub mod invocation;
pub mod preconnect;
pub mod prefetch;
pub mod proxy;
pub mod redact;
pub mod retry;
pub mod runtime;
pub mod secrets;
pub mod settings;
pub mod single_flight;
pub mod tls;
pub mod trace;
pub mod transport;
pub mod trust;
pub mod tunnel;

/// An environment (or header) lookup over fixed pairs, for unit tests.
#[cfg(test)]
pub(crate) fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| owned.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}
