//! Property tests: valid messages built with the owned model always validate and round-trip
//! through the stored line; no input of any shape makes body splitting, validation or time
//! parsing panic.

use maidian_protocol::message::{Campaign, Context, MiniProgram, Page, Share, reserved};
use maidian_protocol::time::{format_rfc3339_millis, parse_rfc3339};
use maidian_protocol::{
    Checker, Enrichment, Hint, Limits, Message, MessageType, split_body, validate_event,
    validate_items, write_line,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

const NOW: i64 = 1_795_540_246_123;

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn props() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-zA-Z_$][a-zA-Z0-9_]{0,20}", json_value(), 0..12)
        .prop_map(|m| m.into_iter().collect())
}

fn opt_str() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[^\\p{Cc}]{1,30}")
}

fn context() -> impl Strategy<Value = Context> {
    (
        opt_str(),
        opt_str(),
        opt_str(),
        prop::option::of(1000u32..1300),
    )
        .prop_map(|(path, source, session, scene)| Context {
            page: path.map(|p| Page {
                path: Some(p),
                ..Page::default()
            }),
            campaign: source.map(|s| Campaign {
                source: Some(s),
                ..Campaign::default()
            }),
            share: scene.map(|_| Share {
                depth: Some(1),
                ..Share::default()
            }),
            mini_program: scene.map(|s| MiniProgram {
                platform: "wechat".into(),
                scene: Some(s),
                ..MiniProgram::default()
            }),
            session_id: session,
            ..Context::default()
        })
}

