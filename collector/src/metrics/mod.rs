//! The collector's metrics: one [`prometheus_client`] registry per [`Metrics`] value (no global
//! recorder, so several collectors in one process keep their own figures), exposed as
//! OpenMetrics text on `GET /metrics`.
//!
//! Every series is registered at start-up and the hot path holds its handles directly: a
//! counter is one relaxed atomic add, a histogram observation one uncontended lock of that
//! histogram. Labelled series whose label values are known up front (refusal errors, rejection
//! reasons, endpoints, encodings) are resolved to handles once; only the open-file gauge, whose
//! labels name projects, is looked up by label — by the writer thread, when it opens a file.
//! Per-request figures (events per batch, clock skew, inflation) are observed once per request,
//! never per event. The metric names and their meaning are listed in docs/OPERATIONS.md.
//!
//! - [`labels`]: endpoints, status classes, encodings and the pure per-request figures.
//! - [`disk`]: free space of the data directory (`statvfs`), refreshed at scrape time.

pub mod disk;
pub mod labels;

use std::path::Path;
use std::time::Duration;

use maidian_protocol::{Reason, RequestError};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::decode::Encoding;
use labels::{ENCODINGS, Endpoint, StatusClass};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Request latency buckets, seconds: 0.5 ms .. 10 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// `fdatasync` latency buckets, seconds: 0.1 ms .. 5 s.
const FSYNC_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Events per request (the default limit is 500).
const BATCH_BUCKETS: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];
/// Decoded bytes per received byte of a compressed body.
const RATIO_BUCKETS: [f64; 11] = [1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 50.0, 100.0];
/// Absolute device clock skew, seconds: 100 ms .. 1 week.
const SKEW_BUCKETS: [f64; 13] = [
    0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0, 604800.0, 2592000.0,
];

fn histogram(buckets: &'static [f64]) -> Histogram {
    Histogram::new(buckets.iter().copied())
}

