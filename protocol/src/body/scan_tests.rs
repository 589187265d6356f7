//! The byte-scan split against the serde_json path it shortcuts: for random bodies — batch
//! objects and arrays with random whitespace, nested values, strings holding brackets, quotes
//! and escapes, deep nesting, a BOM, trailing text, `sentAt` and `batch` variants, repeated and
//! escaped keys, small item limits and corrupted text — both give the same result (form,
//! `sentAt`, the exact span of every item, or the same error). Validating the split's items
//! with the event scans it made on the way answers exactly what validating each item's text on
//! its own does, also under other limits than the split's.

use proptest::prelude::*;

use super::*;
use crate::validate::{Checker, validate_event, validate_items};

fn next(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

fn pick<'s>(seed: &mut u64, from: &[&'s str]) -> &'s str {
    from[(next(seed) % from.len() as u64) as usize]
}

fn ws(seed: &mut u64, out: &mut String) {
    // Mostly JSON whitespace; rarely a form feed, which JSON does not allow.
    let w = if next(seed) % 1000 == 0 {
        "\u{c}"
    } else {
        pick(seed, &["", "", "", " ", "\n", "\t\r\n "])
    };
    out.push_str(w);
}

const STRING_PIECES: [&str; 18] = [
    "a",
    "[",
    "]",
    "{",
    "}",
    "\\\"",
    "\\\\",
    "\\u0041",
    "\\ud83d\\ude00",
    "\\ud800",
    "\u{e9}",
    "\\n",
    ",",
    ":",
    " ",
    "\\/",
    "batch",
    "\\u00",
];

fn string(seed: &mut u64, out: &mut String) {
    out.push('"');
    for _ in 0..next(seed) % 6 {
        let p = pick(seed, &STRING_PIECES);
        // `\u00` alone is an invalid escape; keep it rare.
        if p == "\\u00" && next(seed) % 8 != 0 {
            continue;
        }
        out.push_str(p);
    }
    if next(seed) % 1000 == 0 {
        out.push('\u{1}');
    }
    out.push('"');
}

fn value(seed: &mut u64, depth: usize, out: &mut String) {
    let k = next(seed) % if depth >= 4 { 6 } else { 9 };
    match k {
        // Invalid numbers and literals are rare, so that most bodies stay valid.
        0 if next(seed) % 40 == 0 => {
            out.push_str(pick(seed, &["01", "1.", "-", "2e", "nul", "tru"]))
        }
        0 => out.push_str(pick(
            seed,
            &["0", "-1", "12.5e3", "1E+2", "-0.0", "1e400", "3"],
        )),
        1 => out.push_str(pick(seed, &["true", "false", "null"])),
        2..=5 => string(seed, out),
        6 | 7 => {
            out.push('{');
            ws(seed, out);
            let n = next(seed) % 4;
            for j in 0..n {
                if j > 0 {
                    out.push(',');
                    ws(seed, out);
                }
                string(seed, out);
                ws(seed, out);
                out.push(':');
                ws(seed, out);
                value(seed, depth + 1, out);
                ws(seed, out);
            }
            out.push('}');
        }
        _ => {
            out.push('[');
            ws(seed, out);
            let n = next(seed) % 4;
            for j in 0..n {
                if j > 0 {
                    out.push(',');
                    ws(seed, out);
                }
                value(seed, depth + 1, out);
                ws(seed, out);
            }
            out.push(']');
        }
    }
}

fn item(seed: &mut u64, out: &mut String) {
    match next(seed) % 40 {
        // Nesting around serde_json's recursion limit.
        0 => {
            let n = 90 + (next(seed) % 45) as usize;
            out.push_str(&"[".repeat(n));
            out.push_str(&"]".repeat(n));
        }
        1..=4 => value(seed, 0, out),
        5..=14 => {
            // A valid track event (unless a small limit or a repeated key refuses it).
            out.push_str("{\"type\":\"track\",\"event\":\"add_to_cart\",");
            ws(seed, out);
            out.push_str("\"messageId\":\"m-");
            out.push_str(&(next(seed) % 1000).to_string());
            out.push_str("\",\"anonymousId\":\"a-1\",\"properties\":");
            value(seed, 1, out);
            if next(seed) % 8 == 0 {
                out.push_str(",\"type\":\"track\"");
            }
            out.push('}');
        }
        _ => {
            // An event-like object.
            out.push_str("{\"messageId\":");
            string(seed, out);
            out.push(',');
            ws(seed, out);
            out.push_str("\"properties\":");
            ws(seed, out);
            value(seed, 1, out);
            out.push('}');
        }
    }
}

