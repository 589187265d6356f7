//! Per-event validation on borrowed data: the collector's fast path.
//!
//! One forward byte scan (the private `scan` module) checks the event's JSON syntax, splits it into its
//! top-level fields (slices of the input — no JSON tree is built) and applies the
//! depth/length/count limits of [`crate::shape`] to every value; then the known fields are
//! checked and the clock-skew rule is applied. Text the scan cannot answer exactly (invalid
//! JSON, extreme nesting) goes through the serde_json path instead, which gives the same answers
//! and messages as before the scanner existed. The
//! result either borrows from the input ([`Event`]) or says why the event was refused
//! ([`Rejection`]). A bad event never affects another one.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::limits::Limits;
use crate::message::{MessageType, reserved};
use crate::reason::Reason;
use crate::scan::{self, Scan, ScanLimits};
use crate::shape::{self, ShapeLimits};
use crate::skew::{self, Corrected};
use crate::time::{UnixMillis, parse_rfc3339};

/// What validation needs besides the event itself.
#[derive(Debug, Clone, Copy)]
pub struct Checker<'l> {
    /// The bounds to enforce.
    pub limits: &'l Limits,
    /// The collector's clock when the request arrived.
    pub received_at: UnixMillis,
    /// The envelope's `sentAt` (device clock), if any; a message's own `sentAt` is used when
    /// the envelope has none.
    pub sent_at: Option<UnixMillis>,
    /// The type implied by a single-message endpoint (`/v1/track` implies `track`); a message
    /// that states another type is refused.
    pub implied_type: Option<MessageType>,
}

/// A valid event, borrowing from the request body.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The dedup key.
    pub message_id: Cow<'a, str>,
    /// The message type.
    pub kind: MessageType,
    /// Track event name.
    pub event: Option<Cow<'a, str>>,
    /// `anonymousId`.
    pub anonymous_id: Option<Cow<'a, str>>,
    /// `userId`.
    pub user_id: Option<Cow<'a, str>>,
    /// The device-clock timestamp as sent (`originalTimestamp` in storage).
    pub original_timestamp: Option<UnixMillis>,
    /// The device-clock send time that was used for skew correction.
    pub sent_at: Option<UnixMillis>,
    /// The stored event time and the skew applied.
    pub corrected: Corrected,
    /// Every top-level field of the event as sent, in order: the key (decoded) and the value's
    /// JSON text, a syntax-checked slice of the input.
    pub fields: Vec<(Cow<'a, str>, &'a str)>,
}

/// Why one event was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason code.
    pub reason: Reason,
    /// A human-readable explanation naming the field.
    pub message: String,
    /// The event's `messageId` when it could be read.
    pub message_id: Option<String>,
}

impl Rejection {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            message_id: None,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

/// A JSON string that borrows from the input unless it contains escapes.
#[derive(Deserialize)]
struct Str<'a>(#[serde(borrow)] Cow<'a, str>);

type Fields<'a> = Vec<(Cow<'a, str>, &'a str)>;

fn too_large(json: &str, l: &Limits) -> Option<Rejection> {
    (json.len() > l.max_event_bytes).then(|| {
        Rejection::new(
            Reason::EventTooLarge,
            format!("event is {} bytes, limit {}", json.len(), l.max_event_bytes),
        )
    })
}

fn too_many_keys(max_keys: usize) -> Rejection {
    Rejection::new(
        Reason::TooManyProperties,
        format!("the event has more than {max_keys} top-level keys"),
    )
}

fn duplicate_key() -> Rejection {
    Rejection::new(
        Reason::InvalidJson,
        "the event has a duplicated top-level key",
    )
}

