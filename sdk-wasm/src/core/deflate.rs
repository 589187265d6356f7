//! Raw DEFLATE (RFC 1951) for the request bodies: LZ77 with hash chains, one fixed-Huffman
//! block.
//!
//! Why not miniz_oxide: its compressor was ≈ 19 KB of wasm (≈ 8 KB brotli) and allocated and
//! zeroed ≈ 200 KB of tables for every batch — with its Huffman work, 47 % of a native
//! `track()`'s instructions (docs/SDK.md). A batch is 10–500 events of the same shape: the
//! context, keys and most values repeat from one event to the next, which LZ77 captures; the
//! dynamic Huffman tables miniz builds per block save about a sixth on top of that (scripted
//! session: 62.4 → 73.4 wire bytes per event, goal ≤ 90; docs/SDK.md).
//!
//! Greedy matching over hash chains of 4-byte prefixes (`chain` candidates per position, from
//! the gzip level); like zlib's fast levels, only the first `INSERT_LIMIT` (4) positions inside a
//! match enter the hash chains (inserting all of them cost a third of a native `track()` and
//! compressed no better). Then one final fixed-Huffman block (BTYPE=01, valid for any input
//! length).
//!
//! A [`Deflater`] keeps its hash table (64 KB) and chain ring (up to 128 KB) from one call to
//! the next instead of allocating and zeroing them per batch: positions are stored offset by a
//! running base, so entries left by earlier calls are recognised as stale without clearing.
//! The fixed Huffman codes are looked up bit-reversed and merged with their extra bits
//! (tables built at the first call), and the bit writer flushes 32 bits at a time.

/// Longest match (RFC 1951).
const MAX_MATCH: usize = 258;
/// Shortest match worth coding.
const MIN_MATCH: usize = 4;
/// Farthest match distance (RFC 1951 window).
const WINDOW: usize = 32 * 1024;
const HASH_BITS: u32 = 14;
/// Positions of a match (after its first) inserted into the hash chains.
const INSERT_LIMIT: usize = 4;

/// A run of at most 24 bits for the LSB-first writer: the bits in the low 24, their count in
/// the high 8.
type Code = u32;

fn code(bits: u32, len: u32) -> Code {
    bits | len << 24
}

/// Fixed-Huffman codes (RFC 1951 §3.2.6), bit-reversed for the LSB-first writer.
struct Codes {
    /// Literal bytes 0..=255.
    lit: [Code; 256],
    /// Match lengths 3..=258 (index `len - 3`): the length symbol's code and its extra bits.
    len: [Code; 256],
    /// Distance codes 0..=29, without extra bits.
    dist: [u8; 30],
}

/// A Huffman code `c` of `len` bits, reversed (Huffman codes are sent most-significant bit
/// first).
fn rev(c: u32, len: u32) -> u32 {
    c.reverse_bits() >> (32 - len)
}

/// The fixed code of literal/length symbol `sym`.
fn fixed(sym: u32) -> (u32, u32) {
    match sym {
        0..=143 => (rev(0x30 + sym, 8), 8),
        144..=255 => (rev(0x190 + sym - 144, 9), 9),
        256..=279 => (rev(sym - 256, 7), 7),
        _ => (rev(0xC0 + sym - 280, 8), 8),
    }
}

/// Length code index (0..=28 for symbols 257..=285), extra bit count and extra value of a match
/// length 3..=258.
fn length_code(len: u32) -> (u32, u32, u32) {
    if len == 258 {
        return (28, 0, 0);
    }
    let l = len - 3;
    if l < 8 {
        return (l, 0, 0);
    }
    // l in 8..=254: four codes per power of two, k - 2 extra bits.
    let k = 31 - l.leading_zeros();
    (
        4 * (k - 1) + ((l >> (k - 2)) & 3),
        k - 2,
        l & ((1 << (k - 2)) - 1),
    )
}

