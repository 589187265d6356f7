//! RFC 3339 timestamps on the wire: strict parsing to Unix milliseconds and formatting from them.
//!
//! Hand-written rather than pulled from `chrono`/`time` because this crate is linked into the
//! wasm SDK, where every kilobyte counts; the civil-date arithmetic is Howard Hinnant's
//! `days_from_civil` / `civil_from_days` and is exhaustively round-trip tested below.

/// Milliseconds since the Unix epoch, UTC.
pub type UnixMillis = i64;

/// Earliest instant accepted anywhere in the protocol: 1970-01-01T00:00:00Z.
pub const MIN_MILLIS: UnixMillis = 0;
/// Latest instant accepted anywhere in the protocol: 9999-12-31T23:59:59.999Z.
pub const MAX_MILLIS: UnixMillis = 253_402_300_799_999;

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0')))
}

/// Parses an RFC 3339 date-time (`2026-11-24T17:10:46.123Z`, `2026-11-24T17:10:46+08:00`) into
/// Unix milliseconds. Fractions beyond milliseconds are truncated. A space may stand for the
/// `T`, `z` for `Z` (both allowed by RFC 3339 §5.6 notes). Leap seconds (`:60`) are refused.
/// Returns `None` for anything else, including out-of-range field values.
pub fn parse_rfc3339(s: &str) -> Option<UnixMillis> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 40 {
        return None;
    }
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut millis = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
        for (k, c) in frac.iter().take(3).enumerate() {
            millis += u32::from(c - b'0') * [100, 10, 1][k];
        }
    }
    let offset_minutes: i64 = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = i64::from(digits(&[*h1, *h2])?);
            let om = i64::from(digits(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 60 + om;
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
        - offset_minutes * 60;
    let ms = secs * 1000 + i64::from(millis);
    (MIN_MILLIS..=MAX_MILLIS).contains(&ms).then_some(ms)
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (always UTC, always 24 bytes).
/// Values outside [`MIN_MILLIS`, `MAX_MILLIS`] are clamped into that range.
pub fn format_rfc3339_millis(ms: UnixMillis) -> String {
    let mut out = String::with_capacity(24);
    write_rfc3339_millis(ms, &mut out);
    out
}

/// Writes `v` (0..=99) as two ASCII digits at `buf[at..at + 2]`.
fn put2(buf: &mut [u8], at: usize, v: i64) {
    buf[at] = b'0' + (v / 10) as u8;
    buf[at + 1] = b'0' + (v % 10) as u8;
}

/// `YYYY-MM-DDT` of a day since the epoch within [`MIN_MILLIS`, `MAX_MILLIS`].
fn date_text(days: i64) -> [u8; 11] {
    let (y, mo, d) = civil_from_days(days);
    let mut buf = *b"0000-00-00T";
    put2(&mut buf, 0, y / 100);
    put2(&mut buf, 2, y % 100);
    put2(&mut buf, 5, i64::from(mo));
    put2(&mut buf, 8, i64::from(d));
    buf
}

/// `HH:MM:SS.mmmZ` of a millisecond of the day (0..86_400_000).
fn time_text(rem: i64) -> [u8; 13] {
    let mut buf = *b"00:00:00.000Z";
    put2(&mut buf, 0, rem / 3_600_000);
    put2(&mut buf, 3, rem / 60_000 % 60);
    put2(&mut buf, 6, rem / 1000 % 60);
    buf[9] = b'0' + (rem % 1000 / 100) as u8;
    put2(&mut buf, 10, rem % 100);
    buf
}

/// Appends ASCII bytes (every field above is in range after the clamp, so each digit is 0..=9).
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(std::str::from_utf8(bytes).unwrap_or_default());
}

/// The day and the millisecond of the day of `ms`, clamped into [`MIN_MILLIS`, `MAX_MILLIS`].
fn day_and_rem(ms: UnixMillis) -> (i64, i64) {
    let ms = ms.clamp(MIN_MILLIS, MAX_MILLIS);
    (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000))
}

/// Appends the [`format_rfc3339_millis`] form of `ms` to `out` without an intermediate string.
pub fn write_rfc3339_millis(ms: UnixMillis, out: &mut String) {
    let (days, rem) = day_and_rem(ms);
    push_ascii(out, &date_text(days));
    push_ascii(out, &time_text(rem));
}

