//! What the core asks its host to do. The host executes effects in order, right away: a
//! `persist` must reach storage before the host does anything else with the SDK (use the
//! synchronous storage API — this is what makes "killed 5 ms after hide" lose nothing).
//!
//! JSON shapes (serde, as the wasm-bindgen layer hands them to JS):
//! - `{"type":"persist","key":"md_q12","value":"…"}`
//! - `{"type":"remove","key":"md_q12"}`
//! - `{"type":"send","batchId":3,"url":"https://…/v1/batch","body":Uint8Array,
//!   "headers":{"Content-Type":"application/json","Content-Encoding":"gzip","X-Write-Key":"…",
//!   "X-Maidian-Device":"<anonymousId>"},"events":42}` (the URL carries
//!   `?device=<anonymousId>` too) — call `sent(batchId, status, retryAfterSeconds)` when it
//!   ends (status 0 for no response).
//! - `{"type":"wakeAt","at":1732468246123}` — call `tick(now)` at (or after) that host time;
//!   replaces any earlier wake-up. `{"type":"wakeAt","at":null}` cancels it (nothing is due; a
//!   Node host can let its process exit).
//! - `{"type":"log","level":"warn","message":"…"}`

use serde::Serialize;

use super::jv::Obj;

/// Log severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Debug-mode details (validation results, decisions).
    Debug,
    /// Something the app developer should fix (an invalid event name, a bad call).
    Warn,
}

/// One effect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Effect {
    /// Write `value` under `key` (synchronously).
    Persist {
        /// Storage key.
        key: String,
        /// The value (UTF-8 text).
        value: String,
    },
    /// Delete `key`.
    Remove {
        /// Storage key.
        key: String,
    },
    /// POST `body` to `url` with `headers`; report the outcome with `sent(batch_id, …)`.
    #[serde(rename_all = "camelCase")]
    Send {
        /// Echo this in `sent`.
        batch_id: u32,
        /// The batch endpoint.
        url: String,
        /// The request body (gzip unless disabled). Not part of the JSON form: the wasm
        /// bindings attach it to the JS object as a `Uint8Array`.
        #[serde(skip)]
        body: Vec<u8>,
        /// Request headers.
        headers: Obj,
        /// Events in the batch (for the host's own metrics).
        events: u32,
    },
    /// Call `tick(now)` at host time `at` (ms since the epoch); replaces earlier wake-ups.
    /// `at: null` cancels the pending wake-up: nothing is due.
    WakeAt {
        /// When (whole milliseconds, the core's clock); `None` (JSON `null`): no wake-up.
        at: Option<i64>,
    },
    /// A message for the developer console.
    Log {
        /// Severity.
        level: Level,
        /// Text.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::super::jv::Json;
    use super::*;

    #[test]
    fn json_shapes() {
        let e = Effect::Send {
            batch_id: 3,
            url: "u".into(),
            body: vec![1, 2],
            headers: [("A".to_owned(), Json::from("b"))].into_iter().collect(),
            events: 2,
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"send","batchId":3,"url":"u","headers":{"A":"b"},"events":2}"#
        );
        assert_eq!(
            serde_json::to_string(&Effect::WakeAt { at: Some(5) }).unwrap(),
            r#"{"type":"wakeAt","at":5}"#
        );
        assert_eq!(
            serde_json::to_string(&Effect::WakeAt { at: None }).unwrap(),
            r#"{"type":"wakeAt","at":null}"#
        );
        assert_eq!(
            serde_json::to_string(&Effect::Log {
                level: Level::Warn,
                message: "m".into()
            })
            .unwrap(),
            r#"{"type":"log","level":"warn","message":"m"}"#
        );
    }
}
