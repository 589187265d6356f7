//! The ingest pipeline for one decoded body: split (protocol) -> validate + enrich (protocol)
//! -> dedup reservation -> durable append (sink) -> dedup commit -> response.
//!
//! Nothing is acknowledged before the sink reports the bytes stored per the durability
//! policy; ids are remembered only after that. An id reserved by a concurrent request is
//! waited for: if that request stores it, this one reports a duplicate; if its write fails,
//! this one stores the event itself (next round). Rejected events go to the rejected stream in
//! the same durable append as the accepted ones.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use maidian_protocol::body::{Hint, Item};
use maidian_protocol::time::write_rfc3339_millis;
use maidian_protocol::validate::validate_items;
use maidian_protocol::{
    BatchResponse, Checker, Enrichment, Limits, LineWriter, MessageType, Rejected, RequestError,
    split_body,
};
use serde::Serialize;
use tokio::sync::{Notify, oneshot};

use crate::dedup::{DedupSet, OwnedKey, Status, classify};
use crate::idlog;
use crate::metrics::{DedupGauges, Metrics};
use crate::sink::{Append, SinkHandle, SubmitError, WriteError};

/// A project's runtime state.
#[derive(Debug)]
pub struct ProjectState {
    /// Name (`projectId` in stored events, directory name).
    pub name: Arc<str>,
    /// Dedup set.
    pub dedup: Mutex<DedupSet>,
    /// Woken whenever a reservation of this project ends.
    pub resolved: Notify,
    /// The project's dedup-size gauges, resolved on first use.
    pub dedup_gauges: OnceLock<DedupGauges>,
}

impl ProjectState {
    /// A project with an empty dedup set sized for `capacity` ids (0: grows from empty).
    pub fn new(name: &str, window_ms: i64, capacity: usize) -> Self {
        Self {
            name: name.into(),
            dedup: Mutex::new(DedupSet::with_capacity(window_ms, capacity)),
            resolved: Notify::new(),
            dedup_gauges: OnceLock::new(),
        }
    }

    fn dedup(&self) -> std::sync::MutexGuard<'_, DedupSet> {
        // A panic while holding the lock cannot leave the set half-updated in a way that
        // matters more than losing the process, so a poisoned lock is still used.
        self.dedup.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What the HTTP layer knows about a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// When it arrived.
    pub received_at: i64,
    /// Client address.
    pub ip: Option<&'a str>,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// Type implied by a single-message endpoint.
    pub implied_type: Option<MessageType>,
    /// Body-form hint from `Content-Type`.
    pub hint: Hint,
}

/// Why a request failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The code (and so the status).
    pub error: RequestError,
    /// Explanation.
    pub message: String,
}

impl Refusal {
    fn new(error: RequestError, message: impl Into<String>) -> Self {
        Self {
            error,
            message: message.into(),
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self::new(RequestError::Unavailable, message)
    }
}

/// Shared, immutable pipeline settings.
#[derive(Debug)]
pub struct Pipeline {
    /// Protocol limits.
    pub limits: Limits,
    /// Instance id.
    pub collector_id: String,
    /// Raw-event truncation for the rejected stream.
    pub rejected_raw_max_bytes: usize,
    /// The writer.
    pub sink: SinkHandle,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// How long to wait for a concurrent request holding the same ids.
    pub contested_wait: Duration,
    tickets: AtomicU64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectedLine<'a> {
    received_at: &'a str,
    project_id: &'a str,
    collector_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_user_agent: Option<&'a str>,
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    reason: &'a str,
    message: &'a str,
    raw: &'a str,
    raw_bytes: usize,
    raw_truncated: bool,
}

fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A valid event waiting for its dedup decision.
struct Candidate {
    key: OwnedKey,
    /// Byte range of its stored line in the request's line buffer.
    span: std::ops::Range<usize>,
}

impl Pipeline {
    /// Settings for [`Pipeline::ingest`].
    pub fn new(
        limits: Limits,
        collector_id: String,
        rejected_raw_max_bytes: usize,
        sink: SinkHandle,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            limits,
            collector_id,
            rejected_raw_max_bytes,
            sink,
            metrics,
            contested_wait: Duration::from_secs(5),
            tickets: AtomicU64::new(1),
        }
    }

