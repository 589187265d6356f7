//! The two texts that cross the boundary on every call of `Maidian#call` (pure, no `JsValue`):
//! the arguments the host sends (a JSON array, from its `JSON.stringify`) and the reply the
//! host decodes (js-wrapper/src/core-adapter.mjs, `decode`).
//!
//! ## Reply
//! `!message` for an error (the host throws `new Error(message)`); otherwise
//! `HEAD '\n' TAIL`. `HEAD` is one line of JSON (the JSON writer escapes every control
//! character, so it has no raw newline): a flat array `[result, kind, fields…, kind, fields…]`
//! of the operation's result (`null` for inputs; any JSON) followed by the effects of
//! [`crate::core::effects`], in order, each as its kind number and its fields. A string field
//! is its length in UTF-16 code units in the head and its text in `TAIL`, the texts of all
//! string fields one after the other in head order:
//!
//! | kind | effect | fields |
//! |---|---|---|
//! | 0 | `persist` | `key` (text), `value` (text) |
//! | 1 | `remove` | `key` (text) |
//! | 2 | `send` | `batchId`, `url` (text), `headers` (JSON object), `events` |
//! | 3 | `wakeAt` | `at` (number or `null`) |
//! | 4 | `log` | `level` (`"debug"` / `"warn"`), `message` (text) |
//!
//! So the ≈ 1 KB event text of a `persist` is neither escaped here nor unescaped by
//! `JSON.parse`, and the head of a `track()` reply is only numbers; the host slices `TAIL` with
//! `String#slice`, which counts UTF-16 code units, hence the lengths in those units
//! ([`utf16_len`]). A `send` body is fetched with `Maidian#body()`, once per `send`, in order
//! ([`Bodies`]). Flat, not one object per effect: V8's `JSON.parse` of the object form took
//! 1.2 µs per `track()` reply, of the flat form 0.3 µs; JS builds the effect objects from
//! literals of fixed shape. Strings out of the head: 0.2 µs less again per reply (no string
//! to parse and internalize per key).

use std::collections::VecDeque;

use crate::core::jv::{Json, Obj};

use crate::core::{Effect, Level, json_text, json_write, text};

/// The request bodies of `send` effects handed out in a reply and not yet fetched, oldest
/// first.
pub type Bodies = VecDeque<Vec<u8>>;

/// The JSON array of arguments, as [`Args`]. A lone UTF-16 surrogate (which the host's
/// `JSON.stringify` writes as a `\uD8xx` escape and JSON parsers reject) becomes U+FFFD, as the
/// host's `TextEncoder` would make it; `None` if the text is not a JSON array.
pub fn parse_args(text: &str) -> Option<Args> {
    let value = match json_text::parse(text) {
        Some(v) => v,
        None => json_text::parse(&well_formed(text)?)?,
    };
    match value {
        Json::Arr(values) => Some(Args(values)),
        _ => None,
    }
}

/// `text` with every `\uXXXX` escape of an unpaired surrogate replaced by `\ufffd`, or `None`
/// if it has none (only called after a strict parse failed, so the common path pays nothing).
fn well_formed(text: &str) -> Option<String> {
    fn hex4(b: &[u8]) -> Option<u32> {
        let digits = b.get(..4)?;
        digits
            .iter()
            .try_fold(0, |v, &d| Some(v * 16 + char::from(d).to_digit(16)?))
    }
    fn escape_at(b: &[u8], i: usize) -> Option<u32> {
        if b.get(i..i + 2)? == b"\\u" {
            hex4(&b[i + 2..])
        } else {
            None
        }
    }
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escape_at(b, i) else {
            i += 2; // any other escape: skip the escaped byte (it may be a backslash)
            continue;
        };
        let paired = (0xD800..0xDC00).contains(&unit)
            && escape_at(b, i + 6).is_some_and(|lo| (0xDC00..0xE000).contains(&lo));
        if paired {
            i += 12;
        } else if (0xD800..0xE000).contains(&unit) {
            // Escapes are ASCII, hence char boundaries.
            out.push_str(&text[copied..i]);
            out.push_str("\\ufffd");
            i += 6;
            copied = i;
        } else {
            i += 6;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The arguments of one call, by position. A missing trailing argument reads as `null` (the
/// host's `undefined`).
#[derive(Debug)]
pub struct Args(Vec<Json>);

impl Args {
    fn get(&self, i: usize) -> &Json {
        self.0.get(i).unwrap_or(&Json::Null)
    }

    /// The JSON value at `i`, taken out (`null` if absent).
    pub fn take(&mut self, i: usize) -> Json {
        self.0.get_mut(i).map(Json::take).unwrap_or_default()
    }

    /// The host time: a number at `i` (NaN if it is not one: `JSON.stringify(NaN)` is `null`).
    pub fn number(&self, i: usize) -> f64 {
        self.get(i).as_f64().unwrap_or(f64::NAN)
    }

    /// An optional number at `i` (`null` / absent is `None`).
    pub fn opt_number(&self, i: usize) -> Result<Option<f64>, &'static str> {
        match self.get(i) {
            Json::Null => Ok(None),
            v => v.as_f64().map(Some).ok_or("expected a number"),
        }
    }

    /// A string at `i`.
    pub fn str(&self, i: usize) -> Result<&str, &'static str> {
        self.get(i).as_str().ok_or("expected a string")
    }

    /// An optional string at `i` (`null` / absent is `None`).
    pub fn opt_str(&self, i: usize) -> Result<Option<&str>, &'static str> {
        match self.get(i) {
            Json::Null => Ok(None),
            Json::Str(s) => Ok(Some(s)),
            _ => Err("expected a string"),
        }
    }

    /// A properties object at `i`, taken out (`null` / absent is empty).
    pub fn props(&mut self, i: usize) -> Result<Obj, &'static str> {
        match self.take(i) {
            Json::Obj(m) => Ok(m),
            Json::Null => Ok(Obj::new()),
            _ => Err("properties must be an object"),
        }
    }
}

