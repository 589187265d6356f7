//! Parsing JSON text into a `serde_json::Value` without serde's deserializer.
//!
//! Why: `serde_json::from_str` drags serde's `Deserializer`/`Visitor` machinery and its error
//! reporting into the wasm, and through `serde::de::Unexpected::Float` in those error messages
//! also `impl Display for f64` (core's flt2dec: dragon4 + grisu, ≈ 17 KB of code). The SDK
//! parses only two kinds of JSON text: what the host's `JSON.stringify` produced (inputs at the
//! wasm boundary) and what the SDK itself persisted (its state). Both are plain, valid JSON, so
//! a small strict recursive-descent parser is all that is needed (docs/SDK.md has the sizes).
//!
//! It accepts exactly RFC 8259 JSON (what `serde_json` accepts): surrounding whitespace, no
//! trailing commas, no comments, `\u` escapes with surrogate pairs (a lone surrogate escape is
//! an error, as in `serde_json`), nesting at most [`MAX_DEPTH`] deep (`serde_json`'s recursion limit).
//! Objects keep the last value of a repeated key (as `serde_json` does).
//!
//! Numbers map to `serde_json::Number` as `serde_json` maps them: an integer literal is a `u64`
//! (non-negative) or `i64` (negative) when it fits, anything else an `f64` computed with
//! `serde_json`'s default algorithm (see [`float`]): exact for the usual property values
//! (prices, ratios, coordinates: ≤ 15 significant digits, |exponent| ≤ 22), otherwise within
//! an ulp or so, and always the same f64 `serde_json::from_str` gives (tested). core's exact
//! `f64::from_str` is avoided on purpose: its Eisel-Lemire tables alone are ≈ 20 KB of wasm.

use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays/objects accepted (the top-level value is depth 1).
pub const MAX_DEPTH: usize = 127;

/// The value of `text`, or `None` if it is not exactly one JSON value.
pub fn parse(text: &str) -> Option<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i.checked_add(lit.len())?;
        (self.s.get(self.i..end)? == lit).then(|| self.i = end)
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(Value::String),
            b't' => self.eat(b"true").map(|()| Value::Bool(true)),
            b'f' => self.eat(b"false").map(|()| Value::Bool(false)),
            b'n' => self.eat(b"null").map(|()| Value::Null),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // '{'
        let mut m = Map::new();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Value::Object(m));
        }
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            let k = self.string()?;
            self.ws();
            self.eat(b":")?;
            let v = self.value(depth)?;
            m.insert(k, v);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(Value::Object(m));
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // '['
        let mut a = Vec::new();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Value::Array(a));
        }
        loop {
            a.push(self.value(depth)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Value::Array(a));
                }
                _ => return None,
            }
        }
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Option<String> {
        self.i += 1; // '"'
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control character at once. The
            // input is a `&str`, so a run that stops at an ASCII byte is valid UTF-8.
            let start = self.i;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.i]).ok()?);
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\\' => {
                    self.i += 1;
                    let c = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.i += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return None,
                    };
                    self.i += 1;
                    out.push(c);
                }
                _ => return None, // a raw control character
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `u`), joining a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if !(0xD800..0xE000).contains(&hi) {
            return char::from_u32(hi);
        }
        if hi >= 0xDC00 {
            return None; // a lone low surrogate
        }
        self.eat(b"\\u")?;
        let lo = self.hex4()?;
        if !(0xDC00..0xE000).contains(&lo) {
            return None;
        }
        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let end = self.i.checked_add(4)?;
        let digits = self.s.get(self.i..end)?;
        let mut v = 0;
        for &d in digits {
            v = v * 16 + char::from(d).to_digit(16)?;
        }
        self.i = end;
        Some(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Option<Number> {
        let negative = self.peek()? == b'-';
        if negative {
            self.i += 1;
        }
        let int_start = self.i;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.s[int_start] == b'0') {
            return None; // no digits, or a leading zero
        }
        let int = &self.s[int_start..self.i];
        let mut frac: &[u8] = &[];
        if self.peek() == Some(b'.') {
            self.i += 1;
            let start = self.i;
            if self.digits() == 0 {
                return None;
            }
            frac = &self.s[start..self.i];
        }
        let mut exp: i64 = 0;
        let mut has_exp = false;
        if let Some(b'e' | b'E') = self.peek() {
            has_exp = true;
            self.i += 1;
            let neg_exp = match self.peek()? {
                b'-' => {
                    self.i += 1;
                    true
                }
                b'+' => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let start = self.i;
            if self.digits() == 0 {
                return None;
            }
            for &d in &self.s[start..self.i] {
                // Saturate: anything beyond ±10^6 is 0 or infinite anyway.
                exp = (exp * 10 + i64::from(d - b'0')).min(1_000_000);
            }
            if neg_exp {
                exp = -exp;
            }
        }
        if frac.is_empty() && !has_exp {
            if let Some(n) = integer(int, negative) {
                return Some(n);
            }
        }
        // JSON has no infinities; serde_json rejects numbers that overflow f64.
        let f = float(int, frac, exp)?;
        Number::from_f64(if negative { -f } else { f })
    }
}

