//! The JS boundary of `src/bindings.rs` under Node, with `wasm-bindgen-test`.
//!
//! The core's logic and the bindings' pure parts (argument and reply texts, the operation
//! table) are tested natively (`src/core/tests.rs`, `src/bindings/*.rs`); this suite checks
//! what only the real boundary shows. Every call goes through the wasm-bindgen glue, as the
//! wrapper's: the instance is handed to JS and its methods are called with `Reflect` (the
//! constructor reached as `instance.constructor`). Arguments are JSON text made by JS's
//! `JSON.stringify` from JS values, the host time a JS number; the reply is decoded as
//! js-wrapper/src/core-adapter.mjs does: `JSON.parse` of the head, text fields (keys, values,
//! URLs, messages) sliced from the tail by UTF-16 lengths with JS's own `String#slice`
//! (non-ASCII and astral text included), bodies as `Uint8Array` from `body()`, errors as `!message` replies. No `BigInt`
//! anywhere, `wakeAt {at: null}` a real `null`, and the round trips through the operations
//! (send outcome feedback, consent).
//!
//! Run: `cargo test -p maidian-sdk --target wasm32-unknown-unknown --test boundary` (the runner
//! `wasm-bindgen-test-runner` from wasm-bindgen-cli is set in `.cargo/config.toml`; `cargo xtask
//! test` runs it). Natively this file compiles to nothing.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, JSON, JsString, Object, Reflect, Uint8Array};
use maidian_sdk::bindings::{Maidian, Op};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const NOW: f64 = 1_700_000_000_000.0;
const ENTROPY: [u8; 32] = [7; 32];
const CONFIG: &str = r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch"}"#;

