//! End-to-end rules of the core, driven through the fake host in [`super::sim`].

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::jv::{Json, Obj};

use super::config::{Frequency, RedactAction, RedactRule};
use super::sim::{Net, Sim, T0, scripted_session};
use super::*;

fn cfg() -> Config {
    Config::new("https://t.example.com", "wk")
}

fn props(v: Value) -> Obj {
    jv::obj_of(v)
}

fn launch(sim: &mut Sim) {
    sim.call(|c, now| {
        c.app_launch(now, &LaunchOptions::default());
        c.app_show(now, &LaunchOptions::default());
    });
}

fn show(sim: &mut Sim, path: &str) {
    let view = PageView {
        path: path.into(),
        ..PageView::default()
    };
    sim.call(|c, now| c.page_show(now, &view));
}

fn track(sim: &mut Sim, name: &str) {
    sim.call(|c, now| c.track(now, name, Obj::new()));
}

fn all_sent_ids(sim: &Sim) -> Vec<String> {
    sim.requests.iter().flat_map(|r| r.ids()).collect()
}

// ------------------------------------------------------------------ durability

#[test]
fn killed_5ms_after_hide_loses_nothing() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Manual; // requests never complete before the kill
    launch(&mut sim);
    show(&mut sim, "pages/index/index");
    sim.advance(1000.0);
    track(&mut sim, "add_to_cart");
    sim.advance(2000.0);
    sim.call(|c, now| {
        c.page_hide(now);
        c.app_hide(now);
    });
    // Every event is in storage the moment the calls returned.
    let stored = sim.stored_event_ids();
    assert_eq!(
        stored.len(),
        6,
        "launch, show, page, add_to_cart, leave, hide"
    );
    sim.advance(5.0);
    // Killed. Relaunched a minute later with a working network.
    let mut sim = sim.restart(60_000.0);
    sim.net = Net::Up;
    sim.drain();
    launch(&mut sim);
    sim.advance(20_000.0);
    for id in &stored {
        assert!(sim.collector.ids.contains(id), "{id} lost");
    }
    assert_eq!(sim.collector.named("$page_leave").len(), 1);
    assert_eq!(sim.collector.named("$app_hide").len(), 1);
    let hide = sim.collector.named("$app_hide")[0];
    assert_eq!(hide["properties"]["duration_ms"], 3000);
}

#[test]
fn unacknowledged_success_resends_the_same_message_ids() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Manual;
    launch(&mut sim);
    for i in 0..3 {
        track(&mut sim, &format!("e{i}"));
    }
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.outbox.len(), 1);
    // The collector stores the batch, but the response never reaches the app (killed).
    let first = sim.outbox.pop_front().unwrap();
    sim.collector.ids.extend(first.ids());
    let first_texts: Vec<String> = first.events.iter().map(Value::to_string).collect();
    let mut sim = sim.restart(1000.0);
    assert_eq!(sim.outbox.len(), 1, "reloaded events are sent at start");
    let again = sim.outbox.front().unwrap().clone();
    assert_eq!(again.ids(), first.ids());
    let again_texts: Vec<String> = again.events.iter().map(Value::to_string).collect();
    assert_eq!(again_texts, first_texts, "byte-identical events");
    sim.respond(200, None);
    assert!(sim.stored_event_ids().is_empty());
}

#[test]
fn a_day_offline_stays_in_bounds_then_delivers() {
    let config = Config {
        max_queue_events: 300,
        max_queue_bytes: 256 << 10,
        ..cfg()
    };
    let mut sim = Sim::new(config.clone());
    sim.net = Net::Down;
    launch(&mut sim);
    show(&mut sim, "pages/index/index");
    let mut created = 0u64;
    // One event every 10 s for 24 h.
    for i in 0..8640 {
        sim.call(|c, now| c.track(now, "heartbeat", props(json!({"i": i}))));
        created += 1;
        sim.advance(10_000.0);
        assert!(sim.core.queue_len() <= 300);
        assert!(
            sim.stored_bytes() <= (256 << 10) + 4096,
            "{}",
            sim.stored_bytes()
        );
    }
    let requests_offline = sim.requests.len();
    // Backoff capped at 5 min with half-fixed jitter: at most one attempt per 2.5 min.
    assert!(requests_offline <= 24 * 60 / 2 + 10, "{requests_offline}");
    assert!(requests_offline >= 24 * 60 / 5 - 10, "{requests_offline}");
    let in_storage = sim.stored_event_ids();
    assert!(in_storage.len() >= 290);
    // Reconnect.
    sim.net = Net::Up;
    sim.call(|c, now| c.set_network(now, "none"));
    sim.call(|c, now| c.set_network(now, "wifi"));
    sim.advance(60_000.0);
    for id in &in_storage {
        assert!(sim.collector.ids.contains(id));
    }
    assert_eq!(sim.core.queue_len(), 0);
    let diag = sim.collector.named("$sdk_diagnostic");
    assert_eq!(diag.len(), 1);
    let overflow = diag[0]["properties"]["queue_overflow"].as_u64().unwrap();
    let delivered = sim.collector.named("heartbeat").len() as u64;
    // The launch, show and page events were the first to overflow.
    assert_eq!(delivered + overflow, created + 3);
    assert!(sim.max_storage_bytes <= (256 << 10) + 4096);
}

