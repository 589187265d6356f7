//! Configuration in three layers: a TOML file (`--config`), environment variables
//! (`MAIDIAN_...`) and command-line flags, in that order of precedence, over embedded defaults.
//! With no configuration at all the collector listens on 127.0.0.1:8080, writes under `./data`
//! and knows the demo project `demo` with write key `demo-key` — and, because that key is
//! public, it refuses to listen on anything but a loopback address while `demo-key` is accepted.
//!
//! Scalars: the flag, else its environment variable, else the file, else the default.
//! Lists: `--limit`/`MAIDIAN_LIMITS` override the file's `[limits]` name by name;
//! `--project`/`MAIDIAN_PROJECTS` add a key to the file's project of that name (or a new
//! project); `--trusted-proxy`/`MAIDIAN_TRUSTED_PROXIES` replace the file's list.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ipnet::IpNet;
use maidian_protocol::Limits;
use serde::{Deserialize, Serialize};

/// The public demo project's write key.
pub const DEMO_KEY: &str = "demo-key";

/// When an acknowledgement may be sent relative to `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Group commit: a request is answered after the next `fdatasync` that covers its bytes.
    Batch,
    /// Answered after `write(2)`; files are synced every `--sync-interval-ms`.
    Interval,
    /// Answered after `write(2)`; files are synced only when sealed.
    Never,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event (colored on a terminal).
    #[default]
    Human,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level, for log shippers.
    Json,
}

