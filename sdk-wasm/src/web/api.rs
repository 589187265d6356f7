//! `WebHost`, the class the browser entry (`js-wrapper/src/web/index.mjs`) drives: it starts
//! the core over `localStorage` and `crypto.getRandomValues`, installs the listeners and
//! observers, and takes the public API calls. Like the core bindings, every call takes the host
//! time first (the loader replays calls made while the wasm loaded with their original times).

use std::rc::Rc;

use crate::core::jv::{Json, Obj};
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use super::dom;
use super::exposure::Exposure;
use super::host::Host;
use super::options::HostOptions;
use crate::core::json::{boolean, obj, string};
use crate::core::{Config, Core, Init};

/// Default storage key prefix (the core's `storagePrefix`).
const DEFAULT_PREFIX: &str = "md_";
/// Random bytes seeded into the core.
const ENTROPY_BYTES: usize = 32;

/// A JS value as JSON through the host's `JSON.stringify` (`undefined` / `null`: `Null`).
fn from_js(v: &JsValue) -> Result<Json, JsError> {
    if v.is_undefined() || v.is_null() {
        return Ok(Json::Null);
    }
    let text: String = js_sys::JSON::stringify(v)
        .map_err(|_| JsError::new("value is not JSON-serializable"))?
        .into();
    // Not serde_json::from_str, as in bindings.rs: see core/json_text.rs.
    crate::core::json_text::parse(&text).ok_or_else(|| JsError::new("invalid JSON value"))
}

fn props(v: &JsValue) -> Result<Obj, JsError> {
    match from_js(v)? {
        Json::Obj(m) => Ok(m),
        Json::Null => Ok(Obj::new()),
        _ => Err(JsError::new("properties must be an object")),
    }
}

/// The browser host: one per page.
#[wasm_bindgen]
pub struct WebHost {
    host: Rc<Host>,
}

