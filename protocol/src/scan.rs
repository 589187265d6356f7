//! One forward byte scan over an event's text that does the work of three: it checks the JSON
//! syntax (the same grammar serde_json accepts), splits the top-level fields (key and value
//! spans of the input) and applies the [`crate::shape`] limits to every value — depth, string
//! and key lengths in decoded UTF-8 bytes, and the key count of `properties`/`traits`/`context`.
//!
//! It only answers what it can answer exactly as the serde path in [`crate::validate`] would:
//! any syntax error, a top-level key whose escapes serde refuses, or nesting deeper than it
//! tracks returns [`Scan::Fallback`], and the caller re-runs the serde path to get the same
//! reason and message. On valid JSON the results are those of the serde split followed by
//! [`crate::shape::check`] on each field (a property test in `validate/scan_tests.rs` holds the
//! two paths to the same answers).
//!
//! The body split (`crate::body`) runs the same event scan (`object`) over each item of a
//! batch while it finds the item's end, so a batch's bytes are read once; validation then
//! reuses the result.
//!
//! The walk is a recursive descent without recursion (a bit per open container) that reads
//! structure byte by byte and strings a word at a time ([`classify`]: SSE2 on x86_64). It is
//! tuned for compact JSON, which is what senders write: a key written `"name":` within sixteen
//! bytes is read with one classification, strings are dispatched first, separators are looked
//! for before whitespace, and a nested value is walked out of line (with its own registers).
//! Whitespace, escapes and longer keys take the general path, which the fast forms only
//! shorten: both answer the same (tested).

use std::borrow::Cow;

use serde::Deserialize;

use crate::reason::Reason;

pub(crate) mod classify;

use classify::HIGH;
pub(crate) use classify::{bytes_equal, stop};

/// A top-level field: its key (decoded; borrowed unless it has escapes) and its value's text.
pub(crate) type Field<'a> = (Cow<'a, str>, &'a str);

/// The bounds the scan applies (see [`crate::limits::Limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanLimits {
    /// Most top-level keys, and most keys of `properties`, `traits` and `context`.
    pub max_keys: usize,
    /// Deepest container level; the event object is level 1.
    pub max_depth: usize,
    /// Longest string value (decoded bytes).
    pub max_string_bytes: usize,
    /// Longest key below the top level (decoded bytes); empty keys are refused too.
    pub max_key_bytes: usize,
}

impl From<&crate::limits::Limits> for ScanLimits {
    fn from(l: &crate::limits::Limits) -> Self {
        Self {
            max_keys: l.max_properties,
            max_depth: l.max_depth,
            max_string_bytes: l.max_string_bytes,
            max_key_bytes: l.max_key_bytes,
        }
    }
}

/// An event the body split scanned (see `Body::scanned`): what [`Scan::Fields`] holds, and
/// the limits it was scanned with (validation reuses it only under the same limits).
#[derive(Debug, Clone)]
pub(crate) struct Scanned<'a> {
    pub limits: ScanLimits,
    pub fields: Vec<Field<'a>>,
    pub shape: Option<(usize, Reason)>,
    /// See [`Scan::Fields`].
    pub plain: u64,
}

/// An object member's key as [`Scanner::member_key`] read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key {
    /// Index of the opening `"`.
    pub start: usize,
    /// Index just past the closing `"`.
    pub end: usize,
    /// Whether the key has escapes (then its text is not its value).
    pub escaped: bool,
}

impl Key {
    /// The key's text between its quotes: its value when it has no escapes.
    #[inline(always)]
    pub fn unescaped<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start + 1..self.end - 1]
    }
}