/// Command-line flags. Every flag also reads the environment variable named after it
/// (`--data-dir` → `MAIDIAN_DATA_DIR`); a flag given on the command line wins. Unset flags fall
/// back to the configuration file, then to the default named in the help.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "maidian-collector", version, about = "maidian event collector")]
pub struct Cli {
    /// TOML configuration file (see docs/OPERATIONS.md).
    #[arg(long, env = "MAIDIAN_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Validate the configuration (file, environment, flags), print `config ok`, and exit.
    #[arg(long)]
    pub check_config: bool,
    /// Print the effective configuration as TOML (write keys redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "MAIDIAN_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory the event files are written under [default: ./data].
    #[arg(long, env = "MAIDIAN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// A project and one of its write keys, as `NAME:KEY` (repeatable; the environment
    /// variable takes a comma-separated list). Default when no project is configured anywhere:
    /// `demo:demo-key`.
    #[arg(
        long = "project",
        value_name = "NAME:KEY",
        env = "MAIDIAN_PROJECTS",
        value_delimiter = ','
    )]
    pub projects: Vec<String>,
    /// This instance's id, written into every stored event and every file name
    /// [default: the host name].
    #[arg(long, env = "MAIDIAN_COLLECTOR_ID")]
    pub collector_id: Option<String>,
    /// Override one protocol limit, as `name=value` (repeatable), e.g. `max_body_bytes=65536`.
    #[arg(
        long = "limit",
        value_name = "NAME=VALUE",
        env = "MAIDIAN_LIMITS",
        value_delimiter = ','
    )]
    pub limits: Vec<String>,
    /// Durability policy for acknowledgements [default: batch].
    #[arg(long, value_enum, env = "MAIDIAN_DURABILITY")]
    pub durability: Option<Durability>,
    /// Sync period for `--durability interval` [default: 1000].
    #[arg(long, env = "MAIDIAN_SYNC_INTERVAL_MS")]
    pub sync_interval_ms: Option<u64>,
    /// Seal a file once it holds this many bytes [default: 268435456].
    #[arg(long, env = "MAIDIAN_ROTATE_MAX_BYTES")]
    pub rotate_max_bytes: Option<u64>,
    /// Seal a file this long after it was opened [default: 900000].
    #[arg(long, env = "MAIDIAN_ROTATE_MAX_AGE_MS")]
    pub rotate_max_age_ms: Option<u64>,
    /// Seal a file after this long without writes [default: 60000].
    #[arg(long, env = "MAIDIAN_ROTATE_IDLE_MS")]
    pub rotate_idle_ms: Option<u64>,
    /// Gzip files after sealing (`.ndjson.gz`).
    #[arg(long, env = "MAIDIAN_GZIP", num_args = 0..=1, default_missing_value = "true")]
    pub gzip: Option<bool>,
    /// How long a `messageId` is remembered for deduplication [default: 86400].
    #[arg(long, env = "MAIDIAN_DEDUP_WINDOW_SECS")]
    pub dedup_window_secs: Option<u64>,
    /// Canonical `messageId`s per project the dedup table is sized for at start (17 B per slot
    /// at ≤ 85% load, allocated up front); beyond it the table grows incrementally. 0 = start
    /// empty [default: 0]. Set it to the ids a project stores per window to avoid resize work
    /// in requests while the table fills (docs/COLLECTOR.md).
    #[arg(long, env = "MAIDIAN_DEDUP_CAPACITY")]
    pub dedup_capacity: Option<usize>,
    /// Requests that may wait for the writer at once; beyond it: 503 [default: 1024].
    #[arg(long, env = "MAIDIAN_QUEUE_DEPTH")]
    pub queue_depth: Option<usize>,
    /// Longest raw event kept in the rejected stream (longer ones are truncated) [default: 4096].
    #[arg(long, env = "MAIDIAN_REJECTED_RAW_MAX_BYTES")]
    pub rejected_raw_max_bytes: Option<usize>,
    /// Time allowed for reading a request's headers, and again for its body (else 408)
    /// [default: 10000].
    #[arg(long, env = "MAIDIAN_READ_TIMEOUT_MS")]
    pub read_timeout_ms: Option<u64>,
    /// On SIGTERM/SIGINT, how long in-flight requests may take before connections are cut
    /// [default: 10000].
    #[arg(long, env = "MAIDIAN_SHUTDOWN_GRACE_MS")]
    pub shutdown_grace_ms: Option<u64>,
    /// On SIGTERM/SIGINT, keep serving this long with `/readyz` failing, so a load balancer
    /// stops sending before the listener closes [default: 0].
    #[arg(long, env = "MAIDIAN_DRAIN_DELAY_MS")]
    pub drain_delay_ms: Option<u64>,
    /// Open connections at most; further connections wait in the kernel's accept queue
    /// [default: 10000].
    #[arg(long, env = "MAIDIAN_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Ingest requests handled at once; beyond it: 503 + Retry-After [default: 1024].
    #[arg(long, env = "MAIDIAN_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
    /// Requests per second allowed per write key, `RATE` or `RATE/BURST`; 0 = unlimited
    /// [default: 0].
    #[arg(long, env = "MAIDIAN_KEY_RATE", value_name = "RATE[/BURST]")]
    pub key_rate: Option<String>,
    /// Requests per second allowed per client address, `RATE` or `RATE/BURST`; 0 = unlimited
    /// [default: 0].
    #[arg(long, env = "MAIDIAN_IP_RATE", value_name = "RATE[/BURST]")]
    pub ip_rate: Option<String>,
    /// A proxy (CIDR or address) whose `X-Forwarded-For` / `Forwarded` headers are believed
    /// (repeatable; comma-separated in the environment). Default: none — the socket address is
    /// the client address.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "MAIDIAN_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
    /// Tokio worker threads (default: one per core).
    #[arg(long, env = "MAIDIAN_WORKERS")]
    pub workers: Option<usize>,
    /// Log line format on stderr; the level comes from `RUST_LOG` (default `info`)
    /// [default: human].
    #[arg(long, value_enum, env = "MAIDIAN_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Test hook: while this file exists, the writer fails every write with an injected I/O
    /// error (its content `stall:MS` instead delays each group commit by MS milliseconds;
    /// `fail-sync` fails every `fdatasync` of a commit round instead), and `/readyz` reports
    /// the data directory unwritable.
    #[arg(long, hide = true)]
    pub fault_file: Option<PathBuf>,
    /// Test hook: shift the collector's clock by this many milliseconds.
    #[arg(long, hide = true, allow_hyphen_values = true)]
    pub clock_offset_ms: Option<i64>,
}

