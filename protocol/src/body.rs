//! Request bodies: the Segment batch object, a plain JSON array, and NDJSON, split into the
//! text of each event without parsing the events themselves.
//!
//! A body that is not one of these forms is refused whole ([`RequestError::MalformedBody`]).
//! In NDJSON a line that does not parse is kept as an [`Item::Unparseable`] so only that event
//! is rejected (with `invalid_json`) and its neighbours are still stored.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::limits::Limits;
use crate::reason::RequestError;
use crate::scan::{self, Scan, ScanLimits, Scanned, Scanner};
use crate::time::{UnixMillis, parse_rfc3339};

/// The form the body had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `{"batch": [...], "sentAt": "..."}`.
    Batch,
    /// `[{...}, {...}]`.
    Array,
    /// One JSON object per line.
    Ndjson,
    /// A single message object (the `/v1/track`-style endpoints, or a one-line NDJSON body).
    Single,
}

/// One event's text within the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// The JSON text of one value (not yet known to be a valid event).
    Json(&'a str),
    /// An NDJSON line that is not JSON (or not UTF-8); the raw line is kept for the
    /// rejected-events stream.
    Unparseable(&'a [u8]),
}

/// A body split into events.
#[derive(Debug, Clone)]
pub struct Body<'a> {
    /// Which form it had.
    pub format: BodyFormat,
    /// The envelope's `sentAt`, parsed.
    pub sent_at: Option<UnixMillis>,
    /// The events, in order; the index of an item is its `index` in the response.
    pub items: Vec<Item<'a>>,
    /// The byte-scan split's event scans of the items (empty, or one per item: `None` for an
    /// item it did not scan as an event), so that [`crate::validate_items`] need not read
    /// them again. A cache: bodies compare equal without it.
    pub(crate) scanned: Vec<Option<Scanned<'a>>>,
}

impl<'a> Body<'a> {
    fn new(format: BodyFormat, sent_at: Option<UnixMillis>, items: Vec<Item<'a>>) -> Self {
        Self {
            format,
            sent_at,
            items,
            scanned: Vec::new(),
        }
    }
}

impl PartialEq for Body<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.format, self.sent_at, &self.items) == (other.format, other.sent_at, &other.items)
    }
}

impl Eq for Body<'_> {}

/// What the transport says about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hint {
    /// Detect the form from the bytes.
    #[default]
    Detect,
    /// `Content-Type: application/x-ndjson` (or `application/jsonl`): NDJSON even when the
    /// body is a single line.
    Ndjson,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    batch: Option<Vec<&'a RawValue>>,
    #[serde(borrow, rename = "sentAt")]
    sent_at: Option<Cow<'a, str>>,
}

fn malformed() -> RequestError {
    RequestError::MalformedBody
}

/// Splits `body` (already content-decoded) into events, enforcing `max_events_per_batch`.
///
/// A batch object, an array or a single message is first split by one byte scan
/// (`split_scanned`); anything that scan does not answer exactly goes through serde_json.
pub fn split_body<'a>(
    body: &'a [u8],
    hint: Hint,
    limits: &Limits,
) -> Result<Body<'a>, RequestError> {
    split(body, hint, limits, true)
}

/// [`split_body`] without the scan: the serde_json path, the reference the scan is held to.
#[cfg(test)]
pub(crate) fn split_body_serde<'a>(
    body: &'a [u8],
    hint: Hint,
    limits: &Limits,
) -> Result<Body<'a>, RequestError> {
    split(body, hint, limits, false)
}

