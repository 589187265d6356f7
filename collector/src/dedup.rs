//! Exact deduplication by `messageId`, per project, within a time window, in bounded memory.
//! Sans-IO: the caller supplies the clock and does the persistence (see [`crate::idlog`]).
//!
//! # Exactness
//! A duplicate is reported only when the very same `messageId` string was stored before within
//! the window, so a real event is never dropped. Ids are kept in two exact representations:
//!
//! - **Compact** — the canonical forms SDKs generate, a lower-case hyphenated UUID
//!   (`0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f`) or 32 lower-case hex digits: the 128-bit value
//!   (16 bytes) plus one tag byte holding the form (so the two spellings of one value stay
//!   distinct ids) and a coarse time bucket. They live in [`IdTable`], an open-addressing
//!   table with Robin Hood linear probing, a load factor between 0.68 and 0.85 and no per-entry pointer:
//!   **17 bytes per slot, 20–25 bytes per remembered id** (measured: docs/COLLECTOR.md).
//! - **Text** — every other id (other senders, upper-case UUIDs), stored as the exact string in
//!   a `HashMap<Box<str>, bucket>`; counted separately (about 48 bytes + the id length each).
//!
//! # Window
//! Time is cut into 32 buckets per window. An id is forgotten once its bucket is more than 33
//! buckets old, so it is remembered for at least the window and at most ~6% longer. Expiry is
//! a sweep of the table when the bucket advances (once per window/32, e.g. every 45 min), using
//! backward-shift deletion so no tombstones accumulate.
//!
//! # Concurrency
//! Requests *reserve* ids they are about to write ([`DedupSet::claim`]); an id reserved by
//! another request is reported as [`Status::InFlight`] so two concurrent requests carrying the
//! same id never both store it. After the durable write the reservation is *committed*
//! (remembered) or, if the write failed, *released* — so a failed write never turns the
//! client's retry into a silent loss. A compact id is reserved in its table slot (tag
//! [`RESERVED`]; sweeps and clears keep it), a text id in a small map with the request's
//! ticket.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Which spelling a compact id had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// `8-4-4-4-12` lower-case hex with hyphens.
    Hyphenated,
    /// 32 lower-case hex digits.
    Hex,
}

/// A `messageId` classified for storage, borrowing the text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKey<'a> {
    /// A 128-bit id in one of the canonical spellings.
    Compact([u64; 2], Form),
    /// Any other id, exactly as sent.
    Text(&'a str),
}

/// An owned [`IdKey`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedKey {
    /// See [`IdKey::Compact`].
    Compact([u64; 2], Form),
    /// See [`IdKey::Text`].
    Text(Box<str>),
}

impl OwnedKey {
    /// Borrows as an [`IdKey`].
    pub fn as_key(&self) -> IdKey<'_> {
        match self {
            Self::Compact(v, f) => IdKey::Compact(*v, *f),
            Self::Text(s) => IdKey::Text(s),
        }
    }
}

impl IdKey<'_> {
    /// Converts to an owned key (allocates only for text ids).
    pub fn to_owned_key(&self) -> OwnedKey {
        match *self {
            Self::Compact(v, f) => OwnedKey::Compact(v, f),
            Self::Text(s) => OwnedKey::Text(s.into()),
        }
    }
}

/// Value of each byte as a lower-case hex digit; `INVALID` for every other byte (upper case
/// included: an upper-case id is kept as exact text, see [`classify`]).
const HEX: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};
const INVALID: u8 = 0xff;

/// Appends the hex digits of `digits` to `acc` (4 bits each); `None` if one is not lower-case
/// hex. Callers pass at most 16 digits per `u64`.
fn hex_run(acc: u64, digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(acc, |a, &c| {
        let d = HEX[usize::from(c)];
        (d != INVALID).then_some(a << 4 | u64::from(d))
    })
}

/// Classifies a `messageId`. Runs once per event on the ingest path: fixed digit ranges and a
/// table lookup per byte, no per-byte position test.
pub fn classify(id: &str) -> IdKey<'_> {
    let b = id.as_bytes();
    let parsed = match b.len() {
        36 if b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-' => {
            let hi = hex_run(0, &b[0..8])
                .and_then(|a| hex_run(a, &b[9..13]))
                .and_then(|a| hex_run(a, &b[14..18]));
            let lo = hex_run(0, &b[19..23]).and_then(|a| hex_run(a, &b[24..36]));
            hi.zip(lo).map(|(hi, lo)| ([hi, lo], Form::Hyphenated))
        }
        32 => hex_run(0, &b[..16])
            .zip(hex_run(0, &b[16..]))
            .map(|(hi, lo)| ([hi, lo], Form::Hex)),
        _ => None,
    };
    match parsed {
        Some((v, form)) => IdKey::Compact(v, form),
        None => IdKey::Text(id),
    }
}

/// Formats a compact id back into its original spelling.
pub fn format_compact(v: [u64; 2], form: Form) -> String {
    let hex = format!("{:016x}{:016x}", v[0], v[1]);
    match form {
        Form::Hex => hex,
        Form::Hyphenated => format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ),
    }
}

const FORM_BIT: u8 = 0x80;
/// Tags encode `bucket mod TAG_MOD` in their low 7 bits (plus one, so 0 means empty).
const TAG_MOD: i64 = 126;
/// Low 7 bits of the tag of an id reserved by a request in progress (not stored yet).
const RESERVED: u8 = 127;
/// Buckets per window.
pub const BUCKETS_PER_WINDOW: i64 = 32;
/// An id is kept while its bucket is at most this many buckets old.
pub const KEEP_BUCKETS: i64 = BUCKETS_PER_WINDOW + 1;
/// Largest bucket jump a sweep can reason about with tags taken modulo [`TAG_MOD`]; beyond
/// it everything is older than [`KEEP_BUCKETS`] anyway and the table is cleared.
const MAX_SWEEP_JUMP: i64 = TAG_MOD - KEEP_BUCKETS - 1;