/// A project in the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileProject {
    /// Directory-safe name.
    pub name: String,
    /// Accepted write keys (several, so keys can be rotated).
    #[serde(default)]
    pub write_keys: Vec<String>,
    /// Mini-program app ids allowed to send (WeChat `Referer`); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub app_ids: Vec<String>,
    /// Web origins allowed to send and to read answers (CORS); empty: any (without credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origins: Vec<String>,
    /// Answer CORS with `Access-Control-Allow-Credentials: true` (needs explicit `origins`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cors_credentials: bool,
}

/// The configuration file: the flags' names with underscores, plus `[limits]` and
/// `[[projects]]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    listen: Option<SocketAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    collector_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    durability: Option<Durability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sync_interval_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotate_max_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotate_max_age_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotate_idle_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gzip: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dedup_window_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dedup_capacity: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    queue_depth: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rejected_raw_max_bytes: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    read_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shutdown_grace_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    drain_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_connections: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_concurrent_requests: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ip_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    trusted_proxies: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    limits: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    projects: Vec<FileProject>,
}

/// A project the collector accepts events for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Directory-safe name (`[a-z0-9_-]`, 1..=64 bytes), used in paths and as `projectId`.
    pub name: String,
    /// The write keys clients may present (at least one).
    pub write_keys: Vec<String>,
    /// Allowed mini-program app ids; empty: not restricted.
    pub app_ids: Vec<String>,
    /// Allowed web origins (`https://a.example`, `https://*.example.com`, or `*`); empty: any.
    pub origins: Vec<String>,
    /// CORS with credentials (only with explicit origins).
    pub cors_credentials: bool,
}

/// A token bucket: `per_sec` requests per second on average, bursts of `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained requests per second.
    pub per_sec: u32,
    /// Bucket size.
    pub burst: u32,
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
    /// Ids per project the dedup table is sized for at start (0: grows from empty).
    pub dedup_capacity: usize,
    /// Writer queue bound.
    pub queue_depth: usize,
    /// Raw-event truncation in the rejected stream.
    pub rejected_raw_max_bytes: usize,
    /// Header and body read timeout.
    pub read_timeout: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// Serve with `/readyz` failing this long after the shutdown signal.
    pub drain_delay: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Ingest requests at once.
    pub max_concurrent_requests: usize,
    /// Per write key rate limit.
    pub key_rate: Option<Rate>,
    /// Per client address rate limit.
    pub ip_rate: Option<Rate>,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Worker threads.
    pub workers: Option<usize>,
    /// Log line format.
    pub log_format: LogFormat,
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

/// Parses `RATE` or `RATE/BURST` (requests per second; burst defaults to the rate). `0`: none.
pub fn parse_rate(s: &str) -> Result<Option<Rate>, String> {
    let (r, b) = s.split_once('/').unwrap_or((s, ""));
    let per_sec: u32 = r
        .trim()
        .parse()
        .map_err(|_| format!("rate {s:?}: expected RATE or RATE/BURST (integers)"))?;
    if per_sec == 0 {
        return Ok(None);
    }
    let burst = if b.trim().is_empty() {
        per_sec
    } else {
        b.trim()
            .parse()
            .ok()
            .filter(|b| *b > 0)
            .ok_or_else(|| format!("rate {s:?}: burst must be a positive integer"))?
    };
    Ok(Some(Rate { per_sec, burst }))
}

/// Parses a CIDR (`10.0.0.0/8`) or a bare address (a /32 or /128).
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("trusted proxy {s:?}: expected a CIDR like 10.0.0.0/8 or an address"))
}

fn valid_origin(o: &str) -> bool {
    if o == "*" {
        return true;
    }
    let Some((scheme, rest)) = o.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && !rest.contains('/')
        && rest.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'*' | b'[' | b']')
        })
        && (!rest.contains('*') || (rest.starts_with("*.") && !rest[2..].contains('*')))
}

fn valid_app_id(a: &str) -> bool {
    (1..=64).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Reads and parses a configuration file.
pub fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
}

