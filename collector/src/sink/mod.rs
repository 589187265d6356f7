//! The sink: one writer thread owns every open file and group-commits, pipelined with a syncer
//! thread.
//!
//! Request handlers send an [`Append`] (the encoded lines of one request) through a *bounded*
//! queue ([`SinkHandle::submit`] fails at once when it is full: the handler answers 503) and
//! await its reply. The writer appends each request's bytes as it takes it (one `write(2)` per
//! file) and collects the requests into a *round*. Under the `batch` durability policy a round
//! is handed to the syncer thread ([`syncer`]), which `fdatasync`s each file the round touched
//! once; meanwhile the writer goes on writing the requests that arrive into the next round,
//! which is handed over the moment the syncer is done. So the syncs run back to back, a request
//! waits for at most the sync in progress plus its own, and the number of syncs per second
//! stays bounded however many requests arrive. Replies go out only once the round's syncs have
//! succeeded.
//!
//! A failed write fails exactly the request whose bytes were in it: the file is cut back to its
//! length before that write. A failed sync cuts the file back to its last durable length and
//! fails every request with bytes past it (the round's, and the next round's already written
//! ones), so no torn or unacknowledged line stays in it; those requests get an error (503
//! upstream). The next request tries again, so the collector recovers by itself when space
//! returns.
//!
//! After the data is durable, the ids of the stored events are appended to the project's id
//! log ([`crate::idlog`]); the log is fsynced before any file is sealed, and a file is sealed
//! only once no round holds bytes of it. Sealing (manifest, optional gzip, rename) runs on a
//! third thread ([`seal`]).

pub mod partition;
pub mod recovery;
pub mod rotation;
mod round;
pub mod seal;
mod syncer;

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Weak};
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
use round::{Pending, Round};
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
    /// The syncer finished a round: its result waits in the writer's done channel.
    Wake,
    Shutdown(oneshot::Sender<()>),
}

/// The handlers' side of the sink.
#[derive(Debug, Clone)]
pub struct SinkHandle {
    tx: SyncSender<Msg>,
    metrics: Arc<Metrics>,
    /// The writer sees every handle gone (without a shutdown) when this has no owner left: the
    /// syncer's wake-up sender keeps the channel itself connected.
    _alive: Arc<()>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Append(_) => "Append",
            Msg::Wake => "Wake",
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

/// Starts the writer, syncer and sealer threads.
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
    // A full queue needs no wake-up: the writer is about to take from it anyway.
    let wake_tx = tx.clone();
    let (sync_tx, done_rx, syncer) = syncer::spawn(metrics.clone(), move || {
        let _ = wake_tx.try_send(Msg::Wake);
    })?;
    let alive = Arc::new(());
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
        next: Round::default(),
        in_flight: None,
        sync_tx: Some(sync_tx),
        done_rx,
        handles: Arc::downgrade(&alive),
    };
    let handle = std::thread::Builder::new()
        .name("maidian-writer".into())
        .spawn(move || {
            let done = writer.run(rx);
            // The writer dropped its job and seal senders: the syncer ends, the sealer finishes
            // the queued jobs and ends.
            let _ = syncer.join();
            let _ = sealer.join();
            if let Some(done) = done {
                let _ = done.send(());
            }
        })?;
    Ok((
        SinkHandle {
            tx,
            metrics: handle_metrics,
            _alive: alive,
        },
        handle,
    ))
}

type FileKey = (Arc<str>, Stream);

struct OpenFile {
    /// Unique per process; identifies the file within a round even after rotation.
    serial: u64,
    dir: PathBuf,
    stem: String,
    /// Shared with the syncer while a round syncs it.
    file: Arc<File>,
    state: FileState,
    /// Length after the last successful write.
    written: u64,
    crc: crc32fast::Hasher,
    lines: u64,
    first_rx: i64,
    last_rx: i64,
    /// State covered by the last successful sync: what a failed sync cuts the file back to.
    durable: Snapshot,
    /// Ids of some stored events could not be logged: the file must not be sealed by the
    /// writer (recovery reads its ids on the next start).
    ids_incomplete: bool,
    /// Counts the file in the open-files gauge while it exists.
    _counted: OpenCount,
}

