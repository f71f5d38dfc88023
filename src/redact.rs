//! Redaction: every credential the process has seen is replaced by
//! `[REDACTED]` in every line and error it writes. Credentials are kept for
//! the process's whole life (bounded by total bytes, the least recently
//! registered forgotten first, never chosen by length), each with the forms
//! it takes when a server echoes it back: JSON-escaped, percent-encoded, and
//! as [`crate::error::one_line`] leaves it. Text is redacted before it is cut
//! (see [`crate::error::excerpt`]), so no cut can leave a piece behind.

use std::collections::VecDeque;
use std::sync::Mutex;

/// The replacement text.
pub const REDACTED: &str = "[REDACTED]";
/// Values shorter than this are not redacted (they would garble every line).
const MIN_SECRET_LEN: usize = 4;
/// Bound on the bytes kept (patterns of every form): thousands of tokens,
/// far more than a Lambda process lives to see.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// A credential and the texts that reveal it.
struct Entry {
    value: String,
    patterns: Vec<String>,
}

/// Registered credentials, least recently registered first.
struct Store {
    entries: VecDeque<Entry>,
    bytes: usize,
}

static STORE: Mutex<Store> = Mutex::new(Store {
    entries: VecDeque::new(),
    bytes: 0,
});

impl Store {
    fn register(&mut self, value: &str) {
        if let Some(i) = self.entries.iter().position(|e| e.value == value) {
            // In use again: now the most recently registered.
            if let Some(entry) = self.entries.remove(i) {
                self.entries.push_back(entry);
            }
            return;
        }
        let patterns = forms(value);
        let size: usize = patterns.iter().map(String::len).sum();
        while self.bytes + size > MAX_BYTES {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= old.patterns.iter().map(String::len).sum::<usize>();
        }
        self.bytes += size;
        self.entries.push_back(Entry {
            value: value.to_string(),
            patterns,
        });
    }

    fn patterns(&self) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .flat_map(|e| e.patterns.iter().map(String::as_str))
    }
}

/// The texts to look for: the value, and the value as
/// [`crate::error::one_line`] leaves it. Escaped and encoded forms are found
/// by decoding the text instead (see [`views`]), whatever the encoder chose.
fn forms(value: &str) -> Vec<String> {
    let flat = crate::error::one_line(value);
    if flat == value {
        vec![value.to_string()]
    } else {
        vec![value.to_string(), flat]
    }
}

/// One byte of a decoded view and the span of the text it came from.
type Unit = (u8, usize, usize);

/// The text decoded two ways, each byte mapped back to the text: with
/// percent-escapes decoded (`+` as space, any hex case, even escapes of
/// characters that need none), and with JSON string escapes decoded
/// (`\uXXXX` and surrogate pairs included). Empty when the text has no escape.
fn views(text: &str) -> Vec<Vec<Unit>> {
    let mut out = Vec::new();
    if text.contains('%') || text.contains('+') {
        out.push(percent_view(text.as_bytes()));
    }
    if text.contains('\\') {
        out.push(json_view(text));
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn percent_view(bytes: &[u8]) -> Vec<Unit> {
    let mut units = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? << 4 | hex(*bytes.get(i + 2)?)?))
            .flatten();
        match (escaped, bytes[i]) {
            (Some(b), _) => {
                units.push((b, i, i + 3));
                i += 3;
            }
            (None, b'+') => {
                units.push((b' ', i, i + 1));
                i += 1;
            }
            (None, b) => {
                units.push((b, i, i + 1));
                i += 1;
            }
        }
    }
    units
}

fn json_view(text: &str) -> Vec<Unit> {
    let bytes = text.as_bytes();
    let u16_at = |i: usize| -> Option<u16> {
        if bytes.get(i..i + 2)? != b"\\u" {
            return None;
        }
        let digits = std::str::from_utf8(bytes.get(i + 2..i + 6)?).ok()?;
        u16::from_str_radix(digits, 16).ok()
    };
    let mut units = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let (ch, len) = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'u')) => match u16_at(i) {
                Some(hi @ 0xD800..=0xDBFF) => match u16_at(i + 6) {
                    Some(lo @ 0xDC00..=0xDFFF) => (
                        char::from_u32(
                            0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00),
                        ),
                        12,
                    ),
                    _ => (None, 1),
                },
                Some(unit) => (char::from_u32(u32::from(unit)), 6),
                None => (None, 1),
            },
            (b'\\', Some(&e)) => (
                match e {
                    b'"' => Some('"'),
                    b'\\' => Some('\\'),
                    b'/' => Some('/'),
                    b'b' => Some('\u{8}'),
                    b'f' => Some('\u{c}'),
                    b'n' => Some('\n'),
                    b'r' => Some('\r'),
                    b't' => Some('\t'),
                    _ => None,
                },
                2,
            ),
            _ => (None, 1),
        };
        match ch {
            Some(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    units.push((b, i, i + len));
                }
                i += len;
            }
            None => {
                units.push((bytes[i], i, i + 1));
                i += 1;
            }
        }
    }
    units
}

