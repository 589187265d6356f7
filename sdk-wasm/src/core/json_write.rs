//! Writing an event's JSON text by hand: the SDK's [`Event`] with its context, and [`Json`]
//! values.
//!
//! Why: the derived `Serialize` impls of the protocol's `Message`, `Context` and its eleven
//! parts went through serde's generic `Serializer` (a `SerializeStruct` call, a key escape and a
//! skip check per field) and were the largest single item of a native `track()` (23 % of its
//! instructions, docs/SDK.md); they also cost wasm bytes. The text written here has the
//! protocol's field names, order and omissions and `serde_json`'s string escaping (tested
//! against `serde_json`); numbers are written as their literal ([`Json::Num`], see `core::jv`),
//! so no float formatter is linked. Properties and traits keep their insertion order. The
//! protocol crate's validator checks the events in `core::tests`.

use maidian_protocol::MessageType;
use maidian_protocol::message::{
    App, Campaign, Context, Device, Library, MiniProgram, Network, Os, Page, Screen, Share,
};

use super::jv::{Json, Obj};

/// One event as the SDK builds it: the protocol's message fields the SDK sets. Its context is
/// written from separately built text ([`context_text`]), cached between events.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// UUID.
    pub message_id: String,
    /// `track`, `page`, `identify` or `alias`.
    pub kind: MessageType,
    /// The event name (`track`) or page name (`page`); written as `event` / `name`.
    pub name: Option<String>,
    /// The device-scoped id.
    pub anonymous_id: Option<String>,
    /// The app's user id.
    pub user_id: Option<String>,
    /// `alias`: the id merged into `user_id`.
    pub previous_id: Option<String>,
    /// RFC 3339 with milliseconds.
    pub timestamp: String,
    /// Event properties.
    pub properties: Obj,
    /// `identify` traits.
    pub traits: Obj,
}

/// The JSON text of `e` with `context` (from [`context_text`]; empty: no context).
pub fn event(e: &Event, context: &str) -> String {
    let mut out = String::with_capacity(1024);
    let mut o = ObjWriter::new(&mut out);
    o.str("messageId", &e.message_id);
    o.str("type", e.kind.as_str());
    let name = e.name.as_deref();
    match e.kind {
        MessageType::Track => o.opt_str("event", name),
        MessageType::Page => o.opt_str("name", name),
        _ => {}
    }
    o.opt_str("anonymousId", e.anonymous_id.as_deref());
    o.opt_str("userId", e.user_id.as_deref());
    o.opt_str("previousId", e.previous_id.as_deref());
    o.str("timestamp", &e.timestamp);
    if !context.is_empty() {
        o.key("context").push_str(context);
    }
    if !e.properties.is_empty() {
        object(o.key("properties"), &e.properties);
    }
    if !e.traits.is_empty() {
        object(o.key("traits"), &e.traits);
    }
    o.end();
    out
}

/// `c` as JSON text, with `density` (a JSON number literal, `core::json::density`) as
/// `screen.density` when `c` has a screen; the empty string when `c` is empty (an event then
/// has no `context`).
pub fn context_text(c: &Context, density: Option<&str>) -> String {
    let mut out = String::new();
    if !c.is_empty() {
        context(&mut out, c, density);
    }
    out
}

fn context(out: &mut String, c: &Context, density_literal: Option<&str>) {
    let mut o = ObjWriter::new(out);
    if let Some(Library { name, version }) = &c.library {
        let mut l = ObjWriter::new(o.key("library"));
        l.str("name", name);
        l.str("version", version);
        l.end();
    }
    if let Some(App { id, version, env }) = &c.app {
        let mut a = ObjWriter::new(o.key("app"));
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
        let mut p = ObjWriter::new(o.key("miniProgram"));
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
        let mut p = ObjWriter::new(o.key("page"));
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
        let mut p = ObjWriter::new(o.key("campaign"));
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
        let mut p = ObjWriter::new(o.key("share"));
        p.opt_str("sharerId", sharer_id.as_deref());
        if let Some(d) = depth {
            p.uint("depth", *d);
        }
        p.opt_str("method", method.as_deref());
        p.end();
    }
    if let Some(Network { kind }) = &c.network {
        let mut p = ObjWriter::new(o.key("network"));
        p.str("type", kind);
        p.end();
    }
    if let Some(Device { brand, model }) = &c.device {
        let mut p = ObjWriter::new(o.key("device"));
        p.opt_str("brand", brand.as_deref());
        p.opt_str("model", model.as_deref());
        p.end();
    }
    if let Some(Os { name, version }) = &c.os {
        let mut p = ObjWriter::new(o.key("os"));
        p.str("name", name);
        p.opt_str("version", version.as_deref());
        p.end();
    }
    if let Some(Screen {
        width,
        height,
        density: _,
    }) = &c.screen
    {
        let mut p = ObjWriter::new(o.key("screen"));
        p.uint("width", *width);
        p.uint("height", *height);
        if let Some(d) = density_literal {
            p.key("density").push_str(d);
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
struct ObjWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> ObjWriter<'a> {
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

/// `v` as JSON text: numbers as their literal, object entries in order.
pub fn value(out: &mut String, v: &Json) {
    write(out, v, false);
}

/// `v` as JSON text with every object's keys in sorted order (byte order of the keys), at
/// every depth: the text redaction hashes (`core::redact`).
pub fn sorted_value(out: &mut String, v: &Json) {
    write(out, v, true);
}

/// `m` as a JSON object, entries in order.
pub fn object(out: &mut String, m: &Obj) {
    write_object(out, m, false);
}

fn write(out: &mut String, v: &Json, sort: bool) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Num(n) => out.push_str(n),
        Json::Str(s) => string(out, s),
        Json::Arr(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, x, sort);
            }
            out.push(']');
        }
        Json::Obj(m) => write_object(out, m, sort),
    }
}

