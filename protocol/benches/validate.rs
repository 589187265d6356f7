//! Validation throughput: prints validated events/s for 100-event batches on the borrowed fast
//! path, next to a baseline that builds a `serde_json::Value` tree for the same bodies, both
//! measured in the same run (medians of repeated rounds; the machine is shared and noisy).
//!
//! Run: `cargo bench -p maidian-protocol --bench validate`

use std::hint::black_box;
use std::time::Instant;

use maidian_protocol::time::format_rfc3339_millis;
use maidian_protocol::{Checker, Enrichment, Hint, Limits, LineWriter, split_body, validate_items};

const NOW: i64 = 1_795_540_246_123;
const BATCHES: usize = 200;
const EVENTS: usize = 100;
const ROUNDS: usize = 15;

/// `MAIDIAN_BENCH_ROUNDS=1` for instruction counting under `valgrind --tool=callgrind`.
fn rounds() -> usize {
    std::env::var("MAIDIAN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ROUNDS)
}

fn event(b: usize, i: usize) -> serde_json::Value {
    serde_json::json!({
        "messageId": format!("{:08x}-3b1a-4c6d-9e7f-{:012x}", b, i),
        "type": if i % 5 == 0 { "page" } else { "track" },
        "event": if i % 5 == 0 { None } else { Some(["add_to_cart", "$click", "$exposure"][i % 3]) },
        "name": if i % 5 == 0 { Some("pages/detail/detail") } else { None },
        "anonymousId": format!("a{b:07}-e1c9-4d5e-8f00-1122334455{i:02}"),
        "timestamp": format_rfc3339_millis(NOW - 60_000 + i as i64 * 300),
        "context": {
            "library": {"name": "maidian-miniprogram", "version": "0.1.0"},
            "app": {"id": "wx1234567890abcdef", "version": "1.4.2"},
            "miniProgram": {"platform": "wechat", "scene": 1047, "baseLibraryVersion": "3.6.4"},
            "page": {"path": "pages/detail/detail", "query": "id=42&from=home", "referrer": "pages/list/list"},
            "campaign": {"source": "wechat_ad", "medium": "cpc", "name": "double11"},
            "network": {"type": "wifi"},
            "device": {"brand": "iPhone", "model": "iPhone 15<iPhone16,1>"},
            "os": {"name": "iOS", "version": "17.4.1"},
            "sessionId": format!("s-{b}"),
        },
        "properties": {"sku": format!("SKU-{i}"), "price": 12.5 + i as f64, "qty": 1 + i % 3, "tags": ["sale", "new"]}
    })
}

fn bodies() -> Vec<String> {
    (0..BATCHES)
        .map(|b| {
            let batch: Vec<_> = (0..EVENTS).map(|i| event(b, i)).collect();
            serde_json::json!({"batch": batch, "sentAt": format_rfc3339_millis(NOW)}).to_string()
        })
        .collect()
}

fn fast_path(bodies: &[String], limits: &Limits) -> usize {
    let mut ok = 0;
    for body in bodies {
        let mut split = split_body(body.as_bytes(), Hint::Detect, limits).expect("valid body");
        let ck = Checker {
            limits,
            received_at: NOW,
            sent_at: split.sent_at,
            implied_type: None,
        };
        ok += validate_items(&mut split, &ck)
            .iter()
            .filter(|r| r.is_ok())
            .count();
    }
    ok
}

/// The body split alone: finding the items of each body runs the event scan over every item
/// (`scan::object`), so this row is mostly that scan.
fn split_only(bodies: &[String], limits: &Limits) -> usize {
    let mut items = 0;
    for body in bodies {
        items += split_body(body.as_bytes(), Hint::Detect, limits)
            .expect("valid body")
            .items
            .len();
    }
    items
}

/// What the collector does per request: split, validate, and write every stored line.
fn fast_path_with_lines(bodies: &[String], limits: &Limits, out: &mut String) -> usize {
    let mut ok = 0;
    let enrichment = Enrichment {
        received_at: NOW,
        project_id: "demo",
        ip: Some("203.0.113.9"),
        user_agent: Some("Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"),
        collector_id: "c1",
    };
    for body in bodies {
        out.clear();
        let mut split = split_body(body.as_bytes(), Hint::Detect, limits).expect("valid body");
        let ck = Checker {
            limits,
            received_at: NOW,
            sent_at: split.sent_at,
            implied_type: None,
        };
        let mut writer = LineWriter::new(&enrichment);
        for ev in validate_items(&mut split, &ck).into_iter().flatten() {
            writer.write(&ev, out);
            ok += 1;
        }
    }
    ok
}

/// Baseline: parse each body into a `Value` tree and check the same required fields.
fn tree_baseline(bodies: &[String]) -> usize {
    let mut ok = 0;
    for body in bodies {
        let v: serde_json::Value = serde_json::from_str(body).expect("valid body");
        for e in v["batch"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let has = |k: &str| e.get(k).is_some_and(|x| !x.is_null());
            let ts_ok = e["timestamp"]
                .as_str()
                .and_then(maidian_protocol::time::parse_rfc3339)
                .is_some();
            if has("messageId") && has("type") && (has("anonymousId") || has("userId")) && ts_ok {
                ok += 1;
            }
        }
    }
    ok
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let limits = Limits::default();
    let bodies = bodies();
    let bytes: usize = bodies.iter().map(String::len).sum();
    let total = BATCHES * EVENTS;
    assert_eq!(
        fast_path(&bodies, &limits),
        total,
        "every bench event must be valid"
    );
    let (mut fast, mut tree, mut lines, mut split) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut out = String::with_capacity(1 << 20);
    for _ in 0..rounds() {
        let t = Instant::now();
        black_box(fast_path(black_box(&bodies), &limits));
        fast.push(total as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        black_box(tree_baseline(black_box(&bodies)));
        tree.push(total as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        black_box(fast_path_with_lines(black_box(&bodies), &limits, &mut out));
        lines.push(total as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        black_box(split_only(black_box(&bodies), &limits));
        split.push(total as f64 / t.elapsed().as_secs_f64());
    }
    let (f, t, w, s) = (median(fast), median(tree), median(lines), median(split));
    println!(
        "validate: {BATCHES} batches x {EVENTS} events, {:.0} bytes/event, median of {} rounds",
        bytes as f64 / total as f64,
        rounds()
    );
    println!(
        "  borrowed fast path (full validation): {:>10.0} events/s  {:>7.1} MB/s",
        f,
        f * bytes as f64 / total as f64 / 1e6
    );
    println!(
        "  Value-tree baseline (required fields only): {:>10.0} events/s",
        t
    );
    println!("  ratio fast/baseline: {:.2}x", f / t);
    println!("  fast path + stored lines (collector's CPU work per event): {w:>10.0} events/s");
    println!("  body split alone (the event scan of every item): {s:>10.0} events/s");
}
