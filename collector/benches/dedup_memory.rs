//! Dedup memory benchmark (prints figures): RSS growth per remembered id, and the time the
//! request path spends in the dedup set per id in steady state.
//!
//! ```text
//! cargo bench -p maidian-collector --bench dedup_memory
//! cargo bench -p maidian-collector --bench dedup_memory -- --request-path   # that part only
//! ```
//! `MAIDIAN_BENCH_ROUNDS` (default 60) sets the request-path rounds (more for `perf record`).
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

/// The server's allocator (collector/src/main.rs), so the table gets the same pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn key(n: u64) -> [u64; 2] {
    [
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        n ^ 0x5DEE_CE66_D1CE_4E5B,
    ]
}

/// The request path's dedup work in steady state: a table sized for 4 M ids holding 1 M,
/// then rounds of 32 requests of 100 new ids each: every request warms and claims its ids
/// (as `ingest::store` does before the append), 4 MB of other memory is read (what the 32
/// requests' bodies and lines do to the caches meanwhile), then every request warms and
/// commits its ids. Prints ns per id for each phase (median of the rounds).
fn request_path() {
    use maidian_collector::dedup::IdKey;
    let now = 1_795_540_246_123i64;
    let mut d = DedupSet::with_capacity(24 * 3600 * 1000, 4_000_000);
    d.advance(now);
    for n in 0..1_000_000u64 {
        d.remember(IdKey::Compact(key(n), Form::Hyphenated), now);
    }
    let other = vec![1u8; 4 << 20];
    let (mut claim_ns, mut commit_ns) = (Vec::new(), Vec::new());
    let mut next = 1u64 << 40;
    let rounds: usize = std::env::var("MAIDIAN_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    for _round in 0..rounds {
        let requests: Vec<Vec<[u64; 2]>> = (0..32)
            .map(|_| {
                (0..100)
                    .map(|_| {
                        next += 1;
                        key(next)
                    })
                    .collect()
            })
            .collect();
        let ids = |r: &Vec<[u64; 2]>| {
            r.iter()
                .map(|k| IdKey::Compact(*k, Form::Hyphenated))
                .collect::<Vec<_>>()
        };
        let t = Instant::now();
        for (ticket, r) in requests.iter().enumerate() {
            let keys = ids(r);
            std::hint::black_box(d.warm(keys.iter().copied()));
            for k in &keys {
                std::hint::black_box(d.claim(*k, ticket as u64));
            }
        }
        claim_ns.push(t.elapsed().as_nanos() as f64 / 3200.0);
        std::hint::black_box(other.iter().map(|&b| u64::from(b)).sum::<u64>());
        let t = Instant::now();
        for (ticket, r) in requests.iter().enumerate() {
            let keys = ids(r);
            std::hint::black_box(d.warm(keys.iter().copied()));
            for k in &keys {
                d.commit(*k, ticket as u64, now);
            }
        }
        commit_ns.push(t.elapsed().as_nanos() as f64 / 3200.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "request path (table sized for 4 M ids, 1 M held; 100-id requests): warm+claim {:.1} ns/id, warm+commit {:.1} ns/id (medians of 60 rounds of 32 requests)",
        median(&mut claim_ns),
        median(&mut commit_ns)
    );
    let huge = std::fs::read_to_string("/proc/self/smaps_rollup")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("AnonHugePages:"))
        .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_owned())
        .unwrap_or_else(|| "?".into());
    println!("  (transparent huge pages in use: {huge} kB)");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    request_path();
    if std::env::args().any(|a| a == "--request-path") {
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
