//! connect-pstn-transfer: an AWS Lambda that hands Amazon Connect calls to a Cresta AI agent.

/// The version from the repository's `VERSION` file, compiled in.
pub const VERSION: &str = include_str!("../VERSION").trim_ascii();
