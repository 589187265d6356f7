//! # maidian-collector
//!
//! Receives events over HTTP, validates them with [`maidian_protocol`], deduplicates them by
//! `messageId`, and appends them durably to rotating NDJSON files — acknowledging only what is
//! on disk. See docs/COLLECTOR.md for the design, durability argument and benchmarks.
//!
//! Modules, one job each:
//! - [`config`]: file, environment and flags, layered and validated.
//! - [`edge`]: write keys (constant time), allow-lists, CORS, client address behind trusted
//!   proxies, rate limits.
//! - [`clock`]: wall clock (with a test offset).
//! - [`http`]: routing, limits, auth/decoding stages, responses; [`server`]: accept loop and
//!   graceful connection shutdown; [`shutdown`]: signals.
//! - [`auth`]: write-key extraction; [`decode`]: content encodings with capped inflation.
//! - [`ingest`]: the per-request pipeline (validate, enrich, dedup, append, answer).
//! - [`dedup`]: the exact, bounded, windowed id set (sans-IO); [`idlog`]: its on-disk log.
//! - [`sink`]: the group-committing writer, rotation policy, sealing, recovery.
//! - [`metrics`]: the Prometheus registry: counters for every outcome and limit, latency,
//!   size and skew histograms, queue, file and disk gauges; [`logging`]: human or JSON logs.
//! - [`reload`]: SIGHUP reload of projects, keys, allow-lists, CORS, rates, trusted proxies.

pub mod auth;
pub mod clock;
pub mod config;
pub mod decode;
pub mod dedup;
pub mod edge;
pub mod http;
pub mod idlog;
pub mod ingest;
pub mod logging;
pub mod metrics;
pub mod reload;
pub mod server;
pub mod shutdown;
pub mod sink;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::info;

use crate::clock::Clock;
use crate::config::{Cli, Config};
use crate::ingest::{Pipeline, ProjectState};
use crate::metrics::Metrics;
use crate::sink::partition::IDS_DIR;
use crate::sink::{SinkConfig, recovery};

/// Starts the collector: rebuilds dedup state, recovers crashed files, starts the writer,
/// binds, calls `on_ready` with the bound address, serves until `shutdown` resolves, then
/// drains connections and seals every file.
pub async fn run(
    config: Config,
    on_ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    run_reloadable(config, None, on_ready, shutdown).await
}

/// [`run`], and with `reload_from` (the flags and environment the configuration was built
/// from) the configuration is re-read on SIGHUP: see [`reload`].
pub async fn run_reloadable(
    config: Config,
    reload_from: Option<Cli>,
    on_ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let clock = Clock::new(config.clock_offset_ms);
    let metrics = Arc::new(Metrics::default());
    std::fs::create_dir_all(&config.data_dir)?;
    let now = clock.now_ms();

    let mut by_name: HashMap<String, Arc<ProjectState>> = HashMap::new();
    for p in &config.projects {
        let state = ProjectState::new(&p.name, config.dedup_window_ms, config.dedup_capacity);
        {
            let mut d = state.dedup.lock().unwrap_or_else(|e| e.into_inner());
            d.advance(now);
            let dir = config.data_dir.join(&p.name).join(IDS_DIR);
            let r = idlog::load(&dir, now, config.dedup_window_ms, |k, at| d.remember(k, at))?;
            info!(
                project = %p.name,
                segments = r.segments,
                ids = r.ids,
                torn_bytes = r.torn_bytes,
                "dedup ids loaded"
            );
        }
        by_name.insert(p.name.clone(), Arc::new(state));
    }
    let report = recovery::recover(
        &config.data_dir,
        &config.collector_id,
        config.gzip,
        now,
        |project, key, at| {
            if let Some(p) = by_name.get(project) {
                p.dedup
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remember(key, at);
            }
        },
    )?;
    metrics.torn_lines_cut.inc_by(report.torn_lines);
    for p in by_name.values() {
        let s = p.dedup.lock().unwrap_or_else(|e| e.into_inner()).stats();
        p.dedup_gauges
            .get_or_init(|| metrics.dedup_gauges(&p.name))
            .set(s.compact_ids, s.text_ids);
    }
    if report != recovery::RecoveryReport::default() {
        info!(?report, "recovered files left by a previous run");
    }

    let (sink, writer_thread) = sink::start(
        SinkConfig {
            data_dir: config.data_dir.clone(),
            collector_id: config.collector_id.clone(),
            durability: config.durability,
            sync_interval: config.sync_interval,
            rotation: config.rotation,
            gzip: config.gzip,
            queue_depth: config.queue_depth,
            dedup_window_ms: config.dedup_window_ms,
            fault_file: config.fault_file.clone(),
        },
        clock,
        metrics.clone(),
    )?;
    let projects = Arc::new(reload::Projects::new(by_name));
    let edge = reload::build_edge(&config, &projects, None);
    let app = Arc::new(http::App {
        edge: std::sync::RwLock::new(Arc::new(edge)),
        concurrency: tokio::sync::Semaphore::new(config.max_concurrent_requests),
        readiness: http::Readiness {
            draining: false.into(),
            data_dir: config.data_dir.clone(),
            probe_name: format!(".readyz-{}", config.collector_id),
            fault_file: config.fault_file.clone(),
            // Not ready once 90% of the queue is taken, so the balancer backs off before 503s.
            queue_high: ((config.queue_depth as u64 * 9).div_ceil(10)).max(1),
        },
        pipeline: Pipeline::new(
            config.limits,
            config.collector_id.clone(),
            config.rejected_raw_max_bytes,
            sink.clone(),
            metrics.clone(),
        ),
        metrics,
        clock,
        read_timeout: config.read_timeout,
    });
    // Full buckets are forgotten once a minute, so many client addresses cost no memory.
    let housekeeping = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                app.edge().rate_limits.housekeeping();
            }
        })
    };
    let reloader = reload_from.and_then(|cli| {
        let r = Arc::new(reload::Reloader::new(
            cli,
            config.clone(),
            projects.clone(),
            clock,
        ));
        reload::spawn_on_sighup(r, app.clone())
    });
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    // Poll the shutdown future once before announcing the address: a signal future installs
    // its handlers when first polled, and a SIGTERM sent as soon as the address is known must
    // drain, not kill the process with the default action.
    let mut shutdown = Box::pin(shutdown);
    let signalled = tokio::select! {
        biased;
        () = &mut shutdown => true,
        () = std::future::ready(()) => false,
    };
    info!(%addr, data_dir = %config.data_dir.display(), collector_id = %config.collector_id, "listening");
    on_ready(addr);
    // On the signal: fail /readyz at once, keep serving for the drain delay (the balancer
    // notices and stops sending), then stop accepting and let connections finish.
    let drain_delay = config.drain_delay;
    let draining_app = app.clone();
    let drained = async move {
        if !signalled {
            shutdown.await;
        }
        draining_app.readiness.draining.store(true, Relaxed);
        draining_app.metrics.draining.set(1);
        if !drain_delay.is_zero() {
            info!(?drain_delay, "draining: /readyz fails; still serving");
            tokio::time::sleep(drain_delay).await;
        }
    };
    server::serve(
        listener,
        app,
        server::Limits {
            header_timeout: config.read_timeout,
            grace: config.shutdown_grace,
            max_connections: config.max_connections,
        },
        drained,
    )
    .await;
    housekeeping.abort();
    if let Some(r) = reloader {
        r.abort();
    }
    info!("connections drained; sealing files");
    sink.shutdown().await;
    let _ = tokio::task::spawn_blocking(move || writer_thread.join()).await;
    info!("stopped");
    Ok(())
}
