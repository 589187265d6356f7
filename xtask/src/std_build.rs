//! How the shipped wasm builds get their standard library: rebuilt from source with
//! `panic = immediate-abort` (and, for the size-optimised builds, std's `optimize_for_size`),
//! instead of the precompiled std of the `wasm32-unknown-unknown` target.
//!
//! Why: with the precompiled std, every panic site keeps its message and `file:line:col`
//! location, and std's panic machinery keeps `core::fmt` and the `Debug` impls it reaches. In
//! the wasm nobody can read those (wasm32-unknown-unknown has no stderr; a panic is a trap either
//! way, `RuntimeError: unreachable` in JS). Rebuilding std with `immediate-abort` makes every
//! panic a bare trap: measured on the mini-program wasm 64,170 → 55,488 B brotli (−13.5%),
//! docs/BUILD.md. Behaviour is unchanged: the SDK wasm was already `panic = "abort"`.
//!
//! How: `-Zbuild-std` and `-Cpanic=immediate-abort` are unstable, so the build sets
//! `RUSTC_BOOTSTRAP=1` on the stable toolchain. This is the one place the project leans on an
//! unstable flag; it needs the `rust-src` component (`.ci/setup` installs it). If a future
//! toolchain renames the flags, the build fails loudly here; `MAIDIAN_SDK_PREBUILT_STD=1`
//! builds with the precompiled std instead (the previous, larger wasm) until this is adapted.
//! Native builds and tests (`cargo test`, wasm-bindgen-test) never use this.

use anyhow::{Result, ensure};
use std::path::PathBuf;
use std::process::Command;

/// The environment variable that opts out of rebuilding std.
pub const OPT_OUT: &str = "MAIDIAN_SDK_PREBUILT_STD";

/// What a wasm build is optimised for; decides whether std is built `optimize_for_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Browsers and mini-programs download it: bytes count.
    Size,
    /// Node loads it once: speed counts (std's size-optimised algorithms are slower).
    Speed,
}

/// How std is provided to the wasm builds of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Std {
    /// Rebuilt from `rust-src` with `panic = immediate-abort`.
    Rebuilt,
    /// The target's precompiled std (`MAIDIAN_SDK_PREBUILT_STD=1`).
    Prebuilt,
}

impl Std {
    /// Reads the opt-out and, when std is rebuilt, checks that `rust-src` is installed.
    pub fn resolve() -> Result<Self> {
        if std::env::var_os(OPT_OUT).is_some_and(|v| !v.is_empty() && v != "0") {
            return Ok(Std::Prebuilt);
        }
        let library = sysroot()?.join("lib/rustlib/src/rust/library");
        ensure!(
            library.join("std").is_dir(),
            "the wasm builds rebuild std without panic strings and need the `rust-src` \
             component, which is missing ({} not found): run `rustup component add rust-src` \
             (.ci/setup does), or set {OPT_OUT}=1 to build with the precompiled std (larger wasm)",
            library.display()
        );
        Ok(Std::Rebuilt)
    }

    /// A short description for the build log.
    pub fn describe(self) -> &'static str {
        match self {
            Std::Rebuilt => "std rebuilt with panic=immediate-abort",
            Std::Prebuilt => "precompiled std",
        }
    }

    /// Configures a `cargo build` command: sets `RUSTFLAGS` to `base` plus, when rebuilding,
    /// the panic strategy, and adds the `-Z` arguments.
    pub fn configure(self, cargo: &mut Command, base: &str, goal: Goal) {
        cargo.env_remove("CARGO_ENCODED_RUSTFLAGS");
        match self {
            Std::Prebuilt => {
                cargo.env("RUSTFLAGS", base);
            }
            Std::Rebuilt => {
                // `-Zlocation-detail=none`: no `file:line:col` constants for panic sites that
                // trap without reading them (mini-program wasm.br −182 B).
                let flags = format!(
                    "{base} -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none"
                );
                cargo
                    .env("RUSTFLAGS", flags.trim())
                    .env("RUSTC_BOOTSTRAP", "1")
                    .arg("-Zbuild-std=std,panic_abort");
                if goal == Goal::Size {
                    cargo.arg("-Zbuild-std-features=optimize_for_size");
                }
            }
        }
    }
}

fn sysroot() -> Result<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = crate::util::output(Command::new(rustc).args(["--print", "sysroot"]))?;
    Ok(PathBuf::from(out.trim()))
}
