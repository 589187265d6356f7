//! Decimal text → the nearest `f64`, correctly rounded, without core's `f64::from_str`.
//!
//! Why: core's parser is exact but carries Eisel-Lemire tables (≈ 10 KB) and a big-decimal slow
//! path; `serde_json`'s own exact parser (`float_roundtrip`, enabled by maidian-protocol) is
//! similar. This one is small: a fast path that is exact by construction (Clinger: a
//! significand below 2^53 times or divided by an exactly representable power of ten, one
//! rounding), and for everything else an approximation corrected by exact big-integer
//! comparisons with the midpoints between neighbouring doubles. Numbers from `JSON.stringify`
//! with at most 15 significant digits (prices, ratios, coordinates, counts) take the fast path;
//! 16–17-digit ones (`0.1 + 0.2`) and large exponents take the slow one, which costs a few
//! microseconds.

use std::cmp::Ordering;

/// 10^0 ..= 10^22, the powers of ten an f64 holds exactly (Clinger's fast path).
#[rustfmt::skip]
static POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// 10^(2^i), each the nearest f64: larger powers are products of these (a 309-entry table of
/// every power was 2.5 KB of the wasm's data).
static POW10_POW2: [f64; 9] = [1e1, 1e2, 1e4, 1e8, 1e16, 1e32, 1e64, 1e128, 1e256];

/// 10^n for n ≤ 511: exact up to 10^22, above that within a few ulps (one rounding per factor),
/// which `correct` absorbs.
fn pow10(n: u64) -> f64 {
    if let Some(&p) = POW10.get(n as usize) {
        return p;
    }
    let mut p = 1.0;
    for (i, f) in POW10_POW2.iter().enumerate() {
        if n >> i & 1 == 1 {
            p *= f;
        }
    }
    p
}

/// `int.frac × 10^exp` (decimal digit strings, `exp` saturated by the caller) as the nearest
/// non-negative f64 (ties to even); `None` when it rounds to infinity.
pub fn parse(int: &[u8], frac: &[u8], exp: i64) -> Option<f64> {
    // The significant digits D and the exponent e of D × 10^e.
    let all = int.iter().chain(frac).copied();
    let mut digits: Vec<u8> = all.skip_while(|&d| d == b'0').map(|d| d - b'0').collect();
    let mut e = exp - frac.len() as i64;
    while digits.last() == Some(&0) {
        digits.pop();
        e += 1;
    }
    if digits.is_empty() {
        return Some(0.0);
    }
    // Decimal magnitude: D × 10^e is in [10^(mag-1), 10^mag).
    let mag = digits.len() as i64 + e;
    if mag < -324 {
        return Some(0.0); // below half the smallest subnormal (4.9e-324)
    }
    if mag > 310 {
        return None;
    }
    // 800 digits decide the rounding of any f64 (767 are needed); a non-zero tail only
    // matters as "a little more", which a final 1 expresses.
    if digits.len() > 800 {
        let tail_nonzero = digits[800..].iter().any(|&d| d != 0);
        e += digits.len() as i64 - 801;
        digits.truncate(800);
        digits.push(u8::from(tail_nonzero));
    }
    if digits.len() <= 19 {
        let sig = digits.iter().fold(0u64, |a, &d| a * 10 + u64::from(d));
        if sig < 1 << 53 && (-22..=22).contains(&e) {
            let p = POW10[e.unsigned_abs() as usize];
            return Some(if e >= 0 {
                sig as f64 * p
            } else {
                sig as f64 / p
            });
        }
    }
    correct(&digits, e, approx(&digits, e))
}

/// Within a few ulps of D × 10^e: the leading 19 digits and a power of ten (exact up to 10^22,
/// the product of at most nine rounded factors beyond).
fn approx(digits: &[u8], e: i64) -> f64 {
    let n = digits.len().min(19);
    let sig = digits[..n].iter().fold(0u64, |a, &d| a * 10 + u64::from(d));
    let mut e = e + (digits.len() - n) as i64;
    let mut f = sig as f64;
    while e > 308 {
        f *= 1e308;
        e -= 308;
    }
    while e < -308 {
        f /= 1e308;
        e += 308;
    }
    let p = pow10(e.unsigned_abs());
    if e >= 0 { f * p } else { f / p }
}

/// `f` as `m × 2^k` (finite, non-negative).
fn decompose(f: f64) -> (u64, i64) {
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1 << 52) - 1);
    if exp == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, exp - 1075)
    }
}

/// The midpoint of `a` and the next double up, as `M × 2^k`; past `f64::MAX` the next "double"
/// is 2^1024.
fn upper_mid(a: f64) -> (u64, i64) {
    let (ma, ea) = decompose(a);
    let (mb, eb) = if a == f64::MAX {
        (1 << 52, 1024 - 52)
    } else {
        decompose(next_up(a))
    };
    let t = ea.min(eb);
    ((ma << (ea - t)) + (mb << (eb - t)), t - 1)
}

fn next_up(f: f64) -> f64 {
    f64::from_bits(f.to_bits() + 1)
}

