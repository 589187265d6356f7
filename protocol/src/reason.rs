//! Machine-readable reason codes: why one event was rejected ([`Reason`]) and why a whole
//! request was refused ([`RequestError`]), each with its HTTP status and retry semantics.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($(#[$vm:meta])* $var:ident => $code:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name { $($(#[$vm])* $var,)* }
        impl $name {
            /// Every code, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];
            /// The snake_case wire form of the code.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$var => $code,)* }
            }
            /// Parses the wire form back into the code.
            pub fn from_code(s: &str) -> Option<Self> {
                match s { $($code => Some($name::$var),)* _ => None }
            }
        }
        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codes! {
    /// Why a single event was rejected. Other events of the same request are unaffected.
    pub enum Reason {
        /// The event is not valid JSON (NDJSON line) or has a duplicated top-level key.
        InvalidJson => "invalid_json",
        /// The event is JSON but not an object.
        NotAnObject => "not_an_object",
        /// The event's JSON text exceeds `max_event_bytes`.
        EventTooLarge => "event_too_large",
        /// `messageId` is absent, null or empty.
        MissingMessageId => "missing_message_id",
        /// `messageId` is not a string of 1..=max bytes of `[A-Za-z0-9._:-]`.
        InvalidMessageId => "invalid_message_id",
        /// `type` is absent.
        MissingType => "missing_type",
        /// `type` is not one of track, page, screen, identify, alias, group.
        InvalidType => "invalid_type",
        /// A track message has no `event`.
        MissingEventName => "missing_event_name",
        /// `event`/`name` is not a non-empty string without control characters within the limit.
        InvalidEventName => "invalid_event_name",
        /// `event` starts with `$` but is not one of the reserved automatic event names.
        ReservedEventName => "reserved_event_name",
        /// Neither `anonymousId` nor `userId` is present.
        MissingIdentity => "missing_identity",
        /// An identity field is not a non-empty string (or number) within the limit.
        InvalidIdentity => "invalid_identity",
        /// An alias message has no `previousId`.
        MissingPreviousId => "missing_previous_id",
        /// A group message has no `groupId`.
        MissingGroupId => "missing_group_id",
        /// `timestamp` is present but is not an RFC 3339 date-time string.
        InvalidTimestamp => "invalid_timestamp",
        /// The skew-corrected timestamp lies too far before or after `receivedAt`.
        TimestampOutOfRange => "timestamp_out_of_range",
        /// `properties`, `traits` or `context` is present but not an object.
        InvalidFieldType => "invalid_field_type",
        /// `properties`, `traits` or `context` has more keys than `max_properties`.
        TooManyProperties => "too_many_properties",
        /// Objects/arrays nest deeper than `max_depth`.
        TooDeep => "too_deep",
        /// A string value is longer than `max_string_bytes`.
        StringTooLong => "string_too_long",
        /// An object key is empty or longer than `max_key_bytes`.
        InvalidKey => "invalid_key",
        /// The batch held more events than `max_events_per_batch`; used only by senders that
        /// split (the collector refuses such a request whole with 413 `too_many_events`).
        BatchOverflow => "batch_overflow",
    }
}

codes! {
    /// Why a whole request was refused. Nothing of it was stored.
    pub enum RequestError {
        /// The body is not one of the accepted forms (batch object, array, NDJSON) — 400.
        MalformedBody => "malformed_body",
        /// The body holds no events — 400.
        EmptyBatch => "empty_batch",
        /// `sentAt` is present but not an RFC 3339 date-time — 400.
        InvalidSentAt => "invalid_sent_at",
        /// No write key in `Authorization`, `X-Write-Key` or `?key=` — 401.
        MissingWriteKey => "missing_write_key",
        /// The write key is unknown — 401.
        InvalidWriteKey => "invalid_write_key",
        /// The app id / origin is not on the project's allow-list — 403.
        ForbiddenOrigin => "forbidden_origin",
        /// Unknown path — 404.
        NotFound => "not_found",
        /// Wrong method for the path — 405.
        MethodNotAllowed => "method_not_allowed",
        /// Headers or body arrived too slowly — 408.
        RequestTimeout => "request_timeout",
        /// The body exceeds `max_body_bytes` — 413.
        BodyTooLarge => "body_too_large",
        /// The decoded body exceeds `max_inflated_bytes` — 413.
        InflatedTooLarge => "inflated_too_large",
        /// More events than `max_events_per_batch` — 413; split the batch and resend.
        TooManyEvents => "too_many_events",
        /// The compressed body is corrupt — 400.
        CorruptEncoding => "corrupt_encoding",
        /// `Content-Encoding` (or `?compression=`) is not gzip, deflate or identity — 415.
        UnsupportedEncoding => "unsupported_encoding",
        /// `Content-Type` is not JSON, NDJSON or text/plain — 415.
        UnsupportedMediaType => "unsupported_media_type",
        /// Rate limit of the write key or client address — 429 with `Retry-After`.
        RateLimited => "rate_limited",
        /// Unexpected server failure — 500.
        Internal => "internal",
        /// Overloaded, draining or storage unavailable — 503 with `Retry-After`.
        Unavailable => "unavailable",
    }
}

