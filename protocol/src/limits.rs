//! Every size, count and time bound of the wire format, as named, documented defaults.
//!
//! Both the SDK (which must never build what the collector will refuse) and the collector
//! (which enforces them) read these values; operators may override them in the collector's
//! configuration. docs/PROTOCOL.md lists the same table.

use serde::{Deserialize, Serialize};

/// Bounds applied to request bodies and to each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case")]
pub struct Limits {
    /// Largest request body as received (after transfer decoding, before content decoding).
    pub max_body_bytes: usize,
    /// Largest body after `Content-Encoding` is undone. Inflation stops at this many bytes, so a
    /// small gzip bomb costs at most this much memory.
    pub max_inflated_bytes: usize,
    /// Most events in one request.
    pub max_events_per_batch: usize,
    /// Largest single event, as its JSON text.
    pub max_event_bytes: usize,
    /// Most keys in `properties`, `traits` or `context` (each counted on its own, top level).
    pub max_properties: usize,
    /// Deepest nesting of objects/arrays inside an event (the event object itself is depth 1).
    pub max_depth: usize,
    /// Longest string value anywhere in an event, in UTF-8 bytes.
    pub max_string_bytes: usize,
    /// Longest object key anywhere in an event, in UTF-8 bytes.
    pub max_key_bytes: usize,
    /// Longest `messageId`.
    pub max_message_id_bytes: usize,
    /// Longest `anonymousId`, `userId`, `previousId` or `groupId`.
    pub max_identity_bytes: usize,
    /// Longest `event` (track name) or `name` (page/screen name).
    pub max_event_name_bytes: usize,
    /// How far before `receivedAt` a (skew-corrected) timestamp may be. Mini-programs keep
    /// events while offline, so this is generous.
    pub max_past_ms: i64,
    /// How far after `receivedAt` a (skew-corrected) timestamp may be.
    pub max_future_ms: i64,
    /// A client clock is corrected only when `|receivedAt - sentAt|` exceeds this; below it the
    /// difference is mostly network transit, which must not be folded into timestamps.
    pub skew_threshold_ms: i64,
}

/// 1 MiB: a full SDK batch of 100 events compresses to a few KB; Segment allows 500 KB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// 4 MiB inflated: room for 500 events of 8 KB; inflate ratio at most 4:1 of a full body.
pub const DEFAULT_MAX_INFLATED_BYTES: usize = 4 << 20;
/// 500 events per request (Sensors sends at most 100; Segment's batch limit is 500 KB).
pub const DEFAULT_MAX_EVENTS_PER_BATCH: usize = 500;
/// 32 KiB per event, Segment's per-message limit.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 << 10;
/// 255 keys per properties/traits/context object.
pub const DEFAULT_MAX_PROPERTIES: usize = 255;
/// 10 levels of nesting (the event object is level 1, `properties` level 2).
pub const DEFAULT_MAX_DEPTH: usize = 10;
/// 8 KiB per string value.
pub const DEFAULT_MAX_STRING_BYTES: usize = 8 << 10;
/// 255 bytes per object key.
pub const DEFAULT_MAX_KEY_BYTES: usize = 255;
/// 128 bytes per messageId (a UUID is 36).
pub const DEFAULT_MAX_MESSAGE_ID_BYTES: usize = 128;
/// 255 bytes per identity field.
pub const DEFAULT_MAX_IDENTITY_BYTES: usize = 255;
/// 255 bytes per event or page name.
pub const DEFAULT_MAX_EVENT_NAME_BYTES: usize = 255;
/// 30 days into the past.
pub const DEFAULT_MAX_PAST_MS: i64 = 30 * 24 * 3600 * 1000;
/// 10 minutes into the future (after correction, so only residual error remains).
pub const DEFAULT_MAX_FUTURE_MS: i64 = 10 * 60 * 1000;
/// 15 s: slower uploads than this are rare, wrong device clocks are not.
pub const DEFAULT_SKEW_THRESHOLD_MS: i64 = 15_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            max_events_per_batch: DEFAULT_MAX_EVENTS_PER_BATCH,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            max_properties: DEFAULT_MAX_PROPERTIES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_string_bytes: DEFAULT_MAX_STRING_BYTES,
            max_key_bytes: DEFAULT_MAX_KEY_BYTES,
            max_message_id_bytes: DEFAULT_MAX_MESSAGE_ID_BYTES,
            max_identity_bytes: DEFAULT_MAX_IDENTITY_BYTES,
            max_event_name_bytes: DEFAULT_MAX_EVENT_NAME_BYTES,
            max_past_ms: DEFAULT_MAX_PAST_MS,
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
            skew_threshold_ms: DEFAULT_SKEW_THRESHOLD_MS,
        }
    }
}