impl Config {
    /// Validates the flags (and environment), reading the file `--config` names, if any.
    pub fn from_cli(cli: Cli) -> Result<Self, String> {
        let file = match &cli.config {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        Self::layered(cli, file)
    }

    /// Merges flags/environment (`cli`) over `file` over the defaults, and validates.
    pub fn layered(cli: Cli, file: FileConfig) -> Result<Self, String> {
        let mut projects: Vec<Project> = Vec::new();
        for p in &file.projects {
            if projects.iter().any(|q| q.name == p.name) {
                return Err(format!("project {:?}: defined twice", p.name));
            }
            projects.push(Project {
                name: p.name.clone(),
                write_keys: p.write_keys.clone(),
                app_ids: p.app_ids.clone(),
                origins: p.origins.clone(),
                cors_credentials: p.cors_credentials,
            });
        }
        for p in &cli.projects {
            let (name, key) = p
                .split_once(':')
                .ok_or_else(|| format!("--project {p}: expected NAME:KEY"))?;
            match projects.iter_mut().find(|q| q.name == name) {
                Some(q) => q.write_keys.push(key.to_owned()),
                None => projects.push(Project {
                    name: name.to_owned(),
                    write_keys: vec![key.to_owned()],
                    app_ids: Vec::new(),
                    origins: Vec::new(),
                    cors_credentials: false,
                }),
            }
        }
        if projects.is_empty() {
            projects.push(Project {
                name: "demo".into(),
                write_keys: vec![DEMO_KEY.into()],
                app_ids: Vec::new(),
                origins: Vec::new(),
                cors_credentials: false,
            });
        }
        let mut keys = std::collections::HashSet::new();
        for p in &projects {
            let name = &p.name;
            if !valid_name(name) {
                return Err(format!(
                    "project {name:?}: name must be 1..=64 of [a-z0-9_-], not starting with _"
                ));
            }
            if p.write_keys.is_empty() {
                return Err(format!("project {name:?}: no write key"));
            }
            for k in &p.write_keys {
                if k.is_empty() || k.trim() != k || k.contains(',') {
                    return Err(format!(
                        "project {name:?}: empty write key, or one with spaces or commas"
                    ));
                }
                if !keys.insert(k.as_str()) {
                    return Err(format!(
                        "project {name:?}: duplicate write key (a key belongs to one project)"
                    ));
                }
            }
            if let Some(a) = p.app_ids.iter().find(|a| !valid_app_id(a)) {
                return Err(format!(
                    "project {name:?}: app id {a:?} is not [A-Za-z0-9_]+"
                ));
            }
            if let Some(o) = p.origins.iter().find(|o| !valid_origin(o)) {
                return Err(format!(
                    "project {name:?}: origin {o:?} must be scheme://host[:port] (optionally \
                     https://*.example.com) or *"
                ));
            }
            if p.cors_credentials && (p.origins.is_empty() || p.origins.iter().any(|o| o == "*")) {
                return Err(format!(
                    "project {name:?}: cors_credentials needs an explicit origins list (never a \
                     wildcard with credentials)"
                ));
            }
        }

        let mut limit_overrides: Vec<String> = file
            .limits
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        limit_overrides.extend(cli.limits.iter().cloned());

        let ms = |v: u64, flag: &str| -> Result<i64, String> {
            i64::try_from(v)
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("{flag} must be positive"))
        };
        let queue_depth = cli.queue_depth.or(file.queue_depth).unwrap_or(1024);
        if queue_depth == 0 {
            return Err("queue_depth must be positive".into());
        }
        let max_connections = cli
            .max_connections
            .or(file.max_connections)
            .unwrap_or(10_000);
        let max_concurrent_requests = cli
            .max_concurrent_requests
            .or(file.max_concurrent_requests)
            .unwrap_or(1024);
        if max_connections == 0 || max_concurrent_requests == 0 {
            return Err("max_connections and max_concurrent_requests must be positive".into());
        }
        let trusted = if cli.trusted_proxies.is_empty() {
            &file.trusted_proxies
        } else {
            &cli.trusted_proxies
        };
        let trusted_proxies = trusted
            .iter()
            .map(|s| parse_cidr(s))
            .collect::<Result<Vec<_>, _>>()?;
        let rate = |c: &Option<String>, f: &Option<String>| match c.as_ref().or(f.as_ref()) {
            Some(s) => parse_rate(s),
            None => Ok(None),
        };
        let listen = cli
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        if !listen.ip().is_loopback()
            && projects
                .iter()
                .any(|p| p.write_keys.iter().any(|k| k == DEMO_KEY))
        {
            return Err(format!(
                "refusing to listen on {listen}: the public demo write key `{DEMO_KEY}` is \
                 configured. Configure your own projects and keys (--config, MAIDIAN_PROJECTS or \
                 --project NAME:KEY) or listen on a loopback address (127.0.0.1:8080)."
            ));
        }
        let sync_interval_ms = cli
            .sync_interval_ms
            .or(file.sync_interval_ms)
            .unwrap_or(1000);
        let dedup_window_secs = cli
            .dedup_window_secs
            .or(file.dedup_window_secs)
            .unwrap_or(24 * 3600);
        let read_timeout_ms = cli
            .read_timeout_ms
            .or(file.read_timeout_ms)
            .unwrap_or(10_000);
        Ok(Self {
            listen,
            data_dir: cli
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./data")),
            projects,
            collector_id: cli
                .collector_id
                .or(file.collector_id)
                .as_deref()
                .map_or_else(default_collector_id, sanitize_id),
            limits: parse_limits(&limit_overrides)?,
            durability: cli
                .durability
                .or(file.durability)
                .unwrap_or(Durability::Batch),
            sync_interval: Duration::from_millis(sync_interval_ms.max(1)),
            rotation: Rotation {
                max_bytes: cli
                    .rotate_max_bytes
                    .or(file.rotate_max_bytes)
                    .unwrap_or(256 << 20)
                    .max(1),
                max_age_ms: ms(
                    cli.rotate_max_age_ms
                        .or(file.rotate_max_age_ms)
                        .unwrap_or(15 * 60 * 1000),
                    "rotate_max_age_ms",
                )?,
                idle_ms: ms(
                    cli.rotate_idle_ms
                        .or(file.rotate_idle_ms)
                        .unwrap_or(60 * 1000),
                    "rotate_idle_ms",
                )?,
            },
            gzip: cli.gzip.or(file.gzip).unwrap_or(false),
            dedup_window_ms: ms(dedup_window_secs, "dedup_window_secs")?.saturating_mul(1000),
            dedup_capacity: cli.dedup_capacity.or(file.dedup_capacity).unwrap_or(0),
            queue_depth,
            rejected_raw_max_bytes: cli
                .rejected_raw_max_bytes
                .or(file.rejected_raw_max_bytes)
                .unwrap_or(4096),
            read_timeout: Duration::from_millis(read_timeout_ms.max(1)),
            shutdown_grace: Duration::from_millis(
                cli.shutdown_grace_ms
                    .or(file.shutdown_grace_ms)
                    .unwrap_or(10_000),
            ),
            drain_delay: Duration::from_millis(
                cli.drain_delay_ms.or(file.drain_delay_ms).unwrap_or(0),
            ),
            max_connections,
            max_concurrent_requests,
            key_rate: rate(&cli.key_rate, &file.key_rate)?,
            ip_rate: rate(&cli.ip_rate, &file.ip_rate)?,
            trusted_proxies,
            workers: cli.workers.or(file.workers).filter(|w| *w > 0),
            log_format: cli.log_format.or(file.log_format).unwrap_or_default(),
            fault_file: cli.fault_file,
            clock_offset_ms: cli.clock_offset_ms.unwrap_or(0),
        })
    }