impl OpenFile {
    /// The file's state now.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            crc: self.crc.clone(),
            lines: self.lines,
            first_rx: self.first_rx,
            last_rx: self.last_rx,
            bytes: self.written,
        }
    }

    /// Everything written is covered by a sync.
    fn is_durable(&self) -> bool {
        self.durable.bytes == self.written
    }

    /// Syncs in the calling thread unless everything written is durable already (no round
    /// may be in flight on this file).
    fn make_durable(&mut self, metrics: &Metrics) -> io::Result<()> {
        if !self.is_durable() {
            syncer::timed_sync(metrics, &self.file)?;
            self.durable = self.snapshot();
        }
        Ok(())
    }
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

/// A file's state at some length: what a sync covered, or what a round will cover.
#[derive(Clone)]
struct Snapshot {
    crc: crc32fast::Hasher,
    lines: u64,
    first_rx: i64,
    last_rx: i64,
    bytes: u64,
}

/// A round handed to the syncer.
struct InFlight {
    round: Round,
    /// `(serial, state)` of each file of the round as the sync covers it.
    covers: Vec<(u64, Snapshot)>,
}

enum Fault {
    Fail,
    FailSync,
    Stall(u64),
}

struct Writer {
    cfg: SinkConfig,
    clock: Clock,
    metrics: Arc<Metrics>,
    files: HashMap<FileKey, OpenFile>,
    idlogs: HashMap<Arc<str>, IdLog>,
    seal_tx: Option<mpsc::Sender<SealJob>>,
    /// Files taken out of `files` (rotated, idle, …) while a round still holds bytes of them:
    /// sealed once no round does.
    retiring: Vec<(FileKey, OpenFile, Trigger)>,
    seq: u64,
    last_interval_sync: Instant,
    last_expire: i64,
    /// Appends written since the round in flight was handed over.
    next: Round,
    /// The round the syncer is working on.
    in_flight: Option<InFlight>,
    sync_tx: Option<mpsc::Sender<syncer::SyncJob>>,
    done_rx: Receiver<syncer::SyncDone>,
    /// Alive while any [`SinkHandle`] is.
    handles: Weak<()>,
}

const TICK: Duration = Duration::from_millis(50);

fn injected() -> io::Error {
    io::Error::other("injected write failure (fault file present)")
}

