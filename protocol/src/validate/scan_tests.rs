//! The single-pass scanner against the serde path it replaced: for random events — escapes
//! (short, `\u`, surrogate pairs and lone surrogates), nested values, duplicate and escaped keys,
//! random whitespace, small limits so that every shape limit is hit, and corrupted text — both
//! give the same result (accepted event, or reason, message and `messageId`).

use proptest::prelude::*;

use super::*;
use crate::time::format_rfc3339_millis;

const NOW: UnixMillis = 1_795_540_246_123;

/// A JSON value with a chosen text form.
#[derive(Debug, Clone)]
enum J {
    Lit(&'static str),
    Num(&'static str),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

const WS: [&str; 5] = ["", "", " ", "\n", "\t\r\n "];

fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    *seed >> 33
}

/// Writes `s` as a JSON string, escaping characters in random forms. `U+E000`/`U+E001` stand
/// for the escapes `\ud83d`/`\uDE80` (a surrogate pair in that order, lone surrogates otherwise).
fn write_str(s: &str, seed: &mut u64, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let pick = next(seed) % 4;
        match c {
            '\u{E000}' => out.push_str("\\ud83d"),
            '\u{E001}' => out.push_str("\\uDE80"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str(if pick == 0 { "\\u000a" } else { "\\n" }),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            '/' if pick == 0 => out.push_str("\\/"),
            c if pick == 1 => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn ws(seed: &mut u64, out: &mut String) {
    out.push_str(WS[(next(seed) % WS.len() as u64) as usize]);
}

fn write(j: &J, seed: &mut u64, out: &mut String) {
    match j {
        J::Lit(s) | J::Num(s) => out.push_str(s),
        J::Str(s) => write_str(s, seed, out),
        J::Arr(items) => {
            out.push('[');
            for (n, x) in items.iter().enumerate() {
                ws(seed, out);
                if n > 0 {
                    out.push(',');
                    ws(seed, out);
                }
                write(x, seed, out);
            }
            ws(seed, out);
            out.push(']');
        }
        J::Obj(fields) => write_obj(fields, seed, out),
    }
}

fn write_obj(fields: &[(String, J)], seed: &mut u64, out: &mut String) {
    out.push('{');
    for (n, (k, v)) in fields.iter().enumerate() {
        ws(seed, out);
        if n > 0 {
            out.push(',');
            ws(seed, out);
        }
        write_str(k, seed, out);
        ws(seed, out);
        out.push(':');
        ws(seed, out);
        write(v, seed, out);
    }
    ws(seed, out);
    out.push('}');
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => "[a-z]{1,3}",
            1 => prop::sample::select(vec![
                "\"", "\\", "/", "\n", "\u{7}", "é", "\u{7FF}", "\u{800}", "🚀", "\u{FFFF}",
                "\u{E000}", "\u{E001}", "\u{E000}\u{E001}", "\u{E000}\u{E001}", " ",
            ])
            .prop_map(String::from),
        ],
        0..5,
    )
    .prop_map(|parts| parts.concat())
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => text(),
        1 => prop::sample::select(vec!["properties", "traits", "context", "", "k", "type", "ab"])
            .prop_map(String::from),
    ]
}

fn value() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["null", "true", "false"]).prop_map(J::Lit),
        prop::sample::select(vec![
            "0",
            "-1",
            "12.5",
            "1e5",
            "-0.0E-3",
            "123456789012345678901234"
        ])
        .prop_map(J::Num),
        text().prop_map(J::Str),
    ];
    // Wide objects reach the key-count limit of `properties`/`traits`/`context`.
    let wide = prop::collection::vec((key(), leaf.clone()), 8..16).prop_map(J::Obj);
    let nested = leaf.prop_recursive(7, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(J::Arr),
            prop::collection::vec((key(), inner), 0..4).prop_map(J::Obj),
        ]
    });
    prop_oneof![6 => nested, 1 => wide]
}

/// The fields of a mostly valid event, then extra ones (possibly repeating a name), shuffled.
fn fields() -> impl Strategy<Value = Vec<(String, J)>> {
    let top_name = prop_oneof![
        3 => prop::sample::select(vec![
            "properties", "traits", "context", "integrations", "messageId", "type", "event",
            "name", "userId", "anonymousId", "previousId", "groupId", "timestamp", "sentAt",
            "receivedAt", "t\u{E000}", "typ\u{7}", "",
        ])
        .prop_map(String::from),
        1 => text(),
    ];
    let pick = |valid: &'static str, bad: Vec<&'static str>| prop_oneof![8 => Just(valid), 1 => prop::sample::select(bad)];
    let base = (
        pick("m-1", vec!["m 1", "", "m\\u"]),
        prop_oneof![
            6 => Just("track"),
            2 => Just("page"),
            1 => prop::sample::select(vec!["group", "alias", "Track"]),
        ],
        pick("add", vec!["$click", "$pay", ""]),
        prop_oneof![8 => -86_400_000i64..60_000, 1 => -(40 * 86_400_000i64)..900_000],
        prop::collection::vec(prop::bool::weighted(0.95), 5),
    )
        .prop_map(|(id, kind, event, offset, keep)| {
            let all = [
                ("messageId".to_string(), J::Str(id.into())),
                ("type".to_string(), J::Str(kind.into())),
                ("event".to_string(), J::Str(event.into())),
                (
                    "anonymousId".to_string(),
                    J::Str("a\u{E000}\u{E001}".into()),
                ),
                (
                    "timestamp".to_string(),
                    J::Str(format_rfc3339_millis(NOW + offset)),
                ),
            ];
            // Mostly keep each required field.
            all.into_iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(f, _)| f)
                .collect::<Vec<_>>()
        });
    (base, prop::collection::vec((top_name, value()), 0..4))
        .prop_map(|(mut base, extra)| {
            base.extend(extra);
            base
        })
        .prop_shuffle()
}

