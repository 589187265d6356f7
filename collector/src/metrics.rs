//! Counters for every outcome and limit, exposed as Prometheus text on `GET /metrics`.
//! Lock-free (relaxed atomics); the names say what they count.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use maidian_protocol::{Reason, RequestError};

/// All counters of one collector process.
#[derive(Debug)]
pub struct Metrics {
    /// Requests answered 200.
    pub requests_ok: AtomicU64,
    /// Requests refused, by [`RequestError`] (index in `RequestError::ALL`).
    pub requests_refused: Vec<AtomicU64>,
    /// Events stored.
    pub events_accepted: AtomicU64,
    /// Events not stored again because their id was stored already.
    pub events_duplicate: AtomicU64,
    /// Events rejected, by [`Reason`] (index in `Reason::ALL`).
    pub events_rejected: Vec<AtomicU64>,
    /// Requests refused because the writer queue was full.
    pub queue_full: AtomicU64,
    /// Bytes appended to event and rejected files.
    pub bytes_written: AtomicU64,
    /// Group commits (one `fdatasync` round).
    pub group_commits: AtomicU64,
    /// `fdatasync` calls.
    pub fsyncs: AtomicU64,
    /// Failed writes or syncs.
    pub write_errors: AtomicU64,
    /// Files sealed.
    pub files_sealed: AtomicU64,
    /// Torn lines cut by recovery.
    pub torn_lines_cut: AtomicU64,
    /// Ingest requests being handled (gauge).
    pub requests_in_flight: AtomicU64,
    /// Remembered ids (gauge), compact form.
    pub dedup_compact_ids: AtomicU64,
    /// Remembered ids (gauge), text form.
    pub dedup_text_ids: AtomicU64,
    /// Requests queued for the writer (gauge).
    pub writer_queued: AtomicU64,
    /// Open client connections (gauge).
    pub connections_open: AtomicU64,
    /// Connections accepted.
    pub connections_total: AtomicU64,
    /// Requests refused 429, by limiter: write key.
    pub rate_limited_key: AtomicU64,
    /// Requests refused 429, by limiter: client address.
    pub rate_limited_ip: AtomicU64,
    /// Requests refused 503 because the concurrency limit was reached.
    pub concurrency_refused: AtomicU64,
    /// 1 while draining after SIGTERM (gauge).
    pub draining: AtomicU64,
    /// Successful SIGHUP reloads.
    pub config_reloads: AtomicU64,
    /// Failed SIGHUP reloads (the previous configuration was kept).
    pub config_reload_failures: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        let zeros = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        Self {
            requests_ok: AtomicU64::new(0),
            requests_refused: zeros(RequestError::ALL.len()),
            events_accepted: AtomicU64::new(0),
            events_duplicate: AtomicU64::new(0),
            events_rejected: zeros(Reason::ALL.len()),
            queue_full: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            group_commits: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
            files_sealed: AtomicU64::new(0),
            torn_lines_cut: AtomicU64::new(0),
            config_reloads: AtomicU64::new(0),
            config_reload_failures: AtomicU64::new(0),
            requests_in_flight: AtomicU64::new(0),
            dedup_compact_ids: AtomicU64::new(0),
            dedup_text_ids: AtomicU64::new(0),
            writer_queued: AtomicU64::new(0),
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            rate_limited_key: AtomicU64::new(0),
            rate_limited_ip: AtomicU64::new(0),
            concurrency_refused: AtomicU64::new(0),
            draining: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts a refused request.
    pub fn refused(&self, e: RequestError) {
        if let Some(i) = RequestError::ALL.iter().position(|x| *x == e) {
            self.requests_refused[i].fetch_add(1, Relaxed);
        }
    }

    /// Counts a rejected event.
    pub fn rejected(&self, r: Reason) {
        if let Some(i) = Reason::ALL.iter().position(|x| *x == r) {
            self.events_rejected[i].fetch_add(1, Relaxed);
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(4096);
        let mut one = |name: &str, help: &str, kind: &str, v: &AtomicU64| {
            let _ = writeln!(
                o,
                "# HELP maidian_{name} {help}\n# TYPE maidian_{name} {kind}"
            );
            let _ = writeln!(o, "maidian_{name} {}", v.load(Relaxed));
        };
        one(
            "requests_ok_total",
            "Requests answered 200.",
            "counter",
            &self.requests_ok,
        );
        one(
            "events_accepted_total",
            "Events stored.",
            "counter",
            &self.events_accepted,
        );
        one(
            "events_duplicate_total",
            "Events already stored.",
            "counter",
            &self.events_duplicate,
        );
        one(
            "queue_full_total",
            "Requests refused: writer queue full.",
            "counter",
            &self.queue_full,
        );
        one(
            "bytes_written_total",
            "Bytes appended to files.",
            "counter",
            &self.bytes_written,
        );
        one(
            "group_commits_total",
            "Group commits.",
            "counter",
            &self.group_commits,
        );
        one("fsyncs_total", "fdatasync calls.", "counter", &self.fsyncs);
        one(
            "write_errors_total",
            "Failed writes or syncs.",
            "counter",
            &self.write_errors,
        );
        one(
            "files_sealed_total",
            "Files sealed.",
            "counter",
            &self.files_sealed,
        );
        one(
            "torn_lines_cut_total",
            "Torn lines cut by recovery.",
            "counter",
            &self.torn_lines_cut,
        );
        one(
            "config_reloads_total",
            "Successful SIGHUP configuration reloads.",
            "counter",
            &self.config_reloads,
        );
        one(
            "config_reload_failures_total",
            "Failed SIGHUP reloads (previous configuration kept).",
            "counter",
            &self.config_reload_failures,
        );
        one(
            "requests_in_flight",
            "Ingest requests being handled.",
            "gauge",
            &self.requests_in_flight,
        );
        one(
            "dedup_compact_ids",
            "Remembered ids, compact form.",
            "gauge",
            &self.dedup_compact_ids,
        );
        one(
            "dedup_text_ids",
            "Remembered ids, text form.",
            "gauge",
            &self.dedup_text_ids,
        );
        one(
            "writer_queue_depth",
            "Requests queued for the writer.",
            "gauge",
            &self.writer_queued,
        );
        one(
            "connections_open",
            "Open client connections.",
            "gauge",
            &self.connections_open,
        );
        one(
            "connections_total",
            "Connections accepted.",
            "counter",
            &self.connections_total,
        );
        one(
            "rate_limited_key_total",
            "Requests refused 429 by the per-write-key limit.",
            "counter",
            &self.rate_limited_key,
        );
        one(
            "rate_limited_ip_total",
            "Requests refused 429 by the per-client-address limit.",
            "counter",
            &self.rate_limited_ip,
        );
        one(
            "concurrency_refused_total",
            "Requests refused 503 at the concurrency limit.",
            "counter",
            &self.concurrency_refused,
        );
        one(
            "draining",
            "1 while draining after SIGTERM/SIGINT.",
            "gauge",
            &self.draining,
        );
        let _ = writeln!(
            o,
            "# HELP maidian_requests_refused_total Requests refused, by error.\n# TYPE maidian_requests_refused_total counter"
        );
        for (e, v) in RequestError::ALL.iter().zip(&self.requests_refused) {
            let _ = writeln!(
                o,
                "maidian_requests_refused_total{{error=\"{e}\",status=\"{}\"}} {}",
                e.status(),
                v.load(Relaxed)
            );
        }
        let _ = writeln!(
            o,
            "# HELP maidian_events_rejected_total Events rejected, by reason.\n# TYPE maidian_events_rejected_total counter"
        );
        for (r, v) in Reason::ALL.iter().zip(&self.events_rejected) {
            let _ = writeln!(
                o,
                "maidian_events_rejected_total{{reason=\"{r}\"}} {}",
                v.load(Relaxed)
            );
        }
        o
    }
}
