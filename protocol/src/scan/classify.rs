//! Byte classification for the scan: where the next string stop byte (`"`, `\`, or a control
//! byte below 0x20) is, and whether a compactly written key (`"name":`) sits in the next
//! sixteen bytes. This module owns the word-at-a-time searches and their two forms:
//!
//! - x86_64: SSE2, sixteen bytes per compare (SSE2 is that target's baseline). The intrinsics
//!   come through `safe_arch`, which wraps them in safe functions gated on the enabled target
//!   feature: calling `core::arch` directly needs `unsafe` (a `#[target_feature]` function is
//!   safe to call only from one with the same attribute, whatever the build enables), and the
//!   workspace denies `unsafe`. Sixteen bytes are loaded from a checked `&[u8; 16]` (one
//!   `movdqu`).
//! - every other target: eight-byte SWAR words (the wasm32 SDK build keeps its size; aarch64
//!   builds and passes the same tests; NEON would be the next step there).
//!
//! Both end with a byte loop for the last few bytes of the text, and both answer exactly what
//! a byte-by-byte search would (exhaustive tests below; the scan's property tests in
//! `validate/edge_tests.rs` put every stop at every offset of the first words).

/// Bytes that end the fast run inside a string: `"`, `\` and control characters.
pub(crate) static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The position of the first `"`, `\\` or control byte at or after `i` (`b.len()` if none).
#[inline(always)]
pub(crate) fn stop(b: &[u8], i: usize) -> usize {
    match words(b, i) {
        Ok(j) => j,
        Err(i) => tail_stop(b, i),
    }
}

/// The first stop byte at or after `i`: `Ok(j)` when it is a `"` (how a string without
/// escapes ends), `Err(j)` when it is a `\\` or a control byte, or `Err(b.len())` (or `i`, if
/// past the end) when there is none. Inline: one word, which holds most keys and short values;
/// longer runs go on out of line.
#[inline(always)]
pub(crate) fn quote_or_stop(b: &[u8], i: usize) -> Result<usize, usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some(chunk) = b
        .get(i..i.wrapping_add(16))
        .and_then(<[u8]>::first_chunk::<16>)
    {
        return match sse2::first_stop(chunk) {
            Some((j, true)) => Ok(i + j),
            Some((j, false)) => Err(i + j),
            None => quote_or_stop_long(b, i + 16),
        };
    }
    quote_or_stop_long(b, i)
}

/// [`quote_or_stop`] past its first word.
#[inline(never)]
fn quote_or_stop_long(b: &[u8], i: usize) -> Result<usize, usize> {
    #[cfg(target_arch = "x86_64")]
    let found = sse2::quote_or_stop(b, i);
    #[cfg(not(target_arch = "x86_64"))]
    let found = words(b, i).map(|j| (j, b.get(j) == Some(&b'"')));
    let j = match found {
        Ok((j, quote)) => return if quote { Ok(j) } else { Err(j) },
        Err(i) => tail_stop(b, i),
    };
    if b.get(j) == Some(&b'"') {
        Ok(j)
    } else {
        Err(j)
    }
}

/// A key written compactly in the next sixteen bytes: `"` at `i`, no `\\` or control byte
/// before its closing `"`, and `:` right after that. Returns its length in bytes and the index
/// past the colon; `None` for anything else (longer keys, whitespace, escapes, errors), which
/// the caller reads the general way. x86_64 only (elsewhere always `None`).
#[inline(always)]
pub(crate) fn compact_key(b: &[u8], i: usize) -> Option<(usize, usize)> {
    #[cfg(target_arch = "x86_64")]
    {
        let chunk = b.get(i..i.wrapping_add(16))?.first_chunk::<16>()?;
        let (stops, quotes, colons) = sse2::key_masks(chunk);
        let close = key_close(stops.into(), quotes.into(), colons.into())?;
        let j = close.trailing_zeros() as usize;
        Some((j - 1, i + j + 2))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (b, i);
        None
    }
}

/// The bit of a compact key's closing quote in masks of one classified block (bit `n`: byte
/// `n` is a stop byte / a `"` / a `:`): the opening quote at bit 0, then the first stop after
/// it a quote followed by a colon. `None`: not a compact key.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn key_close(stops: u64, quotes: u64, colons: u64) -> Option<u64> {
    let after = stops & !1;
    let close = after & after.wrapping_neg();
    if quotes & 1 == 0 || quotes & close == 0 || colons & (close << 1) == 0 {
        return None;
    }
    Some(close)
}