    /// The effective configuration as TOML, write keys redacted (`--print-config`).
    pub fn to_toml(&self) -> String {
        let limits_all = serde_json::to_value(self.limits).unwrap_or_default();
        let limits = limits_all
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                    .collect()
            })
            .unwrap_or_default();
        let rate = |r: Option<Rate>| {
            Some(r.map_or_else(|| "0".to_owned(), |r| format!("{}/{}", r.per_sec, r.burst)))
        };
        let file = FileConfig {
            listen: Some(self.listen),
            data_dir: Some(self.data_dir.clone()),
            collector_id: Some(self.collector_id.clone()),
            durability: Some(self.durability),
            sync_interval_ms: Some(self.sync_interval.as_millis() as u64),
            rotate_max_bytes: Some(self.rotation.max_bytes),
            rotate_max_age_ms: Some(self.rotation.max_age_ms as u64),
            rotate_idle_ms: Some(self.rotation.idle_ms as u64),
            gzip: Some(self.gzip),
            dedup_window_secs: Some((self.dedup_window_ms / 1000) as u64),
            dedup_capacity: Some(self.dedup_capacity),
            queue_depth: Some(self.queue_depth),
            rejected_raw_max_bytes: Some(self.rejected_raw_max_bytes),
            read_timeout_ms: Some(self.read_timeout.as_millis() as u64),
            shutdown_grace_ms: Some(self.shutdown_grace.as_millis() as u64),
            drain_delay_ms: Some(self.drain_delay.as_millis() as u64),
            max_connections: Some(self.max_connections),
            max_concurrent_requests: Some(self.max_concurrent_requests),
            key_rate: rate(self.key_rate),
            ip_rate: rate(self.ip_rate),
            trusted_proxies: self
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect(),
            workers: self.workers,
            log_format: Some(self.log_format),
            limits,
            projects: self
                .projects
                .iter()
                .map(|p| FileProject {
                    name: p.name.clone(),
                    write_keys: p.write_keys.iter().map(|k| redact(k)).collect(),
                    app_ids: p.app_ids.clone(),
                    origins: p.origins.clone(),
                    cors_credentials: p.cors_credentials,
                })
                .collect(),
        };
        toml::to_string(&file).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// `demo-key` stays readable (it is public); other keys show their length only.
