//! Unit tests: one or more per reason code, plus the accepted shapes and the stored line.

use super::*;
use crate::stored::{Enrichment, LineWriter, write_line};
use crate::time::format_rfc3339_millis;

const NOW: UnixMillis = 1_795_540_246_123; // 2026-11-24T17:10:46.123Z

fn limits() -> Limits {
    Limits::default()
}

fn ck(l: &Limits) -> Checker<'_> {
    Checker {
        limits: l,
        received_at: NOW,
        sent_at: None,
        implied_type: None,
    }
}

fn ok_event() -> serde_json::Value {
    serde_json::json!({
        "messageId": "5f0c2d8e-3b1a-4c6d-9e7f-0a1b2c3d4e5f",
        "type": "track",
        "event": "add_to_cart",
        "anonymousId": "anon-1",
        "timestamp": format_rfc3339_millis(NOW - 5_000),
        "context": {"sessionId": "s1", "miniProgram": {"platform": "wechat", "scene": 1047}},
        "properties": {"sku": "A-1", "price": 12.5, "tags": ["x", "y"]}
    })
}

fn with(mutate: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut v = ok_event();
    if let serde_json::Value::Object(m) = &mut v {
        mutate(m);
    }
    v.to_string()
}

fn reason_of(json: &str) -> Reason {
    let l = limits();
    match validate_event(json, &ck(&l)) {
        Ok(_) => panic!("accepted: {json}"),
        Err(r) => r.reason,
    }
}

#[test]
fn accepts_a_well_formed_event() {
    let l = limits();
    let json = ok_event().to_string();
    let ev = validate_event(&json, &ck(&l)).unwrap();
    assert_eq!(ev.message_id, "5f0c2d8e-3b1a-4c6d-9e7f-0a1b2c3d4e5f");
    assert!(matches!(ev.message_id, Cow::Borrowed(_)), "zero-copy id");
    assert_eq!(ev.kind, MessageType::Track);
    assert_eq!(ev.event.as_deref(), Some("add_to_cart"));
    assert_eq!(ev.anonymous_id.as_deref(), Some("anon-1"));
    assert_eq!(ev.original_timestamp, Some(NOW - 5_000));
    assert_eq!(ev.corrected.timestamp, NOW - 5_000);
    assert_eq!(ev.fields.len(), 7);
}

#[test]
fn every_type_with_its_required_fields_is_accepted() {
    let l = limits();
    for (t, extra) in [
        ("track", ("event", "x")),
        ("page", ("name", "pages/home/home")),
        ("screen", ("name", "Home")),
        ("identify", ("userId", "u1")),
        ("alias", ("previousId", "old")),
        ("group", ("groupId", "g1")),
    ] {
        let json = with(|m| {
            m.insert("type".into(), t.into());
            if t != "track" {
                m.remove("event");
            }
            m.insert(extra.0.into(), extra.1.into());
        });
        assert!(validate_event(&json, &ck(&l)).is_ok(), "{t}");
    }
}

#[test]
fn invalid_json_and_not_an_object() {
    assert_eq!(reason_of("{\"messageId\": "), Reason::InvalidJson);
    assert_eq!(reason_of("nonsense"), Reason::InvalidJson);
    assert_eq!(reason_of(r#"{"a":1,"a":2}"#), Reason::InvalidJson);
    assert_eq!(reason_of("[1,2]"), Reason::NotAnObject);
    assert_eq!(reason_of("\"str\""), Reason::NotAnObject);
}

#[test]
fn event_too_large() {
    let big = "x".repeat(40 << 10);
    let json = with(|m| {
        m.insert("properties".into(), serde_json::json!({ "a": big }));
    });
    assert_eq!(reason_of(&json), Reason::EventTooLarge);
}

#[test]
fn message_id_rules() {
    assert_eq!(
        reason_of(&with(|m| {
            m.remove("messageId");
        })),
        Reason::MissingMessageId
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("messageId".into(), serde_json::Value::Null);
        })),
        Reason::MissingMessageId
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("messageId".into(), "".into());
        })),
        Reason::MissingMessageId
    );
    for bad in [
        serde_json::json!("has space"),
        serde_json::json!("x".repeat(129)),
        serde_json::json!(12),
        serde_json::json!("ümlaut"),
    ] {
        assert_eq!(
            reason_of(&with(|m| {
                m.insert("messageId".into(), bad.clone());
            })),
            Reason::InvalidMessageId,
            "{bad}"
        );
    }
}

