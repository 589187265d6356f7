//! Edge and operations against the real collector binary: configuration layers (file <
//! environment < flags, `--check-config`, `--print-config`, the demo-key guard), several keys
//! per project, app-id and origin allow-lists, CORS, rate limits with `Retry-After`, trusted
//! proxies, the concurrency and connection limits, `/healthz` and `/readyz` (draining, a
//! saturated writer queue, an unwritable data directory).

// Test helpers outside #[test] fns: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_maidian-collector");

fn run_bin(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn post_key(s: &Server, key: &str, extra: &[(&str, &str)], n: u64) -> Resp {
    let mut headers = vec![("x-write-key", key), ("content-type", "application/json")];
    headers.extend_from_slice(extra);
    s.post("/v1/batch", &headers, batch(&ids(n, 1)).as_bytes())
}

const SHOP: &str = r#"
[[projects]]
name = "shop"
write_keys = ["shop-k1", "shop-k2"]
app_ids = ["wx0123456789abcdef"]
origins = ["https://shop.example.com", "https://*.shop.example.org"]
cors_credentials = true

[[projects]]
name = "open"
write_keys = ["open-k"]
"#;

#[test]
fn configuration_layers_check_and_print() {
    let dir = TempDir::new("config");
    let file = dir.path().join("collector.toml");
    std::fs::write(
        &file,
        format!(
            "collector_id = \"from-file\"\nqueue_depth = 7\n[limits]\nmax_body_bytes = 5000\n{SHOP}"
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();

    let (code, out, err) = run_bin(&["--config", f, "--print-config"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("collector_id = \"from-file\""), "{out}");
    assert!(out.contains("queue_depth = 7"), "{out}");
    assert!(out.contains("max_body_bytes = 5000"), "{out}");
    assert!(!out.contains("shop-k1"), "keys are redacted: {out}");
    assert!(
        !out.contains("demo-key"),
        "no demo project once projects are configured"
    );

    // The environment beats the file; a flag beats the environment.
    let env = [
        ("MAIDIAN_CONFIG", f),
        ("MAIDIAN_COLLECTOR_ID", "from-env"),
        ("MAIDIAN_LIMITS", "max_body_bytes=6000"),
    ];
    let (_, out, _) = run_bin(&["--print-config"], &env);
    assert!(out.contains("collector_id = \"from-env\""), "{out}");
    assert!(out.contains("max_body_bytes = 6000"), "{out}");
    assert!(out.contains("queue_depth = 7"), "{out}");
    let (_, out, _) = run_bin(&["--print-config", "--collector-id", "from-flag"], &env);
    assert!(out.contains("collector_id = \"from-flag\""), "{out}");

    // --check-config.
    let (code, out, _) = run_bin(&["--config", f, "--check-config"], &[]);
    assert_eq!((code, out.trim()), (0, "config ok"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = 12\n").unwrap();
    let (code, _, err) = run_bin(&["--config", bad.to_str().unwrap(), "--check-config"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml"), "{err}");

    // The public demo key never listens beyond loopback.
    let (code, _, err) = run_bin(&["--listen", "0.0.0.0:0", "--check-config"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("demo write key"), "{err}");
    let (code, _, err) = run_bin(
        &["--listen", "0.0.0.0:0", "--check-config"],
        &[("MAIDIAN_PROJECTS", "shop:s3cret")],
    );
    assert_eq!(code, 0, "{err}");

    // The server runs from the file: both keys of a project work, the demo key does not.
    let s = Server::start(dir.path(), &["--config", f]);
    let r = post_key(&s, "open-k", &[], 1);
    assert_eq!(r.status, 200, "{}", r.body);
    let wx = [(
        "referer",
        "https://servicewechat.com/wx0123456789abcdef/12/page-frame.html",
    )];
    assert_eq!(post_key(&s, "shop-k1", &wx, 2).status, 200);
    assert_eq!(post_key(&s, "shop-k2", &wx, 3).status, 200);
    let r = post_key(&s, KEY, &[], 4);
    assert_eq!((r.status, r.error().as_str()), (401, "invalid_write_key"));
    let r = post_key(&s, "shop-k", &wx, 5);
    assert_eq!((r.status, r.error().as_str()), (401, "invalid_write_key"));
    let r = s.post("/v1/batch", &[], batch(&ids(6, 1)).as_bytes());
    assert_eq!((r.status, r.error().as_str()), (401, "missing_write_key"));
    s.stop();
    assert_eq!(stored_ids(dir.path(), "shop").len(), 2);
}

#[test]
fn app_id_and_origin_allow_lists_and_cors() {
    let dir = TempDir::new("allow");
    let file = dir.path().join("collector.toml");
    std::fs::write(&file, SHOP).unwrap();
    let s = Server::start(dir.path(), &["--config", file.to_str().unwrap()]);

    // Mini-programs: only the listed app id.
    let ok = [(
        "referer",
        "https://servicewechat.com/wx0123456789abcdef/0/page-frame.html",
    )];
    let other = [(
        "referer",
        "https://servicewechat.com/wxffffffffffffffff/0/page-frame.html",
    )];
    assert_eq!(post_key(&s, "shop-k1", &ok, 1).status, 200);
    let r = post_key(&s, "shop-k1", &other, 2);
    assert_eq!((r.status, r.error().as_str()), (403, "forbidden_origin"));
    // A restricted project refuses requests that show neither.
    let r = post_key(&s, "shop-k1", &[], 3);
    assert_eq!((r.status, r.error().as_str()), (403, "forbidden_origin"));

    // Web origins: listed (exact and subdomain pattern) or refused; CORS echoes with
    // credentials for the listed ones and says nothing for the others.
    for origin in ["https://shop.example.com", "https://m.shop.example.org"] {
        let r = post_key(&s, "shop-k1", &[("origin", origin)], 4);
        assert_eq!(r.status, 200, "{origin}: {}", r.body);
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(r.header("vary"), Some("Origin"));
    }
    let r = post_key(&s, "shop-k1", &[("origin", "https://evil.example")], 5);
    assert_eq!((r.status, r.error().as_str()), (403, "forbidden_origin"));
    assert_eq!(r.header("access-control-allow-origin"), None);

    // An unrestricted project: any origin, answered `*` and never with credentials.
    let r = post_key(&s, "open-k", &[("origin", "https://evil.example")], 6);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-credentials"), None);

    // Preflights: for the key's project when `?key=` names it, else any project's answer.
    let pre = |path: &str, origin: &str| preflight(s.addr, path, origin);
    let r = pre("/v1/batch?key=shop-k1", "https://shop.example.com");
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example.com")
    );
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(
        r.header("access-control-allow-headers")
            .unwrap()
            .contains("x-write-key")
    );
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    let r = pre("/v1/batch?key=shop-k1", "https://evil.example");
    assert_eq!((r.status, r.error().as_str()), (403, "forbidden_origin"));
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = pre("/v1/batch", "https://shop.example.com");
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://shop.example.com")
    );
    // Without a key, the open project allows any origin — without credentials.
    let r = pre("/v1/batch", "https://evil.example");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-credentials"), None);
    s.stop();

    // With only restricted projects, an unknown origin's preflight is refused.
    let dir2 = TempDir::new("allow2");
    let only = dir2.path().join("only.toml");
    std::fs::write(
        &only,
        "[[projects]]\nname = \"shop\"\nwrite_keys = [\"k\"]\norigins = [\"https://shop.example.com\"]\n",
    )
    .unwrap();
    let s = Server::start(dir2.path(), &["--config", only.to_str().unwrap()]);
    let r = preflight(s.addr, "/v1/batch", "https://evil.example");
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (403, None)
    );
    let r = preflight(s.addr, "/v1/batch", "https://shop.example.com");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-credentials"), None);
}

fn preflight(addr: std::net::SocketAddr, path: &str, origin: &str) -> Resp {
    request(
        addr,
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "x-write-key, content-type",
            ),
        ],
        b"",
    )
}

#[test]
fn rate_limits_answer_429_with_retry_after() {
    let dir = TempDir::new("rate");
    let s = Server::start(dir.path(), &["--key-rate", "1/2"]);
    assert_eq!(post_key(&s, KEY, &[], 1).status, 200);
    assert_eq!(post_key(&s, KEY, &[], 2).status, 200);
    let r = post_key(&s, KEY, &[], 3);
    assert_eq!(
        (r.status, r.error().as_str()),
        (429, "rate_limited"),
        "{}",
        r.body
    );
    let after: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&after), "Retry-After {after}");
    assert_eq!(r.json()["retryAfter"], after);
    let m = request(s.addr, "GET", "/metrics", &[], b"").body;
    assert!(m.contains("maidian_rate_limited_key_total 1"), "{m}");
    // The bucket refills: after Retry-After the key is served again.
    wait_until("the key's bucket to refill", Duration::from_secs(5), || {
        post_key(&s, KEY, &[], 4).status == 200
    });
}

#[test]
fn forwarded_addresses_only_from_trusted_proxies() {
    // Trusted: each forwarded client has its own bucket and is the stored requestIp.
    let dir = TempDir::new("xff");
    let s = Server::start(
        dir.path(),
        &["--ip-rate", "1/1", "--trusted-proxy", "127.0.0.0/8"],
    );
    let a = [("x-forwarded-for", "198.51.100.7, 127.0.0.2")];
    let b = [("forwarded", "for=198.51.100.8;proto=https")];
    assert_eq!(post_key(&s, KEY, &a, 1).status, 200);
    let r = post_key(&s, KEY, &a, 2);
    assert_eq!((r.status, r.error().as_str()), (429, "rate_limited"));
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        post_key(&s, KEY, &b, 3).status,
        200,
        "another client, another bucket"
    );
    s.stop();
    let mut ips: Vec<String> = stored_lines(dir.path(), "demo", false)
        .iter()
        .map(|l| l["requestIp"].as_str().unwrap().to_owned())
        .collect();
    ips.sort();
    assert_eq!(ips, ["198.51.100.7", "198.51.100.8"]);

    // Untrusted: the headers are ignored; every request is 127.0.0.1's.
    let dir = TempDir::new("xff-untrusted");
    let s = Server::start(dir.path(), &["--ip-rate", "1/1"]);
    assert_eq!(post_key(&s, KEY, &a, 1).status, 200);
    let r = post_key(&s, KEY, &b, 2);
    assert_eq!(
        r.status, 429,
        "forged headers from an untrusted peer change nothing"
    );
    s.stop();
    let lines = stored_lines(dir.path(), "demo", false);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["requestIp"], "127.0.0.1");
}

