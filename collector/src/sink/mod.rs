//! The sink: one writer thread owns every open file and group-commits.
//!
//! Request handlers send an [`Append`] (the encoded lines of one request) through a *bounded*
//! queue ([`SinkHandle::submit`] fails at once when it is full: the handler answers 503) and
//! await its reply. The writer takes everything queued, appends each request's bytes with one
//! `write(2)` per file, then — under the `batch` durability policy — `fdatasync`s each touched
//! file once, and only then replies. Requests arriving during a sync form the next group, so
//! acks are at most one sync apart and the number of syncs per second stays bounded however
//! many requests arrive.
//!
//! A failed write or sync fails exactly the requests whose bytes were in it: the file is cut
//! back to its last good length (so no torn or unacknowledged line stays in it) and those
//! requests get an error (503 upstream). The next request tries again, so the collector
//! recovers by itself when space returns.
//!
//! After the data is durable, the ids of the stored events are appended to the project's id
//! log ([`crate::idlog`]); the log is fsynced before any file is sealed. Sealing (manifest,
//! optional gzip, rename) runs on a second thread ([`seal`]).

pub mod partition;
pub mod recovery;
pub mod rotation;
pub mod seal;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::oneshot;
use tracing::{error, info, warn};

use crate::clock::Clock;
use crate::config::{Durability, Rotation};
use crate::idlog::IdLog;
use crate::metrics::Metrics;
use partition::{IDS_DIR, OPEN_SUFFIX, Stream, file_stem, hour_of, partition_dir};
use rotation::{FileState, Trigger};
use seal::{SealJob, sync_dir};

/// What the sink needs to know.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Root of all files.
    pub data_dir: PathBuf,
    /// Instance id (file names, manifests).
    pub collector_id: String,
    /// Ack policy.
    pub durability: Durability,
    /// Sync period under [`Durability::Interval`].
    pub sync_interval: Duration,
    /// Rotation thresholds.
    pub rotation: Rotation,
    /// Gzip sealed files.
    pub gzip: bool,
    /// Queue bound (requests).
    pub queue_depth: usize,
    /// Dedup window (id-log segments older than it are deleted).
    pub dedup_window_ms: i64,
    /// Test hook: see [`crate::config::Cli::fault_file`].
    pub fault_file: Option<PathBuf>,
}

/// The encoded result of one request, to be appended.
#[derive(Debug)]
pub struct Append {
    /// Project name.
    pub project: Arc<str>,
    /// When the request arrived.
    pub received_at: i64,
    /// Stored lines of accepted events.
    pub events: Vec<u8>,
    /// Number of lines in `events`.
    pub event_count: u64,
    /// Id-log records of the accepted events.
    pub ids: Vec<u8>,
    /// Lines of the rejected stream.
    pub rejected: Vec<u8>,
    /// Number of lines in `rejected`.
    pub rejected_count: u64,
    /// Fires once the bytes are stored per the durability policy, or failed.
    pub reply: oneshot::Sender<Result<(), WriteError>>,
}

/// Why an append was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// The disk refused (full, read-only, I/O error); nothing of the request is in the files.
    Storage(String),
    /// The collector is shutting down.
    ShuttingDown,
}

/// Why a submission was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full: answer 503 with `Retry-After`.
    Full,
    /// The writer has stopped.
    Closed,
}

enum Msg {
    Append(Append),
    Shutdown(oneshot::Sender<()>),
}

/// The handlers' side of the sink.
#[derive(Debug, Clone)]
pub struct SinkHandle {
    tx: SyncSender<Msg>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Append(_) => "Append",
            Msg::Shutdown(_) => "Shutdown",
        })
    }
}

impl SinkHandle {
    /// Queues an append without waiting.
    pub fn submit(&self, a: Append) -> Result<(), SubmitError> {
        // Counted before the send so the writer's decrement can never run first.
        self.metrics.writer_queued.inc();
        self.tx.try_send(Msg::Append(a)).map_err(|e| {
            self.metrics.writer_queued.dec();
            match e {
                TrySendError::Full(_) => SubmitError::Full,
                TrySendError::Disconnected(_) => SubmitError::Closed,
            }
        })
    }

