//! Observability against the real collector binary: after known requests (identity, gzip and
//! deflate bodies, duplicates, rejected events, refused requests) `/metrics` holds the exact
//! counts, consistent histograms, the bytes sent, the open files and the free disk; a stalled
//! writer shows in the queue-depth and in-flight gauges and in the latency histogram; JSON logs
//! are one JSON object per stderr line with the expected fields.
//!
//! The exposition is parsed (a small OpenMetrics text parser below), not searched for
//! substrings.

// Test helpers outside #[test] fns: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use common::*;

/// A parsed exposition: every sample, and the declared type of every metric family.
#[derive(Debug)]
struct Exposition {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Exposition {
    /// Parses OpenMetrics text; panics on anything malformed.
    fn parse(text: &str) -> Self {
        assert!(text.ends_with("# EOF\n"), "no EOF marker:\n{text}");
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(
                    types.insert(name.to_owned(), kind.to_owned()).is_none(),
                    "{name} declared twice"
                );
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            samples.push(parse_sample(line));
        }
        let e = Self { samples, types };
        for s in &e.samples {
            let family = e.family_of(&s.name);
            assert!(family.is_some(), "sample {} has no # TYPE", s.name);
        }
        e
    }

    /// The declared family a sample name belongs to (with its OpenMetrics suffix).
    fn family_of(&self, name: &str) -> Option<&str> {
        if let Some(kind) = self.types.get(name) {
            return Some(kind);
        }
        for suffix in ["_total", "_count", "_sum", "_bucket", "_created"] {
            if let Some(base) = name.strip_suffix(suffix)
                && let Some(kind) = self.types.get(base)
            {
                return Some(kind);
            }
        }
        None
    }

    /// Samples of `name` whose labels include `labels`.
    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    /// The value of the one series of `name` with exactly `labels`.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .matching(name, labels)
            .filter(|s| s.labels.len() == labels.len())
            .collect();
        assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
        found[0].value
    }

    /// The sum over every series of `name` whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    /// Checks one histogram series: buckets cumulative, `+Inf` equals `_count`; returns
    /// (count, sum).
    fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> (f64, f64) {
        assert_eq!(self.types.get(name).map(String::as_str), Some("histogram"));
        let mut buckets: Vec<(f64, f64)> = self
            .matching(&format!("{name}_bucket"), labels)
            .filter(|s| s.labels.len() == labels.len() + 1)
            .map(|s| {
                let le = &s.labels["le"];
                let bound = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                (bound, s.value)
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(buckets.len() > 2, "{name}: buckets {buckets:?}");
        assert!(
            buckets.windows(2).all(|w| w[0].1 <= w[1].1),
            "{name}{labels:?}: buckets not cumulative: {buckets:?}"
        );
        let count = self.get(&format!("{name}_count"), labels);
        let sum = self.get(&format!("{name}_sum"), labels);
        assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, count), "{name}");
        (count, sum)
    }

    /// The cumulative count of the bucket `le` of a histogram series.
    fn bucket(&self, name: &str, labels: &[(&str, &str)], le: &str) -> f64 {
        let mut with_le = labels.to_vec();
        with_le.push(("le", le));
        self.get(&format!("{name}_bucket"), &with_le)
    }
}

fn malformed(line: &str) -> ! {
    panic!("malformed sample line {line:?}")
}