fn split<'a>(
    body: &'a [u8],
    hint: Hint,
    limits: &Limits,
    scan: bool,
) -> Result<Body<'a>, RequestError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(RequestError::EmptyBatch);
    };
    let parsed = if hint == Hint::Ndjson {
        split_ndjson(body, limits)?
    } else if body[start] == b'[' {
        let text = utf8(body).ok_or_else(malformed)?;
        if let Some(parsed) = scan.then(|| split_scanned(text, start, limits)).flatten() {
            parsed?
        } else {
            let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|_| malformed())?;
            check_count(items.len(), limits)?;
            Body::new(
                BodyFormat::Array,
                None,
                items.into_iter().map(|r| Item::Json(r.get())).collect(),
            )
        }
    } else if body[start] == b'{' {
        // One pass decides: a whole-body object is an envelope (or a single message); an
        // object followed by more text is the first line of NDJSON.
        match utf8(body) {
            Some(text) => match scan.then(|| split_scanned(text, start, limits)).flatten() {
                Some(parsed) => parsed?,
                None => split_object_serde(body, text, limits)?,
            },
            None => split_ndjson(body, limits)?,
        }
    } else {
        return Err(malformed());
    };
    if parsed.items.is_empty() {
        return Err(RequestError::EmptyBatch);
    }
    Ok(parsed)
}

/// The body as text if it is UTF-8: checked by `simdutf8` (feature `fast-utf8`), the same
/// answer as `std::str::from_utf8` at several bytes per instruction.
#[cfg(feature = "fast-utf8")]
fn utf8(body: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(body).ok()
}

/// The body as text if it is UTF-8.
#[cfg(not(feature = "fast-utf8"))]
fn utf8(body: &[u8]) -> Option<&str> {
    std::str::from_utf8(body).ok()
}

fn split_object_serde<'a>(
    body: &'a [u8],
    text: &'a str,
    limits: &Limits,
) -> Result<Body<'a>, RequestError> {
    let mut de = serde_json::Deserializer::from_str(text);
    match Envelope::deserialize(&mut de) {
        Ok(env) if de.end().is_ok() => {
            let batch = env
                .batch
                .map(|items| items.into_iter().map(|r| Item::Json(r.get())).collect());
            envelope(batch, env.sent_at, text, limits)
        }
        Ok(_) => split_ndjson(body, limits),
        Err(e) if e.classify() == serde_json::error::Category::Data => Err(malformed()),
        Err(_) => split_ndjson(body, limits),
    }
}

/// Most containers the scan opens before leaving the text to serde_json (whose recursion
/// limit is 128), so that the two can never disagree on deep nesting; at most 64 + 2.
const SCAN_LEVELS: usize = 64;

/// Splits a batch object, an array or a single message (`text[start]` is its `{` or `[`) in
/// one pass over the bytes, checking the JSON syntax as serde_json does. Answers only what it
/// can answer exactly as the serde_json path would — any syntax error, trailing text (NDJSON),
/// deep nesting, a top-level key with escapes, a repeated `batch`/`sentAt`, a `batch` that is
/// not an array or `null`, a `sentAt` that is not a plain string or `null` — gives `None`, and
/// the caller takes the serde_json path.
fn split_scanned<'a>(
    text: &'a str,
    start: usize,
    limits: &Limits,
) -> Option<Result<Body<'a>, RequestError>> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    let event_limits = ScanLimits::from(limits);
    // `start` was found by ASCII whitespace, which has one byte more than JSON's (form feed).
    s.ws();
    if s.i != start {
        return None;
    }
    s.i += 1;
    s.ws();
    if text.as_bytes()[start] == b'[' {
        let (items, scanned) = scan_items(&mut s, text, &event_limits)?;
        s.ws();
        if s.i != text.len() {
            return None;
        }
        return Some(check_count(items.len(), limits).map(|()| Body {
            scanned,
            ..Body::new(BodyFormat::Array, None, items)
        }));
    }
    let mut batch: Option<Option<ScannedItems<'a>>> = None;
    let mut sent_at: Option<Option<&'a str>> = None;
    if s.peek() == b'}' {
        s.i += 1;
    } else {
        loop {
            let k = s.member_key()?;
            if k.escaped {
                return None;
            }
            match k.unescaped(text) {
                "batch" if batch.is_none() => match s.peek() {
                    b'[' => {
                        s.i += 1;
                        s.ws();
                        batch = Some(Some(scan_items(&mut s, text, &event_limits)?));
                    }
                    b'n' => {
                        s.skip_value(0)?;
                        batch = Some(None);
                    }
                    _ => return None,
                },
                "sentAt" if sent_at.is_none() => match s.peek() {
                    b'"' => {
                        let value_start = s.i;
                        let (_, escaped) = s.string()?;
                        if escaped {
                            return None;
                        }
                        sent_at = Some(Some(&text[value_start + 1..s.i - 1]));
                    }
                    b'n' => {
                        s.skip_value(0)?;
                        sent_at = Some(None);
                    }
                    _ => return None,
                },
                "batch" | "sentAt" => return None,
                _ => s.skip_value(SCAN_LEVELS - 1)?,
            }
            if !s.next_or_close(b'}')? {
                break;
            }
        }
    }
    let end = s.i;
    s.ws();
    if s.i != text.len() {
        return None;
    }
    let sent_at = sent_at.flatten().map(Cow::Borrowed);
    match batch.flatten() {
        Some((items, scanned)) => {
            Some(envelope(Some(items), sent_at, text, limits).map(|body| Body { scanned, ..body }))
        }
        None => Some(Ok(Body::new(
            BodyFormat::Single,
            None,
            vec![Item::Json(&text[start..end])],
        ))),
    }
}

