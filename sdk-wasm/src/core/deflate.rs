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
//! length). The hash table is 64 KB and the chain ring at most 128 KB, allocated per call.

/// Longest match (RFC 1951).
const MAX_MATCH: usize = 258;
/// Shortest match worth coding.
const MIN_MATCH: usize = 4;
/// Farthest match distance (RFC 1951 window).
const WINDOW: usize = 32 * 1024;
const HASH_BITS: u32 = 14;
/// Positions of a match (after its first) inserted into the hash chains.
const INSERT_LIMIT: usize = 4;

/// Base lengths of length codes 257..=285 and their extra bits.
const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances of distance codes 0..=29 and their extra bits.
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// LSB-first bit writer.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, len: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += len;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code: sent most-significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// The fixed code of a literal/length symbol (RFC 1951 §3.2.6).
fn lit(b: &mut Bits, sym: u32) {
    match sym {
        0..=143 => b.code(0x30 + sym, 8),
        144..=255 => b.code(0x190 + sym - 144, 9),
        256..=279 => b.code(sym - 256, 7),
        _ => b.code(0xC0 + sym - 280, 8),
    }
}

fn length(b: &mut Bits, len: usize) {
    // Index of the largest base <= len.
    let i = LEN_BASE.partition_point(|&x| usize::from(x) <= len) - 1;
    lit(b, 257 + i as u32);
    let extra = u32::from(LEN_EXTRA[i]);
    if extra > 0 {
        b.put((len - usize::from(LEN_BASE[i])) as u32, extra);
    }
}

fn distance(b: &mut Bits, dist: usize) {
    let i = DIST_BASE.partition_point(|&x| usize::from(x) <= dist) - 1;
    b.code(i as u32, 5);
    let extra = u32::from(DIST_EXTRA[i]);
    if extra > 0 {
        b.put((dist - usize::from(DIST_BASE[i])) as u32, extra);
    }
}

/// Length of the common prefix of `a` and `b` (equal lengths), 8 bytes per step.
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

fn hash(d: &[u8], i: usize) -> usize {
    let v = u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// `data` as raw DEFLATE. `chain`: how many earlier positions with the same hash are tried
/// for each match (more: smaller output, more CPU).
pub fn deflate(data: &[u8], chain: usize) -> Vec<u8> {
    let mut b = Bits {
        out: Vec::with_capacity(data.len() / 8 + 16),
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // BTYPE = 01, fixed Huffman
    // head[h]: last position + 1 with hash h (0: none); prev[i % WINDOW]: the one before.
    let mut head = vec![0u32; 1 << HASH_BITS];
    let mut prev = vec![0u32; WINDOW.min(data.len().max(1))];
    let ring = prev.len();
    let insert = |head: &mut [u32], prev: &mut [u32], i: usize| {
        let h = hash(data, i);
        prev[i % ring] = head[h];
        head[h] = i as u32 + 1;
    };
    let end = data.len();
    let mut i = 0;
    while i < end {
        let mut best_len = 0;
        let mut best_dist = 0;
        if i + MIN_MATCH <= end {
            let max = MAX_MATCH.min(end - i);
            let mut cand = head[hash(data, i)] as usize;
            let mut tries = chain;
            while cand > 0 && tries > 0 {
                let j = cand - 1;
                let dist = i - j;
                if dist > WINDOW || dist > ring {
                    break;
                }
                if data[j + best_len.min(max - 1)] == data[i + best_len.min(max - 1)] {
                    let l = common_prefix(&data[j..j + max], &data[i..i + max]);
                    if l > best_len {
                        best_len = l;
                        best_dist = dist;
                        if l == max {
                            break;
                        }
                    }
                }
                let next = prev[j % ring] as usize;
                if next >= cand {
                    break; // the ring slot was overwritten by a newer position
                }
                cand = next;
                tries -= 1;
            }
            insert(&mut head, &mut prev, i);
        }
        if best_len >= MIN_MATCH {
            length(&mut b, best_len);
            distance(&mut b, best_dist);
            for k in
                i + 1..(i + best_len.min(INSERT_LIMIT + 1)).min(end.saturating_sub(MIN_MATCH - 1))
            {
                insert(&mut head, &mut prev, k);
            }
            i += best_len;
        } else {
            lit(&mut b, u32::from(data[i]));
            i += 1;
        }
    }
    lit(&mut b, 256);
    b.finish()
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