/// The length of `s` in UTF-16 code units (what JS's `String#length` counts).
pub fn utf16_len(s: &str) -> usize {
    if s.is_ascii() {
        return s.len();
    }
    // One unit per character (every byte but continuation bytes), two for a 4-byte one.
    s.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// The error reply: `!` and the message (module doc).
pub fn error(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 1);
    out.push('!');
    out.push_str(message);
    out
}

/// The reply text: `result`, then `effects` (bodies moved to `bodies`). See the module doc.
pub fn reply(result: &Json, effects: Vec<Effect>, bodies: &mut Bodies) -> String {
    let mut head = String::with_capacity(64);
    let mut tail = String::new();
    head.push('[');
    json_write::value(&mut head, result);
    let number = |head: &mut String, n: u64| {
        head.push(',');
        text::push_u64(head, n);
    };
    // A string field: its UTF-16 length in the head, the text in the tail.
    let text = |head: &mut String, tail: &mut String, s: &str| {
        number(head, utf16_len(s) as u64);
        tail.push_str(s);
    };
    for e in effects {
        head.push(',');
        match e {
            Effect::Persist { key, value } => {
                head.push('0');
                text(&mut head, &mut tail, &key);
                text(&mut head, &mut tail, &value);
            }
            Effect::Remove { key } => {
                head.push('1');
                text(&mut head, &mut tail, &key);
            }
            Effect::Send {
                batch_id,
                url,
                body,
                headers,
                events,
            } => {
                head.push('2');
                number(&mut head, batch_id.into());
                text(&mut head, &mut tail, &url);
                head.push(',');
                json_write::object(&mut head, &headers);
                number(&mut head, events.into());
                bodies.push_back(body);
            }
            Effect::WakeAt { at } => {
                head.push('3');
                // `null` cancels.
                head.push(',');
                match at {
                    Some(t) => text::push_i64(&mut head, t),
                    None => head.push_str("null"),
                }
            }
            Effect::Log { level, message } => {
                head.push_str(match level {
                    Level::Debug => r#"4,"debug""#,
                    Level::Warn => r#"4,"warn""#,
                });
                text(&mut head, &mut tail, &message);
            }
        }
    }
    head.reserve(tail.len() + 2);
    head.push_str("]\n");
    head.push_str(&tail);
    head
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn args_are_a_json_array_read_by_position() {
        let mut a = parse_args(r#"[1700000000123.5,"view",{"a":1},null]"#).unwrap();
        assert_eq!(a.number(0), 1_700_000_000_123.5);
        assert_eq!(a.str(1), Ok("view"));
        assert_eq!(
            a.props(2).unwrap(),
            crate::core::jv::obj_of(json!({"a": 1}))
        );
        assert_eq!(a.props(3).unwrap(), Obj::new(), "null properties are empty");
        assert_eq!(
            a.props(9).unwrap(),
            Obj::new(),
            "absent properties are empty"
        );
        assert_eq!(a.opt_str(3), Ok(None));
        assert_eq!(a.opt_number(7), Ok(None));
        assert_eq!(a.str(0), Err("expected a string"));
        assert_eq!(a.opt_str(0), Err("expected a string"));
        assert!(a.number(3).is_nan(), "a time that is not a number is NaN");

        let mut scalar = parse_args("[0,5]").unwrap();
        assert_eq!(scalar.props(1), Err("properties must be an object"));
        let mut list = parse_args("[0,[1]]").unwrap();
        assert_eq!(list.props(1), Err("properties must be an object"));

        assert!(parse_args(r#"{"a":1}"#).is_none(), "not an array");
        assert!(parse_args("[1,").is_none(), "not JSON");
        assert!(parse_args("").is_none());
    }

    #[test]
    fn lone_surrogate_escapes_become_replacement_characters() {
        // What JSON.stringify writes for "a\ud800b\udc00" and for a valid pair.
        let a = parse_args(r#"["a\ud800b\udc00","\ud83d\ude80","\\ud800",{"k\udfff":"\ud800"}]"#)
            .unwrap();
        assert_eq!(a.str(0), Ok("a\u{fffd}b\u{fffd}"));
        assert_eq!(a.str(1), Ok("🚀"));
        assert_eq!(
            a.str(2),
            Ok("\\ud800"),
            "an escaped backslash is not an escape"
        );
        assert_eq!(a.get(3), &Json::from(json!({"k\u{fffd}": "\u{fffd}"})));
        // A high surrogate followed by a non-low escape, and one at the very end.
        let a = parse_args(r#"["\ud800\u0041","x\udbff"]"#).unwrap();
        assert_eq!(a.str(0), Ok("\u{fffd}A"));
        assert_eq!(a.str(1), Ok("x\u{fffd}"));
        // Nothing to repair: still invalid.
        assert!(well_formed(r#"["\u0041"]"#).is_none());
        assert!(parse_args(r#"["\u00"]"#).is_none());
    }

    #[test]
    fn utf16_lengths_match_js_string_lengths() {
        for (s, n) in [
            ("", 0),
            ("ascii", 5),
            ("é", 1),
            ("埋点", 2),
            ("🚀", 2),
            ("a埋🚀\n\u{10ffff}", 7),
        ] {
            assert_eq!(utf16_len(s), n, "{s:?}");
            assert_eq!(utf16_len(s), s.encode_utf16().count(), "{s:?}");
        }
    }

    #[test]
    fn reply_has_a_json_head_and_the_persisted_values_verbatim() {
        let mut bodies = Bodies::new();
        let effects = vec![
            Effect::Persist {
                key: "md_q1".into(),
                value: "{\"event\":\"埋点🚀\"}\n{\"b\":\"\\\"\"}".into(),
            },
            Effect::Remove {
                key: "md_q0".into(),
            },
            Effect::Send {
                batch_id: 3,
                url: "https://t/v1/batch".into(),
                body: vec![0x1f, 0x8b],
                headers: crate::core::jv::obj_of(json!({"X-Write-Key": "k"})),
                events: 2,
            },
            Effect::Persist {
                key: "md_state".into(),
                value: "s".into(),
            },
            Effect::WakeAt {
                at: Some(1_700_000_000_123),
            },
            Effect::WakeAt { at: None },
            Effect::Log {
                level: Level::Warn,
                message: "line\nbreak \"q\"".into(),
            },
        ];
        let text = reply(&Json::Null, effects, &mut bodies);
        let (head, tail) = text.split_once('\n').unwrap();
        let head: Value = serde_json::from_str(head).unwrap();
        assert_eq!(
            head,
            json!([
                null,
                0, 5, 27,
                1, 5,
                2, 3, 18, {"X-Write-Key": "k"}, 2,
                0, 8, 1,
                3, 1_700_000_000_123u64,
                3, null,
                4, "warn", 14,
            ])
        );
        // The host slices the tail by UTF-16 lengths, in head order.
        let units: Vec<u16> = tail.encode_utf16().collect();
        let mut at = 0;
        let texts: Vec<String> = [5, 27, 5, 18, 8, 1, 14]
            .into_iter()
            .map(|n| {
                at += n;
                String::from_utf16(&units[at - n..at]).unwrap()
            })
            .collect();
        assert_eq!(
            texts,
            [
                "md_q1",
                "{\"event\":\"埋点🚀\"}\n{\"b\":\"\\\"\"}",
                "md_q0",
                "https://t/v1/batch",
                "md_state",
                "s",
                "line\nbreak \"q\"",
            ]
        );
        assert_eq!(at, units.len());
        assert_eq!(bodies, [vec![0x1f, 0x8b]]);
    }

    #[test]
    fn a_query_reply_carries_its_result() {
        let mut bodies = Bodies::new();
        let text = reply(&Json::from("a\"b"), Vec::new(), &mut bodies);
        assert_eq!(text, "[\"a\\\"b\"]\n");
        assert!(bodies.is_empty());
    }
}
