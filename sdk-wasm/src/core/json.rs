//! Reading host-supplied JSON (configuration, raw host events, the persisted state) out of a
//! `serde_json::Value` by hand.
//!
//! Why not `#[derive(Deserialize)]`: every derived struct visitor is monomorphized per
//! deserializer and costs 1.5-15 KB of wasm each; with the configuration, the context tree,
//! the inputs and the state that was over 100 KB before brotli — more than the whole size
//! budget of the mini-program build. Parsing into `Value` (which the core needs anyway for
//! event properties) and picking fields with these helpers costs a few KB in total.
//!
//! The helpers are lenient in the way the JS world expects: a missing or `null` field takes the
//! default; a field of the wrong type is an error naming the field (for the configuration) or
//! is ignored (for raw host events, which come from the platform, not from the developer).

use super::jv::{Json, Obj};

use maidian_protocol::Context;
use maidian_protocol::message::{App, Device, MiniProgram, Network, Os, Screen};

/// The object at `v`, or an empty one.
pub fn obj(v: &Json) -> &Obj {
    static EMPTY: Obj = Obj::new();
    match v {
        Json::Obj(m) => m,
        _ => &EMPTY,
    }
}

/// A non-null field.
pub fn field<'a>(m: &'a Obj, k: &str) -> Option<&'a Json> {
    m.get(k).filter(|v| !v.is_null())
}

/// A string field (numbers are accepted as their text, as hosts mix them up).
pub fn string(m: &Obj, k: &str) -> Option<String> {
    match field(m, k)? {
        Json::Str(s) => Some(s.clone()),
        // The number's literal, as the host wrote it.
        Json::Num(n) => Some(String::from(&**n)),
        _ => None,
    }
}

/// A non-negative integer field that fits `u32` (numbers or numeric strings).
pub fn uint(m: &Obj, k: &str) -> Option<u32> {
    match field(m, k)? {
        n @ Json::Num(_) => n.as_u64().and_then(|x| u32::try_from(x).ok()),
        Json::Str(s) => super::text::parse_u32(s),
        _ => None,
    }
}

/// A number field.
pub fn number(m: &Obj, k: &str) -> Option<f64> {
    field(m, k)?.as_f64()
}

/// A boolean field.
pub fn boolean(m: &Obj, k: &str) -> Option<bool> {
    field(m, k)?.as_bool()
}

/// An object field (cloned), or empty.
pub fn object(m: &Obj, k: &str) -> Obj {
    match field(m, k) {
        Some(Json::Obj(o)) => o.clone(),
        _ => Obj::new(),
    }
}

/// The static part of `context` from a host object in the protocol's camelCase shape
/// (`{app: {id, version, env}, device: {brand, model}, os: {name, version}, ...}`): what the
/// core keeps of the configured context. `library`, `page`, `campaign`, `share`, `sessionId`
/// and `firstDay` are not read — the core sets them itself (`Core::new`, `Core::context`), so
/// reading them was code for values thrown away.
///
/// `screen.density` is left `None` here: the protocol's type holds it as an `f64`, which the
/// SDK would need a float formatter to write back. [`density`] keeps the host's literal instead.
pub fn context(v: &Json) -> Context {
    let m = obj(v);
    let sub = |k: &str| field(m, k).map(obj);
    Context {
        app: sub("app").map(|o| App {
            id: string(o, "id"),
            version: string(o, "version"),
            env: string(o, "env"),
        }),
        mini_program: sub("miniProgram").map(|o| MiniProgram {
            platform: string(o, "platform").unwrap_or_default(),
            scene: uint(o, "scene"),
            base_library_version: string(o, "baseLibraryVersion"),
            host_version: string(o, "hostVersion"),
            launch_path: string(o, "launchPath"),
        }),
        network: sub("network").and_then(|o| string(o, "type").map(|kind| Network { kind })),
        device: sub("device").map(|o| Device {
            brand: string(o, "brand"),
            model: string(o, "model"),
        }),
        os: sub("os").map(|o| Os {
            name: string(o, "name").unwrap_or_default(),
            version: string(o, "version"),
        }),
        screen: sub("screen").and_then(|o| {
            Some(Screen {
                width: uint(o, "width")?,
                height: uint(o, "height")?,
                density: None,
            })
        }),
        locale: string(m, "locale"),
        timezone: string(m, "timezone"),
        user_agent: string(m, "userAgent"),
        ..Context::default()
    }
}

/// `screen.density` of a host context object (see [`context`]) as its JSON number literal,
/// written out verbatim with the context; only when the screen has its width and height (as
/// [`context`] requires for a `screen`).
pub fn density(v: &Json) -> Option<Box<str>> {
    let o = obj(field(obj(v), "screen")?);
    uint(o, "width")?;
    uint(o, "height")?;
    match field(o, "density")? {
        Json::Num(n) => Some(n.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn context_matches_the_derived_deserializer() {
        let v = json!({
            "library": {"name": "l", "version": "1"},
            "app": {"id": "wx1", "version": "2.0", "env": "release"},
            "miniProgram": {"platform": "wechat", "scene": 1047, "baseLibraryVersion": "3.4.0",
                            "hostVersion": "8.0.50", "launchPath": "pages/a/a"},
            "page": {"path": "p", "query": "a=1", "referrer": "r", "title": "t", "url": "u"},
            "campaign": {"source": "s", "medium": "m", "name": "n", "term": "t", "content": "c"},
            "share": {"sharerId": "x", "depth": 2, "method": "message"},
            "network": {"type": "wifi"},
            "device": {"brand": "Apple", "model": "iPhone"},
            "os": {"name": "iOS", "version": "17"},
            "screen": {"width": 390, "height": 844, "density": 2.75},
            "locale": "zh_CN", "timezone": "Asia/Shanghai", "sessionId": "s1",
            "firstDay": true, "userAgent": "ua"
        });
        let mut derived: Context = serde_json::from_value(v.clone()).unwrap();
        assert!(derived.page.is_some() && derived.session_id.is_some());
        // Not read: the core sets these itself.
        derived.library = None;
        derived.page = None;
        derived.campaign = None;
        derived.share = None;
        derived.session_id = None;
        derived.first_day = None;
        // Kept as its literal, apart.
        derived.screen.as_mut().unwrap().density = None;
        let ours = Json::from(v);
        assert_eq!(context(&ours), derived);
        assert_eq!(density(&ours).as_deref(), Some("2.75"));
        assert_eq!(context(&Json::Null), Context::default());
        let partial = Json::from(json!({"screen": {"width": 1, "density": 2}}));
        assert_eq!(context(&partial).screen, None);
        assert_eq!(density(&partial), None);
    }

    #[test]
    fn lenient_scalars() {
        let m = jv_obj(json!({"a": "1", "b": 2, "c": -1, "d": null, "e": 1.5, "f": 1e3}));
        assert_eq!(uint(&m, "a"), Some(1));
        assert_eq!(uint(&m, "b"), Some(2));
        assert_eq!(uint(&m, "c"), None);
        assert_eq!(string(&m, "b").as_deref(), Some("2"));
        assert_eq!(string(&m, "d"), None);
        assert_eq!(number(&m, "e"), Some(1.5));
        assert_eq!(number(&m, "f"), Some(1000.0));
    }

    fn jv_obj(v: serde_json::Value) -> Obj {
        super::super::jv::obj_of(v)
    }
}