    /// Seals every file and stops the writer; resolves when done.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        // A blocking send is fine here: shutdown happens once, after handlers have drained.
        let sender = self.tx.clone();
        let sent = tokio::task::spawn_blocking(move || sender.send(Msg::Shutdown(tx)).is_ok())
            .await
            .unwrap_or(false);
        if sent {
            let _ = rx.await;
        }
    }
}

/// Starts the writer and sealer threads.
pub fn start(
    cfg: SinkConfig,
    clock: Clock,
    metrics: Arc<Metrics>,
) -> io::Result<(SinkHandle, JoinHandle<()>)> {
    let (tx, rx) = mpsc::sync_channel(cfg.queue_depth);
    let (seal_tx, seal_rx) = mpsc::channel::<SealJob>();
    let seal_metrics = metrics.clone();
    let sealer = std::thread::Builder::new()
        .name("maidian-sealer".into())
        .spawn(move || {
            for job in seal_rx {
                match seal::seal(&job) {
                    Ok(path) => {
                        seal_metrics.files_sealed.inc();
                        info!(file = %path.display(), lines = job.lines, trigger = job.trigger.as_str(), "sealed");
                    }
                    Err(e) => error!(stem = %job.stem, "sealing failed (recovered on restart): {e}"),
                }
            }
        })?;
    let handle_metrics = metrics.clone();
    let writer = Writer {
        cfg,
        clock,
        metrics,
        files: HashMap::new(),
        idlogs: HashMap::new(),
        seal_tx: Some(seal_tx),
        retiring: Vec::new(),
        seq: 0,
        last_interval_sync: Instant::now(),
        last_expire: 0,
    };
    let handle = std::thread::Builder::new()
        .name("maidian-writer".into())
        .spawn(move || {
            let done = writer.run(rx);
            // The writer dropped its sender: the sealer finishes the queued jobs and ends.
            let _ = sealer.join();
            if let Some(done) = done {
                let _ = done.send(());
            }
        })?;
    Ok((
        SinkHandle {
            tx,
            metrics: handle_metrics,
        },
        handle,
    ))
}

type FileKey = (Arc<str>, Stream);

struct OpenFile {
    /// Unique per process; identifies the file within a group even after rotation.
    serial: u64,
    dir: PathBuf,
    stem: String,
    file: File,
    state: FileState,
    /// Length after the last successful write.
    written: u64,
    /// Length covered by the last successful sync.
    synced: u64,
    crc: crc32fast::Hasher,
    lines: u64,
    first_rx: i64,
    last_rx: i64,
    /// Ids of some stored events could not be logged: the file must not be sealed by the
    /// writer (recovery reads its ids on the next start).
    ids_incomplete: bool,
    /// Counts the file in the open-files gauge while it exists.
    _counted: OpenCount,
}

/// One unit of the open-files gauge, given back on drop — however the file leaves the writer
/// (sealed, cut off after an error, or at shutdown).
struct OpenCount(Gauge);

impl OpenCount {
    fn new(g: Gauge) -> Self {
        g.inc();
        Self(g)
    }
}