fn items(seed: &mut u64, out: &mut String) {
    out.push('[');
    ws(seed, out);
    let n = next(seed) % 5;
    for j in 0..n {
        if j > 0 {
            out.push(',');
            ws(seed, out);
        }
        item(seed, out);
        ws(seed, out);
    }
    out.push(']');
}

fn body(seed: &mut u64) -> String {
    let mut out = String::new();
    if next(seed) % 8 == 0 {
        out.push('\u{feff}');
    }
    ws(seed, &mut out);
    if next(seed) % 3 == 0 {
        items(seed, &mut out);
    } else {
        out.push('{');
        ws(seed, &mut out);
        let n = next(seed) % 5;
        for j in 0..n {
            if j > 0 {
                out.push(',');
                ws(seed, &mut out);
            }
            let key = pick(
                seed,
                &[
                    "\"batch\"",
                    "\"batch\"",
                    "\"batch\"",
                    "\"sentAt\"",
                    "\"sentAt\"",
                    "\"context\"",
                    "\"b\\u0061tch\"",
                    "\"x\\n\"",
                    "\"type\"",
                ],
            );
            out.push_str(key);
            ws(seed, &mut out);
            out.push(':');
            ws(seed, &mut out);
            match (key, next(seed) % 8) {
                ("\"batch\"" | "\"b\\u0061tch\"", 0) => out.push_str("null"),
                ("\"batch\"" | "\"b\\u0061tch\"", 1) => value(seed, 0, &mut out),
                ("\"batch\"" | "\"b\\u0061tch\"", _) => items(seed, &mut out),
                ("\"sentAt\"", k) => out.push_str(match k {
                    0 => "null",
                    1 => "\"yesterday\"",
                    2 => "5",
                    3 => "\"2026-11-24T17:10:46\\u002e123Z\"",
                    4 => "{}",
                    _ => "\"2026-11-24T17:10:46.123Z\"",
                }),
                _ => value(seed, 0, &mut out),
            }
            ws(seed, &mut out);
        }
        out.push('}');
    }
    ws(seed, &mut out);
    out.push_str(pick(
        seed,
        &[
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            " ",
            "\n",
            "\n{\"a\":1}",
            "x",
            "]",
            "\r\n{}\n",
        ],
    ));
    out
}

fn corrupt(seed: &mut u64, text: &str) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    if b.is_empty() {
        return b;
    }
    let at = (next(seed) % b.len() as u64) as usize;
    let byte = *b"\"[]{},:\\ x\n0\xff"
        .get((next(seed) % 14) as usize)
        .unwrap_or(&b'x');
    match next(seed) % 3 {
        0 => {
            b.remove(at);
        }
        1 => b.insert(at, byte),
        _ => b[at] = byte,
    }
    b
}