/// Validates the JSON text of one event.
pub fn validate_event<'a>(json: &'a str, ck: &Checker<'_>) -> Result<Event<'a>, Rejection> {
    let l = ck.limits;
    if let Some(rej) = too_large(json, l) {
        return Err(rej);
    }
    match scan::scan_event(json, &ScanLimits::from(l)) {
        Scan::Fields {
            fields,
            shape,
            plain,
        } => finish_scanned(fields, shape, plain, ck),
        Scan::TooManyKeys => Err(too_many_keys(l.max_properties)),
        Scan::Duplicate => Err(duplicate_key()),
        Scan::Fallback => validate_event_serde(json, ck),
    }
}

/// The rules over a scan's fields; `shape` is the first field breaking a shape limit.
fn finish_scanned<'a>(
    fields: Fields<'a>,
    shape: Option<(usize, Reason)>,
    plain: u64,
    ck: &Checker<'_>,
) -> Result<Event<'a>, Rejection> {
    finish(fields, plain, ck, |i, _, _| match shape {
        Some((at, r)) if at == i => Err(r),
        _ => Ok(()),
    })
}

/// [`validate_event`] the way it was before the scanner: serde_json splits the fields, then
/// [`shape::check`] walks each nested value. The reference the scanner is held to, and the
/// path for text the scanner leaves to serde.
pub(crate) fn validate_event_serde<'a>(
    json: &'a str,
    ck: &Checker<'_>,
) -> Result<Event<'a>, Rejection> {
    let l = ck.limits;
    if let Some(rej) = too_large(json, l) {
        return Err(rej);
    }
    let fields = split_fields(json, l.max_properties)?;
    let shape = ShapeLimits {
        max_depth: l.max_depth,
        max_string_bytes: l.max_string_bytes,
        max_key_bytes: l.max_key_bytes,
        max_top_keys: l.max_properties,
    };
    finish(fields, 0, ck, |_, key, text| {
        // Scalars need no scan: a string's decoded length never exceeds its JSON text.
        if !text.starts_with(['{', '[']) && text.len() <= l.max_string_bytes + 2 {
            return Ok(());
        }
        let object_field = matches!(key, "properties" | "traits" | "context");
        let max_top_keys = if object_field {
            l.max_properties
        } else {
            usize::MAX
        };
        shape::check(
            text,
            1,
            &ShapeLimits {
                max_top_keys,
                ..shape
            },
        )
    })
}

/// Checks the split fields; `plain` marks the fields known to be strings without escapes (see
/// `Scan::Fields`), `shape(index, key, value)` answers the shape limits of a field.
fn finish<'a>(
    fields: Fields<'a>,
    plain: u64,
    ck: &Checker<'_>,
    shape: impl Fn(usize, &str, &str) -> Result<(), Reason>,
) -> Result<Event<'a>, Rejection> {
    let mut message_id = None;
    let result = check_fields(&fields, plain, ck, &mut message_id, shape);
    match result {
        Ok(mut ev) => {
            ev.fields = fields;
            Ok(ev)
        }
        Err(mut rej) => {
            rej.message_id = message_id.map(Cow::into_owned);
            Err(rej)
        }
    }
}

/// The top-level fields the rules read, found in one pass over an event's fields: for each
/// name, the value text of the first field with that key whose value is not `null`.
#[derive(Default)]
struct Known<'a> {
    message_id: Option<&'a str>,
    kind: Option<&'a str>,
    event: Option<&'a str>,
    name: Option<&'a str>,
    anonymous_id: Option<&'a str>,
    user_id: Option<&'a str>,
    previous_id: Option<&'a str>,
    group_id: Option<&'a str>,
    timestamp: Option<&'a str>,
    sent_at: Option<&'a str>,
    /// One bit per field above (`Known::MESSAGE_ID`…): its value is a string without escapes,
    /// as the scan found (native builds only; always 0 in the SDK's debug-validate wasm, whose
    /// size counts more).
    plain: u16,
}

