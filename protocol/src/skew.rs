//! The clock-skew rule: how the collector turns a device-clock timestamp into server time.
//!
//! A device clock may be off by minutes or days; `sentAt` (stamped by the device when the
//! request leaves) and `receivedAt` (stamped by the collector) measure that offset. The event
//! time is then `timestamp = receivedAt - (sentAt - timestamp)`. The difference also contains
//! network transit, so the correction is applied only when `|receivedAt - sentAt|` exceeds
//! [`crate::Limits::skew_threshold_ms`]: below it, the device clock is trusted as is.

use crate::time::UnixMillis;

/// The result of applying the rule to one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrected {
    /// The event time to store.
    pub timestamp: UnixMillis,
    /// `receivedAt - sentAt` when the correction was applied, otherwise `None`.
    pub skew_ms: Option<i64>,
}

/// Applies the rule. `client` is the device-clock event time (`None` when the sender gave no
/// timestamp: the event time is then `received_at`), `sent_at` the device-clock send time.
pub fn correct(
    client: Option<UnixMillis>,
    sent_at: Option<UnixMillis>,
    received_at: UnixMillis,
    threshold_ms: i64,
) -> Corrected {
    let Some(client) = client else {
        return Corrected {
            timestamp: received_at,
            skew_ms: None,
        };
    };
    match sent_at {
        Some(sent) => {
            let skew = received_at.saturating_sub(sent);
            if skew.unsigned_abs() > threshold_ms.unsigned_abs() {
                Corrected {
                    // receivedAt - (sentAt - timestamp), written so it cannot overflow.
                    timestamp: client.saturating_add(skew),
                    skew_ms: Some(skew),
                }
            } else {
                Corrected {
                    timestamp: client,
                    skew_ms: None,
                }
            }
        }
        None => Corrected {
            timestamp: client,
            skew_ms: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 15_000;

    #[test]
    fn transit_below_threshold_is_not_folded_in() {
        // Device clock right, 3 s upload: timestamps stay as the device said.
        let c = correct(Some(1_000), Some(5_000), 8_000, T);
        assert_eq!(
            c,
            Corrected {
                timestamp: 1_000,
                skew_ms: None
            }
        );
    }

    #[test]
    fn clock_behind_is_corrected() {
        // Device clock 1 h behind: event 10 s before sending.
        let recv = 10_000_000;
        let sent = recv - 3_600_000;
        let c = correct(Some(sent - 10_000), Some(sent), recv, T);
        assert_eq!(c.timestamp, recv - 10_000);
        assert_eq!(c.skew_ms, Some(3_600_000));
    }

    #[test]
    fn clock_ahead_is_corrected() {
        let recv = 10_000_000;
        let sent = recv + 86_400_000;
        let c = correct(Some(sent - 500), Some(sent), recv, T);
        assert_eq!(c.timestamp, recv - 500);
        assert_eq!(c.skew_ms, Some(-86_400_000));
    }

    #[test]
    fn threshold_is_exclusive_and_missing_fields_fall_back() {
        assert_eq!(correct(Some(0), Some(0), T, T).skew_ms, None);
        assert_eq!(correct(Some(0), Some(0), T + 1, T).skew_ms, Some(T + 1));
        assert_eq!(correct(Some(7), None, 99, T).timestamp, 7);
        assert_eq!(correct(None, Some(1), 99, T).timestamp, 99);
        assert_eq!(
            correct(Some(i64::MAX), Some(i64::MIN), i64::MAX, T).timestamp,
            i64::MAX
        );
    }
}