// ------------------------------------------------------------------ scheduler

#[test]
fn backoff_is_never_bypassed_by_new_events_or_hide() {
    let mut sim = Sim::new(Config {
        flush_at: 5,
        ..cfg()
    });
    sim.net = Net::Manual;
    launch(&mut sim);
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.requests.len(), 1);
    sim.respond(503, None);
    let gate = sim.core.sched.not_before();
    assert!(
        gate >= T0 as i64 + 1000 && gate <= T0 as i64 + 2000,
        "{gate}"
    );
    // 200 new events (40x flush_at) and a hide inside the backoff window: no request.
    for _ in 0..200 {
        track(&mut sim, "spam");
    }
    sim.call(|c, now| c.app_hide(now));
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.requests.len(), 1);
    assert_eq!(sim.wake, Some(gate as f64));
    sim.advance((gate as f64) - sim.now - 1.0);
    assert_eq!(sim.requests.len(), 1);
    sim.advance(1.0);
    assert_eq!(sim.requests.len(), 2, "retry exactly at the gate");
    // Consecutive failures double the delay up to the cap.
    let mut last = 0;
    for _ in 0..12 {
        sim.respond(0, None);
        let d = sim.core.sched.not_before() - sim.now as i64;
        assert!(d <= 300_000, "capped: {d}");
        assert!(d >= last.min(150_000) / 2, "grows: {d} after {last}");
        last = d;
        sim.advance(d as f64);
        assert_eq!(sim.outbox.len(), 1);
    }
    assert!(last >= 150_000);
}

#[test]
fn at_most_one_request_in_flight_and_timeouts_retry() {
    let mut sim = Sim::new(Config {
        flush_at: 2,
        ..cfg()
    });
    sim.net = Net::Manual;
    launch(&mut sim);
    for _ in 0..50 {
        track(&mut sim, "x");
    }
    assert_eq!(sim.outbox.len(), 1);
    // The outcome is lost: after the request timeout the batch is retried (with backoff).
    sim.advance(60_000.0);
    sim.outbox.clear();
    sim.advance(3_000.0);
    assert_eq!(sim.requests.len(), 2);
    // The retry resends the same events (and whatever else waits, up to the batch limit).
    let first = sim.requests[0].ids();
    assert_eq!(sim.requests[1].ids()[..first.len()], first[..]);
    // A late answer for the timed-out batch is ignored.
    let stale = sim.requests[0].batch_id;
    sim.call(|c, now| c.sent(now, stale, 200, None));
    assert_eq!(sim.core.queue_len(), 52);
}

#[test]
fn split_on_413() {
    let mut sim = Sim::new(Config {
        flush_at: 1000,
        max_queue_events: 1000,
        ..cfg()
    });
    sim.net = Net::Manual;
    for i in 0..100 {
        sim.call(|c, now| c.track(now, "e", props(json!({"i": i}))));
    }
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.outbox[0].events.len(), 100);
    sim.respond(413, None);
    assert_eq!(sim.outbox[0].events.len(), 50, "halved, sent right away");
    sim.respond(413, None);
    assert_eq!(sim.outbox[0].events.len(), 25);
    sim.respond(200, None);
    assert_eq!(sim.outbox[0].events.len(), 50, "grows back after success");
    sim.respond(200, None);
    assert_eq!(sim.outbox[0].events.len(), 25);
    sim.respond(200, None);
    assert_eq!(sim.collector.events.len(), 100);
    let got: BTreeSet<i64> = sim
        .collector
        .events
        .iter()
        .map(|e| e["properties"]["i"].as_i64().unwrap())
        .collect();
    assert_eq!(got.len(), 100);

    // One event alone still too large: dropped for good and reported.
    let mut sim = Sim::new(Config {
        max_batch_events: 1,
        ..cfg()
    });
    sim.net = Net::Manual;
    track(&mut sim, "huge");
    sim.call(|c, now| c.flush(now));
    sim.respond(413, None);
    assert_eq!(sim.core.queue_len(), 0);
    assert_eq!(sim.core.dropped().rejected, 1);
    assert!(sim.stored_event_ids().is_empty());
}

#[test]
fn retry_after_is_honoured() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Manual;
    track(&mut sim, "x");
    sim.call(|c, now| c.flush(now));
    sim.respond(429, Some(120.0));
    let t = sim.now;
    // Even a regained network does not override Retry-After.
    sim.call(|c, now| c.set_network(now, "none"));
    sim.call(|c, now| c.set_network(now, "wifi"));
    sim.advance(119_999.0);
    assert_eq!(sim.requests.len(), 1);
    sim.advance(1.0);
    assert_eq!(sim.requests.len(), 2);
    assert_eq!(sim.now - t, 120_000.0);
    // Capped by maxRetryAfterMs.
    sim.respond(503, Some(1e9));
    assert!(sim.core.sched.not_before() - (sim.now as i64) <= 3_600_000);
}