/// A member written compactly in the next 32 bytes: `"key":` as in [`compact_key`], and when
/// its value is a string whose first stop byte is its closing quote within those bytes, that
/// string too. Returns the key's length, the value's length when it was read, and the index
/// past what was read (past the value, or past the colon). One classification serves both,
/// so the value's end does not wait on the key's. `None`: anything else. x86_64 only.
#[inline(always)]
pub(crate) fn compact_member(b: &[u8], i: usize) -> Option<(usize, Option<usize>, usize)> {
    #[cfg(target_arch = "x86_64")]
    {
        let chunk = b.get(i..i.wrapping_add(32))?.first_chunk::<32>()?;
        let (stops, quotes, colons) = sse2::key_masks32(chunk);
        let close = key_close(stops, quotes, colons)?;
        let k = close.trailing_zeros() as usize;
        // The value's opening quote right after the colon, then its first stop: a quote.
        let open = close << 2;
        if quotes & open != 0 {
            let rest = stops & !((open << 1) - 1);
            let end = rest & rest.wrapping_neg();
            if quotes & end != 0 {
                let v = end.trailing_zeros() as usize;
                return Some((k - 1, Some(v - k - 3), i + v + 1));
            }
        }
        Some((k - 1, None, i + k + 2))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (b, i);
        None
    }
}

/// A word at a time: `Ok(j)`, the first stop's position, or `Err(k)`: no stop before `k`, where
/// fewer than a word's bytes are left.
#[inline(always)]
fn words(b: &[u8], i: usize) -> Result<usize, usize> {
    #[cfg(target_arch = "x86_64")]
    return sse2::quote_or_stop(b, i).map(|(j, _)| j);
    #[cfg(not(target_arch = "x86_64"))]
    return swar_stop(b, i);
}

/// The byte-by-byte end of [`stop`]: fewer than a word's bytes are left, or `i` is a stop.
#[inline(always)]
fn tail_stop(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !STRING_STOP[usize::from(b[i])] {
        i += 1;
    }
    i
}

