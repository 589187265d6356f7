//! Dedup memory benchmark (prints figures): RSS growth per remembered id.
//!
//! ```text
//! cargo bench -p maidian-collector --bench dedup_memory
//! ```
//! Inserts canonical UUID ids (the compact path) and, separately, non-canonical text ids
//! into one project's [`DedupSet`] and reports resident-set growth per million ids, next to
//! the table's own accounting.

use std::time::Instant;

use maidian_collector::dedup::{DedupSet, Form, classify, format_compact};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let window = 24 * 3600 * 1000;
    let now = 1_795_540_246_123i64;
    println!("compact ids (lower-case hyphenated UUIDs):");
    let mut d = DedupSet::new(window);
    d.advance(now);
    let base = rss_bytes();
    let t = Instant::now();
    let mut n = 0u64;
    for target in [1_000_000u64, 2_000_000, 5_000_000, 10_000_000, 20_000_000] {
        while n < target {
            let id = format_compact(
                [
                    n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    n ^ 0x5DEE_CE66_D1CE_4E5B,
                ],
                Form::Hyphenated,
            );
            d.remember(classify(&id), now);
            n += 1;
        }
        let grow = rss_bytes().saturating_sub(base);
        let s = d.stats();
        println!(
            "  {:>9} ids: RSS +{:>7.1} MB = {:>5.1} B/id (RSS), table {:>5.1} B/id, {:.0} ns/insert",
            n,
            grow as f64 / 1e6,
            grow as f64 / n as f64,
            s.compact_bytes as f64 / s.compact_ids as f64,
            t.elapsed().as_nanos() as f64 / n as f64,
        );
    }
    // Lookups alone (keys pre-parsed), 1M hits then 1M misses, in a 20M-id table.
    use maidian_collector::dedup::{IdKey, Status};
    for (label, offset) in [("hit", 0u64), ("miss", 1u64 << 40)] {
        let keys: Vec<[u64; 2]> = (offset..offset + 1_000_000)
            .map(|k| {
                [
                    k.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    k ^ 0x5DEE_CE66_D1CE_4E5B,
                ]
            })
            .collect();
        let t = Instant::now();
        let mut found = 0u64;
        for k in &keys {
            found += u64::from(d.status(IdKey::Compact(*k, Form::Hyphenated), 0) == Status::Stored);
        }
        println!(
            "  lookup ({label}): {:.0} ns each; found {found}",
            t.elapsed().as_nanos() as f64 / 1e6
        );
    }
    drop(d);

    println!("text ids (`evt-<n>`, 12-14 bytes):");
    let mut d = DedupSet::new(window);
    d.advance(now);
    let base = rss_bytes();
    for target in [1_000_000u64, 2_000_000] {
        let start = d.stats().text_ids as u64;
        for k in start..target {
            d.remember(classify(&format!("evt-{k}")), now);
        }
        let grow = rss_bytes().saturating_sub(base);
        println!(
            "  {:>9} ids: RSS +{:>7.1} MB = {:>5.1} B/id",
            target,
            grow as f64 / 1e6,
            grow as f64 / target as f64
        );
    }
}