/// Spans of the text where `pattern` appears in a decoded view.
fn find_in_view(view: &[Unit], pattern: &[u8], spans: &mut Vec<(usize, usize)>) {
    if pattern.is_empty() || view.len() < pattern.len() {
        return;
    }
    for start in 0..=view.len() - pattern.len() {
        if view[start].0 == pattern[0]
            && view[start..start + pattern.len()]
                .iter()
                .zip(pattern)
                .all(|(u, p)| u.0 == *p)
        {
            spans.push((view[start].1, view[start + pattern.len() - 1].2));
        }
    }
}

/// Remembers a credential value so that no later line or error contains it.
pub fn register_secret(value: &str) {
    if value.len() < MIN_SECRET_LEN {
        return;
    }
    STORE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .register(value);
}

/// Replaces every registered credential (in any of its forms), and whatever
/// follows an `Authorization` scheme word, with `[REDACTED]`.
pub fn redact(text: &str) -> String {
    let store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    redact_with(store.patterns(), text)
}

/// Like [`redact`], but gives up (`None`) instead of waiting for a lock:
/// for the panic hook, which may run while that lock is held.
pub fn try_redact(text: &str) -> Option<String> {
    let store = STORE.try_lock().ok()?;
    Some(crate::error::one_line(&redact_with(store.patterns(), text)))
}

