//! The `#[wasm_bindgen]` layer: converts JS values and forwards to the core.
//!
//! Keep this module thin — no decisions here, only conversions — so the core can be replaced or
//! grown without touching the JS contract, and so the core stays testable natively.
//! The names exported here are the JS API of every target (web, Node, mini-program).
//!
//! ## The contract with the JS wrapper
//! `new Maidian(config, now, entropy, stored)` starts the core; every other input method takes
//! the host time `now` (ms since the epoch, a JS number) first and **returns the effects** it
//! produced, as an array of plain objects (see [`crate::core::effects`] for their shapes). The
//! wrapper executes them in order, synchronously for storage. Values cross as JSON-compatible
//! objects; no 64-bit integer crosses: times are numbers, batch ids `u32`, request bodies
//! `Uint8Array`.
//!
//! ## Why JSON text, not serde-wasm-bindgen
//! Input values are converted with the host's own `JSON.stringify` and parsed into
//! `serde_json::Value` by [`crate::core::json_text`] (a small parser: serde's deserializer and,
//! through its error path, float formatting cost ≈ 12 KB of brotli'd wasm) instead of
//! serde-wasm-bindgen: the latter monomorphizes a deserializer for every input and config type
//! and imports much of js-sys, which measured about 45 KB of wasm before brotli. The JS contract
//! is the same as serde-wasm-bindgen's `json_compatible()` output (plain objects and arrays),
//! except that the request body really is a `Uint8Array`. Effects are built as JS objects
//! property by property (names created once per instance, see `Names`).

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

use crate::core::{
    Config, Core, Effect, ExposureEntry, Init, LaunchOptions, PageView, ShareInput, Tap,
    effects::Level,
};

/// The SDK version (the Rust crate version, which is also the npm package version).
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_owned()
}

/// A JS value as JSON (`undefined` / `null` are `Value::Null`).
fn from_js(v: JsValue) -> Result<Value, JsError> {
    if v.is_undefined() || v.is_null() {
        return Ok(Value::Null);
    }
    let text: String = js_sys::JSON::stringify(&v)
        .map_err(|_| JsError::new("value is not JSON-serializable"))?
        .into();
    // Not serde_json::from_str: see core/json_text.rs (≈ 25 KB of wasm).
    crate::core::json_text::parse(&text).ok_or_else(|| JsError::new("invalid JSON value"))
}

/// A JS properties object (`undefined` / `null` are empty; anything else but an object is an
/// error).
fn props_from_js(v: JsValue) -> Result<Map<String, Value>, JsError> {
    match from_js(v)? {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err(JsError::new("properties must be an object")),
    }
}

#[wasm_bindgen]
extern "C" {
    /// `Reflect.set` without js-sys's `catch` wrapper (a JS `try` and an `arguments` copy per
    /// call in the glue): setting a property on a plain object created here cannot throw.
    #[wasm_bindgen(js_namespace = Reflect, js_name = set)]
    fn set_property(target: &js_sys::Object, key: &JsValue, value: &JsValue) -> bool;
}

/// A JSON object as a JS object (through the host's `JSON.parse`).
fn object_to_js(m: &Map<String, Value>) -> JsValue {
    let mut text = String::new();
    crate::core::json_write::object(&mut text, m);
    js_sys::JSON::parse(&text).unwrap_or(JsValue::UNDEFINED)
}

/// The property names and constant values of the effect objects as JS strings, created once
/// per instance: every `JsValue::from_str` decodes UTF-8 in JS (a `TextDecoder` call), which
/// for these short strings cost more than the rest of building an effect.
struct Names {
    type_: JsValue,
    key: JsValue,
    value: JsValue,
    batch_id: JsValue,
    url: JsValue,
    body: JsValue,
    headers: JsValue,
    events: JsValue,
    at: JsValue,
    level: JsValue,
    message: JsValue,
    persist: JsValue,
    remove: JsValue,
    send: JsValue,
    wake_at: JsValue,
    log: JsValue,
    debug: JsValue,
    warn: JsValue,
}

