//! Where files go and what they are called (pure).
//!
//! ```text
//! <data-dir>/<project>/<yyyy>/<mm>/<dd>/<hh>/<collector>-<openedMs>-<seq>.ndjson.open   being written
//! <data-dir>/<project>/<yyyy>/<mm>/<dd>/<hh>/<collector>-<openedMs>-<seq>.ndjson        sealed
//! <data-dir>/<project>/<yyyy>/<mm>/<dd>/<hh>/<collector>-<openedMs>-<seq>.ndjson.gz     sealed, --gzip
//! <data-dir>/<project>/<yyyy>/<mm>/<dd>/<hh>/<collector>-<openedMs>-<seq>.manifest.json
//! <data-dir>/<project>/_rejected/<yyyy>/<mm>/<dd>/<hh>/...                             rejected events
//! <data-dir>/<project>/_ids/<yyyymmddhh>.ids                                            dedup id log
//! ```
//! The hour is the UTC hour of `receivedAt`. Loaders only ever see sealed names; anything
//! ending in `.open` or `.partial` is work in progress.

use std::path::{Path, PathBuf};

use maidian_protocol::time::utc_fields;

/// Which stream a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Accepted, enriched events.
    Events,
    /// Rejected events with their reasons.
    Rejected,
}

impl Stream {
    /// Name used in manifests and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Rejected => "rejected",
        }
    }
}

/// Directory of the rejected stream inside a project.
pub const REJECTED_DIR: &str = "_rejected";
/// Directory of the id log inside a project.
pub const IDS_DIR: &str = "_ids";
/// Suffix of a file being written.
pub const OPEN_SUFFIX: &str = ".ndjson.open";
/// Suffix of a sealed file.
pub const FINAL_SUFFIX: &str = ".ndjson";
/// Suffix of a sealed, gzipped file.
pub const GZ_SUFFIX: &str = ".ndjson.gz";
/// Suffix of a manifest.
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// Suffix of a temporary file during sealing.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// The UTC hour index (hours since the epoch) of `ms`.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(3_600_000)
}

/// The directory for `stream` of `project` holding events received at `ms`.
pub fn partition_dir(data_dir: &Path, project: &str, stream: Stream, ms: i64) -> PathBuf {
    let (y, m, d, h) = utc_fields(ms);
    let mut p = data_dir.join(project);
    if stream == Stream::Rejected {
        p.push(REJECTED_DIR);
    }
    p.push(format!("{y:04}"));
    p.push(format!("{m:02}"));
    p.push(format!("{d:02}"));
    p.push(format!("{h:02}"));
    p
}

/// The stem (name without suffix) of a new file.
pub fn file_stem(collector_id: &str, opened_ms: i64, seq: u64) -> String {
    format!("{collector_id}-{opened_ms}-{seq:06}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let ms = 1_795_540_246_123; // 2026-11-24T17:10:46.123Z
        assert_eq!(
            partition_dir(Path::new("/d"), "demo", Stream::Events, ms),
            PathBuf::from("/d/demo/2026/11/24/17")
        );
        assert_eq!(
            partition_dir(Path::new("/d"), "demo", Stream::Rejected, ms),
            PathBuf::from("/d/demo/_rejected/2026/11/24/17")
        );
        assert_eq!(file_stem("c1", ms, 7), "c1-1795540246123-000007");
        assert_eq!(hour_of(ms), 498_761);
        assert_eq!(hour_of(-1), -1);
    }
}
