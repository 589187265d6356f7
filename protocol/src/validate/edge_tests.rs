//! The scan against the serde path where the word-at-a-time string search (`scan::classify`:
//! sixteen bytes per SSE2 compare on x86_64, eight per SWAR word elsewhere) changes hands:
//! strings and keys of every length around one and two words, a stop byte (`"`, `\`, a
//! control byte, an escape, a backslash run) at every offset of the first words, multi-byte
//! characters across the edges, text that ends inside the first word (the search then has no
//! full word to load), limits at the string's length, and nesting at the tracked-depth limit.
//! Every case must answer exactly what the serde path answers (or fall back to it).

use proptest::prelude::*;

use super::*;

const NOW: UnixMillis = 1_795_540_246_123;

/// What goes at the chosen offset of a string (raw text, inside the quotes).
const SPECIALS: [&str; 14] = [
    "\\\"",
    "\\\\",
    "\\\\\\\"",
    "\\\\\\\\",
    "\\u00e9",
    "\\ud83d\\ude80",
    "\\ud83d",
    "\\n",
    "\\x",
    "\u{1}",
    "\n",
    "\u{1f}",
    "\"",
    "\\",
];

/// A string body of `len` characters from `alphabet`, with `special` inserted at `at`.
fn body(len: usize, alphabet: &[char], seed: u64, special: Option<(usize, &str)>) -> String {
    let mut out = String::new();
    let mut x = seed;
    for k in 0..len {
        if let Some((at, s)) = special {
            if at == k {
                out.push_str(s);
            }
        }
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        out.push(alphabet[(x >> 33) as usize % alphabet.len()]);
    }
    if let Some((at, s)) = special {
        if at >= len {
            out.push_str(s);
        }
    }
    out
}

fn same(json: &str, ck: &Checker<'_>) -> Result<(), TestCaseError> {
    let fast = validate_event(json, ck);
    let slow = validate_event_serde(json, ck);
    match (&fast, &slow) {
        (Ok(a), Ok(b)) => prop_assert_eq!(format!("{a:?}"), format!("{b:?}"), "{:?}", json),
        (Err(a), Err(b)) => prop_assert_eq!(a, b, "{:?}", json),
        _ => prop_assert!(false, "fast {:?} vs serde {:?}: {:?}", fast, slow, json),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8192,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn scan_agrees_at_word_edges(
        key_len in prop_oneof![1 => 0usize..40, 1 => 0usize..14],
        // Around the string limits below too.
        value_len in prop_oneof![1 => 0usize..50, 1 => 12usize..21],
        seed in any::<u64>(),
        ascii in any::<bool>(),
        in_key in any::<bool>(),
        special in prop::option::weighted(0.6, (0usize..50, 0usize..SPECIALS.len())),
        place in 0usize..4,
        // Mostly none: compact text is the fast forms' case.
        pad in prop_oneof![3 => Just(0usize), 1 => 0usize..20],
        cut in prop::option::weighted(0.2, 0usize..64),
        max_string in 14usize..20,
    ) {
        let alphabet: &[char] = if ascii { &['a', 'Z', '0', '-', ' ', '/'] } else { &['a', 'é', '中', '𝄞', '0'] };
        let special = special.map(|(at, k)| (at, SPECIALS[k]));
        let key = body(key_len, alphabet, seed, special.filter(|_| in_key));
        let value = body(value_len, alphabet, !seed, special.filter(|_| !in_key));
        let spaces = " ".repeat(pad);
        let member = format!("\"{key}\":{spaces}\"{value}\"");
        let head = r#"{"messageId":"m-1","type":"track","event":"e","anonymousId":"a""#;
        // Text after the member, so that the searches have whole words to load past it.
        // (short strings and numbers: no limit of the test is hit by the tail itself).
        let tail = r#","t1":"ab","t2":1,"t3":"cd","t4":[2,"e"],"t5":null"#;
        let mut json = match place {
            // A top-level field (the plain-string path).
            0 => format!("{head},{member}{tail}}}"),
            // A property (the nested walk, own-key counting).
            1 => format!("{head},\"properties\":{{{member},\"n\":1{tail}}}}}"),
            // In an array, then at depth 4.
            2 => format!("{head},\"context\":{{\"a\":[{spaces}\"{value}\",{{{member}{tail}}}]}}}}"),
            // Right before the end of the text: the words are cut short.
            _ => format!("{head},\"properties\":{{{member}}}}}"),
        };
        if let Some(at) = cut {
            let mut at = json.len().saturating_sub(at);
            while !json.is_char_boundary(at) {
                at -= 1;
            }
            json.truncate(at);
        }
        let limits = Limits {
            max_string_bytes: max_string,
            max_key_bytes: max_string,
            max_depth: 4,
            ..Limits::default()
        };
        let ck = Checker { limits: &limits, received_at: NOW, sent_at: None, implied_type: None };
        same(&json, &ck)?;
        // The same event inside a batch body: the search then reads on into the items after.
        let body_text = format!("{{\"batch\":[{json},{json}],\"sentAt\":\"2026-11-25T00:00:00.000Z\"}}");
        let split = crate::body::split_body(body_text.as_bytes(), crate::Hint::Detect, &limits);
        let serde = crate::body::split_body_serde(body_text.as_bytes(), crate::Hint::Detect, &limits);
        prop_assert_eq!(&split, &serde, "{:?}", body_text);
    }
}

#[test]
fn nesting_at_the_tracked_depth_limit_agrees() {
    let limits = Limits {
        max_depth: 100,
        ..Limits::default()
    };
    let ck = Checker {
        limits: &limits,
        received_at: NOW,
        sent_at: None,
        implied_type: None,
    };
    let head = r#"{"messageId":"m-1","type":"track","event":"e","anonymousId":"a""#;
    for levels in 60..70 {
        for leaf in ["\"0123456789abcdefg\"", "1", "{}", "[]", "\"\\\"\""] {
            let arrays = format!("{}{leaf}{}", "[".repeat(levels), "]".repeat(levels));
            let objects = format!("{}{leaf}{}", "{\"k\":".repeat(levels), "}".repeat(levels));
            for v in [arrays, objects] {
                same(&format!("{head},\"properties\":{{\"x\":{v}}}}}"), &ck)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}
