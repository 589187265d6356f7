//! Identity, session and the other state that survives restarts, persisted as one small JSON
//! value under `{prefix}state` — only after consent, and rewritten only when it changes
//! (identify, alias, reset, register, consent) and at app hide (session activity, counters).
//!
//! - `anonymousId`: a random UUID created on first use after consent; `reset()` replaces it.
//! - `userId`: set by `identify` / `alias`, cleared by `reset`. openid / unionid are ordinary
//!   traits the app passes to `identify` (redaction rules apply to them like to any trait).
//! - Super properties (`register` / `unregister`) are persisted here; per-run ones live in
//!   memory only.
//! - Session: a new session id after `sessionTimeoutMs` without events ([`Session::touch`]).
//! - `firstDay`: the device's first local calendar day, for `context.firstDay`.
//! - Drop counters not yet reported in a `$sdk_diagnostic` event.

use super::jv::{Json, Obj};
use serde::Serialize;

use super::ids::Ids;
use super::json::{field, obj, object, string};

/// Events the device dropped, by cause, since the last report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Oldest events dropped because the queue was full.
    pub queue_overflow: u64,
    /// Events dropped by the pending-consent buffer bound.
    pub pending_overflow: u64,
    /// Events not kept by sampling.
    pub sampled_out: u64,
    /// Events the SDK refused to build (invalid name, too large).
    pub invalid: u64,
    /// Events the collector refused for good (4xx, or 413 for one event).
    pub rejected: u64,
    /// Storage writes the host reported as refused (quota, value too large).
    pub persist_failed: u64,
}

impl Counters {
    /// The counters' names, in the persisted and reported form (one list for writing the
    /// state, reading it back and the diagnostic event's properties).
    const NAMES: [&'static str; 6] = [
        "queue_overflow",
        "pending_overflow",
        "sampled_out",
        "invalid",
        "rejected",
        "persist_failed",
    ];

    /// The values, in the order of [`Self::NAMES`].
    fn values(&self) -> [u64; 6] {
        [
            self.queue_overflow,
            self.pending_overflow,
            self.sampled_out,
            self.invalid,
            self.rejected,
            self.persist_failed,
        ]
    }

    /// The counters from values in the order of [`Self::NAMES`].
    fn from_values(v: [u64; 6]) -> Self {
        let [
            queue_overflow,
            pending_overflow,
            sampled_out,
            invalid,
            rejected,
            persist_failed,
        ] = v;
        Self {
            queue_overflow,
            pending_overflow,
            sampled_out,
            invalid,
            rejected,
            persist_failed,
        }
    }

    /// True when nothing is to report.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
    /// The report's properties.
    pub fn to_properties(&self) -> Obj {
        let mut m = Obj::new();
        for (k, v) in Self::NAMES.into_iter().zip(self.values()) {
            if v > 0 {
                m.insert(k.into(), v.into());
            }
        }
        m
    }
}

/// The session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Current session id.
    pub id: Option<String>,
    /// Time of the last event (host ms).
    pub last: i64,
}

impl Session {
    /// Records activity at `now`; starts a new session (returns true) when there is none or
    /// the last activity is more than `timeout` ago.
    pub fn touch(&mut self, now: i64, timeout: i64, ids: &mut Ids) -> bool {
        let new = self.id.is_none() || now.saturating_sub(self.last) > timeout;
        if new {
            self.id = Some(ids.uuid());
        }
        self.last = self.last.max(now);
        new
    }
}

/// The persisted state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Device-scoped id.
    pub anonymous_id: Option<String>,
    /// App-assigned user id.
    pub user_id: Option<String>,
    /// Persisted super properties.
    pub super_props: Obj,
    /// First local day (days since the epoch in the host time zone).
    pub first_day: Option<i64>,
    /// The session.
    pub session: Session,
    /// Unreported drops.
    pub dropped: Counters,
}

fn int(m: &Obj, k: &str) -> Option<i64> {
    field(m, k)?.as_i64()
}

impl State {
    /// The persisted JSON text: what `serde_json::to_string(self)` writes (tested), written by
    /// hand so the wasm carries no serde serializer (see `core::json_write`).
    pub fn to_json(&self) -> String {
        use super::json_write::{object, string as s};
        use super::text::{push_i64, push_u64};
        let opt = |out: &mut String, v: &Option<String>| match v {
            Some(v) => s(out, v),
            None => out.push_str("null"),
        };
        let mut o = String::with_capacity(256);
        o.push_str("{\"anonymousId\":");
        opt(&mut o, &self.anonymous_id);
        o.push_str(",\"userId\":");
        opt(&mut o, &self.user_id);
        o.push_str(",\"superProps\":");
        object(&mut o, &self.super_props);
        o.push_str(",\"firstDay\":");
        match self.first_day {
            Some(d) => push_i64(&mut o, d),
            None => o.push_str("null"),
        }
        o.push_str(",\"session\":{\"id\":");
        opt(&mut o, &self.session.id);
        o.push_str(",\"last\":");
        push_i64(&mut o, self.session.last);
        o.push_str("},\"dropped\":{");
        let names = Counters::NAMES.into_iter();
        for (i, (name, n)) in names.zip(self.dropped.values()).enumerate() {
            if i > 0 {
                o.push(',');
            }
            s(&mut o, name);
            o.push(':');
            push_u64(&mut o, n);
        }
        o.push_str("}}");
        o
    }