impl Names {
    fn new() -> Self {
        let s = JsValue::from_str;
        Self {
            type_: s("type"),
            key: s("key"),
            value: s("value"),
            batch_id: s("batchId"),
            url: s("url"),
            body: s("body"),
            headers: s("headers"),
            events: s("events"),
            at: s("at"),
            level: s("level"),
            message: s("message"),
            persist: s("persist"),
            remove: s("remove"),
            send: s("send"),
            wake_at: s("wakeAt"),
            log: s("log"),
            debug: s("debug"),
            warn: s("warn"),
        }
    }
}

/// One SDK instance (normally one per app).
#[wasm_bindgen]
pub struct Maidian {
    core: Core,
    names: Names,
}

#[wasm_bindgen]
impl Maidian {
    fn effects(&mut self) -> JsValue {
        // Built as JS objects directly rather than through JSON text: a persisted value is an
        // event's JSON, which a JSON round trip would escape in Rust and unescape in JS.
        let n = &self.names;
        let out = js_sys::Array::new();
        for e in self.core.poll_effects() {
            let o = js_sys::Object::new();
            let set = |k: &JsValue, v: &JsValue| {
                set_property(&o, k, v);
            };
            match e {
                Effect::Persist { key, value } => {
                    set(&n.type_, &n.persist);
                    set(&n.key, &key.into());
                    set(&n.value, &value.into());
                }
                Effect::Remove { key } => {
                    set(&n.type_, &n.remove);
                    set(&n.key, &key.into());
                }
                Effect::Send {
                    batch_id,
                    url,
                    body,
                    headers,
                    events,
                } => {
                    set(&n.type_, &n.send);
                    set(&n.batch_id, &batch_id.into());
                    set(&n.url, &url.into());
                    set(&n.body, &js_sys::Uint8Array::from(body.as_slice()).into());
                    set(&n.headers, &object_to_js(&headers));
                    set(&n.events, &events.into());
                }
                Effect::WakeAt { at } => {
                    set(&n.type_, &n.wake_at);
                    set(&n.at, &at.map_or(JsValue::NULL, JsValue::from));
                }
                Effect::Log { level, message } => {
                    set(&n.type_, &n.log);
                    set(
                        &n.level,
                        match level {
                            Level::Debug => &n.debug,
                            Level::Warn => &n.warn,
                        },
                    );
                    set(&n.message, &message.into());
                }
            }
            out.push(&o);
        }
        out.into()
    }

