//! Dedup request-path benchmark (prints figures): the time the request path spends in one
//! project's dedup set per new id in steady state, with the server's allocator (mimalloc, so
//! the table gets the same transparent huge pages as in the server).
//!
//! ```text
//! cargo bench -p maidian-collector --bench dedup_path
//! ```
//! `MAIDIAN_BENCH_ROUNDS` (default 60) sets the rounds (more for `perf record`).

use std::time::Instant;

use maidian_collector::dedup::{DedupSet, Form};

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
}
