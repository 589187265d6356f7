//! The upload scheduler: the single place that decides when a request leaves.
//!
//! Every trigger — enough events waiting (`flushAt`), the oldest waiting too long
//! (`flushIntervalMs`), app hide, an explicit flush, app show / launch with stored events, a
//! retry falling due — goes through [`Scheduler::due`], and that first checks the one gate:
//! nothing is sent before `not_before`. A failure sets `not_before` with exponential backoff
//! (doubling from `retryBaseMs`, capped at `retryMaxMs`, "equal jitter": half fixed, half random
//! so devices spread out but never retry immediately) and a `Retry-After` pushes it further (up to
//! `maxRetryAfterMs`). New events therefore can never bypass backoff — the failure mode of
//! today's SDKs that retry on every new event on a dead network.
//!
//! At most one request is in flight. What the response means comes from
//! [`maidian_protocol::disposition`]: 2xx delivered, 413 split (the next batch takes half as
//! many events; one event alone that still gets 413 is dropped), 408/429/5xx/no response retry,
//! other 4xx drop. A request with no outcome after `requestTimeoutMs` counts as failed.

use maidian_protocol::{Disposition, disposition};

/// The timing knobs, copied from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Send when this many events wait.
    pub flush_at: usize,
    /// Send when the oldest waiting event is this old (ms).
    pub flush_interval_ms: i64,
    /// Most events per request.
    pub max_batch_events: usize,
    /// First retry delay (ms).
    pub retry_base_ms: i64,
    /// Longest retry delay (ms).
    pub retry_max_ms: i64,
    /// Longest Retry-After honoured (ms).
    pub max_retry_after_ms: i64,
    /// No outcome after this long counts as a failure (ms).
    pub request_timeout_ms: i64,
}

/// The request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// Its id, echoed by the host in `sent`.
    pub batch_id: u32,
    /// Events in it.
    pub events: usize,
    /// When it was handed to the host.
    pub started_at: i64,
}

/// What to do with the in-flight events after an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Delivered: remove them.
    Delivered,
    /// Permanently refused (a 4xx, or 413 for a single event): remove them and count.
    Dropped,
    /// Try again later (backoff set; for a 413 the next batch is smaller).
    Retry,
}

/// Scheduler state.
#[derive(Debug)]
pub struct Scheduler {
    policy: Policy,
    in_flight: Option<InFlight>,
    next_batch_id: u32,
    failures: u32,
    not_before: i64,
    batch_limit: usize,
    flush_requested: bool,
}

/// The delay before retry number `failures` (1-based): `d/2 + unit·d/2` with
/// `d = min(cap, base·2^(failures-1))`, `unit` uniform in [0, 1).
pub fn backoff_ms(failures: u32, base: i64, cap: i64, unit: f64) -> i64 {
    let exp = failures.saturating_sub(1).min(30);
    let d = base.saturating_mul(1i64 << exp).min(cap);
    d / 2 + (unit * (d / 2) as f64) as i64
}