/// Highest load before the table grows.
const MAX_LOAD_NUM: usize = 85;
/// Growth factor numerator (/4): ×1.25 keeps the load between 0.68 and 0.85.
const GROW_NUM: usize = 5;
/// Slots of the previous table moved into the current one per insert while a resize is under
/// way. A resize starts with `0.85 × C` ids in the old table (`C` its capacity) and the next one
/// comes after `0.85 × 1.25 × C − 0.85 × C ≈ 0.21 × C` inserts; moving 32 slots per insert
/// finishes after `C / 32 ≈ 0.03 × C`, well before, and keeps the time during which a new id
/// is looked up in both tables short (with 8 per insert the load benchmark lost ≈ 6% of its
/// throughput to those second lookups, with 32 ≈ 3%).
const MIGRATE_PER_INSERT: usize = 32;

/// Open-addressing hash set of 128-bit ids with a one-byte tag per slot (form + time bucket).
/// Capacity is any size (not a power of two), the slot is found by multiply-shift of a keyed
/// hash, probing is linear in Robin Hood order (so a miss stops early even at 85% load) and
/// deletion is backward-shift.
///
/// Growth is incremental: the table that became too full stays, read-only, beside the new
/// one, and every insert moves [`MIGRATE_PER_INSERT`] of its slots over (lookups check the new
/// table, then the old one). A stop-the-world rehash of a million ids took 20–40 ms, during
/// which every request in flight waited: that was the load benchmark's p99 (docs/COLLECTOR.md).
/// A sweep ([`IdTable::retain`], a full scan anyway) and [`IdTable::clear`] first finish a
/// resize that is under way, so entries are only ever deleted from a single table.
#[derive(Debug, Clone)]
pub struct IdTable {
    /// The current table; every insert goes here.
    cur: Slots,
    /// The previous table while its entries move over, with the index of the first slot not
    /// moved yet. Its structure is never changed (so its Robin Hood lookups stay valid); only
    /// the tag of an entry not moved yet may be updated in place.
    old: Option<(Slots, usize)>,
    /// Ids in both tables, reserved ones included (an id is in exactly one, counting moved
    /// slots once).
    len: usize,
    /// Entries whose tag is [`RESERVED`].
    reserved: usize,
    seed: [u64; 2],
}

/// What [`IdTable::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Remembered: a duplicate.
    Stored,
    /// Reserved by a request in progress.
    Reserved,
    /// Absent: now reserved.
    New,
}

/// One open-addressing table: parallel key and tag arrays (tag 0 = empty slot).
#[derive(Debug, Clone, Default)]
struct Slots {
    keys: Vec<[u64; 2]>,
    tags: Vec<u8>,
}

fn folded_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

impl Slots {
    fn with_capacity(cap: usize) -> Self {
        Self {
            keys: vec![[0, 0]; cap],
            tags: vec![0; cap],
        }
    }

    fn home(&self, k: [u64; 2], seed: [u64; 2]) -> usize {
        let h = folded_mul(k[0] ^ seed[0], k[1] ^ seed[1]);
        let h = folded_mul(h, 0x9E37_79B9_7F4A_7C15 ^ seed[1]);
        ((u128::from(h) * self.tags.len() as u128) >> 64) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.tags.len() { 0 } else { i + 1 }
    }

    /// Distance of slot `i` from home slot `h`, cyclically.
    fn dist(&self, i: usize, h: usize) -> usize {
        if i >= h {
            i - h
        } else {
            i + self.tags.len() - h
        }
    }

    fn find(&self, k: [u64; 2], form: Form, seed: [u64; 2]) -> Option<usize> {
        if self.tags.is_empty() {
            return None;
        }
        let want = form_bits(form);
        let mut i = self.home(k, seed);
        let mut d = 0;
        loop {
            let t = self.tags[i];
            if t == 0 {
                return None;
            }
            let resident = self.keys[i];
            if resident == k && t & FORM_BIT == want {
                return Some(i);
            }
            // Robin Hood order: a resident closer to its home than we are to ours means the
            // id would have been placed here already — it is absent.
            if self.dist(i, self.home(resident, seed)) < d {
                return None;
            }
            i = self.next(i);
            d += 1;
        }
    }

    /// Robin Hood insertion of a key known to be absent: walking from its home, it takes
    /// the slot of the first resident closer to that resident's home, which moves on.
    fn place(&mut self, mut k: [u64; 2], mut tag: u8, seed: [u64; 2]) {
        let mut i = self.home(k, seed);
        let mut d = 0;
        loop {
            if self.tags[i] == 0 {
                self.keys[i] = k;
                self.tags[i] = tag;
                return;
            }
            let rd = self.dist(i, self.home(self.keys[i], seed));
            if rd < d {
                std::mem::swap(&mut self.keys[i], &mut k);
                std::mem::swap(&mut self.tags[i], &mut tag);
                d = rd;
            }
            i = self.next(i);
            d += 1;
        }
    }

    /// Removes the entry at `hole` by shifting the following displaced entries back one
    /// slot each (backward-shift deletion keeps the Robin Hood order; no tombstones).
    fn delete_at(&mut self, mut hole: usize, seed: [u64; 2]) {
        loop {
            let j = self.next(hole);
            if self.tags[j] == 0 || self.dist(j, self.home(self.keys[j], seed)) == 0 {
                break;
            }
            self.keys[hole] = self.keys[j];
            self.tags[hole] = self.tags[j];
            hole = j;
        }
        self.tags[hole] = 0;
    }

    fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 16 + self.tags.capacity()
    }
}

impl IdTable {
    /// An empty table; `seed` keys the hash so ids cannot be chosen to collide.
    pub fn new(seed: [u64; 2]) -> Self {
        Self {
            cur: Slots::default(),
            old: None,
            len: 0,
            reserved: 0,
            seed: [seed[0] | 1, seed[1] | 1],
        }
    }

    /// Sizes an empty table for `ids` ids at most at the load limit (17 B per slot, allocated
    /// now); a table already holding ids is left as it is.
    pub fn reserve(&mut self, ids: usize) {
        if self.len == 0 && ids > 0 {
            let cap = ids.saturating_mul(100).div_ceil(MAX_LOAD_NUM).max(64);
            self.old = None;
            self.cur = Slots::with_capacity(cap);
        }
    }

