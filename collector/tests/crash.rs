//! Crash test: kill -9 the collector repeatedly under concurrent load. Clients behave like
//! the SDK: a batch leaves their queue only on a 2xx, and is resent unchanged (same ids)
//! after an error or a dropped connection. After the last restart every acknowledged id is in
//! the files exactly once, no torn line remains, and no `.open` file is left after a clean
//! stop.

// Test helpers outside #[test] fns: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const CLIENTS: usize = 6;
const BATCH: usize = 20;
const CYCLES: usize = 4;
/// Acknowledged batches per cycle before the kill.
const ACKS_PER_CYCLE: u64 = 150;

struct Client {
    /// Batches not yet acknowledged (each resent unchanged until a 2xx).
    pending: Vec<Vec<String>>,
    next: u64,
    acked: Vec<String>,
}

#[test]
fn kill_dash_nine_under_load_loses_and_duplicates_nothing() {
    let dir = TempDir::new("crash");
    let data = dir.path().to_path_buf();
    let flags = ["--rotate-max-bytes", "40000"];
    let clients: Vec<Arc<Mutex<Client>>> = (0..CLIENTS)
        .map(|c| {
            Arc::new(Mutex::new(Client {
                pending: Vec::new(),
                next: (c as u64 + 1) * 10_000,
                acked: Vec::new(),
            }))
        })
        .collect();
    let total_acks = Arc::new(AtomicU64::new(0));
    let mut server = Server::start(&data, &flags);
    for cycle in 0..CYCLES {
        let addr = server.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let before = total_acks.load(Ordering::Relaxed);
        let threads: Vec<_> = clients
            .iter()
            .map(|c| {
                let c = c.clone();
                let stop = stop.clone();
                let total = total_acks.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let batch_ids = {
                            let mut c = c.lock().unwrap();
                            if c.pending.is_empty() {
                                let n = c.next;
                                c.next += 1;
                                c.pending.push(ids(n, BATCH));
                            }
                            c.pending[0].clone()
                        };
                        let body = batch(&batch_ids);
                        match try_request(
                            addr,
                            "POST",
                            "/v1/batch",
                            &[("x-write-key", KEY)],
                            body.as_bytes(),
                        ) {
                            Ok(r) if r.status == 200 => {
                                assert_eq!(
                                    r.accepted() + r.duplicates(),
                                    BATCH as u64,
                                    "{}",
                                    r.body
                                );
                                let mut c = c.lock().unwrap();
                                c.pending.remove(0);
                                c.acked.extend(batch_ids);
                                total.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(r) => assert_eq!(r.status, 503, "{}", r.body),
                            Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        }
                    }
                })
            })
            .collect();
        // Let real load build up, then crash mid-stream.
        let deadline = Instant::now() + Duration::from_secs(30);
        while total_acks.load(Ordering::Relaxed) < before + ACKS_PER_CYCLE {
            assert!(Instant::now() < deadline, "no progress in cycle {cycle}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let (d, args) = server.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        // Restart: recovery cuts torn tails and re-learns the ids of unsealed files.
        server = start_again(&d, args);
    }
    // Drain: every client's pending batch is resent until acknowledged.
    for c in &clients {
        let mut c = c.lock().unwrap();
        while let Some(b) = c.pending.first().cloned() {
            let r = server.post("/v1/batch", &[("x-write-key", KEY)], batch(&b).as_bytes());
            assert_eq!(r.status, 200, "{}", r.body);
            c.pending.remove(0);
            c.acked.extend(b);
        }
    }
    server.stop();

    let stored = stored_ids(&data, "demo"); // also asserts: no torn line, every line JSON
    let mut count: HashMap<&str, usize> = HashMap::new();
    for id in &stored {
        *count.entry(id.as_str()).or_default() += 1;
    }
    let mut acked = 0;
    for c in &clients {
        for id in &c.lock().unwrap().acked {
            acked += 1;
            assert_eq!(
                count.get(id.as_str()),
                Some(&1),
                "acked id {id} stored {:?} times",
                count.get(id.as_str())
            );
        }
    }
    assert!(count.values().all(|n| *n == 1), "a stored id appears twice");
    assert_eq!(
        stored.len(),
        acked,
        "only acknowledged (or later retried) events are stored"
    );
    let all = files(&data);
    assert!(
        all.iter()
            .all(|f| !name(f).ends_with(".open") && !name(f).ends_with(".partial"))
    );
    // The kills really left unsealed files behind, which recovery sealed.
    let recovered = all
        .iter()
        .filter(|f| name(f).ends_with(".manifest.json"))
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("\"trigger\": \"recovery\"")
        })
        .count();
    assert!(recovered >= 1, "no file was left open by a kill");
    // Every sealed data file has its manifest with the right count.
    for f in all.iter().filter(|f| name(f).ends_with(".ndjson")) {
        let m = f.with_file_name(name(f).replace(".ndjson", ".manifest.json"));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&m).unwrap()).unwrap();
        let lines = std::fs::read_to_string(f).unwrap().lines().count() as u64;
        assert_eq!(m["events"].as_u64(), Some(lines), "{}", f.display());
    }
}