impl Drop for OpenCount {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// `fdatasync`, counted and timed.
fn timed_sync(metrics: &Metrics, file: &File) -> io::Result<()> {
    let started = Instant::now();
    let r = file.sync_data();
    metrics.fsync_done(started.elapsed());
    r
}

/// State of a file at the start of a group, to undo the group after a failed sync.
struct Snapshot {
    crc: crc32fast::Hasher,
    lines: u64,
    first_rx: i64,
    last_rx: i64,
    bytes: u64,
}

enum Fault {
    Fail,
    Stall(u64),
}

struct Writer {
    cfg: SinkConfig,
    clock: Clock,
    metrics: Arc<Metrics>,
    files: HashMap<FileKey, OpenFile>,
    idlogs: HashMap<Arc<str>, IdLog>,
    seal_tx: Option<mpsc::Sender<SealJob>>,
    /// Files rotated in the middle of a group: sealed once the group's ids are logged.
    retiring: Vec<(FileKey, OpenFile, Trigger)>,
    seq: u64,
    last_interval_sync: Instant,
    last_expire: i64,
}

const MAX_GROUP: usize = 512;
const MAX_GROUP_BYTES: usize = 16 << 20;
const TICK: Duration = Duration::from_millis(50);

fn injected() -> io::Error {
    io::Error::other("injected write failure (fault file present)")
}

impl Writer {
    /// Runs until shutdown; returns the shutdown requester to notify once sealing is done.
    fn run(mut self, rx: Receiver<Msg>) -> Option<oneshot::Sender<()>> {
        loop {
            let first = match rx.recv_timeout(TICK) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    self.housekeeping();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.close_all(Trigger::Shutdown);
                    return None;
                }
            };
            let mut group = Vec::new();
            let mut bytes = 0;
            let mut shutdown = None;
            let queued = &self.metrics.writer_queued;
            let mut push = |m: Msg, group: &mut Vec<Append>, bytes: &mut usize| match m {
                Msg::Append(a) => {
                    queued.dec();
                    *bytes += a.events.len() + a.rejected.len();
                    group.push(a);
                }
                Msg::Shutdown(tx) => shutdown = Some(tx),
            };
            push(first, &mut group, &mut bytes);
            // Group commit, like PostgreSQL's `commit_delay`: give the CPU back once before
            // taking the group, so request handlers that share this core (one pinned core, a
            // busy machine) queue more appends into the same write and sync. Woken by the
            // first append, this thread would otherwise preempt them and commit groups of
            // one, paying two context switches per request. On an idle core the yield returns
            // at once. Load benchmark (docs/COLLECTOR.md, 4 + 4 interleaved runs): median
            // ≈ 460 k → 491 k events/s, p99 14.0–15.7 → 12.2–13.2 ms.
            std::thread::yield_now();
            while group.len() < MAX_GROUP && bytes < MAX_GROUP_BYTES {
                match rx.try_recv() {
                    Ok(m) => push(m, &mut group, &mut bytes),
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                self.commit_group(group);
            }
            self.housekeeping();
            if let Some(done) = shutdown {
                // Anything queued after the shutdown request is refused.
                while let Ok(m) = rx.try_recv() {
                    if let Msg::Append(a) = m {
                        self.metrics.writer_queued.dec();
                        let _ = a.reply.send(Err(WriteError::ShuttingDown));
                    }
                }
                self.close_all(Trigger::Shutdown);
                return Some(done);
            }
        }
    }

    fn fault(&self) -> Option<Fault> {
        let path = self.cfg.fault_file.as_ref()?;
        let text = fs::read_to_string(path).ok()?;
        match text.trim().strip_prefix("stall:") {
            Some(ms) => Some(Fault::Stall(ms.parse().unwrap_or(1000))),
            None => Some(Fault::Fail),
        }
    }

