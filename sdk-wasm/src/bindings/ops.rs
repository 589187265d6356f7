//! The operations of `Maidian#call`: their numbering, their arguments and what each does to the
//! core (pure: JSON text in, reply text out, testable natively).
//!
//! The numbering is the position in [`Op::ALL`]; js-wrapper/src/core-adapter.mjs lists the
//! same names in the same order (`OPS`) and which take no host time (`UNTIMED`, see
//! [`Op::timed`]); its tests check both against the wasm through the error messages, which name
//! the operation and, for a timed one called without a time, say so.
//!
//! The operations are documented by their JS methods (host time first where they take one).
//! The host time crosses as its own `f64` argument of `call`, not in the JSON arguments (a
//! 13-digit double is slow to stringify); the JSON array holds the other arguments.

use crate::core::jv::{Json, Obj};

use super::wire::{self, Args, Bodies};
use crate::core::text;
use crate::core::{
    Config, Core, ExposureEntry, Init, InitError, LaunchOptions, PageView, ShareInput, Tap,
};

macro_rules! ops {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// One operation of `Maidian#call` (see the module doc for the numbering).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Op {
            $($(#[$doc])* $variant,)*
        }

        impl Op {
            /// Every operation, by number.
            pub const ALL: &'static [Op] = &[$(Op::$variant,)*];

            /// The JS name (the method of the core interface of js-wrapper/src/client.mjs).
            pub fn name(self) -> &'static str {
                match self {
                    $(Op::$variant => $name,)*
                }
            }

            /// Whether the operation takes the host time (`now`, the first argument of the JS
            /// method). The others ignore `call`'s `now`.
            pub fn timed(self) -> bool {
                !matches!(
                    self,
                    Op::TakeEffects
                        | Op::Register
                        | Op::Unregister
                        | Op::RegisterRun
                        | Op::SharePath
                        | Op::Consent
                        | Op::AnonymousId
                        | Op::UserId
                        | Op::SessionId
                        | Op::Stats
                )
            }
        }
    };
}

ops! {
    /// `takeEffects()`: only the effects not yet taken (start-up ones).
    TakeEffects = "takeEffects",
    /// `track(now, name, properties?)`.
    Track = "track",
    /// `page(now, name, properties?)`.
    Page = "page",
    /// `identify(now, userId | null, traits?)`.
    Identify = "identify",
    /// `alias(now, userId, previousId?)`.
    Alias = "alias",
    /// `reset(now)`: new anonymous id and session, user id and super properties cleared.
    Reset = "reset",
    /// `register(properties)`: persisted super properties.
    Register = "register",
    /// `unregister(key)`.
    Unregister = "unregister",
    /// `registerRun(properties)`: super properties for this run only.
    RegisterRun = "registerRun",
    /// `grant(now)`: consent granted.
    Grant = "grant",
    /// `deny(now)`: consent denied; purges storage (`remove` effects) and stops tracking.
    Deny = "deny",
    /// `appLaunch(now, {path, query, scene})`.
    AppLaunch = "appLaunch",
    /// `appShow(now, {path, query, scene})`.
    AppShow = "appShow",
    /// `appHide(now)`.
    AppHide = "appHide",
    /// `pageShow(now, {path, query, title})`.
    PageShow = "pageShow",
    /// `pageHide(now)`: `Page.onHide` / `Page.onUnload`.
    PageHide = "pageHide",
    /// `tap(now, {kind, elementId, handler, dataset})`.
    Tap = "tap",
    /// `exposure(now, [{key, ratio, dataset}])`.
    Exposure = "exposure",
    /// `share(now, {method, from, path})`.
    Share = "share",
    /// `setNetwork(now, kind)`: `wifi`, `4g`, `none`, ...
    SetNetwork = "setNetwork",
    /// `flush(now)`: send what waits, as the backoff gate allows.
    Flush = "flush",
    /// `tick(now)`: the `wakeAt` timer fired.
    Tick = "tick",
    /// `sent(now, batchId, status, retryAfterSeconds?)`: a `send` ended (status 0: no response).
    Sent = "sent",
    /// `persistFailed(now, key)`: the host storage refused a `persist` of `key`.
    PersistFailed = "persistFailed",
    /// `sharePath(path, method?)` → the path to share (augmented only if `shareAugment`).
    SharePath = "sharePath",
    /// `consent()` → `pending`, `granted` or `denied`.
    Consent = "consent",
    /// `anonymousId()` → the anonymous id (`null` before consent).
    AnonymousId = "anonymousId",
    /// `userId()` → the user id or `null`.
    UserId = "userId",
    /// `sessionId()` → the session id or `null`.
    SessionId = "sessionId",
    /// `stats()` → counters (numbers).
    Stats = "stats",
}