/// An array's items and their event scans (see [`Body::scanned`]).
type ScannedItems<'a> = (Vec<Item<'a>>, Vec<Option<Scanned<'a>>>);

/// The items of an array whose `[` and following whitespace `s` has passed, up to and
/// including its `]`. Every item sits two levels deep in the body (batch object or array).
/// An object item is scanned as an event on the way ([`scan::object`]); one that scan does not
/// answer with its fields (a syntax error, too many keys, a repeated key) is skipped as before
/// and left to [`crate::validate_items`].
fn scan_items<'a>(
    s: &mut Scanner<'a>,
    text: &'a str,
    event_limits: &ScanLimits,
) -> Option<ScannedItems<'a>> {
    // Room for the items of a typical batch up front (an event is rarely under 256 bytes), so
    // the vectors seldom regrow.
    let guess = ((s.b.len() - s.i) / 256).clamp(1, 1024);
    let mut items = Vec::with_capacity(guess);
    let mut scanned = Vec::with_capacity(guess);
    if s.peek() == b']' {
        s.i += 1;
        return Some((items, scanned));
    }
    loop {
        let item_start = s.i;
        let event = match scan::object(s, text, event_limits) {
            Some(Scan::Fields {
                fields,
                shape,
                plain,
            }) => Some(Scanned {
                limits: *event_limits,
                fields,
                shape,
                plain,
            }),
            _ => {
                s.i = item_start;
                s.skip_value(SCAN_LEVELS - 2)?;
                None
            }
        };
        items.push(Item::Json(&text[item_start..s.i]));
        scanned.push(event);
        if !s.next_or_close(b']')? {
            return Some((items, scanned));
        }
    }
}

fn envelope<'a>(
    batch: Option<Vec<Item<'a>>>,
    sent_at: Option<Cow<'a, str>>,
    text: &'a str,
    limits: &Limits,
) -> Result<Body<'a>, RequestError> {
    Ok(match batch {
        Some(items) => {
            check_count(items.len(), limits)?;
            let sent_at = match sent_at {
                Some(s) => Some(parse_rfc3339(&s).ok_or(RequestError::InvalidSentAt)?),
                None => None,
            };
            Body::new(BodyFormat::Batch, sent_at, items)
        }
        None => Body::new(
            BodyFormat::Single,
            None,
            vec![Item::Json(text.trim_start_matches('\u{feff}').trim())],
        ),
    })
}

fn check_count(n: usize, limits: &Limits) -> Result<(), RequestError> {
    if n > limits.max_events_per_batch {
        return Err(RequestError::TooManyEvents);
    }
    Ok(())
}

fn split_ndjson<'a>(body: &'a [u8], limits: &Limits) -> Result<Body<'a>, RequestError> {
    let mut items = Vec::new();
    for line in body.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if items.len() == limits.max_events_per_batch {
            return Err(RequestError::TooManyEvents);
        }
        let item = match std::str::from_utf8(line) {
            Ok(text) if serde_json::from_str::<&RawValue>(text).is_ok() => Item::Json(text.trim()),
            _ => Item::Unparseable(line),
        };
        items.push(item);
    }
    // A body of nothing but garbage lines is not NDJSON at all.
    if !items.is_empty() && items.iter().all(|i| matches!(i, Item::Unparseable(_))) {
        return Err(malformed());
    }
    Ok(Body::new(BodyFormat::Ndjson, None, items))
}

