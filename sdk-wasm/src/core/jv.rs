//! The SDK's own JSON value: [`Json`] and its object type [`Obj`].
//!
//! Why not `serde_json::Value`: its `Map` is a `BTreeMap<String, Value>`, and the B-tree code
//! monomorphized for it (insert, node splits, clone, the dying iterator, search), `Value`'s
//! clone/drop glue and the number handling around it (a correctly-rounded float parser to read
//! every number, a shortest-round-trip formatter to write it back) were the largest item left
//! in the mini-program wasm (docs/SDK.md, "Where the remaining bytes are"). The SDK mostly
//! passes host JSON through — properties in, event text out — so here:
//!
//! - **Numbers are their JSON literal** ([`Json::Num`]), exactly as received (the parser in
//!   `core::json_text` validated it) and written back verbatim: what the host's
//!   `JSON.stringify` produced is what the event carries, exact by construction. Where the core
//!   needs a numeric value (config fields, exposure ratios, scene, `Retry-After`, counters in
//!   the persisted state) [`Json::as_u64`] / [`Json::as_i64`] read integer literals exactly and
//!   [`Json::as_f64`] converts any literal: correctly rounded when the significand fits 2^53 and
//!   the decimal exponent is within ±22 (every number JS prints with ≤ 15 significant digits
//!   and a small exponent, i.e. every ratio, rate, duration and timestamp a host passes), and
//!   otherwise within a few ulp (see [`Json::as_f64`]). That approximation is only ever used
//!   for values the core compares or computes with, never for values it writes back out: those
//!   keep their literal. Numbers the core creates itself are integers ([`Json::int`]) or
//!   hundredths ([`Json::hundredths`], the exposure ratio), written without a float formatter.
//! - **Objects are insertion-ordered** `Vec<(String, Json)>` ([`Obj`]): [`Obj::insert`]
//!   replaces the value of an existing key in place ("later keys win", first position kept)
//!   and appends otherwise. Lookups are linear: event property maps are small (the protocol
//!   bounds an event to 32 KB), and linear search over a handful of keys beats a tree. The
//!   parser does not insert key by key: it appends and then merges repeated keys once per
//!   object ([`Obj::dedup_keys`], O(n log n) for large objects), so a large object cannot make
//!   parsing quadratic.

/// A JSON value. See the module documentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Json {
    /// `null`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number: its JSON literal (RFC 8259 `number` syntax), written out verbatim.
    Num(Box<str>),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object.
    Obj(Obj),
}

impl Json {
    /// An integer number.
    pub fn int(i: i64) -> Self {
        let mut s = String::new();
        super::text::push_i64(&mut s, i);
        Self::Num(s.into_boxed_str())
    }

    /// A non-negative integer number.
    pub fn uint(u: u64) -> Self {
        let mut s = String::new();
        super::text::push_u64(&mut s, u);
        Self::Num(s.into_boxed_str())
    }

    /// `h / 100` written the way a shortest-round-trip formatter writes that `f64` (`0.5`,
    /// `0.25`, `1.0`, `-0.07`; tested for |h| ≤ 1000, and a formatter would switch to exponent
    /// notation only from 1e16): the exposure ratio, rounded to hundredths by the core.
    pub fn hundredths(h: i64) -> Self {
        let mut s = String::new();
        if h < 0 {
            s.push('-');
        }
        let a = h.unsigned_abs();
        super::text::push_u64(&mut s, a / 100);
        let frac = a % 100;
        s.push('.');
        if frac % 10 == 0 {
            super::text::push_u64(&mut s, frac / 10);
        } else {
            if frac < 10 {
                s.push('0');
            }
            super::text::push_u64(&mut s, frac);
        }
        Self::Num(s.into_boxed_str())
    }

    /// True for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Obj> {
        match self {
            Self::Obj(o) => Some(o),
            _ => None,
        }
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&[Json]> {
        match self {
            Self::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// Takes the value, leaving `null`.
    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// An integer literal (no fraction, no exponent) that fits `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        let Self::Num(n) = self else { return None };
        parse_u64(n.as_bytes())
    }

    /// An integer literal (no fraction, no exponent) that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        let Self::Num(n) = self else { return None };
        match n.strip_prefix('-') {
            Some(digits) => 0i64.checked_sub_unsigned(parse_u64(digits.as_bytes())?),
            None => i64::try_from(parse_u64(n.as_bytes())?).ok(),
        }
    }