/// Distance code 0..=29, extra bit count and extra value of a distance 1..=32768.
fn distance_code(dist: u32) -> (u32, u32, u32) {
    let d = dist - 1;
    if d < 4 {
        return (d, 0, 0);
    }
    // Two codes per power of two, k - 1 extra bits.
    let k = 31 - d.leading_zeros();
    (
        2 * k + ((d >> (k - 1)) & 1),
        k - 1,
        d & ((1 << (k - 1)) - 1),
    )
}

impl Codes {
    fn new() -> Self {
        let mut c = Codes {
            lit: [0; 256],
            len: [0; 256],
            dist: [0; 30],
        };
        for (sym, e) in c.lit.iter_mut().enumerate() {
            let (bits, n) = fixed(sym as u32);
            *e = code(bits, n);
        }
        for (i, e) in c.len.iter_mut().enumerate() {
            let (idx, extra, value) = length_code(i as u32 + 3);
            let (bits, n) = fixed(257 + idx);
            *e = code(bits | value << n, n + extra);
        }
        for (i, e) in c.dist.iter_mut().enumerate() {
            *e = rev(i as u32, 5) as u8;
        }
        c
    }
}

/// LSB-first bit writer.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits<'_> {
    /// Appends `c`'s bits.
    #[inline]
    fn put(&mut self, c: Code) {
        self.acc |= u64::from(c & 0xff_ffff) << self.n;
        self.n += c >> 24;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    fn finish(mut self) {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
    }
}