#[test]
fn permanent_4xx_drops_and_reports() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Manual;
    track(&mut sim, "x");
    sim.call(|c, now| c.flush(now));
    sim.respond(400, None);
    assert_eq!(sim.core.queue_len(), 0);
    assert!(
        sim.logs
            .iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("400"))
    );
    // The next delivery carries the diagnostic report.
    sim.net = Net::Up;
    track(&mut sim, "y");
    sim.call(|c, now| c.flush(now));
    sim.call(|c, now| c.flush(now));
    let d = sim.collector.named("$sdk_diagnostic");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["properties"]["rejected"], 1);
}

#[test]
fn batching_by_count_and_time_and_hide() {
    let mut sim = Sim::new(Config {
        flush_at: 10,
        flush_interval_ms: 5_000,
        ..cfg()
    });
    for _ in 0..9 {
        track(&mut sim, "x");
    }
    assert_eq!(sim.requests.len(), 0);
    track(&mut sim, "x");
    assert_eq!(sim.requests.len(), 1);
    assert_eq!(sim.requests[0].events.len(), 10);
    track(&mut sim, "x");
    sim.advance(4_999.0);
    assert_eq!(sim.requests.len(), 1);
    sim.advance(1.0);
    assert_eq!(sim.requests.len(), 2);
    track(&mut sim, "x");
    sim.call(|c, now| c.app_hide(now));
    assert_eq!(sim.requests.len(), 3, "flush on hide");
    // Request shape.
    let r = &sim.requests[0];
    assert_eq!(&r.body[..2], &[0x1f, 0x8b]);
    assert_eq!(r.sent_at.len(), 24);
}

#[test]
fn resume_on_launch_sends_stored_events() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Down;
    track(&mut sim, "x");
    sim.call(|c, now| c.flush(now));
    let mut sim = sim.restart(1000.0);
    assert_eq!(sim.requests.len(), 2, "attempted at start");
    sim.net = Net::Up;
    sim.advance(10_000.0);
    assert_eq!(sim.collector.named("x").len(), 1);
}

// ------------------------------------------------------------------ storage

#[test]
fn chunks_are_append_only_and_small() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Manual;
    launch(&mut sim);
    let big = "x".repeat(8000);
    for _ in 0..100 {
        sim.call(|c, now| c.track(now, "big", props(json!({"s": big}))));
    }
    for (k, v) in &sim.storage {
        assert!(v.len() <= 64 << 10, "{k}: {}", v.len());
    }
    // Written bytes ≈ stored event bytes (+ the small state value).
    let written = sim.storage_bytes_written as f64;
    assert!(written <= sim.stored_bytes() as f64 * 1.02 + 1024.0);
}

#[test]
fn write_amplification_in_a_scripted_session() {
    let sim = scripted_session(cfg());
    let ratio = sim.storage_bytes_written as f64 / sim.core.stats().delivered_event_bytes as f64;
    assert!(ratio <= 1.3, "{ratio}");
    assert_eq!(sim.core.queue_len(), 0);
    let per_event = sim.core.stats().wire_bytes as f64 / sim.collector.events.len() as f64;
    assert!(per_event <= 90.0, "{per_event} wire bytes per event");
}

// ------------------------------------------------------------------ consent

fn consent_cfg() -> Config {
    Config {
        consent_required: true,
        max_pending_events: 5,
        ..cfg()
    }
}

#[test]
fn pending_stores_and_sends_nothing_then_grant_replays_with_original_times() {
    let mut sim = Sim::new(consent_cfg());
    launch(&mut sim);
    track(&mut sim, "a");
    sim.advance(1_000.0);
    track(&mut sim, "b");
    sim.call(|c, now| c.identify(now, Some("u1"), Obj::new()));
    sim.advance(60_000.0);
    assert!(sim.storage.is_empty(), "{:?}", sim.storage);
    assert!(sim.requests.is_empty());
    assert_eq!(sim.core.anonymous_id(), None);
    assert_eq!(sim.core.pending_len(), 5);
    sim.call(|c, now| c.grant(now));
    let anon = sim.core.anonymous_id().unwrap().to_owned();
    assert_eq!(sim.storage["md_consent"], "granted");
    sim.call(|c, now| c.flush(now));
    let evs = &sim.collector.events;
    assert_eq!(evs.len(), 5);
    assert!(evs.iter().all(|e| e["anonymousId"] == anon.as_str()));
    let a = sim.collector.named("a")[0];
    assert_eq!(a["timestamp"], "2026-11-24T17:10:46.000Z");
    let b = sim.collector.named("b")[0];
    assert_eq!(b["timestamp"], "2026-11-24T17:10:47.000Z");
    // The decision survives a restart.
    let sim = sim.restart(1000.0);
    assert_eq!(sim.core.consent(), Consent::Granted);
    assert_eq!(sim.core.anonymous_id(), Some(anon.as_str()));
}

#[test]
fn pending_buffer_is_bounded_and_overflow_counted() {
    let mut sim = Sim::new(consent_cfg());
    for _ in 0..12 {
        track(&mut sim, "a");
    }
    assert_eq!(sim.core.pending_len(), 5);
    sim.call(|c, now| c.grant(now));
    sim.call(|c, now| c.flush(now));
    sim.call(|c, now| c.flush(now));
    let d = sim.collector.named("$sdk_diagnostic");
    assert_eq!(d[0]["properties"]["pending_overflow"], 7);
}

