//! Startup recovery of files left behind by a crash.
//!
//! - `*.partial` (an interrupted gzip or manifest) is deleted.
//! - `*.ndjson.open` whose sealed twin exists (crash after the rename of a gzip) is deleted.
//! - Any other `*.ndjson.open` is checked line by line: the first line that is not a complete
//!   JSON object ending in `\n` and everything after it is cut (and counted: only bytes that
//!   were never acknowledged can be there, since acknowledged bytes were synced before
//!   anything after them was written). The ids of its events are appended to the id log
//!   (and handed to the caller for the dedup set), then the file is sealed like any other.
//!
//! Runs before the server accepts requests, single-threaded.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use maidian_protocol::time::parse_rfc3339;
use serde::Deserialize;
use tracing::{info, warn};

use crate::dedup::{IdKey, classify};
use crate::idlog::{self, IdLog};
use crate::sink::partition::{
    FINAL_SUFFIX, GZ_SUFFIX, IDS_DIR, OPEN_SUFFIX, PARTIAL_SUFFIX, REJECTED_DIR, Stream,
};
use crate::sink::rotation::Trigger;
use crate::sink::seal::{self, SealJob};

/// What recovery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryReport {
    /// `.open` files sealed.
    pub files_sealed: usize,
    /// `.open` files removed (empty, or already sealed).
    pub files_removed: usize,
    /// `.partial` files removed.
    pub partials_removed: usize,
    /// Torn lines cut.
    pub torn_lines: u64,
    /// Torn bytes cut.
    pub torn_bytes: u64,
    /// Event ids read from recovered files.
    pub ids: usize,
}

#[derive(Deserialize)]
struct LineHead<'a> {
    #[serde(borrow, rename = "receivedAt")]
    received_at: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "messageId")]
    message_id: Option<Cow<'a, str>>,
}

/// The outcome of scanning one file's bytes (pure).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Length of the prefix of whole, valid lines.
    pub valid_len: usize,
    /// Lines in it.
    pub lines: u64,
    /// Lines (or fragments) cut after it.
    pub torn_lines: u64,
    /// Earliest/latest `receivedAt` seen (ms).
    pub first_rx: Option<i64>,
    /// See `first_rx`.
    pub last_rx: Option<i64>,
}

/// Scans stored lines, calling `on_id(messageId, receivedAt)` for each valid line.
pub fn scan(bytes: &[u8], mut on_id: impl FnMut(&str, i64)) -> Scan {
    let mut s = Scan::default();
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(nl) = bytes[pos..].iter().position(|b| *b == b'\n') else {
            break;
        };
        let line = &bytes[pos..pos + nl];
        let Ok(head) = serde_json::from_slice::<LineHead<'_>>(line) else {
            break;
        };
        let rx = head.received_at.as_deref().and_then(parse_rfc3339);
        if let Some(rx) = rx {
            s.first_rx = Some(s.first_rx.map_or(rx, |f| f.min(rx)));
            s.last_rx = Some(s.last_rx.map_or(rx, |l| l.max(rx)));
        }
        if let (Some(id), Some(rx)) = (head.message_id.as_deref(), rx) {
            on_id(id, rx);
        }
        s.lines += 1;
        pos += nl + 1;
    }
    s.valid_len = pos;
    if pos < bytes.len() {
        let tail = &bytes[pos..];
        s.torn_lines = tail
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count() as u64;
        s.torn_lines = s.torn_lines.max(1);
    }
    s
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let ft = entry.file_type()?;
        let name = entry.file_name();
        if ft.is_dir() {
            if name != IDS_DIR {
                walk(&entry.path(), out)?;
            }
        } else if ft.is_file() {
            out.push(entry.path());
        }
    }
    Ok(())
}