    /// Ids in the table, reserved ones included.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Reserved ids.
    pub fn reserved(&self) -> usize {
        self.reserved
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots allocated in the current table.
    pub fn capacity(&self) -> usize {
        self.cur.tags.len()
    }

    /// Whether a resize is under way (the previous table is still held).
    pub fn resizing(&self) -> bool {
        self.old.is_some()
    }

    /// Heap bytes held by the table (both tables during a resize).
    pub fn heap_bytes(&self) -> usize {
        self.cur.heap_bytes() + self.old.as_ref().map_or(0, |(o, _)| o.heap_bytes())
    }

    /// Touches the home slots of `keys` so their cache misses overlap (the lookups that
    /// follow then mostly hit the cache); returns a value only to keep the loads alive.
    pub fn warm(&self, keys: impl Iterator<Item = [u64; 2]>) -> u64 {
        if self.cur.tags.is_empty() {
            return 0;
        }
        keys.fold(0u64, |acc, k| {
            let h = self.cur.home(k, self.seed);
            acc.wrapping_add(u64::from(self.cur.tags[h]))
                .wrapping_add(self.cur.keys[h][0])
        })
    }

    /// Where an id is: `Ok(slot)` in the current table, `Err(slot)` in the old one.
    fn locate(&self, k: [u64; 2], form: Form) -> Option<Result<usize, usize>> {
        if let Some(i) = self.cur.find(k, form, self.seed) {
            return Some(Ok(i));
        }
        let (old, moved) = self.old.as_ref()?;
        let i = old.find(k, form, self.seed)?;
        // A moved slot's id is in the current table, found above.
        debug_assert!(i >= *moved, "a moved id was missing from the current table");
        Some(Err(i))
    }

    /// Whether the id is in the table (remembered or reserved).
    pub fn contains(&self, k: [u64; 2], form: Form) -> bool {
        self.locate(k, form).is_some()
    }

    /// Looks the id up and reserves it when absent, in one place: a reserved id occupies its
    /// slot with the tag [`RESERVED`] until [`IdTable::settle`] turns it into a remembered one
    /// or removes it. Reserving in the table itself (instead of a separate in-flight map) saves
    /// a hash-map insert and remove per stored id, and the commit finds the slot warm.
    pub fn claim(&mut self, k: [u64; 2], form: Form) -> Claim {
        match self.tag(k, form) {
            Some(t) if t & !FORM_BIT == RESERVED => Claim::Reserved,
            Some(_) => Claim::Stored,
            None => {
                self.add(k, form_bits(form) | RESERVED);
                self.reserved += 1;
                Claim::New
            }
        }
    }

    /// Ends the reservation of an id: remembered with `bucket_tag` (1..=126), or removed when
    /// `None`. Returns false, changing nothing, when the id is not reserved.
    pub fn settle(&mut self, k: [u64; 2], form: Form, bucket_tag: Option<u8>) -> bool {
        if self.tag(k, form).is_none_or(|t| t & !FORM_BIT != RESERVED) {
            return false;
        }
        self.reserved -= 1;
        let Some(b) = bucket_tag else {
            // Entries are only ever deleted from a single table (see the type's doc).
            self.finish_resize();
            if let Some(i) = self.cur.find(k, form, self.seed) {
                self.cur.delete_at(i, self.seed);
                self.len -= 1;
            }
            return true;
        };
        let tag = form_bits(form) | b;
        match self.locate(k, form) {
            Some(Ok(i)) => self.cur.tags[i] = tag,
            Some(Err(i)) => {
                if let Some((old, _)) = &mut self.old {
                    old.tags[i] = tag;
                }
            }
            None => {}
        }
        true
    }

    /// The stored tag of an id (for tests and diagnostics).
    pub fn tag(&self, k: [u64; 2], form: Form) -> Option<u8> {
        match self.locate(k, form)? {
            Ok(i) => Some(self.cur.tags[i]),
            Err(i) => self.old.as_ref().map(|(o, _)| o.tags[i]),
        }
    }

    /// Remembers an id with `bucket_tag` (1..=126); an existing entry keeps the newer tag
    /// only if `newer` says so. A reserved entry becomes remembered (the id is stored: the
    /// reservation's own commit then finds nothing to settle).
    fn insert(&mut self, k: [u64; 2], form: Form, bucket_tag: u8, newer: impl Fn(u8, u8) -> bool) {
        let tag = form_bits(form) | bucket_tag;
        let slot = match self.locate(k, form) {
            Some(Ok(i)) => &mut self.cur.tags[i],
            Some(Err(i)) => match &mut self.old {
                Some((old, _)) => &mut old.tags[i],
                None => return,
            },
            None => {
                self.add(k, tag);
                return;
            }
        };
        if *slot & !FORM_BIT == RESERVED {
            *slot = tag;
            self.reserved -= 1;
        } else if newer(*slot & !FORM_BIT, bucket_tag) {
            *slot = tag;
        }
    }

    /// Places an absent id: grows first if the table would pass its load limit, and moves a
    /// share of a resize under way.
    fn add(&mut self, k: [u64; 2], tag: u8) {
        if (self.len + 1) * 100 > self.cur.tags.len() * MAX_LOAD_NUM {
            self.grow();
        }
        self.cur.place(k, tag, self.seed);
        self.len += 1;
        self.migrate(MIGRATE_PER_INSERT);
    }

    /// Starts a resize: the current table becomes the old one (any resize still under way is
    /// finished first, which the insert budget makes rare).
    fn grow(&mut self) {
        self.finish_resize();
        let cap = (self.cur.tags.len() * GROW_NUM / 4).max(64);
        let old = std::mem::replace(&mut self.cur, Slots::with_capacity(cap));
        if self.len > 0 {
            self.old = Some((old, 0));
        }
    }

    /// Moves up to `n` slots of the old table into the current one; drops the old table when
    /// every slot has moved.
    fn migrate(&mut self, n: usize) {
        let Some((old, moved)) = &mut self.old else {
            return;
        };
        let end = (*moved + n).min(old.tags.len());
        for i in *moved..end {
            let t = old.tags[i];
            if t != 0 {
                self.cur.place(old.keys[i], t, self.seed);
            }
        }
        *moved = end;
        if end == old.tags.len() {
            self.old = None;
        }
    }

    fn finish_resize(&mut self) {
        if let Some((old, moved)) = &self.old {
            let rest = old.tags.len() - moved;
            self.migrate(rest);
        }
    }

    /// Removes every entry whose bucket tag (1..=126) `expired` says is too old; reserved
    /// entries stay.
    fn retain(&mut self, expired: impl Fn(u8) -> bool) {
        self.finish_resize();
        let mut i = 0;
        while i < self.cur.tags.len() {
            let t = self.cur.tags[i] & !FORM_BIT;
            if t != 0 && t != RESERVED && expired(t) {
                self.cur.delete_at(i, self.seed);
                self.len -= 1;
            } else {
                i += 1;
            }
        }
    }

    /// Forgets every remembered id; reserved ones stay (their requests are still in
    /// progress).
    fn clear(&mut self) {
        if self.reserved > 0 {
            self.retain(|_| true);
            return;
        }
        self.old = None;
        self.cur.tags.iter_mut().for_each(|t| *t = 0);
        self.len = 0;
    }
}

fn form_bits(form: Form) -> u8 {
    match form {
        Form::Hyphenated => 0,
        Form::Hex => FORM_BIT,
    }
}

/// Where an id stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored within the window: a duplicate.
    Stored,
    /// Reserved by the same request (a duplicate within one batch; text ids only).
    Mine,
    /// Reserved by another request whose write has not finished — or, for a compact id, by
    /// any request (its reservation does not record the holder: a duplicate within one batch
    /// is found once the batch's own write has resolved it).
    InFlight,
    /// Unknown: may be stored.
    New,
}

