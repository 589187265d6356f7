//! maidian SDK core.
//!
//! The core ([`core`]) is a sans-IO state machine whose inputs are calls and whose outputs are
//! effects (see `DESIGN.md`). Everything that talks to JavaScript lives in [`bindings`] (and the
//! browser host in `web`), so the core stays free of `JsValue` and is tested with native
//! `cargo test`.

#[cfg(all(target_arch = "wasm32", feature = "small-allocator"))]
mod allocator;
pub mod bindings;
pub mod core;
// The browser host: only in the web/Node build (and in native tests of its pure parts), so the
// mini-program build compiles exactly what it did before.
#[cfg(any(test, feature = "web-host"))]
pub mod web;

/// The crate version, as released to npm and reported in the event context.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_package_version() {
        assert_eq!(VERSION, env!("CARGO_PKG_VERSION"));
        assert!(!VERSION.is_empty());
    }
}
