//! Sealing a finished file: optional gzip, its manifest, the atomic rename to the final name.
//! Runs on its own thread (so gzip never delays group commits) and synchronously during
//! recovery.
//!
//! Order, each step durable before the next: the `.open` file is already fsynced (and the id
//! log covering it) when a job arrives; (gzip into `X.ndjson.gz.partial`, fsync); manifest
//! `X.manifest.json.partial`, fsync, rename; rename the data file to its final name; fsync the
//! directory; (remove the `.open` source of a gzip). A crash anywhere leaves either the `.open`
//! file (sealed again by recovery) or the final file; `*.partial` files are deleted on startup.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use maidian_protocol::time::format_rfc3339_millis;
use serde::Serialize;

use crate::sink::partition::{
    FINAL_SUFFIX, GZ_SUFFIX, MANIFEST_SUFFIX, OPEN_SUFFIX, PARTIAL_SUFFIX, Stream,
};
use crate::sink::rotation::Trigger;

/// Everything needed to seal one file.
#[derive(Debug, Clone)]
pub struct SealJob {
    /// Directory holding the file.
    pub dir: PathBuf,
    /// File name without suffix.
    pub stem: String,
    /// Project.
    pub project: String,
    /// Stream.
    pub stream: Stream,
    /// Instance id.
    pub collector_id: String,
    /// Lines (events) in the file.
    pub lines: u64,
    /// Bytes of the `.open` file.
    pub bytes: u64,
    /// CRC-32 of the `.open` file's bytes.
    pub crc32: u32,
    /// Earliest and latest `receivedAt` of its lines.
    pub first_received_at: i64,
    /// See `first_received_at`.
    pub last_received_at: i64,
    /// Why it is sealed.
    pub trigger: Trigger,
    /// Gzip it.
    pub gzip: bool,
    /// Torn lines cut by recovery.
    pub torn_lines_cut: u64,
    /// Torn bytes cut by recovery.
    pub torn_bytes_cut: u64,
    /// Sealing time.
    pub sealed_at: i64,
}

/// The `*.manifest.json` written next to each sealed file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Final file name.
    pub file: String,
    /// `events` or `rejected`.
    pub stream: &'static str,
    /// Project.
    pub project: String,
    /// Instance id.
    pub collector_id: String,
    /// `ndjson` or `ndjson+gzip`.
    pub format: &'static str,
    /// Lines.
    pub events: u64,
    /// Size of the final file.
    pub bytes: u64,
    /// Size of the NDJSON content.
    pub uncompressed_bytes: u64,
    /// CRC-32 (IEEE) of the final file, lower-case hex.
    pub crc32: String,
    /// Earliest `receivedAt`.
    pub first_received_at: String,
    /// Latest `receivedAt`.
    pub last_received_at: String,
    /// Why it was sealed: size, age, idle, hour, shutdown, recovery.
    pub trigger: &'static str,
    /// Sealing time.
    pub sealed_at: String,
    /// Torn lines cut by recovery.
    pub torn_lines_cut: u64,
    /// Torn bytes cut by recovery.
    pub torn_bytes_cut: u64,
}

/// Fsyncs a directory so renames and creations in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A writer that tracks the CRC-32 and length of what passes through.
struct CrcWriter<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Seals the file described by `job`; returns the final path.
pub fn seal(job: &SealJob) -> io::Result<PathBuf> {
    let open = job.dir.join(format!("{}{OPEN_SUFFIX}", job.stem));
    let (final_name, format, bytes, crc) = if job.gzip {
        let name = format!("{}{GZ_SUFFIX}", job.stem);
        let partial = job.dir.join(format!("{name}{PARTIAL_SUFFIX}"));
        let out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)?;
        let mut enc = flate2::write::GzEncoder::new(
            CrcWriter {
                inner: io::BufWriter::with_capacity(256 << 10, out),
                crc: crc32fast::Hasher::new(),
                len: 0,
            },
            flate2::Compression::fast(),
        );
        let mut src = BufReader::with_capacity(256 << 10, File::open(&open)?);
        io::copy(&mut src, &mut enc)?;
        let mut w = enc.finish()?;
        w.flush()?;
        let (len, crc) = (w.len, w.crc.finalize());
        w.inner
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        fs::rename(&partial, job.dir.join(&name))?;
        (name, "ndjson+gzip", len, crc)
    } else {
        (
            format!("{}{FINAL_SUFFIX}", job.stem),
            "ndjson",
            job.bytes,
            job.crc32,
        )
    };
    let manifest = Manifest {
        file: final_name.clone(),
        stream: job.stream.as_str(),
        project: job.project.clone(),
        collector_id: job.collector_id.clone(),
        format,
        events: job.lines,
        bytes,
        uncompressed_bytes: job.bytes,
        crc32: format!("{crc:08x}"),
        first_received_at: format_rfc3339_millis(job.first_received_at),
        last_received_at: format_rfc3339_millis(job.last_received_at),
        trigger: job.trigger.as_str(),
        sealed_at: format_rfc3339_millis(job.sealed_at),
        torn_lines_cut: job.torn_lines_cut,
        torn_bytes_cut: job.torn_bytes_cut,
    };
    let mut text = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    text.push(b'\n');
    let manifest_name = format!("{}{MANIFEST_SUFFIX}", job.stem);
    let partial = job.dir.join(format!("{manifest_name}{PARTIAL_SUFFIX}"));
    write_durably(&partial, &text)?;
    fs::rename(&partial, job.dir.join(&manifest_name))?;
    let final_path = job.dir.join(&final_name);
    if job.gzip {
        sync_dir(&job.dir)?;
        fs::remove_file(&open)?;
    } else {
        fs::rename(&open, &final_path)?;
    }
    sync_dir(&job.dir)?;
    Ok(final_path)
}

/// Reads a whole file and returns its CRC-32 (recovery, tests).
pub fn crc32_of(path: &Path) -> io::Result<u32> {
    let mut f = File::open(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize());
        }
        h.update(&buf[..n]);
    }
}