/// Items as spans of the input, so equal text at another place does not pass.
fn spans(body: &[u8], r: &Result<Body<'_>, RequestError>) -> Vec<(usize, usize)> {
    let base = body.as_ptr() as usize;
    match r {
        Ok(b) => b
            .items
            .iter()
            .map(|i| match i {
                Item::Json(t) => (t.as_ptr() as usize - base, t.len()),
                Item::Unparseable(t) => (t.as_ptr() as usize - base, usize::MAX - t.len()),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn check(body: &[u8], hint: Hint, limits: &Limits) {
    let fast = split_body(body, hint, limits);
    let serde = split_body_serde(body, hint, limits);
    assert_eq!(fast, serde, "{:?}", String::from_utf8_lossy(body));
    assert_eq!(spans(body, &fast), spans(body, &serde));
}

/// Tight limits for validation, so shape, key-count and size refusals come up.
fn tight() -> Limits {
    Limits {
        max_properties: 3,
        max_depth: 3,
        max_string_bytes: 8,
        max_key_bytes: 4,
        max_event_bytes: 120,
        ..Limits::default()
    }
}

/// Validating the split's items (with its event scans) against validating each item alone;
/// returns how many items came with a scan.
fn check_validation(body: &[u8], hint: Hint, split_limits: &Limits, ck_limits: &Limits) -> usize {
    let Ok(mut split) = split_body(body, hint, split_limits) else {
        return 0;
    };
    let scans = split.scanned.iter().filter(|s| s.is_some()).count();
    let ck = Checker {
        limits: ck_limits,
        received_at: 1_790_000_000_000,
        sent_at: split.sent_at,
        implied_type: None,
    };
    let alone: Vec<String> = split
        .items
        .iter()
        .map(|i| match i {
            Item::Json(t) => format!("{:?}", validate_event(t, &ck)),
            Item::Unparseable(_) => "unparseable".to_owned(),
        })
        .collect();
    let results = validate_items(&mut split, &ck);
    let together: Vec<String> = results
        .iter()
        .zip(&split.items)
        .map(|(r, i)| match i {
            Item::Json(_) => format!("{r:?}"),
            Item::Unparseable(_) => "unparseable".to_owned(),
        })
        .collect();
    assert_eq!(alone, together, "{:?}", String::from_utf8_lossy(body));
    assert!(split.scanned.is_empty(), "validate_items takes the scans");
    scans
}

#[test]
fn the_scan_answers_the_common_forms() {
    let limits = Limits::default();
    let mut answered = 0;
    let mut seed = 7;
    for _ in 0..2000 {
        let text = body(&mut seed);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let Some(start) = text.bytes().position(|b| !b.is_ascii_whitespace()) else {
            continue;
        };
        if split_scanned(text, start, &limits).is_some() {
            answered += 1;
        }
    }
    // Most generated bodies are well-formed batch objects or arrays.
    assert!(answered > 400, "{answered}");
    // ... and their object items come with event scans that validation uses.
    let mut seed = 11;
    let mut scanned = 0;
    for _ in 0..2000 {
        let text = body(&mut seed);
        scanned += check_validation(text.as_bytes(), Hint::Detect, &limits, &limits);
        scanned += check_validation(text.as_bytes(), Hint::Detect, &tight(), &tight());
    }
    assert!(scanned > 1000, "{scanned}");
    for text in [
        r#"{"batch":[{"a":1}, {"b":"]}\""}],"sentAt":"2026-11-24T17:10:46.123Z","context":{}}"#,
        r#" [ {"a":[1,{"b":null}]} , 2 ] "#,
        r#"{"type":"track","sentAt":null}"#,
    ] {
        let start = text
            .bytes()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(0);
        assert!(split_scanned(text, start, &limits).is_some(), "{text}");
        check(text.as_bytes(), Hint::Detect, &limits);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 16384,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn scan_split_agrees_with_serde_split(
        seed in any::<u64>(),
        max_events in 1usize..6,
        corrupted in prop::bool::weighted(0.3),
        ndjson in prop::bool::weighted(0.05),
    ) {
        let mut seed = seed;
        let text = body(&mut seed);
        let bytes = if corrupted { corrupt(&mut seed, &text) } else { text.into_bytes() };
        let limits = Limits { max_events_per_batch: max_events, ..Limits::default() };
        let hint = if ndjson { Hint::Ndjson } else { Hint::Detect };
        check(&bytes, hint, &limits);
        let strict = Limits { max_events_per_batch: max_events, ..tight() };
        check_validation(&bytes, hint, &limits, &limits);
        check_validation(&bytes, hint, &strict, &strict);
        // Scanned under other limits than the checker's: the scans are not reused.
        check_validation(&bytes, hint, &limits, &strict);
        check_validation(&bytes, hint, &strict, &limits);
    }
}