fn write_object(out: &mut String, m: &Obj, sort: bool) {
    out.push('{');
    let mut entry = |i: usize, k: &str, v: &Json| {
        if i > 0 {
            out.push(',');
        }
        string(out, k);
        out.push(':');
        write(out, v, sort);
    };
    if sort {
        for (i, at) in m.sorted_indices().into_iter().enumerate() {
            let (k, v) = m.entry(at);
            entry(i, k, v);
        }
    } else {
        for (i, (k, v)) in m.iter().enumerate() {
            entry(i, k, v);
        }
    }
    out.push('}');
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
    use maidian_protocol::Message;
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
            value(&mut out, &Json::from(v.clone()));
            assert_eq!(out, serde_json::to_string(&v).unwrap());
        }
        // Numbers are written as their literal; objects in insertion order.
        let o: Obj = [
            ("z".to_owned(), Json::Num("1e+21".into())),
            ("a".to_owned(), Json::Num("-0.10".into())),
        ]
        .into_iter()
        .collect();
        let mut out = String::new();
        value(&mut out, &Json::Obj(o));
        assert_eq!(out, r#"{"z":1e+21,"a":-0.10}"#);
    }

    fn full_context() -> (Context, &'static str) {
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
            "screen": {"width": 393, "height": 852},
            "locale": "zh_CN",
            "timezone": "Asia/Shanghai",
            "sessionId": "sess",
            "firstDay": true,
            "userAgent": "UA\t1"
        }))
        .unwrap();
        (ctx, "2.75")
    }

    fn full_event() -> Event {
        Event {
            message_id: "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f".into(),
            kind: MessageType::Track,
            name: Some("e\u{1}".into()),
            anonymous_id: Some("a".into()),
            user_id: Some("u".into()),
            previous_id: Some("p".into()),
            timestamp: "2026-11-24T17:10:46.123Z".into(),
            properties: [
                ("price".to_owned(), Json::Num("19.90".into())),
                ("tags".to_owned(), Json::Arr(vec!["a".into()])),
                ("n".to_owned(), Json::Null),
            ]
            .into_iter()
            .collect(),
            traits: [("plan".to_owned(), Json::from("pro"))]
                .into_iter()
                .collect(),
        }
    }

    /// The protocol message `e` with context `c` and `density` stands for.
    fn as_message(e: &Event, c: &Context, density: Option<f64>) -> Message {
        let mut context = c.clone();
        if let Some(s) = &mut context.screen {
            s.density = density;
        }
        let map = |o: &Obj| -> serde_json::Map<String, serde_json::Value> {
            serde_json::from_str(&{
                let mut t = String::new();
                object(&mut t, o);
                t
            })
            .unwrap()
        };
        Message {
            message_id: e.message_id.clone(),
            kind: e.kind,
            event: e.name.clone().filter(|_| e.kind == MessageType::Track),
            name: e.name.clone().filter(|_| e.kind == MessageType::Page),
            anonymous_id: e.anonymous_id.clone(),
            user_id: e.user_id.clone(),
            previous_id: e.previous_id.clone(),
            group_id: None,
            timestamp: e.timestamp.clone(),
            context,
            properties: map(&e.properties),
            traits: map(&e.traits),
        }
    }

    #[test]
    fn events_read_back_as_the_protocol_message() {
        let (full, density) = full_context();
        let e = full_event();
        let text = event(&e, &context_text(&full, Some(density)));
        // Field order: the protocol's; properties: insertion order, numbers verbatim.
        assert!(text.starts_with(r#"{"messageId":"0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f","type":"track","event":"e\u0001","#));
        assert!(text.contains(r#""screen":{"width":393,"height":852,"density":2.75},"#));
        assert!(text.ends_with(
            r#""properties":{"price":19.90,"tags":["a"],"n":null},"traits":{"plan":"pro"}}"#
        ));
        let parsed: Message = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, as_message(&e, &full, Some(2.75)));

        // Every optional part left out on its own, each kind, and the empty context.
        for i in 0..20 {
            let (mut c, mut d) = (full.clone(), Some(density));
            let mut e = full_event();
            match i {
                0 => c.library = None,
                1 => c.app = None,
                2 => c.mini_program = None,
                3 => c.page = None,
                4 => c.campaign = None,
                5 => c.share = None,
                6 => c.network = None,
                7 => c.device = None,
                8 => c.os = None,
                9 => c.screen = None,
                10 => c.locale = None,
                11 => c.first_day = Some(false),
                12 => c.session_id = None,
                13 => {
                    e.properties.clear();
                    e.traits.clear();
                    e.name = None;
                }
                14 => {
                    d = None;
                    c.mini_program.as_mut().unwrap().scene = None;
                    c.share.as_mut().unwrap().depth = None;
                }
                15 => {
                    c = Context {
                        app: Some(App::default()),
                        page: Some(Page::default()),
                        campaign: Some(Campaign::default()),
                        share: Some(Share::default()),
                        device: Some(Device::default()),
                        os: Some(Os::default()),
                        screen: Some(Screen::default()),
                        ..Context::default()
                    };
                    d = None;
                }
                16 => e.kind = MessageType::Page,
                17 => e.kind = MessageType::Identify,
                18 => e.kind = MessageType::Alias,
                _ => c = Context::default(),
            }
            let text = event(&e, &context_text(&c, d));
            let parsed: Message = serde_json::from_str(&text).unwrap();
            let want = as_message(&e, &c, d.map(|d| d.parse().unwrap()));
            assert_eq!(parsed, want, "{i}: {text}");
            if c.is_empty() {
                assert!(!text.contains("context"));
            }
        }
    }
}