#[cfg(test)]
mod scan_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_utf8_check_is_std() {
        // Every one- and two-byte sequence, and each one inside ASCII runs of every length up
        // to 70 (across the SIMD block sizes), valid or not.
        let mut text = Vec::new();
        for a in 0..=255u8 {
            for b in [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc2, 0xe2, 0xf0, 0xff] {
                for pad in 0..70 {
                    text.clear();
                    text.extend(std::iter::repeat_n(b'a', pad));
                    text.extend([a, b]);
                    text.extend(std::iter::repeat_n(b'z', 70 - pad));
                    assert_eq!(utf8(&text), std::str::from_utf8(&text).ok(), "{text:?}");
                }
            }
        }
        for s in ["é", "中文", "\u{10ffff}", "😀"] {
            let long = s.repeat(100);
            assert_eq!(utf8(long.as_bytes()), Some(long.as_str()));
        }
    }

    fn split(body: &str) -> Result<Body<'_>, RequestError> {
        split_body(body.as_bytes(), Hint::Detect, &Limits::default())
    }

    #[test]
    fn batch_object() {
        let b = split(
            r#" {"batch":[{"a":1}, {"b":2}],"sentAt":"2026-11-24T17:10:46.123Z","context":{}} "#,
        );
        let b = b.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.format, BodyFormat::Batch);
        assert_eq!(b.sent_at, Some(1_795_540_246_123));
        assert_eq!(
            b.items,
            vec![Item::Json(r#"{"a":1}"#), Item::Json(r#"{"b":2}"#)]
        );
    }

    #[test]
    fn array_and_single() {
        let b = split(r#"[{"a":1},2]"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.format, BodyFormat::Array);
        assert_eq!(b.items, vec![Item::Json(r#"{"a":1}"#), Item::Json("2")]);
        let b = split("\u{feff}{\"type\":\"track\"}\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.format, BodyFormat::Single);
        assert_eq!(b.items, vec![Item::Json(r#"{"type":"track"}"#)]);
    }

    #[test]
    fn ndjson_keeps_bad_lines_apart() {
        let b = split("{\"a\":1}\r\n\n{oops\n{\"b\":2}\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.format, BodyFormat::Ndjson);
        assert_eq!(
            b.items,
            vec![
                Item::Json(r#"{"a":1}"#),
                Item::Unparseable(b"{oops"),
                Item::Json(r#"{"b":2}"#)
            ]
        );
        let one = split_body(b"{\"a\":1}", Hint::Ndjson, &Limits::default());
        assert_eq!(one.map(|b| b.format), Ok(BodyFormat::Ndjson));
    }

    #[test]
    fn refusals() {
        assert_eq!(split(""), Err(RequestError::EmptyBatch));
        assert_eq!(split("  \n "), Err(RequestError::EmptyBatch));
        assert_eq!(split("[]"), Err(RequestError::EmptyBatch));
        assert_eq!(split(r#"{"batch":[]}"#), Err(RequestError::EmptyBatch));
        assert_eq!(split("hello"), Err(RequestError::MalformedBody));
        assert_eq!(split("[{"), Err(RequestError::MalformedBody));
        assert_eq!(split(r#"{"batch":{}}"#), Err(RequestError::MalformedBody));
        assert_eq!(split("{x\n{y"), Err(RequestError::MalformedBody));
        assert_eq!(
            split(r#"{"batch":[{}],"sentAt":"yesterday"}"#),
            Err(RequestError::InvalidSentAt)
        );
        let limits = Limits {
            max_events_per_batch: 2,
            ..Limits::default()
        };
        assert_eq!(
            split_body(b"[1,2,3]", Hint::Detect, &limits),
            Err(RequestError::TooManyEvents)
        );
        assert_eq!(
            split_body(b"{}\n{}\n{}", Hint::Detect, &limits),
            Err(RequestError::TooManyEvents)
        );
    }
}
