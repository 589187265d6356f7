//! Executes the core's effects with browser APIs: `localStorage`, `fetch` / `sendBeacon`
//! (the choice is [`super::transport::choose`]), one `setTimeout`, the console. Outcomes go
//! back into the core as inputs (`persist_failed`, `sent`, `tick`).

use std::rc::Rc;

use crate::core::jv::Obj;
use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{RequestInit, Response};

use super::host::{Host, now};
use super::transport::{self, BEACON_ACCEPTED_STATUS, Transport};
use crate::core::{Effect, Level};

/// The longest delay `setTimeout` accepts.
const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// Executes one effect.
pub fn execute(host: &Rc<Host>, effect: Effect) {
    match effect {
        Effect::Persist { key, value } => {
            let written = host
                .storage
                .as_ref()
                .is_some_and(|s| s.set_item(&key, &value).is_ok());
            if !written {
                // Quota, per-key limit or no localStorage: the core keeps the events in memory.
                host.input(|c, now| c.persist_failed(now, &key));
            }
        }
        Effect::Remove { key } => {
            if let Some(s) = &host.storage {
                let _ = s.remove_item(&key);
            }
        }
        Effect::Send {
            batch_id,
            url,
            body,
            headers,
            ..
        } => send(host, batch_id, &url, &body, &headers),
        Effect::WakeAt { at } => wake_at(host, at.map(|a| a as f64)),
        Effect::Log { level, message } => {
            let text = JsValue::from_str(&format!("[maidian] {message}"));
            match level {
                Level::Warn => web_sys::console::warn_1(&text),
                Level::Debug if host.debug => web_sys::console::debug_1(&text),
                Level::Debug => {}
            }
        }
    }
}

fn send(host: &Rc<Host>, batch_id: u32, url: &str, body: &[u8], headers: &Obj) {
    let online = host.window.navigator().on_line();
    let mut way = transport::choose(body.len(), host.leaving.get(), online);
    if host.debug {
        let how = match way {
            Transport::Fetch { .. } => "fetch",
            Transport::Beacon => "beacon",
            Transport::Offline => "nothing (offline)",
        };
        web_sys::console::debug_1(&format!("[maidian] send batch {batch_id} by {how}").into());
    }
    if way == Transport::Beacon {
        let data = Uint8Array::from(body);
        let beacon = transport::beacon_url(url, headers);
        let queued = host
            .window
            .navigator()
            .send_beacon_with_opt_js_u8_array(&beacon, Some(&data));
        if host.debug {
            let v = queued
                .clone()
                .unwrap_or_else(|e| e.as_bool().unwrap_or(false));
            web_sys::console::debug_1(&format!("[maidian] beacon {beacon}: {v}").into());
        }
        match queued {
            Ok(true) => {
                host.input(|c, now| c.sent(now, batch_id, BEACON_ACCEPTED_STATUS, None));
                return;
            }
            // Refused (the browser's keep-alive budget is used up): a keep-alive fetch may
            // still fit; otherwise it fails and the events stay stored for the next visit.
            _ => way = Transport::Fetch { keepalive: true },
        }
    }
    match way {
        Transport::Offline | Transport::Beacon => {
            host.input(|c, now| c.sent(now, batch_id, 0, None));
        }
        Transport::Fetch { keepalive } => {
            if let Err(e) = fetch(host, batch_id, url, body, headers, keepalive) {
                web_sys::console::warn_2(&"[maidian] fetch failed to start".into(), &e);
                host.input(|c, now| c.sent(now, batch_id, 0, None));
            }
        }
    }
}

fn fetch(
    host: &Rc<Host>,
    batch_id: u32,
    url: &str,
    body: &[u8],
    headers: &Obj,
    keepalive: bool,
) -> Result<(), JsValue> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&Uint8Array::from(body));
    let h = Object::new();
    for (k, v) in headers {
        if let Some(v) = v.as_str() {
            Reflect::set(&h, &JsValue::from_str(k), &JsValue::from_str(v))?;
        }
    }
    init.set_headers(&h);
    // Not in web-sys' RequestInit: lets the request finish after the page is gone.
    Reflect::set(&init, &"keepalive".into(), &keepalive.into())?;
    let promise = host.window.fetch_with_str_and_init(url, &init);
    let weak = Rc::downgrade(host);
    // One self-freeing function for both outcomes: exactly one of them is ever called.
    let done = Closure::once_into_js(move |v: JsValue| {
        let (status, retry_after) = match v.dyn_ref::<Response>() {
            Some(r) => (
                r.status(),
                r.headers()
                    .get("retry-after")
                    .ok()
                    .flatten()
                    .and_then(|s| transport::retry_after_seconds(&s)),
            ),
            None => (0, None),
        };
        if let Some(host) = weak.upgrade() {
            host.input(|c, now| c.sent(now, batch_id, status, retry_after));
        }
    });
    let then: Function = Reflect::get(&promise, &"then".into())?.dyn_into()?;
    then.call2(&promise, &done, &done)?;
    Ok(())
}

fn wake_at(host: &Rc<Host>, at: Option<f64>) {
    if let Some((_, handle)) = host.wake.take() {
        host.window.clear_timeout_with_handle(handle);
    }
    if let Some(at) = at {
        arm(host, at);
    }
}

fn arm(host: &Rc<Host>, at: f64) {
    let delay = (at - now()).clamp(0.0, MAX_TIMER_MS);
    let timer = host.timer_fn.borrow();
    let Some(f) = timer.as_ref() else { return };
    match host
        .window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            f.as_ref().unchecked_ref(),
            delay as i32,
        ) {
        Ok(handle) => host.wake.set(Some((at, handle))),
        Err(e) => web_sys::console::warn_2(&"[maidian] setTimeout failed".into(), &e),
    }
}

/// The function the `wakeAt` timer calls (created once per host).
pub fn timer_fn(host: &Rc<Host>) -> Closure<dyn FnMut()> {
    let weak = Rc::downgrade(host);
    Closure::new(move || {
        let Some(host) = weak.upgrade() else { return };
        let Some((at, _)) = host.wake.take() else {
            return;
        };
        // A timer may fire a little early; the core announces a wake-up once, so re-arm for
        // the remainder instead of ticking too soon.
        if now() < at {
            arm(&host, at);
        } else {
            host.input(|c, now| c.tick(now));
        }
    })
}