#[test]
fn health_and_readiness() {
    let dir = TempDir::new("ready");
    let (s, fault) = Server::start_with_fault(
        &dir,
        &["--queue-depth", "2", "--max-concurrent-requests", "64"],
    );
    let get = |p: &str| request(s.addr, "GET", p, &[], b"");
    assert_eq!(get("/healthz").status, 200);
    assert_eq!(get("/health").status, 200, "the old path stays");
    assert_eq!(get("/readyz").status, 200);

    // The data directory unwritable (injected: tests run as root, where chmod stops nothing).
    std::fs::write(&fault, "fail").unwrap();
    let r = get("/readyz");
    assert_eq!(r.status, 503);
    assert!(r.body.contains("not writable"), "{}", r.body);
    assert_eq!(get("/healthz").status, 200, "liveness is not readiness");
    std::fs::remove_file(&fault).unwrap();
    assert_eq!(get("/readyz").status, 200);

    // A saturated writer queue: every group commit stalls, requests pile up. Senders keep
    // sending until readiness flips: a single wave could be swallowed whole by one group
    // (the writer takes everything queued), leaving the queue empty while it stalls.
    std::fs::write(&fault, "stall:600").unwrap();
    let addr = s.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..6)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut statuses = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = request(
                        addr,
                        "POST",
                        "/v1/batch",
                        &[("x-write-key", KEY)],
                        batch(&ids(1000 * (i + 1) + n, 1)).as_bytes(),
                    );
                    statuses.push(r.status);
                    n += 1;
                }
                statuses
            })
        })
        .collect();
    wait_until(
        "/readyz to report the saturated queue",
        Duration::from_secs(30),
        || {
            let r = get("/readyz");
            r.status == 503 && r.body.contains("saturated")
        },
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    std::fs::remove_file(&fault).unwrap();
    for t in senders {
        for status in t.join().unwrap() {
            assert!(status == 200 || status == 503, "{status}");
        }
    }
    wait_until("/readyz to recover", Duration::from_secs(20), || {
        get("/readyz").status == 200
    });
}

