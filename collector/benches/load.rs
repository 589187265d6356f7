//! Load benchmark (prints figures; asserts nothing about speed).
//!
//! Starts the release collector pinned to CPU 0 (`taskset -c 0`, one tokio worker), pins
//! itself to CPU 1, pre-builds gzip batches of 100 events (~58 KB raw, ~3.2 KB gzip, distinct ids), then
//! posts them over loopback on keep-alive connections and prints events/s, latency
//! percentiles and the server's CPU seconds per million events.
//!
//! ```text
//! cargo bench -p maidian-collector --bench load
//! MAIDIAN_BENCH_CONNS=32 MAIDIAN_BENCH_BATCHES=20000 MAIDIAN_BENCH_DURABILITY=batch \
//!   cargo bench -p maidian-collector --bench load
//! # CPU only (data on tmpfs), and a baseline binary under the same generator:
//! MAIDIAN_BENCH_DATA_DIR=/dev/shm MAIDIAN_BENCH_SERVER_BIN=/tmp/baseline-collector \
//!   cargo bench -p maidian-collector --bench load
//! # A cold start: the dedup table grows from empty during the run
//! MAIDIAN_DEDUP_CAPACITY=0 cargo bench -p maidian-collector --bench load
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn event(n: u64, now: &str) -> String {
    let h = format!(
        "{:016x}{:016x}",
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        n ^ 0x5DEE_CE66_D1CE_4E5B
    );
    let id = format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    );
    format!(
        r#"{{"messageId":"{id}","type":"track","event":"add_to_cart","anonymousId":"anon-{a:08x}","timestamp":"{now}","properties":{{"sku":"SKU-{s:06}","price":{p}.90,"currency":"CNY","quantity":{q},"category":"shoes"}},"context":{{"library":{{"name":"maidian-miniprogram","version":"0.1.0"}},"app":{{"id":"wx1234567890abcdef","version":"2.3.1"}},"scene":1001,"page":{{"path":"pages/detail/detail","query":"id={s}"}},"network":{{"type":"wifi"}},"device":{{"brand":"Apple","model":"iPhone 15"}},"os":{{"name":"iOS","version":"17.2"}},"sessionId":"s-{a:x}"}}}}"#,
        a = n / 7,
        s = n % 100_000,
        p = n % 500,
        q = n % 5 + 1,
    )
}

fn build_batches(count: usize, now: &str) -> (Vec<Vec<u8>>, usize) {
    let threads = 2;
    let per = count.div_ceil(threads);
    let parts: Vec<(Vec<Vec<u8>>, usize)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                sc.spawn(move || {
                    let mut out = Vec::new();
                    let mut raw_total = 0;
                    for b in (t * per)..((t + 1) * per).min(count) {
                        let events: Vec<String> =
                            (0..100).map(|i| event((b * 100 + i) as u64, now)).collect();
                        let raw = format!(r#"{{"batch":[{}],"sentAt":"{now}"}}"#, events.join(","));
                        raw_total += raw.len();
                        let mut e = flate2::write::GzEncoder::new(
                            Vec::new(),
                            flate2::Compression::default(),
                        );
                        e.write_all(raw.as_bytes()).expect("gzip");
                        out.push(e.finish().expect("gzip"));
                    }
                    (out, raw_total)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("builder")).collect()
    });
    let raw = parts.iter().map(|p| p.1).sum();
    (parts.into_iter().flat_map(|p| p.0).collect(), raw)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the comm field.
    f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
}

fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn connection(
    addr: std::net::SocketAddr,
    batches: Arc<Vec<Vec<u8>>>,
    next: Arc<AtomicUsize>,
    end: usize,
) -> (Vec<u32>, usize) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= end {
            return (lat, errors);
        }
        let body = &batches[i];
        let head = format!(
            "POST /v1/batch HTTP/1.1\r\nhost: bench\r\nx-write-key: demo-key\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let t = Instant::now();
        s.write_all(head.as_bytes()).await.expect("write");
        s.write_all(body).await.expect("write");
        let status = read_response(&mut s, &mut buf).await.expect("read");
        lat.push(t.elapsed().as_micros() as u32);
        if status != 200 {
            errors += 1;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches` probes
    }
    if std::env::var_os("MAIDIAN_BENCH_PINNED").is_none() && has_taskset() {
        // Re-run this generator pinned to CPU 1; the server gets CPU 0.
        let exe = std::env::current_exe().expect("exe");
        let status = Command::new("taskset")
            .arg("-c")
            .arg("1")
            .arg(exe)
            .args(&args[1..])
            .env("MAIDIAN_BENCH_PINNED", "1")
            .status()
            .expect("taskset");
        std::process::exit(status.code().unwrap_or(1));
    }
    let conns: usize = env_or("MAIDIAN_BENCH_CONNS", 32);
    let count: usize = env_or("MAIDIAN_BENCH_BATCHES", 20_000);
    let durability: String = env_or("MAIDIAN_BENCH_DURABILITY", "batch".to_owned());
    // The dedup table at its working size, as a server that has run for a while has it (sized
    // by `--dedup-capacity`, or rebuilt from the id log at startup). MAIDIAN_DEDUP_CAPACITY=0
    // measures a cold start instead: the table grows from empty ~45 times during the run
    // (docs/COLLECTOR.md "Growth from empty").
    let capacity: usize = env_or("MAIDIAN_DEDUP_CAPACITY", count * 100);
    let warmup = (count / 10).max(conns);

    let now = {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as i64;
        maidian_protocol::time::format_rfc3339_millis(ms)
    };
    eprintln!("building {count} batches of 100 events...");
    let (batches, raw) = build_batches(count, &now);
    let gz: usize = batches.iter().map(Vec::len).sum();
    println!(
        "batch: 100 events, {:.1} KB raw, {:.2} KB gzip (mean)",
        raw as f64 / count as f64 / 1000.0,
        gz as f64 / count as f64 / 1000.0
    );

    // MAIDIAN_BENCH_DATA_DIR=/dev/shm separates the server's CPU cost from the disk's write
    // bandwidth (the stored files are ~1.5x the raw request bytes).
    let parent = std::env::var_os("MAIDIAN_BENCH_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let data = parent.join(format!("maidian-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    // MAIDIAN_BENCH_SERVER_BIN runs another build (a baseline) under the same load generator.
    let bin = std::env::var("MAIDIAN_BENCH_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_maidian-collector").to_owned());
    let pinned = has_taskset();
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", &bin]);
        c
    } else {
        Command::new(&bin)
    };
    let mut server = cmd
        .args([
            "--listen",
            "127.0.0.1:0",
            "--workers",
            "1",
            "--collector-id",
            "bench",
        ])
        .args(["--durability", &durability])
        .args(["--dedup-capacity", &capacity.to_string()])
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read address");
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .expect("address line");
    let pid = server.id();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let batches = Arc::new(batches);
    let next = Arc::new(AtomicUsize::new(0));
    let run = |end: usize| {
        let tasks: Vec<_> = (0..conns)
            .map(|_| connection(addr, batches.clone(), next.clone(), end))
            .collect();
        rt.block_on(async {
            let hs: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
            let mut lat = Vec::new();
            let mut means = Vec::new();
            let mut errors = 0;
            for h in hs {
                let (l, e) = h.await.expect("task");
                if !l.is_empty() {
                    means.push(l.iter().map(|&v| f64::from(v)).sum::<f64>() / l.len() as f64);
                }
                lat.extend(l);
                errors += e;
            }
            (lat, errors, means)
        })
    };
    run(warmup);
    let cpu0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let (mut lat, errors, mut means) = run(count);
    let elapsed = t0.elapsed();
    let cpu = (cpu_ticks(pid) - cpu0) as f64 / clk_tck();
    let requests = lat.len();
    let events = requests * 100;
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0;
    println!(
        "server: {} worker, durability {durability}, pinned to CPU 0: {}",
        1,
        if pinned {
            "yes"
        } else {
            "no (taskset missing)"
        }
    );
    if capacity == 0 {
        println!("dedup table: grows from empty during the run (a cold start)");
    } else {
        println!("dedup table: sized for {capacity} ids up front (a server at its working size)");
    }
    println!("connections: {conns}, requests: {requests}, non-200: {errors}");
    println!(
        "throughput: {:.0} events/s ({:.0} requests/s) over {:.2} s",
        events as f64 / elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    means.sort_by(f64::total_cmp);
    println!(
        "latency ms: p10 {:.2}  p25 {:.2}  p75 {:.2}  p99.9 {:.2}; mean per connection {:.2}-{:.2}",
        pct(0.10),
        pct(0.25),
        pct(0.75),
        pct(0.999),
        means.first().copied().unwrap_or(0.0) / 1000.0,
        means.last().copied().unwrap_or(0.0) / 1000.0,
    );
    println!(
        "server CPU: {:.2} s for {} events = {:.2} CPU-s per million events",
        cpu,
        events,
        cpu / (events as f64 / 1e6)
    );
    let metrics = std::net::TcpStream::connect(addr).and_then(|mut s| {
        s.write_all(b"GET /metrics HTTP/1.1\r\nhost: b\r\nconnection: close\r\n\r\n")?;
        let mut out = String::new();
        std::io::Read::read_to_string(&mut s, &mut out)?;
        Ok(out)
    });
    if let Ok(m) = metrics {
        for l in m.lines().filter(|l| {
            l.starts_with("maidian_group_commits_total")
                || l.starts_with("maidian_fsyncs_total")
                || l.starts_with("maidian_events_accepted_total")
        }) {
            println!("{l}");
        }
        // Where the time goes: inside the handler (decode .. durable ack) vs the client's view
        // (which adds the socket queues and the wait for the worker), and the syncs.
        let value = |name: &str| -> f64 {
            m.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0.0)
        };
        let req_sum =
            value(r#"maidian_request_duration_seconds_sum{endpoint="ingest",status="2xx"}"#);
        let req_n =
            value(r#"maidian_request_duration_seconds_count{endpoint="ingest",status="2xx"}"#);
        let sync_sum = value("maidian_fsync_duration_seconds_sum");
        let sync_n = value("maidian_fsync_duration_seconds_count");
        let client_mean = lat.iter().map(|&v| f64::from(v)).sum::<f64>() / lat.len() as f64;
        println!(
            "server side: mean {:.2} ms in the handler (client mean {:.2} ms); {:.0} fdatasyncs, mean {:.2} ms",
            req_sum / req_n.max(1.0) * 1e3,
            client_mean / 1000.0,
            sync_n,
            sync_sum / sync_n.max(1.0) * 1e3,
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = server.kill();
    let stored = dir_bytes(&data);
    let total_events = count as f64 * 100.0;
    println!(
        "stored: {:.1} MB under {} ({:.0} B per event incl. rejected/id logs)",
        stored as f64 / 1e6,
        parent.display(),
        stored as f64 / total_events
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// Bytes of every file under `dir` (recursively); 0 for what cannot be read.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
