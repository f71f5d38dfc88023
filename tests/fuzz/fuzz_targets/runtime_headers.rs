//! `runtime::Invocation::from_headers` with any header values, then
//! `.deadline()`, the Runtime API URLs and the error body.
//!
//! Input: a presence byte (bit i set = header `HEADERS[i]` is present), then
//! the header values separated by `0xFF`, in order (a present header without
//! a field is empty).
#![no_main]

use connect_pstn_transfer::error::{Category, Error};
use connect_pstn_transfer::runtime::{Endpoints, ErrorBody, Invocation, DEADLINE_MARGIN};
use connect_pstn_transfer_fuzz::{check_error, fields, text};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const HEADERS: [&str; 4] = [
    "Lambda-Runtime-Aws-Request-Id",
    "Lambda-Runtime-Deadline-Ms",
    "Lambda-Runtime-Invoked-Function-Arn",
    "Lambda-Runtime-Trace-Id",
];

fuzz_target!(|data: &[u8]| {
    let Some((&present, rest)) = data.split_first() else {
        return;
    };
    let values = fields(rest, HEADERS.len());
    let header = |name: &str| {
        let i = HEADERS.iter().position(|h| *h == name)?;
        (present & (1 << i) != 0).then(|| values.get(i).map(|v| text(v)).unwrap_or_default())
    };

    let raw_id = header(HEADERS[0]);
    let usable = raw_id
        .as_deref()
        .map(str::trim)
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() && b != b'/'));
    match Invocation::from_headers(header) {
        Ok(inv) => {
            assert!(usable, "request id {raw_id:?} accepted");
            assert_eq!(
                Some(inv.request_id.as_str()),
                raw_id.as_deref().map(str::trim)
            );
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis() as u64;
            // Only a number within an hour of the clock is Lambda's deadline
            // (a second of slack: the clock moved since from_headers read it).
            const WINDOW_MS: u64 = 3_600_000;
            let parsed = header(HEADERS[1]).and_then(|v| v.trim().parse::<u64>().ok());
            match inv.deadline_ms {
                Some(ms) => {
                    assert_eq!(Some(ms), parsed);
                    assert!(ms.abs_diff(now_ms) <= WINDOW_MS + 1_000, "{ms} accepted");
                }
                None => assert!(
                    parsed.is_none_or(|p| p.abs_diff(now_ms) + 1_000 >= WINDOW_MS),
                    "{parsed:?} refused"
                ),
            }
            assert_eq!(inv.function_arn, header(HEADERS[2]));
            assert_eq!(inv.trace_id, header(HEADERS[3]));
            let remaining = inv.deadline().remaining();
            match inv.deadline_ms {
                None => assert!(remaining <= Duration::from_secs(8) - DEADLINE_MARGIN),
                Some(ms) => {
                    let left = Duration::from_millis(ms.saturating_sub(now_ms));
                    assert!(
                        remaining <= left.saturating_sub(DEADLINE_MARGIN) + Duration::from_secs(1)
                    );
                }
            }
            let _ = inv.deadline().allows(Duration::ZERO);

            // The id is one path segment of the response and error URLs.
            let e = Endpoints::new("127.0.0.1:9001");
            let base = "http://127.0.0.1:9001/2018-06-01/runtime/invocation/";
            let url = e.response(&inv.request_id);
            let segment = url
                .strip_prefix(base)
                .and_then(|s| s.strip_suffix("/response"));
            assert_eq!(segment, Some(inv.request_id.as_str()));
            let url = e.error(&inv.request_id);
            let segment = url
                .strip_prefix(base)
                .and_then(|s| s.strip_suffix("/error"));
            assert_eq!(segment, Some(inv.request_id.as_str()));
        }
        Err(e) => {
            assert!(!usable, "request id {raw_id:?} refused: {e}");
            check_error(&e, "Runtime");
            assert_eq!(e.error_type(), "Runtime.MissingRequestId");
        }
    }

    // Whatever text reaches an error, its body for the Runtime API is JSON
    // that reads back as the same message and type.
    let msg = text(rest);
    let err = Error::new(Category::Runtime, "Fuzz", msg.as_str());
    assert!(!err.message().contains('\n'), "messages are one line");
    let body = ErrorBody::from_error(&err);
    let json = body.to_json();
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back["errorType"], "Runtime.Fuzz");
    assert!(back["errorMessage"].is_string());
});