#[test]
fn pending_then_deny_drops_everything() {
    let mut sim = Sim::new(consent_cfg());
    launch(&mut sim);
    track(&mut sim, "a");
    sim.call(|c, now| c.deny(now));
    assert_eq!(sim.core.pending_len(), 0);
    assert_eq!(
        sim.storage.keys().collect::<Vec<_>>(),
        vec!["md_consent"],
        "only the decision"
    );
    track(&mut sim, "b");
    show(&mut sim, "pages/x/x");
    sim.advance(100_000.0);
    assert!(sim.requests.is_empty());
    let sim = sim.restart(1000.0);
    assert_eq!(sim.core.consent(), Consent::Denied);
    assert!(sim.requests.is_empty());
}

#[test]
fn granted_then_deny_purges_storage_and_stops() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Down;
    launch(&mut sim);
    sim.call(|c, _| c.register(props(json!({"plan": "pro"}))));
    track(&mut sim, "a");
    assert!(sim.storage.keys().any(|k| k.starts_with("md_q")));
    assert!(sim.storage.contains_key("md_state"));
    sim.storage.insert("md_future_key".into(), "x".into());
    sim.storage.insert("app_own_key".into(), "keep".into());
    let mut sim = sim.restart(10.0);
    sim.call(|c, now| c.deny(now));
    let keys: Vec<&String> = sim.storage.keys().collect();
    assert_eq!(keys, vec!["app_own_key", "md_consent"]);
    assert_eq!(sim.storage["md_consent"], "denied");
    assert_eq!(sim.core.anonymous_id(), None);
    let n = sim.requests.len();
    sim.net = Net::Up;
    track(&mut sim, "b");
    sim.call(|c, now| {
        c.tap(
            now,
            &Tap {
                element_id: Some("buy".into()),
                ..Tap::default()
            },
        );
    });
    sim.call(|c, now| c.flush(now));
    sim.advance(100_000.0);
    assert_eq!(sim.requests.len(), n);
    assert_eq!(sim.core.queue_len(), 0);
}

#[test]
fn denied_then_granted_starts_fresh() {
    let mut sim = Sim::new(cfg());
    let first = sim.core.anonymous_id().unwrap().to_owned();
    sim.call(|c, now| c.deny(now));
    sim.call(|c, now| c.grant(now));
    let second = sim.core.anonymous_id().unwrap().to_owned();
    assert_ne!(first, second);
    track(&mut sim, "a");
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.collector.named("a")[0]["anonymousId"], second.as_str());
    assert_eq!(sim.storage["md_consent"], "granted");
}

#[test]
fn not_required_means_granted_and_nothing_persisted_about_consent() {
    let sim = Sim::new(cfg());
    assert_eq!(sim.core.consent(), Consent::Granted);
    assert!(!sim.storage.contains_key("md_consent"));
    assert!(sim.core.anonymous_id().is_some());
}

// ------------------------------------------------------------------ identity, session, context

#[test]
fn identify_alias_reset_and_super_properties() {
    let mut sim = Sim::new(cfg());
    let anon = sim.core.anonymous_id().unwrap().to_owned();
    sim.call(|c, _| c.register(props(json!({"plan": "pro", "tier": 1}))));
    sim.call(|c, _| c.register_run(props(json!({"ab": "B"}))));
    sim.call(|c, now| c.identify(now, Some("u1"), props(json!({"openid": "o-1"}))));
    sim.call(|c, now| c.track(now, "buy", props(json!({"tier": 2}))));
    sim.call(|c, now| c.alias(now, "u2", None));
    sim.call(|c, _| c.unregister("plan"));
    let mut sim = sim.restart(10.0);
    assert_eq!(sim.core.user_id(), Some("u2"));
    track(&mut sim, "after_restart");
    sim.call(|c, now| c.reset(now));
    track(&mut sim, "after_reset");
    sim.call(|c, now| c.flush(now));
    let c = &sim.collector;
    let ident = c.events.iter().find(|e| e["type"] == "identify").unwrap();
    assert_eq!(ident["userId"], "u1");
    assert_eq!(ident["traits"]["openid"], "o-1");
    let buy = c.named("buy")[0];
    assert_eq!(
        buy["properties"],
        json!({"plan": "pro", "tier": 2, "ab": "B"})
    );
    let alias = c.events.iter().find(|e| e["type"] == "alias").unwrap();
    assert_eq!(
        (&alias["userId"], &alias["previousId"]),
        (&json!("u2"), &json!("u1"))
    );
    let ar = c.named("after_restart")[0];
    assert_eq!(ar["properties"], json!({"tier": 1}));
    assert_eq!(ar["anonymousId"], anon.as_str());
    let rs = c.named("after_reset")[0];
    assert!(rs.get("userId").is_none());
    assert_ne!(rs["anonymousId"], anon.as_str());
    assert!(rs.get("properties").is_none());
}

