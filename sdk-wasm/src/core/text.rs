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
    fn cat_joins() {
        assert_eq!(cat(&[]), "");
        assert_eq!(cat(&["a", "", "bc", "é"]), "abcé");
    }
}