#[test]
fn message_id_is_reported_on_later_rejections() {
    let l = limits();
    let json = with(|m| {
        m.insert("type".into(), "click".into());
    });
    let rej = validate_event(&json, &ck(&l)).unwrap_err();
    assert_eq!(rej.reason, Reason::InvalidType);
    assert_eq!(
        rej.message_id.as_deref(),
        Some("5f0c2d8e-3b1a-4c6d-9e7f-0a1b2c3d4e5f")
    );
    assert!(rej.message.contains("`type`"), "{}", rej.message);
}

#[test]
fn type_rules() {
    assert_eq!(
        reason_of(&with(|m| {
            m.remove("type");
        })),
        Reason::MissingType
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("type".into(), "Track".into());
        })),
        Reason::InvalidType
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("type".into(), 3.into());
        })),
        Reason::InvalidType
    );
    // The endpoint implies the type; a contradicting one is refused.
    let l = limits();
    let implied = Checker {
        implied_type: Some(MessageType::Track),
        ..ck(&l)
    };
    let no_type = with(|m| {
        m.remove("type");
    });
    assert!(validate_event(&no_type, &implied).is_ok());
    let page = with(|m| {
        m.insert("type".into(), "page".into());
    });
    assert_eq!(
        validate_event(&page, &implied).unwrap_err().reason,
        Reason::InvalidType
    );
}

#[test]
fn event_name_rules() {
    assert_eq!(
        reason_of(&with(|m| {
            m.remove("event");
        })),
        Reason::MissingEventName
    );
    for bad in ["", "tab\tname", &"n".repeat(256)] {
        assert_eq!(
            reason_of(&with(|m| {
                m.insert("event".into(), bad.into());
            })),
            Reason::InvalidEventName
        );
    }
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("type".into(), "page".into());
            m.insert("name".into(), "".into());
        })),
        Reason::InvalidEventName
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("event".into(), "$pay".into());
        })),
        Reason::ReservedEventName
    );
    let l = limits();
    for name in crate::message::reserved::ALL {
        let json = with(|m| {
            m.insert("event".into(), name.into());
        });
        assert!(validate_event(&json, &ck(&l)).is_ok(), "{name}");
    }
}

#[test]
fn identity_rules() {
    assert_eq!(
        reason_of(&with(|m| {
            m.remove("anonymousId");
        })),
        Reason::MissingIdentity
    );
    for bad in [
        serde_json::json!(""),
        serde_json::json!(42),
        serde_json::json!("a\u{0}b"),
        serde_json::json!("u".repeat(256)),
    ] {
        assert_eq!(
            reason_of(&with(|m| {
                m.insert("userId".into(), bad.clone());
            })),
            Reason::InvalidIdentity,
            "{bad}"
        );
    }
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("type".into(), "alias".into());
            m.insert("userId".into(), "u1".into());
        })),
        Reason::MissingPreviousId
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("type".into(), "group".into());
        })),
        Reason::MissingGroupId
    );
}

#[test]
fn timestamp_rules() {
    for bad in [
        serde_json::json!("yesterday"),
        serde_json::json!(1_795_540_246_123_i64),
    ] {
        assert_eq!(
            reason_of(&with(|m| {
                m.insert("timestamp".into(), bad.clone());
            })),
            Reason::InvalidTimestamp
        );
    }
    let l = limits();
    for (ts, ok) in [
        (NOW - l.max_past_ms, true),
        (NOW - l.max_past_ms - 1, false),
        (NOW + l.max_future_ms, true),
        (NOW + l.max_future_ms + 1, false),
    ] {
        let json = with(|m| {
            m.insert("timestamp".into(), format_rfc3339_millis(ts).into());
        });
        let res = validate_event(&json, &ck(&l));
        if ok {
            assert!(res.is_ok(), "{ts}");
        } else {
            assert_eq!(res.unwrap_err().reason, Reason::TimestampOutOfRange);
        }
    }
    // Missing timestamp: the event time is receipt time.
    let json = with(|m| {
        m.remove("timestamp");
    });
    let ev = validate_event(&json, &ck(&l)).unwrap();
    assert_eq!((ev.original_timestamp, ev.corrected.timestamp), (None, NOW));
}