#[test]
fn sessions_roll_after_idle_timeout() {
    let mut sim = Sim::new(cfg());
    track(&mut sim, "a");
    let s1 = sim.core.session_id().unwrap().to_owned();
    sim.advance(29.0 * 60_000.0);
    track(&mut sim, "b");
    assert_eq!(sim.core.session_id(), Some(s1.as_str()));
    sim.call(|c, now| c.app_hide(now));
    // Session state survives a kill; the idle rule counts from the last event.
    let mut sim = sim.restart(31.0 * 60_000.0);
    track(&mut sim, "c");
    assert_ne!(sim.core.session_id(), Some(s1.as_str()));
    sim.call(|c, now| c.flush(now));
    let a = sim.collector.named("a")[0];
    assert_eq!(a["context"]["sessionId"], s1.as_str());
}

#[test]
fn context_scene_utm_share_first_day() {
    let mut sim = Sim::new(Config {
        context: serde_json::from_value(json!({
            "app": {"id": "wx123", "version": "1.2.0"},
            "os": {"name": "iOS", "version": "17.1"},
            "network": {"type": "wifi"}
        }))
        .unwrap(),
        ..cfg()
    });
    let opts = LaunchOptions {
        path: Some("pages/detail/detail".into()),
        scene: Some(1047),
        query: props(json!({
            "scene": "utm_source%3Dposter%26utm_campaign%3Ds1",
            "md_sharer": "friend-anon",
            "md_depth": "2",
            "md_method": "message"
        })),
    };
    sim.call(|c, now| c.app_launch(now, &opts));
    sim.call(|c, now| c.flush(now));
    let e = sim.collector.named("$app_launch")[0];
    let ctx = &e["context"];
    assert_eq!(e["properties"]["first_visit"], true);
    assert_eq!(ctx["app"]["id"], "wx123");
    assert_eq!(ctx["miniProgram"]["scene"], 1047);
    assert_eq!(ctx["miniProgram"]["platform"], "wechat");
    assert_eq!(ctx["miniProgram"]["launchPath"], "pages/detail/detail");
    assert_eq!(ctx["campaign"], json!({"source": "poster", "name": "s1"}));
    assert_eq!(
        ctx["share"],
        json!({"sharerId": "friend-anon", "depth": 2, "method": "message"})
    );
    assert_eq!(ctx["network"]["type"], "wifi");
    assert_eq!(ctx["firstDay"], true);
    assert_eq!(ctx["library"]["name"], "maidian-miniprogram");
    // Two days later: not the first day, not a first visit.
    let mut sim = sim.restart(2.0 * 86_400_000.0);
    sim.call(|c, now| c.app_launch(now, &LaunchOptions::default()));
    sim.call(|c, now| c.flush(now));
    let later = sim.collector.named("$app_launch")[1];
    assert!(later["context"].get("firstDay").is_none());
    assert!(later.get("properties").is_none());
}

#[test]
fn share_event_and_path_augmentation_only_when_enabled() {
    let mut sim = Sim::new(cfg());
    let path = "pages/detail/detail?id=42";
    assert_eq!(sim.core.share_path(path, Some("message")), path);
    sim.call(|c, now| {
        c.share(
            now,
            &ShareInput {
                method: Some("message".into()),
                from: Some("menu".into()),
                path: Some(path.into()),
            },
        );
    });
    sim.call(|c, now| c.flush(now));
    let s = sim.collector.named("$share")[0];
    assert_eq!(s["properties"]["share_depth"], 1);
    assert_eq!(s["properties"]["from"], "menu");

    let mut sim = Sim::new(Config {
        share_augment: true,
        ..cfg()
    });
    let anon = sim.core.anonymous_id().unwrap().to_owned();
    let opts = LaunchOptions {
        query: props(json!({"md_sharer": "x", "md_depth": "3"})),
        ..LaunchOptions::default()
    };
    sim.call(|c, now| c.app_launch(now, &opts));
    assert_eq!(
        sim.core.share_path(path, Some("timeline")),
        format!("pages/detail/detail?id=42&md_sharer={anon}&md_depth=4&md_method=timeline")
    );
}

// ------------------------------------------------------------------ auto-tracking

#[test]
fn page_durations_and_referrer() {
    let mut sim = Sim::new(cfg());
    show(&mut sim, "pages/a/a");
    sim.advance(1500.0);
    sim.call(|c, now| c.page_hide(now));
    sim.advance(100.0);
    show(&mut sim, "pages/b/b");
    sim.advance(700.0);
    // A page shown without a hide ends the previous view (redirects).
    show(&mut sim, "pages/c/c");
    sim.call(|c, now| c.flush(now));
    let c = &sim.collector;
    let pages: Vec<&Value> = c.events.iter().filter(|e| e["type"] == "page").collect();
    assert_eq!(pages.len(), 3);
    assert!(pages[0]["context"]["page"].get("referrer").is_none());
    assert_eq!(pages[1]["context"]["page"]["referrer"], "pages/a/a");
    assert_eq!(pages[2]["context"]["page"]["referrer"], "pages/b/b");
    let leaves = c.named("$page_leave");
    assert_eq!(leaves.len(), 2);
    assert_eq!(leaves[0]["properties"]["duration_ms"], 1500);
    assert_eq!(leaves[0]["context"]["page"]["path"], "pages/a/a");
    assert_eq!(leaves[1]["properties"]["duration_ms"], 700);
    assert_eq!(leaves[1]["context"]["page"]["referrer"], "pages/a/a");
}