impl<'a> Known<'a> {
    const MESSAGE_ID: u16 = 1;
    const KIND: u16 = 1 << 1;
    const EVENT: u16 = 1 << 2;
    const NAME: u16 = 1 << 3;
    const ANONYMOUS_ID: u16 = 1 << 4;
    const USER_ID: u16 = 1 << 5;
    const PREVIOUS_ID: u16 = 1 << 6;
    const GROUP_ID: u16 = 1 << 7;
    const TIMESTAMP: u16 = 1 << 8;
    const SENT_AT: u16 = 1 << 9;

    /// `plain`: bit `i` set when field `i` is a string without escapes.
    fn find(fields: &[(Cow<'a, str>, &'a str)], plain: u64) -> Self {
        let mut k = Self::default();
        for (i, (key, text)) in fields.iter().enumerate() {
            let (slot, bit) = match key.as_ref() {
                "messageId" => (&mut k.message_id, Self::MESSAGE_ID),
                "type" => (&mut k.kind, Self::KIND),
                "event" => (&mut k.event, Self::EVENT),
                "name" => (&mut k.name, Self::NAME),
                "anonymousId" => (&mut k.anonymous_id, Self::ANONYMOUS_ID),
                "userId" => (&mut k.user_id, Self::USER_ID),
                "previousId" => (&mut k.previous_id, Self::PREVIOUS_ID),
                "groupId" => (&mut k.group_id, Self::GROUP_ID),
                "timestamp" => (&mut k.timestamp, Self::TIMESTAMP),
                "sentAt" => (&mut k.sent_at, Self::SENT_AT),
                _ => continue,
            };
            if slot.is_none() && *text != "null" {
                *slot = Some(text);
                if cfg!(not(target_arch = "wasm32")) && i < 64 && plain >> i & 1 == 1 {
                    k.plain |= bit;
                }
            }
        }
        k
    }

    /// Whether the field of `bit` is a string without escapes (never, in the SDK's wasm: the
    /// constant lets the shortcut fold away there).
    fn is_plain(&self, bit: u16) -> bool {
        cfg!(not(target_arch = "wasm32")) && self.plain & bit != 0
    }
}

/// The string value of the field `name` whose text (not `null`) is `text`, if present; `plain`:
/// the scan found it to be a string without escapes.
#[inline(always)]
fn string_field<'a>(
    text: Option<&'a str>,
    plain: bool,
    name: &str,
    reason: Reason,
) -> Result<Option<Cow<'a, str>>, Rejection> {
    match text {
        None => Ok(None),
        // Known plain: its text between the quotes is its value.
        Some(text) if plain => Ok(Some(Cow::Borrowed(&text[1..text.len() - 1]))),
        Some(text) => string_value(text, name, reason).map(Some),
    }
}

/// The string value of the field `name` whose text is `text`.
fn string_value<'a>(text: &'a str, name: &str, reason: Reason) -> Result<Cow<'a, str>, Rejection> {
    if is_plain_string(text) {
        // Fast path: a string without escapes is its own text (valid JSON cannot hold raw
        // control characters in a string, so nothing else needs checking).
        return Ok(Cow::Borrowed(&text[1..text.len() - 1]));
    }
    serde_json::from_str::<Str<'a>>(text)
        .map(|s| s.0)
        .map_err(|_| Rejection::new(reason, format!("`{name}` must be a string")))
}

fn is_plain_string(text: &str) -> bool {
    text.len() >= 2
        && text.starts_with('"')
        && text.ends_with('"')
        && !scan::has_quote_or_backslash(&text.as_bytes()[1..text.len() - 1])
}

/// Whether `s` holds a control character (`char::is_control`: U+0000..=U+001F and
/// U+007F..=U+009F).
fn has_control(s: &str) -> bool {
    #[cfg(not(target_arch = "wasm32"))]
    if !may_have_control(s.as_bytes()) {
        return false;
    }
    s.chars().any(char::is_control)
}

