//! The answer to Connect: a flat JSON object whose values are all strings.

use crate::error::{Category, Error};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Connect refuses a Lambda answer of this many bytes or more.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024;

/// Deepest nesting flattened; deeper objects stay as JSON text.
const MAX_DEPTH: usize = 32;

/// Flattens an object: nested objects become `parent_child` keys, strings stay,
/// numbers and booleans become their JSON text, null becomes `""`, arrays
/// become their JSON text. Two values that flatten onto one key
/// (`{"a_b": "1", "a": {"b": "2"}}`) are `Upstream.KeyCollision`: which one
/// won would depend on key order, and the flow would read a value Cresta
/// did not mean for that key.
pub fn flatten(object: &Map<String, Value>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    flatten_into(&mut out, "", object, 0)?;
    Ok(out)
}

fn flatten_into(
    out: &mut BTreeMap<String, String>,
    prefix: &str,
    object: &Map<String, Value>,
    depth: usize,
) -> Result<(), Error> {
    for (key, value) in object {
        // Top level by depth, not by an empty prefix: under an empty key,
        // `{"": {"b": 1}}` flattens to `_b`, never to a top-level `b`.
        let key = if depth == 0 {
            key.clone()
        } else {
            format!("{prefix}_{key}")
        };
        let text = match value {
            Value::Object(inner) if depth < MAX_DEPTH => {
                flatten_into(out, &key, inner, depth + 1)?;
                continue;
            }
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        if out.contains_key(&key) {
            return Err(collision(&key));
        }
        out.insert(key, text);
    }
    Ok(())
}

fn collision(key: &str) -> Error {
    const SHOWN: usize = 100;
    // Redacted as it is cut, like every excerpt (see `error::excerpt`).
    let shown = match key.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", crate::redact::redact_prefix(key, cut)),
        None => crate::redact::redact(key),
    };
    Error::new(
        Category::Upstream,
        "KeyCollision",
        format!("Cresta's answer has two values for the flattened key {shown:?} (a nested key and a key with underscores); refusing to pick one"),
    )
}

/// Serializes the flat map, refusing an answer Connect would reject.
pub fn to_answer(map: &BTreeMap<String, String>) -> Result<String, Error> {
    let json = serde_json::to_string(map).map_err(|e| {
        Error::new(
            Category::Response,
            "Unserializable",
            format!("could not serialize the answer: {e}"),
        )
    })?;
    if json.len() >= MAX_ANSWER_BYTES {
        return Err(Error::new(
            Category::Response,
            "TooLarge",
            format!(
                "answer is {} bytes; Amazon Connect accepts less than {MAX_ANSWER_BYTES}",
                json.len()
            ),
        ));
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Value) -> BTreeMap<String, String> {
        flatten(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn nested_objects_and_scalars_flatten_to_strings() {
        let m = flat(json!({
            "phoneNumber": "+1234567890",
            "n": 42, "f": 1.5, "t": true, "z": null,
            "list": [1, "a"],
            "outer": {"inner": {"deep": "x"}, "k": false}
        }));
        let expect: BTreeMap<String, String> = [
            ("phoneNumber", "+1234567890"),
            ("n", "42"),
            ("f", "1.5"),
            ("t", "true"),
            ("z", ""),
            ("list", r#"[1,"a"]"#),
            ("outer_inner_deep", "x"),
            ("outer_k", "false"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(m, expect);
    }

    #[test]
    fn an_empty_key_keeps_its_children_prefixed() {
        let m = flat(json!({"": {"phoneNumber": "x"}, "phoneNumber": "+1"}));
        assert_eq!(m["phoneNumber"], "+1");
        assert_eq!(m["_phoneNumber"], "x");
    }

    #[test]
    fn keys_that_flatten_onto_one_another_are_an_error() {
        for v in [
            json!({"a_b": "1", "a": {"b": "2"}}),
            json!({"a": {"b": "2"}, "a_b": "1"}),
            json!({"a": {"b_c": 1}, "a_b": {"c": 2}}),
            json!({"": {"b": 1}, "_b": 2}),
        ] {
            let e = flatten(v.as_object().unwrap()).unwrap_err();
            assert_eq!(e.error_type(), "Upstream.KeyCollision", "{v}");
            assert!(
                e.message().contains("\"a_b\"") || e.message().contains("_b"),
                "{e}"
            );
        }
        // The same key under different parents is no collision.
        let m = flat(json!({"a": {"x": 1}, "b": {"x": 2}, "a_y": 3}));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn empty_nested_object_gives_no_keys() {
        assert!(flat(json!({"a": {}})).is_empty());
    }

    #[test]
    fn very_deep_nesting_is_bounded() {
        let mut v = json!("leaf");
        for _ in 0..100 {
            v = json!({ "a": v });
        }
        let m = flat(v);
        assert_eq!(m.len(), 1);
        let (key, value) = m.into_iter().next().unwrap();
        assert_eq!(key.matches('a').count(), MAX_DEPTH + 1);
        assert!(value.starts_with("{\"a\""));
    }

    #[test]
    fn answers_of_32_kb_or_more_are_refused() {
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), "x".repeat(MAX_ANSWER_BYTES - 10));
        assert!(to_answer(&m).is_ok());
        m.insert("k".to_string(), "x".repeat(MAX_ANSWER_BYTES));
        let e = to_answer(&m).unwrap_err();
        assert_eq!(e.error_type(), "Response.TooLarge");
    }
}