    /// Runs the pipeline on a decoded body.
    pub async fn ingest(
        &self,
        project: &ProjectState,
        meta: RequestMeta<'_>,
        body: &[u8],
    ) -> Result<BatchResponse, Refusal> {
        let mut parsed = split_body(body, meta.hint, &self.limits)
            .map_err(|e| Refusal::new(e, body_message(e, &self.limits)))?;
        self.metrics
            .batch_split(parsed.items.len(), meta.received_at, parsed.sent_at);
        let checker = Checker {
            limits: &self.limits,
            received_at: meta.received_at,
            sent_at: parsed.sent_at,
            implied_type: meta.implied_type,
        };
        let results = validate_items(&mut parsed, &checker);
        let enrichment = Enrichment {
            received_at: meta.received_at,
            project_id: &project.name,
            ip: meta.ip,
            user_agent: meta.user_agent,
            collector_id: &self.collector_id,
        };
        let mut line_writer = LineWriter::for_body(&enrichment, body);
        let mut lines = String::with_capacity(body.len() + results.len() * 256);
        let mut candidates = Vec::with_capacity(results.len());
        let mut rejected = Vec::new();
        let mut rejected_lines = Vec::new();
        let mut received_text = String::with_capacity(24);
        write_rfc3339_millis(meta.received_at, &mut received_text);
        for (index, result) in results.into_iter().enumerate() {
            match result {
                Ok(event) => {
                    let start = lines.len();
                    line_writer.write(&event, &mut lines);
                    candidates.push(Candidate {
                        key: classify(&event.message_id).to_owned_key(),
                        span: start..lines.len(),
                    });
                }
                Err(rej) => {
                    self.metrics.rejected(rej.reason);
                    let raw = match parsed.items.get(index) {
                        Some(Item::Json(t)) => std::borrow::Cow::Borrowed(*t),
                        Some(Item::Unparseable(b)) => String::from_utf8_lossy(b),
                        None => std::borrow::Cow::Borrowed(""),
                    };
                    let kept = truncate_at_char(&raw, self.rejected_raw_max_bytes);
                    let line = RejectedLine {
                        received_at: &received_text,
                        project_id: &project.name,
                        collector_id: &self.collector_id,
                        request_ip: meta.ip,
                        request_user_agent: meta.user_agent,
                        index,
                        message_id: rej.message_id.as_deref(),
                        reason: rej.reason.as_str(),
                        message: &rej.message,
                        raw: kept,
                        raw_bytes: raw.len(),
                        raw_truncated: kept.len() < raw.len(),
                    };
                    // Serializing a struct of strings and integers cannot fail.
                    if serde_json::to_writer(&mut rejected_lines, &line).is_ok() {
                        rejected_lines.push(b'\n');
                    }
                    rejected.push(Rejected {
                        index,
                        message_id: rej.message_id,
                        reason: rej.reason,
                        message: rej.message,
                    });
                }
            }
        }
        drop(parsed);
        let outcome = self
            .store(
                project,
                meta.received_at,
                lines,
                candidates,
                rejected_lines,
                rejected.len() as u64,
            )
            .await?;
        self.metrics.events_accepted.inc_by(outcome.0 as u64);
        self.metrics.events_duplicate.inc_by(outcome.1 as u64);
        Ok(BatchResponse {
            accepted: outcome.0,
            duplicates: outcome.1,
            rejected,
        })
    }