    /// The number as an `f64`, for comparing and computing — never for writing back out.
    ///
    /// Exact (correctly rounded) when the significant digits form an integer below 2^53 and
    /// the decimal exponent is within ±22: both are then exact `f64`s and one multiplication
    /// or division rounds once (Clinger's fast path). Otherwise the significand (its first 19
    /// digits) is converted once and scaled by exact powers of ten, each step rounding once:
    /// within 2 ulp for magnitudes 1e-20..1e30, a relative error below 1e-14 beyond (tested on
    /// random doubles).
    pub fn as_f64(&self) -> Option<f64> {
        let Self::Num(n) = self else { return None };
        Some(literal_to_f64(n.as_bytes()))
    }
}

/// Exact powers of ten as `f64` (10^22 is the largest exactly representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

/// A validated JSON number literal as `f64` (see [`Json::as_f64`]).
pub(crate) fn literal_to_f64(s: &[u8]) -> f64 {
    let (negative, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0u32; // significant digits taken into `mantissa`
    let mut exp: i64 = 0;
    let mut i = 0;
    let mut seen_point = false;
    while let Some(&b) = s.get(i) {
        match b {
            b'0'..=b'9' => {
                if mantissa == 0 && b == b'0' {
                    // A leading zero: no digit, but after the point it scales.
                    exp -= i64::from(seen_point);
                } else if digits < 19 {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                    digits += 1;
                    exp -= i64::from(seen_point);
                } else {
                    // Beyond 19 significant digits (a relative error below 1e-18): an integer
                    // digit dropped scales up, a fraction digit dropped changes nothing.
                    exp += i64::from(!seen_point);
                }
            }
            b'.' => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if let Some(b'e' | b'E') = s.get(i) {
        let rest = &s[i + 1..];
        let (neg, rest) = match rest.split_first() {
            Some((b'-', r)) => (true, r),
            Some((b'+', r)) => (false, r),
            _ => (false, rest),
        };
        let mut e: i64 = 0;
        for &d in rest {
            // Saturate: anything beyond ±10^6 is 0 or infinite anyway.
            e = (e * 10 + i64::from(d.wrapping_sub(b'0'))).min(1_000_000);
        }
        exp += if neg { -e } else { e };
    }
    let mut f = mantissa as f64;
    if mantissa != 0 {
        while exp > 22 {
            f *= POW10[22];
            exp -= 22;
        }
        while exp < -22 {
            f /= POW10[22];
            exp += 22;
        }
        let p = POW10[exp.unsigned_abs() as usize];
        f = if exp < 0 { f / p } else { f * p };
    }
    if negative { -f } else { f }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}
impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}
impl From<u32> for Json {
    fn from(u: u32) -> Self {
        Self::uint(u.into())
    }
}
impl From<u64> for Json {
    fn from(u: u64) -> Self {
        Self::uint(u)
    }
}
impl From<i64> for Json {
    fn from(i: i64) -> Self {
        Self::int(i)
    }
}
impl From<Option<&str>> for Json {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Self::Null, Self::from)
    }
}
impl From<Obj> for Json {
    fn from(o: Obj) -> Self {
        Self::Obj(o)
    }
}

/// A JSON object: insertion-ordered entries with unique keys. See the module documentation.
/// Equality compares entries in order (two objects with the same entries in another order are
/// different values here, though equal as JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Obj(Vec<(String, Json)>);

