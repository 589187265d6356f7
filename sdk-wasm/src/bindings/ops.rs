//! The operations of `Maidian#call`: their numbering, their arguments and what each does to the
//! core (pure: JSON text in, reply text out, testable natively).
//!
//! The numbering is the position in [`Op::ALL`]; js-wrapper/src/core-adapter.mjs lists the
//! same names in the same order (`OPS`), and its tests check both lists agree through the error
//! message of a call with wrong arguments, which names the operation.

use serde_json::{Map, Value};

use super::wire::{self, Args, Bodies};
use crate::core::{Config, Core, ExposureEntry, Init, LaunchOptions, PageView, ShareInput, Tap};

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
        Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
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
    Core::new(config, init).map_err(|e| e.to_string())
}

/// Runs operation number `op` with the JSON array `args` and returns the reply text (its
/// result, then every effect the core produced: [`wire::reply`]); `Err` is the message of the
/// JS `Error` to throw. An error leaves the core untouched: arguments are checked first.
pub fn call(core: &mut Core, bodies: &mut Bodies, op: u32, args: &str) -> Result<String, String> {
    let op = usize::try_from(op)
        .ok()
        .and_then(|i| Op::ALL.get(i).copied())
        .ok_or_else(|| format!("unknown operation {op}"))?;
    let mut args = wire::parse_args(args)
        .ok_or_else(|| format!("{}: the arguments are not a JSON array", op.name()))?;
    let result = apply(core, op, &mut args).map_err(|e| format!("{}: {e}", op.name()))?;
    Ok(wire::reply(&result, core.poll_effects(), bodies))
}

fn apply(core: &mut Core, op: Op, a: &mut Args) -> Result<Value, &'static str> {
    let now = a.number(0);
    match op {
        Op::TakeEffects => {}
        Op::Track => {
            let p = a.props(2)?;
            core.track(now, a.str(1)?, p);
        }
        Op::Page => {
            let p = a.props(2)?;
            core.page(now, a.str(1)?, p);
        }
        Op::Identify => {
            let t = a.props(2)?;
            core.identify(now, a.opt_str(1)?, t);
        }
        Op::Alias => core.alias(now, a.str(1)?, a.opt_str(2)?),
        Op::Reset => core.reset(now),
        Op::Register => core.register(a.props(0)?),
        Op::Unregister => core.unregister(a.str(0)?),
        Op::RegisterRun => core.register_run(a.props(0)?),
        Op::Grant => core.grant(now),
        Op::Deny => core.deny(now),
        Op::AppLaunch => core.app_launch(now, &LaunchOptions::from_json(&a.take(1))),
        Op::AppShow => core.app_show(now, &LaunchOptions::from_json(&a.take(1))),
        Op::AppHide => core.app_hide(now),
        Op::PageShow => core.page_show(now, &PageView::from_json(&a.take(1))),
        Op::PageHide => core.page_hide(now),
        Op::Tap => core.tap(now, &Tap::from_json(&a.take(1))),
        Op::Exposure => core.exposure(now, ExposureEntry::list_from_json(&a.take(1))),
        Op::Share => core.share(now, &ShareInput::from_json(&a.take(1))),
        Op::SetNetwork => core.set_network(now, a.str(1)?),
        Op::Flush => core.flush(now),
        Op::Tick => core.tick(now),
        Op::Sent => {
            // Batch ids and statuses are small integers; anything out of range saturates.
            let batch_id = a.number(1) as u32;
            let status = a.number(2) as u16;
            core.sent(now, batch_id, status, a.opt_number(3)?);
        }
        Op::PersistFailed => core.persist_failed(now, a.str(1)?),
        Op::SharePath => return Ok(core.share_path(a.str(0)?, a.opt_str(1)?).into()),
        Op::Consent => return Ok(core.consent().as_str().into()),
        Op::AnonymousId => return Ok(core.anonymous_id().into()),
        Op::UserId => return Ok(core.user_id().into()),
        Op::SessionId => return Ok(core.session_id().into()),
        Op::Stats => return Ok(Value::Object(stats(core))),
    }
    Ok(Value::Null)
}

