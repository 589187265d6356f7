//! Test support: runs the real collector binary on a loopback port chosen by the OS, a tiny
//! blocking HTTP/1.1 client, payload builders and readers for the files the collector wrote.
//! Every wait polls a condition against a deadline; nothing sleeps and hopes.
#![allow(dead_code)]
// Test support: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

pub const KEY: &str = "demo-key";

/// A scratch directory removed on drop (kept when the test panicked, for inspection).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "maidian-collector-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running collector process.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub args: Vec<String>,
    /// Its stderr lines, when started with [`Server::start_logged`] (else inherited).
    pub stderr: Option<Arc<Mutex<Vec<String>>>>,
}

pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Server {
    /// Starts the binary with `--data-dir data` and extra flags.
    pub fn start(data: &Path, extra: &[&str]) -> Self {
        Self::start_env(data, extra, &[])
    }

    /// Starts the binary with `--data-dir data`, extra flags and environment variables.
    pub fn start_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(data, Self::args(data, extra), env, false)
    }

    /// Like [`Server::start_env`], with stderr collected line by line into
    /// [`Server::stderr`]; `env` may set `RUST_LOG` (default `warn`).
    pub fn start_logged(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(data, Self::args(data, extra), env, true)
    }

    /// Starts the binary with data under `dir/data` and `--fault-file dir/fault` (write
    /// `fail` or `stall:<ms>` there to make the writer fail or stall; remove it to heal), then
    /// `extra`. Returns the server and the fault file's path.
    pub fn start_with_fault(dir: &TempDir, extra: &[&str]) -> (Self, PathBuf) {
        let fault = dir.path().join("fault");
        let mut args = vec!["--fault-file", fault.to_str().unwrap()];
        args.extend_from_slice(extra);
        (Self::start(&dir.path().join("data"), &args), fault)
    }

    /// Loopback port 0, `--data-dir data`, collector id `t1`, then `extra`.
    fn args(data: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data.display().to_string(),
            "--collector-id".into(),
            "t1".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// The stderr lines so far (see [`Server::start_logged`]).
    pub fn stderr_lines(&self) -> Vec<String> {
        let lines = self.stderr.as_ref().expect("started with start_logged");
        lines.lock().unwrap().clone()
    }

    fn start_args(data: &Path, args: Vec<String>) -> Self {
        Self::spawn(data, args, &[], false)
    }

    fn spawn(data: &Path, args: Vec<String>, env: &[(&str, &str)], capture: bool) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_maidian-collector"))
            .args(&args)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if capture {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("spawn collector");
        let stderr = child.stderr.take().map(|err| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
            lines
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("collector did not report its address");
            }
        };
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            child,
            addr,
            data: data.to_path_buf(),
            args,
            stderr,
        }
    }

    /// Restarts with the same flags (a new port).
    pub fn restart(self) -> Self {
        let (data, args) = (self.data.clone(), self.args.clone());
        self.stop();
        Self::start_args(&data, args)
    }

    /// Sends SIGTERM without waiting.
    pub fn sigterm(&self) {
        self.signal("-TERM");
    }

    /// Sends SIGHUP (reload the configuration).
    pub fn sighup(&self) {
        self.signal("-HUP");
    }

    fn signal(&self, flag: &str) {
        let status = Command::new("kill")
            .args([flag, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for a clean exit (after [`Server::sigterm`]).
    pub fn wait_exit(mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                assert!(s.success(), "collector exited with {s}");
                return;
            }
            assert!(Instant::now() < deadline, "collector did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(self) {
        self.sigterm();
        self.wait_exit();
    }

    /// SIGKILL (a crash), and reaps the process.
    pub fn kill9(mut self) -> (PathBuf, Vec<String>) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.data.clone(), self.args.clone())
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        request(self.addr, "POST", path, headers, body)
    }

    /// POST a JSON body with the demo key as Basic auth.
    pub fn post_json(&self, path: &str, body: &str) -> Resp {
        self.post(
            path,
            &[
                ("authorization", &basic(KEY)),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server on existing data with the given flags (after a crash).
pub fn start_again(data: &Path, args: Vec<String>) -> Server {
    Server::start_args(data, args)
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    pub fn accepted(&self) -> u64 {
        self.json()["accepted"].as_u64().unwrap()
    }
    pub fn duplicates(&self) -> u64 {
        self.json()["duplicates"].as_u64().unwrap()
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

pub fn basic(key: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{key}:");
    let mut out = String::new();
    for c in input.as_bytes().chunks(3) {
        let n = c.len();
        let v = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(A[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

/// One request on its own connection; the whole response is read.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    try_request(addr, method, path, headers, body).unwrap_or_else(|e| panic!("request failed: {e}"))
}

pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw)
}

/// A keep-alive connection: requests one after another on the same socket.
pub struct KeepAlive {
    stream: TcpStream,
    addr: SocketAddr,
}

impl KeepAlive {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Self { stream, addr }
    }

    /// One request; reads exactly one response (by `content-length`).
    pub fn post(&mut self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        self.stream.write_all(head.as_bytes()).unwrap();
        self.stream.write_all(body).unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let r = parse_response(&raw[..end + 4]).unwrap();
                let len: usize = r
                    .header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if raw.len() >= end + 4 + len {
                    return parse_response(&raw[..end + 4 + len]).unwrap();
                }
            }
            let n = self.stream.read(&mut buf).unwrap();
            assert!(n > 0, "keep-alive connection closed by the server");
            raw.extend_from_slice(&buf[..n]);
        }
    }
}

pub fn parse_response(raw: &[u8]) -> std::io::Result<Resp> {
    let bad = || std::io::Error::other(format!("bad response: {:?}", String::from_utf8_lossy(raw)));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad())?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&raw[end + 4..]).into_owned(),
    })
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// A unique UUID-form id.
pub fn uuid(n: u64) -> String {
    static SALT: AtomicU64 = AtomicU64::new(0);
    let salt = SALT.fetch_add(1, Ordering::Relaxed) ^ std::process::id() as u64;
    let hi = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (salt << 32);
    let h = format!("{hi:016x}{:016x}", n ^ salt.rotate_left(17));
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn event(id: &str) -> String {
    format!(
        r#"{{"messageId":"{id}","type":"track","event":"add_to_cart","anonymousId":"anon-1","properties":{{"sku":"A-1","price":12.5}},"context":{{"scene":1001}}}}"#
    )
}

pub fn batch(ids: &[String]) -> String {
    let events: Vec<String> = ids.iter().map(|i| event(i)).collect();
    format!(r#"{{"batch":[{}]}}"#, events.join(","))
}

pub fn ids(prefix_n: u64, n: usize) -> Vec<String> {
    (0..n as u64)
        .map(|i| uuid(prefix_n * 1_000_000 + i))
        .collect()
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Lines of every data file (sealed, gzipped or open) of a stream of `project`.
pub fn stored_lines(data: &Path, project: &str, rejected: bool) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for f in files(&data.join(project)) {
        let n = name(&f);
        let in_rejected = f.components().any(|c| c.as_os_str() == "_rejected");
        if in_rejected != rejected || f.components().any(|c| c.as_os_str() == "_ids") {
            continue;
        }
        let text = if n.ends_with(".ndjson.gz") {
            let mut s = String::new();
            flate2::read::MultiGzDecoder::new(std::fs::File::open(&f).unwrap())
                .read_to_string(&mut s)
                .unwrap();
            s
        } else if n.ends_with(".ndjson") || n.ends_with(".ndjson.open") {
            std::fs::read_to_string(&f).unwrap()
        } else {
            continue;
        };
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "torn line in {}",
            f.display()
        );
        for line in text.lines() {
            out.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("bad line in {}: {e}: {line}", f.display())),
            );
        }
    }
    out
}

/// messageIds of stored events, with multiplicity.
pub fn stored_ids(data: &Path, project: &str) -> Vec<String> {
    stored_lines(data, project, false)
        .iter()
        .map(|v| v["messageId"].as_str().unwrap().to_owned())
        .collect()
}
