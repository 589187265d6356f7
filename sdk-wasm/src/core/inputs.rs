//! The raw host events the core accepts, as plain data (deserialized from JS objects with
//! camelCase keys). The wrapper forwards what the platform gives it; every decision about
//! what becomes an event is the core's.

use super::jv::{Json, Obj};

use super::json::{number, obj, object, string, uint};

/// `App.onLaunch` / `App.onShow` options (WeChat `wx.getLaunchOptionsSync()` shape).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaunchOptions {
    /// The page path the app opened on.
    pub path: Option<String>,
    /// Its query as the platform gives it (values already decoded once).
    pub query: Obj,
    /// The scene value (1047 = QR code, 1007 = shared card, ...).
    pub scene: Option<u32>,
}

/// A page became visible (`Page.onShow`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageView {
    /// Route path (`pages/detail/detail`).
    pub path: String,
    /// The page's `onLoad` query.
    pub query: Obj,
    /// Navigation-bar title when known.
    pub title: Option<String>,
}

/// A tap / long-press handler of a page or component was called with this event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tap {
    /// `tap`, `longpress`, `longtap`.
    pub kind: Option<String>,
    /// The element's `id` attribute (`currentTarget.id`).
    pub element_id: Option<String>,
    /// The handler method's name (`onBuyTap`).
    pub handler: Option<String>,
    /// `currentTarget.dataset`; only allow-listed scalar keys are kept.
    pub dataset: Obj,
}

/// One intersection-observer entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExposureEntry {
    /// A stable element key (`data-md-key`, or the element id; for list items include the
    /// item's id, never its index alone).
    pub key: String,
    /// `intersectionRatio`.
    pub ratio: f64,
    /// The element's dataset; only allow-listed scalar keys are kept.
    pub dataset: Obj,
}

/// `onShareAppMessage` / `onShareTimeline` was called.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareInput {
    /// `message` (chat) or `timeline`.
    pub method: Option<String>,
    /// `button` or `menu` (WeChat `from`).
    pub from: Option<String>,
    /// The path being shared (before augmentation).
    pub path: Option<String>,
}

impl LaunchOptions {
    /// From `{path, query, scene}`.
    pub fn from_json(v: &Json) -> Self {
        let m = obj(v);
        Self {
            path: string(m, "path"),
            query: object(m, "query"),
            scene: uint(m, "scene"),
        }
    }
}

impl PageView {
    /// From `{path, query, title}`.
    pub fn from_json(v: &Json) -> Self {
        let m = obj(v);
        Self {
            path: string(m, "path").unwrap_or_default(),
            query: object(m, "query"),
            title: string(m, "title"),
        }
    }
}

impl Tap {
    /// From `{kind, elementId, handler, dataset}`.
    pub fn from_json(v: &Json) -> Self {
        let m = obj(v);
        Self {
            kind: string(m, "kind"),
            element_id: string(m, "elementId"),
            handler: string(m, "handler"),
            dataset: object(m, "dataset"),
        }
    }
}

impl ExposureEntry {
    /// From `[{key, ratio, dataset}]` (entries without a key are skipped).
    pub fn list_from_json(v: &Json) -> Vec<Self> {
        let Json::Arr(a) = v else {
            return Vec::new();
        };
        a.iter()
            .filter_map(|e| {
                let m = obj(e);
                Some(Self {
                    key: string(m, "key")?,
                    ratio: number(m, "ratio").unwrap_or(0.0),
                    dataset: object(m, "dataset"),
                })
            })
            .collect()
    }
}

impl ShareInput {
    /// From `{method, from, path}`.
    pub fn from_json(v: &Json) -> Self {
        let m = obj(v);
        Self {
            method: string(m, "method"),
            from: string(m, "from"),
            path: string(m, "path"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_host_shapes() {
        let l = LaunchOptions::from_json(&Json::from(
            json!({"path": "p", "scene": 1047, "query": {"a": "1"}}),
        ));
        assert_eq!(
            (l.path.as_deref(), l.scene, l.query.len()),
            (Some("p"), Some(1047), 1)
        );
        let t = Tap::from_json(&Json::from(
            json!({"elementId": "b", "dataset": {"x": 1}, "kind": "tap"}),
        ));
        assert_eq!(t.element_id.as_deref(), Some("b"));
        let e = ExposureEntry::list_from_json(&Json::from(
            json!([{"key": "k", "ratio": 0.7}, {"ratio": 1}]),
        ));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].ratio, 0.7);
        assert_eq!(PageView::from_json(&Json::Null), PageView::default());
        let s = ShareInput::from_json(&Json::from(json!({"method": "message", "path": "p?x=1"})));
        assert_eq!(s.path.as_deref(), Some("p?x=1"));
    }
}