impl Obj {
    /// An empty object.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key` to `value`: in place if present (returning the old value), else appended.
    pub fn insert(&mut self, key: String, value: Json) -> Option<Json> {
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    /// Sets `key` to `value` only if absent.
    pub fn insert_if_absent(&mut self, key: String, value: Json) {
        if !self.contains_key(&key) {
            self.0.push((key, value));
        }
    }

    /// Removes `key`, returning its value; the other entries keep their order.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let i = self.position(key)?;
        Some(self.0.remove(i).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The values, mutably, in order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Json> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// [`Obj::insert`] of every entry of `other`, in its order (later keys win).
    pub fn extend(&mut self, other: impl IntoIterator<Item = (String, Json)>) {
        for (k, v) in other {
            self.insert(k, v);
        }
    }

    /// Appends without checking for the key: the parser's path, followed by
    /// [`Obj::dedup_keys`] once the object is complete.
    pub(crate) fn push_unchecked(&mut self, key: String, value: Json) {
        self.0.push((key, value));
    }

    /// Merges repeated keys as a sequence of [`Obj::insert`] calls would have: the last value
    /// wins, at the key's first position. Small objects compare every pair; larger ones sort
    /// an index (O(n log n)).
    pub(crate) fn dedup_keys(&mut self) {
        let n = self.0.len();
        // `drop[j]`: entry `j` repeats an earlier key (allocated at the first repeat).
        let mut drop: Vec<bool> = Vec::new();
        let mut merge = |o: &mut Self, keep: usize, later: usize| {
            let v = o.0[later].1.take();
            o.0[keep].1 = v;
            if drop.is_empty() {
                drop.resize(n, false);
            }
            drop[later] = true;
        };
        if n <= 16 {
            for j in 1..n {
                // The first occurrence is never a repeat, so it is the one found.
                if let Some(i) = self.0[..j].iter().position(|(k, _)| *k == self.0[j].0) {
                    merge(self, i, j);
                }
            }
        } else {
            // Equal keys are adjacent and in input order: each moves its value to the first.
            let idx = self.sorted_indices();
            let mut first = 0;
            for w in 1..n {
                if self.0[idx[w]].0 == self.0[idx[first]].0 {
                    merge(self, idx[first], idx[w]);
                } else {
                    first = w;
                }
            }
        }
        if !drop.is_empty() {
            let mut at = 0;
            self.0.retain(|_| {
                at += 1;
                !drop[at - 1]
            });
        }
    }

    /// Entry indices in key order (equal keys in entry order).
    pub(crate) fn sorted_indices(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.0.len()).collect();
        idx.sort_unstable_by(|&a, &b| self.0[a].0.cmp(&self.0[b].0).then(a.cmp(&b)));
        idx
    }

    /// Entry `i` (an index from [`Obj::sorted_indices`]).
    pub(crate) fn entry(&self, i: usize) -> (&String, &Json) {
        let (k, v) = &self.0[i];
        (k, v)
    }
}

impl IntoIterator for Obj {
    type Item = (String, Json);
    type IntoIter = std::vec::IntoIter<(String, Json)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Obj {
    type Item = (&'a String, &'a Json);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Json)>,
        fn(&'a (String, Json)) -> (&'a String, &'a Json),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, Json)> for Obj {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(iter: I) -> Self {
        let mut o = Self::new();
        o.extend(iter);
        o
    }
}

/// For the derived `Serialize` of `Effect` and `State` (tests and hosts that use serde; the
/// wasm writes its JSON with `core::json_write`). Numbers go out as the `u64` / `i64` / `f64`
/// they denote.
impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => s.serialize_unit(),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Num(_) => {
                if let Some(u) = self.as_u64() {
                    s.serialize_u64(u)
                } else if let Some(i) = self.as_i64() {
                    s.serialize_i64(i)
                } else {
                    s.serialize_f64(self.as_f64().unwrap_or(0.0))
                }
            }
            Self::Str(x) => s.serialize_str(x),
            Self::Arr(a) => s.collect_seq(a),
            Self::Obj(o) => o.serialize(s),
        }
    }
}

