//! The one error type. Every failure names its category and reason, which
//! become the Lambda error type (`Category.Reason`) a flow owner sees in logs.

use std::fmt;

/// Where a failure came from: the first half of the error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Category {
    /// The Connect event itself is unusable.
    Event,
    /// Configuration (Parameters or environment) is missing or invalid.
    Config,
    /// The OAuth token could not be obtained.
    Auth,
    /// The Secrets Manager secret could not be read or used.
    Secrets,
    /// A Cresta API call failed.
    Upstream,
    /// The invocation ran out of time.
    Deadline,
    /// The answer to Connect could not be built.
    Response,
    /// The Lambda Runtime API misbehaved, or the function panicked.
    Runtime,
}

impl Category {
    fn as_str(self) -> &'static str {
        match self {
            Category::Event => "Event",
            Category::Config => "Config",
            Category::Auth => "Auth",
            Category::Secrets => "Secrets",
            Category::Upstream => "Upstream",
            Category::Deadline => "Deadline",
            Category::Response => "Response",
            Category::Runtime => "Runtime",
        }
    }
}

/// A failure with a stable type name and a one-line message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    category: Category,
    reason: String,
    message: String,
}

impl Error {
    /// A new error; `reason` is the second half of the error type.
    pub fn new(category: Category, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            category,
            reason: reason.into(),
            message: one_line(&message.into()),
        }
    }

    /// Shorthand for `Category::Config` errors.
    pub fn config(reason: &str, message: impl Into<String>) -> Self {
        Error::new(Category::Config, reason, message)
    }

    /// Shorthand for `Category::Event` errors.
    pub fn event(message: impl Into<String>) -> Self {
        Error::new(Category::Event, "Malformed", message)
    }

    /// The category of the failure.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The error type, `Category.Reason`, e.g. `Config.MissingAction`.
    pub fn error_type(&self) -> String {
        format!("{}.{}", self.category.as_str(), self.reason)
    }

    /// The message without the type.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Collapses control characters so every message stays on one log line.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A short, one-line excerpt of a body for error messages. Redacted as it
/// is cut, so a credential echoed across the cut leaves no piece.
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = one_line(text.trim());
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", crate::redact::redact_prefix(&text, cut)),
        None => crate::redact::redact(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_is_category_dot_reason() {
        let e = Error::config("MissingAction", "action is required");
        assert_eq!(e.error_type(), "Config.MissingAction");
        assert_eq!(e.to_string(), "action is required");
    }

    #[test]
    fn messages_are_one_line() {
        let e = Error::event("a\nb\r\tc");
        assert_eq!(e.message(), "a b  c");
    }

    #[test]
    fn excerpt_is_bounded_and_marks_empty() {
        assert_eq!(excerpt(b""), "(empty body)");
        let long = vec![b'x'; 1000];
        assert_eq!(excerpt(&long).len(), 303);
        assert_eq!(excerpt(b"\xff<html>\n</html>"), "\u{fffd}<html> </html>");
    }

    #[test]
    fn excerpt_redacts_before_cutting() {
        let secret = "excerpt-cut-secret-0123456789";
        crate::redact::register_secret(secret);
        for offset in 280..310 {
            let body = format!("{}{secret}tail", "x".repeat(offset));
            let out = excerpt(body.as_bytes());
            for piece in secret.as_bytes().windows(8) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!out.contains(piece), "offset {offset}: {piece} in {out}");
            }
        }
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 64);
    }
}