/// A corruption of the text: cut it, or insert a character at a char boundary.
fn corrupt(text: &mut String, at: usize, what: Option<char>) {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match what {
        None => text.truncate(at),
        Some(c) => text.insert(at, c),
    }
}

fn same(json: &str, ck: &Checker<'_>) -> Result<(), TestCaseError> {
    let fast = validate_event(json, ck);
    let slow = validate_event_serde(json, ck);
    match (&fast, &slow) {
        (Ok(a), Ok(b)) => prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}", json),
        (Err(a), Err(b)) => prop_assert_eq!(a, b, "{}", json),
        _ => prop_assert!(false, "fast {:?} vs serde {:?}: {}", fast, slow, json),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4096,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn scanner_agrees_with_serde_path(
        fields in fields(),
        seed in any::<u64>(),
        depth in 2usize..6,
        string in prop_oneof![1 => 0usize..12, 3 => 24usize..30],
        key in 0usize..6,
        props in prop_oneof![1 => 1usize..6, 4 => 11usize..14],
        sent_at in prop::option::of(Just(NOW - 40 * 86_400_000)),
        corruption in prop::option::weighted(0.15, (any::<usize>(), prop::option::of(
            prop::sample::select(vec!['{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', 'a', '\u{1}', '\u{a0}']),
        ))),
    ) {
        let limits = Limits {
            max_depth: depth,
            max_string_bytes: string,
            max_key_bytes: key,
            max_properties: props,
            ..Limits::default()
        };
        let mut seed = seed;
        let mut json = String::new();
        ws(&mut seed, &mut json);
        write_obj(&fields, &mut seed, &mut json);
        ws(&mut seed, &mut json);
        if let Some((at, what)) = corruption {
            corrupt(&mut json, at, what);
        }
        let ck = Checker { limits: &limits, received_at: NOW, sent_at, implied_type: None };
        same(&json, &ck)?;
        // The defaults too (most events are accepted under them).
        let defaults = Limits::default();
        same(&json, &Checker { limits: &defaults, ..ck })?;
    }
}

#[test]
fn fixed_cases_agree() {
    let l = Limits::default();
    let ck = Checker {
        limits: &l,
        received_at: NOW,
        sent_at: None,
        implied_type: None,
    };
    let ts = format_rfc3339_millis(NOW);
    let ok = format!(
        r#"{{"messageId":"m","type":"track","event":"e","anonymousId":"a","timestamp":"{ts}""#
    );
    let deep = |n: usize| "[".repeat(n) + &"]".repeat(n);
    let cases = [
        format!("{ok}}}"),
        format!("{ok},\"properties\":{{\"a\":{}}}}}", deep(200)),
        format!("{ok},\"x\":{}}}", deep(127)),
        format!("{ok},\"x\":{}}}", deep(128)),
        format!("{ok},\"x\":{}}}", deep(129)),
        format!("{ok},\"x\":{}]}}", deep(300)),
        format!("{ok},\"\\u0074ype\":1}}"),
        format!("{ok},\"\\ud800\":1}}"),
        format!("{ok},\"\\udc00x\":1}}"),
        format!("{ok},\"x\":\"\\ud800\"}}"),
        format!("{ok},\"x\":01}}"),
        format!("{ok},\"x\":1.}}"),
        format!("{ok},\"x\":-}}"),
        format!("{ok},\"x\":1e}}"),
        format!("{ok},\"x\":tru}}"),
        format!("{ok},\"x\":[1,]}}"),
        format!("{ok},}}"),
        format!("{ok}}} x"),
        format!("{ok}}}\u{a0}"),
        format!("\u{feff}{ok}}}"),
        format!("\u{3000}{ok}}}"),
        format!("{ok},\"x\":\"\\x\"}}"),
        format!("{ok},\"x\":\"\t\"}}"),
        format!("{ok},\"x\":{{\"a\":1,}}}}"),
        "{}".into(),
        "  [1]".into(),
        "\"s\"".into(),
        String::new(),
    ];
    for json in &cases {
        same(json, &ck).unwrap_or_else(|e| panic!("{e}"));
    }
    // Decoded lengths at the limit: 2-, 3- and 4-byte escapes, lone surrogates (3).
    let small = Limits {
        max_string_bytes: 4,
        max_key_bytes: 4,
        ..Limits::default()
    };
    let ck = Checker {
        limits: &small,
        ..ck
    };
    let ok = r#"{"messageId":"m","type":"page","anonymousId":"a""#;
    for s in [
        r"\u00e9\u00e9",
        r"\u00e9\u00e9a",
        r"\u07FF\u07ff",
        r"\u0800a",
        r"\u0800ab",
        r"\ud83d\ude80",
        r"\ud83d\ude80a",
        r"\ud83da",
        r"\ud83dab",
        r"\ude80\ud83d",
        r"\n\t\/\\",
        r#"\n\t\/\\\""#,
    ] {
        same(&format!("{ok},\"x\":[\"{s}\"]}}"), &ck).unwrap_or_else(|e| panic!("{e}"));
        same(&format!("{ok},\"x\":{{\"{s}\":1}}}}"), &ck).unwrap_or_else(|e| panic!("{e}"));
    }
}
