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
/// [`crate::error::one_line`] leaves it. Escaped and encoded forms are
/// matched in place (see [`match_at`]), whatever the encoder chose.
fn forms(value: &str) -> Vec<String> {
    let flat = crate::error::one_line(value);
    if flat == value {
        vec![value.to_string()]
    } else {
        vec![value.to_string(), flat]
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The ways the text at `i` can spell the pattern's next bytes: how many
/// text bytes and how many pattern bytes each consumes. Literally; as a
/// percent-escape (any hex case, even of a character that needs none) or `+`
/// for space; as a JSON escape (`\"`, `\n`, `\u00e9`, surrogate pairs).
fn steps(text: &[u8], i: usize, pattern: &[u8], j: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (Some(&t), Some(&p)) = (text.get(i), pattern.get(j)) else {
        return out;
    };
    if t == p {
        out.push((1, 1));
    }
    match t {
        b'%' => {
            let byte = text
                .get(i + 1..i + 3)
                .and_then(|h| Some(hex(h[0])? << 4 | hex(h[1])?));
            if byte == Some(p) {
                out.push((3, 1));
            }
        }
        b'+' if p == b' ' => out.push((1, 1)),
        b'\\' => {
            let simple = match text.get(i + 1) {
                Some(b'"') => Some(b'"'),
                Some(b'\\') => Some(b'\\'),
                Some(b'/') => Some(b'/'),
                Some(b'b') => Some(8),
                Some(b'f') => Some(12),
                Some(b'n') => Some(b'\n'),
                Some(b'r') => Some(b'\r'),
                Some(b't') => Some(b'\t'),
                _ => None,
            };
            if simple == Some(p) {
                out.push((2, 1));
            }
            if let Some((len, c)) = json_unicode(text, i) {
                let mut buf = [0u8; 4];
                let bytes = c.encode_utf8(&mut buf).as_bytes();
                if pattern[j..].starts_with(bytes) {
                    out.push((len, bytes.len()));
                }
            }
        }
        _ => {}
    }
    out
}

/// `\uXXXX` (or a surrogate pair of them) at `i`: its length and character.
fn json_unicode(text: &[u8], i: usize) -> Option<(usize, char)> {
    let unit = |at: usize| -> Option<u32> {
        if text.get(at..at + 2)? != b"\\u" {
            return None;
        }
        let digits = std::str::from_utf8(text.get(at + 2..at + 6)?).ok()?;
        u32::from_str_radix(digits, 16).ok()
    };
    let hi = unit(i)?;
    if (0xD800..0xDC00).contains(&hi) {
        let lo = unit(i + 6).filter(|lo| (0xDC00..0xE000).contains(lo))?;
        let c = char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?;
        return Some((12, c));
    }
    Some((6, char::from_u32(hi)?))
}

/// The end of a spelling of `pattern` that starts at `start`, if any. A
/// search over (text, pattern) positions, each visited once: bounded by
/// the pattern's length times the longest escape. Most starts fail on
/// their first byte, before anything is allocated.
fn match_at(text: &[u8], start: usize, pattern: &[u8]) -> Option<usize> {
    let first = steps(text, start, pattern, 0);
    if first.is_empty() {
        return None;
    }
    let mut stack: Vec<(usize, usize)> = first.iter().map(|(di, dj)| (start + di, *dj)).collect();
    let mut seen: Vec<(usize, usize)> = Vec::new();
    while let Some((i, j)) = stack.pop() {
        if j == pattern.len() {
            return Some(i);
        }
        if seen.contains(&(i, j)) {
            continue;
        }
        seen.push((i, j));
        for (di, dj) in steps(text, i, pattern, j) {
            stack.push((i + di, j + dj));
        }
    }
    None
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

/// Replaces every registered credential (in any of its forms) only, for
/// data such as the answer to Connect, where "Basic plan" is not a header.
pub fn redact_credentials(text: &str) -> String {
    let store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    replace_spans(store.patterns(), text, text.len())
}

/// The redacted start of `text`, up to byte `keep` (rounded down to a
/// character): for cutting long text. Only `keep` bytes plus room for the
/// longest spelling of a credential are searched, so the cost does not grow
/// with the text, and a credential that starts before the cut is replaced
/// whole.
pub fn redact_prefix(text: &str, keep: usize) -> String {
    let mut keep = keep.min(text.len());
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    let store = STORE.lock().unwrap_or_else(|e| e.into_inner());
    // A byte of a credential is spelled in at most 6 (`\u0041`).
    let longest = store.patterns().map(str::len).max().unwrap_or(0);
    let mut end = text.len().min(keep + 6 * longest);
    while !text.is_char_boundary(end) {
        end += 1;
    }
    redact_upto(store.patterns(), &text[..end], keep)
}

/// Like [`redact`], but gives up (`None`) instead of waiting for a lock:
/// for the panic hook, which may run while that lock is held.
pub fn try_redact(text: &str) -> Option<String> {
    let store = STORE.try_lock().ok()?;
    Some(crate::error::one_line(&redact_with(store.patterns(), text)))
}

/// Replaces the union of every occurrence of every pattern, literal or
/// escaped (overlapping ones merged, so two credentials that overlap leave
/// nothing of either).
fn redact_with<'a>(patterns: impl Iterator<Item = &'a str>, text: &str) -> String {
    redact_upto(patterns, text, text.len())
}

/// [`redact_with`], keeping only what lies before byte `keep` (a character
/// boundary): a credential that starts before `keep` is replaced whole, even
/// where it runs past it, so the cut never leaves a piece of one.
fn redact_upto<'a>(patterns: impl Iterator<Item = &'a str>, text: &str, keep: usize) -> String {
    let mut out = replace_spans(patterns, text, keep);
    for scheme in ["Bearer ", "Basic ", "ApiKey "] {
        out = redact_after(&out, scheme);
    }
    out
}

/// The registered credentials in `text` replaced, up to byte `keep`.
fn replace_spans<'a>(patterns: impl Iterator<Item = &'a str>, text: &str, keep: usize) -> String {
    let spans = spans(patterns, text);
    let mut out = String::with_capacity(keep.min(text.len()));
    let mut written = 0;
    for (s, e) in spans {
        if s >= keep {
            break;
        }
        out.push_str(&text[written..s]);
        out.push_str(REDACTED);
        written = e;
    }
    if written < keep {
        out.push_str(&text[written..keep]);
    }
    out
}

