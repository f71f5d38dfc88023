//! `flatten::flatten` and `flatten::to_answer` on any JSON object.
//!
//! Input: one byte `n`, then JSON. The object is flattened as is, and also
//! as `n` copies under keys `k0..k{n-1}`, so answers of 32 KB and more are
//! reachable from inputs much smaller than that.
#![no_main]

use connect_pstn_transfer::flatten::{flatten, to_answer, MAX_ANSWER_BYTES};
use connect_pstn_transfer_fuzz::check_error;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Some((&copies, json)) = data.split_first() else {
        return;
    };
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let flat = match flatten(&object) {
        Ok(flat) => flat,
        Err(e) => {
            // Only ever a collision, and then one that really exists.
            check_error(&e, "Upstream");
            assert_eq!(e.error_type(), "Upstream.KeyCollision");
            assert!(leaves(&Value::Object(object.clone())) >= 2);
            return;
        }
    };
    check_flat(&object, &flat);
    check_answer(&flat);

    if copies > 1 {
        let wrapped: Map<String, Value> = (0..copies)
            .map(|i| (format!("k{i}"), Value::Object(object.clone())))
            .collect();
        // Copies cannot collide with each other (every key starts with a
        // distinct `k{i}_`), and one level deeper only changes what the depth
        // cut leaves as text: which can make a collision only at that cut
        // (`{"a_b": 1, "a": {"b": {..}}}` with `b` cut to text).
        let shallow = depth(&Value::Object(object.clone())) < 30;
        let big = match flatten(&wrapped) {
            Ok(big) => big,
            Err(e) if !shallow => {
                assert_eq!(e.error_type(), "Upstream.KeyCollision");
                return;
            }
            Err(e) => panic!("copies of a shallow object collided: {e}"),
        };
        check_flat(&wrapped, &big);
        if shallow {
            assert_eq!(big.len(), flat.len() * usize::from(copies));
            for (k, v) in &flat {
                assert_eq!(big.get(&format!("k0_{k}")), Some(v), "copy lost {k}");
            }
        }
        check_answer(&big);
    }
});

/// Every top-level scalar comes out under its own key as its string form
/// (a collision would have been an error), and there are never more keys
/// than leaves.
fn check_flat(object: &Map<String, Value>, flat: &BTreeMap<String, String>) {
    assert!(flat.len() <= leaves(&Value::Object(object.clone())));
    for (k, v) in object {
        let expect = match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Object(_) => continue,
            other => other.to_string(),
        };
        assert_eq!(flat.get(k), Some(&expect), "top-level {k} lost");
    }
}

/// `to_answer` errors exactly when the JSON is 32 KB or more; an answer
/// reparses to an object of strings equal to the map.
fn check_answer(flat: &BTreeMap<String, String>) {
    let len = serde_json::to_string(flat).unwrap().len();
    match to_answer(flat) {
        Ok(json) => {
            assert!(len < MAX_ANSWER_BYTES, "{len}-byte answer accepted");
            assert_eq!(json.len(), len);
            let Value::Object(back) = serde_json::from_str::<Value>(&json).unwrap() else {
                panic!("answer is not a JSON object");
            };
            assert!(back.values().all(Value::is_string), "non-string value");
            let back: BTreeMap<String, String> = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, flat, "answer does not reparse to the map");
        }
        Err(e) => {
            assert!(len >= MAX_ANSWER_BYTES, "{len}-byte answer refused: {e}");
            check_error(&e, "Response");
            assert_eq!(e.error_type(), "Response.TooLarge");
        }
    }
}

fn leaves(v: &Value) -> usize {
    match v {
        // An object past the depth cut stays as one text value, even when empty.
        Value::Object(m) => m.values().map(leaves).sum::<usize>().max(1),
        _ => 1,
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