    fn commit_group(&mut self, group: Vec<Append>) {
        let now = self.clock.now_ms();
        let fault = self.fault();
        if let Some(Fault::Stall(ms)) = fault {
            std::thread::sleep(Duration::from_millis(ms));
        }
        let fail = matches!(fault, Some(Fault::Fail));
        let mut ok = vec![true; group.len()];
        let mut touched: Vec<Vec<u64>> = vec![Vec::new(); group.len()];
        let mut snapshots: HashMap<u64, Snapshot> = HashMap::new();
        for (i, a) in group.iter().enumerate() {
            for (stream, bytes, lines) in [
                (Stream::Events, &a.events, a.event_count),
                (Stream::Rejected, &a.rejected, a.rejected_count),
            ] {
                if bytes.is_empty() {
                    continue;
                }
                let key: FileKey = (a.project.clone(), stream);
                match self.write_part(&key, a.received_at, now, bytes, lines, fail, &mut snapshots)
                {
                    Ok(serial) => touched[i].push(serial),
                    Err(e) => {
                        self.metrics.write_errors.inc();
                        warn!(project = %a.project, stream = stream.as_str(), "write failed: {e}");
                        ok[i] = false;
                    }
                }
            }
        }
        // One sync per touched file covers every request of the group. Files rotated during
        // the group are synced here too (sealing syncs anyway).
        let mut failed: Vec<u64> = Vec::new();
        if self.cfg.durability == Durability::Batch || !self.retiring.is_empty() {
            let batch = self.cfg.durability == Durability::Batch;
            let serials: Vec<u64> = snapshots.keys().copied().collect();
            for serial in serials {
                let retiring = self.retiring.iter().any(|(_, f, _)| f.serial == serial);
                if !batch && !retiring {
                    continue;
                }
                if let Err(e) = self.sync_serial(serial) {
                    self.metrics.write_errors.inc();
                    warn!("fdatasync failed: {e}");
                    failed.push(serial);
                }
            }
        }
        for serial in &failed {
            if let Some(s) = snapshots.get(serial) {
                self.undo_group(*serial, s);
            }
        }
        for (i, serials) in touched.iter().enumerate() {
            if serials.iter().any(|s| failed.contains(s)) {
                ok[i] = false;
            }
        }
        self.metrics.group_commits.inc();
        // Ids go to the log only for appends whose bytes are durable.
        for (i, a) in group.iter().enumerate() {
            if ok[i] && !a.ids.is_empty() {
                let dir = self.cfg.data_dir.join(&*a.project).join(IDS_DIR);
                let log = self
                    .idlogs
                    .entry(a.project.clone())
                    .or_insert_with(|| IdLog::new(dir));
                if let Err(e) = log.append(a.received_at, &a.ids) {
                    warn!(project = %a.project, "id log append failed: {e}");
                    for f in self
                        .files
                        .values_mut()
                        .chain(self.retiring.iter_mut().map(|r| &mut r.1))
                    {
                        if touched[i].contains(&f.serial) {
                            f.ids_incomplete = true;
                        }
                    }
                }
            }
        }
        // Now the rotated files' ids are logged: seal them (seal syncs the id log first).
        for (key, f, trigger) in std::mem::take(&mut self.retiring) {
            self.seal_file(&key, f, trigger);
        }
        for (a, ok) in group.into_iter().zip(ok) {
            let r = if ok {
                Ok(())
            } else {
                Err(WriteError::Storage(
                    "the events could not be written".into(),
                ))
            };
            let _ = a.reply.send(r);
        }
    }

    fn file_by_serial(&mut self, serial: u64) -> Option<&mut OpenFile> {
        if let Some(i) = self.retiring.iter().position(|r| r.1.serial == serial) {
            return Some(&mut self.retiring[i].1);
        }
        self.files.values_mut().find(|f| f.serial == serial)
    }

