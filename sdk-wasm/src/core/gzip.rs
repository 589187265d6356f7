//! gzip (RFC 1952) encoding of request bodies: the raw DEFLATE of [`super::deflate`] inside a
//! hand-written 10-byte header and CRC-32/ISIZE trailer.
//!
//! Size notes (measured on a probe, see shared/notes/wasm-in-miniprograms.md): `flate2` adds a
//! streaming wrapper we do not need, and `crc32fast`'s slicing tables cost about 17 KB after
//! brotli. The CRC here is the classic one-table, one-lookup-per-byte loop, its 256-entry
//! table built at first use (no table data in the wasm).

/// Compression level, 1..=9: how many earlier positions the matcher tries per byte
/// ([`chain_length`]). The default 1 (4 candidates) measured 73.4 wire bytes per event on the
/// scripted session (goal: at most 90); 9 (1024 candidates) saves a few more bytes for more CPU
/// (`gzipLevel` option). History: with miniz_oxide, level 1 was 62.4 B/event (docs/SDK.md).
pub const DEFAULT_LEVEL: u8 = 1;

/// Hash-chain candidates tried per position at `level` (clamped to 1..=9): 4, 8, ..., 1024.
pub fn chain_length(level: u8) -> usize {
    2 << level.clamp(1, 9)
}

/// The byte-wise CRC-32 table (polynomial 0xEDB88320), built on first use rather than stored:
/// 1 KB of table data would cost about as much brotli-compressed wasm as it saves code.
fn crc_table() -> &'static [u32; 256] {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
            *e = c;
        }
        t
    })
}

/// CRC-32 (IEEE 802.3, the one gzip uses) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let t = crc_table();
    let mut c = !0u32;
    for &b in data {
        c = (c >> 8) ^ t[((c ^ u32::from(b)) & 0xff) as usize];
    }
    !c
}

/// `data` as a complete gzip member.
pub fn gzip(data: &[u8], level: u8) -> Vec<u8> {
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown): no name, no timestamp, so equal
    // input gives equal bytes.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend_from_slice(&super::deflate::deflate(data, chain_length(level)));
    out.extend_from_slice(&crc32(data).to_le_bytes());
    // ISIZE is the input length modulo 2^32 (RFC 1952 §2.3.1).
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn round_trips_through_an_independent_inflater() {
        let text = "{\"batch\":[".to_owned() + &"{\"event\":\"x\",\"n\":1},".repeat(500) + "]}";
        let gz = gzip(text.as_bytes(), DEFAULT_LEVEL);
        assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
        assert!(gz.len() < text.len() / 10);
        let n = gz.len();
        let raw = miniz_oxide::inflate::decompress_to_vec(&gz[10..n - 8]).unwrap();
        assert_eq!(raw, text.as_bytes());
        assert_eq!(
            u32::from_le_bytes([gz[n - 8], gz[n - 7], gz[n - 6], gz[n - 5]]),
            crc32(text.as_bytes())
        );
        assert_eq!(
            u32::from_le_bytes([gz[n - 4], gz[n - 3], gz[n - 2], gz[n - 1]]) as usize,
            text.len()
        );
    }
}
