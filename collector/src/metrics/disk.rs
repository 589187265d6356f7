//! Free space of the data directory's file system, by `statvfs(2)` through rustix (no unsafe
//! code here). Cheap (one system call), read at scrape time so the figure is never stale.

use std::io;
use std::path::Path;

/// Space of a file system, bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Available to unprivileged writers (`f_bavail`), which is what the collector may use.
    pub available: u64,
    /// The file system's size (`f_blocks`).
    pub total: u64,
}

/// The space of the file system holding `path`.
pub fn space(path: &Path) -> io::Result<Space> {
    let s = rustix::fs::statvfs(path).map_err(io::Error::from)?;
    Ok(Space {
        available: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_current_directory() {
        let s = space(Path::new(".")).expect("statvfs");
        assert!(s.total > 0 && s.available <= s.total, "{s:?}");
        assert!(space(Path::new("/no/such/dir")).is_err());
    }
}