/// Whether `b` has a byte below 0x20, a 0x7F, or a 0xC2 (the UTF-8 lead byte of
/// U+0080..=U+00BF): exact when `false`, eight bytes at a time. Native builds only: the SDK's
/// wasm keeps the plain loop (its size counts more than this speed).
#[cfg(not(target_arch = "wasm32"))]
fn may_have_control(b: &[u8]) -> bool {
    use crate::scan::any_byte;
    use crate::scan::classify::{bytes_below, bytes_equal};
    any_byte(
        b,
        |w| bytes_below(w, 0x20) | bytes_equal(w, 0x7F) | bytes_equal(w, 0xC2),
        |c| c < 0x20 || c == 0x7F || c == 0xC2,
    )
}

/// The bytes of a valid `messageId`: `[A-Za-z0-9._:-]`.
static MESSAGE_ID_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-');
        b += 1;
    }
    t
};

/// Whether `id` is a valid `messageId`: 1..=max bytes of `[A-Za-z0-9._:-]`.
pub fn is_valid_message_id(id: &str, max: usize) -> bool {
    !id.is_empty() && id.len() <= max && id.bytes().all(|b| MESSAGE_ID_BYTE[usize::from(b)])
}

/// Whether `id` is a valid identity value: 1..=max bytes, no control characters.
pub fn is_valid_identity(id: &str, max: usize) -> bool {
    !id.is_empty() && id.len() <= max && !has_control(id)
}

/// Whether `name` is a valid event/page name, and not a `$` name outside the reserved set.
pub fn check_event_name(name: &str, max: usize) -> Result<(), Reason> {
    if name.is_empty() || name.len() > max || has_control(name) {
        return Err(Reason::InvalidEventName);
    }
    if name.starts_with('$') && !reserved::is_reserved(name) {
        return Err(Reason::ReservedEventName);
    }
    Ok(())
}

