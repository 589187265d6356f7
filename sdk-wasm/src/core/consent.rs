//! Consent: whether the SDK may store identifiers and send data.
//!
//! | state     | events                              | storage                    | network |
//! |-----------|-------------------------------------|----------------------------|---------|
//! | `Pending` | kept in a bounded memory buffer      | nothing written, no id     | nothing |
//! | `Granted` | persisted, then sent                 | queue + state              | yes     |
//! | `Denied`  | dropped; auto-tracking stops         | every SDK key purged       | nothing |
//!
//! `Pending` exists only when the app configured `consentRequired`. `grant()` creates the ids
//! and replays the buffer with the events' original timestamps and ids; `deny()` drops it and
//! purges storage. The decision itself (not an identifier) is persisted under
//! `{prefix}consent` so the next launch starts in the same state.

use std::collections::VecDeque;

use super::json_write::Event;

/// The consent state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Waiting for the user's decision.
    Pending,
    /// Tracking allowed.
    Granted,
    /// Tracking refused.
    Denied,
}

impl Consent {
    /// The persisted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Granted => "granted",
            Self::Denied => "denied",
        }
    }
    /// Parses the persisted form (`pending` is never persisted).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "granted" => Some(Self::Granted),
            "denied" => Some(Self::Denied),
            _ => None,
        }
    }
}

/// An event built while consent is pending: the event (written without a context until the
/// grant) and the JSON text of the context it was built with, as `json_write::context_text`
/// wrote it.
#[derive(Debug)]
pub struct PendingEvent {
    pub message: Event,
    pub context: String,
}

/// The bounded in-memory buffer of events built while consent is pending.
#[derive(Debug, Default)]
pub struct PendingBuffer {
    messages: VecDeque<PendingEvent>,
}

impl PendingBuffer {
    /// Adds `m`, dropping the oldest beyond `max`; returns how many were dropped.
    pub fn push(&mut self, m: PendingEvent, max: usize) -> u64 {
        self.messages.push_back(m);
        let mut dropped = 0;
        while self.messages.len() > max {
            self.messages.pop_front();
            dropped += 1;
        }
        dropped
    }
    /// Takes every buffered message, oldest first.
    pub fn drain(&mut self) -> Vec<PendingEvent> {
        Vec::from(std::mem::take(&mut self.messages))
    }
    /// Drops everything.
    pub fn clear(&mut self) {
        self.messages.clear();
    }
    /// Buffered messages.
    pub fn len(&self) -> usize {
        self.messages.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}
