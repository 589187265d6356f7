//! When an open file is sealed (pure): size, age, idle time, UTC hour boundary.

use crate::config::Rotation;
use crate::sink::partition::hour_of;

/// What the policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileState {
    /// When the file was opened (collector clock, ms).
    pub opened_at: i64,
    /// Last successful write.
    pub last_write_at: i64,
    /// Bytes in the file.
    pub bytes: u64,
    /// UTC hour (hours since the epoch) of the file's partition.
    pub hour: i64,
}

/// Why a file was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Reached `max_bytes`.
    Size,
    /// Open for `max_age_ms`.
    Age,
    /// No write for `idle_ms`.
    Idle,
    /// Its UTC hour is over.
    HourBoundary,
    /// The collector is shutting down.
    Shutdown,
    /// Left `*.open` by a crash and recovered on startup.
    Recovery,
}

impl Trigger {
    /// Name used in manifests and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Size => "size",
            Self::Age => "age",
            Self::Idle => "idle",
            Self::HourBoundary => "hour",
            Self::Shutdown => "shutdown",
            Self::Recovery => "recovery",
        }
    }
}

/// Whether the file must be sealed before `len` more bytes received at `at_ms` are appended.
/// A single append larger than `max_bytes` still goes into one (fresh) file.
pub fn before_append(
    s: &FileState,
    len: u64,
    at_ms: i64,
    now: i64,
    r: &Rotation,
) -> Option<Trigger> {
    if hour_of(at_ms) != s.hour {
        return Some(Trigger::HourBoundary);
    }
    if s.bytes > 0 && s.bytes.saturating_add(len) > r.max_bytes {
        return Some(Trigger::Size);
    }
    if now - s.opened_at >= r.max_age_ms {
        return Some(Trigger::Age);
    }
    None
}

/// Whether the file must be sealed now, with no write pending.
pub fn on_tick(s: &FileState, now: i64, r: &Rotation) -> Option<Trigger> {
    if s.bytes >= r.max_bytes {
        Some(Trigger::Size)
    } else if hour_of(now) > s.hour {
        Some(Trigger::HourBoundary)
    } else if now - s.opened_at >= r.max_age_ms {
        Some(Trigger::Age)
    } else if now - s.last_write_at >= r.idle_ms {
        Some(Trigger::Idle)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Rotation = Rotation {
        max_bytes: 1000,
        max_age_ms: 60_000,
        idle_ms: 5_000,
    };
    const H: i64 = 3_600_000;

    fn st(bytes: u64) -> FileState {
        FileState {
            opened_at: 10 * H,
            last_write_at: 10 * H,
            bytes,
            hour: 10,
        }
    }

    #[test]
    fn append_triggers() {
        let t = 10 * H + 1000;
        assert_eq!(
            before_append(&st(0), 5000, t, t, &R),
            None,
            "oversized goes alone"
        );
        assert_eq!(before_append(&st(900), 100, t, t, &R), None);
        assert_eq!(before_append(&st(900), 101, t, t, &R), Some(Trigger::Size));
        assert_eq!(
            before_append(&st(1), 1, 11 * H, 11 * H, &R),
            Some(Trigger::HourBoundary)
        );
        assert_eq!(
            before_append(&st(1), 1, t, 10 * H + 60_000, &R),
            Some(Trigger::Age)
        );
    }

    #[test]
    fn tick_triggers() {
        assert_eq!(on_tick(&st(1), 10 * H + 4_999, &R), None);
        assert_eq!(on_tick(&st(1), 10 * H + 5_000, &R), Some(Trigger::Idle));
        let mut busy = st(1);
        busy.last_write_at = 10 * H + 59_999;
        assert_eq!(on_tick(&busy, 10 * H + 59_999, &R), None);
        assert_eq!(on_tick(&busy, 10 * H + 60_000, &R), Some(Trigger::Age));
        busy.last_write_at = 11 * H;
        assert_eq!(on_tick(&busy, 11 * H, &R), Some(Trigger::HourBoundary));
        assert_eq!(on_tick(&st(1000), 10 * H, &R), Some(Trigger::Size));
    }
}
