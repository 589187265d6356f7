//! Native benchmark of the SDK core. Prints, for the defaults:
//! - `track()` µs per call (core only, effects drained by the fake host),
//! - ms to encode a 100-event batch (body assembly + gzip),
//! - for the scripted session (launch, 10 page views, 100 track calls 300 ms apart,
//!   hide): requests made, wire bytes per event, storage bytes written per delivered byte.
//!
//! Run: `cargo run --release -p maidian-sdk --example bench`
//! `MAIDIAN_BENCH_TRACKS=<n>`: only the `track()` part, with n calls — for callgrind, whose
//! instruction counts are stable where this shared machine's times are not:
//! `valgrind --tool=callgrind target/release/examples/bench` (docs/SDK.md).
//! (The figures for the shipped wasm under Node come from `sdk-wasm/bench/node-bench.mjs`.)

use std::time::Instant;

use maidian_sdk::core::config::Config;
use maidian_sdk::core::jv::{Json, Obj};
use maidian_sdk::core::sim::{Net, Sim, scripted_session};
use maidian_sdk::core::{LaunchOptions, PageView};
use serde_json::json;

/// A configuration with the static context a WeChat host would pass.
fn config() -> Config {
    let v = json!({
        "writeKey": "wk_live_0123456789",
        "endpoint": "https://t.example.com",
        "timezoneOffsetMin": 480,
        "context": {
            "app": {"id": "wx1234567890abcdef", "version": "1.4.2", "env": "release"},
            "miniProgram": {"platform": "wechat", "baseLibraryVersion": "3.5.8", "hostVersion": "8.0.53"},
            "device": {"brand": "iPhone", "model": "iPhone 15<iPhone16,1>"},
            "os": {"name": "iOS", "version": "17.5.1"},
            "screen": {"width": 393, "height": 852, "density": 3.0},
            "network": {"type": "wifi"},
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai"
        }
    });
    let v = maidian_sdk::core::json_text::parse(&v.to_string()).expect("valid JSON");
    match Config::from_json(&v) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn props(i: u32) -> Obj {
    let mut m = Obj::new();
    m.insert("item_id".into(), Json::Str(format!("sku-{i}")));
    m.insert("price".into(), Json::Num("19.9".into()));
    m.insert("category".into(), "shoes".into());
    m
}

fn main() {
    // track(): steady state with the default batching (every 50th call seals and gzips a batch).
    let mut sim = Sim::new(config());
    sim.call(|c, now| c.app_launch(now, &LaunchOptions::default()));
    let view = PageView {
        path: "pages/detail/detail".into(),
        ..PageView::default()
    };
    sim.call(|c, now| c.page_show(now, &view));
    // Drive the core directly (the fake host's bookkeeping is not part of the figure): a host
    // that stores nothing and answers every send with 200.
    let mut core = sim.core;
    let mut now = sim.now;
    let only_track = std::env::var("MAIDIAN_BENCH_TRACKS").ok();
    let n: u32 = only_track
        .as_deref()
        .map_or(20_000, |v| v.parse().unwrap_or(20_000));
    let t = Instant::now();
    for i in 0..n {
        now += 1.0;
        core.track(now, "view_item", props(i));
        for e in core.poll_effects() {
            if let maidian_sdk::core::Effect::Send { batch_id, .. } = e {
                core.sent(now, batch_id, 200, None);
                let _ = core.poll_effects();
            }
        }
    }
    let per_call = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("track(): {per_call:.2} µs per call (native core, incl. batching and gzip)");
    if only_track.is_some() {
        return;
    }

    // Encoding a 100-event batch: queue 100 events, then time the flush (body + gzip).
    let mut total = 0.0;
    let mut bytes = 0;
    let rounds = 50;
    for _ in 0..rounds {
        let mut s = Sim::new(Config {
            flush_at: 1000,
            flush_interval_ms: 3_600_000,
            ..config()
        });
        s.net = Net::Manual;
        for i in 0..100 {
            s.call(|c, now| c.track(now, "view_item", props(i)));
        }
        let t = Instant::now();
        s.core.flush(s.now);
        let effects = s.core.poll_effects();
        total += t.elapsed().as_secs_f64() * 1e3;
        for e in effects {
            if let maidian_sdk::core::Effect::Send { body, .. } = e {
                bytes = body.len();
            }
        }
    }
    println!(
        "encode a 100-event batch: {:.3} ms ({bytes} bytes gzip)",
        total / rounds as f64
    );

    // The scripted session.
    let s = scripted_session(config());
    let st = s.core.stats();
    let events = s.collector.events.len();
    println!(
        "scripted session: {events} events delivered, {} requests, {:.1} wire bytes/event (gzip body), \
         {:.3} storage bytes written per delivered byte ({} written / {} delivered event bytes)",
        st.requests,
        st.wire_bytes as f64 / events as f64,
        s.storage_bytes_written as f64 / st.delivered_event_bytes as f64,
        s.storage_bytes_written,
        st.delivered_event_bytes,
    );
    println!(
        "  uncompressed JSON: {:.0} bytes/event",
        st.delivered_event_bytes as f64 / events as f64
    );
}