type FileLabels = [(&'static str, String); 2];

/// All metrics of one collector.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered 200.
    pub requests_ok: Counter,
    /// Requests refused, by [`RequestError`] (index in `RequestError::ALL`).
    requests_refused: Vec<Counter>,
    /// Events stored.
    pub events_accepted: Counter,
    /// Events not stored again because their id was stored already.
    pub events_duplicate: Counter,
    /// Events rejected, by [`Reason`] (index in `Reason::ALL`).
    events_rejected: Vec<Counter>,
    /// Requests refused because the writer queue was full.
    pub queue_full: Counter,
    /// Bytes appended to event and rejected files.
    pub bytes_written: Counter,
    /// Group commits (one `fdatasync` round).
    pub group_commits: Counter,
    /// `fdatasync` calls.
    pub fsyncs: Counter,
    /// Failed writes or syncs.
    pub write_errors: Counter,
    /// Files sealed.
    pub files_sealed: Counter,
    /// Torn lines cut by recovery.
    pub torn_lines_cut: Counter,
    /// Successful SIGHUP reloads.
    pub config_reloads: Counter,
    /// Failed SIGHUP reloads (the previous configuration was kept).
    pub config_reload_failures: Counter,
    /// Connections accepted.
    pub connections_total: Counter,
    /// Requests refused 429, by limiter: write key.
    pub rate_limited_key: Counter,
    /// Requests refused 429, by limiter: client address.
    pub rate_limited_ip: Counter,
    /// Requests refused 503 because the concurrency limit was reached.
    pub concurrency_refused: Counter,
    /// Ingest requests being handled.
    pub requests_in_flight: Gauge,
    /// Remembered ids, compact form, by project.
    dedup_compact_ids: Family<[(&'static str, String); 1], Gauge>,
    /// Remembered ids, text form, by project.
    dedup_text_ids: Family<[(&'static str, String); 1], Gauge>,
    /// Requests queued for the writer.
    pub writer_queued: Gauge,
    /// Open client connections.
    pub connections_open: Gauge,
    /// 1 while draining after SIGTERM.
    pub draining: Gauge,
    /// Body bytes as received, by [`Encoding`] (index in [`ENCODINGS`]).
    body_bytes: [Counter; 3],
    /// Body bytes after decoding, by [`Encoding`].
    inflated_bytes: [Counter; 3],
    /// Request latency, by [`Endpoint`] and [`StatusClass`].
    request_duration: Vec<Histogram>,
    /// `fdatasync` latency.
    fsync_duration: Histogram,
    /// Events per parsed ingest request.
    batch_events: Histogram,
    /// Decoded / received bytes of compressed bodies.
    inflate_ratio: Histogram,
    /// `|receivedAt - sentAt|` of requests that carry `sentAt`.
    clock_skew: Histogram,
    /// The writer's open `.open` files, by project and stream.
    open_files: Family<FileLabels, Gauge>,
    /// Space left for unprivileged writers on the data directory's file system.
    data_dir_free: Gauge,
    /// Size of the data directory's file system.
    data_dir_size: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every series (all at zero).
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("maidian");
        let mut counter = |name: &str, help: &str| {
            let c = Counter::default();
            r.register(name, help, c.clone());
            c
        };
        let requests_ok = counter("requests_ok", "Requests answered 200.");
        let events_accepted = counter("events_accepted", "Events stored.");
        let events_duplicate = counter("events_duplicate", "Events already stored.");
        let queue_full = counter("queue_full", "Requests refused: writer queue full.");
        let bytes_written = counter("bytes_written", "Bytes appended to files.");
        let group_commits = counter("group_commits", "Group commits.");
        let fsyncs = counter("fsyncs", "fdatasync calls.");
        let write_errors = counter("write_errors", "Failed writes or syncs.");
        let files_sealed = counter("files_sealed", "Files sealed.");
        let torn_lines_cut = counter("torn_lines_cut", "Torn lines cut by recovery.");
        let config_reloads = counter("config_reloads", "Successful SIGHUP configuration reloads.");
        let config_reload_failures = counter(
            "config_reload_failures",
            "Failed SIGHUP reloads (previous configuration kept).",
        );
        let connections_total = counter("connections", "Connections accepted.");
        let rate_limited_key = counter(
            "rate_limited_key",
            "Requests refused 429 by the per-write-key limit.",
        );
        let rate_limited_ip = counter(
            "rate_limited_ip",
            "Requests refused 429 by the per-client-address limit.",
        );
        let concurrency_refused = counter(
            "concurrency_refused",
            "Requests refused 503 at the concurrency limit.",
        );

        let mut gauge = |name: &str, help: &str| {
            let g = Gauge::default();
            r.register(name, help, g.clone());
            g
        };
        let requests_in_flight = gauge("requests_in_flight", "Ingest requests being handled.");
        let writer_queued = gauge("writer_queue_depth", "Requests queued for the writer.");
        let connections_open = gauge("connections_open", "Open client connections.");
        let draining = gauge("draining", "1 while draining after SIGTERM/SIGINT.");

        let refused = Family::<[(&str, String); 2], Counter>::default();
        let requests_refused = RequestError::ALL
            .iter()
            .map(|e| {
                refused.get_or_create_owned(&[
                    ("error", e.as_str().to_owned()),
                    ("status", e.status().to_string()),
                ])
            })
            .collect();
        r.register("requests_refused", "Requests refused, by error.", refused);
        let rejected = Family::<[(&str, &str); 1], Counter>::default();
        let events_rejected = Reason::ALL
            .iter()
            .map(|x| rejected.get_or_create_owned(&[("reason", x.as_str())]))
            .collect();
        r.register("events_rejected", "Events rejected, by reason.", rejected);

        let body = Family::<[(&str, &str); 1], Counter>::default();
        let inflated = Family::<[(&str, &str); 1], Counter>::default();
        let body_bytes =
            ENCODINGS.map(|e| body.get_or_create_owned(&[("encoding", labels::encoding_name(e))]));
        let inflated_bytes = ENCODINGS
            .map(|e| inflated.get_or_create_owned(&[("encoding", labels::encoding_name(e))]));
        r.register_with_unit(
            "request_body",
            "Ingest request body bytes as received (before decoding), by content encoding; \
             bodies read in full with a supported encoding.",
            Unit::Bytes,
            body,
        );
        r.register_with_unit(
            "request_inflated",
            "Ingest request body bytes after decoding, by content encoding (bodies that \
             decoded within the limit).",
            Unit::Bytes,
            inflated,
        );

        let durations =
            Family::<[(&str, &str); 2], Histogram, fn() -> Histogram>::new_with_constructor(|| {
                histogram(&LATENCY_BUCKETS)
            });
        let request_duration = Endpoint::ALL
            .iter()
            .flat_map(|ep| StatusClass::ALL.iter().map(move |c| (*ep, *c)))
            .map(|(ep, c)| {
                durations.get_or_create_owned(&[("endpoint", ep.as_str()), ("status", c.as_str())])
            })
            .collect();
        r.register_with_unit(
            "request_duration",
            "Time from a request's head to its response, by endpoint and status class.",
            Unit::Seconds,
            durations,
        );
        let fsync_duration = histogram(&FSYNC_BUCKETS);
        r.register_with_unit(
            "fsync_duration",
            "fdatasync latency of the writer's event and rejected files.",
            Unit::Seconds,
            fsync_duration.clone(),
        );
        let batch_events = histogram(&BATCH_BUCKETS);
        r.register(
            "batch_events",
            "Events per ingest request whose body could be split.",
            batch_events.clone(),
        );
        let inflate_ratio = histogram(&RATIO_BUCKETS);
        r.register(
            "inflate_ratio",
            "Decoded bytes per received byte, of compressed request bodies.",
            inflate_ratio.clone(),
        );
        let clock_skew = histogram(&SKEW_BUCKETS);
        r.register_with_unit(
            "clock_skew",
            "Absolute difference between receivedAt and the device's sentAt, per request \
             carrying sentAt (includes network transit).",
            Unit::Seconds,
            clock_skew.clone(),
        );

        let dedup_compact_ids = Family::default();
        r.register(
            "dedup_compact_ids",
            "Ids remembered for dedup in the compact (16-byte) form, by project.",
            dedup_compact_ids.clone(),
        );
        let dedup_text_ids = Family::default();
        r.register(
            "dedup_text_ids",
            "Ids remembered for dedup in text form, by project.",
            dedup_text_ids.clone(),
        );
        let open_files = Family::<FileLabels, Gauge>::default();
        r.register(
            "open_files",
            "Files the writer holds open for appending (.open), by project and stream.",
            open_files.clone(),
        );
        let data_dir_free = Gauge::default();
        r.register_with_unit(
            "data_dir_free",
            "Space available to the collector on the data directory's file system \
             (refreshed at each scrape).",
            Unit::Bytes,
            data_dir_free.clone(),
        );
        let data_dir_size = Gauge::default();
        r.register_with_unit(
            "data_dir_size",
            "Size of the data directory's file system (refreshed at each scrape).",
            Unit::Bytes,
            data_dir_size.clone(),
        );

        Self {
            registry: r,
            requests_ok,
            requests_refused,
            events_accepted,
            events_duplicate,
            events_rejected,
            queue_full,
            bytes_written,
            group_commits,
            fsyncs,
            write_errors,
            files_sealed,
            torn_lines_cut,
            config_reloads,
            config_reload_failures,
            connections_total,
            rate_limited_key,
            rate_limited_ip,
            concurrency_refused,
            requests_in_flight,
            dedup_compact_ids,
            dedup_text_ids,
            writer_queued,
            connections_open,
            draining,
            body_bytes,
            inflated_bytes,
            request_duration,
            fsync_duration,
            batch_events,
            inflate_ratio,
            clock_skew,
            open_files,
            data_dir_free,
            data_dir_size,
        }
    }

    /// Counts a refused request.
    pub fn refused(&self, e: RequestError) {
        if let Some(i) = RequestError::ALL.iter().position(|x| *x == e) {
            self.requests_refused[i].inc();
        }
    }

    /// Counts a rejected event.
    pub fn rejected(&self, r: Reason) {
        if let Some(i) = Reason::ALL.iter().position(|x| *x == r) {
            self.events_rejected[i].inc();
        }
    }

    /// Records a request's latency.
    pub fn request_done(&self, endpoint: Endpoint, status: u16, took: Duration) {
        let i = endpoint.index() * StatusClass::ALL.len() + StatusClass::of(status).index();
        if let Some(h) = self.request_duration.get(i) {
            h.observe(took.as_secs_f64());
        }
    }

    /// Records a body as received (read in full, with a supported encoding).
    pub fn body_received(&self, encoding: Encoding, received: usize) {
        self.body_bytes[labels::encoding_index(encoding)].inc_by(received as u64);
    }

    /// Records a body's decoding (after [`Metrics::body_received`]).
    pub fn body_decoded(&self, encoding: Encoding, received: usize, decoded: usize) {
        self.inflated_bytes[labels::encoding_index(encoding)].inc_by(decoded as u64);
        if let Some(ratio) = labels::inflate_ratio(encoding, received, decoded) {
            self.inflate_ratio.observe(ratio);
        }
    }

    /// Records the shape of a split body: its number of events and, when it carries `sentAt`,
    /// the device clock's skew.
    pub fn batch_split(&self, events: usize, received_at: i64, sent_at: Option<i64>) {
        self.batch_events.observe(events as f64);
        if let Some(s) = labels::skew_seconds(received_at, sent_at) {
            self.clock_skew.observe(s);
        }
    }

    /// Records one `fdatasync`.
    pub fn fsync_done(&self, took: Duration) {
        self.fsyncs.inc();
        self.fsync_duration.observe(took.as_secs_f64());
    }

    /// The dedup-size gauges of a project (compact, text); hold them rather than look them up
    /// per request.
    pub fn dedup_gauges(&self, project: &str) -> DedupGauges {
        let labels = [("project", project.to_owned())];
        DedupGauges {
            compact: self.dedup_compact_ids.get_or_create_owned(&labels),
            text: self.dedup_text_ids.get_or_create_owned(&labels),
        }
    }

    /// The open-file gauge of a project's stream (the writer holds it while the file is open).
    pub fn open_files(&self, project: &str, stream: &'static str) -> Gauge {
        self.open_files.get_or_create_owned(&[
            ("project", project.to_owned()),
            ("stream", stream.to_owned()),
        ])
    }

    /// Refreshes the data directory's space gauges (a `statvfs`; call off the async runtime).
    pub fn refresh_disk(&self, data_dir: &Path) -> std::io::Result<()> {
        let s = disk::space(data_dir)?;
        self.data_dir_free.set(clamp_i64(s.available));
        self.data_dir_size.set(clamp_i64(s.total));
        Ok(())
    }

    /// OpenMetrics text exposition ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut o, &self.registry);
        o
    }
}

/// A project's dedup-size gauges ([`Metrics::dedup_gauges`]).
#[derive(Debug, Clone)]
pub struct DedupGauges {
    compact: Gauge,
    text: Gauge,
}

impl DedupGauges {
    /// Sets both from the project's dedup statistics.
    pub fn set(&self, compact_ids: usize, text_ids: usize) {
        self.compact.set(clamp_i64(compact_ids as u64));
        self.text.set(clamp_i64(text_ids as u64));
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    }

    #[test]
    fn every_series_is_exposed_from_the_start() {
        let m = Metrics::new();
        let t = m.render();
        assert!(t.ends_with("# EOF\n"));
        for name in [
            "maidian_requests_ok_total 0",
            "maidian_events_accepted_total 0",
            "maidian_writer_queue_depth 0",
            "maidian_connections_total 0",
            "maidian_requests_refused_total{error=\"missing_write_key\",status=\"401\"} 0",
            "maidian_events_rejected_total{reason=\"missing_message_id\"} 0",
            "maidian_request_body_bytes_total{encoding=\"gzip\"} 0",
            "maidian_request_inflated_bytes_total{encoding=\"identity\"} 0",
            "maidian_request_duration_seconds_count{endpoint=\"ingest\",status=\"2xx\"} 0",
            "maidian_fsync_duration_seconds_count 0",
            "maidian_batch_events_count 0",
            "maidian_inflate_ratio_count 0",
            "maidian_clock_skew_seconds_count 0",
            "maidian_data_dir_free_bytes 0",
        ] {
            line(&t, name);
        }
    }

    #[test]
    fn per_request_figures() {
        let m = Metrics::new();
        m.body_received(Encoding::Gzip, 100);
        m.body_decoded(Encoding::Gzip, 100, 1000);
        m.body_received(Encoding::Identity, 50);
        m.body_decoded(Encoding::Identity, 50, 50);
        m.batch_split(3, 10_000, Some(7_500));
        m.batch_split(2, 10_000, None);
        m.request_done(Endpoint::Ingest, 503, Duration::from_millis(3));
        m.refused(RequestError::Unavailable);
        m.rejected(Reason::MissingMessageId);
        let t = m.render();
        line(
            &t,
            "maidian_request_body_bytes_total{encoding=\"gzip\"} 100",
        );
        line(
            &t,
            "maidian_request_inflated_bytes_total{encoding=\"gzip\"} 1000",
        );
        line(
            &t,
            "maidian_request_body_bytes_total{encoding=\"identity\"} 50",
        );
        line(&t, "maidian_inflate_ratio_count 1");
        line(&t, "maidian_inflate_ratio_sum 10.0");
        line(&t, "maidian_batch_events_count 2");
        line(&t, "maidian_batch_events_sum 5.0");
        line(&t, "maidian_clock_skew_seconds_count 1");
        line(&t, "maidian_clock_skew_seconds_sum 2.5");
        line(
            &t,
            "maidian_request_duration_seconds_count{endpoint=\"ingest\",status=\"5xx\"} 1",
        );
        line(
            &t,
            "maidian_requests_refused_total{error=\"unavailable\",status=\"503\"} 1",
        );
        line(
            &t,
            "maidian_events_rejected_total{reason=\"missing_message_id\"} 1",
        );
    }

    #[test]
    fn open_files_follow_their_handles() {
        let m = Metrics::new();
        let g = m.open_files("shop", "events");
        g.inc();
        m.open_files("shop", "events").inc();
        let t = m.render();
        line(
            &t,
            "maidian_open_files{project=\"shop\",stream=\"events\"} 2",
        );
        g.dec();
        line(
            &m.render(),
            "maidian_open_files{project=\"shop\",stream=\"events\"} 1",
        );
    }

    #[test]
    fn dedup_sizes_are_per_project() {
        let m = Metrics::new();
        m.dedup_gauges("a").set(3, 1);
        m.dedup_gauges("b").set(5, 0);
        m.dedup_gauges("a").set(4, 1);
        let t = m.render();
        line(&t, "maidian_dedup_compact_ids{project=\"a\"} 4");
        line(&t, "maidian_dedup_text_ids{project=\"a\"} 1");
        line(&t, "maidian_dedup_compact_ids{project=\"b\"} 5");
    }

    #[test]
    fn disk_space_is_read() {
        let m = Metrics::new();
        m.refresh_disk(Path::new(".")).unwrap();
        let t = m.render();
        let free: i64 = line(&t, "maidian_data_dir_free_bytes ")
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let size: i64 = line(&t, "maidian_data_dir_size_bytes ")
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(free > 0 && size >= free, "{free} {size}");
    }
}
