//! The collector's clock: wall time in Unix milliseconds, with an offset tests can set to
//! cross an hour boundary on demand.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall clock plus a fixed offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    offset_ms: i64,
}

impl Clock {
    /// A clock shifted by `offset_ms`.
    pub fn new(offset_ms: i64) -> Self {
        Self { offset_ms }
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        real.saturating_add(self.offset_ms)
    }
}