#[test]
fn readiness_fails_while_draining_and_requests_are_still_served() {
    let dir = TempDir::new("drain");
    let s = Server::start(dir.path(), &["--drain-delay-ms", "1500"]);
    let addr = s.addr;
    assert_eq!(request(addr, "GET", "/readyz", &[], b"").status, 200);
    s.sigterm();
    wait_until(
        "/readyz to fail while draining",
        Duration::from_secs(10),
        || {
            let r = request(addr, "GET", "/readyz", &[], b"");
            r.status == 503 && r.body.contains("draining")
        },
    );
    // Still serving during the drain delay: a late request is stored, not dropped.
    let r = request(
        addr,
        "POST",
        "/v1/batch",
        &[("x-write-key", KEY)],
        batch(&ids(1, 1)).as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let m = request(addr, "GET", "/metrics", &[], b"").body;
    assert!(m.contains("maidian_draining 1"), "{m}");
    let data = s.data.clone();
    s.wait_exit();
    assert_eq!(stored_ids(&data, "demo").len(), 1);
}

#[test]
fn concurrency_and_connection_limits() {
    let dir = TempDir::new("conc");
    let (s, fault) = Server::start_with_fault(&dir, &["--max-concurrent-requests", "1"]);
    // One request holds the only slot (its group commit stalls); the next is refused at once.
    std::fs::write(&fault, "stall:1500").unwrap();
    let addr = s.addr;
    let first = std::thread::spawn(move || {
        request(
            addr,
            "POST",
            "/v1/batch",
            &[("x-write-key", KEY)],
            batch(&ids(1, 1)).as_bytes(),
        )
        .status
    });
    wait_until(
        "the first request to be in flight",
        Duration::from_secs(10),
        || {
            request(addr, "GET", "/metrics", &[], b"")
                .body
                .contains("maidian_requests_in_flight 1")
        },
    );
    let r = post_key(&s, KEY, &[], 2);
    assert_eq!((r.status, r.error().as_str()), (503, "unavailable"));
    assert!(r.body.contains("in progress"), "{}", r.body);
    std::fs::remove_file(&fault).unwrap();
    assert_eq!(first.join().unwrap(), 200);
    s.stop();

    // One connection at most: a second connection is answered only once the first closes.
    let dir = TempDir::new("conns");
    let s = Server::start(dir.path(), &["--max-connections", "1"]);
    let mut a = TcpStream::connect(s.addr).unwrap();
    a.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 256];
    let n = a.read(&mut buf).unwrap();
    assert!(
        std::str::from_utf8(&buf[..n])
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    // `a` is kept alive and holds the only slot.
    let mut b = TcpStream::connect(s.addr).unwrap();
    b.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    b.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let waited = b.read(&mut buf);
    assert!(
        waited.is_err(),
        "the second connection was served while the first held the only slot"
    );
    drop(a);
    b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    b.read_to_end(&mut raw).unwrap();
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"));
}

/// SIGHUP reloads projects and keys from the file: key A is replaced by key B without a
/// restart, a keep-alive connection opened before the reload keeps working, and an invalid
/// file keeps the previous keys.
#[test]
fn sighup_reloads_keys_and_keeps_connections() {
    let dir = TempDir::new("reload");
    let file = dir.path().join("collector.toml");
    let conf = |key: &str| format!("[[projects]]\nname = \"app\"\nwrite_keys = [\"{key}\"]\n");
    std::fs::write(&file, conf("key-a")).unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data, &["--config", file.to_str().unwrap()]);
    assert_eq!(post_key(&s, "key-a", &[], 1).status, 200);
    assert_eq!(post_key(&s, "key-b", &[], 2).status, 401);

    let mut conn = KeepAlive::connect(s.addr);
    let body = batch(&ids(3, 1));
    let h = [
        ("x-write-key", "key-a"),
        ("content-type", "application/json"),
    ];
    assert_eq!(conn.post("/v1/batch", &h, body.as_bytes()).status, 200);

    std::fs::write(&file, conf("key-b")).unwrap();
    s.sighup();
    let mut n = 10;
    wait_until(
        "key-b accepted after SIGHUP",
        Duration::from_secs(20),
        || {
            n += 1;
            post_key(&s, "key-b", &[], n).status == 200
        },
    );
    assert_eq!(post_key(&s, "key-a", &[], 100).status, 401);
    // The connection from before the reload is still open and sees the new keys.
    let body = batch(&ids(101, 1));
    let hb = [
        ("x-write-key", "key-b"),
        ("content-type", "application/json"),
    ];
    assert_eq!(conn.post("/v1/batch", &hb, body.as_bytes()).status, 200);

    // An invalid file keeps the previous configuration (and the failure is counted).
    std::fs::write(&file, "[[projects]]\nname = \"app\"\nwrite_keys = [").unwrap();
    s.sighup();
    let metrics = || request(s.addr, "GET", "/metrics", &[], b"").body;
    wait_until(
        "the failed reload is counted",
        Duration::from_secs(20),
        || metrics().contains("config_reload_failures_total 1"),
    );
    assert_eq!(post_key(&s, "key-b", &[], 200).status, 200);
    assert_eq!(post_key(&s, "key-a", &[], 201).status, 401);
    let body = batch(&ids(202, 1));
    assert_eq!(conn.post("/v1/batch", &hb, body.as_bytes()).status, 200);

    // A valid file that adds a project: its key works after the next SIGHUP.
    std::fs::write(
        &file,
        format!(
            "{}[[projects]]\nname = \"other\"\nwrite_keys = [\"key-c\"]\n",
            conf("key-b")
        ),
    )
    .unwrap();
    s.sighup();
    wait_until(
        "key-c (new project) accepted",
        Duration::from_secs(20),
        || {
            n += 1;
            post_key(&s, "key-c", &[], 300 + n).status == 200
        },
    );
    assert_eq!(post_key(&s, "key-b", &[], 500).status, 200);
    drop(conn);
    s.stop();
    assert!(!stored_ids(&data, "other").is_empty());
}