#[wasm_bindgen]
impl WebHost {
    /// Starts the core. `config`: the core configuration (camelCase, as for `Maidian`);
    /// `options`: the host's own (`{clicks: 'auto' | 'opt-in' | 'off', exposureClass,
    /// history}`); `now`: the host time of `init()`. Reloads the stored queue from
    /// `localStorage` and sends it.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, options: JsValue, now: f64) -> Result<WebHost, JsError> {
        let window = web_sys::window().ok_or_else(|| JsError::new("no window"))?;
        let document = window
            .document()
            .ok_or_else(|| JsError::new("no document"))?;
        let config_json = from_js(&config)?;
        let prefix =
            string(obj(&config_json), "storagePrefix").unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        let debug = boolean(obj(&config_json), "debug").unwrap_or(false);
        let config = Config::from_json(&config_json).map_err(|e| JsError::new(&e.0))?;
        // Sandboxed frames and some privacy modes throw on access: memory only then.
        let storage = window.local_storage().ok().flatten();
        let mut stored = Vec::new();
        if let Some(s) = &storage {
            let n = s.length().unwrap_or(0);
            for i in 0..n {
                let Some(key) = s.key(i).ok().flatten() else {
                    continue;
                };
                if key.starts_with(&prefix)
                    && let Some(v) = s.get_item(&key).ok().flatten()
                {
                    stored.push((key, v));
                }
            }
        }
        let mut entropy = vec![0u8; ENTROPY_BYTES];
        window
            .crypto()
            .and_then(|c| c.get_random_values_with_u8_array(&mut entropy))
            .map_err(|_| {
                JsError::new(
                    "no cryptographic random source (crypto.getRandomValues); without one, \
                     event ids could collide across devices",
                )
            })?;
        let core = Core::new(
            config,
            Init {
                now,
                entropy,
                stored,
            },
        )
        .map_err(|e| JsError::new(&e.to_string()))?;
        let options = HostOptions::from_json(&from_js(&options)?);
        let host = Host::new(core, window, document, storage, options, debug);
        *host.timer_fn.borrow_mut() = Some(super::io::timer_fn(&host));
        // Start-up effects (reloaded events are sent at once).
        host.input_at(now, |_, _| {});
        Ok(WebHost { host })
    }

    /// The launch at `now`: app launch and show, the first page view, then the listeners and
    /// observers. Call once, right after the constructor.
    pub fn launch(&self, now: f64) {
        let h = &self.host;
        let route = h.route.borrow().clone();
        let title = h.document.title();
        let offline = !h.window.navigator().on_line();
        h.input_at(now, |c, now| {
            if offline {
                c.set_network(now, "none");
            }
            c.app_launch(now, &route.launch());
            c.app_show(now, &route.launch());
            c.page_show(now, &route.page_view(&title));
        });
        if let Err(e) = dom::install(h) {
            // A locked-down page (frozen `history`, ...): what was installed keeps working.
            web_sys::console::warn_2(&"[maidian] some page listeners are missing:".into(), &e);
        }
        if !h.options.exposure_class.is_empty() {
            // Without IntersectionObserver (very old browsers) there is no exposure tracking.
            if let Ok(x) = Exposure::start(h, &h.options.exposure_class) {
                *h.exposure.borrow_mut() = Some(x);
            }
        }
        if h.document.hidden() {
            // Opened in a background tab.
            dom::background(h);
        }
    }

    /// A code-tracked event.
    pub fn track(&self, now: f64, name: &str, properties: JsValue) -> Result<(), JsError> {
        let p = props(&properties)?;
        self.host.input_at(now, |c, now| c.track(now, name, p));
        Ok(())
    }

    /// `identify(now, userId | null, traits)`.
    pub fn identify(
        &self,
        now: f64,
        user_id: Option<String>,
        traits: JsValue,
    ) -> Result<(), JsError> {
        let t = props(&traits)?;
        self.host
            .input_at(now, |c, now| c.identify(now, user_id.as_deref(), t));
        Ok(())
    }

    /// Persisted super properties.
    pub fn register(&self, now: f64, properties: JsValue) -> Result<(), JsError> {
        let p = props(&properties)?;
        self.host.input_at(now, |c, _| c.register(p));
        Ok(())
    }

    /// Removes a persisted super property.
    pub fn unregister(&self, now: f64, key: &str) {
        self.host.input_at(now, |c, _| c.unregister(key));
    }

    /// Consent granted.
    pub fn grant(&self, now: f64) {
        self.host.input_at(now, |c, now| c.grant(now));
    }

    /// Consent denied: purges storage and stops tracking.
    pub fn deny(&self, now: f64) {
        self.host.input_at(now, |c, now| c.deny(now));
    }

    /// Send what waits, as the backoff gate allows.
    pub fn flush(&self, now: f64) {
        self.host.input_at(now, |c, now| c.flush(now));
    }

    /// Logout: new anonymous id and session, user id and super properties cleared.
    pub fn reset(&self, now: f64) {
        self.host.input_at(now, |c, now| c.reset(now));
    }

    /// `pending`, `granted` or `denied`.
    pub fn consent(&self) -> String {
        self.host.core.borrow().consent().as_str().to_owned()
    }

    /// The anonymous id (undefined before consent).
    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id(&self) -> Option<String> {
        self.host.core.borrow().anonymous_id().map(str::to_owned)
    }

    /// The user id.
    #[wasm_bindgen(js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.host.core.borrow().user_id().map(str::to_owned)
    }

    /// The session id.
    #[wasm_bindgen(js_name = sessionId)]
    pub fn session_id(&self) -> Option<String> {
        self.host.core.borrow().session_id().map(str::to_owned)
    }

    /// Counters (numbers), the same fields as `Maidian.stats()`.
    pub fn stats(&self) -> JsValue {
        let core = self.host.core.borrow();
        let s = core.stats();
        let o = Object::new();
        for (k, v) in [
            ("eventsQueued", s.events_queued as f64),
            ("eventsDelivered", s.events_delivered as f64),
            ("requests", s.requests as f64),
            ("wireBytes", s.wire_bytes as f64),
            ("storageBytesWritten", s.storage_bytes_written as f64),
            ("deliveredEventBytes", s.delivered_event_bytes as f64),
            ("queueLen", core.queue_len() as f64),
            ("queueBytes", core.queue_bytes() as f64),
            ("pendingLen", core.pending_len() as f64),
        ] {
            let _ = Reflect::set(&o, &k.into(), &v.into());
        }
        o.into()
    }
}
