//! Exposure observation: one `IntersectionObserver` over the elements of the exposure class
//! (`md-expose` by default), and one `MutationObserver` that finds such elements when the app
//! renders them later (SPA pages). Entries go to the core as they come; the core applies the
//! ratio / dwell / frequency rule (`core::autotrack`) and asks for a `wakeAt` when a dwell
//! completes without another entry.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    Document, Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit,
    MutationObserver, MutationObserverInit, MutationRecord,
};

use super::dom::dataset_of;
use super::elements::{KEY_ATTR, exposure_key};
use super::host::Host;
use crate::core::ExposureEntry;

/// Entries are reported at every tenth of visibility, so any `exposureRatio` is crossed
/// within 0.1 without the host knowing the core's setting.
const THRESHOLD_STEPS: u32 = 10;

/// The observers of one host.
pub struct Exposure {
    class: String,
    intersection: IntersectionObserver,
    mutation: MutationObserver,
    _on_intersection: Closure<dyn FnMut(Array)>,
    _on_mutation: Closure<dyn FnMut(Array)>,
}

fn has_class(el: &Element, class: &str) -> bool {
    el.get_attribute("class")
        .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == class))
}

fn entry(e: &IntersectionObserverEntry) -> Option<ExposureEntry> {
    let el = e.target();
    let key = exposure_key(el.get_attribute(KEY_ATTR).as_deref(), &el.id())?;
    Some(ExposureEntry {
        key,
        ratio: if e.is_intersecting() {
            e.intersection_ratio()
        } else {
            0.0
        },
        dataset: dataset_of(&el),
    })
}

impl Exposure {
    /// Starts observing `class` elements under `document` (none if the browser has no
    /// `IntersectionObserver` or `MutationObserver`).
    pub fn start(host: &Rc<Host>, class: &str) -> Result<Self, JsValue> {
        let weak = Rc::downgrade(host);
        let on_intersection = Closure::<dyn FnMut(Array)>::new(move |entries: Array| {
            let list: Vec<ExposureEntry> = entries
                .iter()
                .filter_map(|e| e.dyn_into::<IntersectionObserverEntry>().ok())
                .filter_map(|e| entry(&e))
                .collect();
            if list.is_empty() {
                return;
            }
            if let Some(h) = weak.upgrade() {
                h.input(|c, now| c.exposure(now, list));
            }
        });
        let init = IntersectionObserverInit::new();
        let steps: Array = (0..=THRESHOLD_STEPS)
            .map(|i| JsValue::from(f64::from(i) / f64::from(THRESHOLD_STEPS)))
            .collect();
        init.set_threshold(&steps);
        let intersection = IntersectionObserver::new_with_options(
            on_intersection.as_ref().unchecked_ref(),
            &init,
        )?;

        let io = intersection.clone();
        let cls = class.to_owned();
        let on_mutation = Closure::<dyn FnMut(Array)>::new(move |records: Array| {
            for r in records.iter() {
                let Ok(r) = r.dyn_into::<MutationRecord>() else {
                    continue;
                };
                let added = r.added_nodes();
                for i in 0..added.length() {
                    if let Some(el) = added.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                        observe_tree(&io, &el, &cls);
                    }
                }
            }
        });
        let mutation = MutationObserver::new(on_mutation.as_ref().unchecked_ref())?;
        let opts = MutationObserverInit::new();
        opts.set_child_list(true);
        opts.set_subtree(true);
        mutation.observe_with_options(&host.document, &opts)?;

        let x = Exposure {
            class: class.to_owned(),
            intersection,
            mutation,
            _on_intersection: on_intersection,
            _on_mutation: on_mutation,
        };
        x.rescan(&host.document);
        Ok(x)
    }

    /// Observes every element of the class afresh (a new page view: elements kept from the
    /// previous one report their visibility again).
    pub fn rescan(&self, document: &Document) {
        self.intersection.disconnect();
        let all = document.get_elements_by_class_name(&self.class);
        for i in 0..all.length() {
            if let Some(el) = all.item(i) {
                self.intersection.observe(&el);
            }
        }
    }
}

impl Drop for Exposure {
    fn drop(&mut self) {
        self.intersection.disconnect();
        self.mutation.disconnect();
    }
}

/// Observes `el` and its descendants of `class` (observing an element twice is a no-op).
fn observe_tree(io: &IntersectionObserver, el: &Element, class: &str) {
    if has_class(el, class) {
        io.observe(el);
    }
    let inner = el.get_elements_by_class_name(class);
    for i in 0..inner.length() {
        if let Some(e) = inner.item(i) {
            io.observe(&e);
        }
    }
}