#[test]
fn clicks_keep_only_allow_listed_dataset() {
    let mut sim = Sim::new(Config {
        dataset_allow: vec!["goodsId".into()],
        ..cfg()
    });
    show(&mut sim, "pages/a/a");
    let tap = Tap {
        kind: Some("longpress".into()),
        element_id: Some("buy-btn".into()),
        handler: Some("onBuy".into()),
        dataset: props(json!({"goodsId": 42, "mdPos": 3, "note": "user typed", "obj": {}})),
    };
    sim.call(|c, now| c.tap(now, &tap));
    sim.call(|c, now| c.flush(now));
    let e = sim.collector.named("$click")[0];
    assert_eq!(
        e["properties"],
        json!({"element_type": "longpress", "element_id": "buy-btn", "handler": "onBuy",
               "goodsId": 42, "mdPos": 3})
    );
    assert_eq!(e["context"]["page"]["path"], "pages/a/a");
}

#[test]
fn exposure_through_the_core() {
    let mut sim = Sim::new(Config {
        exposure_frequency: Frequency::PageView,
        ..cfg()
    });
    show(&mut sim, "pages/list/list");
    let entry = |key: &str, ratio: f64| ExposureEntry {
        key: key.into(),
        ratio,
        dataset: props(json!({"mdSku": key})),
    };
    sim.advance(100.0);
    let visible_at = sim.now;
    sim.call(|c, now| c.exposure(now, vec![entry("sku-1", 0.8), entry("sku-2", 0.3)]));
    assert_eq!(sim.wake, Some(visible_at + 500.0), "wake for the dwell");
    sim.advance(499.0);
    assert!(sim.collector.named("$exposure").is_empty());
    sim.advance(1.0);
    sim.call(|c, now| c.exposure(now, vec![entry("sku-1", 0.0), entry("sku-1", 1.0)]));
    sim.advance(5_000.0);
    sim.call(|c, now| c.flush(now));
    let ex = sim.collector.named("$exposure");
    assert_eq!(ex.len(), 1, "once per page view");
    assert_eq!(ex[0]["properties"]["element_key"], "sku-1");
    assert_eq!(ex[0]["properties"]["mdSku"], "sku-1");
    assert_eq!(ex[0]["properties"]["dwell_ms"], 500);
    assert_eq!(
        ex[0]["timestamp"],
        maidian_protocol::time::format_rfc3339_millis(visible_at as i64)
    );
    // Hidden before the dwell: nothing.
    sim.call(|c, now| c.exposure(now, vec![entry("sku-2", 0.9)]));
    sim.advance(200.0);
    sim.call(|c, now| c.page_hide(now));
    sim.advance(5_000.0);
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.collector.named("$exposure").len(), 1);
}

#[test]
fn autotrack_switches() {
    let mut sim = Sim::new(Config {
        autotrack: config::Autotrack {
            click: false,
            page_leave: false,
            ..config::Autotrack::default()
        },
        ..cfg()
    });
    show(&mut sim, "pages/a/a");
    sim.call(|c, now| c.tap(now, &Tap::default()));
    sim.call(|c, now| c.page_hide(now));
    sim.call(|c, now| c.flush(now));
    assert!(sim.collector.named("$click").is_empty());
    assert!(sim.collector.named("$page_leave").is_empty());
    assert_eq!(sim.collector.named("pages/a/a").len(), 1);
}

#[test]
fn app_events_switch_individually() {
    let mut sim = Sim::new(Config {
        autotrack: config::Autotrack {
            app_launch: false,
            app_hide: false,
            ..config::Autotrack::default()
        },
        ..cfg()
    });
    launch(&mut sim);
    sim.call(|c, now| c.app_hide(now));
    assert!(sim.collector.named("$app_launch").is_empty());
    assert!(sim.collector.named("$app_hide").is_empty());
    assert_eq!(sim.collector.named("$app_show").len(), 1);
    let c = Config::from_json(&Json::from(
        json!({"endpoint": "https://e", "writeKey": "k",
        "autotrack": {"app": false, "appShow": true}}),
    ))
    .unwrap();
    assert!(!c.autotrack.app_launch && c.autotrack.app_show && !c.autotrack.app_hide);
}

#[test]
fn wake_up_is_cancelled_when_nothing_is_due() {
    let mut sim = Sim::new(cfg());
    track(&mut sim, "a");
    assert!(sim.wake.is_some(), "the flush interval is armed");
    sim.call(|c, now| c.flush(now));
    assert_eq!(sim.collector.named("a").len(), 1);
    assert_eq!(sim.wake, None, "a `wakeAt: null` cancelled the timer");
    let wakes: Vec<_> = sim.core.poll_effects();
    assert!(wakes.is_empty());
}

