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

use serde_json::{Map, Value};

use maidian_protocol::Context;
use maidian_protocol::message::{App, Device, MiniProgram, Network, Os, Screen};

/// The object at `v`, or an empty one.
pub fn obj(v: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match v {
        Value::Object(m) => m,
        _ => EMPTY.get_or_init(Map::new),
    }
}

/// Removes `key` from `map`, returning its value.
///
/// The map is rebuilt from its other entries with `insert` instead of calling `BTreeMap::remove`:
/// removal monomorphizes the B-tree's rebalancing (steal, merge, parent fix-up) for
/// `<String, Value>`, ≈ 6 KB of wasm, for the only two removals in the core (`unregister` and
/// redaction `drop` rules), both on small property maps. Same entries, same (sorted) order.
pub fn remove_key(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    if !map.contains_key(key) {
        return None;
    }
    let mut removed = None;
    for (k, v) in std::mem::take(map) {
        if k == key {
            removed = Some(v);
        } else {
            map.insert(k, v);
        }
    }
    removed
}

/// A non-null field.
pub fn field<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !v.is_null())
}

/// A string field (numbers are accepted as their text, as hosts mix them up).
pub fn string(m: &Map<String, Value>, k: &str) -> Option<String> {
    match field(m, k)? {
        Value::String(s) => Some(s.clone()),
        // What serde_json's `Display` for numbers writes: decimal / zmij.
        Value::Number(n) => {
            let mut s = String::new();
            super::json_write::number(&mut s, n);
            Some(s)
        }
        _ => None,
    }
}

/// A non-negative integer field that fits `u32` (numbers or numeric strings).
pub fn uint(m: &Map<String, Value>, k: &str) -> Option<u32> {
    match field(m, k)? {
        Value::Number(n) => n.as_u64().and_then(|x| u32::try_from(x).ok()),
        Value::String(s) => super::text::parse_u32(s),
        _ => None,
    }
}

/// A number field.
pub fn number(m: &Map<String, Value>, k: &str) -> Option<f64> {
    field(m, k)?.as_f64()
}

/// A boolean field.
pub fn boolean(m: &Map<String, Value>, k: &str) -> Option<bool> {
    field(m, k)?.as_bool()
}

/// An object field (cloned), or empty.
pub fn object(m: &Map<String, Value>, k: &str) -> Map<String, Value> {
    match field(m, k) {
        Some(Value::Object(o)) => o.clone(),
        _ => Map::new(),
    }
}

/// The static part of `context` from a host object in the protocol's camelCase shape
/// (`{app: {id, version, env}, device: {brand, model}, os: {name, version}, ...}`): what the
/// core keeps of the configured context. `library`, `page`, `campaign`, `share`, `sessionId`
/// and `firstDay` are not read — the core sets them itself (`Core::new`, `Core::context`), so
/// reading them was code for values thrown away.
pub fn context(v: &Value) -> Context {
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
                density: number(o, "density"),
            })
        }),
        locale: string(m, "locale"),
        timezone: string(m, "timezone"),
        user_agent: string(m, "userAgent"),
        ..Context::default()
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
            "screen": {"width": 390, "height": 844, "density": 3.0},
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
        assert_eq!(context(&v), derived);
        assert_eq!(context(&json!(null)), Context::default());
        assert_eq!(context(&json!({"screen": {"width": 1}})).screen, None);
    }

    #[test]
    fn lenient_scalars() {
        let m = obj(&json!({"a": "1", "b": 2, "c": -1, "d": null, "e": 1.5})).clone();
        assert_eq!(uint(&m, "a"), Some(1));
        assert_eq!(uint(&m, "b"), Some(2));
        assert_eq!(uint(&m, "c"), None);
        assert_eq!(string(&m, "b").as_deref(), Some("2"));
        assert_eq!(string(&m, "d"), None);
        assert_eq!(number(&m, "e"), Some(1.5));
    }

    #[test]
    fn remove_key_is_btreemap_remove() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{:02}", (i * 17) % 40)).collect();
        let full: Map<String, Value> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), json!(i)))
            .collect();
        for key in keys.iter().map(String::as_str).chain(["absent", ""]) {
            let (mut ours, mut std) = (full.clone(), full.clone());
            assert_eq!(remove_key(&mut ours, key), std.remove(key), "{key}");
            assert_eq!(ours, std, "{key}");
            assert!(ours.keys().zip(std.keys()).all(|(a, b)| a == b));
        }
        let mut empty = Map::new();
        assert_eq!(remove_key(&mut empty, "x"), None);
    }
}