impl Writer {
    /// Runs until shutdown; returns the shutdown requester to notify once sealing is done.
    fn run(mut self, rx: Receiver<Msg>) -> Option<oneshot::Sender<()>> {
        loop {
            while let Ok(done) = self.done_rx.try_recv() {
                self.complete_round(done);
            }
            let first = if self.in_flight.is_none() && !self.next.is_empty() {
                // A round completed while the next was being written: hand that over now,
                // with whatever is queued once the CPU was given back (see the yield below).
                std::thread::yield_now();
                rx.try_recv().ok()
            } else if self.in_flight.is_some() && self.next.len() >= self.cfg.queue_depth {
                // Written appends wait for their round: at most a queue's worth, so a stalled
                // disk fills the queue (503) instead of memory.
                match self.done_rx.recv_timeout(TICK) {
                    Ok(done) => self.complete_round(done),
                    Err(RecvTimeoutError::Timeout) => self.housekeeping(),
                    Err(RecvTimeoutError::Disconnected) => self.syncer_lost(),
                }
                continue;
            } else {
                match rx.recv_timeout(TICK) {
                    Ok(m) => {
                        if self.in_flight.is_none() {
                            // Group commit, like PostgreSQL's `commit_delay`: give the CPU
                            // back once before taking the appends, so request handlers that
                            // share this core (one pinned core, a busy machine) queue more
                            // into the round about to be synced. Woken by the first append,
                            // this thread would otherwise preempt them and sync rounds of
                            // one. On an idle core the yield returns at once. While a round is
                            // in flight there is no need: what arrives is written at once.
                            std::thread::yield_now();
                        }
                        Some(m)
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        self.housekeeping();
                        if self.handles.strong_count() == 0 {
                            return self.stop(None);
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return self.stop(None),
                }
            };
            let shutdown = match first {
                Some(m) => self.take_queued(m, &rx),
                None => None,
            };
            if self.in_flight.is_none() {
                self.issue_round();
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
                return self.stop(Some(done));
            }
        }
    }

    /// Writes `first` and whatever else is queued (up to the pending bound) into the next
    /// round; returns a shutdown request met on the way.
    fn take_queued(&mut self, first: Msg, rx: &Receiver<Msg>) -> Option<oneshot::Sender<()>> {
        let now = self.clock.now_ms();
        let fault = self.fault();
        if let Some(Fault::Stall(ms)) = fault {
            std::thread::sleep(Duration::from_millis(ms));
        }
        let fail = matches!(fault, Some(Fault::Fail));
        let mut msg = Some(first);
        while let Some(m) = msg.take() {
            match m {
                Msg::Append(a) => {
                    self.metrics.writer_queued.dec();
                    self.write_append(a, now, fail);
                }
                Msg::Wake => {}
                Msg::Shutdown(tx) => return Some(tx),
            }
            if self.next.len() < self.cfg.queue_depth {
                msg = rx.try_recv().ok();
            }
        }
        None
    }

    /// Completes every round, seals every file.
    fn stop(mut self, done: Option<oneshot::Sender<()>>) -> Option<oneshot::Sender<()>> {
        loop {
            if self.in_flight.is_some() {
                match self.done_rx.recv() {
                    Ok(done) => self.complete_round(done),
                    Err(_) => self.syncer_lost(),
                }
            } else if self.next.is_empty() {
                break;
            } else {
                self.issue_round();
            }
        }
        self.close_all(Trigger::Shutdown);
        // Ends the syncer.
        self.sync_tx = None;
        done
    }

    fn fault(&self) -> Option<Fault> {
        let path = self.cfg.fault_file.as_ref()?;
        let text = fs::read_to_string(path).ok()?;
        let text = text.trim();
        if text == "fail-sync" {
            return Some(Fault::FailSync);
        }
        match text.strip_prefix("stall:") {
            Some(ms) => Some(Fault::Stall(ms.parse().unwrap_or(1000))),
            None => Some(Fault::Fail),
        }
    }

    /// Writes one request's parts and adds it to the next round.
    fn write_append(&mut self, a: Append, now: i64, fail: bool) {
        let mut p = Pending {
            project: a.project,
            received_at: a.received_at,
            ids: a.ids,
            serials: Vec::with_capacity(2),
            ok: true,
            reply: a.reply,
        };
        for (stream, bytes, lines) in [
            (Stream::Events, &a.events, a.event_count),
            (Stream::Rejected, &a.rejected, a.rejected_count),
        ] {
            if bytes.is_empty() {
                continue;
            }
            let key: FileKey = (p.project.clone(), stream);
            match self.write_part(&key, p.received_at, now, bytes, lines, fail) {
                Ok(serial) => p.serials.push(serial),
                Err(e) => {
                    self.metrics.write_errors.inc();
                    warn!(project = %p.project, stream = stream.as_str(), "write failed: {e}");
                    p.ok = false;
                }
            }
        }
        self.next.push(p);
    }

    /// Hands the next round to the syncer (durability `batch`), or completes it at once.
    fn issue_round(&mut self) {
        if self.next.is_empty() {
            return;
        }
        let round = std::mem::take(&mut self.next);
        let mut covers = Vec::with_capacity(round.serials.len());
        let mut files = Vec::with_capacity(round.serials.len());
        for &serial in &round.serials {
            if let Some(f) = self.file_by_serial(serial) {
                if !f.is_durable() {
                    covers.push((serial, f.snapshot()));
                    files.push((serial, f.file.clone()));
                }
            }
        }
        let batch = self.cfg.durability == Durability::Batch;
        if !batch || files.is_empty() {
            // Nothing to wait for: `interval` and `never` acknowledge once written.
            self.finish_round(round, Vec::new(), &[]);
            return;
        }
        let fail = matches!(self.fault(), Some(Fault::FailSync));
        let sent = self
            .sync_tx
            .as_ref()
            .is_some_and(|tx| tx.send(syncer::SyncJob { files, fail }).is_ok());
        if sent {
            self.in_flight = Some(InFlight { round, covers });
        } else {
            // No syncer (it died): nothing of the round is known to be durable.
            error!("the syncer thread is gone; failing the round");
            let failed: Vec<u64> = covers.iter().map(|(s, _)| *s).collect();
            self.finish_round(round, covers, &failed);
        }
    }

    /// The syncer's result for the round in flight.
    fn complete_round(&mut self, done: syncer::SyncDone) {
        let Some(InFlight { round, covers }) = self.in_flight.take() else {
            return;
        };
        for (serial, e) in &done.failed {
            self.metrics.write_errors.inc();
            warn!(serial, "fdatasync failed: {e}");
        }
        let failed: Vec<u64> = done.failed.iter().map(|(s, _)| *s).collect();
        self.finish_round(round, covers, &failed);
    }

    /// The syncer thread ended while a round was in flight: fail it.
    fn syncer_lost(&mut self) {
        error!("the syncer thread is gone; failing the round in flight");
        self.sync_tx = None;
        if let Some(InFlight { round, covers }) = self.in_flight.take() {
            let failed: Vec<u64> = covers.iter().map(|(s, _)| *s).collect();
            self.finish_round(round, covers, &failed);
        }
    }

    /// Applies a round's sync results, logs the ids of its stored appends, replies to all of
    /// them, and seals the retired files no round holds bytes of any more.
    fn finish_round(&mut self, mut round: Round, covers: Vec<(u64, Snapshot)>, failed: &[u64]) {
        for (serial, snap) in covers {
            if failed.contains(&serial) {
                self.undo_to_durable(serial);
            } else if let Some(f) = self.file_by_serial(serial) {
                f.durable = snap;
            }
        }
        if !failed.is_empty() {
            round.fail_files(failed);
            // Their bytes after the durable length are gone too.
            self.next.fail_files(failed);
        }
        self.metrics.group_commits.inc();
        // Ids go to the log only for appends whose bytes are durable.
        for p in &round.pending {
            if p.ok && !p.ids.is_empty() {
                let dir = self.cfg.data_dir.join(&*p.project).join(IDS_DIR);
                let log = self
                    .idlogs
                    .entry(p.project.clone())
                    .or_insert_with(|| IdLog::new(dir));
                if let Err(e) = log.append(p.received_at, &p.ids) {
                    warn!(project = %p.project, "id log append failed: {e}");
                    for f in self
                        .files
                        .values_mut()
                        .chain(self.retiring.iter_mut().map(|r| &mut r.1))
                    {
                        if p.serials.contains(&f.serial) {
                            f.ids_incomplete = true;
                        }
                    }
                }
            }
        }
        for p in round.pending {
            let r = if p.ok {
                Ok(())
            } else {
                Err(WriteError::Storage(
                    "the events could not be written".into(),
                ))
            };
            let _ = p.reply.send(r);
        }
        self.seal_retired();
    }

    /// Whether a round (in flight or next) holds bytes of the file.
    fn held(&self, serial: u64) -> bool {
        self.next.touches(serial)
            || self
                .in_flight
                .as_ref()
                .is_some_and(|r| r.round.touches(serial))
    }

    /// Takes a file out of use: sealed now, or once no round holds bytes of it.
    fn retire(&mut self, key: &FileKey, f: OpenFile, trigger: Trigger) {
        if self.held(f.serial) {
            self.retiring.push((key.clone(), f, trigger));
        } else {
            self.seal_file(key, f, trigger);
        }
    }

    /// Seals the retired files whose rounds have all completed.
    fn seal_retired(&mut self) {
        if self.retiring.is_empty() {
            return;
        }
        let (held, free): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retiring)
            .into_iter()
            .partition(|r| self.held(r.1.serial));
        self.retiring = held;
        for (key, f, trigger) in free {
            self.seal_file(&key, f, trigger);
        }
    }

    fn file_by_serial(&mut self, serial: u64) -> Option<&mut OpenFile> {
        if let Some(i) = self.retiring.iter().position(|r| r.1.serial == serial) {
            return Some(&mut self.retiring[i].1);
        }
        self.files.values_mut().find(|f| f.serial == serial)
    }

    fn write_part(
        &mut self,
        key: &FileKey,
        at: i64,
        now: i64,
        bytes: &[u8],
        lines: u64,
        fail: bool,
    ) -> io::Result<u64> {
        let due = self.files.get(key).and_then(|f| {
            rotation::before_append(&f.state, bytes.len() as u64, at, now, &self.cfg.rotation)
        });
        if let Some(t) = due {
            if let Some(f) = self.files.remove(key) {
                self.retire(key, f, t);
            }
        }
        if !self.files.contains_key(key) {
            let f = self.open_file(key, at, now)?;
            self.files.insert(key.clone(), f);
        }
        let Some(f) = self.files.get_mut(key) else {
            return Err(io::Error::other("file vanished"));
        };
        let res = if fail {
            // Simulate a disk that fills up mid-write: half the bytes land, then ENOSPC.
            (&*f.file)
                .write_all(&bytes[..bytes.len() / 2])
                .and_then(|()| Err(injected()))
        } else {
            (&*f.file).write_all(bytes)
        };
        if let Err(e) = res {
            // Cut the partial write so no torn or unacknowledged line remains.
            if let Err(e2) = f.file.set_len(f.written) {
                error!(stem = %f.stem, "cannot cut a failed write: {e2}; file left for recovery");
                let serial = f.serial;
                self.drop_file(serial);
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
        Ok(f.serial)
    }

    /// Stops using a file whose state is unknown, leaving it (`*.open`) to recovery, which keeps
    /// whole lines (their ids become known, so retries are not duplicated). Appends of the next
    /// round with bytes in it fail; the round in flight learns it from its own sync.
    fn drop_file(&mut self, serial: u64) {
        self.files.retain(|_, f| f.serial != serial);
        self.retiring.retain(|r| r.1.serial != serial);
        self.next.fail_files(&[serial]);
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
            let empty = Snapshot {
                crc: crc32fast::Hasher::new(),
                lines: 0,
                first_rx: at,
                last_rx: at,
                bytes: 0,
            };
            return Ok(OpenFile {
                serial: self.seq,
                dir,
                stem,
                file: Arc::new(file),
                state: FileState {
                    opened_at: now,
                    last_write_at: now,
                    bytes: 0,
                    hour: hour_of(at),
                },
                written: 0,
                crc: empty.crc.clone(),
                lines: 0,
                first_rx: at,
                last_rx: at,
                durable: empty,
                ids_incomplete: false,
                _counted: OpenCount::new(self.metrics.open_files(&key.0, key.1.as_str())),
            });
        }
    }

    /// Syncs a file in this thread (`interval` durability; no round is in flight then).
    fn sync_file(&mut self, key: &FileKey) -> io::Result<()> {
        match self.files.get_mut(key) {
            Some(f) => f.make_durable(&self.metrics),
            None => Ok(()),
        }
    }

    /// After a failed sync: cut the file back to its last durable state.
    fn undo_to_durable(&mut self, serial: u64) {
        let metrics = self.metrics.clone();
        let Some(f) = self.file_by_serial(serial) else {
            return;
        };
        let s = f.durable.clone();
        let cut = f
            .file
            .set_len(s.bytes)
            .and_then(|()| syncer::timed_sync(&metrics, &f.file));
        match cut {
            Ok(()) => {
                f.written = s.bytes;
                f.state.bytes = s.bytes;
                f.crc = s.crc;
                f.lines = s.lines;
                f.first_rx = s.first_rx;
                f.last_rx = s.last_rx;
            }
            Err(e) => {
                error!(stem = %f.stem, "cannot undo a failed sync: {e}; file left for recovery");
                self.drop_file(serial);
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
            if let Some(f) = self.files.remove(&k) {
                self.retire(&k, f, t);
            }
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

    /// Syncs the file and its project's id log, then hands it to the sealer. No round holds
    /// bytes of it.
    fn seal_file(&mut self, key: &FileKey, mut f: OpenFile, trigger: Trigger) {
        if f.written == 0 {
            // Nothing was ever stored in it (its only write failed): remove it.
            let _ = fs::remove_file(f.dir.join(format!("{}{OPEN_SUFFIX}", f.stem)));
            return;
        }
        if let Err(e) = f.make_durable(&self.metrics) {
            error!(stem = %f.stem, "sync before sealing failed: {e}; left for recovery");
            return;
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

    /// At shutdown, once no round is left: seals every file.
    fn close_all(&mut self, trigger: Trigger) {
        for (key, f, t) in std::mem::take(&mut self.retiring) {
            self.seal_file(&key, f, t);
        }
        let keys: Vec<FileKey> = self.files.keys().cloned().collect();
        for k in keys {
            if let Some(f) = self.files.remove(&k) {
                self.seal_file(&k, f, trigger);
            }
        }
        for (p, log) in &mut self.idlogs {
            if let Err(e) = log.sync() {
                error!(project = %p, "id log sync failed at shutdown: {e}");
            }
        }
    }
}
