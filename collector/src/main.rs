//! maidian-collector binary: flags -> configuration -> logging -> runtime ->
//! [`maidian_collector::run`].
//! Prints `listening on ADDR` on stdout once ready (tests and scripts read it).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use maidian_collector::config::{Cli, Config};

/// mimalloc instead of glibc malloc: the request path allocates and frees buffers of tens of
/// KB per request; glibc returned the freed top of the worker's arena to the kernel
/// (`madvise`) and faulted it back in on the next request (≈ 3% of the server's cycles in page
/// faults, ≈ 3% in malloc/free), and its large blocks (the dedup table) got 4 KB pages where
/// mimalloc's get transparent huge pages (fewer TLB misses on every table probe).
/// docs/COLLECTOR.md "Fifth round" has the measurement.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (check, print) = (cli.check_config, cli.print_config);
    let reload_from = cli.clone();
    let config = match Config::from_cli(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("maidian-collector: {e}");
            return ExitCode::from(2);
        }
    };
    if print {
        print!("{}", config.to_toml());
    }
    if check {
        println!("config ok");
    }
    if check || print {
        return ExitCode::SUCCESS;
    }
    maidian_collector::logging::init(config.log_format);
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(w) = config.workers {
        rt.worker_threads(w);
    }
    let rt = match rt.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("maidian-collector: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(maidian_collector::run_reloadable(
        config,
        Some(reload_from),
        |addr| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "listening on {addr}");
            let _ = out.flush();
        },
        maidian_collector::shutdown::signal(),
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maidian-collector: {e}");
            ExitCode::FAILURE
        }
    }
}