fn stats(core: &Core) -> Map<String, Value> {
    let s = core.stats();
    [
        ("eventsQueued", s.events_queued),
        ("eventsDelivered", s.events_delivered),
        ("requests", s.requests),
        ("wireBytes", s.wire_bytes),
        ("storageBytesWritten", s.storage_bytes_written),
        ("deliveredEventBytes", s.delivered_event_bytes),
        ("queueLen", core.queue_len() as u64),
        ("queueBytes", core.queue_bytes() as u64),
        ("pendingLen", core.pending_len() as u64),
    ]
    .into_iter()
    // Counters stay far below 2^53: exact as JS numbers.
    .map(|(k, v)| (k.to_owned(), Value::from(v)))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_700_000_000_000.0;
    const CONFIG: &str = r#"{"writeKey":"wk","endpoint":"https://t.example.com/v1/batch"}"#;

    fn started(config: &str) -> (Core, Bodies) {
        let core = start(&format!("[{config},{NOW},{{}}]"), &[7; 32]).unwrap();
        (core, Bodies::new())
    }

    /// The reply's head (parsed) and tail.
    fn run(core: &mut Core, bodies: &mut Bodies, op: Op, args: &str) -> (Vec<Value>, String) {
        let n = Op::ALL.iter().position(|&o| o == op).unwrap() as u32;
        let text = call(core, bodies, n, args).unwrap();
        let (head, tail) = text.split_once('\n').unwrap();
        let Value::Array(head) = serde_json::from_str(head).unwrap() else {
            panic!("head is not an array: {head}");
        };
        (head, tail.to_owned())
    }

    fn of_type<'a>(head: &'a [Value], kind: &str) -> Vec<&'a Value> {
        head[1..].iter().filter(|e| e["type"] == kind).collect()
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
    }

    #[test]
    fn track_replies_with_the_persisted_event_in_the_tail() {
        let (mut core, mut bodies) = started(CONFIG);
        let (head, _) = run(&mut core, &mut bodies, Op::TakeEffects, "[]");
        assert_eq!(head[0], Value::Null);
        let (head, tail) = run(
            &mut core,
            &mut bodies,
            Op::Track,
            &format!(r#"[{},"checkout",{{"sku":"埋点🚀"}}]"#, NOW + 1.0),
        );
        assert_eq!(head[0], Value::Null, "an input has no result");
        let persist = of_type(&head, "persist");
        assert_eq!(persist.len(), 1, "{head:?}");
        assert_eq!(
            persist[0]["value"].as_u64(),
            Some(tail.encode_utf16().count() as u64)
        );
        let event: Value = serde_json::from_str(&tail).unwrap();
        assert_eq!(event["event"], "checkout");
        assert_eq!(event["properties"]["sku"], "埋点🚀");
    }

    #[test]
    fn queries_return_their_result_first() {
        let (mut core, mut bodies) = started(CONFIG);
        let (head, _) = run(&mut core, &mut bodies, Op::Consent, "[]");
        assert_eq!(head[0], "granted");
        let (head, _) = run(&mut core, &mut bodies, Op::AnonymousId, "[]");
        assert!(
            head[0].as_str().is_some_and(|id| id.len() == 36),
            "{head:?}"
        );
        let (head, _) = run(&mut core, &mut bodies, Op::UserId, "[]");
        assert_eq!(head[0], Value::Null);
        run(
            &mut core,
            &mut bodies,
            Op::Identify,
            &format!(r#"[{NOW},"u-1",null]"#),
        );
        let (head, _) = run(&mut core, &mut bodies, Op::UserId, "[]");
        assert_eq!(head[0], "u-1");
        let (head, _) = run(
            &mut core,
            &mut bodies,
            Op::SharePath,
            r#"["pages/a?x=1",null]"#,
        );
        assert_eq!(head[0], "pages/a?x=1");
        let (head, _) = run(&mut core, &mut bodies, Op::Stats, "[]");
        assert!(head[0]["eventsQueued"].is_u64(), "{head:?}");
        assert!(head[0]["queueLen"].is_u64(), "{head:?}");
    }

    #[test]
    fn send_bodies_wait_in_order_and_sent_feeds_back() {
        let (mut core, mut bodies) = started(CONFIG);
        run(
            &mut core,
            &mut bodies,
            Op::Track,
            &format!(r#"[{NOW},"a"]"#),
        );
        let (head, _) = run(
            &mut core,
            &mut bodies,
            Op::Flush,
            &format!("[{}]", NOW + 1.0),
        );
        let send = of_type(&head, "send");
        assert_eq!(send.len(), 1, "{head:?}");
        assert_eq!(send[0]["body"], Value::Null);
        assert_eq!(bodies.len(), 1);
        assert_eq!(bodies[0][..2], [0x1f, 0x8b], "gzip body");
        let id = send[0]["batchId"].as_u64().unwrap();
        let (head, _) = run(
            &mut core,
            &mut bodies,
            Op::Sent,
            &format!("[{},{id},200]", NOW + 2.0),
        );
        assert!(!of_type(&head, "remove").is_empty(), "{head:?}");
    }

    #[test]
    fn wrong_arguments_name_the_operation_and_touch_nothing() {
        let (mut core, mut bodies) = started(CONFIG);
        run(&mut core, &mut bodies, Op::TakeEffects, "[]");
        let track = Op::ALL.iter().position(|&o| o == Op::Track).unwrap() as u32;
        for (args, message) in [
            (r#"[1,"a",5]"#, "track: properties must be an object"),
            (r#"[1,"a",[1]]"#, "track: properties must be an object"),
            (r#"[1,7]"#, "track: expected a string"),
            (r#"{}"#, "track: the arguments are not a JSON array"),
            (r#"[1,"#, "track: the arguments are not a JSON array"),
        ] {
            assert_eq!(
                call(&mut core, &mut bodies, track, args),
                Err(message.into())
            );
        }
        assert_eq!(core.queue_len(), 0, "nothing was tracked");
        assert_eq!(
            call(&mut core, &mut bodies, Op::ALL.len() as u32, "[]"),
            Err(format!("unknown operation {}", Op::ALL.len()))
        );
        // Every operation's error names it (core-adapter.test.mjs relies on it).
        for (i, op) in Op::ALL.iter().enumerate() {
            let e = call(&mut core, &mut bodies, i as u32, "{}").unwrap_err();
            assert!(e.starts_with(&format!("{}: ", op.name())), "{e}");
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
        let (head, _) = run(&mut core, &mut bodies, Op::Consent, "[]");
        assert_eq!(head[0], "pending");
        let core = start(
            &format!(r#"[{CONFIG},{NOW},{{"md_consent":"denied","md_x":5}}]"#),
            &[7; 32],
        )
        .unwrap();
        assert_eq!(core.consent().as_str(), "denied");
    }
}
