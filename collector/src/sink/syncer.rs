//! The syncer thread: runs the `fdatasync`s of one commit round while the writer goes on
//! writing the next.
//!
//! It owns nothing but the job queue: the writer hands it a round's files (shared handles) and
//! gets back which of them failed, through a channel of its own plus a wake-up call (the
//! writer sleeps on its append queue). One round is in flight at a time, so a file is never
//! synced twice at once and the writer alone decides what a failure undoes.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::metrics::Metrics;

/// The files of one round to make durable.
pub(super) struct SyncJob {
    /// `(serial, file)`: each synced once; whatever was written before the call is covered.
    pub files: Vec<(u64, Arc<File>)>,
    /// Test hook: fail every sync of this job (the fault file says `fail-sync`).
    pub fail: bool,
}

/// The outcome of a [`SyncJob`].
pub(super) struct SyncDone {
    /// Serials whose sync failed, with the error.
    pub failed: Vec<(u64, String)>,
}

/// `fdatasync`, counted and timed.
pub(super) fn timed_sync(metrics: &Metrics, file: &File) -> io::Result<()> {
    let started = Instant::now();
    let r = file.sync_data();
    metrics.fsync_done(started.elapsed());
    r
}

/// Starts the thread. `wake` is called after each result is sent; the thread ends when the
/// job sender is dropped.
pub(super) fn spawn(
    metrics: Arc<Metrics>,
    wake: impl Fn() + Send + 'static,
) -> io::Result<(Sender<SyncJob>, Receiver<SyncDone>, JoinHandle<()>)> {
    let (job_tx, job_rx) = mpsc::channel::<SyncJob>();
    let (done_tx, done_rx) = mpsc::channel::<SyncDone>();
    let handle = std::thread::Builder::new()
        .name("maidian-syncer".into())
        .spawn(move || {
            for job in job_rx {
                let failed = job
                    .files
                    .iter()
                    .filter_map(|(serial, file)| {
                        let r = if job.fail {
                            Err(io::Error::other(
                                "injected sync failure (fault file says fail-sync)",
                            ))
                        } else {
                            timed_sync(&metrics, file)
                        };
                        r.err().map(|e| (*serial, e.to_string()))
                    })
                    .collect();
                if done_tx.send(SyncDone { failed }).is_err() {
                    return;
                }
                wake();
            }
        })?;
    Ok((job_tx, done_rx, handle))
}
