//! maidian SDK core.
//!
//! This is a placeholder core: it only proves the three-target build (web, Node, mini-program)
//! end to end. The real core — a sans-IO state machine whose inputs are calls and whose outputs
//! are effects (see `DESIGN.md`) — will replace the plain functions below. Everything that talks
//! to JavaScript lives in [`bindings`], so the core stays free of `JsValue` and is tested with
//! native `cargo test`.

pub mod bindings;
pub mod core;
// The browser host: only in the web/Node build (and in native tests of its pure parts), so the
// mini-program build compiles exactly what it did before.
#[cfg(any(test, feature = "web-host"))]
pub mod web;

/// The crate version, as released to npm and reported in the event context.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Returns the input unchanged. Exists so the smoke tests push strings through the UTF-8
/// encoder on the way in and the decoder on the way out.
pub fn echo(input: &str) -> String {
    input.to_owned()
}

/// Number of bytes of the UTF-8 encoding of `input` (what the JS side's encoder produced).
pub fn utf8_len(input: &str) -> usize {
    input.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_package_version() {
        assert_eq!(VERSION, env!("CARGO_PKG_VERSION"));
        assert!(!VERSION.is_empty());
    }

    #[test]
    fn echo_and_len_handle_non_ascii() {
        let s = "埋点 🚀";
        assert_eq!(echo(s), s);
        assert_eq!(utf8_len(s), 3 + 3 + 1 + 4);
    }
}