#[test]
fn refused_storage_writes_keep_events_in_memory_and_retry() {
    let mut sim = Sim::new(cfg());
    sim.net = Net::Manual;
    sim.refuse_writes = true;
    track(&mut sim, "a");
    track(&mut sim, "b");
    assert!(sim.stored_event_ids().is_empty());
    assert!(sim.storage.keys().all(|k| !k.starts_with("md_q")));
    assert!(sim.logs.iter().any(|(_, m)| m.contains("storage refused")));
    // Unstored events are at risk: they are sent at once, not after the flush interval.
    assert_eq!(sim.outbox.len(), 1);
    assert_eq!(sim.core.queue_len(), 2);
    // Space comes back; the delivery of a first batch frees storage and the rest is rewritten.
    sim.refuse_writes = false;
    track(&mut sim, "c");
    assert_eq!(sim.stored_event_ids().len(), 1);
    sim.respond(200, None);
    sim.drain();
    while sim.respond(200, None).is_some() {
        sim.drain();
    }
    sim.call(|c, now| c.flush(now));
    while sim.respond(200, None).is_some() {
        sim.drain();
    }
    for n in ["a", "b", "c"] {
        assert_eq!(sim.collector.named(n).len(), 1, "{n}");
    }
    let diag = sim.collector.named("$sdk_diagnostic");
    assert_eq!(diag.len(), 1);
    assert_eq!(diag[0]["properties"]["persist_failed"], 2);
}

// ------------------------------------------------------------------ redaction, sampling, debug

#[test]
fn redaction_happens_before_storage() {
    let mut sim = Sim::new(Config {
        redact: vec![
            RedactRule {
                key: "phone".into(),
                action: RedactAction::Hash,
            },
            RedactRule {
                key: "password".into(),
                action: RedactAction::Drop,
            },
        ],
        hash_salt: "s".into(),
        consent_required: true,
        ..cfg()
    });
    sim.net = Net::Manual;
    sim.call(|c, now| {
        c.track(
            now,
            "signup",
            props(json!({"phone": "13800138000", "password": "pw"})),
        );
        c.identify(now, Some("u"), props(json!({"phone": "13800138000"})));
        c.grant(now);
    });
    let all: String = sim.storage.values().cloned().collect();
    assert!(!all.contains("13800138000") && !all.contains("\"pw\""));
    assert!(all.contains(&redact::hash_value("s", "13800138000")));
}

#[test]
fn sampling_per_event_name() {
    let sampling = vec![("$exposure".to_owned(), 0.0), ("noisy".to_owned(), 0.25)];
    let mut sim = Sim::new(Config { sampling, ..cfg() });
    sim.net = Net::Manual; // no delivery, so the drop counters are not reported yet
    for _ in 0..2000 {
        track(&mut sim, "noisy");
    }
    track(&mut sim, "kept");
    let kept = sim.core.stats().events_queued;
    assert!((400..600).contains(&kept), "{kept}");
    assert_eq!(sim.core.dropped().sampled_out + kept, 2001);
}

#[test]
fn invalid_calls_are_refused_with_a_warning() {
    let mut sim = Sim::new(cfg());
    track(&mut sim, "$click");
    track(&mut sim, "");
    let big = "x".repeat(40 << 10);
    sim.call(|c, now| c.track(now, "big", props(json!({"s": big}))));
    assert_eq!(sim.core.queue_len(), 0);
    assert_eq!(sim.core.dropped().invalid, 3);
    assert_eq!(
        sim.logs.iter().filter(|(l, _)| *l == Level::Warn).count(),
        3
    );
}

#[cfg(feature = "debug-validate")]
#[test]
fn debug_mode_validates_with_the_protocol_crate() {
    let mut sim = Sim::new(Config {
        debug: true,
        ..cfg()
    });
    track(&mut sim, "ok");
    assert!(
        sim.logs
            .iter()
            .any(|(l, m)| *l == Level::Debug && m.starts_with("valid"))
    );
    // Every event the core builds passes the collector's validation.
    let mut sim = scripted_session(Config {
        debug: true,
        ..cfg()
    });
    sim.drain();
    assert!(!sim.logs.iter().any(|(_, m)| m.starts_with("invalid")));
}

#[test]
fn every_built_event_passes_protocol_validation() {
    let sim = scripted_session(cfg());
    let limits = maidian_protocol::Limits::default();
    for e in &sim.collector.events {
        let text = e.to_string();
        let ck = maidian_protocol::Checker {
            limits: &limits,
            received_at: sim.now as i64,
            sent_at: None,
            implied_type: None,
        };
        assert!(
            maidian_protocol::validate_event(&text, &ck).is_ok(),
            "{text}"
        );
    }
}

