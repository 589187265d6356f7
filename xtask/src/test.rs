//! `cargo xtask test`: the whole test suite, in order, as CI runs it (`.ci/run`).
//!
//! The suite is a plain list of [`Step`]s (see [`steps`]): to add a check, append a step. Each
//! step prints a header and its time; the first failure stops the run with a non-zero exit.

use crate::build_sdk;
use crate::util::{self, fmt_duration};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Skip the first N steps (resume after fixing a failure).
    #[arg(long, default_value_t = 0)]
    skip: usize,
}

/// What a step does.
enum Action {
    /// A command, run from a directory relative to the workspace root.
    Cmd {
        dir: &'static str,
        program: &'static str,
        args: &'static [&'static str],
    },
    /// Rust code in this crate (e.g. `build-sdk`, without a nested `cargo run`).
    Fn(fn() -> Result<()>),
}

struct Step {
    name: &'static str,
    action: Action,
}

const fn cargo(name: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        name,
        action: Action::Cmd {
            dir: ".",
            program: "cargo",
            args,
        },
    }
}

const fn npm(name: &'static str, args: &'static [&'static str]) -> Step {
    Step {
        name,
        action: Action::Cmd {
            dir: "js-wrapper",
            program: "npm",
            args,
        },
    }
}

/// The suite, in order. Append new steps here.
fn steps() -> Vec<Step> {
    vec![
        cargo("cargo fmt", &["fmt", "--all", "--check"]),
        cargo(
            "cargo clippy (native)",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo(
            "cargo clippy (sdk, wasm32)",
            &[
                "clippy",
                "--package",
                "maidian-sdk",
                "--target",
                "wasm32-unknown-unknown",
                "--features",
                "web-host",
                "--",
                "-D",
                "warnings",
            ],
        ),
        cargo("cargo test", &["test", "--workspace"]),
        cargo(
            // The JS boundary of sdk-wasm/src/bindings.rs under Node (wasm-bindgen-test; the
            // runner is set in .cargo/config.toml).
            "wasm-bindgen-test (sdk bindings, Node)",
            &[
                "test",
                "--package",
                "maidian-sdk",
                "--target",
                "wasm32-unknown-unknown",
                "--test",
                "boundary",
            ],
        ),
        Step {
            name: "cargo xtask build-sdk",
            action: Action::Fn(|| build_sdk::run(&build_sdk::Args::default())),
        },
        npm("npm run lint", &["run", "lint"]),
        npm("npm test", &["test"]),
        Step {
            // tests/e2e is not in js-wrapper's `npm test` list (that file belongs to the
            // wrapper); run it here until it is.
            name: "e2e truth test",
            action: Action::Cmd {
                dir: ".",
                program: "node",
                args: &["--test", "tests/e2e/truth.test.mjs"],
            },
        },
        Step {
            // The real Taro 3 and uni-app runtimes (tests/frameworks has its own package.json,
            // installed by .ci/setup) with the shipped mini-program build.
            name: "framework runtime tests",
            action: Action::Cmd {
                dir: ".",
                program: "node",
                args: &[
                    "--test",
                    "tests/frameworks/taro.test.mjs",
                    "tests/frameworks/uni-app.test.mjs",
                ],
            },
        },
    ]
}

pub fn run(args: &Args) -> Result<()> {
    let root = util::workspace_root()?;
    let steps = steps();
    let total = steps.len();
    let started = Instant::now();
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    for (i, step) in steps.iter().enumerate().skip(args.skip) {
        println!("\n======== [{}/{total}] {} ========", i + 1, step.name);
        let step_started = Instant::now();
        let result = run_step(&root, step);
        let took = step_started.elapsed();
        timings.push((step.name, took));
        if let Err(err) = result {
            print_summary(&timings);
            bail!(
                "step [{}/{total}] `{}` failed after {}: {err:#}",
                i + 1,
                step.name,
                fmt_duration(took)
            );
        }
        println!(
            "-------- [{}/{total}] {} ok in {}",
            i + 1,
            step.name,
            fmt_duration(took)
        );
    }
    print_summary(&timings);
    println!(
        "all {total} steps passed in {}",
        fmt_duration(started.elapsed())
    );
    Ok(())
}

fn run_step(root: &Path, step: &Step) -> Result<()> {
    match &step.action {
        Action::Cmd { dir, program, args } => {
            let mut cmd = if *program == "cargo" {
                util::cargo()
            } else {
                Command::new(program)
            };
            util::run(cmd.current_dir(root.join(dir)).args(*args))
        }
        Action::Fn(f) => f().with_context(|| format!("{} failed", step.name)),
    }
}

fn print_summary(timings: &[(&str, Duration)]) {
    println!("\nstep timings:");
    for (name, took) in timings {
        println!("  {:<30} {:>12}", name, fmt_duration(*took));
    }
}
