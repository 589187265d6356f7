//! The stored form of an accepted event: one flat JSON object per line (NDJSON), the event's
//! own fields as sent plus the collector's enrichment. This is the contract with downstream
//! loaders (ClickHouse `JSONEachRow`, DuckDB `read_json`, Spark, Vector).
//!
//! Server fields come first and win: a client-sent field with one of the [`SERVER_FIELDS`]
//! names is replaced, never duplicated. `timestamp` is the skew-corrected event time and
//! `originalTimestamp` the device clock's (Segment's convention).

use std::fmt::Write as _;

use crate::time::{UnixMillis, write_rfc3339_millis};
use crate::validate::Event;

/// Fields the collector writes; client values under these names are dropped.
pub const SERVER_FIELDS: [&str; 9] = [
    "receivedAt",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "clockSkewMs",
    "projectId",
    "requestIp",
    "requestUserAgent",
    "collectorId",
];

/// What the collector adds to every event of a request.
#[derive(Debug, Clone, Copy)]
pub struct Enrichment<'a> {
    /// When the request arrived (collector clock).
    pub received_at: UnixMillis,
    /// The project the write key belongs to.
    pub project_id: &'a str,
    /// Client address (after trusted-proxy resolution).
    pub ip: Option<&'a str>,
    /// `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// The collector instance that stored the event.
    pub collector_id: &'a str,
}

fn push_json_str(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // serde_json's escaping; writing into a String cannot fail.
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

fn push_time(out: &mut String, key: &str, ms: UnixMillis) {
    out.push('"');
    out.push_str(key);
    out.push_str("\":\"");
    write_rfc3339_millis(ms, out);
    out.push_str("\",");
}

/// Appends `event` as one stored line (terminated by `\n`) to `out`.
pub fn write_line(event: &Event<'_>, enrichment: &Enrichment<'_>, out: &mut String) {
    out.push('{');
    push_time(out, "receivedAt", enrichment.received_at);
    push_time(out, "timestamp", event.corrected.timestamp);
    if let Some(t) = event.original_timestamp {
        push_time(out, "originalTimestamp", t);
    }
    if let Some(t) = event.sent_at {
        push_time(out, "sentAt", t);
    }
    if let Some(skew) = event.corrected.skew_ms {
        let _ = write!(out, "\"clockSkewMs\":{skew},");
    }
    out.push_str("\"projectId\":");
    push_json_str(out, enrichment.project_id);
    if let Some(ip) = enrichment.ip {
        out.push_str(",\"requestIp\":");
        push_json_str(out, ip);
    }
    if let Some(ua) = enrichment.user_agent {
        out.push_str(",\"requestUserAgent\":");
        push_json_str(out, ua);
    }
    out.push_str(",\"collectorId\":");
    push_json_str(out, enrichment.collector_id);
    for (key, raw) in &event.fields {
        if SERVER_FIELDS.contains(&key.as_ref()) {
            continue;
        }
        out.push(',');
        push_json_str(out, key);
        out.push(':');
        let text = *raw;
        // Newlines can only be insignificant whitespace in valid JSON (they are escaped
        // inside strings), so dropping them keeps the value and the one-line framing.
        if text.contains(['\n', '\r']) {
            out.extend(text.chars().filter(|c| !matches!(c, '\n' | '\r')));
        } else {
            out.push_str(text);
        }
    }
    out.push_str("}\n");
}
