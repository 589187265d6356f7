//! The shared state of one browser host: the core, the effects waiting to be executed, and
//! the page-lifecycle flags. Every browser callback holds a `Weak<Host>` and turns its event
//! into one [`Host::input`]; effects are executed in order by one drain loop, so an outcome
//! fed back while effects run (a refused write, a beacon) is applied after them, never in the
//! middle.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{Document, Storage, Window};

use super::exposure::Exposure;
use super::options::HostOptions;
use super::route::Route;
use crate::core::{Core, Effect};

/// A DOM event listener kept alive by the host.
pub type Listener = Closure<dyn FnMut(JsValue)>;

/// One browser host.
pub struct Host {
    pub(super) core: RefCell<Core>,
    pending: RefCell<VecDeque<Effect>>,
    draining: Cell<bool>,
    /// The page is being hidden or unloaded: sends go as beacons.
    pub(super) leaving: Cell<bool>,
    /// The page is in the background (hidden or unloaded): the app is hidden for the core.
    pub(super) hidden: Cell<bool>,
    /// The route of the page view the core was told about last.
    pub(super) route: RefCell<Route>,
    /// The pending `wakeAt` time and its timer handle.
    pub(super) wake: Cell<Option<(f64, i32)>>,
    pub(super) window: Window,
    pub(super) document: Document,
    pub(super) storage: Option<Storage>,
    pub(super) options: HostOptions,
    /// `debug: true` in the configuration: debug log effects reach the console.
    pub(super) debug: bool,
    /// The listeners and observers (kept alive as long as the host).
    pub(super) keep: RefCell<Vec<Listener>>,
    pub(super) timer_fn: RefCell<Option<Closure<dyn FnMut()>>>,
    pub(super) exposure: RefCell<Option<Exposure>>,
}

/// The host time (ms since the epoch).
pub fn now() -> f64 {
    js_sys::Date::now()
}

impl Host {
    pub(super) fn new(
        core: Core,
        window: Window,
        document: Document,
        storage: Option<Storage>,
        options: HostOptions,
        debug: bool,
    ) -> Rc<Self> {
        let route = super::dom::current_route(&window);
        Rc::new(Host {
            core: RefCell::new(core),
            pending: RefCell::new(VecDeque::new()),
            draining: Cell::new(false),
            leaving: Cell::new(false),
            hidden: Cell::new(false),
            route: RefCell::new(route),
            wake: Cell::new(None),
            window,
            document,
            storage,
            options,
            debug,
            keep: RefCell::new(Vec::new()),
            timer_fn: RefCell::new(None),
            exposure: RefCell::new(None),
        })
    }

    /// Applies one input at host time `at`, then executes every effect it produced.
    pub fn input_at(self: &Rc<Self>, at: f64, f: impl FnOnce(&mut Core, f64)) {
        {
            // Inputs never nest (effects run after the borrow ends); if a browser ever
            // dispatched an event synchronously inside the core, it is dropped, not a panic.
            let Ok(mut core) = self.core.try_borrow_mut() else {
                web_sys::console::warn_1(&"[maidian] re-entrant input ignored".into());
                return;
            };
            f(&mut core, at);
            let effects = core.poll_effects();
            self.pending.borrow_mut().extend(effects);
        }
        self.drain();
    }

    /// [`Host::input_at`] now.
    pub fn input(self: &Rc<Self>, f: impl FnOnce(&mut Core, f64)) {
        self.input_at(now(), f);
    }

    /// Executes waiting effects in order (re-entrant calls return: the outer loop continues).
    pub fn drain(self: &Rc<Self>) {
        if self.draining.replace(true) {
            return;
        }
        loop {
            let next = self.pending.borrow_mut().pop_front();
            let Some(effect) = next else { break };
            super::io::execute(self, effect);
        }
        self.draining.set(false);
    }
}
