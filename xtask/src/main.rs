//! maidian's build and test automation, run as `cargo xtask <command>` (alias in
//! `.cargo/config.toml`).
//!
//! - `cargo xtask build-sdk` builds `sdk-wasm` for the web, Node and mini-programs into
//!   `js-wrapper/` (see `docs/BUILD.md`).
//! - `cargo xtask test` runs the whole test suite in order, as CI does (`.ci/run`).
//! - `cargo xtask demo` starts the collector and drives the example shop through a scripted
//!   session, then summarises the collector's files (`--exit` to stop the collector after).

mod build_sdk;
mod demo;
mod std_build;
mod test;
mod util;
mod wasm;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "maidian build and test automation")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the SDK for the web, Node and mini-programs into js-wrapper/.
    BuildSdk(build_sdk::Args),
    /// Run the whole test suite (fmt, clippy, cargo test, build-sdk, JS lint, JS tests).
    Test(test::Args),
    /// Start the collector, drive the example shop through a scripted session, summarise the files.
    Demo(demo::Args),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::BuildSdk(args) => build_sdk::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Demo(args) => demo::run(&args),
    }
}
