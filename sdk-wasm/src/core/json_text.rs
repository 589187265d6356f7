//! Parsing JSON text into a [`Json`] without serde's deserializer.
//!
//! Why: `serde_json::from_str` drags serde's `Deserializer`/`Visitor` machinery and its error
//! reporting into the wasm, and builds `serde_json::Value`s (see `core::jv` for why the SDK has
//! its own value type). The SDK parses only two kinds of JSON text: what the host's
//! `JSON.stringify` produced (inputs at the wasm boundary) and what the SDK itself persisted
//! (its state). Both are plain, valid JSON, so a small strict recursive-descent parser is all
//! that is needed (docs/SDK.md has the sizes).
//!
//! It accepts exactly RFC 8259 JSON (what `serde_json` accepts): surrounding whitespace, no
//! trailing commas, no comments, `\u` escapes with surrogate pairs (a lone surrogate escape is
//! an error, as in `serde_json`), nesting at most [`MAX_DEPTH`] deep (`serde_json`'s recursion
//! limit), no number too large for an `f64` (`serde_json` rejects `1e309`). Objects keep the
//! last value of a repeated key, at the key's first position ([`Obj::insert`] semantics).
//!
//! Numbers are kept as their literal ([`Json::Num`]): validated here, never converted unless
//! the core asks for a value ([`Json::as_f64`] and friends).

use super::jv::{Json, Obj};

/// Deepest nesting of arrays/objects accepted (the top-level value is depth 1).
pub const MAX_DEPTH: usize = 127;

/// The value of `text`, or `None` if it is not exactly one JSON value.
pub fn parse(text: &str) -> Option<Json> {
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

    fn value(&mut self, depth: usize) -> Option<Json> {
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(Json::Str),
            b't' => self.eat(b"true").map(|()| Json::Bool(true)),
            b'f' => self.eat(b"false").map(|()| Json::Bool(false)),
            b'n' => self.eat(b"null").map(|()| Json::Null),
            b'-' | b'0'..=b'9' => self.number().map(Json::Num),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // '{'
        let mut m = Obj::new();
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Json::Obj(m));
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
            m.push_unchecked(k, v);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    m.dedup_keys();
                    return Some(Json::Obj(m));
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // '['
        let mut a = Vec::new();
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(Json::Arr(a));
        }
        loop {
            a.push(self.value(depth)?);
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(Json::Arr(a));
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

    /// A number literal, validated (RFC 8259 syntax, finite as an `f64`) and kept as text.
    fn number(&mut self) -> Option<Box<str>> {
        let start = self.i;
        if self.peek()? == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.s[int_start] == b'0') {
            return None; // no digits, or a leading zero
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        let mut exp: i64 = 0;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let negative = match self.peek()? {
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
            let digits_start = self.i;
            if self.digits() == 0 {
                return None;
            }
            for &d in &self.s[digits_start..self.i] {
                exp = (exp * 10 + i64::from(d - b'0')).min(1_000_000);
            }
            if negative {
                exp = -exp;
            }
        }
        // The input is a `&str` and the literal is ASCII.
        let literal: Box<str> = std::str::from_utf8(&self.s[start..self.i]).ok()?.into();
        // JSON has no infinities: like serde_json, refuse a literal that overflows an `f64`.
        // Only one of 300 or more decimal digits before the point can; `as_f64` decides those
        // (within its error bound of the f64 range's edge, 1.8e308).
        let order = int_len as i64 + exp;
        if order > 300 && !super::jv::literal_to_f64(literal.as_bytes()).is_finite() {
            return None;
        }
        Some(literal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::Value;

    /// Both parsers accept `text` or both refuse it, and when they accept it ours holds the
    /// same value: written back out (numbers verbatim) it reads as `serde_json`'s.
    fn same(text: &str) {
        let ours = parse(text);
        let theirs: Option<Value> = serde_json::from_str(text).ok();
        assert_eq!(ours.is_some(), theirs.is_some(), "{text:?}");
        if let Some(v) = ours {
            let mut out = String::new();
            super::super::json_write::value(&mut out, &v);
            let back: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(Some(back), theirs, "{text:?}");
        }
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
    fn numbers_are_kept_verbatim_and_agree_with_serde_json() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let f = f64::from_bits(next());
            let mut texts = vec![
                (next() as i64).to_string(),
                next().to_string(),
                format!("{}e{}", next() % 1_000_000, (next() % 700) as i64 - 350),
                format!("-{}.{:03}E+{}", next() % 1000, next() % 1000, next() % 400),
            ];
            if f.is_finite() {
                texts.push(serde_json::to_string(&f).unwrap());
            }
            for text in texts {
                same(&text);
                if let Some(n) = parse(&text) {
                    assert_eq!(n, Json::Num(text.as_str().into()));
                }
            }
        }
    }

    #[test]
    fn repeated_keys_keep_the_last_value_at_the_first_position() {
        let v = parse(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        let o = v.as_object().unwrap();
        let entries: Vec<(&str, &Json)> = o.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            entries,
            [("a", &Json::Num("3".into())), ("b", &Json::Num("2".into()))]
        );
        // A large object with every key repeated stays linear-ish and correct.
        let n = 5000;
        let body: Vec<String> = (0..2 * n).map(|i| format!("\"k{}\":{i}", i % n)).collect();
        let v = parse(&format!("{{{}}}", body.join(","))).unwrap();
        let o = v.as_object().unwrap();
        assert_eq!(o.len(), n);
        assert_eq!(o.get("k7"), Some(&Json::Num((n + 7).to_string().into())));
        assert_eq!(o.iter().next().map(|(k, _)| k.as_str()), Some("k0"));
    }
}