    /// Dedup rounds and durable appends; returns (accepted, duplicates).
    async fn store(
        &self,
        project: &ProjectState,
        received_at: i64,
        mut lines: String,
        mut pending: Vec<Candidate>,
        mut rejected_lines: Vec<u8>,
        rejected_count: u64,
    ) -> Result<(usize, usize), Refusal> {
        let ticket = self.tickets.fetch_add(1, Relaxed);
        let total = pending.len();
        let (mut accepted, mut duplicates) = (0, 0);
        let deadline = tokio::time::Instant::now() + self.contested_wait;
        let mut first_round = true;
        loop {
            let resolved = project.resolved.notified();
            tokio::pin!(resolved);
            resolved.as_mut().enable();
            let mut to_write = Vec::new();
            let mut contested = Vec::new();
            {
                let mut d = project.dedup();
                d.advance(received_at);
                std::hint::black_box(d.warm(pending.iter().map(|c| c.key.as_key())));
                for c in pending {
                    match d.claim(c.key.as_key(), ticket) {
                        Status::Stored | Status::Mine => duplicates += 1,
                        Status::InFlight => contested.push(c),
                        // Reserved for this request by the claim.
                        Status::New => to_write.push(c),
                    }
                }
            }
            if !to_write.is_empty() || (first_round && rejected_count > 0) {
                let whole = first_round && to_write.len() == total;
                let events = if whole {
                    // Every event is new (the common case): hand the buffer over, no copy.
                    std::mem::take(&mut lines).into_bytes()
                } else {
                    let mut v = Vec::new();
                    for c in &to_write {
                        v.extend_from_slice(&lines.as_bytes()[c.span.clone()]);
                    }
                    v
                };
                let mut ids = Vec::with_capacity(to_write.len() * 17);
                for c in &to_write {
                    idlog::encode(c.key.as_key(), &mut ids);
                }
                let (tx, rx) = oneshot::channel();
                let append = Append {
                    project: project.name.clone(),
                    received_at,
                    events,
                    event_count: to_write.len() as u64,
                    ids,
                    rejected: std::mem::take(&mut rejected_lines),
                    rejected_count: if first_round { rejected_count } else { 0 },
                    reply: tx,
                };
                let result = match self.sink.submit(append) {
                    Ok(()) => {
                        rx.await
                            .unwrap_or(Err(WriteError::ShuttingDown))
                            .map_err(|e| match e {
                                WriteError::Storage(m) => {
                                    Refusal::unavailable(format!("storage unavailable: {m}"))
                                }
                                WriteError::ShuttingDown => {
                                    Refusal::unavailable("the collector is shutting down")
                                }
                            })
                    }
                    Err(SubmitError::Full) => {
                        self.metrics.queue_full.inc();
                        Err(Refusal::unavailable("the write queue is full"))
                    }
                    Err(SubmitError::Closed) => {
                        Err(Refusal::unavailable("the collector is shutting down"))
                    }
                };
                {
                    let mut d = project.dedup();
                    if result.is_ok() {
                        // The claim's warm-up is long gone from the caches (other requests ran
                        // while this one waited for its group commit): overlap the commit's
                        // table misses again instead of taking them one insert at a time.
                        std::hint::black_box(d.warm(to_write.iter().map(|c| c.key.as_key())));
                    }
                    for c in &to_write {
                        match result {
                            Ok(()) => d.commit(c.key.as_key(), ticket, received_at),
                            Err(_) => d.release(c.key.as_key(), ticket),
                        }
                    }
                    let s = d.stats();
                    project
                        .dedup_gauges
                        .get_or_init(|| self.metrics.dedup_gauges(&project.name))
                        .set(s.compact_ids, s.text_ids);
                }
                project.resolved.notify_waiters();
                result?;
                accepted += to_write.len();
            }
            first_round = false;
            if contested.is_empty() {
                return Ok((accepted, duplicates));
            }
            pending = contested;
            if tokio::time::timeout_at(deadline, resolved).await.is_err() {
                return Err(Refusal::unavailable(
                    "events of this batch are being stored by a concurrent request; retry",
                ));
            }
        }
    }
}

fn body_message(e: RequestError, l: &Limits) -> String {
    match e {
        RequestError::TooManyEvents => format!(
            "more than {} events in one request; split the batch",
            l.max_events_per_batch
        ),
        RequestError::EmptyBatch => "the body holds no events".into(),
        RequestError::InvalidSentAt => "`sentAt` must be an RFC 3339 date-time".into(),
        _ => "the body is not a batch object, a JSON array or NDJSON".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_at_char("héllo", 2), "h");
        assert_eq!(truncate_at_char("héllo", 3), "hé");
        assert_eq!(truncate_at_char("abc", 10), "abc");
    }
}