fn check_fields<'a>(
    fields: &[(Cow<'a, str>, &'a str)],
    plain: u64,
    ck: &Checker<'_>,
    message_id_out: &mut Option<Cow<'a, str>>,
    shape: impl Fn(usize, &str, &str) -> Result<(), Reason>,
) -> Result<Event<'a>, Rejection> {
    let l = ck.limits;
    let known = Known::find(fields, plain);
    let message_id = string_field(
        known.message_id,
        known.is_plain(Known::MESSAGE_ID),
        "messageId",
        Reason::InvalidMessageId,
    )?
    .filter(|s| !s.is_empty())
    .ok_or_else(|| Rejection::new(Reason::MissingMessageId, "`messageId` is required"))?;
    if !is_valid_message_id(&message_id, l.max_message_id_bytes) {
        return Err(Rejection::new(
            Reason::InvalidMessageId,
            format!(
                "`messageId` must be 1..={} bytes of [A-Za-z0-9._:-]",
                l.max_message_id_bytes
            ),
        ));
    }
    *message_id_out = Some(message_id.clone());

    let kind = match string_field(
        known.kind,
        known.is_plain(Known::KIND),
        "type",
        Reason::InvalidType,
    )? {
        Some(t) => {
            let kind = MessageType::parse(&t).ok_or_else(|| {
                Rejection::new(
                    Reason::InvalidType,
                    "`type` must be one of track, page, screen, identify, alias, group",
                )
            })?;
            if ck.implied_type.is_some_and(|i| i != kind) {
                return Err(Rejection::new(
                    Reason::InvalidType,
                    "`type` does not match the endpoint",
                ));
            }
            kind
        }
        None => ck
            .implied_type
            .ok_or_else(|| Rejection::new(Reason::MissingType, "`type` is required"))?,
    };

    let event = string_field(
        known.event,
        known.is_plain(Known::EVENT),
        "event",
        Reason::InvalidEventName,
    )?;
    match (&event, kind) {
        (None, MessageType::Track) => {
            return Err(Rejection::new(
                Reason::MissingEventName,
                "a track message needs `event`",
            ));
        }
        (Some(name), _) => check_event_name(name, l.max_event_name_bytes).map_err(|r| {
            Rejection::new(
                r,
                format!(
                    "`event` must be 1..={} bytes without control characters; `$` names are reserved",
                    l.max_event_name_bytes
                ),
            )
        })?,
        _ => {}
    }
    if let Some(name) = string_field(
        known.name,
        known.is_plain(Known::NAME),
        "name",
        Reason::InvalidEventName,
    )? {
        if name.is_empty() || name.len() > l.max_event_name_bytes || has_control(&name) {
            return Err(Rejection::new(
                Reason::InvalidEventName,
                "`name` must be a non-empty string without control characters",
            ));
        }
    }

    let ident = |text: Option<&'a str>,
                 plain: bool,
                 name: &str|
     -> Result<Option<Cow<'a, str>>, Rejection> {
        let v = string_field(text, plain, name, Reason::InvalidIdentity)?;
        if let Some(s) = &v {
            if !is_valid_identity(s, l.max_identity_bytes) {
                return Err(Rejection::new(
                    Reason::InvalidIdentity,
                    format!(
                        "`{name}` must be 1..={} bytes without control characters",
                        l.max_identity_bytes
                    ),
                ));
            }
        }
        Ok(v)
    };
    let anonymous_id = ident(
        known.anonymous_id,
        known.is_plain(Known::ANONYMOUS_ID),
        "anonymousId",
    )?;
    let user_id = ident(known.user_id, known.is_plain(Known::USER_ID), "userId")?;
    if anonymous_id.is_none() && user_id.is_none() {
        return Err(Rejection::new(
            Reason::MissingIdentity,
            "`anonymousId` or `userId` is required",
        ));
    }
    if ident(
        known.previous_id,
        known.is_plain(Known::PREVIOUS_ID),
        "previousId",
    )?
    .is_none()
        && kind == MessageType::Alias
    {
        return Err(Rejection::new(
            Reason::MissingPreviousId,
            "an alias message needs `previousId`",
        ));
    }
    if ident(known.group_id, known.is_plain(Known::GROUP_ID), "groupId")?.is_none()
        && kind == MessageType::Group
    {
        return Err(Rejection::new(
            Reason::MissingGroupId,
            "a group message needs `groupId`",
        ));
    }

    let time_field = |text: Option<&'a str>,
                      plain: bool,
                      name: &str,
                      reason: Reason|
     -> Result<Option<UnixMillis>, Rejection> {
        match string_field(text, plain, name, reason)? {
            None => Ok(None),
            Some(s) => parse_rfc3339(&s).map(Some).ok_or_else(|| {
                Rejection::new(reason, format!("`{name}` must be an RFC 3339 date-time"))
            }),
        }
    };
    let original_timestamp = time_field(
        known.timestamp,
        known.is_plain(Known::TIMESTAMP),
        "timestamp",
        Reason::InvalidTimestamp,
    )?;
    let sent_at = match ck.sent_at {
        Some(s) => Some(s),
        None => time_field(
            known.sent_at,
            known.is_plain(Known::SENT_AT),
            "sentAt",
            Reason::InvalidTimestamp,
        )?,
    };
    let corrected = skew::correct(
        original_timestamp,
        sent_at,
        ck.received_at,
        l.skew_threshold_ms,
    );
    let earliest = ck.received_at.saturating_sub(l.max_past_ms);
    let latest = ck.received_at.saturating_add(l.max_future_ms);
    if !(earliest..=latest).contains(&corrected.timestamp) {
        return Err(Rejection::new(
            Reason::TimestampOutOfRange,
            format!(
                "timestamp is {} ms from receipt; allowed {} ms before to {} ms after",
                corrected.timestamp - ck.received_at,
                l.max_past_ms,
                l.max_future_ms
            ),
        ));
    }

    for (i, (key, text)) in fields.iter().enumerate() {
        let object_field = matches!(key.as_ref(), "properties" | "traits" | "context");
        if object_field && *text != "null" && !text.starts_with('{') {
            return Err(Rejection::new(
                Reason::InvalidFieldType,
                format!("`{key}` must be an object"),
            ));
        }
        shape(i, key, text).map_err(|r| Rejection::new(r, limit_message(r, key, l)))?;
    }

    Ok(Event {
        message_id,
        kind,
        event,
        anonymous_id,
        user_id,
        original_timestamp,
        sent_at,
        corrected,
        fields: Vec::new(),
    })
}

