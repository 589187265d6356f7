//! Decimal numbers and message text without `core::fmt`; splitting at ASCII separators.
//!
//! Every `format!` / `write!` / `to_string()` call site builds a `fmt::Arguments` and goes
//! through `fmt::write` and `Formatter::pad`: code at each site in the wasm, and ≈ 500
//! instructions for a short key where these helpers take a few dozen. Numbers here print
//! exactly as `Display` prints them (tested against it).

/// Appends `v` in decimal.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

/// Appends `v` in decimal, with a `-` if negative.
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// `v` in decimal.
pub fn dec(v: u64) -> String {
    let mut s = String::with_capacity(20);
    push_u64(&mut s, v);
    s
}

/// The parts one after the other.
pub fn cat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// `s` as `str::parse::<u64>` reads it (an optional `+`, then ASCII digits; `None` when there
/// are none, on any other byte and on overflow): one small loop for the queue keys and numeric
/// strings instead of core's generic integer parser per type (≈ 700 B of wasm for `u32` and
/// `u64`).
pub fn parse_u64(s: &str) -> Option<u64> {
    let digits = match s.as_bytes() {
        [b'+', rest @ ..] => rest,
        all => all,
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// `s` as `str::parse::<u32>` reads it (see [`parse_u64`]).
pub fn parse_u32(s: &str) -> Option<u32> {
    parse_u64(s).and_then(|n| u32::try_from(n).ok())
}

/// The position of the first `sep` (an ASCII byte) in `s`.
fn find_ascii(s: &str, sep: u8) -> Option<usize> {
    s.bytes().position(|b| b == sep)
}

/// `s.split_once(sep)` for an ASCII separator, without `core`'s `char` searcher (≈ 650 B of
/// wasm with its `Split` iterator; a byte scan is enough when the separator is ASCII, and
/// slicing next to an ASCII byte is always on a character boundary).
pub fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = find_ascii(s, sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s.split(sep)` for an ASCII separator (see [`split_once_ascii`]).
pub fn split_ascii(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match split_once_ascii(r, sep) {
            Some((part, more)) => {
                rest = Some(more);
                Some(part)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_display() {
        let mut samples = vec![0, 1, 9, 10, 99, 100, u64::MAX, u64::MAX / 10, 1 << 63];
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for shift in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x >> shift);
        }
        for v in samples {
            assert_eq!(dec(v), v.to_string());
            let mut s = String::from("k");
            push_u64(&mut s, v);
            assert_eq!(s, format!("k{v}"));
            for i in [v as i64, (v as i64).wrapping_neg()] {
                let mut s = String::new();
                push_i64(&mut s, i);
                assert_eq!(s, i.to_string());
            }
        }
        let mut s = String::new();
        push_i64(&mut s, i64::MIN);
        assert_eq!(s, i64::MIN.to_string());
    }

    #[test]
    fn ascii_splits_are_str_splits() {
        for s in [
            "",
            "&",
            "a",
            "a&b",
            "&a&&b&",
            "é&ü=1&=",
            "??x?",
            "a=b=c",
            "#",
            "日本&語",
        ] {
            for sep in [b'&', b'=', b'?', b'#'] {
                let c = char::from(sep);
                assert_eq!(split_once_ascii(s, sep), s.split_once(c), "{s:?} {c}");
                assert_eq!(
                    split_ascii(s, sep).collect::<Vec<_>>(),
                    s.split(c).collect::<Vec<_>>(),
                    "{s:?} {c}"
                );
            }
        }
    }

    #[test]
    fn integer_parsing_is_str_parse() {
        let mut cases: Vec<String> = [
            "",
            "+",
            "-",
            "-0",
            "+0",
            "0",
            "00",
            "1",
            "+12",
            "++1",
            " 1",
            "1 ",
            "1a",
            "١",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
            "000000000000000000000000000042",
            "99999999999999999999",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut x = 0x9E37_79B9_7F4A_7C15_u64;
        for shift in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push((x >> shift).to_string());
            cases.push(format!("+{}", x >> shift));
        }
        for s in &cases {
            assert_eq!(parse_u64(s), s.parse::<u64>().ok(), "{s:?}");
            assert_eq!(parse_u32(s), s.parse::<u32>().ok(), "{s:?}");
        }
    }

    #[test]
    fn cat_joins() {
        assert_eq!(cat(&[]), "");
        assert_eq!(cat(&["a", "", "bc", "é"]), "abcé");
    }
}
