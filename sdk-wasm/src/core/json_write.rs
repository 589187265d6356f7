//! Writing an event's JSON text by hand instead of with `serde_json::to_string(&Message)`.
//!
//! Why: the derived `Serialize` impls of `Message`, `Context` and its eleven parts went through
//! serde's generic `Serializer` (a `SerializeStruct` call, a key escape and a skip check per
//! field) and were the largest single item of a native `track()` (23 % of its instructions,
//! docs/SDK.md); they also cost wasm bytes. The text written here is byte-for-byte what
//! `serde_json::to_string` writes for the same value — same field order, same omissions, same
//! string escaping, same number formatting (`serde_json::Number`'s `Display`, i.e. itoa and
//! zmij) — which the tests check against `serde_json` itself; the protocol crate's validator
//! checks the result in `core::tests`.

use maidian_protocol::message::{
    App, Campaign, Context, Device, Library, Message, MiniProgram, Network, Os, Page, Screen, Share,
};
use serde_json::{Map, Number, Value};

/// The JSON text of `m` (what `serde_json::to_string(m)` returns).
pub fn message(m: &Message) -> String {
    write_message(m, None)
}

/// The JSON text of `m` with `context` (from [`context_text`]; empty: no context) in place of
/// `m.context`.
pub fn message_with_context(m: &Message, context: &str) -> String {
    write_message(m, Some(context))
}

/// `c` as JSON text, or the empty string when `c` is empty (a message then has no `context`).
pub fn context_text(c: &Context) -> String {
    let mut out = String::new();
    if !c.is_empty() {
        context(&mut out, c);
    }
    out
}

fn write_message(m: &Message, context_json: Option<&str>) -> String {
    let mut out = String::with_capacity(1024);
    let mut o = Obj::new(&mut out);
    o.str("messageId", &m.message_id);
    o.str("type", m.kind.as_str());
    o.opt_str("event", m.event.as_deref());
    o.opt_str("name", m.name.as_deref());
    o.opt_str("anonymousId", m.anonymous_id.as_deref());
    o.opt_str("userId", m.user_id.as_deref());
    o.opt_str("previousId", m.previous_id.as_deref());
    o.opt_str("groupId", m.group_id.as_deref());
    o.str("timestamp", &m.timestamp);
    match context_json {
        Some("") => {}
        Some(text) => o.key("context").push_str(text),
        None => {
            if !m.context.is_empty() {
                context(o.key("context"), &m.context);
            }
        }
    }
    if !m.properties.is_empty() {
        object(o.key("properties"), &m.properties);
    }
    if !m.traits.is_empty() {
        object(o.key("traits"), &m.traits);
    }
    o.end();
    out
}