fn redact(k: &str) -> String {
    if k == DEMO_KEY {
        k.to_owned()
    } else {
        format!("<redacted, {} chars>", k.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Result<Config, String> {
        let mut v = vec!["maidian-collector"];
        v.extend_from_slice(args);
        Config::layered(
            Cli::try_parse_from(v).map_err(|e| e.to_string())?,
            FileConfig::default(),
        )
    }

    fn with_file(args: &[&str], toml_text: &str) -> Result<Config, String> {
        let mut v = vec!["maidian-collector"];
        v.extend_from_slice(args);
        let file: FileConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        Config::layered(Cli::try_parse_from(v).map_err(|e| e.to_string())?, file)
    }

    #[test]
    fn defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.projects[0].name, "demo");
        assert_eq!(c.projects[0].write_keys, vec!["demo-key".to_owned()]);
        assert_eq!(c.durability, Durability::Batch);
        assert_eq!(c.dedup_window_ms, 86_400_000);
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.key_rate, None);
        assert!(c.trusted_proxies.is_empty());
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
            "--project",
            "shop:k3",
        ])
        .unwrap();
        assert_eq!(c.limits.max_body_bytes, 100);
        assert_eq!(c.projects.len(), 2);
        assert_eq!(c.projects[0].write_keys, vec!["k1", "k3"]);
        assert!(cfg(&["--limit", "max_bodyy_bytes=1"]).is_err());
        assert!(cfg(&["--limit", "max_body_bytes=x"]).is_err());
        assert!(cfg(&["--project", "Bad Name:k"]).is_err());
        assert!(cfg(&["--project", "a:k", "--project", "b:k"]).is_err());
        assert!(cfg(&["--project", "_ids:k"]).is_err());
        assert!(cfg(&["--project", "a:"]).is_err());
    }

    #[test]
    fn file_then_flags() {
        let text = r#"
            listen = "0.0.0.0:9000"
            data_dir = "/var/lib/maidian"
            queue_depth = 8
            key_rate = "100/200"
            trusted_proxies = ["10.0.0.0/8", "::1"]
            [limits]
            max_body_bytes = 1000
            max_events_per_batch = 10
            [[projects]]
            name = "shop"
            write_keys = ["k1", "k2"]
            app_ids = ["wx1234"]
            origins = ["https://shop.example.com", "https://*.example.org"]
            cors_credentials = true
        "#;
        let c = with_file(
            &["--limit", "max_body_bytes=2000", "--queue-depth", "9"],
            text,
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/maidian"));
        assert_eq!(c.queue_depth, 9, "the flag wins over the file");
        assert_eq!(c.limits.max_body_bytes, 2000, "the flag wins name by name");
        assert_eq!(
            c.limits.max_events_per_batch, 10,
            "the file's other limits stay"
        );
        assert_eq!(
            c.key_rate,
            Some(Rate {
                per_sec: 100,
                burst: 200
            })
        );
        assert_eq!(c.trusted_proxies.len(), 2);
        assert_eq!(
            c.projects.len(),
            1,
            "no demo project once projects are configured"
        );
        assert_eq!(c.projects[0].write_keys, vec!["k1", "k2"]);
        // Printing and reading back gives the same configuration (keys redacted).
        let printed = c.to_toml();
        assert!(printed.contains("<redacted, 2 chars>"), "{printed}");
        let again: FileConfig = toml::from_str(&printed).unwrap();
        assert_eq!(again.queue_depth, Some(9));
        assert!(
            with_file(&[], "bogus = 1").is_err(),
            "unknown keys are refused"
        );
        assert!(
            with_file(&[], "[[projects]]\nname = \"a\"\nwrite_keys = [\"k\"]\norigins = [\"*\"]\ncors_credentials = true").is_err(),
            "never a wildcard with credentials"
        );
        assert!(with_file(&[], "[[projects]]\nname = \"a\"\nwrite_keys = []").is_err());
        assert!(
            with_file(
                &[],
                "[[projects]]\nname = \"a\"\nwrite_keys = [\"k\"]\norigins = [\"shop.example\"]"
            )
            .is_err()
        );
    }

    #[test]
    fn demo_key_stays_on_loopback() {
        let e = cfg(&["--listen", "0.0.0.0:8080"]).unwrap_err();
        assert!(e.contains("demo write key"), "{e}");
        assert!(cfg(&["--listen", "[::1]:8080"]).is_ok());
        assert!(cfg(&["--listen", "0.0.0.0:8080", "--project", "shop:secret"]).is_ok());
        assert!(cfg(&["--listen", "0.0.0.0:8080", "--project", "shop:demo-key"]).is_err());
    }

    #[test]
    fn rates_and_cidrs() {
        assert_eq!(parse_rate("0").unwrap(), None);
        assert_eq!(
            parse_rate("5").unwrap(),
            Some(Rate {
                per_sec: 5,
                burst: 5
            })
        );
        assert_eq!(
            parse_rate("5/20").unwrap(),
            Some(Rate {
                per_sec: 5,
                burst: 20
            })
        );
        assert!(parse_rate("x").is_err());
        assert!(parse_rate("5/0").is_err());
        assert_eq!(parse_cidr("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert!(parse_cidr("10.0.0.0/33").is_err());
    }

    #[test]
    fn log_format_layers() {
        assert_eq!(cfg(&[]).unwrap().log_format, LogFormat::Human);
        let file = "log_format = \"json\"";
        assert_eq!(with_file(&[], file).unwrap().log_format, LogFormat::Json);
        let flag = with_file(&["--log-format", "human"], file).unwrap();
        assert_eq!(flag.log_format, LogFormat::Human);
        assert!(flag.to_toml().contains("log_format = \"human\""));
        assert!(with_file(&[], "log_format = \"xml\"").is_err());
        assert!(cfg(&["--log-format", "xml"]).is_err());
    }

    #[test]
    fn sanitize() {
        assert_eq!(sanitize_id("Host.Example:1"), "host-example-1");
        assert_eq!(sanitize_id(""), "collector");
    }
}
