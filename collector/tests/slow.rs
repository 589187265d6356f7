//! Slow clients against the real binary: hundreds of connections trickle their headers or
//! their bodies one byte at a time while a normal client keeps being answered within a bound;
//! the tricklers are cut by the read timeouts (408 for a body, the connection closed for
//! headers) and the collector stays healthy.

// Test helpers outside #[test] fns: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;

const SLOW: usize = 300;
const READ_TIMEOUT_MS: u64 = 2000;

#[test]
fn trickling_clients_do_not_starve_a_normal_client() {
    let dir = TempDir::new("slow");
    let timeout = READ_TIMEOUT_MS.to_string();
    let s = Server::start(dir.path(), &["--read-timeout-ms", &timeout]);
    let body = batch(&ids(1, 1));

    // Half trickle headers, half send complete headers and trickle a body.
    let mut conns: Vec<(bool, TcpStream)> = Vec::new();
    for i in 0..SLOW {
        let mut c = TcpStream::connect(s.addr).unwrap();
        let header_trickler = i % 2 == 0;
        let start = if header_trickler {
            "POST /v1/batch HTTP/1.1\r\nhost: x\r\n".to_owned()
        } else {
            format!(
                "POST /v1/batch HTTP/1.1\r\nhost: x\r\nx-write-key: {KEY}\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len() + 10_000
            )
        };
        c.write_all(start.as_bytes()).unwrap();
        conns.push((header_trickler, c));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let stop = stop.clone();
        let mut writers: Vec<(bool, TcpStream)> = conns
            .iter()
            .map(|(h, c)| (*h, c.try_clone().unwrap()))
            .collect();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for (header, w) in &mut writers {
                    // Errors are expected once the collector has cut the connection.
                    let _ = w.write_all(if *header { b"x" } else { b" " });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    // A normal client is answered promptly the whole time the tricklers are connected.
    let bound = Duration::from_secs(2);
    let until = Instant::now() + Duration::from_millis(READ_TIMEOUT_MS + 500);
    let mut n = 100;
    let mut worst = Duration::ZERO;
    while Instant::now() < until {
        n += 1;
        let t = Instant::now();
        let r = s.post(
            "/v1/batch",
            &[("x-write-key", KEY), ("content-type", "application/json")],
            batch(&ids(n, 1)).as_bytes(),
        );
        let took = t.elapsed();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            took < bound,
            "normal request took {took:?} among {SLOW} slow clients"
        );
        worst = worst.max(took);
    }
    eprintln!("{} normal requests, slowest {worst:?}", n - 100);

    // Every trickler is cut by the read timeout: a body trickler gets 408, a header trickler
    // (hyper's header timeout) a closed connection.
    let deadline = Instant::now() + Duration::from_millis(READ_TIMEOUT_MS * 3);
    for (header, c) in &mut conns {
        let left = deadline.saturating_duration_since(Instant::now());
        c.set_read_timeout(Some(left.max(Duration::from_millis(100))))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let closed = loop {
            match c.read(&mut buf) {
                Ok(0) => break true,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(e) => panic!("trickler not cut within the read timeout: {e}"),
            }
        };
        assert!(closed);
        let text = String::from_utf8_lossy(&got);
        if !*header {
            assert!(
                text.starts_with("HTTP/1.1 408"),
                "body trickler got {text:?}"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    trickle.join().unwrap();
    // Only the metrics request's own connection is left open.
    wait_until(
        "trickler connections released",
        Duration::from_secs(10),
        || {
            request(s.addr, "GET", "/metrics", &[], b"")
                .body
                .contains("maidian_connections_open 1\n")
        },
    );
    s.stop();
}
