//! SIGHUP reload of the edge: projects, write keys, app-id and origin allow-lists, CORS, rate
//! limits and trusted proxies. The configuration is re-read with the same precedence as at
//! start (file < environment < flags, the environment and flags being those of the start),
//! validated, and the edge table is swapped atomically; connections and requests in flight are
//! untouched (a request uses the snapshot it took when it started). An invalid configuration
//! keeps the previous one and logs why. Other settings (listen address, data directory,
//! durability, limits, …) need a restart; a reload that changes them logs a warning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::config::{Cli, Config};
use crate::edge::Edge;
use crate::http::App;
use crate::idlog;
use crate::ingest::ProjectState;
use crate::sink::partition::IDS_DIR;

/// Project states by name. A project keeps its state (its dedup set) for the life of the
/// process, also when a reload removes it and a later one adds it back.
#[derive(Debug)]
pub struct Projects {
    by_name: Mutex<HashMap<String, Arc<ProjectState>>>,
}

impl Projects {
    /// The registry, seeded with the projects loaded at start.
    pub fn new(by_name: HashMap<String, Arc<ProjectState>>) -> Self {
        Self {
            by_name: Mutex::new(by_name),
        }
    }

    /// The state of `name`, if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<ProjectState>> {
        self.lock().get(name).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ProjectState>>> {
        self.by_name.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Creates the states of projects not seen yet, loading their dedup ids from disk.
    fn ensure(&self, config: &Config, clock: Clock) -> Result<usize, String> {
        let now = clock.now_ms();
        let mut added = 0;
        for p in &config.projects {
            if self.lock().contains_key(&p.name) {
                continue;
            }
            let state = ProjectState::new(&p.name, config.dedup_window_ms, config.dedup_capacity);
            {
                let mut d = state.dedup.lock().unwrap_or_else(|e| e.into_inner());
                d.advance(now);
                let dir = config.data_dir.join(&p.name).join(IDS_DIR);
                idlog::load(&dir, now, config.dedup_window_ms, |k, at| d.remember(k, at))
                    .map_err(|e| format!("project {:?}: loading dedup ids: {e}", p.name))?;
            }
            self.lock().insert(p.name.clone(), Arc::new(state));
            added += 1;
        }
        Ok(added)
    }
}

/// What a reload needs: the start's flags and environment, and the running configuration.
#[derive(Debug)]
pub struct Reloader {
    cli: Cli,
    current: Mutex<Config>,
    projects: Arc<Projects>,
    clock: Clock,
}

/// Builds the edge of `config` (reusing `prev`'s rate buckets when nothing they depend on
/// changed).
pub fn build_edge(config: &Config, projects: &Projects, prev: Option<&Edge>) -> Edge {
    Edge::new(
        &config.projects,
        |name| projects.get(name),
        config.trusted_proxies.clone(),
        (config.key_rate, config.ip_rate),
        prev,
    )
}

/// The settings a reload cannot change, as text to compare.
fn fixed_settings(c: &Config) -> String {
    let mut c = c.clone();
    c.projects.clear();
    c.trusted_proxies.clear();
    c.key_rate = None;
    c.ip_rate = None;
    c.to_toml()
}

impl Reloader {
    /// A reloader for a collector started with `cli` and running `config`.
    pub fn new(cli: Cli, config: Config, projects: Arc<Projects>, clock: Clock) -> Self {
        Self {
            cli,
            current: Mutex::new(config),
            projects,
            clock,
        }
    }

    /// Re-reads and applies the configuration. Blocking (file I/O): call off the runtime.
    pub fn reload(&self, app: &App) -> Result<(), String> {
        let next = Config::from_cli(self.cli.clone())?;
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if fixed_settings(&next) != fixed_settings(&current) {
            warn!(
                "reload: only projects, keys, allow-lists, CORS, rate limits and trusted proxies \
                 are reloaded; other changed settings take effect at the next restart"
            );
        }
        let added = self.projects.ensure(&next, self.clock)?;
        let prev = app.edge();
        let edge = build_edge(&next, &self.projects, Some(&prev));
        let keys = edge.keys.len();
        let buckets_kept = Arc::ptr_eq(&edge.rate_limits, &prev.rate_limits);
        app.swap_edge(Arc::new(edge));
        info!(
            projects = next.projects.len(),
            new_projects = added,
            keys,
            rate_buckets_kept = buckets_kept,
            "configuration reloaded"
        );
        current.projects = next.projects;
        current.trusted_proxies = next.trusted_proxies;
        current.key_rate = next.key_rate;
        current.ip_rate = next.ip_rate;
        Ok(())
    }
}

/// Starts reloading on every SIGHUP (until the returned task is aborted). The handler is
/// installed before this returns, so a SIGHUP sent once the collector is listening never
/// meets the default action (terminate).
pub fn spawn_on_sighup(
    reloader: Arc<Reloader>,
    app: Arc<App>,
) -> Option<tokio::task::JoinHandle<()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(hup) => Some(tokio::spawn(on_sighup(hup, reloader, app))),
            Err(e) => {
                error!("cannot listen for SIGHUP: {e}; reload disabled");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (reloader, app);
        None
    }
}

#[cfg(unix)]
async fn on_sighup(mut hup: tokio::signal::unix::Signal, reloader: Arc<Reloader>, app: Arc<App>) {
    {
        while hup.recv().await.is_some() {
            info!("SIGHUP: reloading the configuration");
            let (r, a) = (reloader.clone(), app.clone());
            let outcome = tokio::task::spawn_blocking(move || r.reload(&a))
                .await
                .unwrap_or_else(|e| Err(format!("reload task failed: {e}")));
            match outcome {
                Ok(()) => a_metric(&app, true),
                Err(e) => {
                    a_metric(&app, false);
                    error!("reload failed, keeping the previous configuration: {e}");
                }
            }
        }
    }
}

fn a_metric(app: &App, ok: bool) {
    if ok {
        app.metrics.config_reloads.inc();
    } else {
        app.metrics.config_reload_failures.inc();
    }
}