fn context(out: &mut String, c: &Context) {
    let mut o = Obj::new(out);
    if let Some(Library { name, version }) = &c.library {
        let mut l = Obj::new(o.key("library"));
        l.str("name", name);
        l.str("version", version);
        l.end();
    }
    if let Some(App { id, version, env }) = &c.app {
        let mut a = Obj::new(o.key("app"));
        a.opt_str("id", id.as_deref());
        a.opt_str("version", version.as_deref());
        a.opt_str("env", env.as_deref());
        a.end();
    }
    if let Some(mp) = &c.mini_program {
        let MiniProgram {
            platform,
            scene,
            base_library_version,
            host_version,
            launch_path,
        } = mp;
        let mut p = Obj::new(o.key("miniProgram"));
        p.str("platform", platform);
        if let Some(s) = scene {
            p.uint("scene", *s);
        }
        p.opt_str("baseLibraryVersion", base_library_version.as_deref());
        p.opt_str("hostVersion", host_version.as_deref());
        p.opt_str("launchPath", launch_path.as_deref());
        p.end();
    }
    if let Some(Page {
        path,
        query,
        referrer,
        title,
        url,
    }) = &c.page
    {
        let mut p = Obj::new(o.key("page"));
        p.opt_str("path", path.as_deref());
        p.opt_str("query", query.as_deref());
        p.opt_str("referrer", referrer.as_deref());
        p.opt_str("title", title.as_deref());
        p.opt_str("url", url.as_deref());
        p.end();
    }
    if let Some(Campaign {
        source,
        medium,
        name,
        term,
        content,
    }) = &c.campaign
    {
        let mut p = Obj::new(o.key("campaign"));
        p.opt_str("source", source.as_deref());
        p.opt_str("medium", medium.as_deref());
        p.opt_str("name", name.as_deref());
        p.opt_str("term", term.as_deref());
        p.opt_str("content", content.as_deref());
        p.end();
    }
    if let Some(Share {
        sharer_id,
        depth,
        method,
    }) = &c.share
    {
        let mut p = Obj::new(o.key("share"));
        p.opt_str("sharerId", sharer_id.as_deref());
        if let Some(d) = depth {
            p.uint("depth", *d);
        }
        p.opt_str("method", method.as_deref());
        p.end();
    }
    if let Some(Network { kind }) = &c.network {
        let mut p = Obj::new(o.key("network"));
        p.str("type", kind);
        p.end();
    }
    if let Some(Device { brand, model }) = &c.device {
        let mut p = Obj::new(o.key("device"));
        p.opt_str("brand", brand.as_deref());
        p.opt_str("model", model.as_deref());
        p.end();
    }
    if let Some(Os { name, version }) = &c.os {
        let mut p = Obj::new(o.key("os"));
        p.str("name", name);
        p.opt_str("version", version.as_deref());
        p.end();
    }
    if let Some(Screen {
        width,
        height,
        density,
    }) = &c.screen
    {
        let mut p = Obj::new(o.key("screen"));
        p.uint("width", *width);
        p.uint("height", *height);
        if let Some(d) = density {
            f64_value(p.key("density"), *d);
        }
        p.end();
    }
    o.opt_str("locale", c.locale.as_deref());
    o.opt_str("timezone", c.timezone.as_deref());
    o.opt_str("sessionId", c.session_id.as_deref());
    if let Some(b) = c.first_day {
        o.key("firstDay").push_str(if b { "true" } else { "false" });
    }
    o.opt_str("userAgent", c.user_agent.as_deref());
    o.end();
}

/// An object being written: `{`, then `"key":value` pairs separated by commas, then `}`.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn new(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, first: true }
    }

    /// Writes `"k":` (after a comma if needed) and returns the buffer for the value. `k` is
    /// one of the field names above, none of which needs escaping.
    fn key(&mut self, k: &'static str) -> &mut String {
        debug_assert!(k.bytes().all(|b| ESCAPE[usize::from(b)] == 0));
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }

    fn str(&mut self, k: &'static str, v: &str) {
        string(self.key(k), v);
    }

    fn opt_str(&mut self, k: &'static str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }

    fn uint(&mut self, k: &'static str, v: u32) {
        super::text::push_u64(self.key(k), v.into());
    }

    fn end(self) {
        self.out.push('}');
    }
}

/// `v` as JSON (what `serde_json::to_string(v)` writes).
pub fn value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number(out, n),
        Value::String(s) => string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(out, x);
            }
            out.push(']');
        }
        Value::Object(m) => object(out, m),
    }
}

/// `m` as a JSON object (what `serde_json::to_string(m)` writes).
pub fn object(out: &mut String, m: &Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, k);
        out.push(':');
        value(out, v);
    }
    out.push('}');
}

/// `n` as serde_json writes it (its `Display`: itoa for integers, zmij's shortest round trip
/// for floats, which are always finite in a `Number`), without going through `core::fmt`.
pub fn number(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64() {
        super::text::push_u64(out, u);
    } else if let Some(i) = n.as_i64() {
        super::text::push_i64(out, i);
    } else if let Some(f) = n.as_f64() {
        out.push_str(zmij::Buffer::new().format_finite(f));
    }
}