/// An integer literal as `u64` / `i64` when it fits (`serde_json`'s mapping).
fn integer(digits: &[u8], negative: bool) -> Option<Number> {
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if !negative {
        return Some(Number::from(v));
    }
    if v == 0 {
        // serde_json keeps `-0` as the float -0.0.
        return None;
    }
    let n = 0i64.checked_sub_unsigned(v)?;
    Some(Number::from(n))
}

/// Powers of ten, each the nearest f64 (exact up to 1e22).
#[rustfmt::skip]
static POW10: [f64; 309] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31,
    1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46,
    1e47, 1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59, 1e60, 1e61,
    1e62, 1e63, 1e64, 1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71, 1e72, 1e73, 1e74, 1e75, 1e76,
    1e77, 1e78, 1e79, 1e80, 1e81, 1e82, 1e83, 1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91,
    1e92, 1e93, 1e94, 1e95, 1e96, 1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105,
    1e106, 1e107, 1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118,
    1e119, 1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131,
    1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143, 1e144,
    1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155, 1e156, 1e157,
    1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167, 1e168, 1e169, 1e170,
    1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179, 1e180, 1e181, 1e182, 1e183,
    1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191, 1e192, 1e193, 1e194, 1e195, 1e196,
    1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203, 1e204, 1e205, 1e206, 1e207, 1e208, 1e209,
    1e210, 1e211, 1e212, 1e213, 1e214, 1e215, 1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222,
    1e223, 1e224, 1e225, 1e226, 1e227, 1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235,
    1e236, 1e237, 1e238, 1e239, 1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248,
    1e249, 1e250, 1e251, 1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261,
    1e262, 1e263, 1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274,
    1e275, 1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287,
    1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299, 1e300,
    1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
];

