//! Identifiers: 128-bit random UUID v4 text for `messageId`, `anonymousId` and session ids.
//!
//! The core owns no randomness. The host seeds it at start with bytes from its real random
//! source (`wx.getRandomValues`, `crypto.getRandomValues`, `getrandom`) and may add more at any
//! time ([`Ids::reseed`]). From that seed a hash-based deterministic random bit generator (the
//! construction of NIST SP 800-90A Hash_DRBG, reduced: output = SHA-256(key ‖ counter), the key
//! is ratcheted after every request so earlier output cannot be recomputed from a leaked state)
//! produces every id and the retry jitter. Nothing here is ever seeded from the clock: two
//! devices starting in the same millisecond still get unrelated ids.

use super::sha256::sha256;

/// Fewest seed bytes accepted: 128 bits, the size of one id.
pub const MIN_SEED_BYTES: usize = 16;

/// The id generator.
#[derive(Clone)]
pub struct Ids {
    key: [u8; 32],
    counter: u64,
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
        })
    }

    /// Mixes more host randomness into the state.
    pub fn reseed(&mut self, entropy: &[u8]) {
        self.key = sha256(&[b"maidian-drbg-reseed", &self.key, entropy]);
    }

    /// 32 fresh random bytes.
    pub fn bytes(&mut self) -> [u8; 32] {
        self.counter = self.counter.wrapping_add(1);
        let c = self.counter.to_le_bytes();
        let out = sha256(&[&self.key, &c, b"out"]);
        self.key = sha256(&[&self.key, &c, b"key"]);
        out
    }

    /// A uniformly random `u32`.
    pub fn u32(&mut self) -> u32 {
        let b = self.bytes();
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// A uniformly random number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        f64::from(self.u32()) / 4_294_967_296.0
    }

    /// A fresh UUID v4 in its 36-character lower-case text form.
    pub fn uuid(&mut self) -> String {
        let b = self.bytes();
        uuid_text(&b[..16])
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