/// Every kind of event the core builds, as the exact text it stores: valid for the protocol
/// crate's validator, readable as a `maidian_protocol::Message`, numbers as the host wrote them
/// and properties in insertion order.
#[test]
fn stored_event_text_is_a_valid_protocol_message() {
    let config = Config::from_json(&Json::from(json!({
        "endpoint": "https://t", "writeKey": "k", "consentRequired": true,
        "datasetAllow": ["sku"],
        "context": {"app": {"id": "wx1"}, "screen": {"width": 390, "height": 844, "density": 2.75}}
    })))
    .unwrap();
    let mut sim = Sim::new(config);
    sim.net = Net::Manual;
    launch(&mut sim);
    show(&mut sim, "pages/a/a");
    sim.call(|c, now| c.track(now, "before_consent", props(json!({"n": 1}))));
    sim.call(|c, now| c.grant(now));
    let raw =
        super::json_text::parse(r#"{"z":1.50,"a":[1e+21,-0.0],"o":{"y":true,"b":null}}"#).unwrap();
    let Json::Obj(raw) = raw else { panic!() };
    sim.call(|c, _| c.register(props(json!({"plan": "pro"}))));
    sim.call(|c, now| c.track(now, "buy", raw));
    sim.call(|c, now| c.page(now, "Detail", Obj::new()));
    sim.call(|c, now| c.identify(now, Some("u1"), props(json!({"tier": 2}))));
    sim.call(|c, now| c.alias(now, "u2", None));
    sim.call(|c, now| {
        c.tap(
            now,
            &Tap {
                dataset: props(json!({"sku": 7})),
                ..Tap::default()
            },
        );
    });
    sim.call(|c, now| {
        let entry = ExposureEntry {
            key: "card".into(),
            ratio: 0.666,
            dataset: Obj::new(),
        };
        c.exposure(now, vec![entry]);
    });
    sim.advance(2000.0);
    sim.call(|c, now| c.share(now, &ShareInput::default()));
    sim.call(|c, now| {
        c.page_hide(now);
        c.app_hide(now);
    });
    let limits = maidian_protocol::Limits::default();
    let ck = maidian_protocol::Checker {
        limits: &limits,
        received_at: sim.now as i64,
        sent_at: None,
        implied_type: None,
    };
    let q = format!("{}q", sim.core.cfg.storage_prefix);
    let texts: Vec<&str> = sim
        .storage
        .iter()
        .filter(|(k, _)| k.starts_with(&q))
        .flat_map(|(_, v)| v.lines())
        .filter(|l| l.starts_with("{\"messageId\""))
        .collect();
    let mut seen = BTreeSet::new();
    for text in &texts {
        assert!(
            maidian_protocol::validate_event(text, &ck).is_ok(),
            "{text}"
        );
        let m: maidian_protocol::Message = serde_json::from_str(text).unwrap();
        seen.insert(
            m.event
                .clone()
                .unwrap_or_else(|| m.kind.as_str().to_owned()),
        );
        let density = m.context.screen.as_ref().and_then(|s| s.density);
        assert_eq!(density, Some(2.75), "{text}");
        assert!(text.contains(r#""density":2.75"#), "{text}");
    }
    for kind in [
        "$app_launch",
        "$app_show",
        "before_consent",
        "buy",
        "page",
        "identify",
        "alias",
        "$click",
        "$exposure",
        "$share",
        "$page_leave",
        "$app_hide",
    ] {
        assert!(seen.contains(kind), "no {kind} in {seen:?}");
    }
    let buy = texts
        .iter()
        .find(|t| t.contains(r#""event":"buy""#))
        .unwrap();
    assert!(
        buy.contains(
            r#""properties":{"plan":"pro","z":1.50,"a":[1e+21,-0.0],"o":{"y":true,"b":null}}"#
        ),
        "{buy}"
    );
    let exposure = texts
        .iter()
        .find(|t| t.contains(r#""event":"$exposure""#))
        .unwrap();
    assert!(exposure.contains(r#""ratio":0.67"#), "{exposure}");
}

#[test]
fn config_and_entropy_errors() {
    let e = Core::new(Config::default(), Init::default());
    assert!(matches!(e, Err(InitError::Config(_))));
    let e = Core::new(
        cfg(),
        Init {
            entropy: vec![1; 8],
            ..Init::default()
        },
    );
    assert!(matches!(e, Err(InitError::NotEnoughEntropy)));
}

#[test]
fn two_devices_same_millisecond_different_ids() {
    let a = Sim::with_storage(cfg(), Default::default(), T0, 1);
    let b = Sim::with_storage(cfg(), Default::default(), T0, 2);
    assert_ne!(a.core.anonymous_id(), b.core.anonymous_id());
    let all = all_sent_ids(&a);
    assert!(all.is_empty());
}

// ------------------------------------------------------------------ routing key

#[test]
fn requests_carry_the_device_id_for_load_balancer_hashing() {
    let mut sim = Sim::new(cfg());
    launch(&mut sim);
    track(&mut sim, "add_to_cart");
    sim.call(|c, now| c.flush(now));
    let anon = sim
        .requests
        .first()
        .and_then(|r| r.events.first())
        .and_then(|e| e["anonymousId"].as_str())
        .map(str::to_owned)
        .expect("a request with an anonymous id");
    for r in &sim.requests {
        assert_eq!(r.headers[DEVICE_HEADER], anon.as_str());
        assert_eq!(
            r.url,
            format!("https://t.example.com/v1/batch?device={anon}")
        );
        assert_eq!(r.headers["X-Write-Key"], "wk");
    }
}