    /// Reads the persisted JSON text; `None` when it is not a JSON object. Unknown fields are
    /// ignored and missing ones take their defaults (forward and backward compatible).
    pub fn parse(text: &str) -> Option<Self> {
        let v = super::json_text::parse(text)?;
        let m = v.as_object()?;
        let s = obj(field(m, "session").unwrap_or(&Json::Null));
        let d = obj(field(m, "dropped").unwrap_or(&Json::Null));
        let n = |k: &str| field(d, k).and_then(Json::as_u64).unwrap_or(0);
        Some(Self {
            anonymous_id: string(m, "anonymousId"),
            user_id: string(m, "userId"),
            super_props: object(m, "superProps"),
            first_day: int(m, "firstDay"),
            session: Session {
                id: string(s, "id"),
                last: int(s, "last").unwrap_or(0),
            },
            dropped: Counters::from_values(Counters::NAMES.map(n)),
        })
    }
}

/// The local calendar day of `ms` for a UTC offset in minutes.
pub fn local_day(ms: i64, offset_min: i32) -> i64 {
    (ms + i64::from(offset_min) * 60_000).div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_idle_rule() {
        let mut ids = Ids::new(&[9; 32]).unwrap();
        let mut s = Session::default();
        assert!(s.touch(1000, 1_800_000, &mut ids));
        let first = s.id.clone();
        assert!(!s.touch(1000 + 1_800_000, 1_800_000, &mut ids));
        assert_eq!(s.id, first);
        assert!(s.touch(2000 + 3_600_000 + 1, 1_800_000, &mut ids));
        assert_ne!(s.id, first);
    }

    #[test]
    fn state_round_trips_and_tolerates_unknown_fields() {
        let s = State {
            anonymous_id: Some("a".into()),
            first_day: Some(20_000),
            ..State::default()
        };
        let mut s = s;
        s.session = Session {
            id: Some("s".into()),
            last: 42,
        };
        s.dropped.rejected = 3;
        s.super_props.insert("k".into(), Json::uint(1));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(s.to_json(), json);
        assert_eq!(State::parse(&json), Some(s));
        let empty = State::default();
        assert_eq!(empty.to_json(), serde_json::to_string(&empty).unwrap());
        assert_eq!(State::parse(&empty.to_json()), Some(empty));
        assert_eq!(State::parse("[]"), None);
        let fut = State::parse(r#"{"anonymousId":"b","newField":1}"#).unwrap();
        assert_eq!(fut.anonymous_id.as_deref(), Some("b"));
        assert!(Counters::default().is_zero());
    }

    #[test]
    fn loads_a_state_persisted_by_the_previous_version() {
        // Written by the serde_json-based version (sorted super properties, its number text).
        let text = r#"{"anonymousId":"0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f","userId":"u1","superProps":{"big":1e21,"k":1,"neg":-0.5,"o":{"a":[true,null],"b":"x\u0001"},"price":19.9},"firstDay":20416,"session":{"id":"5d1c","last":1795540246123},"dropped":{"queue_overflow":0,"pending_overflow":2,"sampled_out":0,"invalid":0,"rejected":3,"persist_failed":1}}"#;
        let s = State::parse(text).unwrap();
        assert_eq!(
            s.anonymous_id.as_deref(),
            Some("0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f")
        );
        assert_eq!(s.user_id.as_deref(), Some("u1"));
        assert_eq!(s.first_day, Some(20416));
        assert_eq!(s.session.id.as_deref(), Some("5d1c"));
        assert_eq!(s.session.last, 1_795_540_246_123);
        assert_eq!(
            (
                s.dropped.pending_overflow,
                s.dropped.rejected,
                s.dropped.persist_failed
            ),
            (2, 3, 1)
        );
        assert_eq!(s.super_props.get("price"), Some(&Json::Num("19.9".into())));
        assert_eq!(s.super_props.len(), 5);
        // Written back unchanged: numbers verbatim, entries in their (here sorted) order.
        assert_eq!(s.to_json(), text);
    }

    #[test]
    fn local_days() {
        // 2026-11-24T17:10:46Z is the 25th in Beijing (UTC+8) but the 24th in UTC.
        let t = 1_795_540_246_123;
        assert_eq!(local_day(t, 480), local_day(t, 0) + 1);
        assert_eq!(local_day(-1, 0), -1);
    }
}