    /// Starts the core. `config`: the camelCase configuration object (`writeKey` and `endpoint`
    /// required); `entropy`: at least 16 (better 32) bytes from the platform's cryptographic
    /// random source; `stored`: `{key: value}` of every storage entry whose key starts with the
    /// storage prefix (default `md_`). Call `takeEffects()` right after: reloaded events are
    /// sent at once.
    #[wasm_bindgen(constructor)]
    pub fn new(
        config: JsValue,
        now: f64,
        entropy: &[u8],
        stored: JsValue,
    ) -> Result<Maidian, JsError> {
        let config = Config::from_json(&from_js(config)?).map_err(|e| JsError::new(&e.0))?;
        let stored = match from_js(stored)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let stored = stored
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                _ => None,
            })
            .collect();
        let init = Init {
            now,
            entropy: entropy.to_vec(),
            stored,
        };
        Core::new(config, init)
            .map(|core| Maidian {
                core,
                names: Names::new(),
            })
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The effects produced so far (start-up ones, or any not yet taken).
    #[wasm_bindgen(js_name = takeEffects)]
    pub fn take_effects(&mut self) -> JsValue {
        self.effects()
    }

    /// A code-tracked event.
    pub fn track(&mut self, now: f64, name: &str, properties: JsValue) -> Result<JsValue, JsError> {
        let p = props_from_js(properties)?;
        self.core.track(now, name, p);
        Ok(self.effects())
    }

    /// A code-tracked page view.
    pub fn page(&mut self, now: f64, name: &str, properties: JsValue) -> Result<JsValue, JsError> {
        let p = props_from_js(properties)?;
        self.core.page(now, name, p);
        Ok(self.effects())
    }

    /// `identify(now, userId | null, traits)`.
    pub fn identify(
        &mut self,
        now: f64,
        user_id: Option<String>,
        traits: JsValue,
    ) -> Result<JsValue, JsError> {
        let t = props_from_js(traits)?;
        self.core.identify(now, user_id.as_deref(), t);
        Ok(self.effects())
    }

    /// `alias(now, userId, previousId?)`.
    pub fn alias(&mut self, now: f64, user_id: &str, previous_id: Option<String>) -> JsValue {
        self.core.alias(now, user_id, previous_id.as_deref());
        self.effects()
    }

    /// Logout: new anonymous id and session, user id and super properties cleared.
    pub fn reset(&mut self, now: f64) -> JsValue {
        self.core.reset(now);
        self.effects()
    }

    /// Persisted super properties.
    pub fn register(&mut self, properties: JsValue) -> Result<JsValue, JsError> {
        let p = props_from_js(properties)?;
        self.core.register(p);
        Ok(self.effects())
    }

    /// Removes a persisted super property.
    pub fn unregister(&mut self, key: &str) -> JsValue {
        self.core.unregister(key);
        self.effects()
    }

    /// Super properties for this run only.
    #[wasm_bindgen(js_name = registerRun)]
    pub fn register_run(&mut self, properties: JsValue) -> Result<JsValue, JsError> {
        let p = props_from_js(properties)?;
        self.core.register_run(p);
        Ok(self.effects())
    }

    /// Consent granted.
    pub fn grant(&mut self, now: f64) -> JsValue {
        self.core.grant(now);
        self.effects()
    }

    /// Consent denied: purges storage (see the `remove` effects) and stops tracking.
    pub fn deny(&mut self, now: f64) -> JsValue {
        self.core.deny(now);
        self.effects()
    }

    /// `App.onLaunch(options)`: `{path, query, scene}`.
    #[wasm_bindgen(js_name = appLaunch)]
    pub fn app_launch(&mut self, now: f64, options: JsValue) -> Result<JsValue, JsError> {
        let o = LaunchOptions::from_json(&from_js(options)?);
        self.core.app_launch(now, &o);
        Ok(self.effects())
    }

    /// `App.onShow(options)`.
    #[wasm_bindgen(js_name = appShow)]
    pub fn app_show(&mut self, now: f64, options: JsValue) -> Result<JsValue, JsError> {
        let o = LaunchOptions::from_json(&from_js(options)?);
        self.core.app_show(now, &o);
        Ok(self.effects())
    }

    /// `App.onHide`.
    #[wasm_bindgen(js_name = appHide)]
    pub fn app_hide(&mut self, now: f64) -> JsValue {
        self.core.app_hide(now);
        self.effects()
    }

    /// `Page.onShow`: `{path, query, title}`.
    #[wasm_bindgen(js_name = pageShow)]
    pub fn page_show(&mut self, now: f64, view: JsValue) -> Result<JsValue, JsError> {
        let v = PageView::from_json(&from_js(view)?);
        self.core.page_show(now, &v);
        Ok(self.effects())
    }

    /// `Page.onHide` / `Page.onUnload`.
    #[wasm_bindgen(js_name = pageHide)]
    pub fn page_hide(&mut self, now: f64) -> JsValue {
        self.core.page_hide(now);
        self.effects()
    }

    /// A tap / long-press handler ran: `{kind, elementId, handler, dataset}`.
    pub fn tap(&mut self, now: f64, tap: JsValue) -> Result<JsValue, JsError> {
        let t = Tap::from_json(&from_js(tap)?);
        self.core.tap(now, &t);
        Ok(self.effects())
    }

    /// Intersection entries: `[{key, ratio, dataset}]`.
    pub fn exposure(&mut self, now: f64, entries: JsValue) -> Result<JsValue, JsError> {
        let e = ExposureEntry::list_from_json(&from_js(entries)?);
        self.core.exposure(now, e);
        Ok(self.effects())
    }

    /// A share: `{method, from, path}`.
    pub fn share(&mut self, now: f64, input: JsValue) -> Result<JsValue, JsError> {
        let i = ShareInput::from_json(&from_js(input)?);
        self.core.share(now, &i);
        Ok(self.effects())
    }

    /// The path to return from `onShareAppMessage` (augmented only if `shareAugment`).
    #[wasm_bindgen(js_name = sharePath)]
    pub fn share_path(&self, path: &str, method: Option<String>) -> String {
        self.core.share_path(path, method.as_deref())
    }

    /// The network type changed (`wifi`, `4g`, `none`, ...).
    #[wasm_bindgen(js_name = setNetwork)]
    pub fn set_network(&mut self, now: f64, kind: &str) -> JsValue {
        self.core.set_network(now, kind);
        self.effects()
    }

    /// Send what waits, as the backoff gate allows.
    pub fn flush(&mut self, now: f64) -> JsValue {
        self.core.flush(now);
        self.effects()
    }

    /// A `persist` effect failed: the host storage refused to write `key` (quota, per-key
    /// size). The events stay in memory and are written again after the next delivery.
    #[wasm_bindgen(js_name = persistFailed)]
    pub fn persist_failed(&mut self, now: f64, key: &str) -> JsValue {
        self.core.persist_failed(now, key);
        self.effects()
    }

    /// The `wakeAt` timer fired.
    pub fn tick(&mut self, now: f64) -> JsValue {
        self.core.tick(now);
        self.effects()
    }

    /// A `send` ended: HTTP status (0 = no response), `Retry-After` seconds if present.
    pub fn sent(
        &mut self,
        now: f64,
        batch_id: u32,
        status: u16,
        retry_after: Option<f64>,
    ) -> JsValue {
        self.core.sent(now, batch_id, status, retry_after);
        self.effects()
    }

    /// More random bytes (optional).
    #[wasm_bindgen(js_name = addEntropy)]
    pub fn add_entropy(&mut self, bytes: &[u8]) {
        self.core.add_entropy(bytes);
    }

    /// `pending`, `granted` or `denied`.
    pub fn consent(&self) -> String {
        self.core.consent().as_str().to_owned()
    }

    /// The anonymous id (undefined before consent).
    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id(&self) -> Option<String> {
        self.core.anonymous_id().map(str::to_owned)
    }

    /// The user id.
    #[wasm_bindgen(js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.core.user_id().map(str::to_owned)
    }

    /// The session id.
    #[wasm_bindgen(js_name = sessionId)]
    pub fn session_id(&self) -> Option<String> {
        self.core.session_id().map(str::to_owned)
    }

    /// Counters (numbers).
    pub fn stats(&self) -> JsValue {
        let s = self.core.stats();
        let o = js_sys::Object::new();
        for (k, v) in [
            ("eventsQueued", s.events_queued),
            ("eventsDelivered", s.events_delivered),
            ("requests", s.requests),
            ("wireBytes", s.wire_bytes),
            ("storageBytesWritten", s.storage_bytes_written),
            ("deliveredEventBytes", s.delivered_event_bytes),
            ("queueLen", self.core.queue_len() as u64),
            ("queueBytes", self.core.queue_bytes() as u64),
            ("pendingLen", self.core.pending_len() as u64),
        ] {
            // Counters stay far below 2^53: exact as JS numbers.
            set_property(&o, &JsValue::from_str(k), &JsValue::from(v as f64));
        }
        o.into()
    }
}