#[test]
fn skew_correction_rescues_a_wrong_clock() {
    // Device clock 40 days behind: the raw timestamp is out of range, the corrected one is not.
    let l = limits();
    let behind = 40 * 86_400_000;
    let json = with(|m| {
        m.insert(
            "timestamp".into(),
            format_rfc3339_millis(NOW - behind - 2_000).into(),
        );
    });
    let mut c = ck(&l);
    assert_eq!(
        validate_event(&json, &c).unwrap_err().reason,
        Reason::TimestampOutOfRange
    );
    c.sent_at = Some(NOW - behind);
    let ev = validate_event(&json, &c).unwrap();
    assert_eq!(ev.corrected.timestamp, NOW - 2_000);
    assert_eq!(ev.corrected.skew_ms, Some(behind));
    // A per-message sentAt is used when the envelope has none.
    let json = with(|m| {
        m.insert(
            "timestamp".into(),
            format_rfc3339_millis(NOW - behind - 2_000).into(),
        );
        m.insert("sentAt".into(), format_rfc3339_millis(NOW - behind).into());
    });
    assert_eq!(
        validate_event(&json, &ck(&l)).unwrap().corrected.timestamp,
        NOW - 2_000
    );
}

#[test]
fn field_type_and_shape_limits() {
    for field in ["properties", "traits", "context"] {
        assert_eq!(
            reason_of(&with(|m| {
                m.insert(field.into(), serde_json::json!([1]));
            })),
            Reason::InvalidFieldType,
            "{field}"
        );
        let many: serde_json::Map<String, serde_json::Value> =
            (0..256).map(|i| (format!("k{i}"), i.into())).collect();
        assert_eq!(
            reason_of(&with(|m| {
                m.insert(field.into(), many.clone().into());
            })),
            Reason::TooManyProperties,
            "{field}"
        );
    }
    // Nesting: event(1) > properties(2) > a(3) ... up to max_depth=10 is fine.
    let nest = |levels: usize| {
        let mut v = serde_json::json!(1);
        for _ in 0..levels {
            v = serde_json::json!({ "a": v });
        }
        v
    };
    let l = limits();
    let ok = with(|m| {
        m.insert("properties".into(), nest(9));
    });
    assert!(validate_event(&ok, &ck(&l)).is_ok());
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("properties".into(), nest(10));
        })),
        Reason::TooDeep
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert(
                "properties".into(),
                serde_json::json!({ "s": "x".repeat(8193) }),
            );
        })),
        Reason::StringTooLong
    );
    assert_eq!(
        reason_of(&with(|m| {
            m.insert(
                "properties".into(),
                serde_json::json!({ "k".repeat(256): 1 }),
            );
        })),
        Reason::InvalidKey
    );
    // Unknown top-level fields are kept but still bounded.
    assert_eq!(
        reason_of(&with(|m| {
            m.insert("integrations".into(), nest(10));
        })),
        Reason::TooDeep
    );
    let wide: serde_json::Map<String, serde_json::Value> =
        (0..300).map(|i| (format!("x{i}"), i.into())).collect();
    let mut v = ok_event();
    if let serde_json::Value::Object(m) = &mut v {
        m.extend(wide);
    }
    assert_eq!(reason_of(&v.to_string()), Reason::TooManyProperties);
}

#[test]
fn batch_overflow_is_a_known_code() {
    // `batch_overflow` is produced by senders that split, never by per-event validation.
    assert_eq!(
        Reason::from_code("batch_overflow"),
        Some(Reason::BatchOverflow)
    );
}