impl serde::Serialize for Obj {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// `serde_json` values in tests (`json!`): numbers keep `serde_json`'s text of them.
#[cfg(test)]
impl From<serde_json::Value> for Json {
    fn from(v: serde_json::Value) -> Self {
        use serde_json::Value;
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(n) => Self::Num(n.to_string().into_boxed_str()),
            Value::String(s) => Self::Str(s),
            Value::Array(a) => Self::Arr(a.into_iter().map(Self::from).collect()),
            Value::Object(m) => Self::Obj(m.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

/// `obj["key"]` in tests: the value, or `null` when absent (as `serde_json`'s index).
#[cfg(test)]
impl std::ops::Index<&str> for Obj {
    type Output = Json;
    fn index(&self, key: &str) -> &Json {
        static NULL: Json = Json::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

/// `value == "text"` in tests.
#[cfg(test)]
impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

/// The object of a `json!` value in tests (empty for anything else).
#[cfg(test)]
pub fn obj_of(v: serde_json::Value) -> Obj {
    match Json::from(v) {
        Json::Obj(o) => o,
        _ => Obj::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> Json {
        Json::Num(s.into())
    }

    #[test]
    fn integers_are_exact() {
        assert_eq!(num("0").as_u64(), Some(0));
        assert_eq!(num("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(num("18446744073709551616").as_u64(), None);
        assert_eq!(num("-1").as_u64(), None);
        assert_eq!(num("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(num("-9223372036854775809").as_i64(), None);
        assert_eq!(num("9223372036854775807").as_i64(), Some(i64::MAX));
        assert_eq!(num("9223372036854775808").as_i64(), None);
        assert_eq!(
            num("1.0").as_u64(),
            None,
            "a float literal is not an integer"
        );
        assert_eq!(num("1e3").as_i64(), None);
        assert_eq!(num("-0").as_i64(), Some(0));
        assert_eq!(Json::from("1").as_u64(), None);
        assert_eq!(Json::int(-42), num("-42"));
        assert_eq!(Json::uint(7), num("7"));
    }

    #[test]
    fn hundredths_match_the_shortest_f64_text() {
        for h in -1000..=1000 {
            let f = h as f64 / 100.0;
            let Json::Num(ours) = Json::hundredths(h) else {
                panic!()
            };
            let want = serde_json::to_string(&f).unwrap();
            // serde_json writes -0.0 for h = 0 only if negative; h = 0 is +0.
            assert_eq!(&*ours, want, "{h}");
        }
    }

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// `d` with its last `e` digits after a decimal point (`123456`, 3: `123.456`).
    fn decimal(d: u64, e: usize) -> String {
        let s = d.to_string();
        if e < s.len() {
            format!("{}.{}", &s[..s.len() - e], &s[s.len() - e..])
        } else {
            format!("0.{}{s}", "0".repeat(e - s.len()))
        }
    }

    #[test]
    fn floats_fast_path_is_exact_and_the_rest_is_close() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50_000 {
            // The fast path: up to 15 significant digits, decimal exponent within ±22.
            let d = next() % 10u64.pow(1 + (next() % 15) as u32);
            let e = (next() % 23) as usize;
            for text in [decimal(d, e), format!("{d}e-{e}"), format!("-{d}E+{e}")] {
                let want: f64 = text.parse().unwrap();
                assert_eq!(
                    num(&text).as_f64().map(f64::to_bits),
                    Some(want.to_bits()),
                    "{text}"
                );
            }
            // Any finite f64 as JS / serde_json print it (shortest round trip).
            let f = f64::from_bits(next());
            if !f.is_finite() {
                continue;
            }
            let text = serde_json::to_string(&f).unwrap();
            let got = num(&text).as_f64().unwrap();
            if (1e-20..1e30).contains(&f.abs()) {
                assert!(ulps(got, f) <= 2, "{text}: {got}");
            } else if (1e-290..1e300).contains(&f.abs()) {
                let rel = ((got - f) / f).abs();
                assert!(rel < 1e-14, "{text}: {got} ({rel})");
            }
        }
        for (text, want) in [
            ("0.1", 0.1),
            ("19.99", 19.99),
            ("-42.5", -42.5),
            ("0.30000000000000004", 0.300_000_000_000_000_04),
            ("1764000000000.123", 1_764_000_000_000.123),
            ("1e21", 1e21),
            ("1E+3", 1e3),
            ("-0", -0.0),
            ("0.0", 0.0),
            ("0.05", 0.05),
            ("100000000000000000000.0", 1e20),
            ("1e-400", 0.0),
            ("123456789012345678901234567890", 1.234_567_890_123_456_8e29),
        ] {
            let got = num(text).as_f64().unwrap();
            assert!(ulps(got, want) <= 2, "{text}: {got} vs {want}");
        }
        assert!(num("1e400").as_f64().unwrap().is_infinite());
    }

    #[test]
    fn insert_keeps_position_and_later_keys_win() {
        let mut o = Obj::new();
        o.insert("b".into(), 1u32.into());
        o.insert("a".into(), 2u32.into());
        assert_eq!(o.insert("b".into(), 3u32.into()), Some(Json::uint(1)));
        let keys: Vec<&str> = o.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(o.get("b"), Some(&Json::uint(3)));
        o.insert_if_absent("a".into(), 9u32.into());
        assert_eq!(o.get("a"), Some(&Json::uint(2)));
        assert_eq!(o.remove("b"), Some(Json::uint(3)));
        assert_eq!(o.remove("b"), None);
        assert_eq!(o.len(), 1);
        o.extend([
            ("c".to_owned(), Json::Null),
            ("a".to_owned(), Json::Bool(true)),
        ]);
        assert_eq!(o.get("a"), Some(&Json::Bool(true)));
        assert!(o.contains_key("c"));
    }

    #[test]
    fn dedup_keys_is_a_sequence_of_inserts() {
        // Small and large objects, with and without repeats.
        for n in [0usize, 1, 2, 5, 16, 17, 40, 300] {
            for modulo in [1usize, 3, 7, 1000] {
                let entries: Vec<(String, Json)> = (0..n)
                    .map(|i| {
                        (
                            format!("k{}", (i * 7919) % modulo.max(1)),
                            Json::uint(i as u64),
                        )
                    })
                    .collect();
                let want: Obj = entries.iter().cloned().collect();
                let mut got = Obj::new();
                for (k, v) in entries {
                    got.push_unchecked(k, v);
                }
                got.dedup_keys();
                assert_eq!(got, want, "n={n} modulo={modulo}");
            }
        }
    }
}
