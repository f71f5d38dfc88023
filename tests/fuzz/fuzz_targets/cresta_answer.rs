//! `cresta::interpret` for both actions on any answer.
//!
//! Input: a status selector byte, two bytes of raw status (used when the
//! selector is past the table of usual statuses), an attempts byte, a flags
//! byte (bit 0: out of time), then the body.
#![no_main]

use connect_pstn_transfer::config::Action;
use connect_pstn_transfer::cresta::interpret;
use connect_pstn_transfer::flatten::flatten;
use connect_pstn_transfer::http::Response;
use connect_pstn_transfer_fuzz::check_error;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const STATUSES: [u16; 12] = [200, 200, 200, 200, 200, 400, 401, 403, 404, 429, 500, 503];
const HANDOFF_KEYS: [&str; 4] = [
    "handoff_conversation",
    "handoff_conversationCorrelationId",
    "handoff_summary",
    "handoff_transferTarget",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let status = STATUSES
        .get(usize::from(data[0]))
        .copied()
        .unwrap_or_else(|| u16::from_le_bytes([data[1], data[2]]));
    let resp = Response {
        status,
        body: data[5..].to_vec(),
        attempts: u32::from(data[3]),
        out_of_time: data[4] & 1 == 1,
    };
    let _ = resp.attempts_note();
    let _ = resp.is_success();

    for action in [Action::PstnTransferData, Action::HandoffData] {
        match interpret(action, &resp) {
            Ok(map) => {
                assert_eq!(status, 200, "status {status} accepted");
                let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&resp.body) else {
                    panic!("accepted a body that is not a JSON object");
                };
                match action {
                    Action::PstnTransferData => assert_eq!(Ok(map), flatten(&object)),
                    Action::HandoffData => {
                        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                        assert_eq!(keys, HANDOFF_KEYS, "handoff answer keys");
                        for (key, value) in &map {
                            let field = &key["handoff_".len()..];
                            let expect = match &object["handoff"][field] {
                                Value::String(s) => s.clone(),
                                v @ (Value::Number(_) | Value::Bool(_)) => v.to_string(),
                                other => panic!("handoff.{field} accepted as {other}"),
                            };
                            assert_eq!(value, &expect, "handoff.{field}");
                        }
                    }
                }
            }
            Err(e) => {
                check_error(&e, "Upstream");
                if status == 200 && e.error_type() == "Upstream.KeyCollision" {
                    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&resp.body)
                    else {
                        panic!("a collision in a body that is not a JSON object");
                    };
                    assert_eq!(flatten(&object), Err(e.clone()));
                } else if status == 200 {
                    assert_eq!(e.error_type(), "Upstream.MalformedResponse");
                } else {
                    assert_eq!(e.error_type(), format!("Upstream.Status{status}"));
                    assert!(e.message().contains(&resp.attempts_note()));
                }
                // The body only ever appears as a bounded excerpt.
                let chars = e.message().chars().count();
                assert!(chars < 1000, "{chars}-character message");
            }
        }
    }
});