/// An f64 field the way serde_json writes one: shortest round-trip text, `null` if not finite.
fn f64_value(out: &mut String, f: f64) {
    match Number::from_f64(f) {
        Some(n) => number(out, &n),
        None => out.push_str("null"),
    }
}

/// What a byte becomes in a JSON string: 0 verbatim, `u` as `\u00XX`, else `\` + that byte.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// `s` as a JSON string with serde_json's escaping: `"` and `\` escaped, control characters as
/// `\b \f \n \r \t` or `\u00XX` (lower-case hex), everything else (incl. DEL and non-ASCII)
/// verbatim.
pub fn string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping (most strings need none).
        if let Some(&[a, b, c, d, e, f, g, h]) = bytes.get(i..i + 8) {
            if !needs_escape(u64::from_le_bytes([a, b, c, d, e, f, g, h])) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let esc = ESCAPE[usize::from(b)];
        if esc == 0 {
            i += 1;
            continue;
        }
        // Escaped bytes are ASCII, hence char boundaries.
        out.push_str(&s[start..i]);
        out.push('\\');
        out.push(char::from(esc));
        if esc == b'u' {
            out.push_str("00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Whether one of the eight bytes of `x` is a control character, `"` or `\\` (the bytes
/// [`ESCAPE`] does not pass through). The bit tricks ("haszero", "hasless") may also flag a
/// clean word next to a flagged byte, never miss one: a flagged word is then scanned byte by
/// byte.
#[inline]
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0;
    control || has_zero(x ^ (ONES * u64::from(b'"'))) || has_zero(x ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use maidian_protocol::message::MessageType;
    use serde_json::json;

    fn strings() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "plain",
            "quote \" backslash \\ slash /",
            "\n\r\t\u{8}\u{c}",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "埋点 🚀 ünïcödé",
            "<script>&amp;</script>",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.push((0u8..128).map(char::from).collect());
        v
    }

    #[test]
    fn escapes_at_every_offset_of_the_word_scan_match_serde_json() {
        for special in [
            "\"", "\\", "\u{0}", "\n", "\u{1f}", "é", "\u{7f}", " ", "埋",
        ] {
            for len in 0..24 {
                for at in 0..=len {
                    let mut s: String = "abcdefghijklmnopqrstuvwx"[..len].to_owned();
                    s.insert_str(at, special);
                    let mut out = String::new();
                    string(&mut out, &s);
                    assert_eq!(out, serde_json::to_string(&s).unwrap(), "{s:?}");
                }
            }
        }
        for b in 0u8..=255 {
            let word = u64::from_le_bytes([b'a', b'b', b, b'c', b'd', b'e', b'f', b'g']);
            assert_eq!(
                needs_escape(word),
                ESCAPE[usize::from(b)] != 0,
                "byte {b:#x}"
            );
        }
    }

    #[test]
    fn strings_and_values_match_serde_json() {
        for s in strings() {
            let mut out = String::new();
            string(&mut out, &s);
            assert_eq!(out, serde_json::to_string(&s).unwrap(), "{s:?}");
        }
        let values = [
            json!(null),
            json!(true),
            json!(false),
            json!(0),
            json!(-1),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(19.9),
            json!(0.1),
            json!(1e21),
            json!(1.5e-7),
            json!(-0.0),
            json!(f64::MAX),
            json!(5e-324),
            json!([]),
            json!({}),
            json!([1, "a", null, [true, {"k": [2.5]}]]),
            json!({"z": 1, "a": {"\n": "\u{1}", "b": [1, 2]}, "m": "埋点"}),
        ];
        for v in values {
            let mut out = String::new();
            value(&mut out, &v);
            assert_eq!(out, serde_json::to_string(&v).unwrap());
        }
    }

    #[test]
    fn numbers_are_serde_json_display() {
        let mut x = 0x2545_F491_4F6C_DD1D_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let r = next();
            let f = f64::from_bits(r);
            let numbers = [
                Number::from(r),
                Number::from(r as i64),
                Number::from(r >> 40),
                Number::from_f64(f).unwrap_or_else(|| Number::from(0)),
                Number::from_f64((r >> 11) as f64 / 1e6).unwrap_or_else(|| Number::from(1)),
            ];
            for n in numbers {
                let mut out = String::new();
                number(&mut out, &n);
                assert_eq!(out, n.to_string());
            }
        }
    }

    fn full_message() -> Message {
        let ctx: Context = serde_json::from_value(json!({
            "library": {"name": "maidian-miniprogram", "version": "0.1.0"},
            "app": {"id": "wx1", "version": "1.0", "env": "release"},
            "miniProgram": {"platform": "wechat", "scene": 1047, "baseLibraryVersion": "3.5.8",
                "hostVersion": "8.0.53", "launchPath": "pages/a/a"},
            "page": {"path": "pages/a/a", "query": "x=1&y=\"2\"", "referrer": "pages/b/b",
                "title": "标题", "url": "https://e.com/a"},
            "campaign": {"source": "s", "medium": "m", "name": "n", "term": "t", "content": "c"},
            "share": {"sharerId": "sh", "depth": 2, "method": "message"},
            "network": {"type": "wifi"},
            "device": {"brand": "iPhone", "model": "iPhone 15<iPhone16,1>"},
            "os": {"name": "iOS", "version": "17.5"},
            "screen": {"width": 393, "height": 852, "density": 3.0},
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
            "sessionId": "sess",
            "firstDay": true,
            "userAgent": "UA\t1"
        }))
        .unwrap();
        Message {
            message_id: "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f".into(),
            kind: MessageType::Alias,
            event: Some("e\u{1}".into()),
            name: Some("n".into()),
            anonymous_id: Some("a".into()),
            user_id: Some("u".into()),
            previous_id: Some("p".into()),
            group_id: Some("g".into()),
            timestamp: "2026-11-24T17:10:46.123Z".into(),
            context: ctx,
            properties: json!({"price": 19.9, "tags": ["a"], "n": null})
                .as_object()
                .cloned()
                .unwrap(),
            traits: json!({"plan": "pro"}).as_object().cloned().unwrap(),
        }
    }

    #[test]
    fn messages_match_serde_json() {
        let full = full_message();
        assert_eq!(message(&full), serde_json::to_string(&full).unwrap());

        // Every optional part left out on its own, and the empty message.
        let mut variants = Vec::new();
        let c = &full.context;
        for i in 0..17 {
            let mut m = full.clone();
            let x = &mut m.context;
            match i {
                0 => x.library = None,
                1 => x.app = None,
                2 => x.mini_program = None,
                3 => x.page = None,
                4 => x.campaign = None,
                5 => x.share = None,
                6 => x.network = None,
                7 => x.device = None,
                8 => x.os = None,
                9 => x.screen = None,
                10 => x.locale = None,
                11 => x.first_day = Some(false),
                12 => x.session_id = None,
                13 => {
                    m.properties.clear();
                    m.traits.clear();
                    m.event = None;
                }
                14 => {
                    x.screen.as_mut().unwrap().density = Some(f64::NAN);
                    x.mini_program.as_mut().unwrap().scene = None;
                    x.share.as_mut().unwrap().depth = None;
                }
                15 => {
                    *x = Context {
                        app: Some(App::default()),
                        page: Some(Page::default()),
                        campaign: Some(Campaign::default()),
                        share: Some(Share::default()),
                        device: Some(Device::default()),
                        os: Some(Os::default()),
                        screen: Some(Screen::default()),
                        ..Context::default()
                    };
                }
                _ => *x = Context::default(),
            }
            variants.push(m);
        }
        assert!(c.library.is_some());
        for m in variants {
            let serde = serde_json::to_string(&m).unwrap();
            assert_eq!(message(&m), serde);
            // The same text from the context written separately (the core's cached path).
            let ctx = context_text(&m.context);
            let bare = Message {
                context: Context::default(),
                ..m.clone()
            };
            assert_eq!(message_with_context(&bare, &ctx), serde);
        }
    }
}