    #[allow(clippy::too_many_arguments)]
    fn write_part(
        &mut self,
        key: &FileKey,
        at: i64,
        now: i64,
        bytes: &[u8],
        lines: u64,
        fail: bool,
        snapshots: &mut HashMap<u64, Snapshot>,
    ) -> io::Result<u64> {
        let due = self.files.get(key).and_then(|f| {
            rotation::before_append(&f.state, bytes.len() as u64, at, now, &self.cfg.rotation)
        });
        if let Some(t) = due {
            if let Some(f) = self.files.remove(key) {
                if snapshots.contains_key(&f.serial) {
                    // It holds bytes of this group whose ids are not logged yet.
                    self.retiring.push((key.clone(), f, t));
                } else {
                    self.seal_file(key, f, t);
                }
            }
        }
        if !self.files.contains_key(key) {
            let f = self.open_file(key, at, now)?;
            self.files.insert(key.clone(), f);
        }
        let Some(f) = self.files.get_mut(key) else {
            return Err(io::Error::other("file vanished"));
        };
        let serial = f.serial;
        snapshots.entry(serial).or_insert_with(|| Snapshot {
            crc: f.crc.clone(),
            lines: f.lines,
            first_rx: f.first_rx,
            last_rx: f.last_rx,
            bytes: f.written,
        });
        let res = if fail {
            // Simulate a disk that fills up mid-write: half the bytes land, then ENOSPC.
            f.file
                .write_all(&bytes[..bytes.len() / 2])
                .and_then(|()| Err(injected()))
        } else {
            f.file.write_all(bytes)
        };
        if let Err(e) = res {
            // Cut the partial write so no torn or unacknowledged line remains.
            if let Err(e2) = f.file.set_len(f.written) {
                error!(stem = %f.stem, "cannot cut a failed write: {e2}; file left for recovery");
                self.files.remove(key);
            }
            return Err(e);
        }
        f.written += bytes.len() as u64;
        f.state.bytes = f.written;
        f.state.last_write_at = now;
        f.crc.update(bytes);
        if f.lines == 0 {
            f.first_rx = at;
            f.last_rx = at;
        }
        f.first_rx = f.first_rx.min(at);
        f.last_rx = f.last_rx.max(at);
        f.lines += lines;
        self.metrics.bytes_written.inc_by(bytes.len() as u64);
        Ok(serial)
    }

    fn open_file(&mut self, key: &FileKey, at: i64, now: i64) -> io::Result<OpenFile> {
        let dir = partition_dir(&self.cfg.data_dir, &key.0, key.1, at);
        if !dir.exists() {
            fs::create_dir_all(&dir)?;
            // Make the new directories durable up to the data dir.
            let mut d: &Path = &dir;
            while let Some(parent) = d.parent() {
                sync_dir(parent)?;
                if parent == self.cfg.data_dir {
                    break;
                }
                d = parent;
            }
        }
        loop {
            self.seq += 1;
            let stem = file_stem(&self.cfg.collector_id, now, self.seq);
            let path = dir.join(format!("{stem}{OPEN_SUFFIX}"));
            let file = match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            sync_dir(&dir)?;
            return Ok(OpenFile {
                serial: self.seq,
                dir,
                stem,
                file,
                state: FileState {
                    opened_at: now,
                    last_write_at: now,
                    bytes: 0,
                    hour: hour_of(at),
                },
                written: 0,
                synced: 0,
                crc: crc32fast::Hasher::new(),
                lines: 0,
                first_rx: at,
                last_rx: at,
                ids_incomplete: false,
                _counted: OpenCount::new(self.metrics.open_files(&key.0, key.1.as_str())),
            });
        }
    }

    fn sync_file(&mut self, key: &FileKey) -> io::Result<()> {
        let Some(f) = self.files.get_mut(key) else {
            return Ok(());
        };
        if f.synced == f.written {
            return Ok(());
        }
        timed_sync(&self.metrics, &f.file)?;
        f.synced = f.written;
        Ok(())
    }

    fn sync_serial(&mut self, serial: u64) -> io::Result<()> {
        let metrics = self.metrics.clone();
        let Some(f) = self.file_by_serial(serial) else {
            return Ok(());
        };
        if f.synced == f.written {
            return Ok(());
        }
        timed_sync(&metrics, &f.file)?;
        f.synced = f.written;
        Ok(())
    }

