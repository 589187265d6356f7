//! The size-optimised wasm's global allocator (feature `small-allocator`, which
//! `cargo xtask build-sdk` enables for the web and mini-program builds):
//! [talc](https://crates.io/crates/talc) instead of the standard library's dlmalloc.
//!
//! Why: bytes. dlmalloc is ≈ 4.7 KB of wasm. Measured on the mini-program wasm
//! (docs/BUILD.md): 114,038 → 111,560 B, 46,602 → 45,602 B brotli. The price is speed: the
//! Node build with talc took ≈ 1.04× the CPU time per `track()` of the same build with dlmalloc
//! (`node sdk-wasm/bench/node-ab.mjs`, 6 runs, ratios 0.99–1.08), so the Node build, which is
//! optimised for speed, keeps dlmalloc.
//!
//! Safety: `TalckWasm` skips locking (`AssumeUnlockable`), which is sound only where a single
//! thread ever allocates. That holds for every build of this crate for `wasm32-unknown-unknown`
//! without the `atomics` target feature — no build enables it, and JS hosts run one wasm
//! instance per thread (mini-program, browser and Node workers each instantiate their own
//! module with its own memory). The compile error below refuses a threaded build.
//! This is the one `unsafe` item in the project (the workspace lint is `deny`, not `forbid`,
//! for this line); native builds, tests and the Node build keep the default allocator.

#[cfg(target_feature = "atomics")]
compile_error!(
    "talc's TalckWasm assumes a single thread; a threaded wasm build needs a locking allocator"
);

// SAFETY: single-threaded wasm (module doc); `new_global` takes memory with `memory.grow` and
// needs no other setup.
#[allow(unsafe_code)]
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };
