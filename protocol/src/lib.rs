//! # maidian-protocol
//!
//! The one truth for maidian's wire format, shared by the SDK (`maidian-sdk`) and the collector
//! (`maidian-collector`) so the two can never disagree. No I/O.
//!
//! - [`message`]: the owned message model the SDK sends (Segment HTTP Tracking API shape, with
//!   the mini-program context) and the reserved automatic event names.
//! - [`limits`]: every bound, as named defaults.
//! - [`body`]: request bodies (batch object, array, NDJSON) split into event texts.
//! - [`validate`]: per-event validation on borrowed data (no JSON tree), with reason codes.
//! - [`skew`]: the clock-skew correction rule.
//! - [`stored`]: the NDJSON line the collector writes for an accepted event.
//! - [`response`] and [`reason`]: the collector's answers, status codes and what a sender does
//!   after each.
//! - [`time`]: RFC 3339 parsing/formatting.
//!
//! docs/PROTOCOL.md documents all of it with examples.

pub mod body;
pub mod limits;
pub mod message;
pub mod reason;
pub mod response;
mod scan;
pub mod shape;
pub mod skew;
pub mod stored;
pub mod time;
pub mod validate;

pub use body::{Body, BodyFormat, Hint, Item, split_body};
pub use limits::Limits;
pub use message::{Batch, Context, Message, MessageType};
pub use reason::{Disposition, Reason, RequestError, disposition};
pub use response::{BatchResponse, ErrorBody, Rejected};
pub use stored::{Enrichment, LineWriter, write_line};
pub use validate::{Checker, Event, Rejection, validate_event, validate_items};

/// Current protocol version, sent by SDKs as `context.library` alongside their own version.
pub const PROTOCOL_VERSION: u32 = 1;
