//! The browser host in Rust: everything between the DOM and the sans-IO core for web pages.
//!
//! The core (`crate::core`) decides what becomes an event, when to send, how to bound the
//! queue and how to back off; this module only translates browser events into core inputs and
//! executes the core's effects:
//!
//! | browser                                                   | core input                     |
//! |-----------------------------------------------------------|--------------------------------|
//! | start                                                     | `app_launch`, `app_show`, `page_show` |
//! | `history.pushState` / `replaceState` (patched), `popstate` to a new path or query | `page_show` (leaves the previous page) |
//! | one capturing `click` listener on the document            | `tap` (see [`elements`])       |
//! | `IntersectionObserver` over `.md-expose` elements (new ones found by a `MutationObserver`) | `exposure` |
//! | `visibilitychange` to hidden, `pagehide`                  | `page_hide`, `app_hide`        |
//! | `visibilitychange` to visible                             | `app_show`, `page_show`        |
//! | `offline` / `online`                                      | `set_network`                  |
//!
//! | effect    | executed with                                                               |
//! |-----------|-----------------------------------------------------------------------------|
//! | `persist` / `remove` | `localStorage` (a refused write goes back as `persist_failed`)   |
//! | `send`    | `fetch` (`keepalive` up to 64 KiB), `sendBeacon` while the page is being hidden, nothing while offline ([`transport`]); the outcome goes back as `sent` |
//! | `wakeAt`  | one `setTimeout`, replaced by every new `wakeAt`; it calls `tick`            |
//! | `log`     | `console.warn` / `console.debug` (debug only with `debug: true`)            |
//!
//! The pure parts ([`elements`], [`options`], [`route`], [`transport`]) are plain Rust, tested
//! natively; the DOM parts (`host`, `io`, `dom`, `exposure`, `api`) need the `web-host` feature
//! (web-sys), which only the web/Node build enables — the mini-program build compiles none of
//! this module.

pub mod elements;
pub mod options;
pub mod route;
pub mod transport;

#[cfg(feature = "web-host")]
mod api;
#[cfg(feature = "web-host")]
mod dom;
#[cfg(feature = "web-host")]
mod exposure;
#[cfg(feature = "web-host")]
mod host;
#[cfg(feature = "web-host")]
mod io;

#[cfg(feature = "web-host")]
pub use api::WebHost;