/// [`write_rfc3339_millis`] for many instants close in time (the events of one request): the
/// `YYYY-MM-DDTHH:MM:` part is formatted once per UTC minute (the calendar arithmetic and the
/// text check are most of the cost) and only `SS.mmmZ` per instant; the output is
/// byte-identical.
#[derive(Debug, Clone, Default)]
pub struct Rfc3339Writer {
    /// The minute (minutes since the epoch) and its `YYYY-MM-DDTHH:MM:` text (kept as text:
    /// no UTF-8 check per use).
    minute: Option<(i64, String)>,
}

impl Rfc3339Writer {
    /// Appends the [`format_rfc3339_millis`] form of `ms` to `out`.
    pub fn write(&mut self, ms: UnixMillis, out: &mut String) {
        let (days, rem) = day_and_rem(ms);
        let minute = days * 1440 + rem / 60_000;
        match &self.minute {
            Some((m, text)) if *m == minute => out.push_str(text),
            _ => {
                let mut text = String::with_capacity(17);
                push_ascii(&mut text, &date_text(days));
                push_ascii(&mut text, &time_text(rem)[..6]);
                out.push_str(&text);
                self.minute = Some((minute, text));
            }
        }
        // `SS.mmmZ`, digit by digit (each is 0..=9).
        let (sec, milli) = (rem / 1000 % 60, rem % 1000);
        let digit = |v: i64| char::from(b'0' + (v % 10) as u8);
        out.reserve(7);
        out.push(digit(sec / 10));
        out.push(digit(sec));
        out.push('.');
        out.push(digit(milli / 100));
        out.push(digit(milli / 10));
        out.push(digit(milli));
        out.push('Z');
    }
}

/// UTC calendar fields of an instant: `(year, month, day, hour)`. Used for time partitioning.
pub fn utc_fields(ms: UnixMillis) -> (i64, u32, u32, u32) {
    let days = ms.div_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    (y, m, d, (ms.rem_euclid(86_400_000) / 3_600_000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_writer_is_write_rfc3339_millis() {
        let mut w = Rfc3339Writer::default();
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        let mut at = 1_795_540_246_123_i64;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Mostly nearby instants (same day, crossing midnights), sometimes anywhere, and the
            // clamped extremes.
            at = match i % 50 {
                0 => (x % (MAX_MILLIS as u64 + 1)) as i64,
                1 => -5,
                2 => MAX_MILLIS + 10,
                _ => at + (x % 7_200_000) as i64 - 3_000_000,
            };
            let (mut a, mut b) = (String::from("x"), String::from("x"));
            w.write(at, &mut a);
            write_rfc3339_millis(at, &mut b);
            assert_eq!(a, b, "{at}");
        }
    }

    #[test]
    fn parses_utc_and_offsets() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.001Z"), Some(1));
        assert_eq!(
            parse_rfc3339("2026-11-24T17:10:46.123Z"),
            Some(1_795_540_246_123)
        );
        assert_eq!(
            parse_rfc3339("2026-11-25T01:10:46.123+08:00"),
            Some(1_795_540_246_123)
        );
        assert_eq!(
            parse_rfc3339("2026-11-24 17:10:46.123456789z"),
            Some(1_795_540_246_123)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn refuses_malformed() {
        for s in [
            "",
            "2026-11-24",
            "2026-11-24T17:10:46",
            "2026-11-24T17:10:46.Z",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-11-24T24:00:00Z",
            "2026-11-24T23:59:60Z",
            "2026-11-24T17:10:46+0800",
            "2026-11-24T17:10:46+24:00",
            "2026-11-24T17:10:46.1234567890Z",
            "1969-12-31T23:59:59Z",
            "+2026-11-24T17:10:46Z",
            "2026-1a-24T17:10:46Z",
            "２０２６-11-24T17:10:46Z",
        ] {
            assert_eq!(parse_rfc3339(s), None, "{s}");
        }
    }

    #[test]
    fn format_round_trips_every_day_for_centuries() {
        // Every day from 1970 to 2400 at a varying time of day.
        let mut ms = 0i64;
        while ms < 13_569_465_600_000 {
            let s = format_rfc3339_millis(ms);
            assert_eq!(s.len(), 24);
            assert_eq!(parse_rfc3339(&s), Some(ms), "{s}");
            ms += 86_400_000 + 3_723_007;
        }
    }

    #[test]
    fn utc_fields_partition() {
        assert_eq!(utc_fields(1_795_540_246_123), (2026, 11, 24, 17));
    }
}