#[test]
fn items_of_a_body_fail_independently() {
    let l = limits();
    let good = ok_event().to_string();
    let body_text = format!(
        "{good}\n{{broken\n{}\n",
        with(|m| {
            m.remove("type");
        })
    );
    let mut body =
        crate::body::split_body(body_text.as_bytes(), crate::body::Hint::Detect, &l).unwrap();
    let out = validate_items(&mut body, &ck(&l));
    assert!(out[0].is_ok());
    assert_eq!(out[1].as_ref().unwrap_err().reason, Reason::InvalidJson);
    assert_eq!(out[2].as_ref().unwrap_err().reason, Reason::MissingType);
}

#[test]
fn line_writer_writes_write_lines_bytes_for_a_whole_request() {
    let l = limits();
    let enrichment = Enrichment {
        received_at: NOW,
        project_id: "demo",
        ip: Some("203.0.113.9"),
        user_agent: Some("UA \"x\"\u{7}"),
        collector_id: "c1",
    };
    let mut writer = LineWriter::new(&enrichment);
    // sentAt: absent, the same twice, another, back to the first (the writer keeps one).
    let sent = [
        None,
        Some(NOW - 5_000),
        Some(NOW - 5_000),
        Some(NOW - 9_000),
        Some(NOW - 5_000),
    ];
    for (i, sent_at) in sent.into_iter().enumerate() {
        let json = serde_json::json!({
            "messageId": format!("m-{i}"),
            "type": "track",
            "event": "e",
            "anonymousId": "a-1",
            "timestamp": format_rfc3339_millis(NOW - 60_000 - i as i64),
            "properties": {"i": i}
        })
        .to_string();
        let c = Checker { sent_at, ..ck(&l) };
        let ev = validate_event(&json, &c).unwrap();
        let (mut once, mut reused) = (String::new(), String::new());
        write_line(&ev, &enrichment, &mut once);
        writer.write(&ev, &mut reused);
        assert_eq!(reused, once, "event {i}");
        if let Some(t) = sent_at {
            assert!(once.contains(&format!("\"sentAt\":\"{}\"", format_rfc3339_millis(t))));
        } else {
            assert!(!once.contains("sentAt"));
        }
    }
}

/// `LineWriter::for_body` skips the newline check only for values inside a body without line
/// breaks; every line is still `write_line`'s bytes, on one line, whatever the body's layout
/// and even for events that are not slices of the body it was given.
#[test]
fn line_writer_for_body_writes_write_lines_bytes() {
    let l = limits();
    let enrichment = Enrichment {
        received_at: NOW,
        project_id: "demo",
        ip: None,
        user_agent: Some("UA"),
        collector_id: "c1",
    };
    let event = |i: usize| {
        serde_json::json!({
            "messageId": format!("m-{i}"),
            "type": "track",
            "event": "e",
            "anonymousId": "a-1",
            "timestamp": format_rfc3339_millis(NOW - 1_000),
            "properties": {"i": i, "note": "a\nb", "list": [1, {"x": "y"}]}
        })
    };
    let events: Vec<serde_json::Value> = (0..4).map(event).collect();
    let batch = serde_json::json!({ "batch": events });
    let ndjson: String = events.iter().map(|e| format!("{e}\n")).collect();
    let bodies = [
        batch.to_string(),
        serde_json::to_string_pretty(&batch).unwrap(),
        serde_json::to_string_pretty(&batch)
            .unwrap()
            .replace('\n', "\r\n"),
        serde_json::to_string(&events).unwrap(),
        ndjson,
    ];
    let pretty = serde_json::to_string_pretty(&event(9)).unwrap();
    let stranger = validate_event(&pretty, &ck(&l)).unwrap();
    for text in &bodies {
        let mut body =
            crate::body::split_body(text.as_bytes(), crate::body::Hint::Detect, &l).unwrap();
        let out = validate_items(&mut body, &ck(&l));
        assert_eq!(out.len(), 4, "{text}");
        let mut writer = LineWriter::for_body(&enrichment, text.as_bytes());
        for ev in out.iter().map(|r| r.as_ref().unwrap()).chain([&stranger]) {
            let (mut once, mut fast) = (String::new(), String::new());
            write_line(ev, &enrichment, &mut once);
            writer.write(ev, &mut fast);
            assert_eq!(fast, once, "{text}");
            assert_eq!(fast.matches(['\n', '\r']).count(), 1, "{fast}");
        }
    }
}