/// Counts for metrics and the memory benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DedupStats {
    /// Compact ids remembered.
    pub compact_ids: usize,
    /// Text ids remembered.
    pub text_ids: usize,
    /// Ids reserved by requests in progress.
    pub in_flight: usize,
    /// Heap bytes of the compact table.
    pub compact_bytes: usize,
}

/// The dedup state of one project.
#[derive(Debug)]
pub struct DedupSet {
    table: IdTable,
    text: HashMap<Box<str>, i64>,
    /// Text ids reserved by requests in progress, with the request's ticket (compact ids are
    /// reserved in the table itself).
    flight_text: HashMap<Box<str>, u64>,
    bucket_ms: i64,
    /// Latest bucket seen (monotonic).
    current: i64,
    /// Bucket at the last sweep.
    swept: i64,
}

fn random_seed() -> [u64; 2] {
    let a = RandomState::new().build_hasher().finish();
    let mut h = RandomState::new().build_hasher();
    h.write_u64(a);
    [a, h.finish()]
}

impl DedupSet {
    /// A set that remembers ids for at least `window_ms`.
    pub fn new(window_ms: i64) -> Self {
        Self::with_seed(window_ms, random_seed())
    }

    /// As [`DedupSet::new`], with the compact-id table sized for `capacity` ids up front.
    pub fn with_capacity(window_ms: i64, capacity: usize) -> Self {
        let mut d = Self::new(window_ms);
        d.table.reserve(capacity);
        d
    }

    /// As [`DedupSet::new`] with a fixed hash seed (tests).
    pub fn with_seed(window_ms: i64, seed: [u64; 2]) -> Self {
        let window_ms = window_ms.max(BUCKETS_PER_WINDOW);
        Self {
            table: IdTable::new(seed),
            text: HashMap::new(),
            flight_text: HashMap::new(),
            // ceil, so 32 buckets always cover the whole window.
            bucket_ms: (window_ms + BUCKETS_PER_WINDOW - 1) / BUCKETS_PER_WINDOW,
            current: i64::MIN,
            swept: i64::MIN,
        }
    }

    fn bucket(&self, at_ms: i64) -> i64 {
        at_ms.div_euclid(self.bucket_ms)
    }

    fn tag_of(bucket: i64) -> u8 {
        (bucket.rem_euclid(TAG_MOD) + 1) as u8
    }

    fn tag_age(&self, tag: u8) -> i64 {
        (self.current.rem_euclid(TAG_MOD) - i64::from(tag - 1)).rem_euclid(TAG_MOD)
    }

    /// Moves the clock to `now_ms`; forgets ids that left the window when a bucket boundary
    /// was crossed. Cost: one pass over the table per bucket (window/32).
    pub fn advance(&mut self, now_ms: i64) {
        let b = self.bucket(now_ms);
        if b <= self.current {
            return;
        }
        self.current = b;
        if self.swept == i64::MIN {
            self.swept = b;
            return;
        }
        let jump = b - self.swept;
        self.swept = b;
        if jump > MAX_SWEEP_JUMP {
            self.table.clear();
        } else {
            let cur = self.current;
            let keep = KEEP_BUCKETS;
            self.table.retain(|t| {
                (cur.rem_euclid(TAG_MOD) - i64::from(t - 1)).rem_euclid(TAG_MOD) > keep
            });
        }
        let oldest = b - KEEP_BUCKETS;
        self.text.retain(|_, bucket| *bucket >= oldest);
    }

