//! The `#[wasm_bindgen]` layer: converts JS values and forwards to the core.
//!
//! Keep this module thin — no decisions here, only conversions — so the core can be replaced or
//! grown without touching the JS contract, and so the core stays testable natively.
//! The names exported here are the JS API of every target (web, Node, mini-program).

use wasm_bindgen::prelude::*;

/// The SDK version (the Rust crate version, which is also the npm package version).
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_owned()
}

/// Returns `input` unchanged (after a round trip through UTF-8 on both sides of the boundary).
#[wasm_bindgen]
pub fn echo(input: &str) -> String {
    crate::echo(input)
}

/// Length in bytes of the UTF-8 encoding of `input`, as seen by Rust.
#[wasm_bindgen(js_name = utf8Len)]
pub fn utf8_len(input: &str) -> u32 {
    // Strings crossing the boundary are far below 4 GiB (wasm32 memory); saturate anyway.
    u32::try_from(crate::utf8_len(input)).unwrap_or(u32::MAX)
}
