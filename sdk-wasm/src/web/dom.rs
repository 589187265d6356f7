//! The DOM listeners of the browser host: the document click, the history patch and
//! `popstate`, `visibilitychange` / `pagehide`, `online` / `offline`. Each turns its event into
//! core inputs through [`Host::input`]; which element a click is about is decided by
//! [`super::elements`] over facts read here.

use std::rc::{Rc, Weak};

use crate::core::jv::{Json, Obj};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{AddEventListenerOptions, Element, EventTarget, HtmlElement, Node, Window};

use super::elements::{self, CLICK_ATTR, ClickMode, ElementFacts, IGNORE_ATTR, MAX_ANCESTORS};
use super::host::Host;
use super::route::Route;

/// Most `data-*` entries read from one element (the core keeps only allow-listed ones).
const MAX_DATASET_ENTRIES: usize = 64;

/// The route of the current location.
pub fn current_route(window: &Window) -> Route {
    let loc = window.location();
    Route::new(
        &loc.pathname().unwrap_or_default(),
        &loc.search().unwrap_or_default(),
    )
}

/// `element.dataset` as a JSON object of strings.
pub fn dataset_of(el: &Element) -> Obj {
    let mut out = Obj::new();
    let Some(ds) = el.dyn_ref::<HtmlElement>().map(HtmlElement::dataset) else {
        return out;
    };
    for k in Object::keys(&ds).iter().take(MAX_DATASET_ENTRIES) {
        let (Some(key), Some(v)) = (k.as_string(), Reflect::get(&ds, &k).ok()) else {
            continue;
        };
        if let Some(v) = v.as_string() {
            out.insert(key, Json::Str(v));
        }
    }
    out
}

fn facts(el: &Element) -> ElementFacts {
    let names = el.get_attribute_names();
    let mut opted_in = false;
    let mut ignored = false;
    for n in names.iter().filter_map(|n| n.as_string()) {
        if n.eq_ignore_ascii_case(IGNORE_ATTR) {
            ignored = true;
        } else if elements::is_opt_in_attr(&n) {
            opted_in = true;
        }
    }
    ElementFacts {
        tag: el.tag_name(),
        role: el.get_attribute("role"),
        input_type: el.get_attribute("type"),
        has_href: el.has_attribute("href"),
        opted_in,
        ignored,
    }
}

/// The element a click on `target` is recorded for, if any.
fn click_element(target: Option<EventTarget>, mode: ClickMode) -> Option<Element> {
    let node: Node = target?.dyn_into().ok()?;
    let mut el = match node.dyn_into::<Element>() {
        Ok(e) => Some(e),
        Err(n) => n.parent_element(),
    };
    let mut path = Vec::with_capacity(MAX_ANCESTORS);
    let mut facts_path = Vec::with_capacity(MAX_ANCESTORS);
    while let Some(e) = el {
        if path.len() == MAX_ANCESTORS {
            break;
        }
        facts_path.push(facts(&e));
        el = e.parent_element();
        path.push(e);
    }
    let i = elements::pick(&facts_path, mode)?;
    path.into_iter().nth(i)
}

fn listen(
    host: &Rc<Host>,
    target: &EventTarget,
    event: &str,
    capture: bool,
    f: impl FnMut(JsValue) + 'static,
) -> Result<(), JsValue> {
    let closure = Closure::<dyn FnMut(JsValue)>::new(f);
    let options = AddEventListenerOptions::new();
    options.set_capture(capture);
    options.set_passive(true);
    target.add_event_listener_with_callback_and_add_event_listener_options(
        event,
        closure.as_ref().unchecked_ref(),
        &options,
    )?;
    host.keep.borrow_mut().push(closure);
    Ok(())
}

fn with_host(weak: &Weak<Host>, f: impl FnOnce(&Rc<Host>)) {
    if let Some(h) = weak.upgrade() {
        f(&h);
    }
}

/// The page went to the background or away: the page and the app are hidden for the core, and
/// what the core sends right now leaves as a beacon. Idempotent (`pagehide` usually follows
/// `visibilitychange`).
pub fn background(host: &Rc<Host>) {
    if host.hidden.replace(true) {
        return;
    }
    host.leaving.set(true);
    host.input(|c, now| {
        c.page_hide(now);
        c.app_hide(now);
    });
    host.leaving.set(false);
}