/// A JS value from JSON text (objects built by the JS engine, as a host would pass them).
fn js(json: &str) -> JsValue {
    JSON::parse(json).unwrap_or_else(|_| panic!("not JSON: {json}"))
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

/// `JSON.stringify` of a JS array of `args`.
fn stringify(args: &[JsValue]) -> JsValue {
    let a: Array = args.iter().collect();
    JSON::stringify(&a).expect("JSON.stringify").into()
}

/// A `Maidian` held by JS, called through the glue.
struct Sdk(JsValue);

impl Sdk {
    /// `new Maidian(JSON.stringify([config, now, stored]), entropy)` from JS.
    fn start(config: &str, stored: JsValue) -> Sdk {
        // The class, reached from an instance (JS code has it as the glue's export).
        let probe: JsValue = Maidian::new(&format!("[{CONFIG},0,null]"), &ENTROPY).into();
        let class: Function = get(&probe, "constructor").unchecked_into();
        let args: Array = [
            stringify(&[js(config), NOW.into(), stored]),
            Uint8Array::from(&ENTROPY[..]).into(),
        ]
        .into_iter()
        .collect();
        Sdk(Reflect::construct(&class, &args).expect("new Maidian never throws"))
    }

    fn granted() -> Sdk {
        Sdk::start(CONFIG, JsValue::UNDEFINED)
    }

    fn method(&self, name: &str) -> Function {
        get(&self.0, name).unchecked_into()
    }

    /// `m.call(op, now, JSON.stringify(args))`, decoded: `(result, effects)`, or the message
    /// of an error reply (`!message`).
    fn call(&self, op: Op, now: f64, args: &[JsValue]) -> Result<(JsValue, Vec<JsValue>), String> {
        let n = Op::ALL.iter().position(|&o| o == op).expect("op") as u32;
        let call: Array = [JsValue::from(n), now.into(), stringify(args)]
            .into_iter()
            .collect();
        let text: JsString = self
            .method("call")
            .apply(&self.0, &call)
            .expect("call never throws")
            .unchecked_into();
        match String::from(&text).strip_prefix('!') {
            Some(message) => Err(message.to_owned()),
            None => Ok(self.decode(text)),
        }
    }

    fn input(&self, op: Op, now: f64, args: &[JsValue]) -> Vec<JsValue> {
        self.call(op, now, args)
            .unwrap_or_else(|e| panic!("{op:?}: {e:?}"))
            .1
    }

    fn query(&self, op: Op, args: &[JsValue]) -> JsValue {
        self.call(op, f64::NAN, args)
            .unwrap_or_else(|e| panic!("{op:?}: {e:?}"))
            .0
    }

    /// What core-adapter.mjs's `decode` does, with the same JS built-ins: the flat head
    /// `[result, kind, fields…]` becomes effect objects.
    fn decode(&self, text: JsString) -> (JsValue, Vec<JsValue>) {
        let nl = text.index_of("\n", 0);
        assert!(nl >= 0, "the reply has a newline after its head");
        let nl = nl as u32;
        let head = JSON::parse(&String::from(text.slice(0, nl))).expect("head is JSON");
        assert!(Array::is_array(&head), "head is an array: {head:?}");
        assert_no_bigint(&head);
        let head: Vec<JsValue> = Array::from(&head).iter().collect();
        let mut at = nl + 1;
        let mut effects = Vec::new();
        let mut i = 1;
        while i < head.len() {
            let e = Object::new();
            let set = |k: &str, v: &JsValue| {
                Reflect::set(&e, &k.into(), v).expect("set");
            };
            let f = |k: usize| &head[i + k];
            // The next text field: its length at `f(k)`, its text from the tail.
            let mut next = |k: usize| {
                let len = f(k).as_f64().expect("text length") as u32;
                at += len;
                JsValue::from(text.slice(at - len, at))
            };
            let (kind, fields) = match head[i].as_f64() {
                Some(0.0) => {
                    set("key", &next(1));
                    set("value", &next(2));
                    ("persist", 2)
                }
                Some(1.0) => {
                    set("key", &next(1));
                    ("remove", 1)
                }
                Some(2.0) => {
                    set("batchId", f(1));
                    set("url", &next(2));
                    set("body", &self.method("body").call0(&self.0).expect("body()"));
                    set("headers", f(3));
                    set("events", f(4));
                    ("send", 4)
                }
                Some(3.0) => {
                    set("at", f(1));
                    ("wakeAt", 1)
                }
                Some(4.0) => {
                    set("level", f(1));
                    set("message", &next(2));
                    ("log", 2)
                }
                k => panic!("unknown effect kind {k:?}"),
            };
            set("type", &kind.into());
            effects.push(e.into());
            i += 1 + fields;
        }
        assert_eq!(at, text.length(), "the tail holds exactly the text fields");
        (head[0].clone(), effects)
    }
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

#[wasm_bindgen_test]
fn start_up_effects_are_persisted() {
    let m = Sdk::granted();
    let list = m.input(Op::TakeEffects, f64::NAN, &[]);
    // The identity is persisted at start-up (granted by default).
    assert!(!of_type(&list, "persist").is_empty(), "{list:?}");
    assert_eq!(
        m.query(Op::Consent, &[]).as_string().as_deref(),
        Some("granted")
    );
    let id = m.query(Op::AnonymousId, &[]).as_string();
    assert!(id.is_some_and(|id| !id.is_empty()));
}

#[wasm_bindgen_test]
fn track_takes_js_values_and_persists_the_event_before_sending() {
    let m = Sdk::granted();
    m.input(Op::TakeEffects, f64::NAN, &[]);
    let list = m.input(Op::Track, NOW + 1.0, &["checkout 埋点".into(),
            js(
                r#"{"sku":"A-1","price":19.99,"qty":2,"gift":false,"note":null,"tags":["x","埋点🚀"],"nested":{"a":{"b":1}}}"#,
            ),
        ],
    );
    let persists = of_type(&list, "persist");
    assert_eq!(persists.len(), 1, "{list:?}");
    let key = string(persists[0], "key");
    assert!(key.starts_with("md_"), "{key}");
    // The value sliced by UTF-16 length is exactly the event's JSON text.
    let event = js(&string(persists[0], "value"));
    assert_eq!(string(&event, "event"), "checkout 埋点");
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
        Some("埋点🚀")
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
fn lone_surrogates_cross_as_replacement_characters() {
    let m = Sdk::start(
        r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch","consentRequired":true}"#,
        JsValue::UNDEFINED,
    );
    // A JS string with unpaired surrogates, as JS code can make one.
    let s = JsString::from_char_code(&[0x61, 0xD800, 0x62, 0xDC00]);
    let back = m.query(Op::SharePath, &[s.into(), JsValue::UNDEFINED]);
    assert_eq!(back.as_string().as_deref(), Some("a\u{fffd}b\u{fffd}"));
}

#[wasm_bindgen_test]
fn properties_may_be_undefined_or_null_but_not_a_scalar() {
    let m = Sdk::granted();
    m.input(Op::TakeEffects, f64::NAN, &[]);
    for props in [JsValue::UNDEFINED, JsValue::NULL] {
        let list = m.input(Op::Track, NOW, &["a".into(), props]);
        assert_eq!(of_type(&list, "persist").len(), 1, "{list:?}");
    }
    for props in [JsValue::from(5), js("[1,2]")] {
        let e = m
            .call(Op::Track, NOW, &["c".into(), props])
            .expect_err("a scalar is refused");
        assert_eq!(e, "track: properties must be an object");
    }
    // A core that could not start answers every call with why.
    let m = Sdk::start(r#"{"endpoint":"https://t"}"#, JsValue::NULL);
    for op in [Op::TakeEffects, Op::Track, Op::Consent] {
        let e = m
            .call(op, NOW, &["x".into()])
            .expect_err("writeKey is required");
        assert!(e.contains("writeKey"), "{e}");
    }
}

#[wasm_bindgen_test]
fn send_outcome_feedback_and_wake_cancel() {
    let m = Sdk::granted();
    m.input(Op::TakeEffects, f64::NAN, &[]);
    m.input(Op::Track, NOW + 1.0, &["a".into()]);
    m.input(Op::Track, NOW + 2.0, &["b".into()]);
    let list = m.input(Op::Flush, NOW + 3.0, &[]);
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
    let list = m.input(
        Op::Sent,
        NOW + 4.0,
        &[batch_id.into(), 503.into(), 30.into()],
    );
    assert!(of_type(&list, "remove").is_empty(), "{list:?}");
    let wake = of_type(&list, "wakeAt");
    assert_eq!(wake.len(), 1, "{list:?}");
    assert!(number(wake[0], "at") >= NOW + 4.0 + 30_000.0);
    assert_eq!(number(&m.query(Op::Stats, &[]), "eventsDelivered"), 0.0);

    // The retry is delivered: the chunk is removed and the pending wake-up cancelled.
    let list = m.input(Op::Tick, NOW + 40_000.0, &[]);
    let retry = of_type(&list, "send");
    assert_eq!(retry.len(), 1, "{list:?}");
    let list = m.input(
        Op::Sent,
        NOW + 40_001.0,
        &[get(retry[0], "batchId"), 200.into(), JsValue::UNDEFINED],
    );
    assert!(!of_type(&list, "remove").is_empty(), "{list:?}");
    let wake = of_type(&list, "wakeAt");
    assert_eq!(wake.len(), 1, "{list:?}");
    assert!(get(wake[0], "at").is_null(), "wakeAt {{at: null}} cancels");
    let stats = m.query(Op::Stats, &[]);
    assert_eq!(number(&stats, "eventsDelivered"), 2.0);
    assert_eq!(number(&stats, "queueLen"), 0.0);
}

#[wasm_bindgen_test]
fn stored_events_are_reloaded_and_sent() {
    let first = Sdk::granted();
    first.input(Op::TakeEffects, f64::NAN, &[]);
    let list = first.input(Op::Track, NOW, &["stored 埋点".into()]);
    let stored = Object::new();
    for p in of_type(&list, "persist") {
        Reflect::set(&stored, &get(p, "key"), &get(p, "value")).expect("set");
    }
    let again = Sdk::start(CONFIG, stored.into());
    let list = again.input(Op::TakeEffects, f64::NAN, &[]);
    let sends = of_type(&list, "send");
    assert_eq!(sends.len(), 1, "reloaded events are sent at once: {list:?}");
    assert_eq!(number(sends[0], "events"), 1.0);
}

#[wasm_bindgen_test]
fn consent_pending_grant_and_deny() {
    let m = Sdk::start(
        r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch","consentRequired":true}"#,
        JsValue::UNDEFINED,
    );
    let list = m.input(Op::TakeEffects, f64::NAN, &[]);
    assert!(
        of_type(&list, "persist").is_empty(),
        "nothing stored before consent"
    );
    assert_eq!(
        m.query(Op::Consent, &[]).as_string().as_deref(),
        Some("pending")
    );
    assert!(m.query(Op::AnonymousId, &[]).is_null());
    let list = m.input(Op::Track, NOW + 1.0, &["early".into()]);
    assert!(of_type(&list, "persist").is_empty(), "{list:?}");

    // Granting persists the identity and the event held while pending.
    let list = m.input(Op::Grant, NOW + 2.0, &[]);
    let persisted: Vec<String> = of_type(&list, "persist")
        .into_iter()
        .map(|e| string(e, "value"))
        .collect();
    assert!(
        persisted.iter().any(|v| v.contains("\"early\"")),
        "{persisted:?}"
    );
    assert_eq!(
        m.query(Op::Consent, &[]).as_string().as_deref(),
        Some("granted")
    );
    assert!(m.query(Op::AnonymousId, &[]).is_string());

    // Denying purges what was written and stops tracking.
    let list = m.input(Op::Deny, NOW + 3.0, &[]);
    assert!(!of_type(&list, "remove").is_empty(), "{list:?}");
    assert_eq!(
        m.query(Op::Consent, &[]).as_string().as_deref(),
        Some("denied")
    );
    let list = m.input(Op::Track, NOW + 4.0, &["late".into()]);
    assert!(of_type(&list, "persist").is_empty(), "{list:?}");
}