/// Recovers every project directory under `data_dir`. `on_id(project, id, receivedAt)` is
/// called for each event id found in a recovered events file (after its id-log records are
/// durable).
pub fn recover(
    data_dir: &Path,
    collector_id: &str,
    gzip: bool,
    now_ms: i64,
    mut on_id: impl FnMut(&str, IdKey<'_>, i64),
) -> io::Result<RecoveryReport> {
    let mut report = RecoveryReport::default();
    let projects = match fs::read_dir(data_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(e),
    };
    for p in projects {
        let p = p?;
        let name = p.file_name();
        let Some(project) = name.to_str() else {
            continue;
        };
        if !p.file_type()?.is_dir() || project.starts_with(['.', '_']) {
            continue;
        }
        let mut files = Vec::new();
        walk(&p.path(), &mut files)?;
        files.sort();
        let mut idlog = IdLog::new(p.path().join(IDS_DIR));
        for path in files {
            let Some(fname) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if fname.ends_with(PARTIAL_SUFFIX) {
                fs::remove_file(&path)?;
                report.partials_removed += 1;
                continue;
            }
            let Some(stem) = fname.strip_suffix(OPEN_SUFFIX) else {
                continue;
            };
            let Some(dir) = path.parent() else { continue };
            if dir.join(format!("{stem}{GZ_SUFFIX}")).exists()
                || dir.join(format!("{stem}{FINAL_SUFFIX}")).exists()
            {
                fs::remove_file(&path)?;
                report.files_removed += 1;
                continue;
            }
            let stream = if path
                .strip_prefix(p.path())
                .is_ok_and(|r| r.starts_with(REJECTED_DIR))
            {
                Stream::Rejected
            } else {
                Stream::Events
            };
            let bytes = fs::read(&path)?;
            let mut by_hour: BTreeMap<String, (i64, Vec<u8>)> = BTreeMap::new();
            let mut ids: Vec<(crate::dedup::OwnedKey, i64)> = Vec::new();
            let s = scan(&bytes, |id, rx| {
                if stream == Stream::Events {
                    let key = classify(id);
                    let e = by_hour
                        .entry(idlog::segment_name(rx))
                        .or_insert_with(|| (rx, Vec::new()));
                    idlog::encode(key, &mut e.1);
                    ids.push((key.to_owned_key(), rx));
                }
            });
            if s.valid_len < bytes.len() {
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(s.valid_len as u64)?;
                f.sync_all()?;
                report.torn_lines += s.torn_lines;
                report.torn_bytes += (bytes.len() - s.valid_len) as u64;
                warn!(file = %path.display(), torn_bytes = bytes.len() - s.valid_len, "cut a torn tail");
            }
            if s.lines == 0 {
                fs::remove_file(&path)?;
                report.files_removed += 1;
                continue;
            }
            for (rx, recs) in by_hour.values() {
                idlog.append(*rx, recs)?;
            }
            idlog.sync()?;
            report.ids += ids.len();
            for (k, rx) in &ids {
                on_id(project, k.as_key(), *rx);
            }
            let job = SealJob {
                dir: dir.to_path_buf(),
                stem: stem.to_owned(),
                project: project.to_owned(),
                stream,
                collector_id: collector_id.to_owned(),
                lines: s.lines,
                bytes: s.valid_len as u64,
                crc32: crc32fast::hash(&bytes[..s.valid_len]),
                first_received_at: s.first_rx.unwrap_or(now_ms),
                last_received_at: s.last_rx.unwrap_or(now_ms),
                trigger: Trigger::Recovery,
                gzip,
                torn_lines_cut: s.torn_lines,
                torn_bytes_cut: (bytes.len() - s.valid_len) as u64,
                sealed_at: now_ms,
            };
            let final_path = seal::seal(&job)?;
            info!(file = %final_path.display(), lines = s.lines, "recovered");
            report.files_sealed += 1;
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cuts_torn_and_garbage_tails() {
        let good = "{\"receivedAt\":\"2026-11-24T17:10:46.123Z\",\"messageId\":\"a\"}\n\
                    {\"receivedAt\":\"2026-11-24T17:10:47.123Z\",\"messageId\":\"b\",\"x\":{\"y\":1}}\n";
        let mut ids = Vec::new();
        let s = scan(good.as_bytes(), |id, _| ids.push(id.to_owned()));
        assert_eq!(s.valid_len, good.len());
        assert_eq!((s.lines, s.torn_lines), (2, 0));
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(s.first_rx, Some(1_795_540_246_123));
        assert_eq!(s.last_rx, Some(1_795_540_247_123));

        for tail in [
            "{\"receivedAt\":\"20",
            "{}\u{0}\u{0}\u{0}",
            "\u{0}\u{0}\n\u{0}\n",
        ] {
            let torn = format!("{good}{tail}");
            let s = scan(torn.as_bytes(), |_, _| {});
            assert_eq!(s.valid_len, good.len(), "{tail:?}");
            assert_eq!(s.lines, 2);
            assert!(s.torn_lines >= 1);
        }
        // A torn line in the middle cuts everything after it (nothing after it was acked).
        let mid = format!("{{\"a\":\n{good}");
        assert_eq!(scan(mid.as_bytes(), |_, _| {}).valid_len, 0);
    }
}
