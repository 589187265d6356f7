//! `cargo xtask demo`: the whole system with one command.
//!
//! 1. Installs what is missing (`bash .ci/setup`: wasm target, wasm-bindgen-cli, Debian
//!    packages, `npm ci`) when `wasm-bindgen` or `js-wrapper/node_modules` is absent.
//! 2. Builds the SDK (`build-sdk`) when `js-wrapper/miniprogram_dist` is incomplete.
//! 3. Builds and starts the collector (release) with its embedded defaults: 127.0.0.1:8080,
//!    `./data`, project `demo`, write key `demo-key`. A busy port is reported, not worked around.
//! 4. Runs `tests/demo/shop-session.mjs`: a handful of shoppers use the example shop in the
//!    simulated mini-program realm; it waits until the collector acknowledged and stored every
//!    event, then prints the files and a summary computed from them.
//! 5. Unless `--exit`: serves examples/web-shop for a browser on 127.0.0.1:8081 (its own
//!    `serve.mjs`, pointed at the collector) and prints the URL, and leaves the collector
//!    running for the browser and for `curl` experiments (Ctrl-C stops both).

use crate::build_sdk;
use crate::util::{self, find_on_path};
use anyhow::{Context, Result, bail};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const ADDR: &str = "127.0.0.1:8080";
/// Where the web shop is served (unless `--exit`).
const SHOP_ADDR: &str = "127.0.0.1:8081";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Stop the collector after the summary instead of leaving it running.
    #[arg(long)]
    exit: bool,
}

pub fn run(args: &Args) -> Result<()> {
    let root = util::workspace_root()?;

    if find_on_path("wasm-bindgen").is_none() || !root.join("js-wrapper/node_modules").is_dir() {
        println!("==> installing what the build needs (.ci/setup)");
        util::run(Command::new("bash").arg(".ci/setup").current_dir(&root))?;
    }
    let dist = root.join("js-wrapper/miniprogram_dist");
    let web = root.join("js-wrapper/dist/web");
    if !dist.join("index.js").is_file()
        || !dist.join("maidian_sdk_bg.wasm.br").is_file()
        || !web.join("index.js").is_file()
        || !web.join("maidian_sdk_bg.wasm").is_file()
    {
        println!("==> building the SDK (cargo xtask build-sdk)");
        build_sdk::run(&build_sdk::Args::default())?;
    }

    println!("==> building the collector (release)");
    util::run(util::cargo().current_dir(&root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "maidian-collector",
    ]))?;

    if let Err(err) = TcpListener::bind(ADDR) {
        bail!(
            "{ADDR} is busy ({err}): another collector (an earlier `cargo xtask demo`?) or another \
             program listens there. Stop it and run `cargo xtask demo` again."
        );
    }
    let bin = target_dir(&root).join("release/maidian-collector");
    println!("==> starting {} (defaults: {ADDR}, ./data)", bin.display());
    let mut collector = Command::new(&bin)
        .current_dir(&root)
        .spawn()
        .with_context(|| format!("could not start {}", bin.display()))?;
    let result = wait_listening(&mut collector).and_then(|()| {
        println!("==> driving examples/miniprogram-shop in the simulated mini-program realm");
        util::run(Command::new("node").current_dir(&root).args([
            "tests/demo/shop-session.mjs",
            "--url",
            &format!("http://{ADDR}"),
            "--data-dir",
            "data",
        ]))
    });
    if result.is_err() || args.exit {
        stop(&mut collector);
        return result;
    }
    let mut shop = serve_shop(&root);
    println!(
        "\nThe collector keeps running on http://{ADDR} (pid {}), writing under ./data/demo; \
         Ctrl-C stops it. Try:\n  curl -s localhost:8080/v1/batch -u demo-key: -H 'content-type: application/json' \
         -d '{{\"batch\":[{{\"messageId\":\"m-1\",\"type\":\"track\",\"event\":\"add_to_cart\",\"anonymousId\":\"a-1\",\"properties\":{{\"sku\":\"tea-001\"}}}}]}}'",
        collector.id()
    );
    let status = collector.wait()?;
    println!("collector exited: {status}");
    if let Some(shop) = shop.as_mut() {
        stop(shop);
    }
    Ok(())
}

/// Starts `node examples/web-shop/serve.mjs` on [`SHOP_ADDR`] against the demo collector and
/// prints its URL; a busy port or a failed start is reported, and the demo goes on without it.
fn serve_shop(root: &Path) -> Option<Child> {
    if let Err(err) = TcpListener::bind(SHOP_ADDR) {
        println!("\n(not serving the web shop: {SHOP_ADDR} is busy: {err})");
        return None;
    }
    let (host, port) = SHOP_ADDR.split_once(':')?;
    let child = Command::new("node")
        .current_dir(root)
        .args([
            "examples/web-shop/serve.mjs",
            "--host",
            host,
            "--port",
            port,
            "--collector",
            &format!("http://{ADDR}"),
        ])
        .stdout(std::process::Stdio::null())
        .spawn();
    match child {
        Ok(mut c) => {
            let deadline = Instant::now() + Duration::from_secs(10);
            while TcpStream::connect(SHOP_ADDR).is_err() {
                if Instant::now() > deadline || c.try_wait().ok().flatten().is_some() {
                    println!("\n(the web shop server did not start)");
                    stop(&mut c);
                    return None;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            println!(
                "\n==> the web shop (examples/web-shop, the same flow in a browser) is served at \
                 http://{SHOP_ADDR}/ — open it: its events go to the collector below."
            );
            Some(c)
        }
        Err(err) => {
            println!("\n(not serving the web shop: could not run node: {err})");
            None
        }
    }
}

fn target_dir(root: &Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |d| root.join(d))
}

/// Waits until the collector accepts connections (or exits, or 20 s pass).
fn wait_listening(child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("the collector exited before listening: {status}");
        }
        if TcpStream::connect(ADDR).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the collector did not listen on {ADDR} within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM (the collector seals its open files; the shop server just exits), then wait.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