fn limit_message(r: Reason, key: &str, l: &Limits) -> String {
    match r {
        Reason::TooDeep => format!("`{key}` nests deeper than {} levels", l.max_depth),
        Reason::StringTooLong => {
            format!("a string in `{key}` exceeds {} bytes", l.max_string_bytes)
        }
        Reason::InvalidKey => format!(
            "a key in `{key}` is empty or longer than {} bytes",
            l.max_key_bytes
        ),
        Reason::TooManyProperties => {
            format!("`{key}` has more than {} keys", l.max_properties)
        }
        _ => format!("`{key}`: {r}"),
    }
}

/// Splits an event object into its top-level fields without parsing the values.
fn split_fields(json: &str, max_keys: usize) -> Result<Fields<'_>, Rejection> {
    let trimmed = json.trim_start();
    if !trimmed.starts_with('{') {
        return Err(if serde_json::from_str::<de::IgnoredAny>(json).is_ok() {
            Rejection::new(Reason::NotAnObject, "an event must be a JSON object")
        } else {
            Rejection::new(Reason::InvalidJson, "the event is not valid JSON")
        });
    }
    let too_many = std::cell::Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(json);
    let fields = FieldsSeed {
        max_keys,
        too_many: &too_many,
    }
    .deserialize(&mut de)
    .and_then(|f| de.end().map(|()| f));
    match fields {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(duplicate_key()),
        Err(_) if too_many.get() => Err(too_many_keys(max_keys)),
        Err(e) => Err(Rejection::new(
            Reason::InvalidJson,
            format!("the event is not valid JSON: {e}"),
        )),
    }
}

struct FieldsSeed<'s> {
    max_keys: usize,
    too_many: &'s std::cell::Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for FieldsSeed<'_> {
    type Value = Option<Fields<'de>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed<'_> {
    type Value = Option<Fields<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Fields<'de> = Vec::with_capacity(12);
        let mut duplicate = false;
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            if out.len() >= self.max_keys {
                self.too_many.set(true);
                return Err(de::Error::custom("too many keys"));
            }
            duplicate |= out.iter().any(|(k, _)| *k == key);
            out.push((key, value.get()));
        }
        Ok((!duplicate).then_some(out))
    }
}

/// Validates every item of a split body, in order. Unparseable NDJSON lines are rejected with
/// `invalid_json`; `ck.sent_at` should be the body's `sent_at`. Takes the event scans the body
/// split made on the way (so `body` is `&mut`; its items are left as they are): each answer is
/// what [`validate_event`] gives for the item's text.
pub fn validate_items<'a>(
    body: &mut crate::body::Body<'a>,
    ck: &Checker<'_>,
) -> Vec<Result<Event<'a>, Rejection>> {
    let limits = ScanLimits::from(ck.limits);
    let mut scanned = std::mem::take(&mut body.scanned).into_iter();
    body.items
        .iter()
        .map(|item| match (item, scanned.next().flatten()) {
            // Scanned by the body split under the same limits: the same answer as
            // `validate_event`, without reading the text again.
            (crate::body::Item::Json(text), Some(pre)) if pre.limits == limits => {
                match too_large(text, ck.limits) {
                    Some(rej) => Err(rej),
                    None => finish_scanned(pre.fields, pre.shape, pre.plain, ck),
                }
            }
            (crate::body::Item::Json(text), _) => validate_event(text, ck),
            (crate::body::Item::Unparseable(_), _) => Err(Rejection::new(
                Reason::InvalidJson,
                "the line is not valid JSON",
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod scan_tests;

#[cfg(test)]
mod edge_tests;
