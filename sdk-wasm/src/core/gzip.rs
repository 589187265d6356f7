//! gzip (RFC 1952) encoding of request bodies: the raw DEFLATE of [`super::deflate`] inside a
//! hand-written 10-byte header and CRC-32/ISIZE trailer.
//!
//! Size notes (measured on a probe, see shared/notes/wasm-in-miniprograms.md): `flate2` adds a
//! streaming wrapper we do not need, and `crc32fast`'s slicing tables cost about 17 KB after
//! brotli. The CRC here is slicing-by-8 (eight lookups per eight bytes; slicing-by-4 cost ≈ 30 %
//! more instructions), its tables built at first use (no table data in the wasm).

use super::deflate::Deflater;

/// Compression level, 1..=9: how many earlier positions the matcher tries per byte
/// ([`chain_length`]). The default 1 (4 candidates) measured 73.4 wire bytes per event on the
/// scripted session (goal: at most 90); 9 (1024 candidates) saves a few more bytes for more CPU
/// (`gzipLevel` option). History: with miniz_oxide, level 1 was 62.4 B/event (docs/SDK.md).
pub const DEFAULT_LEVEL: u8 = 1;

/// Hash-chain candidates tried per position at `level` (clamped to 1..=9): 4, 8, ..., 1024.
pub fn chain_length(level: u8) -> usize {
    2 << level.clamp(1, 9)
}

/// Slicing-by-8 CRC-32 tables (polynomial 0xEDB88320): `t[0]` is the classic byte table,
/// `t[k][i]` the CRC of byte `i` followed by `k` zero bytes. Built on first use rather than
/// stored: 8 KB of table data would cost more brotli'd wasm than the code that builds it.
fn crc_tables() -> &'static [[u32; 256]; 8] {
    static TABLES: std::sync::OnceLock<[[u32; 256]; 8]> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = [[0u32; 256]; 8];
        for (i, e) in t[0].iter_mut().enumerate() {
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
        for i in 0..256 {
            for k in 1..8 {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            }
        }
        t
    })
}

/// CRC-32 (IEEE 802.3, the one gzip uses) of `data`: eight bytes per step (slicing-by-8).
pub fn crc32(data: &[u8]) -> u32 {
    let t = crc_tables();
    let mut c = !0u32;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let lo = c ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        let hi = u32::from_le_bytes([w[4], w[5], w[6], w[7]]);
        c = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in words.remainder() {
        c = (c >> 8) ^ t[0][((c ^ u32::from(b)) & 0xff) as usize];
    }
    !c
}

/// `data` as a complete gzip member, with a fresh compressor (tests; the core keeps one, see
/// [`gzip_with`]).
pub fn gzip(data: &[u8], level: u8) -> Vec<u8> {
    gzip_with(&mut Deflater::new(), data, level)
}

/// `data` as a complete gzip member, compressed by `deflater` (whose tables are reused).
pub fn gzip_with(deflater: &mut Deflater, data: &[u8], level: u8) -> Vec<u8> {
    // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=255 (unknown): no name, no timestamp, so equal
    // input gives equal bytes.
    let mut out = Vec::with_capacity(data.len() / 8 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    deflater.deflate_into(data, chain_length(level), &mut out);
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
    fn sliced_crc_matches_the_bitwise_definition() {
        fn bitwise(data: &[u8]) -> u32 {
            let mut c = !0u32;
            for &b in data {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
            }
            !c
        }
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 0..40 {
            assert_eq!(crc32(&data[..len]), bitwise(&data[..len]), "{len}");
        }
        assert_eq!(crc32(&data), bitwise(&data));
        assert_eq!(crc32(&data[3..]), bitwise(&data[3..]));
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