/// Eight bytes at a time: `Ok(j)`, the first stop's position, or `Err(k)`: none before `k`,
/// where fewer than eight bytes are left.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn swar_stop(b: &[u8], mut i: usize) -> Result<usize, usize> {
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let stops = stop_bytes(u64::from_le_bytes(*chunk));
        if stops != 0 {
            return Ok(i + (stops.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    Err(i)
}

/// High bit set in each byte of `w` that is `"`, `\` or below 0x20 (exact for the lowest such
/// byte, which is all the caller uses: a borrow only propagates upwards).
#[inline]
fn stop_bytes(w: u64) -> u64 {
    (bytes_below(w, 0x20) | bytes_equal(w, b'"') | bytes_equal(w, b'\\')) & HIGH
}

const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// Nonzero (in the high bit of the lowest match, at least) exactly when some byte of `w` is
/// `c`: the classic zero-byte test on `w ^ c…c`. Mask with [`HIGH`].
#[inline(always)]
pub(crate) fn bytes_equal(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x
}

/// Nonzero (in the high bit of the lowest match, at least) exactly when some byte of `w` is
/// below `n` (`n` ≤ 0x80). Mask with [`HIGH`].
#[inline(always)]
pub(crate) fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w
}

/// SSE2 (x86_64's baseline): sixteen bytes per compare.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };

    /// Bit `k` of the first mask: byte `k` of `c` is `"`, `\\` or below 0x20; of the second:
    /// it is `"`.
    #[inline(always)]
    fn masks(c: &[u8; 16]) -> (u32, u32) {
        let v = load_unaligned_m128i(c);
        let quote = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8));
        let backslash = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8));
        // `v <= 0x1F` unsigned: the minimum with 0x1F is `v` itself.
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, set_splat_i8_m128i(0x1F)), v);
        let stops = bitor_m128i(bitor_m128i(quote, backslash), control);
        (
            move_mask_i8_m128i(stops) as u32,
            move_mask_i8_m128i(quote) as u32,
        )
    }

    /// [`masks`], and the `:` bytes.
    #[inline(always)]
    pub(super) fn key_masks(c: &[u8; 16]) -> (u32, u32, u32) {
        let v = load_unaligned_m128i(c);
        let quote = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8));
        let backslash = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'\\' as i8));
        let control = cmp_eq_mask_i8_m128i(min_u8_m128i(v, set_splat_i8_m128i(0x1F)), v);
        let colon = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b':' as i8));
        let stops = bitor_m128i(bitor_m128i(quote, backslash), control);
        (
            move_mask_i8_m128i(stops) as u32,
            move_mask_i8_m128i(quote) as u32,
            move_mask_i8_m128i(colon) as u32,
        )
    }

    /// [`key_masks`] of 32 bytes, bit `k` for byte `k`.
    #[inline(always)]
    pub(super) fn key_masks32(c: &[u8; 32]) -> (u64, u64, u64) {
        let (lo, hi) = c.split_at(16);
        match (lo.first_chunk::<16>(), hi.first_chunk::<16>()) {
            (Some(lo), Some(hi)) => {
                let (s0, q0, c0) = key_masks(lo);
                let (s1, q1, c1) = key_masks(hi);
                (
                    u64::from(s0 | s1 << 16),
                    u64::from(q0 | q1 << 16),
                    u64::from(c0 | c1 << 16),
                )
            }
            // Not reached: 32 bytes split at 16.
            _ => (0, 0, 0),
        }
    }

    /// The first stop in `c` and whether it is a `"`.
    #[inline(always)]
    pub(super) fn first_stop(c: &[u8; 16]) -> Option<(usize, bool)> {
        let (stops, quotes) = masks(c);
        if stops == 0 {
            return None;
        }
        let first = stops & stops.wrapping_neg();
        Some((stops.trailing_zeros() as usize, quotes & first != 0))
    }

    /// Sixteen bytes at a time: `Ok((j, quote))`, the first stop's position and whether it is
    /// a `"`, or `Err(k)`: none before `k`, where fewer than sixteen bytes are left.
    #[inline(always)]
    pub(super) fn quote_or_stop(b: &[u8], mut i: usize) -> Result<(usize, bool), usize> {
        while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<16>) {
            if let Some((j, quote)) = first_stop(chunk) {
                return Ok((i + j, quote));
            }
            i += 16;
        }
        Err(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(b: &[u8], i: usize) -> usize {
        (i..b.len())
            .find(|&j| STRING_STOP[usize::from(b[j])])
            .unwrap_or(b.len())
    }

    /// `quote_or_stop` is `stop` and a look at the byte it found.
    fn check_quote_or_stop(b: &[u8], from: usize) {
        let j = reference(b, from).max(from);
        let want = if b.get(j) == Some(&b'"') {
            Ok(j)
        } else {
            Err(j)
        };
        assert_eq!(quote_or_stop(b, from), want, "{b:?} {from}");
    }

    #[test]
    fn stop_finds_the_first_stop_byte() {
        let fillers = [
            b'a', b' ', 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xff,
        ];
        let stops = [b'"', b'\\', 0x00, 0x01, 0x0a, 0x1f];
        for len in 0..70 {
            for filler in fillers {
                let mut b = vec![filler; len];
                for from in 0..=len {
                    assert_eq!(stop(&b, from), reference(&b, from));
                    assert_eq!(
                        swar_stop(&b, from).unwrap_or_else(|k| tail_stop(&b, k)),
                        reference(&b, from)
                    );
                    check_quote_or_stop(&b, from);
                }
                for at in 0..len {
                    for hit in stops {
                        b[at] = hit;
                        for from in 0..=len {
                            let want = reference(&b, from);
                            assert_eq!(stop(&b, from), want, "{b:?} {from}");
                            assert_eq!(
                                swar_stop(&b, from).unwrap_or_else(|k| tail_stop(&b, k)),
                                want,
                                "{b:?} {from}"
                            );
                            check_quote_or_stop(&b, from);
                        }
                        b[at] = filler;
                    }
                }
            }
        }
    }

    #[test]
    fn every_byte_value_is_classified_as_the_table_says() {
        // Each byte value at each position of a sixteen-byte window, over a filler that is
        // never a stop.
        for v in 0..=255u8 {
            for at in 0..40 {
                let mut b = vec![b'x'; 40];
                b[at] = v;
                let want = if STRING_STOP[usize::from(v)] { at } else { 40 };
                for from in 0..=at {
                    assert_eq!(stop(&b, from), want, "byte {v:#x} at {at} from {from}");
                    check_quote_or_stop(&b, from);
                }
            }
        }
    }

    #[test]
    fn the_first_of_two_stops_decides() {
        // A quote after another stop in the same word (or the next) is not the answer.
        let pairs = [
            (b'\\', b'"'),
            (0x01, b'"'),
            (b'"', b'\\'),
            (b'"', b'"'),
            (b'\\', 0x1f),
        ];
        for len in 2..40 {
            for (x, y) in pairs {
                for a in 0..len {
                    for c in a + 1..len {
                        let mut b = vec![b'a'; len];
                        b[a] = x;
                        b[c] = y;
                        for from in 0..=a {
                            check_quote_or_stop(&b, from);
                        }
                    }
                }
            }
        }
    }

    /// What `compact_key` answers, byte by byte (x86_64; elsewhere it is always `None`).
    fn compact_key_reference(b: &[u8], i: usize) -> Option<(usize, usize)> {
        if !cfg!(target_arch = "x86_64") || b.len() < i + 16 || b[i] != b'"' {
            return None;
        }
        let j = (1..16).find(|&j| STRING_STOP[usize::from(b[i + j])])?;
        (b[i + j] == b'"' && j + 1 < 16 && b[i + j + 1] == b':').then(|| (j - 1, i + j + 2))
    }

    #[test]
    fn compact_key_is_exactly_the_short_compact_form() {
        let fills = [b'k', b' ', 0x80, 0xff];
        let hits = [b'"', b'\\', b':', 0x00, 0x1f, b' ', b'{'];
        for len in 0..40 {
            for fill in fills {
                let mut b = vec![fill; len];
                for from in 0..len {
                    b[from] = b'"';
                    // The closing quote, the colon and one more byte at every offset after it.
                    for q in from + 1..len.min(from + 18) {
                        let keep_q = b[q];
                        b[q] = b'"';
                        for c in [q + 1, q + 2] {
                            if c >= len {
                                continue;
                            }
                            let keep_c = b[c];
                            b[c] = b':';
                            for x in (from + 1..len.min(from + 18)).filter(|&x| x != q && x != c) {
                                let keep_x = b[x];
                                for hit in hits {
                                    b[x] = hit;
                                    assert_eq!(
                                        compact_key(&b, from),
                                        compact_key_reference(&b, from),
                                        "{b:?} {from}"
                                    );
                                }
                                b[x] = keep_x;
                            }
                            b[c] = keep_c;
                        }
                        b[q] = keep_q;
                    }
                    b[from] = fill;
                }
            }
        }
        // The usual case, answered.
        let text = br#"{"name":"x","baseLibraryVersion":"3"}"#;
        assert_eq!(compact_key(text, 1), Some((4, 8)));
        assert_eq!(compact_key(text, 12), None);
    }

    /// What `compact_member` answers, byte by byte (x86_64; elsewhere it is always `None`).
    fn compact_member_reference(b: &[u8], i: usize) -> Option<(usize, Option<usize>, usize)> {
        if !cfg!(target_arch = "x86_64") || b.len() < i + 32 || b[i] != b'"' {
            return None;
        }
        let w = &b[i..i + 32];
        let stop = |from: usize| (from..32).find(|&j| STRING_STOP[usize::from(w[j])]);
        let k = stop(1)?;
        if w[k] != b'"' || k + 1 >= 32 || w[k + 1] != b':' {
            return None;
        }
        if k + 2 < 32 && w[k + 2] == b'"' {
            if let Some(v) = stop(k + 3).filter(|&v| w[v] == b'"') {
                return Some((k - 1, Some(v - k - 3), i + v + 1));
            }
        }
        Some((k - 1, None, i + k + 2))
    }

    #[test]
    fn compact_member_is_exactly_the_compact_form() {
        let hits = [b'"', b'\\', b':', 0x00, b' ', 0xe9];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for key_len in 0..32 {
            for value_len in 0..32 {
                for _ in 0..6 {
                    let key = "k".repeat(key_len);
                    let value = "v".repeat(value_len);
                    let mut b = format!("\"{key}\":\"{value}\",\"next\":1}}").into_bytes();
                    b.resize(b.len().max(40), b' ');
                    // One byte anywhere in the first 34 replaced by a stop or a look-alike.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let at = (seed % 34) as usize;
                    b[at] = hits[(seed >> 40) as usize % hits.len()];
                    let want = compact_member_reference(&b, 0);
                    assert_eq!(
                        compact_member(&b, 0),
                        want,
                        "{}",
                        String::from_utf8_lossy(&b)
                    );
                }
                let text = format!("\"{}\":\"{}\"", "k".repeat(key_len), "v".repeat(value_len));
                let mut b = text.into_bytes();
                b.resize(b.len().max(32), b'}');
                assert_eq!(compact_member(&b, 0), compact_member_reference(&b, 0));
            }
        }
        // The usual case, answered; a number value leaves the scanner at the value.
        let text = br#""type":"wifi"},"device":{"brand":"iPhone","#;
        if cfg!(target_arch = "x86_64") {
            assert_eq!(compact_member(text, 0), Some((4, Some(4), 13)));
            assert_eq!(
                compact_member(br#""scene":1047,"baseLibraryVersion":"3"}"#, 0),
                Some((5, None, 8))
            );
        }
    }

    #[test]
    fn past_the_end_is_the_end() {
        assert_eq!(stop(b"abc", 3), 3);
        assert_eq!(stop(b"abc", 7), 7);
        assert_eq!(quote_or_stop(b"abc", 3), Err(3));
        assert_eq!(quote_or_stop(b"abc", 7), Err(7));
    }
}
