//! Identifiers: 128-bit random UUID v4 text for `messageId`, `anonymousId` and session ids.
//!
//! The core owns no randomness. The host seeds it at start with bytes from its real random
//! source (`wx.getRandomValues`, `crypto.getRandomValues`, `getrandom`) and may add more at any
//! time ([`Ids::reseed`]). From that seed a hash-based deterministic random bit generator (the
//! construction of NIST SP 800-90A Hash_DRBG, reduced: output = SHA-256(key ‖ counter), the key
//! is ratcheted after every request so earlier output cannot be recomputed from a leaked state)
//! produces every id and the retry jitter. Nothing here is ever seeded from the clock: two
//! devices starting in the same millisecond still get unrelated ids.
//!
//! Each request makes [`POOL_BLOCKS`] output blocks and one key ratchet (9 SHA-256
//! compressions for 256 bytes, sixteen ids) instead of one block and one ratchet per id (2
//! compressions for 16 bytes): hashing was 17 % of a `track()`. (With 3 blocks per ratchet,
//! 4 compressions per six ids, it was still ≈ 3.5k of a native `track()`'s ≈ 25k instructions.) Bytes are zeroed in the pool as
//! they are handed out, and a reseed discards the pool, so the forward-secrecy argument above
//! still holds for every id already issued.

use super::sha256::sha256;

/// Fewest seed bytes accepted: 128 bits, the size of one id.
pub const MIN_SEED_BYTES: usize = 16;

/// Output blocks (32 bytes each) made per key ratchet.
pub const POOL_BLOCKS: usize = 8;
const POOL: usize = POOL_BLOCKS * 32;

/// The id generator.
#[derive(Clone)]
pub struct Ids {
    key: [u8; 32],
    counter: u64,
    /// Random bytes not handed out yet: `pool[used..]`.
    pool: [u8; POOL],
    used: usize,
}

impl core::fmt::Debug for Ids {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key.
        f.write_str("Ids { .. }")
    }
}

impl Ids {
    /// A generator seeded with host randomness; `None` when fewer than [`MIN_SEED_BYTES`].
    pub fn new(seed: &[u8]) -> Option<Self> {
        (seed.len() >= MIN_SEED_BYTES).then(|| Self {
            key: sha256(&[b"maidian-drbg-seed", seed]),
            counter: 0,
            pool: [0; POOL],
            used: POOL,
        })
    }

    /// Mixes more host randomness into the state; bytes already generated are discarded.
    pub fn reseed(&mut self, entropy: &[u8]) {
        self.key = sha256(&[b"maidian-drbg-reseed", &self.key, entropy]);
        self.pool = [0; POOL];
        self.used = POOL;
    }

    fn refill(&mut self) {
        self.counter = self.counter.wrapping_add(1);
        let c = self.counter.to_le_bytes();
        for (i, block) in self.pool.chunks_exact_mut(32).enumerate() {
            // i < POOL_BLOCKS, far below 256.
            block.copy_from_slice(&sha256(&[&self.key, &c, b"out", &[i as u8]]));
        }
        self.key = sha256(&[&self.key, &c, b"key"]);
        self.used = 0;
    }

    /// `N` (at most 32) fresh random bytes.
    fn take<const N: usize>(&mut self) -> [u8; N] {
        if POOL - self.used < N {
            self.refill();
        }
        let mut out = [0u8; N];
        let taken = &mut self.pool[self.used..self.used + N];
        out.copy_from_slice(taken);
        taken.fill(0);
        self.used += N;
        out
    }

    /// 32 fresh random bytes.
    pub fn bytes(&mut self) -> [u8; 32] {
        self.take()
    }

    /// A uniformly random `u32`.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }

    /// A uniformly random number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        f64::from(self.u32()) / 4_294_967_296.0
    }

    /// A fresh UUID v4 in its 36-character lower-case text form.
    pub fn uuid(&mut self) -> String {
        let b: [u8; 16] = self.take();
        uuid_text(&b)
    }
}

/// The UUID v4 text of 16 random bytes (version and variant bits set).
pub fn uuid_text(random: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut b = [0u8; 16];
    b.copy_from_slice(&random[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use maidian_protocol::validate::is_valid_message_id;
    use std::collections::HashSet;

    #[test]
    fn refuses_short_seed() {
        assert!(Ids::new(&[0; 15]).is_none());
        assert!(Ids::new(&[0; 16]).is_some());
    }

    #[test]
    fn uuids_are_v4_valid_ids_and_unique() {
        let mut ids = Ids::new(&[7; 32]).unwrap();
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let u = ids.uuid();
            assert_eq!(u.len(), 36);
            assert_eq!(&u[14..15], "4");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
            assert!(is_valid_message_id(&u, 128));
            assert!(seen.insert(u));
        }
    }

    #[test]
    fn different_seeds_diverge_same_seed_repeats() {
        let a = Ids::new(&[1; 32]).unwrap().uuid();
        let b = Ids::new(&[2; 32]).unwrap().uuid();
        let a2 = Ids::new(&[1; 32]).unwrap().uuid();
        assert_ne!(a, b);
        assert_eq!(a, a2);
        let mut r = Ids::new(&[1; 32]).unwrap();
        r.reseed(b"more");
        assert_ne!(r.uuid(), a);
    }

    #[test]
    fn pool_hands_out_each_byte_once_and_reseed_discards_it() {
        let mut a = Ids::new(&[9; 32]).unwrap();
        let mut b = a.clone();
        // Same stream whatever the request sizes.
        let mut x = Vec::new();
        for _ in 0..20 {
            x.extend_from_slice(&a.bytes());
        }
        let mut y = Vec::new();
        while y.len() < x.len() {
            y.extend_from_slice(&b.u32().to_le_bytes());
        }
        // `u32` takes 4 bytes at a time, so the 256-byte pools line up with 32-byte takes.
        assert_eq!(x, y);
        assert!(
            a.pool[..a.used].iter().all(|&v| v == 0),
            "issued bytes are zeroed"
        );
        let mut c = Ids::new(&[9; 32]).unwrap();
        let first = c.uuid();
        let mut d = Ids::new(&[9; 32]).unwrap();
        d.reseed(b"");
        assert_ne!(d.uuid(), first);
    }

    #[test]
    fn unit_is_in_range_and_spread() {
        let mut ids = Ids::new(&[3; 32]).unwrap();
        let xs: Vec<f64> = (0..4000).map(|_| ids.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let low = xs.iter().filter(|x| **x < 0.5).count();
        assert!((1800..2200).contains(&low), "{low}");
    }

    #[test]
    fn known_text_form() {
        assert_eq!(
            uuid_text(&[0u8; 16]),
            "00000000-0000-4000-8000-000000000000"
        );
        assert_eq!(
            uuid_text(&[0xff; 16]),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
    }
}
