//! Configuration: command-line flags (with embedded defaults) turned into a validated
//! [`Config`]. The collector starts with no flags at all: it listens on 127.0.0.1:8080, writes
//! under `./data` and knows the demo project `demo` with write key `demo-key`.
//!
//! The full configuration system (files, reload, per-project limits) belongs to the
//! edge/operations work; this module only owns the flags the ingest path needs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use maidian_protocol::Limits;

/// When an acknowledgement may be sent relative to `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// Group commit: a request is answered after the next `fdatasync` that covers its bytes.
    Batch,
    /// Answered after `write(2)`; files are synced every `--sync-interval-ms`.
    Interval,
    /// Answered after `write(2)`; files are synced only when sealed.
    Never,
}

/// Command-line flags.
#[derive(Debug, Clone, Parser)]
#[command(name = "maidian-collector", version, about = "maidian event collector")]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory the event files are written under.
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// A project and its write key, as `NAME:KEY` (repeatable). Default: `demo:demo-key`.
    #[arg(long = "project", value_name = "NAME:KEY")]
    pub projects: Vec<String>,
    /// This instance's id, written into every stored event and every file name.
    /// Default: the host name.
    #[arg(long)]
    pub collector_id: Option<String>,
    /// Override one protocol limit, as `name=value` (repeatable), e.g. `max_body_bytes=65536`.
    #[arg(long = "limit", value_name = "NAME=VALUE")]
    pub limits: Vec<String>,
    /// Durability policy for acknowledgements.
    #[arg(long, value_enum, default_value = "batch")]
    pub durability: Durability,
    /// Sync period for `--durability interval`.
    #[arg(long, default_value_t = 1000)]
    pub sync_interval_ms: u64,
    /// Seal a file once it holds this many bytes.
    #[arg(long, default_value_t = 256 << 20)]
    pub rotate_max_bytes: u64,
    /// Seal a file this long after it was opened.
    #[arg(long, default_value_t = 15 * 60 * 1000)]
    pub rotate_max_age_ms: u64,
    /// Seal a file after this long without writes.
    #[arg(long, default_value_t = 60 * 1000)]
    pub rotate_idle_ms: u64,
    /// Gzip files after sealing (`.ndjson.gz`).
    #[arg(long)]
    pub gzip: bool,
    /// How long a `messageId` is remembered for deduplication.
    #[arg(long, default_value_t = 24 * 3600)]
    pub dedup_window_secs: u64,
    /// Requests that may wait for the writer at once; beyond it: 503.
    #[arg(long, default_value_t = 1024)]
    pub queue_depth: usize,
    /// Longest raw event kept in the rejected stream (longer ones are truncated).
    #[arg(long, default_value_t = 4096)]
    pub rejected_raw_max_bytes: usize,
    /// Time allowed for reading a request's headers, and again for its body (else 408).
    #[arg(long, default_value_t = 10_000)]
    pub read_timeout_ms: u64,
    /// On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut.
    #[arg(long, default_value_t = 10_000)]
    pub shutdown_grace_ms: u64,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Test hook: while this file exists, the writer fails every write with an injected I/O
    /// error (its content `stall:MS` instead delays each group commit by MS milliseconds).
    #[arg(long, hide = true)]
    pub fault_file: Option<PathBuf>,
    /// Test hook: shift the collector's clock by this many milliseconds.
    #[arg(long, hide = true, default_value_t = 0, allow_hyphen_values = true)]
    pub clock_offset_ms: i64,
}

/// A project the collector accepts events for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Directory-safe name (`[a-z0-9_-]`, 1..=64 bytes), used in paths and as `projectId`.
    pub name: String,
    /// The write key clients present.
    pub write_key: String,
}

/// File rotation thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Seal at this size.
    pub max_bytes: u64,
    /// Seal this long after opening.
    pub max_age_ms: i64,
    /// Seal after this long without writes.
    pub idle_ms: i64,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Known projects.
    pub projects: Vec<Project>,
    /// Instance id.
    pub collector_id: String,
    /// Protocol limits.
    pub limits: Limits,
    /// Ack policy.
    pub durability: Durability,
    /// Sync period for [`Durability::Interval`].
    pub sync_interval: Duration,
    /// Rotation thresholds.
    pub rotation: Rotation,
    /// Gzip sealed files.
    pub gzip: bool,
    /// Dedup window.
    pub dedup_window_ms: i64,
    /// Writer queue bound.
    pub queue_depth: usize,
    /// Raw-event truncation in the rejected stream.
    pub rejected_raw_max_bytes: usize,
    /// Header and body read timeout.
    pub read_timeout: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// Worker threads.
    pub workers: Option<usize>,
    /// Fault-injection file (tests).
    pub fault_file: Option<PathBuf>,
    /// Clock offset (tests).
    pub clock_offset_ms: i64,
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !s.starts_with('_')
}

fn default_collector_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default();
    sanitize_id(host.trim())
}

/// Lower-cases `s` and replaces anything outside `[a-z0-9_-]` so it is safe in a file name.
pub fn sanitize_id(s: &str) -> String {
    let out: String = s
        .chars()
        .take(64)
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() {
        "collector".to_owned()
    } else {
        out
    }
}