/// Starts the core from the JSON array `[config, now, stored]` (`stored`: `{key: value}` of the
/// storage entries under the prefix; entries whose value is not a string are ignored) and the
/// host's random bytes; `Err` is the message of the JS `Error` to throw.
pub fn start(args: &str, entropy: &[u8]) -> Result<Core, String> {
    let mut a = wire::parse_args(args).ok_or("the arguments are not a JSON array")?;
    let config = Config::from_json(&a.take(0)).map_err(|e| e.0)?;
    let stored = match a.take(2) {
        Json::Obj(m) => m
            .into_iter()
            .filter_map(|(k, v)| match v {
                Json::Str(s) => Some((k, s)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let init = Init {
        now: a.number(1),
        entropy: entropy.to_vec(),
        stored,
    };
    Core::new(config, init).map_err(|e| init_error(&e))
}

/// The message of `e`, as its `Display` prints it (tested), without `core::fmt`: these call
/// sites were the last ones keeping `fmt::write` and `Formatter::pad` in the wasm.
fn init_error(e: &InitError) -> String {
    match e {
        InitError::Config(c) => text::cat(&["invalid config: ", &c.0]),
        InitError::NotEnoughEntropy => "at least 16 random bytes are required".to_owned(),
    }
}

/// Runs operation number `op` at host time `now` with the JSON array `args` of its other
/// arguments and returns the reply text (its result, then every effect the core produced:
/// [`wire::reply`]); `Err` is the message of the JS `Error` to throw. An error leaves the core
/// untouched: arguments are checked first.
pub fn call(
    core: &mut Core,
    bodies: &mut Bodies,
    op: u32,
    now: f64,
    args: &str,
) -> Result<String, String> {
    let op = usize::try_from(op)
        .ok()
        .and_then(|i| Op::ALL.get(i).copied())
        .ok_or_else(|| text::cat(&["unknown operation ", &text::dec(op.into())]))?;
    let result = wire::parse_args(args)
        .ok_or("the arguments are not a JSON array")
        .and_then(|mut a| {
            if op.timed() && !now.is_finite() {
                return Err("the host time is not a number");
            }
            apply(core, op, now, &mut a)
        })
        .map_err(|e| text::cat(&[op.name(), ": ", e]))?;
    Ok(wire::reply(&result, core.poll_effects(), bodies))
}

fn apply(core: &mut Core, op: Op, now: f64, a: &mut Args) -> Result<Json, &'static str> {
    match op {
        Op::TakeEffects => {}
        Op::Track => {
            let p = a.props(1)?;
            core.track(now, a.str(0)?, p);
        }
        Op::Page => {
            let p = a.props(1)?;
            core.page(now, a.str(0)?, p);
        }
        Op::Identify => {
            let t = a.props(1)?;
            core.identify(now, a.opt_str(0)?, t);
        }
        Op::Alias => core.alias(now, a.str(0)?, a.opt_str(1)?),
        Op::Reset => core.reset(now),
        Op::Register => core.register(a.props(0)?),
        Op::Unregister => core.unregister(a.str(0)?),
        Op::RegisterRun => core.register_run(a.props(0)?),
        Op::Grant => core.grant(now),
        Op::Deny => core.deny(now),
        Op::AppLaunch => core.app_launch(now, &LaunchOptions::from_json(&a.take(0))),
        Op::AppShow => core.app_show(now, &LaunchOptions::from_json(&a.take(0))),
        Op::AppHide => core.app_hide(now),
        Op::PageShow => core.page_show(now, &PageView::from_json(&a.take(0))),
        Op::PageHide => core.page_hide(now),
        Op::Tap => core.tap(now, &Tap::from_json(&a.take(0))),
        Op::Exposure => core.exposure(now, ExposureEntry::list_from_json(&a.take(0))),
        Op::Share => core.share(now, &ShareInput::from_json(&a.take(0))),
        Op::SetNetwork => core.set_network(now, a.str(0)?),
        Op::Flush => core.flush(now),
        Op::Tick => core.tick(now),
        Op::Sent => {
            // Batch ids and statuses are small integers; anything out of range saturates.
            let batch_id = a.number(0) as u32;
            let status = a.number(1) as u16;
            core.sent(now, batch_id, status, a.opt_number(2)?);
        }
        Op::PersistFailed => core.persist_failed(now, a.str(0)?),
        Op::SharePath => return Ok(core.share_path(a.str(0)?, a.opt_str(1)?).into()),
        Op::Consent => return Ok(core.consent().as_str().into()),
        Op::AnonymousId => return Ok(core.anonymous_id().into()),
        Op::UserId => return Ok(core.user_id().into()),
        Op::SessionId => return Ok(core.session_id().into()),
        Op::Stats => return Ok(Json::Obj(stats(core))),
    }
    Ok(Json::Null)
}

fn stats(core: &Core) -> Obj {
    let s = core.stats();
    let mut m = Obj::new();
    for (k, v) in [
        ("eventsQueued", s.events_queued),
        ("eventsDelivered", s.events_delivered),
        ("requests", s.requests),
        ("wireBytes", s.wire_bytes),
        ("storageBytesWritten", s.storage_bytes_written),
        ("deliveredEventBytes", s.delivered_event_bytes),
        ("queueLen", core.queue_len() as u64),
        ("queueBytes", core.queue_bytes() as u64),
        ("pendingLen", core.pending_len() as u64),
    ] {
        // Counters stay far below 2^53: exact as JS numbers.
        m.insert(k.to_owned(), Json::uint(v));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const NOW: f64 = 1_700_000_000_000.0;
    const CONFIG: &str = r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch"}"#;

    fn started(config: &str) -> (Core, Bodies) {
        let core = start(&format!("[{config},{NOW},{{}}]"), &[7; 32]).unwrap();
        (core, Bodies::new())
    }

    fn number(op: Op) -> u32 {
        Op::ALL.iter().position(|&o| o == op).unwrap() as u32
    }

    /// A reply decoded as js-wrapper/src/core-adapter.mjs does: the result and the effects as
    /// JSON objects (text fields sliced from the tail by UTF-16 length, `send` bodies left
    /// out).
    fn run(
        core: &mut Core,
        bodies: &mut Bodies,
        op: Op,
        now: f64,
        args: &str,
    ) -> (Value, Vec<Value>) {
        let text = call(core, bodies, number(op), now, args).unwrap();
        let (head, tail) = text.split_once('\n').unwrap();
        let head: Vec<Value> = serde_json::from_str(head).unwrap();
        let tail: Vec<u16> = tail.encode_utf16().collect();
        let mut at = 0;
        // A text field: its length at `head[k]`, its text the next one in the tail.
        let mut text = |k: usize| {
            let end = at + head[k].as_u64().unwrap() as usize;
            let s = String::from_utf16(&tail[at..end]).unwrap();
            at = end;
            Value::String(s)
        };
        let mut effects = Vec::new();
        let mut i = 1;
        while i < head.len() {
            let (effect, fields) = match head[i].as_u64().unwrap() {
                0 => (
                    json!({"type": "persist", "key": text(i + 1), "value": text(i + 2)}),
                    2,
                ),
                1 => (json!({"type": "remove", "key": text(i + 1)}), 1),
                2 => (
                    json!({"type": "send", "batchId": head[i + 1], "url": text(i + 2),
                           "headers": head[i + 3], "events": head[i + 4]}),
                    4,
                ),
                3 => (json!({"type": "wakeAt", "at": head[i + 1]}), 1),
                4 => (
                    json!({"type": "log", "level": head[i + 1], "message": text(i + 2)}),
                    2,
                ),
                k => panic!("unknown effect kind {k}"),
            };
            effects.push(effect);
            i += 1 + fields;
        }
        assert_eq!(at, tail.len(), "the tail holds exactly the text fields");
        (head[0].clone(), effects)
    }

    fn of_type<'a>(effects: &'a [Value], kind: &str) -> Vec<&'a Value> {
        effects.iter().filter(|e| e["type"] == kind).collect()
    }

    #[test]
    fn names_are_unique_and_numbering_is_the_table_order() {
        for (i, a) in Op::ALL.iter().enumerate() {
            for b in &Op::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
        assert_eq!(Op::ALL[0], Op::TakeEffects);
        assert_eq!(Op::ALL[1].name(), "track");
        assert!(Op::Track.timed() && Op::Sent.timed());
        assert!(!Op::Register.timed() && !Op::Stats.timed());
    }

    #[test]
    fn track_replies_with_the_persisted_event_in_the_tail() {
        let (mut core, mut bodies) = started(CONFIG);
        let (result, _) = run(&mut core, &mut bodies, Op::TakeEffects, f64::NAN, "[]");
        assert_eq!(result, Value::Null);
        let (result, effects) = run(
            &mut core,
            &mut bodies,
            Op::Track,
            NOW + 1.0,
            r#"["checkout",{"sku":"埋点🚀"}]"#,
        );
        assert_eq!(result, Value::Null, "an input has no result");
        let persist = of_type(&effects, "persist");
        assert_eq!(persist.len(), 1, "{effects:?}");
        let event: Value = serde_json::from_str(persist[0]["value"].as_str().unwrap()).unwrap();
        assert_eq!(event["event"], "checkout");
        assert_eq!(event["properties"]["sku"], "埋点🚀");
        let wake = of_type(&effects, "wakeAt");
        assert!(
            wake[0]["at"].as_f64().is_some_and(|at| at > NOW),
            "{effects:?}"
        );
    }

    #[test]
    fn queries_return_their_result_first() {
        let (mut core, mut bodies) = started(CONFIG);
        let mut query = |op, args| run(&mut core, &mut bodies, op, f64::NAN, args).0;
        assert_eq!(query(Op::Consent, "[]"), "granted");
        assert!(
            query(Op::AnonymousId, "[]")
                .as_str()
                .is_some_and(|id| id.len() == 36)
        );
        assert_eq!(query(Op::UserId, "[]"), Value::Null);
        assert_eq!(
            query(Op::SharePath, r#"["pages/a?x=1",null]"#),
            "pages/a?x=1"
        );
        let stats = query(Op::Stats, "[]");
        assert!(
            stats["eventsQueued"].is_u64() && stats["queueLen"].is_u64(),
            "{stats}"
        );
        run(&mut core, &mut bodies, Op::Identify, NOW, r#"["u-1",null]"#);
        assert_eq!(run(&mut core, &mut bodies, Op::UserId, NOW, "[]").0, "u-1");
    }

    #[test]
    fn send_bodies_wait_in_order_and_sent_feeds_back() {
        let (mut core, mut bodies) = started(CONFIG);
        run(&mut core, &mut bodies, Op::Track, NOW, r#"["a"]"#);
        let (_, effects) = run(&mut core, &mut bodies, Op::Flush, NOW + 1.0, "[]");
        let send = of_type(&effects, "send");
        assert_eq!(send.len(), 1, "{effects:?}");
        assert_eq!(send[0]["events"], 1);
        assert_eq!(send[0]["headers"]["Content-Encoding"], "gzip");
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0][..2], [0x1f, 0x8b], "gzip body");
        let args = format!("[{},200]", send[0]["batchId"]);
        let (_, effects) = run(&mut core, &mut bodies, Op::Sent, NOW + 2.0, &args);
        assert!(!of_type(&effects, "remove").is_empty(), "{effects:?}");
        assert_eq!(
            of_type(&effects, "wakeAt"),
            [&json!({"type": "wakeAt", "at": null})]
        );
    }

    #[test]
    fn wrong_arguments_name_the_operation_and_touch_nothing() {
        let (mut core, mut bodies) = started(CONFIG);
        run(&mut core, &mut bodies, Op::TakeEffects, NOW, "[]");
        let track = number(Op::Track);
        for (now, args, message) in [
            (NOW, r#"["a",5]"#, "track: properties must be an object"),
            (NOW, r#"["a",[1]]"#, "track: properties must be an object"),
            (NOW, r#"[7]"#, "track: expected a string"),
            (NOW, r#"{}"#, "track: the arguments are not a JSON array"),
            (NOW, r#"["a","#, "track: the arguments are not a JSON array"),
            (f64::NAN, r#"["a"]"#, "track: the host time is not a number"),
            (
                f64::INFINITY,
                r#"["a"]"#,
                "track: the host time is not a number",
            ),
        ] {
            assert_eq!(
                call(&mut core, &mut bodies, track, now, args),
                Err(message.into())
            );
        }
        assert_eq!(core.queue_len(), 0, "nothing was tracked");
        let n = Op::ALL.len() as u32;
        assert_eq!(
            call(&mut core, &mut bodies, n, NOW, "[]"),
            Err(format!("unknown operation {n}"))
        );
        // Every error names its operation, and only timed ones need the time (the JS table is
        // checked against this in js-wrapper/test/core-adapter.test.mjs).
        for (i, op) in Op::ALL.iter().enumerate() {
            let e = call(&mut core, &mut bodies, i as u32, NOW, "{}").unwrap_err();
            assert_eq!(
                e,
                format!("{}: the arguments are not a JSON array", op.name())
            );
            let untimed = call(&mut core, &mut bodies, i as u32, f64::NAN, "[]");
            let refused = Err(format!("{}: the host time is not a number", op.name()));
            assert_eq!(untimed == refused, op.timed(), "{op:?}");
        }
    }

    #[test]
    fn init_errors_read_as_their_display() {
        for e in [
            InitError::NotEnoughEntropy,
            InitError::Config(crate::core::ConfigError("writeKey is required".to_owned())),
        ] {
            assert_eq!(init_error(&e), e.to_string());
        }
    }

    #[test]
    fn start_checks_the_config_and_reads_stored_strings_only() {
        let e = start(
            &format!(r#"[{{"endpoint":"https://t"}},{NOW},null]"#),
            &[7; 32],
        );
        assert!(e.is_err_and(|e| e.contains("writeKey")));
        let e = start(&format!("[{CONFIG},{NOW},null]"), &[7; 8]);
        assert_eq!(
            e.err().as_deref(),
            Some("at least 16 random bytes are required")
        );
        assert!(start("nope", &[7; 32]).is_err());
        let (mut core, mut bodies) = started(
            r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch","consentRequired":true}"#,
        );
        assert_eq!(
            run(&mut core, &mut bodies, Op::Consent, NOW, "[]").0,
            "pending"
        );
        let core = start(
            &format!(r#"[{CONFIG},{NOW},{{"md_consent":"denied","md_x":5}}]"#),
            &[7; 32],
        )
        .unwrap();
        assert_eq!(core.consent().as_str(), "denied");
    }
}