fn next_down(f: f64) -> f64 {
    f64::from_bits(f.to_bits() - 1)
}

/// Moves the approximation `f` to the double nearest to D × 10^e.
fn correct(digits: &[u8], e: i64, f: f64) -> Option<f64> {
    let mut f = if f.is_infinite() { f64::MAX } else { f };
    let even = |f: f64| f.to_bits() & 1 == 0;
    // The approximation is a few ulps off at most; the bound only guards against a bug.
    for _ in 0..64 {
        let (m, k) = upper_mid(f);
        match compare(digits, e, m, k) {
            Ordering::Greater => {
                if f == f64::MAX {
                    return None;
                }
                f = next_up(f);
                continue;
            }
            Ordering::Equal => {
                if even(f) {
                    return Some(f);
                }
                return if f == f64::MAX {
                    None
                } else {
                    Some(next_up(f))
                };
            }
            Ordering::Less => {}
        }
        if f == 0.0 {
            return Some(f);
        }
        let below = next_down(f);
        let (m, k) = upper_mid(below);
        match compare(digits, e, m, k) {
            Ordering::Less => f = below,
            Ordering::Equal => return Some(if even(f) { f } else { below }),
            Ordering::Greater => return Some(f),
        }
    }
    Some(f)
}

/// D × 10^e compared with M × 2^k, exactly.
fn compare(digits: &[u8], e: i64, m: u64, k: i64) -> Ordering {
    let mut left = Big::from_digits(digits);
    let mut right = Big::from_u64(m);
    if e >= 0 {
        left.mul_pow10(e as u64);
    } else {
        right.mul_pow10(e.unsigned_abs());
    }
    if k >= 0 {
        right.shl(k as u64);
    } else {
        left.shl(k.unsigned_abs());
    }
    left.cmp(&right)
}

/// A non-negative big integer, 32-bit limbs, least significant first, no trailing zero limbs.
#[derive(PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Self {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn from_digits(digits: &[u8]) -> Self {
        let mut b = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let mut v = 0u32;
            let mut scale = 1u32;
            for &d in chunk {
                v = v * 10 + u32::from(d);
                scale *= 10;
            }
            b.mul_add(scale, v);
        }
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// self = self × m + a.
    fn mul_add(&mut self, m: u32, a: u32) {
        let mut carry = u64::from(a);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: u64) {
        while n >= 9 {
            self.mul_add(1_000_000_000, 0);
            n -= 9;
        }
        if n > 0 {
            self.mul_add(10u32.pow(n as u32), 0);
        }
    }

    fn shl(&mut self, n: u64) {
        if self.0.is_empty() {
            return;
        }
        let limbs = (n / 32) as usize;
        let bits = (n % 32) as u32;
        if bits > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let v = (*limb << bits) | carry;
                carry = *limb >> (32 - bits);
                *limb = v;
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses decimal text the way json_text hands it over.
    fn ours(text: &str) -> Option<f64> {
        let (mant, exp) = match text.find(['e', 'E']) {
            Some(i) => (&text[..i], text[i + 1..].parse::<i64>().unwrap()),
            None => (text, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        parse(int.as_bytes(), frac.as_bytes(), exp)
    }

    fn check(text: &str) {
        let exact: f64 = text.parse().unwrap();
        let got = ours(text);
        if exact.is_infinite() {
            assert_eq!(got, None, "{text}");
        } else {
            assert_eq!(
                got.map(f64::to_bits),
                Some(exact.to_bits()),
                "{text}: {got:?} vs {exact}"
            );
        }
    }

    #[test]
    fn random_doubles_round_trip_exactly() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..30_000 {
            let f = f64::from_bits(next() >> 1);
            if f.is_finite() {
                // Shortest round-trip text (what JSON.stringify and serde_json print).
                check(&format!("{f:e}"));
                check(&format!("{f}"));
            }
            // Random 1-25 digit significands with random exponents.
            let digits = next() % 10u64.pow(1 + (next() % 19) as u32);
            let more = next() % 1_000_000;
            let e = (next() % 700) as i64 - 350;
            check(&format!("{digits}e{e}"));
            check(&format!("{digits}{more:06}e{e}"));
            check(&format!("{digits}.{more:06}"));
        }
    }

    #[test]
    fn edge_cases() {
        for text in [
            "0",
            "0.0",
            "0e400",
            "1",
            "0.1",
            "0.2",
            "0.3",
            "0.30000000000000004",
            "19.99",
            "9007199254740993",
            "9007199254740992.5",
            "2.2250738585072014e-308",
            "2.2250738585072011e-308",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1e-400",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1e309",
            "123456789012345678901234567890",
            "1e23",
            "8.98846567431158e307",
            "1448997445238699",
            "7.038531e-26",
        ] {
            check(text);
        }
        // Long inputs: 1000 digits, and a tie broken only by a digit far away.
        let long = format!("1.{}", "3".repeat(1000));
        check(&long);
        let tie = format!("9007199254740993{}1", "0".repeat(900));
        check(&tie);
        let tie = format!("9007199254740993{}", "0".repeat(900));
        check(&tie);
    }
}