    /// After a failed sync: cut the file back to its state before the group.
    fn undo_group(&mut self, serial: u64, s: &Snapshot) {
        let metrics = self.metrics.clone();
        let Some(f) = self.file_by_serial(serial) else {
            return;
        };
        let cut = f
            .file
            .set_len(s.bytes)
            .and_then(|()| timed_sync(&metrics, &f.file));
        match cut {
            Ok(()) => {
                f.written = s.bytes;
                f.synced = s.bytes;
                f.state.bytes = s.bytes;
                f.crc = s.crc.clone();
                f.lines = s.lines;
                f.first_rx = s.first_rx;
                f.last_rx = s.last_rx;
            }
            Err(e) => {
                // The file's state is unknown: stop using it and leave it to recovery, which
                // keeps whole lines (their ids become known, so retries are not duplicated).
                error!(stem = %f.stem, "cannot undo a failed sync: {e}; file left for recovery");
                self.files.retain(|_, f| f.serial != serial);
                self.retiring.retain(|r| r.1.serial != serial);
            }
        }
    }

    fn housekeeping(&mut self) {
        let now = self.clock.now_ms();
        if self.cfg.durability == Durability::Interval
            && self.last_interval_sync.elapsed() >= self.cfg.sync_interval
        {
            self.last_interval_sync = Instant::now();
            let keys: Vec<FileKey> = self.files.keys().cloned().collect();
            for k in keys {
                if let Err(e) = self.sync_file(&k) {
                    self.metrics.write_errors.inc();
                    warn!("interval sync failed: {e}");
                }
            }
        }
        let due: Vec<(FileKey, Trigger)> = self
            .files
            .iter()
            .filter_map(|(k, f)| {
                rotation::on_tick(&f.state, now, &self.cfg.rotation).map(|t| (k.clone(), t))
            })
            .collect();
        for (k, t) in due {
            self.seal(&k, t);
        }
        if now - self.last_expire >= 600_000 {
            self.last_expire = now;
            for log in self.idlogs.values_mut() {
                if let Err(e) = log.expire(now, self.cfg.dedup_window_ms) {
                    warn!("id log expiry failed: {e}");
                }
            }
        }
    }

    /// Seals the open file of `key`.
    fn seal(&mut self, key: &FileKey, trigger: Trigger) {
        if let Some(f) = self.files.remove(key) {
            self.seal_file(key, f, trigger);
        }
    }

    /// Syncs the file and its project's id log, then hands it to the sealer.
    fn seal_file(&mut self, key: &FileKey, mut f: OpenFile, trigger: Trigger) {
        if f.written == 0 {
            // Nothing was ever stored in it (its only write failed): remove it.
            let _ = fs::remove_file(f.dir.join(format!("{}{OPEN_SUFFIX}", f.stem)));
            return;
        }
        if f.synced != f.written {
            if let Err(e) = timed_sync(&self.metrics, &f.file) {
                error!(stem = %f.stem, "sync before sealing failed: {e}; left for recovery");
                return;
            }
            f.synced = f.written;
        }
        if let Some(log) = self.idlogs.get_mut(&key.0) {
            if let Err(e) = log.sync() {
                error!(project = %key.0, "id log sync failed: {e}; file left for recovery");
                return;
            }
        }
        if f.ids_incomplete {
            warn!(stem = %f.stem, "ids of this file are not all logged; left for recovery");
            return;
        }
        let job = SealJob {
            dir: f.dir,
            stem: f.stem,
            project: key.0.to_string(),
            stream: key.1,
            collector_id: self.cfg.collector_id.clone(),
            lines: f.lines,
            bytes: f.written,
            crc32: f.crc.finalize(),
            first_received_at: f.first_rx,
            last_received_at: f.last_rx,
            trigger,
            gzip: self.cfg.gzip,
            torn_lines_cut: 0,
            torn_bytes_cut: 0,
            sealed_at: self.clock.now_ms(),
        };
        if let Some(tx) = &self.seal_tx {
            let _ = tx.send(job);
        }
    }

    fn close_all(&mut self, trigger: Trigger) {
        let keys: Vec<FileKey> = self.files.keys().cloned().collect();
        for k in keys {
            self.seal(&k, trigger);
        }
        for (p, log) in &mut self.idlogs {
            if let Err(e) = log.sync() {
                error!(project = %p, "id log sync failed at shutdown: {e}");
            }
        }
    }
}