/// `int.frac × 10^exp` as a non-negative f64, `None` if it overflows. The same algorithm as
/// `serde_json`'s default (not `float_roundtrip`) parser, so both give the same f64: as many
/// leading digits as fit a `u64` (further integer digits scale, further fraction digits are
/// dropped), then one multiplication or division by a power of ten.
fn float(int: &[u8], frac: &[u8], exp: i64) -> Option<f64> {
    let mut sig: u64 = 0;
    let mut scale: i64 = 0;
    let mut full = false;
    for &d in int {
        let d = u64::from(d - b'0');
        match sig.checked_mul(10).and_then(|x| x.checked_add(d)) {
            Some(x) if !full => sig = x,
            _ => {
                full = true;
                scale += 1;
            }
        }
    }
    for &d in frac {
        if full {
            break;
        }
        match sig
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(d - b'0')))
        {
            Some(x) => {
                sig = x;
                scale -= 1;
            }
            None => full = true,
        }
    }
    let mut e = exp + scale;
    let mut f = sig as f64;
    loop {
        match usize::try_from(e.unsigned_abs())
            .ok()
            .and_then(|i| POW10.get(i))
        {
            Some(&pow) => {
                if e >= 0 {
                    f *= pow;
                    if f.is_infinite() {
                        return None;
                    }
                } else {
                    f /= pow;
                }
                return Some(f);
            }
            None => {
                if f == 0.0 {
                    return Some(f);
                }
                if e >= 0 {
                    return None;
                }
                f /= 1e308;
                e += 308;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(text: &str) {
        let ours = parse(text);
        let theirs: Option<Value> = serde_json::from_str(text).ok();
        assert_eq!(ours, theirs, "{text:?}");
    }

    #[test]
    fn agrees_with_serde_json_on_valid_and_invalid_text() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-2,"g":1.5,"h":""}"#,
            " [ 1 , 2 ] ",
            "0",
            "-0",
            "-0.0",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1e3",
            "1E+3",
            "2.5e-3",
            "19.99",
            "0.1",
            "0.30000000000000004",
            "123456.789",
            "1e308",
            "1e309",
            "-1e309",
            "5e-324",
            "1e-400",
            r#""esc \" \\ \/ \b \f \n \r \t \u00e9 \u57cb \ud83d\ude80""#,
            r#""埋点 🚀""#,
            r#"{"a":1,"a":2}"#,
            "",
            " ",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{a:1}",
            "[1 2]",
            "tru",
            "nul",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\x\"",
            "\"raw \u{1} control\"",
            "\"unterminated",
            "[",
            "{",
            "{\"a\"",
            "{\"a\":}",
            "1 2",
            "NaN",
            "Infinity",
        ] {
            same(text);
        }
    }

    #[test]
    fn damaged_text_agrees_with_serde_json() {
        // Every one- and two-byte deletion, and every replacement by a JSON-significant byte,
        // of a sample covering each construct: both parsers accept or reject it alike.
        let sample = r#"{"a":[1,-2.5e3,true,false,null],"s":"x\"\u00e9\ud83d\ude80","o":{}}"#;
        let b = sample.as_bytes();
        let mut texts = Vec::new();
        for i in 0..b.len() {
            texts.push([&b[..i], &b[i + 1..]].concat());
            if i + 2 <= b.len() {
                texts.push([&b[..i], &b[i + 2..]].concat());
            }
            for r in b"{}[]\",:0-.eE +\\u" {
                let mut t = b.to_vec();
                t[i] = *r;
                texts.push(t);
            }
        }
        for t in texts {
            if let Ok(text) = std::str::from_utf8(&t) {
                same(text);
            }
        }
    }

    #[test]
    fn depth_limit() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(&ok).is_some());
        assert!(parse(&deep).is_none());
        same(&ok);
        same(&deep);
    }

    #[test]
    fn numbers_agree_with_serde_json() {
        // Random f64s printed the way JS and serde_json print them (shortest round trip), with
        // random significands and exponents, and integers around the u64/i64 edges.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let f = f64::from_bits(next());
            if f.is_finite() {
                same(&serde_json::to_string(&f).unwrap());
            }
            let digits = next() % 10u64.pow(1 + (next() % 19) as u32);
            let e = (next() % 80) as i64 - 40;
            same(&format!("{digits}e{e}"));
            same(&format!("-{digits}.{:03}", next() % 1000));
            same(&(next() as i64).to_string());
            same(&next().to_string());
        }
        for text in ["0.1", "19.99", "0.07", "1.005", "123456.789", "-42.5"] {
            let exact: f64 = text.parse().unwrap();
            assert_eq!(parse(text).and_then(|v| v.as_f64()), Some(exact), "{text}");
        }
    }

    #[test]
    fn long_floats_are_within_a_few_ulps() {
        for text in [
            "0.30000000000000004",
            "3.141592653589793",
            "2.718281828459045",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "123456789012345678901234567890",
            "0.000000000000000000000000000001234",
        ] {
            let ours = parse(text).and_then(|v| v.as_f64()).unwrap();
            let exact: f64 = text.parse().unwrap();
            let ulps = (ours.to_bits() as i64 - exact.to_bits() as i64).abs();
            assert!(ulps <= 2, "{text}: {ours} vs {exact} ({ulps} ulps)");
        }
    }
}
