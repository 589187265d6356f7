//! Load-balanced deployment against real processes: nginx (the Debian package) in front of two
//! collector binaries, configured from examples/deploy/nginx.conf (consistent hash on
//! `X-Maidian-Device` / `?device=`, passive failure detection). Batches from many devices go
//! through nginx, with retries of the same batch; one collector is drained with SIGTERM in the
//! middle; afterwards every acknowledged event is stored exactly once across both instances.
//!
//! nginx open source has no active health checks, so `/readyz` failing during the drain delay
//! does not steer nginx: the draining instance keeps answering until its listener closes, then
//! nginx sees `connect() refused`, passes the not-yet-sent request to the other instance
//! (`proxy_next_upstream error`) and marks the instance failed (`max_fails`/`fail_timeout`).
//!
//! Without nginx the test fails when `CI` is set and is skipped (with a message) otherwise.

// Test helpers outside #[test] fns: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const EXAMPLE: &str = include_str!("../../examples/deploy/nginx.conf");

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            Command::new("nginx")
                .arg("-v")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
                .map(|_| PathBuf::from("nginx"))
        })
}

/// `from` replaced by `to`, exactly `count` times (so a changed example fails loudly).
fn subst(text: &str, from: &str, to: &str, count: usize) -> String {
    assert_eq!(
        text.matches(from).count(),
        count,
        "examples/deploy/nginx.conf changed: expected {count}× {from:?}"
    );
    text.replace(from, to)
}

/// The example configuration with the test's ports, in the foreground, one worker.
fn nginx_conf(port: u16, a: SocketAddr, b: SocketAddr, running_as_root: bool) -> String {
    let c = subst(EXAMPLE, "worker_processes auto;", "worker_processes 1;", 1);
    let c = subst(&c, "server 127.0.0.1:8081 ", &format!("server {a} "), 1);
    let c = subst(&c, "server 127.0.0.1:8082 ", &format!("server {b} "), 1);
    let c = subst(&c, "listen 8080;", &format!("listen 127.0.0.1:{port};"), 1);
    // As root, workers would switch to `nobody`, who cannot enter the test's directories.
    let user = if running_as_root { "user root;\n" } else { "" };
    format!("daemon off;\n{user}{c}")
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

struct Nginx {
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    fn start(bin: &Path, prefix: &Path, conf: &str, port: u16) -> Self {
        let conf_path = prefix.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(bin)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(prefix.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nginx");
        let mut n = Nginx {
            child,
            prefix: prefix.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(s) = n.child.try_wait().unwrap() {
                panic!("nginx exited with {s}: {}", n.error_log());
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {}",
                n.error_log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        n
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.prefix.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Sends one device's batch through nginx until it is acknowledged (a 5xx or a refused
/// connection is retried, as the SDK does, with a deadline). Returns the answer.
fn send(lb: SocketAddr, device: &str, body: &str) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(30);
    let path = format!("/v1/batch?device={device}");
    let auth = basic(KEY);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
        ("x-maidian-device", device),
    ];
    loop {
        let last = match try_request(lb, "POST", &path, &headers, body.as_bytes()) {
            Ok(r) if r.status == 200 => return r,
            Ok(r) => format!("{} {}", r.status, r.body),
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "batch of {device} never acknowledged; last answer: {last}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn nginx_two_collectors_drain_one_exactly_once() {
    let Some(bin) = nginx_binary() else {
        let why = "nginx is not installed (Debian: apt-get install nginx-light; .ci/setup does)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("SKIPPED nginx_two_collectors_drain_one_exactly_once: {why}");
        return;
    };
    let dir = TempDir::new("lb");
    let (d1, d2) = (dir.path().join("c1"), dir.path().join("c2"));
    let drain = ["--drain-delay-ms", "1000", "--shutdown-grace-ms", "5000"];
    let c1 = Server::start(&d1, &drain);
    let c2 = Server::start(&d2, &drain);
    let port = free_port();
    let prefix = dir.path().join("nginx");
    std::fs::create_dir_all(&prefix).unwrap();
    let conf = nginx_conf(port, c1.addr, c2.addr, running_as_root());
    let nginx = Nginx::start(&bin, &prefix, &conf, port);
    let lb: SocketAddr = ([127, 0, 0, 1], port).into();

    let devices: Vec<String> = (0..40).map(|i| format!("dev-{i:03}")).collect();
    let mut acked: Vec<String> = Vec::new();
    let mut seq = 0u64;
    let mut next_batch = |n: usize| {
        seq += 1;
        ids(seq, n)
    };

    // Phase 1: both up. Every batch is sent twice (a retry after a lost answer); the retry
    // reaches the same instance (same device → same upstream), so it is all duplicates.
    for round in 0..3 {
        for d in &devices {
            let b = next_batch(1 + round);
            let body = batch(&b);
            let first = send(lb, d, &body);
            assert_eq!(first.accepted() + first.duplicates(), b.len() as u64);
            let retry = send(lb, d, &body);
            assert_eq!(
                (retry.accepted(), retry.duplicates()),
                (0, b.len() as u64),
                "retry of {d}'s batch reached the other instance"
            );
            acked.extend(b);
        }
    }
    for c in [&c1, &c2] {
        let m = request(c.addr, "GET", "/metrics", &[], b"").body;
        assert!(
            !m.contains("maidian_events_accepted_total 0\n"),
            "the hash sent every device to one instance"
        );
    }

    // Phase 2: SIGTERM c1. It fails /readyz at once, keeps serving for the drain delay, then
    // stops accepting; nginx passes new requests to c2. Batches keep flowing meanwhile (each
    // sent until acknowledged, no deliberate retries: a device's instance changes now).
    c1.sigterm();
    wait_until(
        "c1 /readyz fails while draining",
        Duration::from_secs(10),
        || try_request(c1.addr, "GET", "/readyz", &[], b"").is_ok_and(|r| r.status == 503),
    );
    let mut c1 = c1;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent_while_draining = 0;
    let c1_exit = loop {
        for d in &devices {
            let b = next_batch(2);
            let r = send(lb, d, &batch(&b));
            assert_eq!(r.accepted(), 2, "fresh batch of {d}: {}", r.body);
            acked.extend(b);
            sent_while_draining += 1;
        }
        if let Some(s) = c1.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "c1 did not stop");
    };
    assert!(c1_exit.success(), "c1 exited with {c1_exit}");
    assert!(sent_while_draining >= devices.len());

    // Phase 3: only c2. Batches and retries again: all land on c2.
    for d in &devices {
        let b = next_batch(3);
        let body = batch(&b);
        assert_eq!(send(lb, d, &body).accepted(), 3);
        let retry = send(lb, d, &body);
        assert_eq!((retry.accepted(), retry.duplicates()), (0, 3));
        acked.extend(b);
    }
    drop(nginx);
    c2.stop();

    // Every acknowledged event exactly once across both instances' files.
    let mut count: HashMap<String, u32> = HashMap::new();
    for d in [&d1, &d2] {
        for id in stored_ids(d, "demo") {
            *count.entry(id).or_default() += 1;
        }
    }
    let missing: Vec<_> = acked.iter().filter(|i| !count.contains_key(*i)).collect();
    let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert_eq!(
        count.len(),
        acked.len(),
        "stored events that were never sent"
    );
    let on_c1 = stored_ids(&d1, "demo").len();
    assert!(on_c1 > 0 && on_c1 < acked.len(), "c1 stored {on_c1}");
}