/// Where the patterns occur in `text`, merged, sorted, on character boundaries.
fn spans<'a>(patterns: impl Iterator<Item = &'a str>, text: &str) -> Vec<(usize, usize)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let bytes = text.as_bytes();
    let escaped = bytes.iter().any(|b| matches!(b, b'%' | b'+' | b'\\'));
    for pattern in patterns {
        if escaped {
            // Any start can begin a spelling: escapes are matched in place,
            // so text before the echo cannot shift how it is decoded.
            let p = pattern.as_bytes();
            for start in 0..bytes.len() {
                let b = bytes[start];
                if b != p[0] && !matches!(b, b'%' | b'+' | b'\\') {
                    continue;
                }
                if let Some(end) = match_at(bytes, start, p) {
                    spans.push((start, end));
                }
            }
            continue;
        }
        let mut from = 0;
        while let Some(at) = text[from..].find(pattern) {
            let start = from + at;
            spans.push((start, start + pattern.len()));
            // Next search from the next character: overlapping matches count.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    // Whole characters only (a safety net: matches start and end on them).
    for (s, e) in &mut spans {
        while !text.is_char_boundary(*s) {
            *s -= 1;
        }
        while !text.is_char_boundary(*e) {
            *e += 1;
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some((_, end)) if s <= *end => *end = (*end).max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
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
        // Text just before the echo cannot shift how it is decoded.
        for before in ["%1", "%", "\\", "\\u00", "+", "%2"] {
            let text = format!("{before}{}", encode(secret, false, false));
            let out = redact_only(&[secret], &text);
            assert_eq!(out, format!("{before}[REDACTED]"), "{text}");
        }
        // Found by the fuzzer: "%1" then an echo starting with a hex digit.
        let hexy = "Cs4\"Zr%41 Wm-Zk3uu";
        let out = redact_only(&[hexy], "}\"%1Cs4%22Zr%2541%20Wm-Zk3uu");
        assert_eq!(out, "}\"%1[REDACTED]");
        let json = serde_json::to_string(secret).unwrap();
        let out = redact_only(&[secret], &format!("\\{json}"));
        assert!(out.ends_with("[REDACTED]\""), "{out}");
        // Not a credential: escapes alone change nothing.
        let text = "100% sure, a+b, \\u0041 and \\q";
        assert_eq!(redact_only(&[secret], text), text);
    }

    /// Not a timing assertion: prints how long a pathological megabyte
    /// takes (`cargo test --release --lib redact::tests::cost -- --ignored
    /// --nocapture`).
    #[test]
    #[ignore = "prints a measurement"]
    fn cost_of_a_pathological_megabyte() {
        let secrets: Vec<String> = (0..10)
            .map(|i| format!("A%+\\secret-{i:02}-xyzzy"))
            .collect();
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for unit in ["%41", "%", "+", "\\u0041", "A", "\\\\"] {
            let text = unit.repeat(1024 * 1024 / unit.len());
            let t = std::time::Instant::now();
            let out = redact_only(&refs, &text);
            println!("{unit:>8}: {:?} ({} bytes out)", t.elapsed(), out.len());
        }
    }

    #[test]
    fn a_cut_never_leaves_a_piece_of_a_credential() {
        let secret = "cut-secret-0123456789";
        let text = format!("abc {secret} def");
        for keep in 0..text.len() {
            let out = redact_upto([secret].into_iter(), &text, keep);
            assert!(
                !out.contains("cut-s") && !out.contains("6789"),
                "{keep}: {out}"
            );
            assert!(out.len() <= keep.max(4 + REDACTED.len()), "{keep}: {out}");
        }
        // Escaped, across the cut.
        let text = format!("abc {}", secret.replace('-', "%2d"));
        for keep in 5..text.len() {
            let out = redact_upto([secret].into_iter(), &text, keep);
            assert_eq!(out, "abc [REDACTED]", "{keep}");
        }
        register_secret("prefix-secret-9876543210");
        let out = redact_prefix("x prefix-secret-9876543210 y", 5);
        assert_eq!(out, "x [REDACTED]");
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
