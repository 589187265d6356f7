//! The raw host events the core accepts, as plain data (deserialized from JS objects with
//! camelCase keys). The wrapper forwards what the platform gives it; every decision about
//! what becomes an event is the core's.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `App.onLaunch` / `App.onShow` options (WeChat `wx.getLaunchOptionsSync()` shape).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LaunchOptions {
    /// The page path the app opened on.
    pub path: Option<String>,
    /// Its query as the platform gives it (values already decoded once).
    pub query: Map<String, Value>,
    /// The scene value (1047 = QR code, 1007 = shared card, ...).
    pub scene: Option<u32>,
}

/// A page became visible (`Page.onShow`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PageView {
    /// Route path (`pages/detail/detail`).
    pub path: String,
    /// The page's `onLoad` query.
    pub query: Map<String, Value>,
    /// Navigation-bar title when known.
    pub title: Option<String>,
}

/// A tap / long-press handler of a page or component was called with this event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Tap {
    /// `tap`, `longpress`, `longtap`.
    pub kind: Option<String>,
    /// The element's `id` attribute (`currentTarget.id`).
    pub element_id: Option<String>,
    /// The handler method's name (`onBuyTap`).
    pub handler: Option<String>,
    /// `currentTarget.dataset`; only allow-listed scalar keys are kept.
    pub dataset: Map<String, Value>,
}

/// One intersection-observer entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ExposureEntry {
    /// A stable element key (`data-md-key`, or the element id; for list items include the
    /// item's id, never its index alone).
    pub key: String,
    /// `intersectionRatio`.
    pub ratio: f64,
    /// The element's dataset; only allow-listed scalar keys are kept.
    pub dataset: Map<String, Value>,
}

/// `onShareAppMessage` / `onShareTimeline` was called.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ShareInput {
    /// `message` (chat) or `timeline`.
    pub method: Option<String>,
    /// `button` or `menu` (WeChat `from`).
    pub from: Option<String>,
    /// The path being shared (before augmentation).
    pub path: Option<String>,
}
