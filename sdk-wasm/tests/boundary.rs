//! The JS boundary of `src/bindings.rs` under Node, with `wasm-bindgen-test`.
//!
//! The core's logic is tested natively (`src/core/tests.rs`); this suite checks what only the
//! real boundary shows: inputs given as JS values (objects, `undefined`, wrong types), effects
//! returned as plain JS objects with JS types (numbers, never `BigInt`; the body a
//! `Uint8Array`; `wakeAt {at: null}` as a real `null`), and the round trips through the input
//! methods (send outcome feedback, consent).
//!
//! Run: `cargo test -p maidian-sdk --target wasm32-unknown-unknown --test boundary` (the runner
//! `wasm-bindgen-test-runner` from wasm-bindgen-cli is set in `.cargo/config.toml`; `cargo xtask
//! test` runs it). Natively this file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Reflect, Uint8Array};
use maidian_sdk::bindings::Maidian;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: f64 = 1_700_000_000_000.0;
const ENTROPY: [u8; 32] = [7; 32];

/// A JS value from JSON text (objects built by the JS engine, as a host would pass them).
fn js(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap_or_else(|_| panic!("not JSON: {json}"))
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).expect("Reflect.get")
}

fn string(v: &JsValue, key: &str) -> String {
    get(v, key)
        .as_string()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v:?}"))
}

fn number(v: &JsValue, key: &str) -> f64 {
    get(v, key)
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v:?}"))
}

fn start(config: &str) -> Maidian {
    Maidian::new(js(config), NOW, &ENTROPY, JsValue::UNDEFINED)
        .map_err(JsValue::from)
        .expect("Maidian::new")
}

fn granted() -> Maidian {
    start(r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch"}"#)
}

/// The effects array as a Vec, after checking every effect is a plain object with a `type`
/// and that no value anywhere in it is a `BigInt`.
fn effects(v: JsValue) -> Vec<JsValue> {
    assert!(Array::is_array(&v), "effects are an array: {v:?}");
    let list: Vec<JsValue> = Array::from(&v).iter().collect();
    for e in &list {
        assert!(
            e.is_object() && !Array::is_array(e),
            "effect is an object: {e:?}"
        );
        let proto = Object::get_prototype_of(e);
        assert!(
            proto == Object::get_prototype_of(&Object::new()),
            "effect is a plain object: {e:?}"
        );
        string(e, "type");
        assert_no_bigint(e);
    }
    list
}

fn assert_no_bigint(v: &JsValue) {
    assert!(!v.is_bigint(), "a 64-bit integer crossed the boundary");
    if v.is_instance_of::<Uint8Array>() {
        return;
    }
    if Array::is_array(v) {
        Array::from(v).iter().for_each(|x| assert_no_bigint(&x));
    } else if v.is_object() {
        let o: &Object = v.unchecked_ref();
        Object::values(o).iter().for_each(|x| assert_no_bigint(&x));
    }
}

fn of_type<'a>(list: &'a [JsValue], kind: &str) -> Vec<&'a JsValue> {
    list.iter().filter(|e| string(e, "type") == kind).collect()
}

fn track(m: &mut Maidian, now: f64, name: &str, props: JsValue) -> Vec<JsValue> {
    effects(
        m.track(now, name, props)
            .map_err(JsValue::from)
            .expect("track"),
    )
}

#[wasm_bindgen_test]
fn start_up_effects_are_plain_objects() {
    let mut m = granted();
    let list = effects(m.take_effects());
    // The identity is persisted at start-up (granted by default).
    assert!(!of_type(&list, "persist").is_empty(), "{list:?}");
    assert_eq!(m.consent(), "granted");
    assert!(m.anonymous_id().is_some_and(|id| !id.is_empty()));
}

#[wasm_bindgen_test]
fn track_takes_js_values_and_persists_the_event_before_sending() {
    let mut m = granted();
    m.take_effects();
    let list = track(
        &mut m,
        NOW + 1.0,
        "checkout",
        js(
            r#"{"sku":"A-1","price":19.99,"qty":2,"gift":false,"note":null,"tags":["x","埋点"],"nested":{"a":{"b":1}}}"#,
        ),
    );
    let persists = of_type(&list, "persist");
    assert_eq!(persists.len(), 1, "{list:?}");
    let key = string(persists[0], "key");
    assert!(key.starts_with("md_"), "{key}");
    let event = js(&string(persists[0], "value"));
    assert_eq!(string(&event, "event"), "checkout");
    let props = get(&event, "properties");
    assert_eq!(string(&props, "sku"), "A-1");
    assert_eq!(number(&props, "price"), 19.99);
    assert_eq!(number(&props, "qty"), 2.0);
    assert_eq!(get(&props, "gift"), JsValue::FALSE);
    assert_eq!(
        Array::from(&get(&props, "tags"))
            .get(1)
            .as_string()
            .as_deref(),
        Some("埋点")
    );
    assert_eq!(number(&get(&get(&props, "nested"), "a"), "b"), 1.0);
    // The wake-up for the flush timer is a JS number.
    let wake = of_type(&list, "wakeAt");
    assert_eq!(wake.len(), 1, "{list:?}");
    assert!(number(wake[0], "at") > NOW);
    assert!(
        of_type(&list, "send").is_empty(),
        "no send before flushAt / the timer"
    );
}