fn parse_sample(line: &str) -> Sample {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => malformed(line),
    };
    assert!(
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
        "bad name in {line:?}"
    );
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(mut r) = rest.strip_prefix('{') {
        loop {
            if let Some(after) = r.strip_prefix('}') {
                r = after;
                break;
            }
            let eq = r.find('=').unwrap_or_else(|| malformed(line));
            let key = r[..eq].to_owned();
            let mut chars = r[eq + 1..].char_indices();
            assert_eq!(chars.next().map(|c| c.1), Some('"'), "{line}");
            let mut value = String::new();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => malformed(line),
                    },
                    Some((i, '"')) => break eq + 1 + i + 1,
                    Some((_, c)) => value.push(c),
                    None => malformed(line),
                }
            };
            assert!(labels.insert(key, value).is_none(), "label twice: {line}");
            r = &r[end..];
            r = r.strip_prefix(',').unwrap_or(r);
        }
        rest = r;
    }
    let mut fields = rest.split_whitespace();
    let value = match fields.next().unwrap_or_else(|| malformed(line)) {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse::<f64>().unwrap_or_else(|_| malformed(line)),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

fn scrape(s: &Server) -> Exposition {
    let r = request(s.addr, "GET", "/metrics", &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        r.header("content-type")
    );
    Exposition::parse(&r.body)
}

fn deflate(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Size of the open data files (events and rejected) under `data`, excluding the id log.
fn open_data_bytes(data: &std::path::Path) -> u64 {
    files(data)
        .iter()
        .filter(|f| name(f).ends_with(".ndjson.open"))
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum()
}

#[test]
fn metrics_count_exactly_what_was_sent() {
    let dir = TempDir::new("metrics");
    let s = Server::start(dir.path(), &[]);
    let auth = basic(KEY);
    let json = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let with = |enc: &'static str| {
        [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("content-encoding", enc),
        ]
    };

    // 1. Identity, 3 new events, the device clock 120 s behind.
    let sent_at = maidian_protocol::time::format_rfc3339_millis(now_ms() - 120_000);
    let ids1 = ids(1, 3);
    let events: Vec<String> = ids1.iter().map(|i| event(i)).collect();
    let b1 = format!(r#"{{"batch":[{}],"sentAt":"{sent_at}"}}"#, events.join(","));
    let r = s.post("/v1/batch", &json, b1.as_bytes());
    assert_eq!((r.status, r.accepted()), (200, 3), "{}", r.body);
    // 2. and 3. Gzip, 4 new events, then the same body again: 4 duplicates.
    let raw2 = batch(&ids(2, 4));
    let b2 = gzip(raw2.as_bytes());
    let r = s.post("/v1/batch", &with("gzip"), &b2);
    assert_eq!((r.status, r.accepted()), (200, 4), "{}", r.body);
    let r = s.post("/v1/batch", &with("gzip"), &b2);
    assert_eq!((r.status, r.duplicates()), (200, 4), "{}", r.body);
    // 4. Identity, one valid event and one without messageId.
    let b4 = format!(
        r#"{{"batch":[{},{{"type":"track","event":"x","anonymousId":"a"}}]}}"#,
        event(&ids(4, 1)[0])
    );
    let r = s.post("/v1/batch", &json, b4.as_bytes());
    assert_eq!((r.status, r.accepted()), (200, 1), "{}", r.body);
    assert_eq!(r.json()["rejected"][0]["reason"], "missing_message_id");
    // 5. Deflate, one new event.
    let raw5 = batch(&ids(5, 1));
    let b5 = deflate(raw5.as_bytes());
    let r = s.post("/v1/batch", &with("deflate"), &b5);
    assert_eq!((r.status, r.accepted()), (200, 1), "{}", r.body);
    // 6. No write key; 7. unknown path; 8. a body that is not JSON.
    let r = s.post("/v1/batch", &[], b"{}");
    assert_eq!(r.status, 401);
    assert_eq!(request(s.addr, "GET", "/nope", &[], b"").status, 404);
    let b8 = b"this is not json";
    let r = s.post("/v1/batch", &json, b8);
    assert_eq!((r.status, r.error().as_str()), (400, "malformed_body"));

    let m = scrape(&s);
    // Events and requests.
    assert_eq!(m.get("maidian_events_accepted_total", &[]), 9.0);
    assert_eq!(m.get("maidian_events_duplicate_total", &[]), 4.0);
    assert_eq!(
        m.get(
            "maidian_events_rejected_total",
            &[("reason", "missing_message_id")]
        ),
        1.0
    );
    assert_eq!(m.sum("maidian_events_rejected_total", &[]), 1.0);
    assert_eq!(m.get("maidian_requests_ok_total", &[]), 5.0);
    let refused = |error: &str, status: &str| {
        m.get(
            "maidian_requests_refused_total",
            &[("error", error), ("status", status)],
        )
    };
    assert_eq!(refused("missing_write_key", "401"), 1.0);
    assert_eq!(refused("not_found", "404"), 1.0);
    assert_eq!(refused("malformed_body", "400"), 1.0);
    assert_eq!(m.sum("maidian_requests_refused_total", &[]), 3.0);

    // Bytes in (as sent) and inflated, by encoding.
    let body = |e: &str| m.get("maidian_request_body_bytes_total", &[("encoding", e)]);
    let inflated = |e: &str| m.get("maidian_request_inflated_bytes_total", &[("encoding", e)]);
    let identity_sent = (b1.len() + b4.len() + b8.len()) as f64;
    assert_eq!(body("identity"), identity_sent);
    assert_eq!(inflated("identity"), identity_sent);
    assert_eq!(body("gzip"), 2.0 * b2.len() as f64);
    assert_eq!(inflated("gzip"), 2.0 * raw2.len() as f64);
    assert_eq!(body("deflate"), b5.len() as f64);
    assert_eq!(inflated("deflate"), raw5.len() as f64);
    let (n, sum) = m.histogram("maidian_inflate_ratio", &[]);
    assert_eq!(n, 3.0, "gzip twice and deflate once");
    let want = 2.0 * raw2.len() as f64 / b2.len() as f64 + raw5.len() as f64 / b5.len() as f64;
    assert!((sum - want).abs() < 1e-6, "{sum} != {want}");

    // Events per batch: the 5 bodies that could be split (not the malformed one).
    let (n, sum) = m.histogram("maidian_batch_events", &[]);
    assert_eq!((n, sum), (5.0, 14.0));
    assert_eq!(m.bucket("maidian_batch_events", &[], "1.0"), 1.0);
    assert_eq!(m.bucket("maidian_batch_events", &[], "2.0"), 2.0);
    assert_eq!(m.bucket("maidian_batch_events", &[], "5.0"), 5.0);

    // Clock skew: only the first request carried sentAt, 120 s (plus transit) behind.
    let (n, sum) = m.histogram("maidian_clock_skew_seconds", &[]);
    assert_eq!(n, 1.0);
    assert!((120.0..130.0).contains(&sum), "{sum}");
    assert_eq!(m.bucket("maidian_clock_skew_seconds", &[], "60.0"), 0.0);
    assert_eq!(m.bucket("maidian_clock_skew_seconds", &[], "300.0"), 1.0);

    // Latency by endpoint and status class; this scrape is counted after it is rendered.
    let latency = |ep: &str, class: &str| {
        m.histogram(
            "maidian_request_duration_seconds",
            &[("endpoint", ep), ("status", class)],
        )
    };
    let (n, sum) = latency("ingest", "2xx");
    assert_eq!(n, 5.0);
    assert!(sum > 0.0);
    assert_eq!(latency("ingest", "4xx").0, 2.0);
    assert_eq!(latency("other", "4xx").0, 1.0);
    assert_eq!(latency("metrics", "2xx").0, 0.0);
    assert_eq!(
        m.sum("maidian_request_duration_seconds_count", &[]),
        8.0,
        "every request once"
    );

    // The writer: group commits synced every file they touched, each sync timed.
    let fsyncs = m.get("maidian_fsyncs_total", &[]);
    let (n, _) = m.histogram("maidian_fsync_duration_seconds", &[]);
    assert!(fsyncs >= 1.0);
    assert_eq!(n, fsyncs);
    assert_eq!(
        m.get("maidian_bytes_written_total", &[]),
        open_data_bytes(dir.path()) as f64
    );
    let open = |stream: &str| {
        m.get(
            "maidian_open_files",
            &[("project", "demo"), ("stream", stream)],
        )
    };
    assert_eq!((open("events"), open("rejected")), (1.0, 1.0));

    // Gauges at rest.
    assert_eq!(m.get("maidian_writer_queue_depth", &[]), 0.0);
    assert_eq!(m.get("maidian_requests_in_flight", &[]), 0.0);
    assert_eq!(
        m.get("maidian_dedup_compact_ids", &[("project", "demo")])
            + m.get("maidian_dedup_text_ids", &[("project", "demo")]),
        9.0
    );
    let free = m.get("maidian_data_dir_free_bytes", &[]);
    let size = m.get("maidian_data_dir_size_bytes", &[]);
    assert!(free > 0.0 && size >= free, "{free} {size}");
    assert_eq!(m.get("maidian_draining", &[]), 0.0);

    // The next scrape sees the previous one.
    let m = scrape(&s);
    assert_eq!(
        m.histogram(
            "maidian_request_duration_seconds",
            &[("endpoint", "metrics"), ("status", "2xx")]
        )
        .0,
        1.0
    );
    s.stop();
}

#[test]
fn queue_depth_in_flight_and_latency_follow_a_stalled_writer() {
    let dir = TempDir::new("metrics-stall");
    let (s, fault) = Server::start_with_fault(&dir, &["--queue-depth", "256"]);
    // Every group commit stalls 700 ms; senders keep sending until the queue shows up in the
    // metrics (one wave could be swallowed whole by a single group).
    std::fs::write(&fault, "stall:700").unwrap();
    let addr = s.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let n = 1000 * (i + 1) + statuses.len() as u64;
                    let r = request(
                        addr,
                        "POST",
                        "/v1/batch",
                        &[("x-write-key", KEY)],
                        batch(&ids(n, 1)).as_bytes(),
                    );
                    statuses.push(r.status);
                }
                statuses
            })
        })
        .collect();
    wait_until(
        "queued requests in the metrics",
        Duration::from_secs(30),
        || {
            let m = scrape(&s);
            m.get("maidian_writer_queue_depth", &[]) >= 1.0
                && m.get("maidian_requests_in_flight", &[]) >= 1.0
        },
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    std::fs::remove_file(&fault).unwrap();
    let mut sent = 0;
    for t in senders {
        for status in t.join().unwrap() {
            assert_eq!(status, 200);
            sent += 1;
        }
    }

    let m = scrape(&s);
    assert_eq!(m.get("maidian_writer_queue_depth", &[]), 0.0);
    assert_eq!(m.get("maidian_requests_in_flight", &[]), 0.0);
    assert_eq!(m.get("maidian_requests_ok_total", &[]), sent as f64);
    assert_eq!(m.get("maidian_events_accepted_total", &[]), sent as f64);
    let ingest = [("endpoint", "ingest"), ("status", "2xx")];
    let (n, sum) = m.histogram("maidian_request_duration_seconds", &ingest);
    assert_eq!(n, sent as f64);
    // Requests of a stalled group waited at least the stall: the latency is measured.
    assert!(
        m.bucket("maidian_request_duration_seconds", &ingest, "0.5") < n,
        "no request slower than 0.5 s"
    );
    assert!(sum >= 0.7, "{sum}");
    let (fsyncs, _) = m.histogram("maidian_fsync_duration_seconds", &[]);
    assert_eq!(fsyncs, m.get("maidian_fsyncs_total", &[]));
    s.stop();
}