    /// Prefetches the table slots of a request's compact ids (see [`IdTable::warm`]).
    pub fn warm<'k>(&self, keys: impl Iterator<Item = IdKey<'k>>) -> u64 {
        self.table.warm(keys.filter_map(|k| match k {
            IdKey::Compact(v, _) => Some(v),
            IdKey::Text(_) => None,
        }))
    }

    /// Where `key` stands for the request holding `ticket`.
    pub fn status(&self, key: IdKey<'_>, ticket: u64) -> Status {
        let flight = match key {
            IdKey::Compact(v, f) => {
                return match self.table.tag(v, f) {
                    Some(t) if t & !FORM_BIT == RESERVED => Status::InFlight,
                    Some(_) => Status::Stored,
                    None => Status::New,
                };
            }
            IdKey::Text(s) => {
                if self.text.contains_key(s) {
                    return Status::Stored;
                }
                self.flight_text.get(s)
            }
        };
        match flight {
            Some(t) if *t == ticket => Status::Mine,
            Some(_) => Status::InFlight,
            None => Status::New,
        }
    }

    /// [`DedupSet::status`], and a [`Status::New`] id reserved for the request holding
    /// `ticket` ([`DedupSet::reserve`]) in the same lookup of the in-flight map.
    pub fn claim(&mut self, key: IdKey<'_>, ticket: u64) -> Status {
        let holder = match key {
            IdKey::Compact(v, f) => {
                return match self.table.claim(v, f) {
                    Claim::Stored => Status::Stored,
                    Claim::Reserved => Status::InFlight,
                    Claim::New => Status::New,
                };
            }
            IdKey::Text(s) => {
                if self.text.contains_key(s) {
                    return Status::Stored;
                }
                match self.flight_text.get(s) {
                    Some(t) => *t,
                    None => {
                        self.flight_text.insert(s.into(), ticket);
                        return Status::New;
                    }
                }
            }
        };
        if holder == ticket {
            Status::Mine
        } else {
            Status::InFlight
        }
    }

    /// Reserves a [`Status::New`] id for the request holding `ticket`.
    pub fn reserve(&mut self, key: IdKey<'_>, ticket: u64) {
        match key {
            IdKey::Compact(v, f) => {
                self.table.claim(v, f);
            }
            IdKey::Text(s) => {
                self.flight_text.insert(s.into(), ticket);
            }
        }
    }

    /// Ends a reservation without remembering the id (the write failed). Only the request
    /// that reserved the id may call it: a compact id's reservation does not record its holder.
    pub fn release(&mut self, key: IdKey<'_>, ticket: u64) {
        match key {
            IdKey::Compact(v, f) => {
                self.table.settle(v, f, None);
            }
            IdKey::Text(s) => {
                if self.flight_text.get(s) == Some(&ticket) {
                    self.flight_text.remove(s);
                }
            }
        }
    }

    /// Ends a reservation and remembers the id as stored at `at_ms` (the write is durable).
    /// Only the request that reserved the id may call it (see [`Self::release`]).
    ///
    /// A reserved compact id already has its slot: the commit only rewrites its tag (the
    /// slot is warm, no second placement). Without a reservation (not the ingest path, or the
    /// table was cleared meanwhile), the id is remembered like any id.
    pub fn commit(&mut self, key: IdKey<'_>, ticket: u64, at_ms: i64) {
        match key {
            IdKey::Compact(v, f) => {
                if self.current == i64::MIN {
                    self.advance(at_ms);
                }
                let b = self.bucket(at_ms).min(self.current);
                // Older than the window: the reservation ends, nothing is remembered.
                let tag = (self.current - b <= KEEP_BUCKETS).then(|| Self::tag_of(b));
                if !self.table.settle(v, f, tag) {
                    self.remember(key, at_ms);
                }
            }
            IdKey::Text(s) => {
                if self.flight_text.get(s) == Some(&ticket) {
                    self.flight_text.remove(s);
                }
                self.remember(key, at_ms);
            }
        }
    }

    /// Remembers an id stored at `at_ms` (also used to rebuild the set on startup). Ids older
    /// than the window are ignored; a time in the future counts as now.
    pub fn remember(&mut self, key: IdKey<'_>, at_ms: i64) {
        if self.current == i64::MIN {
            self.advance(at_ms);
        }
        let b = self.bucket(at_ms).min(self.current);
        if self.current - b > KEEP_BUCKETS {
            return;
        }
        match key {
            IdKey::Compact(v, f) => {
                let cur = self.current;
                let newer = move |old: u8, new: u8| {
                    let age =
                        |t: u8| (cur.rem_euclid(TAG_MOD) - i64::from(t - 1)).rem_euclid(TAG_MOD);
                    age(new) < age(old)
                };
                self.table.insert(v, f, Self::tag_of(b), newer);
            }
            IdKey::Text(s) => {
                let e = self.text.entry(s.into()).or_insert(b);
                *e = (*e).max(b);
            }
        }
    }

    /// Age in buckets of a remembered compact id (tests).
    pub fn age_of(&self, key: IdKey<'_>) -> Option<i64> {
        match key {
            IdKey::Compact(v, f) => self
                .table
                .tag(v, f)
                .filter(|t| t & !FORM_BIT != RESERVED)
                .map(|t| self.tag_age(t & !FORM_BIT)),
            IdKey::Text(s) => self.text.get(s).map(|b| self.current - b),
        }
    }

    /// Counts.
    pub fn stats(&self) -> DedupStats {
        DedupStats {
            compact_ids: self.table.len() - self.table.reserved(),
            text_ids: self.text.len(),
            in_flight: self.table.reserved() + self.flight_text.len(),
            compact_bytes: self.table.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 32_000; // 1 s buckets

    fn uuid(n: u64) -> String {
        format_compact([n.wrapping_mul(0x9E37_79B9_7F4A_7C15), n], Form::Hyphenated)
    }

    #[test]
    fn classify_round_trips_and_rejects_every_bad_position() {
        let mut x = 0x1234_5678_9abc_def0_u64;
        for _ in 0..200 {
            // xorshift: values with every nibble pattern.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = [x, x.rotate_left(29) ^ 0x5555_aaaa_0f0f_f0f0];
            for form in [Form::Hyphenated, Form::Hex] {
                let text = format_compact(v, form);
                assert_eq!(classify(&text), IdKey::Compact(v, form), "{text}");
                for i in 0..text.len() {
                    for bad in [b'G', b'A', b'-', b' ', b'g'] {
                        let mut b = text.clone().into_bytes();
                        if b[i] == bad || (bad == b'A' && !b[i].is_ascii_lowercase()) {
                            continue;
                        }
                        b[i] = if bad == b'A' {
                            b[i].to_ascii_uppercase()
                        } else {
                            bad
                        };
                        let t = String::from_utf8(b).unwrap();
                        assert_eq!(classify(&t), IdKey::Text(&t), "{t}");
                    }
                }
            }
        }
    }

    #[test]
    fn classify_forms() {
        let u = "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f";
        let IdKey::Compact(v, Form::Hyphenated) = classify(u) else {
            panic!("not compact")
        };
        assert_eq!(format_compact(v, Form::Hyphenated), u);
        let h = "0b6f7b7e2f4c4d6e9f600c1b2a3d4e5f";
        assert_eq!(classify(h), IdKey::Compact(v, Form::Hex));
        // Upper case, wrong hyphens, wrong length, non-hex: exact text.
        for t in [
            "0B6F7B7E-2F4C-4D6E-9F60-0C1B2A3D4E5F",
            "0b6f7b7e2-f4c-4d6e-9f60-0c1b2a3d4e5f",
            "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5",
            "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5g",
            "evt-1",
        ] {
            assert_eq!(classify(t), IdKey::Text(t));
        }
    }

    #[test]
    fn two_spellings_of_one_value_are_different_ids() {
        let mut d = DedupSet::with_seed(W, [1, 2]);
        d.advance(0);
        let u = "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f";
        d.remember(classify(u), 0);
        assert_eq!(d.status(classify(u), 1), Status::Stored);
        assert_eq!(
            d.status(classify("0b6f7b7e2f4c4d6e9f600c1b2a3d4e5f"), 1),
            Status::New
        );
        assert_eq!(
            d.status(classify("0B6F7B7E-2F4C-4D6E-9F60-0C1B2A3D4E5F"), 1),
            Status::New
        );
    }

    #[test]
    fn claim_is_status_then_reserve() {
        let ids = [
            "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f",
            "0b6f7b7e2f4c4d6e9f600c1b2a3d4e5f",
            "text-id",
        ];
        let mut claimed = DedupSet::with_seed(W, [1, 2]);
        let mut reference = DedupSet::with_seed(W, [1, 2]);
        // Interleaved claims by tickets 1..=3, releases and (rare) commits on each id.
        let mut seen = Vec::new();
        for step in 0..300u64 {
            let k = classify(ids[(step % 3) as usize]);
            let ticket = step / 3 % 3 + 1;
            match step * 7 % 11 {
                0 | 5 => {
                    claimed.release(k, ticket);
                    reference.release(k, ticket);
                }
                1 if step > 150 => {
                    claimed.commit(k, ticket, 5);
                    reference.commit(k, ticket, 5);
                }
                _ => {
                    let want = reference.status(k, ticket);
                    if want == Status::New {
                        reference.reserve(k, ticket);
                    }
                    assert_eq!(claimed.claim(k, ticket), want, "step {step}");
                    if !seen.contains(&want) {
                        seen.push(want);
                    }
                }
            }
            for other in ids {
                for t in 1..=3 {
                    let k = classify(other);
                    assert_eq!(claimed.status(k, t), reference.status(k, t));
                }
            }
            assert_eq!(claimed.stats(), reference.stats());
        }
        assert_eq!(seen.len(), 4, "every status answered: {seen:?}");
    }

    #[test]
    fn reservations() {
        let mut d = DedupSet::with_seed(W, [1, 2]);
        let k = classify("a");
        assert_eq!(d.status(k, 1), Status::New);
        d.reserve(k, 1);
        assert_eq!(d.status(k, 1), Status::Mine);
        assert_eq!(d.status(k, 2), Status::InFlight);
        d.release(k, 2); // not the owner: no effect
        assert_eq!(d.status(k, 2), Status::InFlight);
        d.release(k, 1);
        assert_eq!(d.status(k, 2), Status::New);
        d.reserve(k, 2);
        d.commit(k, 2, 5);
        assert_eq!(d.status(k, 3), Status::Stored);
        assert_eq!(d.stats().in_flight, 0);
    }

    #[test]
    fn never_a_false_positive_and_no_false_negative() {
        let mut d = DedupSet::with_seed(W, [7, 9]);
        d.advance(0);
        for n in 0..50_000u64 {
            d.remember(classify(&uuid(n)), 0);
        }
        assert_eq!(d.stats().compact_ids, 50_000);
        for n in 0..50_000u64 {
            assert_eq!(d.status(classify(&uuid(n)), 0), Status::Stored);
        }
        for n in 50_000..100_000u64 {
            assert_eq!(d.status(classify(&uuid(n)), 0), Status::New);
        }
        let per_id = d.stats().compact_bytes as f64 / 50_000.0;
        assert!(per_id <= 25.1, "{per_id} bytes per id");
    }

    #[test]
    fn window_expiry_keeps_at_least_the_window() {
        let mut d = DedupSet::with_seed(W, [3, 4]);
        d.advance(0);
        for n in 0..2000u64 {
            // Spread over the window: id n stored at n*16 ms (0..32 s).
            d.remember(classify(&uuid(n)), (n as i64) * 16);
            d.remember(classify(&format!("t{n}")), (n as i64) * 16);
            d.advance((n as i64) * 16);
        }
        // Just before each id's window ends, it is still known.
        for n in 0..2000u64 {
            let stored = (n as i64) * 16;
            let mut probe = d.clone_for_test();
            probe.advance(stored + W - 1);
            assert_eq!(probe.status(classify(&uuid(n)), 0), Status::Stored, "{n}");
            assert_eq!(probe.status(classify(&format!("t{n}")), 0), Status::Stored);
        }
        // Long after, all gone, and the table is empty (sweep really deletes).
        d.advance(10 * W);
        assert_eq!(d.stats().compact_ids, 0);
        assert_eq!(d.stats().text_ids, 0);
        for n in 0..2000u64 {
            assert_eq!(d.status(classify(&uuid(n)), 0), Status::New);
        }
    }

    /// A spread of distinct 128-bit keys (as the compact ids of random UUIDs would be).
    fn key(n: u64) -> [u64; 2] {
        [
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            n ^ 0xD1B5_4A32_D192_ED03,
        ]
    }

    #[test]
    fn incremental_resize_keeps_every_id_findable_and_finishes_in_time() {
        let mut t = IdTable::new([3, 4]);
        let newer = |old: u8, new: u8| new > old;
        let mut resizes = 0;
        let mut was_resizing = false;
        for n in 0..300_000u64 {
            t.insert(key(n), Form::Hex, 1, newer);
            assert_eq!(t.len(), n as usize + 1);
            if t.resizing() && !was_resizing {
                resizes += 1;
            }
            was_resizing = t.resizing();
            // Recent, old and never-inserted ids, checked while a resize may be under way.
            for m in [n, n / 2, n / 7, n.saturating_sub(64)] {
                assert!(
                    t.contains(key(m), Form::Hex),
                    "id {m} lost after insert {n}"
                );
                assert!(!t.contains(key(m), Form::Hyphenated), "other form of {m}");
            }
            assert!(!t.contains(key(n + 1), Form::Hex));
            // The current table never goes past its load limit: a resize always finished
            // within its insert budget (grow() would otherwise have had to finish it).
            assert!(t.len() * 100 <= t.capacity() * MAX_LOAD_NUM, "insert {n}");
        }
        assert!(resizes > 30, "{resizes} resizes");
        for n in 0..300_000u64 {
            assert!(t.contains(key(n), Form::Hex), "id {n} lost at the end");
        }
        // Both tables are held only while a resize is under way.
        assert!(t.heap_bytes() <= t.capacity() * 17 * 2);
    }

    #[test]
    fn a_reserved_table_holds_its_capacity_without_resizing() {
        let mut t = IdTable::new([1, 2]);
        t.reserve(10_000);
        let cap = t.capacity();
        assert!(cap * MAX_LOAD_NUM >= 10_000 * 100);
        for n in 0..10_000u64 {
            t.insert(key(n), Form::Hex, 1, |_, _| false);
            assert!(!t.resizing(), "resized at {n}");
        }
        assert_eq!(t.capacity(), cap);
        // One more grows it, as usual.
        t.insert(key(10_000), Form::Hex, 1, |_, _| false);
        assert!(t.resizing() && t.capacity() > cap);
        assert!((0..=10_000).all(|n| t.contains(key(n), Form::Hex)));
        // A table holding ids is not re-sized by reserve.
        t.reserve(1 << 20);
        assert!(t.capacity() < 1 << 20);
    }

    #[test]
    fn tag_updates_and_sweeps_during_a_resize() {
        let newer = |old: u8, new: u8| new > old;
        // Fill until a resize has just started, so nearly every id is still in the old table.
        let mut t = IdTable::new([7, 8]);
        let mut n = 0u64;
        while !(t.resizing() && t.len() > 1000) {
            t.insert(key(n), Form::Hex, if n % 2 == 0 { 1 } else { 2 }, newer);
            n += 1;
        }
        // A newer tag for an id not moved yet is kept where it is, and seen.
        t.insert(key(0), Form::Hex, 5, newer);
        assert_eq!(t.tag(key(0), Form::Hex), Some(FORM_BIT | 5));
        // An older tag does not replace a newer one.
        t.insert(key(0), Form::Hex, 3, newer);
        assert_eq!(t.tag(key(0), Form::Hex), Some(FORM_BIT | 5));
        let len = t.len();
        // A sweep finishes the resize, then drops exactly the expired ids (tag 1: even n but 0).
        t.retain(|tag| tag == 1);
        assert!(!t.resizing());
        assert_eq!(t.len(), len - (n as usize).div_ceil(2) + 1);
        for m in 0..n {
            let expect = m == 0 || m % 2 == 1;
            assert_eq!(t.contains(key(m), Form::Hex), expect, "id {m}");
        }
        // Clearing during a resize forgets everything.
        let mut t2 = IdTable::new([7, 8]);
        let mut m = 0u64;
        while !t2.resizing() || t2.len() < 100 {
            t2.insert(key(m), Form::Hex, 1, newer);
            m += 1;
        }
        t2.clear();
        assert!(t2.is_empty() && !t2.resizing());
        assert!(!t2.contains(key(0), Form::Hex));
    }

    #[test]
    fn commit_places_a_reserved_id_and_never_duplicates_one() {
        let mut d = DedupSet::with_seed(W, [21, 22]);
        d.advance(1000);
        // Many reserved-then-committed ids, through several table resizes.
        for n in 0..20_000u64 {
            let id = uuid(n);
            assert_eq!(d.claim(classify(&id), 7), Status::New);
            d.commit(classify(&id), 7, 1000);
            assert_eq!(d.claim(classify(&id), 8), Status::Stored, "{n}");
        }
        assert_eq!(d.stats().compact_ids, 20_000);
        assert_eq!(d.stats().in_flight, 0);
        // A commit without this ticket's reservation (not the ingest path) looks the id up:
        // committing a stored id again adds nothing.
        d.commit(classify(&uuid(5)), 9, 1000);
        assert_eq!(d.stats().compact_ids, 20_000);
        // A reserved compact id is in flight for everyone, its own request included (the slot
        // does not record the holder), and is not counted as remembered.
        let fresh_text = uuid(1 << 40);
        let fresh = classify(&fresh_text);
        assert_eq!(d.claim(fresh, 1), Status::New);
        assert_eq!(d.claim(fresh, 1), Status::InFlight);
        assert_eq!(d.status(fresh, 3), Status::InFlight);
        assert_eq!((d.stats().compact_ids, d.stats().in_flight), (20_000, 1));
        assert_eq!(d.age_of(fresh), None);
        // Released: absent again.
        d.release(fresh, 1);
        assert_eq!((d.stats().compact_ids, d.stats().in_flight), (20_000, 0));
        assert_eq!(d.status(fresh, 3), Status::New);
        assert_eq!(d.claim(fresh, 4), Status::New);
        d.commit(fresh, 4, 1000);
        assert_eq!(d.claim(fresh, 5), Status::Stored);
        assert_eq!((d.stats().compact_ids, d.stats().in_flight), (20_001, 0));
        // Releasing or committing an id that is not reserved changes nothing.
        d.release(fresh, 4);
        assert_eq!(d.claim(fresh, 5), Status::Stored);
        assert_eq!(d.stats().compact_ids, 20_001);
    }

    #[test]
    fn reservations_survive_sweeps_clears_and_rebuilds() {
        let mut d = DedupSet::with_seed(W, [31, 32]);
        d.advance(0);
        let held_text = uuid(1);
        let held = classify(&held_text);
        let old_text = uuid(2);
        let old = classify(&old_text);
        d.remember(old, 0);
        assert_eq!(d.claim(held, 1), Status::New);
        // A sweep forgets the old id, not the reservation.
        d.advance(40_000);
        assert_eq!(d.status(old, 9), Status::New);
        assert_eq!(d.status(held, 9), Status::InFlight);
        // A jump past what a sweep can reason about clears the table: the reservation stays.
        d.advance(40_000 + 200 * 1000);
        assert_eq!(d.status(held, 9), Status::InFlight);
        assert_eq!(d.stats().in_flight, 1);
        d.commit(held, 1, 40_000 + 200 * 1000);
        assert_eq!(d.status(held, 9), Status::Stored);
        assert_eq!((d.stats().compact_ids, d.stats().in_flight), (1, 0));
        // A commit whose time has left the window ends the reservation, remembers nothing.
        let late_text = uuid(3);
        let late = classify(&late_text);
        assert_eq!(d.claim(late, 2), Status::New);
        d.commit(late, 2, 0);
        assert_eq!(d.status(late, 9), Status::New);
        assert_eq!((d.stats().compact_ids, d.stats().in_flight), (1, 0));
        // Remembering a reserved id (it was stored elsewhere) makes it stored; the holder's
        // commit or release then finds nothing to settle.
        let both_text = uuid(4);
        let both = classify(&both_text);
        assert_eq!(d.claim(both, 3), Status::New);
        d.remember(both, 40_000 + 200 * 1000);
        assert_eq!(d.status(both, 9), Status::Stored);
        assert_eq!((d.stats().compact_ids, d.stats().in_flight), (2, 0));
        d.release(both, 3);
        assert_eq!(d.status(both, 9), Status::Stored);
        assert_eq!(d.stats().compact_ids, 2);
    }

    #[test]
    fn reservations_match_a_model_through_resizes() {
        // Random claims, commits and releases from an empty table (so through many
        // incremental resizes), checked against a plain map after every step.
        let mut d = DedupSet::with_seed(W, [41, 43]);
        d.advance(1000);
        let mut model: HashMap<u64, bool> = HashMap::new(); // id -> reserved (true) / stored
        let mut reserved: Vec<u64> = Vec::new();
        let mut stored = 0;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for step in 0..60_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = x % 30_000;
            let id_text = uuid(n);
            let id = classify(&id_text);
            match x >> 60 {
                0..=9 => {
                    let want = match model.get(&n) {
                        Some(true) => Status::InFlight,
                        Some(false) => Status::Stored,
                        None => Status::New,
                    };
                    assert_eq!(d.claim(id, 1), want, "step {step}");
                    if want == Status::New {
                        model.insert(n, true);
                        reserved.push(n);
                    }
                }
                10..=13 if !reserved.is_empty() => {
                    let r = reserved.swap_remove((x as usize >> 3) % reserved.len());
                    d.commit(classify(&uuid(r)), 1, 1000);
                    model.insert(r, false);
                    stored += 1;
                }
                _ if !reserved.is_empty() => {
                    let r = reserved.swap_remove((x as usize >> 3) % reserved.len());
                    d.release(classify(&uuid(r)), 1);
                    model.remove(&r);
                }
                _ => {}
            }
            if step % 5_000 == 0 {
                for (&m, &r) in &model {
                    let want = if r { Status::InFlight } else { Status::Stored };
                    assert_eq!(d.status(classify(&uuid(m)), 2), want, "id {m} at {step}");
                }
            }
            assert_eq!(d.stats().compact_ids, stored, "step {step}");
            assert_eq!(d.stats().in_flight, reserved.len(), "step {step}");
        }
        assert!(d.table.capacity() > 10_000, "the table grew");
    }

    #[test]
    fn sweep_deletion_keeps_survivors_findable() {
        // Interleave old and new ids so clusters mix; after the sweep every survivor must
        // still be found (backward shift must not break probe chains).
        let mut d = DedupSet::with_seed(W, [11, 13]);
        d.advance(0);
        for n in 0..20_000u64 {
            let at = if n % 3 == 0 { 0 } else { 20 * 1000 };
            d.advance(at);
            d.remember(classify(&uuid(n)), at);
        }
        d.advance(20_000 + 34_000 - 1000); // bucket 53: ids of bucket 0 are 53 old, of 20 are 33
        for n in 0..20_000u64 {
            let expect = if n % 3 == 0 {
                Status::New
            } else {
                Status::Stored
            };
            assert_eq!(d.status(classify(&uuid(n)), 0), expect, "{n}");
        }
        assert_eq!(d.stats().compact_ids, 20_000 - 6667);
    }

    #[test]
    fn long_idle_clears_everything() {
        let mut d = DedupSet::with_seed(W, [1, 1]);
        d.advance(0);
        d.remember(classify(&uuid(1)), 0);
        d.advance(1000 * W);
        assert_eq!(d.status(classify(&uuid(1)), 0), Status::New);
    }

    #[test]
    fn future_and_old_times_on_rebuild() {
        let mut d = DedupSet::with_seed(W, [1, 1]);
        d.advance(100_000);
        d.remember(classify(&uuid(1)), 100_000 + 3_600_000); // future: counts as now
        assert_eq!(d.age_of(classify(&uuid(1))), Some(0));
        d.remember(classify(&uuid(2)), 0); // long gone: not remembered
        assert_eq!(d.status(classify(&uuid(2)), 0), Status::New);
        d.remember(classify(&uuid(1)), 90_000); // older re-insert keeps the newer bucket
        assert_eq!(d.age_of(classify(&uuid(1))), Some(0));
    }

    #[test]
    fn matches_a_model_under_random_inserts_and_sweeps() {
        // Small key space so ids repeat; small table so clusters wrap around the end.
        let mut rng = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut d = DedupSet::with_seed(W, [5, 6]);
        let mut model: HashMap<u64, i64> = HashMap::new(); // id -> bucket
        let bucket_ms = W / BUCKETS_PER_WINDOW;
        let mut now = 0i64;
        d.advance(now);
        for step in 0..60_000 {
            if step % 500 == 0 {
                now += (next() % 3000) as i64;
                d.advance(now);
                let cur = now / bucket_ms;
                model.retain(|_, b| cur - *b <= KEEP_BUCKETS);
            }
            let n = next() % 4000;
            let id = format_compact([n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 3, n], Form::Hex);
            let key = classify(&id);
            let expect = if model.contains_key(&n) {
                Status::Stored
            } else {
                Status::New
            };
            assert_eq!(d.status(key, 0), expect, "step {step} id {n}");
            if next() % 2 == 0 {
                d.remember(key, now);
                let b = now / bucket_ms;
                let e = model.entry(n).or_insert(b);
                *e = (*e).max(b);
            }
        }
        assert_eq!(d.stats().compact_ids, model.len());
    }

    impl DedupSet {
        fn clone_for_test(&self) -> Self {
            Self {
                table: self.table.clone(),
                text: self.text.clone(),
                flight_text: HashMap::new(),
                bucket_ms: self.bucket_ms,
                current: self.current,
                swept: self.swept,
            }
        }
    }
}