#[wasm_bindgen_test]
fn properties_may_be_undefined_or_null_but_not_a_scalar() {
    let mut m = granted();
    m.take_effects();
    assert_eq!(
        of_type(&track(&mut m, NOW, "a", JsValue::UNDEFINED), "persist").len(),
        1
    );
    assert_eq!(
        of_type(&track(&mut m, NOW, "b", JsValue::NULL), "persist").len(),
        1
    );
    assert!(m.track(NOW, "c", JsValue::from(5)).is_err());
    assert!(m.track(NOW, "d", js(r#"[1,2]"#)).is_err());
    let err = Maidian::new(
        js(r#"{"endpoint":"https://t"}"#),
        NOW,
        &ENTROPY,
        JsValue::NULL,
    );
    assert!(err.is_err(), "writeKey is required");
}

#[wasm_bindgen_test]
fn send_outcome_feedback_and_wake_cancel() {
    let mut m = granted();
    m.take_effects();
    track(&mut m, NOW + 1.0, "a", JsValue::UNDEFINED);
    track(&mut m, NOW + 2.0, "b", JsValue::UNDEFINED);
    let list = effects(m.flush(NOW + 3.0));
    let sends = of_type(&list, "send");
    assert_eq!(sends.len(), 1, "{list:?}");
    let send = sends[0];
    assert!(get(send, "body").is_instance_of::<Uint8Array>());
    let body = Uint8Array::from(get(send, "body")).to_vec();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip body");
    assert_eq!(number(send, "events"), 2.0);
    assert!(string(send, "url").starts_with("https://t.example.com/v1/batch"));
    let headers = get(send, "headers");
    assert_eq!(string(&headers, "Content-Encoding"), "gzip");
    let batch_id = number(send, "batchId");
    assert!(batch_id.fract() == 0.0 && batch_id >= 0.0);

    // A 503 with Retry-After keeps the events and wakes no earlier than the server asked.
    let list = effects(m.sent(NOW + 4.0, batch_id as u32, 503, Some(30.0)));
    assert!(of_type(&list, "remove").is_empty(), "{list:?}");
    let wake = of_type(&list, "wakeAt");
    assert_eq!(wake.len(), 1, "{list:?}");
    assert!(number(wake[0], "at") >= NOW + 4.0 + 30_000.0);
    assert_eq!(number(&m.stats(), "eventsDelivered"), 0.0);

    // The retry is delivered: the chunk is removed and the pending wake-up cancelled.
    let list = effects(m.tick(NOW + 40_000.0));
    let retry = of_type(&list, "send");
    assert_eq!(retry.len(), 1, "{list:?}");
    let list = effects(m.sent(
        NOW + 40_001.0,
        number(retry[0], "batchId") as u32,
        200,
        None,
    ));
    assert!(!of_type(&list, "remove").is_empty(), "{list:?}");
    let wake = of_type(&list, "wakeAt");
    assert_eq!(wake.len(), 1, "{list:?}");
    assert!(get(wake[0], "at").is_null(), "wakeAt {{at: null}} cancels");
    let stats = m.stats();
    assert_eq!(number(&stats, "eventsDelivered"), 2.0);
    assert_eq!(number(&stats, "queueLen"), 0.0);
}

#[wasm_bindgen_test]
fn consent_pending_grant_and_deny() {
    let mut m = start(
        r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch","consentRequired":true}"#,
    );
    let list = effects(m.take_effects());
    assert!(
        of_type(&list, "persist").is_empty(),
        "nothing stored before consent"
    );
    assert_eq!(m.consent(), "pending");
    assert_eq!(m.anonymous_id(), None);
    let list = track(&mut m, NOW + 1.0, "early", JsValue::UNDEFINED);
    assert!(of_type(&list, "persist").is_empty(), "{list:?}");

    // Granting persists the identity and the event held while pending.
    let list = effects(m.grant(NOW + 2.0));
    let persisted: Vec<String> = of_type(&list, "persist")
        .into_iter()
        .map(|e| string(e, "value"))
        .collect();
    assert!(
        persisted.iter().any(|v| v.contains("\"early\"")),
        "{persisted:?}"
    );
    assert_eq!(m.consent(), "granted");
    assert!(m.anonymous_id().is_some());

    // Denying purges what was written and stops tracking.
    let list = effects(m.deny(NOW + 3.0));
    assert!(!of_type(&list, "remove").is_empty(), "{list:?}");
    assert_eq!(m.consent(), "denied");
    let list = track(&mut m, NOW + 4.0, "late", JsValue::UNDEFINED);
    assert!(of_type(&list, "persist").is_empty(), "{list:?}");
}