#[test]
fn dedup_and_open_files_are_per_project() {
    let dir = TempDir::new("metrics-projects");
    let s = Server::start(
        dir.path(),
        &["--project", "a:key-a", "--project", "b:key-b"],
    );
    for (key, n, count) in [("key-a", 1, 2), ("key-b", 2, 3)] {
        let r = s.post(
            "/v1/batch",
            &[("x-write-key", key), ("content-type", "application/json")],
            batch(&ids(n, count)).as_bytes(),
        );
        assert_eq!((r.status, r.accepted()), (200, count as u64), "{}", r.body);
    }
    let m = scrape(&s);
    for (project, count) in [("a", 2.0), ("b", 3.0)] {
        let p = [("project", project)];
        assert_eq!(m.get("maidian_dedup_compact_ids", &p), count);
        assert_eq!(m.get("maidian_dedup_text_ids", &p), 0.0);
        assert_eq!(
            m.get(
                "maidian_open_files",
                &[("project", project), ("stream", "events")]
            ),
            1.0
        );
    }
    s.stop();
}

#[test]
fn open_files_gauge_falls_when_files_are_sealed() {
    let dir = TempDir::new("metrics-seal");
    let s = Server::start(dir.path(), &["--rotate-idle-ms", "200"]);
    let r = s.post_json("/v1/batch", &batch(&ids(1, 2)));
    assert_eq!(r.status, 200, "{}", r.body);
    wait_until(
        "the idle file to be sealed",
        Duration::from_secs(20),
        || scrape(&s).get("maidian_files_sealed_total", &[]) == 1.0,
    );
    let m = scrape(&s);
    assert_eq!(
        m.get(
            "maidian_open_files",
            &[("project", "demo"), ("stream", "events")]
        ),
        0.0
    );
    assert!(
        !files(dir.path())
            .iter()
            .any(|f| name(f).ends_with(".ndjson.open"))
    );
    s.stop();
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = TempDir::new("json-logs");
    let s = Server::start_logged(
        dir.path(),
        &[],
        &[("MAIDIAN_LOG_FORMAT", "json"), ("RUST_LOG", "info")],
    );
    let addr = s.addr.to_string();
    let parsed = |lines: &[String]| -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
            .collect()
    };
    // stderr is read by another thread: wait for the line rather than race it.
    wait_until("the `listening` log line", Duration::from_secs(10), || {
        s.stderr_lines().iter().any(|l| l.contains("\"listening\""))
    });
    let listening = parsed(&s.stderr_lines())
        .into_iter()
        .find(|v| v["message"] == "listening")
        .expect("a `listening` line");
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["target"], "maidian_collector");
    assert_eq!(listening["addr"], addr.as_str());
    assert_eq!(listening["collector_id"], "t1");
    let ts = listening["timestamp"].as_str().expect("timestamp");
    assert!(
        maidian_protocol::time::parse_rfc3339(ts).is_some(),
        "timestamp {ts:?} is RFC 3339"
    );

    // Every line up to and including shutdown is JSON.
    s.sigterm();
    let lines = s.stderr.clone().unwrap();
    s.wait_exit();
    wait_until("the `stopped` line", Duration::from_secs(10), || {
        lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("\"stopped\""))
    });
    let all = parsed(&lines.lock().unwrap());
    for v in &all {
        for field in ["timestamp", "level", "target", "message"] {
            assert!(v[field].is_string(), "{field} missing in {v}");
        }
    }

    // --print-config shows the format (from the environment here).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_maidian-collector"))
        .arg("--print-config")
        .env("MAIDIAN_LOG_FORMAT", "json")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("log_format = \"json\""), "{text}");
    // The deployment example sets it in the file (and stays a valid configuration).
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/deploy/collector.toml"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_maidian-collector"))
        .args(["--config", example, "--print-config"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("log_format = \"json\""), "{text}");
}
