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
//! (non-negative) or `i64` (negative) when it fits, anything else the nearest `f64` (correctly
//! rounded, as `serde_json` with its `float_roundtrip` feature, which maidian-protocol enables;
//! see [`super::dec2f64`]).

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
        let f = super::dec2f64::parse(int, frac, exp)?;
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

    /// A float literal parses to exactly core's (correctly rounded) `f64::from_str` value.
    fn exact(text: &str) {
        let want: f64 = text.parse().unwrap();
        let got = parse(text);
        if want.is_infinite() {
            assert_eq!(got, None, "{text}");
        } else {
            let got = got.and_then(|v| v.as_f64()).map(f64::to_bits);
            assert_eq!(got, Some(want.to_bits()), "{text}");
        }
    }

    #[test]
    fn numbers_agree_with_serde_json_and_floats_are_exact() {
        // Random f64s printed the way JS and serde_json print them (shortest round trip), with
        // random significands and exponents, and integers around the u64/i64 edges. Floats are
        // checked against core's exact parser (serde_json's own float parsing depends on its
        // `float_roundtrip` feature, which only the workspace's dev-dependencies enable).
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
                exact(&serde_json::to_string(&f).unwrap());
            }
            let digits = next() % 10u64.pow(1 + (next() % 19) as u32);
            let e = (next() % 80) as i64 - 40;
            exact(&format!("{digits}e{e}"));
            exact(&format!("-{digits}.{:03}", next() % 1000));
            same(&(next() as i64).to_string());
            same(&next().to_string());
        }
        for text in [
            "0.1",
            "19.99",
            "0.07",
            "1.005",
            "123456.789",
            "-42.5",
            "0.30000000000000004",
        ] {
            exact(text);
        }
    }
}