/// What a sender should do with a batch after a response status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// 2xx: the events are durably stored (or rejected for good, per the body); delete them.
    Delivered,
    /// Retry later with backoff; honour `Retry-After` when present.
    Retry,
    /// 413: the batch is too large; split it in halves and send each (a single event that still
    /// gets 413 is dropped as permanent).
    Split,
    /// Any other 4xx: resending the same bytes cannot succeed; delete them (and report).
    Drop,
}

/// Maps an HTTP status of the collector to what the sender does next. Shared by the SDK's
/// retry logic and documented in docs/PROTOCOL.md so the two can never disagree.
pub const fn disposition(status: u16) -> Disposition {
    match status {
        200..=299 => Disposition::Delivered,
        413 => Disposition::Split,
        408 | 425 | 429 => Disposition::Retry,
        400..=499 => Disposition::Drop,
        // 0 stands for "no response" (network error, timeout); 3xx/5xx are transient.
        _ => Disposition::Retry,
    }
}

impl RequestError {
    /// The HTTP status the collector answers with.
    pub const fn status(self) -> u16 {
        use RequestError::*;
        match self {
            MalformedBody | EmptyBatch | InvalidSentAt | CorruptEncoding => 400,
            MissingWriteKey | InvalidWriteKey => 401,
            ForbiddenOrigin => 403,
            NotFound => 404,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            BodyTooLarge | InflatedTooLarge | TooManyEvents => 413,
            UnsupportedEncoding | UnsupportedMediaType => 415,
            RateLimited => 429,
            Internal => 500,
            Unavailable => 503,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert_eq!(Reason::from_code(r.as_str()), Some(*r));
            assert_eq!(
                serde_json::to_string(r).ok(),
                Some(format!("\"{}\"", r.as_str()))
            );
            assert!(seen.insert(r.as_str()));
        }
        for e in RequestError::ALL {
            assert_eq!(RequestError::from_code(e.as_str()), Some(*e));
            assert!(seen.insert(e.as_str()), "{e} shared with Reason");
            assert!((400..600).contains(&e.status()));
        }
        assert_eq!(Reason::from_code("nope"), None);
    }

    #[test]
    fn dispositions() {
        assert_eq!(disposition(200), Disposition::Delivered);
        assert_eq!(disposition(204), Disposition::Delivered);
        assert_eq!(disposition(400), Disposition::Drop);
        assert_eq!(disposition(401), Disposition::Drop);
        assert_eq!(disposition(408), Disposition::Retry);
        assert_eq!(disposition(413), Disposition::Split);
        assert_eq!(disposition(415), Disposition::Drop);
        assert_eq!(disposition(429), Disposition::Retry);
        assert_eq!(disposition(500), Disposition::Retry);
        assert_eq!(disposition(503), Disposition::Retry);
        assert_eq!(disposition(0), Disposition::Retry);
        for e in RequestError::ALL {
            // Every refusal that asks for a retry is one that can succeed later.
            let d = disposition(e.status());
            let retryable = matches!(
                e,
                RequestError::RequestTimeout
                    | RequestError::RateLimited
                    | RequestError::Internal
                    | RequestError::Unavailable
            );
            assert_eq!(d == Disposition::Retry, retryable, "{e}");
        }
    }
}