/// Applies `name=value` overrides to the default limits.
pub fn parse_limits(overrides: &[String]) -> Result<Limits, String> {
    let mut map = serde_json::Map::new();
    for o in overrides {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| format!("--limit {o}: expected NAME=VALUE"))?;
        let n: i64 = v
            .trim()
            .parse()
            .map_err(|_| format!("--limit {o}: value must be an integer"))?;
        if n < 0 {
            return Err(format!("--limit {o}: value must not be negative"));
        }
        map.insert(k.trim().to_owned(), serde_json::Value::from(n));
    }
    let limits: Limits = serde_json::from_value(serde_json::Value::Object(map.clone()))
        .map_err(|e| format!("--limit: {e}"))?;
    // `serde(default)` ignores unknown keys silently; refuse them so a typo is not a no-op.
    let known = serde_json::to_value(Limits::default()).map_err(|e| e.to_string())?;
    for k in map.keys() {
        if known.get(k).is_none() {
            return Err(format!("--limit {k}: unknown limit"));
        }
    }
    Ok(limits)
}

impl Config {
    /// Validates the flags.
    pub fn from_cli(cli: Cli) -> Result<Self, String> {
        let mut projects = Vec::new();
        for p in &cli.projects {
            let (name, key) = p
                .split_once(':')
                .ok_or_else(|| format!("--project {p}: expected NAME:KEY"))?;
            if !valid_name(name) {
                return Err(format!(
                    "--project {p}: name must be 1..=64 of [a-z0-9_-], not starting with _"
                ));
            }
            if key.is_empty() {
                return Err(format!("--project {p}: empty write key"));
            }
            if projects
                .iter()
                .any(|q: &Project| q.name == name || q.write_key == key)
            {
                return Err(format!("--project {p}: duplicate name or key"));
            }
            projects.push(Project {
                name: name.to_owned(),
                write_key: key.to_owned(),
            });
        }
        if projects.is_empty() {
            projects.push(Project {
                name: "demo".into(),
                write_key: "demo-key".into(),
            });
        }
        let ms = |v: u64, flag: &str| -> Result<i64, String> {
            i64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{flag} must be positive"))
        };
        if cli.queue_depth == 0 {
            return Err("--queue-depth must be positive".into());
        }
        Ok(Self {
            listen: cli.listen,
            data_dir: cli.data_dir,
            projects,
            collector_id: cli
                .collector_id
                .as_deref()
                .map_or_else(default_collector_id, sanitize_id),
            limits: parse_limits(&cli.limits)?,
            durability: cli.durability,
            sync_interval: Duration::from_millis(cli.sync_interval_ms.max(1)),
            rotation: Rotation {
                max_bytes: cli.rotate_max_bytes.max(1),
                max_age_ms: ms(cli.rotate_max_age_ms, "--rotate-max-age-ms")?,
                idle_ms: ms(cli.rotate_idle_ms, "--rotate-idle-ms")?,
            },
            gzip: cli.gzip,
            dedup_window_ms: ms(cli.dedup_window_secs, "--dedup-window-secs")?.saturating_mul(1000),
            queue_depth: cli.queue_depth,
            rejected_raw_max_bytes: cli.rejected_raw_max_bytes,
            read_timeout: Duration::from_millis(cli.read_timeout_ms.max(1)),
            shutdown_grace: Duration::from_millis(cli.shutdown_grace_ms),
            workers: cli.workers.filter(|w| *w > 0),
            fault_file: cli.fault_file,
            clock_offset_ms: cli.clock_offset_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Result<Config, String> {
        let mut v = vec!["maidian-collector"];
        v.extend_from_slice(args);
        Config::from_cli(Cli::try_parse_from(v).map_err(|e| e.to_string())?)
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.projects[0].name, "demo");
        assert_eq!(c.projects[0].write_key, "demo-key");
        assert_eq!(c.durability, Durability::Batch);
        assert_eq!(c.dedup_window_ms, 86_400_000);
        assert_eq!(c.limits, Limits::default());
    }

    #[test]
    fn limits_and_projects() {
        let c = cfg(&[
            "--limit",
            "max_body_bytes=100",
            "--project",
            "shop:k1",
            "--project",
            "blog:k2",
        ])
        .unwrap();
        assert_eq!(c.limits.max_body_bytes, 100);
        assert_eq!(c.projects.len(), 2);
        assert!(cfg(&["--limit", "max_bodyy_bytes=1"]).is_err());
        assert!(cfg(&["--limit", "max_body_bytes=x"]).is_err());
        assert!(cfg(&["--project", "Bad Name:k"]).is_err());
        assert!(cfg(&["--project", "a:k", "--project", "b:k"]).is_err());
        assert!(cfg(&["--project", "_ids:k"]).is_err());
    }

    #[test]
    fn sanitize() {
        assert_eq!(sanitize_id("Host.Example:1"), "host-example-1");
        assert_eq!(sanitize_id(""), "collector");
    }
}