impl Scheduler {
    /// A scheduler with nothing in flight and no backoff.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            in_flight: None,
            next_batch_id: 1,
            failures: 0,
            not_before: i64::MIN,
            batch_limit: policy.max_batch_events,
            flush_requested: false,
        }
    }

    /// The request in flight, if any.
    pub fn in_flight(&self) -> Option<InFlight> {
        self.in_flight
    }

    /// Consecutive failed attempts.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Nothing is sent before this instant.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// Most events the next batch may take (halved after a 413).
    pub fn batch_limit(&self) -> usize {
        self.batch_limit
    }

    /// Ask for everything waiting to be sent as soon as the gate allows (hide, show, flush).
    pub fn request_flush(&mut self) {
        self.flush_requested = true;
    }

    /// The network came back (the host saw `none` → connected): the exponential backoff is
    /// cleared, a `Retry-After` is still honoured. Not used for new events.
    pub fn network_regained(&mut self, now: i64, retry_after_until: Option<i64>) {
        if self.failures > 0 {
            self.not_before = retry_after_until.unwrap_or(now).max(now);
            self.flush_requested = true;
        }
    }

    /// Whether a request should leave now, given `queued` waiting events, the oldest appended
    /// at `oldest_at`.
    pub fn due(&mut self, now: i64, queued: usize, oldest_at: Option<i64>) -> bool {
        if queued == 0 {
            self.flush_requested = false;
            return false;
        }
        if self.in_flight.is_some() || now < self.not_before {
            return false;
        }
        self.failures > 0
            || self.flush_requested
            || queued >= self.policy.flush_at
            || oldest_at.is_some_and(|t| now >= t.saturating_add(self.policy.flush_interval_ms))
    }

    /// When the host should call `tick` next for the upload (None: nothing pending).
    pub fn next_wake(&self, queued: usize, oldest_at: Option<i64>) -> Option<i64> {
        if let Some(f) = self.in_flight {
            return Some(f.started_at.saturating_add(self.policy.request_timeout_ms));
        }
        if queued == 0 {
            return None;
        }
        let trigger = if self.failures > 0 || self.flush_requested || queued >= self.policy.flush_at
        {
            i64::MIN
        } else {
            oldest_at?.saturating_add(self.policy.flush_interval_ms)
        };
        Some(trigger.max(self.not_before))
    }

    /// Records that a batch of `events` was handed to the host; returns its id.
    pub fn start(&mut self, now: i64, events: usize) -> u32 {
        let id = self.next_batch_id;
        self.next_batch_id = self.next_batch_id.wrapping_add(1).max(1);
        self.in_flight = Some(InFlight {
            batch_id: id,
            events,
            started_at: now,
        });
        id
    }

    /// Whether the request in flight has had no outcome for too long.
    pub fn timed_out(&self, now: i64) -> bool {
        self.in_flight
            .is_some_and(|f| now >= f.started_at.saturating_add(self.policy.request_timeout_ms))
    }

    /// Applies the outcome of the in-flight request: HTTP `status` (0 = no response) and the
    /// `Retry-After` in ms if any. `unit` is a uniform random number for the jitter. Returns
    /// `None` when `batch_id` is not the request in flight (a late or duplicate outcome).
    pub fn outcome(
        &mut self,
        now: i64,
        batch_id: u32,
        status: u16,
        retry_after_ms: Option<i64>,
        unit: f64,
    ) -> Option<Verdict> {
        let f = self.in_flight.filter(|f| f.batch_id == batch_id)?;
        self.in_flight = None;
        let p = self.policy;
        Some(match disposition(status) {
            Disposition::Delivered => {
                self.failures = 0;
                self.not_before = i64::MIN;
                self.batch_limit = (self.batch_limit * 2).min(p.max_batch_events);
                Verdict::Delivered
            }
            Disposition::Drop => {
                self.failures = 0;
                Verdict::Dropped
            }
            Disposition::Split if f.events <= 1 => Verdict::Dropped,
            Disposition::Split => {
                // Not a failure of the network: resend the halves right away.
                self.batch_limit = (f.events / 2).max(1);
                self.flush_requested = true;
                Verdict::Retry
            }
            Disposition::Retry => {
                self.failures = self.failures.saturating_add(1);
                let mut until =
                    now + backoff_ms(self.failures, p.retry_base_ms, p.retry_max_ms, unit);
                if let Some(ra) = retry_after_ms {
                    until = until.max(now + ra.clamp(0, p.max_retry_after_ms));
                }
                self.not_before = until;
                Verdict::Retry
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            flush_at: 10,
            flush_interval_ms: 5_000,
            max_batch_events: 100,
            retry_base_ms: 1_000,
            retry_max_ms: 60_000,
            max_retry_after_ms: 600_000,
            request_timeout_ms: 30_000,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        assert_eq!(backoff_ms(1, 1000, 60_000, 0.0), 500);
        assert_eq!(backoff_ms(1, 1000, 60_000, 0.999_999), 999);
        assert_eq!(backoff_ms(3, 1000, 60_000, 0.0), 2000);
        assert_eq!(backoff_ms(30, 1000, 60_000, 0.5), 45_000);
        assert_eq!(backoff_ms(u32::MAX, 1000, 60_000, 0.0), 30_000);
    }

    #[test]
    fn triggers() {
        let mut s = Scheduler::new(policy());
        assert!(!s.due(0, 0, None));
        assert!(!s.due(0, 3, Some(0)));
        assert_eq!(s.next_wake(3, Some(0)), Some(5_000));
        assert!(s.due(5_000, 3, Some(0)));
        assert!(s.due(1, 10, Some(0)));
        s.request_flush();
        assert!(s.due(1, 1, Some(0)));
        assert!(!s.due(1, 0, Some(0)));
        // Flush request is cleared by an empty queue.
        assert!(!s.due(1, 1, Some(0)));
    }

    #[test]
    fn one_in_flight_and_outcomes() {
        let mut s = Scheduler::new(policy());
        let id = s.start(0, 10);
        assert!(!s.due(0, 50, Some(0)));
        assert_eq!(s.next_wake(50, Some(0)), Some(30_000));
        assert_eq!(s.outcome(1, id + 1, 200, None, 0.0), None);
        assert_eq!(
            s.outcome(1, id, 503, Some(120_000), 0.0),
            Some(Verdict::Retry)
        );
        assert_eq!(s.not_before(), 120_001);
        assert!(!s.due(120_000, 500, Some(0)));
        assert!(s.due(120_001, 1, Some(120_000)));
        let id = s.start(120_001, 1);
        assert_eq!(
            s.outcome(120_002, id, 200, None, 0.0),
            Some(Verdict::Delivered)
        );
        assert_eq!(s.failures(), 0);
        assert!(s.due(120_002, 10, Some(120_002)));
    }

    #[test]
    fn split_halves_then_grows_back() {
        let mut s = Scheduler::new(policy());
        let id = s.start(0, 100);
        assert_eq!(s.outcome(0, id, 413, None, 0.0), Some(Verdict::Retry));
        assert_eq!(s.batch_limit(), 50);
        assert!(s.due(0, 1, Some(0)));
        let id = s.start(0, 1);
        assert_eq!(s.outcome(0, id, 413, None, 0.0), Some(Verdict::Dropped));
        let id = s.start(0, 50);
        assert_eq!(s.outcome(0, id, 200, None, 0.0), Some(Verdict::Delivered));
        assert_eq!(s.batch_limit(), 100);
    }

    #[test]
    fn permanent_4xx_drops_without_backoff() {
        let mut s = Scheduler::new(policy());
        let id = s.start(0, 5);
        assert_eq!(s.outcome(0, id, 400, None, 0.0), Some(Verdict::Dropped));
        assert_eq!(s.not_before(), i64::MIN);
        let id = s.start(0, 5);
        assert_eq!(s.outcome(0, id, 0, None, 0.0), Some(Verdict::Retry));
        assert_eq!(s.failures(), 1);
        s.network_regained(10, None);
        assert!(s.due(10, 1, Some(0)));
    }
}
