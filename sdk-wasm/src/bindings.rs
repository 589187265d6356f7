//! The `#[wasm_bindgen]` layer: one generic entry point into the core.
//!
//! Keep this module thin — no decisions here, only the crossing — so the core can be replaced or
//! grown without touching the JS contract, and so the core stays testable natively.
//! The names exported here are the JS API of every target (web, Node, mini-program); the
//! typed interface the wrapper uses is js-wrapper/src/core-adapter.mjs, built on top of it.
//!
//! ## The contract with the JS wrapper
//! - `new Maidian(args, entropy)`: `args` is the JSON text of `[config, now, stored]` (the
//!   camelCase configuration object with `writeKey` and `endpoint`; host time in ms since the
//!   epoch; `{key: value}` of every storage entry whose key starts with the storage prefix,
//!   default `md_`), `entropy` at least 16 (better 32) bytes from the platform's cryptographic
//!   random source. Call operation `takeEffects` right after: reloaded events are sent at once,
//!   and a core that could not start (invalid config, too few random bytes) answers it, like
//!   every call, with its error.
//! - `call(op, now, args)`: operation number `op` ([`ops::Op`]: `track`, `flush`, `sent`,
//!   `consent`, …) at host time `now` (a number; ignored by the operations that take none) with
//!   the JSON text of the array of its other arguments. Returns the reply text: the operation's
//!   result, then the effects the core produced, in order ([`wire`] has the format; the host
//!   executes them synchronously for storage). Wrong arguments give an error reply naming the
//!   operation (the host throws it as an `Error`), before the core is touched.
//! - `body()`: the request body (`Uint8Array`) of the oldest `send` effect of a reply whose body
//!   was not fetched yet.
//!
//! No 64-bit integer crosses: times and counters are JSON numbers, batch ids `u32`. No JS
//! object crosses either (errors are replies too): the glue needs no heap of JS values.
//!
//! ## Why one entry point, JSON text in, text out
//! Every `#[wasm_bindgen]` method is its own wasm export with its own inlined argument
//! conversion and its own wrapper in the glue (with ~30 methods ≈ 20 KB of wasm and ≈ 9.7 KB of
//! minified glue), and effects built as JS objects took one `Reflect.set` import call per
//! property. Now the arguments cross as one string (the host's `JSON.stringify`, parsed by
//! [`crate::core::json_text`], which is in the wasm anyway for the persisted state) and the
//! effects as one string (one `JSON.parse` in JS); the persisted event text, most of the bytes,
//! crosses verbatim after the JSON head rather than escaped inside it. serde-wasm-bindgen is not
//! used: it monomorphizes a deserializer per input type and imports much of js-sys (≈ 45 KB of
//! wasm before brotli when measured).

mod ops;
mod wire;

use wasm_bindgen::prelude::*;

use crate::core::Core;

pub use ops::Op;

/// The SDK version (the Rust crate version, which is also the npm package version).
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_owned()
}

/// One SDK instance (normally one per app).
#[wasm_bindgen]
pub struct Maidian {
    /// The core, or why it could not start (then every call answers with that error).
    core: Result<Core, String>,
    bodies: wire::Bodies,
}

#[wasm_bindgen]
impl Maidian {
    /// Starts the core: `args` is the JSON text of `[config, now, stored]` (module doc). An
    /// invalid config does not throw here: every `call` then replies with the error.
    #[wasm_bindgen(constructor)]
    pub fn new(args: &str, entropy: &[u8]) -> Maidian {
        Maidian {
            core: ops::start(args, entropy),
            bodies: wire::Bodies::new(),
        }
    }

    /// Operation number `op` at host time `now` with the JSON text of its other arguments;
    /// returns the reply text (its result and the effects produced, or an error: module doc).
    pub fn call(&mut self, op: u32, now: f64, args: &str) -> String {
        let reply = match &mut self.core {
            Ok(core) => ops::call(core, &mut self.bodies, op, now, args),
            Err(e) => Err(e.clone()),
        };
        reply.unwrap_or_else(|e| wire::error(&e))
    }

    /// The body of the oldest `send` effect not fetched yet (empty if there is none).
    pub fn body(&mut self) -> Vec<u8> {
        self.bodies.pop_front().unwrap_or_default()
    }
}