/// The outcome of a scan.
#[derive(Debug)]
pub(crate) enum Scan<'a> {
    /// A valid object with unique keys, within the top-level key limit.
    Fields {
        /// Every top-level field, in order.
        fields: Vec<Field<'a>>,
        /// The first field (index) whose value breaks a shape limit, and the limit's reason —
        /// what [`crate::shape::check`] would answer for that field.
        shape: Option<(usize, Reason)>,
        /// Bit `i`: field `i`'s value is a string without escapes, so its text between the
        /// quotes is its value (fields from the 65th on are never marked).
        plain: u64,
    },
    /// More than `max_keys` top-level keys.
    TooManyKeys,
    /// A valid object with a repeated top-level key (decoded comparison).
    Duplicate,
    /// Anything else: let serde decide.
    Fallback,
}

/// Deepest absolute level the container bitset tracks; deeper text falls back.
const MAX_TRACKED_DEPTH: usize = 65;

/// A JSON string that borrows from the input unless it contains escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

/// A cursor over JSON text; [`crate::body`] uses it to split request bodies.
pub(crate) struct Scanner<'a> {
    /// The text.
    pub b: &'a [u8],
    /// The position of the next byte.
    pub i: usize,
}

impl Scanner<'_> {
    #[inline]
    pub(crate) fn peek(&self) -> u8 {
        // 0 is never valid where a structural byte is expected, so it doubles as "end".
        self.b.get(self.i).copied().unwrap_or(0)
    }

    /// After a member or element: skips whitespace, then either a `,` and the whitespace after
    /// it (`Some(true)`: another one follows) or `close` (`Some(false)`: the container ended).
    /// Anything else is not ours to judge (`None`: fall back to serde).
    #[inline]
    pub(crate) fn next_or_close(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek() {
            b',' => {
                self.i += 1;
                self.ws();
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// Scans the string whose opening quote is at `self.i`. Returns its decoded UTF-8 length
    /// (measured as `shape::string_len` does) and whether it has escapes; `None` if invalid.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Option<(usize, bool)> {
        let b = self.b;
        let start = self.i + 1;
        match classify::quote_or_stop(b, start) {
            Ok(end) => {
                self.i = end + 1;
                Some((end - start, false))
            }
            Err(i) => {
                let (end, len, escaped) = string_rest(b, start, i)?;
                self.i = end;
                Some((len, escaped))
            }
        }
    }

    /// The number grammar serde_json accepts.
    #[inline(always)]
    fn number(&mut self) -> Option<()> {
        self.i = number_end(self.b, self.i)?;
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Skips one JSON value (`self.i` at its first byte), checking only its syntax, the same
    /// grammar serde_json accepts. It may open at most `levels` (at most 64) containers;
    /// `None`: invalid or deeper.
    pub(crate) fn skip_value(&mut self, levels: usize) -> Option<()> {
        // Open containers; bit `depth - 1`: the container at that depth is an object.
        let mut depth = 0usize;
        let mut objects: u64 = 0;
        loop {
            // At a value.
            match self.peek() {
                c @ (b'{' | b'[') => {
                    self.i += 1;
                    depth += 1;
                    if depth > levels || depth > 64 {
                        return None;
                    }
                    let bit = 1u64 << (depth - 1);
                    self.ws();
                    if c == b'{' {
                        objects |= bit;
                        if self.peek() == b'}' {
                            self.i += 1;
                            depth -= 1;
                        } else {
                            self.skip_key()?;
                            continue;
                        }
                    } else {
                        objects &= !bit;
                        if self.peek() == b']' {
                            self.i += 1;
                            depth -= 1;
                        } else {
                            continue;
                        }
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // After a value: close containers until one continues with a comma.
            loop {
                if depth == 0 {
                    return Some(());
                }
                self.ws();
                let in_object = objects & (1u64 << (depth - 1)) != 0;
                match (self.peek(), in_object) {
                    (b',', true) => {
                        self.i += 1;
                        self.ws();
                        self.skip_key()?;
                        break;
                    }
                    (b',', false) => {
                        self.i += 1;
                        self.ws();
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.i += 1;
                        depth -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// An object member's key, its colon and the whitespace up to the value (`self.i` at the
    /// key's `"`). Every object walk reads its keys through this.
    #[inline(always)]
    pub(crate) fn member_key(&mut self) -> Option<Key> {
        if let Some((_, next)) = classify::compact_key(self.b, self.i) {
            let start = self.i;
            self.i = next;
            self.ws();
            return Some(Key {
                start,
                end: next - 1,
                escaped: false,
            });
        }
        if self.peek() != b'"' {
            return None;
        }
        let start = self.i;
        let (_, escaped) = self.string()?;
        let end = self.i;
        self.ws();
        if self.peek() != b':' {
            return None;
        }
        self.i += 1;
        self.ws();
        Some(Key {
            start,
            end,
            escaped,
        })
    }

    /// A key, its colon and the whitespace up to the value.
    #[inline(always)]
    fn skip_key(&mut self) -> Option<()> {
        self.member_key().map(drop)
    }

    /// Skips whitespace and returns the byte after it (0 at the end). Compact JSON has none,
    /// so the first look usually answers.
    #[inline(always)]
    fn peek_ws(&mut self) -> u8 {
        let c = self.peek();
        if c > b' ' {
            return c;
        }
        self.ws();
        self.peek()
    }

    /// Scans one top-level field's value (`self.i` at its first byte) and returns the first
    /// shape violation in it, in text order. `max_own_keys` bounds the value's own keys when it
    /// is an object. `None`: invalid or too deep to track.
    ///
    /// Whitespace before a value is skipped where the value is dispatched (its own arm), and a
    /// separator or closing byte is looked for before any whitespace is: compact JSON pays for
    /// neither.
    fn field_value(&mut self, l: &ScanLimits, max_own_keys: usize) -> Option<Option<Reason>> {
        let mut first: Option<Reason> = None;
        // Absolute level of the innermost open container; the event object is 1.
        let mut depth = 1usize;
        // Bit `level - 2`: the container at that level is an object.
        let mut objects: u64 = 0;
        let mut own_keys = 0usize;
        loop {
            // At a value, or whitespace before it. Strings first: most values are.
            let c = self.peek();
            if c == b'"' {
                let (len, _) = self.string()?;
                if len > l.max_string_bytes {
                    first = flag(first, Reason::StringTooLong);
                }
            } else {
                match c {
                    c @ (b'{' | b'[') => {
                        self.i += 1;
                        depth += 1;
                        if depth > MAX_TRACKED_DEPTH {
                            return None;
                        }
                        if depth > l.max_depth {
                            first = flag(first, Reason::TooDeep);
                        }
                        let bit = 1u64 << (depth - 2);
                        let next = self.peek_ws();
                        if c == b'{' {
                            objects |= bit;
                            if next == b'}' {
                                self.i += 1;
                                depth -= 1;
                            } else if !self.key(
                                l,
                                depth,
                                max_own_keys,
                                &mut own_keys,
                                &mut first,
                            )? {
                                continue;
                            }
                        } else {
                            objects &= !bit;
                            if next == b']' {
                                self.i += 1;
                                depth -= 1;
                            } else {
                                continue;
                            }
                        }
                    }
                    b't' => self.literal(b"true")?,
                    b'f' => self.literal(b"false")?,
                    b'n' => self.literal(b"null")?,
                    b' ' | b'\n' | b'\t' | b'\r' => {
                        self.ws();
                        continue;
                    }
                    _ => self.number()?,
                }
            }
            // After a value: close containers until one continues with a comma.
            loop {
                if depth == 1 {
                    return Some(first);
                }
                let in_object = (objects >> (depth - 2)) & 1 != 0;
                match (self.peek_ws(), in_object) {
                    (b',', true) => {
                        self.i += 1;
                        if !self.key(l, depth, max_own_keys, &mut own_keys, &mut first)? {
                            break;
                        }
                    }
                    (b',', false) => {
                        self.i += 1;
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.i += 1;
                        depth -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A key inside a field's value (whitespace before it allowed), and its colon; the
    /// whitespace after the colon is left to the value's dispatch. `Some(true)`: the value, a
    /// string written compactly right after the colon, was read along (and checked).
    #[inline(always)]
    fn key(
        &mut self,
        l: &ScanLimits,
        depth: usize,
        max_own_keys: usize,
        own_keys: &mut usize,
        first: &mut Option<Reason>,
    ) -> Option<bool> {
        let (len, value) = match classify::compact_member(self.b, self.i) {
            Some((len, value, next)) => {
                self.i = next;
                (len, value)
            }
            None => (self.key_general()?, None),
        };
        // Empty or longer than the limit (0 wraps around).
        if len.wrapping_sub(1) >= l.max_key_bytes {
            *first = flag(*first, Reason::InvalidKey);
        }
        if depth == 2 {
            *own_keys += 1;
            if *own_keys > max_own_keys {
                *first = flag(*first, Reason::TooManyProperties);
            }
        }
        match value {
            Some(value) => {
                if value > l.max_string_bytes {
                    *first = flag(*first, Reason::StringTooLong);
                }
                Some(true)
            }
            None => Some(false),
        }
    }

    /// [`Scanner::key`] without a compact member: its length.
    #[inline(always)]
    fn key_general(&mut self) -> Option<usize> {
        Some(match classify::compact_key(self.b, self.i) {
            Some((len, next)) => {
                self.i = next;
                len
            }
            None => {
                if self.peek_ws() != b'"' {
                    return None;
                }
                let (len, _) = self.string()?;
                if self.peek_ws() != b':' {
                    return None;
                }
                self.i += 1;
                len
            }
        })
    }
}

/// [`Scanner::field_value`] at `i` in `b`: the index past the value and its first violation.
/// Out of line, with its own registers: inlined into [`object`], its state spilled.
#[inline(never)]
fn value(
    b: &[u8],
    i: usize,
    l: &ScanLimits,
    max_own_keys: usize,
) -> Option<(usize, Option<Reason>)> {
    let mut s = Scanner { b, i };
    let violation = s.field_value(l, max_own_keys)?;
    Some((s.i, violation))
}

/// The rest of [`Scanner::string`] from the first stop byte `i` that is not the closing
/// quote: escapes (rare), or an error. Returns the index past the closing quote, the decoded
/// length and whether there were escapes. A free function of the bytes, so that the scanner
/// a caller holds in registers never has to be written to memory for this call.
#[cold]
#[inline(never)]
fn string_rest(b: &[u8], start: usize, mut i: usize) -> Option<(usize, usize, bool)> {
    // Bytes of JSON text that decode to fewer bytes (escapes).
    let mut saved = 0usize;
    let mut escaped = false;
    loop {
        i = stop(b, i);
        match b.get(i) {
            Some(b'"') => {
                return Some((i + 1, i - start - saved, escaped));
            }
            Some(b'\\') => {
                escaped = true;
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                        saved += 1;
                        i += 2;
                    }
                    Some(b'u') => {
                        let cp = hex4(b, i + 2)?;
                        if (0xD800..0xDC00).contains(&cp)
                            && b.get(i + 6) == Some(&b'\\')
                            && b.get(i + 7) == Some(&b'u')
                            && hex4(b, i + 8).is_some_and(|lo| (0xDC00..0xE000).contains(&lo))
                        {
                            saved += 12 - 4;
                            i += 12;
                        } else {
                            // A lone surrogate counts as U+FFFD, as in `shape`.
                            saved += 6 - match cp {
                                0..=0x7F => 1,
                                0x80..=0x7FF => 2,
                                _ => 3,
                            };
                            i += 6;
                        }
                    }
                    _ => return None,
                }
            }
            // A control character, or the end of the text.
            _ => return None,
        }
    }
}

/// The end of the number at `i`, in the grammar serde_json accepts (a free function of the
/// bytes, like [`string_rest`]).
#[inline(never)]
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let digits = |mut i: usize| {
        while let Some(b'0'..=b'9') = b.get(i) {
            i += 1;
        }
        i
    };
    if at(i) == b'-' {
        i += 1;
    }
    match at(i) {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(i),
        _ => return None,
    }
    if at(i) == b'.' {
        let end = digits(i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let b'e' | b'E' = at(i) {
        i += 1;
        if let b'+' | b'-' = at(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// Whether some byte of `b` matches: `word` flags matches in eight bytes at a time (the
/// [`bytes_equal`] / [`bytes_below`] tests, or-ed), `byte` tests the tail.
#[inline(always)]
pub(crate) fn any_byte(b: &[u8], word: impl Fn(u64) -> u64, byte: impl Fn(u8) -> bool) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut hits = 0u64;
    for c in &mut chunks {
        hits |= word(u64::from_le_bytes([
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
        ]));
    }
    hits & HIGH != 0 || chunks.remainder().iter().any(|&c| byte(c))
}

/// Whether `b` holds a `"` or a `\\`: eight bytes at a time.
#[inline]
pub(crate) fn has_quote_or_backslash(b: &[u8]) -> bool {
    any_byte(
        b,
        |w| bytes_equal(w, b'"') | bytes_equal(w, b'\\'),
        |c| matches!(c, b'"' | b'\\'),
    )
}

/// Notes a shape violation unless an earlier one is noted. Cold and out of line: violations
/// are rare, so the checks that call it stay one predicted branch each.
#[cold]
#[inline(never)]
fn flag(first: Option<Reason>, r: Reason) -> Option<Reason> {
    first.or(Some(r))
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let d = b.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in d {
        let x = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        v = v * 16 + u32::from(x);
    }
    Some(v)
}

/// Scans the text of one event (see the module documentation).
pub(crate) fn scan_event<'a>(json: &'a str, l: &ScanLimits) -> Scan<'a> {
    match scan(json, l) {
        Some(s) => s,
        None => Scan::Fallback,
    }
}

fn scan<'a>(json: &'a str, l: &ScanLimits) -> Option<Scan<'a>> {
    let mut s = Scanner {
        b: json.as_bytes(),
        i: 0,
    };
    s.ws();
    let scan = object(&mut s, json, l)?;
    if matches!(scan, Scan::TooManyKeys) {
        // Answered without reading the rest (the scanner stopped inside the object).
        return Some(scan);
    }
    s.ws();
    if s.i != json.len() {
        return None;
    }
    Some(scan)
}

/// Scans the event object at `s.i` (its `{`) up to and including its `}`, in `json`, the text
/// `s` reads (one event, or a whole body when the body split scans its items). `None` where
/// [`scan_event`] would answer [`Scan::Fallback`]; on `TooManyKeys` the scanner stops inside
/// the object.
pub(crate) fn object<'a>(s: &mut Scanner<'a>, json: &'a str, l: &ScanLimits) -> Option<Scan<'a>> {
    // A copy the compiler can keep in registers (nothing it calls takes its address).
    let mut local = Scanner { b: s.b, i: s.i };
    let scan = object_at(&mut local, json, l);
    s.i = local.i;
    scan
}

#[inline(always)]
fn object_at<'a>(s: &mut Scanner<'a>, json: &'a str, l: &ScanLimits) -> Option<Scan<'a>> {
    if s.peek() != b'{' {
        return None;
    }
    s.i += 1;
    s.ws();
    let mut fields: Vec<Field<'a>> = Vec::with_capacity(12);
    let mut shape = None;
    let mut plain = 0u64;
    if s.peek() == b'}' {
        s.i += 1;
    } else {
        loop {
            let k = s.member_key()?;
            let key = if k.escaped {
                // Rare: let serde decode it, so refusals (lone surrogates) match exactly.
                serde_json::from_str::<Str<'a>>(&json[k.start..k.end])
                    .ok()?
                    .0
            } else {
                Cow::Borrowed(k.unescaped(json))
            };
            let value_start = s.i;
            let object_field = matches!(key.as_ref(), "properties" | "traits" | "context");
            let own = if object_field { l.max_keys } else { usize::MAX };
            // A string value is answered here (what `value` does with it), noting whether it
            // has escapes. Native builds only: the SDK's debug-validate wasm keeps its size
            // (`plain` stays 0 there).
            let native = cfg!(not(target_arch = "wasm32"));
            let (violation, plain_string) = if native && s.peek() == b'"' {
                let (len, escaped) = s.string()?;
                let long = len > l.max_string_bytes;
                (long.then_some(Reason::StringTooLong), !escaped)
            } else {
                let (end, violation) = value(s.b, s.i, l, own)?;
                s.i = end;
                (violation, false)
            };
            if shape.is_none() {
                shape = violation.map(|r| (fields.len(), r));
            }
            if fields.len() >= l.max_keys {
                return Some(Scan::TooManyKeys);
            }
            if plain_string && fields.len() < 64 {
                plain |= 1 << fields.len();
            }
            fields.push((key, &json[value_start..s.i]));
            if !s.next_or_close(b'}')? {
                break;
            }
        }
    }
    for (n, (k, _)) in fields.iter().enumerate().skip(1) {
        if fields[..n].iter().any(|(p, _)| p == k) {
            return Some(Scan::Duplicate);
        }
    }
    Some(Scan::Fields {
        fields,
        shape,
        plain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_grammar_is_serde_jsons() {
        // Every text of up to five bytes over the number alphabet: the scan takes the whole
        // text exactly when serde_json reads it as one number.
        let alphabet = b"-0159.eE+";
        let mut text = Vec::new();
        for len in 1..=5u32 {
            for mut n in 0..alphabet.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                let whole = number_end(&text, 0) == Some(text.len());
                let serde = serde_json::from_slice::<serde::de::IgnoredAny>(&text).is_ok();
                assert_eq!(whole, serde, "{}", String::from_utf8_lossy(&text));
            }
        }
    }

    #[test]
    fn plain_marks_exactly_the_strings_without_escapes() {
        let l = ScanLimits::from(&crate::limits::Limits::default());
        let event = r#"{"a":"x","b":"y\"z","c":1,"d":{"e":"f"},"f":"","g":"\u0041","h":null,"i":["j"],"k":"é"}"#;
        let Scan::Fields { fields, plain, .. } = scan_event(event, &l) else {
            panic!("not scanned");
        };
        let want: Vec<bool> = fields
            .iter()
            .map(|(_, v)| v.starts_with('"') && !v.contains('\\'))
            .collect();
        assert_eq!(
            want,
            [true, false, false, false, true, false, false, false, true]
        );
        let got: Vec<bool> = (0..fields.len()).map(|i| plain >> i & 1 == 1).collect();
        assert_eq!(got, want);
        // Beyond 64 fields nothing is marked (and nothing overflows).
        let many: Vec<String> = (0..70).map(|i| format!(r#""k{i}":"v""#)).collect();
        let many = format!("{{{}}}", many.join(","));
        let wide = ScanLimits { max_keys: 100, ..l };
        let Scan::Fields { fields, plain, .. } = scan_event(&many, &wide) else {
            panic!("not scanned");
        };
        assert_eq!((fields.len(), plain), (70, u64::MAX));
    }

    #[test]
    fn quote_or_backslash_search_is_exact() {
        let fillers = [b'a', 0x00, 0x1f, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xdc, 0xff];
        for len in 0..40 {
            for filler in fillers {
                let mut b = vec![filler; len];
                assert!(!has_quote_or_backslash(&b), "{b:?}");
                for at in 0..len {
                    for hit in [b'"', b'\\'] {
                        b[at] = hit;
                        assert!(has_quote_or_backslash(&b), "{b:?}");
                        b[at] = filler;
                    }
                }
            }
        }
    }
}