/// Back in the foreground: the app and the current page are shown again.
pub fn foreground(host: &Rc<Host>) {
    if !host.hidden.replace(false) {
        return;
    }
    let route = current_route(&host.window);
    let title = host.document.title();
    *host.route.borrow_mut() = route.clone();
    host.input(|c, now| {
        c.app_show(now, &route.launch());
        c.page_show(now, &route.page_view(&title));
    });
    rescan(host);
}

/// The location may have changed (history API, `popstate`): a new path or query is a new page
/// view.
pub fn route_changed(host: &Rc<Host>) {
    let route = current_route(&host.window);
    if *host.route.borrow() == route {
        return;
    }
    *host.route.borrow_mut() = route.clone();
    if host.hidden.get() {
        // Reported when the page is shown again.
        return;
    }
    let title = host.document.title();
    host.input(|c, now| c.page_show(now, &route.page_view(&title)));
    rescan(host);
}

fn rescan(host: &Rc<Host>) {
    if let Some(x) = host.exposure.borrow().as_ref() {
        x.rescan(&host.document);
    }
}

/// Replaces `history[name]` with a function that calls the original, then checks the route.
fn patch_history(host: &Rc<Host>, name: &str) -> Result<(), JsValue> {
    let history = host.window.history()?;
    let original: Function = Reflect::get(&history, &name.into())?.dyn_into()?;
    let weak = Rc::downgrade(host);
    let this = history.clone();
    let patched = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
        move |state: JsValue, unused: JsValue, url: JsValue| {
            // Two arguments stay two: `url: undefined` would be the string "undefined" in
            // some engines.
            let r = if url.is_undefined() {
                original.call2(&this, &state, &unused)
            } else {
                original.call3(&this, &state, &unused, &url)
            };
            with_host(&weak, route_changed);
            r
        },
    );
    Reflect::set(&history, &name.into(), patched.as_ref())?;
    // Lives as long as the page: the history object keeps calling it.
    patched.forget();
    Ok(())
}

/// Installs every listener.
pub fn install(host: &Rc<Host>) -> Result<(), JsValue> {
    let window: &EventTarget = host.window.as_ref();
    let document: &EventTarget = host.document.as_ref();

    let mode = host.options.clicks;
    if mode != ClickMode::Off {
        let weak = Rc::downgrade(host);
        // Capturing, so an app's stopPropagation() does not hide the click.
        listen(host, document, "click", true, move |e| {
            let Ok(e) = e.dyn_into::<web_sys::Event>() else {
                return;
            };
            let Some(el) = click_element(e.target(), mode) else {
                return;
            };
            let tap = elements::tap(
                &el.id(),
                el.get_attribute(CLICK_ATTR).as_deref(),
                dataset_of(&el),
            );
            with_host(&weak, |h| h.input(|c, now| c.tap(now, &tap)));
        })?;
    }

    if host.options.history {
        patch_history(host, "pushState")?;
        patch_history(host, "replaceState")?;
        let weak = Rc::downgrade(host);
        listen(host, window, "popstate", false, move |_| {
            with_host(&weak, route_changed);
        })?;
    }

    let weak = Rc::downgrade(host);
    listen(host, document, "visibilitychange", false, move |_| {
        with_host(&weak, |h| {
            if h.document.hidden() {
                background(h);
            } else {
                foreground(h);
            }
        });
    })?;
    let weak = Rc::downgrade(host);
    listen(host, window, "pagehide", false, move |_| {
        with_host(&weak, background);
    })?;
    // Back from the back/forward cache without a visibility change.
    let weak = Rc::downgrade(host);
    listen(host, window, "pageshow", false, move |e| {
        let persisted = Reflect::get(&e, &"persisted".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if persisted {
            with_host(&weak, foreground);
        }
    })?;

    let weak = Rc::downgrade(host);
    listen(host, window, "offline", false, move |_| {
        with_host(&weak, |h| h.input(|c, now| c.set_network(now, "none")));
    })?;
    let weak = Rc::downgrade(host);
    listen(host, window, "online", false, move |_| {
        with_host(&weak, |h| {
            let kind = network_kind(&h.window);
            h.input(|c, now| c.set_network(now, &kind));
        });
    })?;
    Ok(())
}

/// `navigator.connection.effectiveType` (`4g`, ...) where the browser has it, else `unknown`.
pub fn network_kind(window: &Window) -> String {
    Reflect::get(&window.navigator(), &"connection".into())
        .ok()
        .filter(|c| c.is_object())
        .and_then(|c| Reflect::get(&c, &"effectiveType".into()).ok())
        .and_then(|t| t.as_string())
        .unwrap_or_else(|| "unknown".to_owned())
}