fn message() -> impl Strategy<Value = Message> {
    let kind = prop::sample::select(MessageType::ALL.to_vec());
    let name = prop_oneof![
        "[^\\p{Cc}$][^\\p{Cc}]{0,40}",
        prop::sample::select(reserved::ALL.to_vec()).prop_map(String::from),
    ];
    (
        "[A-Za-z0-9._:-]{1,64}",
        kind,
        name,
        prop::option::of("[^\\p{Cc}]{1,60}"),
        prop::option::of("[^\\p{Cc}]{1,60}"),
        -(29 * 86_400_000i64)..600_000,
        context(),
        props(),
    )
        .prop_map(
            |(id, kind, name, anon, user, offset, context, properties)| {
                let (anon, user) = match (anon, user) {
                    (None, None) => (Some("anon".to_string()), None),
                    other => other,
                };
                Message {
                    message_id: id,
                    kind,
                    event: (kind == MessageType::Track).then(|| name.clone()),
                    name: matches!(kind, MessageType::Page | MessageType::Screen)
                        .then(|| name.clone()),
                    anonymous_id: anon,
                    user_id: user,
                    previous_id: (kind == MessageType::Alias).then(|| "prev".into()),
                    group_id: (kind == MessageType::Group).then(|| "g".into()),
                    timestamp: format_rfc3339_millis(NOW + offset),
                    context,
                    traits: if matches!(kind, MessageType::Identify | MessageType::Group) {
                        properties.clone()
                    } else {
                        Map::new()
                    },
                    properties,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn valid_messages_validate_and_round_trip(m in message()) {
        let limits = Limits::default();
        let ck = Checker { limits: &limits, received_at: NOW, sent_at: None, implied_type: None };
        let json = serde_json::to_string(&m).unwrap();
        let ev = validate_event(&json, &ck).map_err(|r| TestCaseError::fail(format!("{r}: {json}")))?;
        prop_assert_eq!(ev.message_id.as_ref(), m.message_id.as_str());
        prop_assert_eq!(ev.kind, m.kind);
        prop_assert_eq!(ev.original_timestamp, parse_rfc3339(&m.timestamp));

        // The stored line carries the same message back.
        let mut line = String::new();
        write_line(&ev, &Enrichment {
            received_at: NOW, project_id: "p", ip: None, user_agent: None, collector_id: "c",
        }, &mut line);
        let back: Message = serde_json::from_str(&line).unwrap();
        prop_assert_eq!(back, m);
    }

    #[test]
    fn batches_of_valid_messages_are_fully_accepted(ms in prop::collection::vec(message(), 1..20)) {
        let limits = Limits::default();
        let body = serde_json::json!({ "batch": ms, "sentAt": format_rfc3339_millis(NOW) }).to_string();
        let mut split = split_body(body.as_bytes(), Hint::Detect, &limits).unwrap();
        let ck = Checker { limits: &limits, received_at: NOW, sent_at: split.sent_at, implied_type: None };
        prop_assert!(validate_items(&mut split, &ck).iter().all(Result::is_ok));
    }

    #[test]
    fn no_byte_input_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let limits = Limits::default();
        if let Ok(mut body) = split_body(&bytes, Hint::Detect, &limits) {
            let ck = Checker { limits: &limits, received_at: NOW, sent_at: body.sent_at, implied_type: None };
            let _ = validate_items(&mut body, &ck);
        }
        let _ = split_body(&bytes, Hint::Ndjson, &limits);
    }

    #[test]
    fn no_json_input_panics(v in json_value(), tweak in prop::option::of(("[a-zA-Z]{1,12}", json_value()))) {
        let limits = Limits::default();
        let mut v = v;
        if let (Value::Object(m), Some((k, x))) = (&mut v, tweak) {
            m.insert(k, x);
        }
        let text = v.to_string();
        let ck = Checker { limits: &limits, received_at: NOW, sent_at: Some(0), implied_type: Some(MessageType::Page) };
        let _ = validate_event(&text, &ck);
        let _ = split_body(text.as_bytes(), Hint::Detect, &limits);
    }

    #[test]
    fn time_parsing_never_panics_and_formatting_round_trips(s in "\\PC{0,40}", ms in 0i64..253_402_300_799_999) {
        let _ = parse_rfc3339(&s);
        prop_assert_eq!(parse_rfc3339(&format_rfc3339_millis(ms)), Some(ms));
    }
}

/// Reference for the byte scanner: the same limits computed on a `Value` tree.
fn shape_ok(v: &Value, level: usize, l: &maidian_protocol::shape::ShapeLimits, top: bool) -> bool {
    match v {
        Value::String(s) => s.len() <= l.max_string_bytes,
        Value::Array(a) => {
            level <= l.max_depth && a.iter().all(|x| shape_ok(x, level + 1, l, false))
        }
        Value::Object(m) => {
            level <= l.max_depth
                && (!top || m.len() <= l.max_top_keys)
                && m.iter().all(|(k, x)| {
                    !k.is_empty() && k.len() <= l.max_key_bytes && shape_ok(x, level + 1, l, false)
                })
        }
        _ => true,
    }
}

fn shape_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i32>().prop_map(Value::from),
        "(\\PC|[\"\\\\\u{7}\u{1F680}é]){0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("(\\PC|[\"\\\\é]){0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn shape_scanner_agrees_with_a_tree_walk(
        v in shape_value(),
        depth in 1usize..7,
        string in 0usize..10,
        key in 0usize..8,
        top in 0usize..5,
        parent in 0usize..2,
        ascii_escapes in any::<bool>(),
    ) {
        use maidian_protocol::shape::{ShapeLimits, check};
        let l = ShapeLimits { max_depth: depth, max_string_bytes: string, max_key_bytes: key, max_top_keys: top };
        // serde_json writes non-ASCII raw; the escaped form must measure the same.
        let text = if ascii_escapes {
            v.to_string().chars().map(|c| if c.is_ascii() { c.to_string() } else {
                let mut buf = [0u16; 2];
                c.encode_utf16(&mut buf).iter().map(|u| format!("\\u{u:04x}")).collect()
            }).collect()
        } else {
            v.to_string()
        };
        prop_assert_eq!(check(&text, parent, &l).is_ok(), shape_ok(&v, parent + 1, &l, true), "{}", text);
    }
}