/// Length of the common prefix of `a` and `b` (equal lengths), 8 bytes per step.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        let diff = x ^ y;
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n..]
        .iter()
        .zip(&b[n..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Hash of the 4 bytes at `d[i..]` (callers keep `i + 4 <= d.len()`).
#[inline]
fn hash(d: &[u8], i: usize) -> usize {
    let v = match d.get(i..i + 4) {
        Some(&[a, b, c, e]) => u32::from_le_bytes([a, b, c, e]),
        _ => 0,
    };
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// A DEFLATE compressor whose match-finder tables are reused from one call to the next.
#[derive(Default)]
pub struct Deflater {
    /// `head[h]`: the latest position with hash `h`, as `base + i + 1` (0: none).
    head: Vec<u32>,
    /// `prev[i % prev.len()]`: the position inserted before `i` with the same hash (same form).
    /// Its length is a power of two.
    prev: Vec<u32>,
    /// Stored positions at or below this belong to earlier calls.
    base: u32,
    /// Built at the first call (a table in the struct rather than a `static`: a `OnceLock`
    /// of its own cost ≈ 700 B of wasm).
    codes: Option<Box<Codes>>,
}

impl core::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Deflater { .. }")
    }
}

impl Deflater {
    /// A compressor; its tables are allocated at the first call.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `data` as raw DEFLATE to `out`. `chain`: how many earlier positions with the
    /// same hash are tried for each match (more: smaller output, more CPU). `data` must be
    /// shorter than 4 GiB.
    pub fn deflate_into(&mut self, data: &[u8], chain: usize, out: &mut Vec<u8>) {
        let end = data.len();
        // Stored positions are u32 `base + i + 1`: start over (clear the tables) before they
        // would wrap.
        if self.head.is_empty() || end >= (u32::MAX - self.base) as usize {
            self.head.clear();
            self.head.resize(1 << HASH_BITS, 0);
            self.prev.clear();
            self.base = 0;
        }
        // A power of two, so that `i % ring` is a mask.
        let want = WINDOW.min(end.max(1).next_power_of_two());
        if self.prev.len() < want {
            self.prev.resize(want, 0);
        }
        let base = self.base;
        // Positions of this call are above `base`; the next call's are above all of them.
        self.base = base.saturating_add(end as u32);
        let head = &mut self.head[..];
        let prev = &mut self.prev[..];
        let ring = prev.len();
        let mask = ring - 1;
        let codes = self.codes.get_or_insert_with(|| Box::new(Codes::new()));
        out.reserve(end / 8 + 16);
        let mut b = Bits { out, acc: 0, n: 0 };
        b.put(code(0b011, 3)); // BFINAL = 1, BTYPE = 01 (fixed Huffman)
        let insert = |head: &mut [u32], prev: &mut [u32], i: usize| {
            let h = hash(data, i);
            prev[i & mask] = head[h];
            head[h] = base + i as u32 + 1;
        };
        let mut i = 0;
        while i < end {
            let mut best_len = 0;
            let mut best_dist = 0;
            if i + MIN_MATCH <= end {
                let max = MAX_MATCH.min(end - i);
                let h = hash(data, i);
                let first = head[h];
                let mut cand = first;
                let mut tries = chain;
                while cand > base && tries > 0 {
                    let j = (cand - base - 1) as usize;
                    let dist = i - j;
                    if dist > WINDOW || dist > ring {
                        break;
                    }
                    let probe = best_len.min(max - 1);
                    if data[j + probe] == data[i + probe] {
                        let l = common_prefix(&data[j..j + max], &data[i..i + max]);
                        if l > best_len {
                            best_len = l;
                            best_dist = dist;
                            if l == max {
                                break;
                            }
                        }
                    }
                    let next = prev[j & mask];
                    if next >= cand {
                        break; // the ring slot was overwritten by a newer position
                    }
                    cand = next;
                    tries -= 1;
                }
                // Insert `i` (its hash is known).
                prev[i & mask] = first;
                head[h] = base + i as u32 + 1;
            }
            if best_len >= MIN_MATCH {
                b.put(codes.len[best_len - 3]);
                let (dcode, extra, value) = distance_code(best_dist as u32);
                b.put(code(
                    u32::from(codes.dist[dcode as usize]) | value << 5,
                    5 + extra,
                ));
                for k in i + 1
                    ..(i + best_len.min(INSERT_LIMIT + 1)).min(end.saturating_sub(MIN_MATCH - 1))
                {
                    insert(head, prev, k);
                }
                i += best_len;
            } else {
                b.put(codes.lit[usize::from(data[i])]);
                i += 1;
            }
        }
        b.put(code(0, 7)); // end of block: symbol 256, code 0000000
        b.finish();
    }
}

/// `data` as raw DEFLATE with fresh tables (see [`Deflater::deflate`]).
pub fn deflate(data: &[u8], chain: usize) -> Vec<u8> {
    let mut out = Vec::new();
    Deflater::new().deflate_into(data, chain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(d: &[u8]) -> Vec<u8> {
        miniz_oxide::inflate::decompress_to_vec(d).expect("valid DEFLATE")
    }

    fn round_trip(data: &[u8]) -> usize {
        for chain in [1, 8, 64] {
            let d = deflate(data, chain);
            assert_eq!(inflate(&d), data, "chain {chain}, {} bytes", data.len());
        }
        deflate(data, 8).len()
    }

    #[test]
    fn round_trips_through_an_independent_inflater() {
        let mut x: u64 = 0x1234_5678_9ABC_DEF1;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        round_trip(b"");
        round_trip(b"a");
        round_trip(b"abc");
        round_trip(b"abcd");
        round_trip(b"abcdabcdabcd");
        round_trip(&[0u8; 100_000]);
        round_trip(&[0xffu8; 259]);
        let random: Vec<u8> = (0..70_000).map(|_| rnd() as u8).collect();
        round_trip(&random);
        // Every literal value, and matches at every length and at distances up to the window.
        let all: Vec<u8> = (0..=255u8).collect();
        round_trip(&all.repeat(3));
        let mut text = Vec::new();
        for i in 0..3000u32 {
            let len = 3 + (rnd() % 300) as usize;
            let at = (rnd() % 40_000) as usize;
            if text.len() > at + len {
                let copy = text[text.len() - at - len..text.len() - at].to_vec();
                text.extend_from_slice(&copy);
            }
            text.extend_from_slice(format!("{{\"i\":{i},\"r\":{}}}", rnd() % 1000).as_bytes());
        }
        round_trip(&text);
        // Small alphabet, long repeats: many chain candidates per position.
        let ab: Vec<u8> = (0..50_000).map(|_| b"ab"[(rnd() % 2) as usize]).collect();
        round_trip(&ab);
    }

    /// RFC 1951 §3.2.5: base values of length codes 257..=285 and distance codes 0..=29.
    const LEN_BASE: [u32; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEN_EXTRA: [u32; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DIST_BASE: [u32; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DIST_EXTRA: [u32; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
    ];

    #[test]
    fn length_and_distance_codes_match_the_rfc_tables() {
        for len in 3..=258u32 {
            let i = LEN_BASE.partition_point(|&b| b <= len) - 1;
            let want = (i as u32, LEN_EXTRA[i], len - LEN_BASE[i]);
            assert_eq!(length_code(len), want, "length {len}");
        }
        for dist in 1..=WINDOW as u32 {
            let i = DIST_BASE.partition_point(|&b| b <= dist) - 1;
            let want = (i as u32, DIST_EXTRA[i], dist - DIST_BASE[i]);
            assert_eq!(distance_code(dist), want, "distance {dist}");
        }
        // Fixed codes (RFC 1951 §3.2.6), sent most-significant bit first.
        let c = Codes::new();
        assert_eq!(c.lit[0], code(rev(0b0011_0000, 8), 8));
        assert_eq!(c.lit[255], code(rev(0b1_1111_1111, 9), 9));
        // Length 3 is symbol 257 (7-bit code 0000001); 258 is symbol 285 (11000101).
        assert_eq!(c.len[0], code(rev(1, 7), 7));
        assert_eq!(c.len[255], code(rev(0b1100_0101, 8), 8));
        // Length 12: symbol 265 (0001001) and extra bit 1.
        assert_eq!(c.len[9], code(rev(0b000_1001, 7) | 1 << 7, 8));
    }

    #[test]
    fn a_reused_deflater_gives_the_same_bytes_as_a_fresh_one() {
        let mut x: u64 = 0x0DDB_A11C_AFE5_EED5;
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for n in [40_000usize, 10, 0, 70_000, 3, 5_000, 40_000] {
            let words = ["\"event\":", "\"sku-", "1234", "{\"a\":", "true,"];
            let mut v = Vec::with_capacity(n);
            while v.len() < n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.extend_from_slice(words[(x % 5) as usize].as_bytes());
                v.push(b'a' + (x >> 40) as u8 % 26);
            }
            v.truncate(n);
            inputs.push(v);
        }
        let mut d = Deflater::new();
        for (k, data) in inputs.iter().enumerate() {
            let mut reused = Vec::new();
            d.deflate_into(data, 8, &mut reused);
            assert_eq!(reused, deflate(data, 8), "input {k}");
            assert_eq!(inflate(&reused), *data, "input {k}");
        }
        // Stored positions about to wrap: the tables start over.
        d.base = u32::MAX - 100;
        let mut out = Vec::new();
        d.deflate_into(&inputs[0], 8, &mut out);
        assert_eq!(out, deflate(&inputs[0], 8));
        assert!(d.base as usize == inputs[0].len());
    }

    #[test]
    fn compresses_repeated_events() {
        let event = |i: u32| {
            format!(
                "{{\"messageId\":\"{:08x}-8d1e-4a52-9c1b-5f2e3d4c5b6a\",\"type\":\"track\",\
                 \"event\":\"view_item\",\"timestamp\":\"2026-11-24T20:00:{:02}.000Z\",\
                 \"context\":{{\"app\":{{\"id\":\"wx1234567890abcdef\",\"version\":\"1.4.2\"}},\
                 \"os\":{{\"name\":\"iOS\",\"version\":\"17.5.1\"}}}},\
                 \"properties\":{{\"item_id\":\"sku-{i}\",\"price\":19.9}}}}",
                i.wrapping_mul(2_654_435_761),
                i % 60
            )
        };
        let body: String = (0..50).map(event).collect::<Vec<_>>().join(",");
        let n = round_trip(body.as_bytes());
        assert!(n * 5 < body.len(), "{n} of {}", body.len());
    }
}