#[test]
fn stored_line_is_flat_enriched_and_one_line() {
    let l = limits();
    let behind = 3_600_000;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "messageId": "m-1",
        "type": "track",
        "event": "pay_success",
        "userId": "u\"1",
        "timestamp": format_rfc3339_millis(NOW - behind - 1_000),
        "receivedAt": "forged",
        "properties": {"amount": 99, "note": "line\nbreak"}
    }))
    .unwrap();
    let c = Checker {
        sent_at: Some(NOW - behind),
        ..ck(&l)
    };
    let ev = validate_event(&json, &c).unwrap();
    let mut out = String::new();
    write_line(
        &ev,
        &Enrichment {
            received_at: NOW,
            project_id: "demo",
            ip: Some("203.0.113.9"),
            user_agent: Some("UA \"x\""),
            collector_id: "c1",
        },
        &mut out,
    );
    assert_eq!(out.matches('\n').count(), 1);
    assert!(out.ends_with("}\n"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["receivedAt"], "2026-11-24T17:10:46.123Z");
    assert_eq!(v["timestamp"], format_rfc3339_millis(NOW - 1_000));
    assert_eq!(
        v["originalTimestamp"],
        format_rfc3339_millis(NOW - behind - 1_000)
    );
    assert_eq!(v["sentAt"], format_rfc3339_millis(NOW - behind));
    assert_eq!(v["clockSkewMs"], behind);
    assert_eq!(v["projectId"], "demo");
    assert_eq!(v["requestIp"], "203.0.113.9");
    assert_eq!(v["requestUserAgent"], "UA \"x\"");
    assert_eq!(v["collectorId"], "c1");
    assert_eq!(v["userId"], "u\"1");
    assert_eq!(v["properties"]["note"], "line\nbreak");
    assert_eq!(v["properties"]["amount"], 99);
    // The forged server field is replaced, not duplicated.
    assert_eq!(out.matches("\"receivedAt\"").count(), 1);
}

#[test]
fn control_check_matches_char_is_control() {
    // Every character class near the control ranges and the 0xC2 lead byte, at every position
    // of strings up to 20 characters, on top of ASCII and multi-byte fillers.
    let probes = [
        '\u{0}',
        '\u{1f}',
        ' ',
        '~',
        '\u{7f}',
        '\u{80}',
        '\u{9f}',
        '\u{a0}',
        '\u{bf}',
        '\u{c0}',
        '\u{ff}',
        '\u{100}',
        '\u{2028}',
        '\u{fffd}',
        '\u{1f600}',
    ];
    for filler in ['a', 'é', '\u{a9}', '中'] {
        for len in 0..20 {
            let base: Vec<char> = std::iter::repeat_n(filler, len).collect();
            let text: String = base.iter().collect();
            assert_eq!(has_control(&text), text.chars().any(char::is_control));
            for at in 0..len {
                for p in probes {
                    let mut chars = base.clone();
                    chars[at] = p;
                    let text: String = chars.iter().collect();
                    assert_eq!(
                        has_control(&text),
                        text.chars().any(char::is_control),
                        "{text:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn message_id_bytes_are_the_documented_set() {
    for b in 0..=255u8 {
        let expect = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        let id = [b'a', b, b'z'];
        match std::str::from_utf8(&id) {
            Ok(id) => assert_eq!(is_valid_message_id(id, 128), expect, "{b:#x}"),
            Err(_) => assert!(!expect),
        }
    }
    assert!(!is_valid_message_id("", 128));
    assert!(is_valid_message_id("abc", 3));
    assert!(!is_valid_message_id("abcd", 3));
}