/// Replaces the union of every occurrence of every pattern, in the text and
/// in its decoded views (overlapping ones merged, so two credentials that
/// overlap leave nothing of either).
fn redact_with<'a>(patterns: impl Iterator<Item = &'a str>, text: &str) -> String {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let views = views(text);
    for pattern in patterns {
        for view in &views {
            find_in_view(view, pattern.as_bytes(), &mut spans);
        }
        let mut from = 0;
        while let Some(at) = text[from..].find(pattern) {
            let start = from + at;
            spans.push((start, start + pattern.len()));
            // Next search from the next character: overlapping matches count.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    let mut out = String::with_capacity(text.len());
    if spans.is_empty() {
        out.push_str(text);
    } else {
        // Whole characters only (a decoded match maps back to escapes).
        for (s, e) in &mut spans {
            while !text.is_char_boundary(*s) {
                *s -= 1;
            }
            while !text.is_char_boundary(*e) {
                *e += 1;
            }
        }
        spans.sort_unstable();
        let mut written = 0;
        let mut current: Option<(usize, usize)> = None;
        for (s, e) in spans {
            match &mut current {
                Some((_, end)) if s <= *end => *end = (*end).max(e),
                _ => {
                    if let Some((cs, ce)) = current {
                        out.push_str(&text[written..cs]);
                        out.push_str(REDACTED);
                        written = ce;
                    }
                    current = Some((s, e));
                }
            }
        }
        if let Some((cs, ce)) = current {
            out.push_str(&text[written..cs]);
            out.push_str(REDACTED);
            written = ce;
        }
        out.push_str(&text[written..]);
    }
    for scheme in ["Bearer ", "Basic ", "ApiKey "] {
        out = redact_after(&out, scheme);
    }
    out
}

fn redact_after(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        let (head, tail) = rest.split_at(at + marker.len());
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '}')
            .unwrap_or(tail.len());
        if end > 0 && !tail[..end].starts_with(REDACTED) {
            out.push_str(REDACTED);
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Whether a JSON key names a credential (for debug dumps of events).
pub fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "secret",
        "apikey",
        "api_key",
        "token",
        "password",
        "authorization",
        "credential",
    ]
    .iter()
    .any(|needle| k.contains(needle))
}

/// A copy of `value` with every sensitive key's value replaced.
pub fn redact_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive_key(k) && !v.is_null() {
                        Value::String(REDACTED.to_string())
                    } else {
                        redact_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patterns_of(values: &[&str]) -> Vec<String> {
        values.iter().flat_map(|v| forms(v)).collect()
    }

    fn redact_only(values: &[&str], text: &str) -> String {
        let p = patterns_of(values);
        redact_with(p.iter().map(String::as_str), text)
    }

    #[test]
    fn registered_secrets_and_auth_schemes_are_redacted() {
        register_secret("s3cr3t-value-for-log-test");
        let line = redact("body had s3cr3t-value-for-log-test and Bearer abc.def, Basic Zm9v");
        assert_eq!(
            line,
            "body had [REDACTED] and Bearer [REDACTED], Basic [REDACTED]"
        );
    }

    #[test]
    fn short_values_are_not_registered() {
        register_secret("ab");
        assert_eq!(redact("abc"), "abc");
    }

    fn encode(value: &str, lower: bool, all: bool) -> String {
        value
            .bytes()
            .map(|b| {
                if !all && (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
                    (b as char).to_string()
                } else if lower {
                    format!("%{b:02x}")
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    #[test]
    fn escaped_and_encoded_forms_are_redacted() {
        let secret = "p@ss/w\"rd é+x\ty😀";
        let python_json = "p@ss\\/w\\\"rd \\u00e9+x\\ty\\ud83d\\ude00";
        for echoed in [
            secret.to_string(),
            serde_json::to_string(secret)
                .unwrap()
                .trim_matches('"')
                .to_string(),
            python_json.to_string(),
            encode(secret, false, false),
            encode(secret, true, false),
            encode(secret, false, true),
            encode(secret, false, false).replace("%20", "+"),
            crate::error::one_line(secret),
        ] {
            let out = redact_only(&[secret], &format!("got <{echoed}> back"));
            assert_eq!(out, "got <[REDACTED]> back", "{echoed}");
        }
        // Not a credential: escapes alone change nothing.
        let text = "100% sure, a+b, \\u0041 and \\q";
        assert_eq!(redact_only(&[secret], text), text);
    }

    #[test]
    fn overlapping_secrets_leave_nothing_of_either() {
        let out = redact_only(&["abcdef12", "ef12ghij"], "x abcdef12ghij y");
        assert_eq!(out, "x [REDACTED] y");
        let out = redact_only(&["aaaa"], "aaaaaa");
        assert_eq!(out, "[REDACTED]");
    }

    #[test]
    fn the_store_keeps_every_credential_and_refreshes_reuse() {
        let mut store = Store {
            entries: VecDeque::new(),
            bytes: 0,
        };
        let long = "L".repeat(2000);
        store.register(&long);
        for i in 0..500 {
            store.register(&format!("token-{i:04}-abcdefgh"));
        }
        assert_eq!(store.entries.len(), 501);
        let text = format!("{long} token-0000-abcdefgh");
        assert_eq!(
            redact_with(store.patterns(), &text),
            "[REDACTED] [REDACTED]"
        );
        store.register("token-0000-abcdefgh");
        assert_eq!(store.entries.back().unwrap().value, "token-0000-abcdefgh");
        assert_eq!(store.entries.len(), 501);
    }

    #[test]
    fn the_store_is_bounded_by_bytes_oldest_forgotten_first() {
        let mut store = Store {
            entries: VecDeque::new(),
            bytes: 0,
        };
        let big = |c: char| c.to_string().repeat(MAX_BYTES / 3);
        store.register(&big('a'));
        store.register(&big('b'));
        store.register(&big('c'));
        store.register(&big('d'));
        let kept: Vec<char> = store
            .entries
            .iter()
            .map(|e| e.value.chars().next().unwrap())
            .collect();
        assert_eq!(kept, vec!['b', 'c', 'd']);
        assert!(store.bytes <= MAX_BYTES);
    }

    #[test]
    fn sensitive_json_keys_are_redacted_at_any_depth() {
        let v = json!({"Parameters": {"apiKey": "k", "oauthClientSecret": "s", "action": "a"},
                       "list": [{"access_token": "t"}], "oauthClientId": "id"});
        let r = redact_json(&v);
        assert_eq!(r["Parameters"]["apiKey"], "[REDACTED]");
        assert_eq!(r["Parameters"]["oauthClientSecret"], "[REDACTED]");
        assert_eq!(r["Parameters"]["action"], "a");
        assert_eq!(r["list"][0]["access_token"], "[REDACTED]");
        assert_eq!(r["oauthClientId"], "id");
    }
}
