//! The owned message model: what the SDK builds and serializes, following the Segment HTTP
//! Tracking API, with the mini-program context under `context`.
//!
//! Every optional field is skipped when empty so an event costs only the bytes it carries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The six Segment message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageType {
    /// A named action (`event`), code-tracked or automatic (`$click`, ...).
    Track,
    /// A page view (mini-program page or web page); `name` is the page path or title.
    Page,
    /// A native-app screen view (accepted for Segment compatibility).
    Screen,
    /// Ties `userId` to the current `anonymousId` and sets user `traits`.
    Identify,
    /// Merges `previousId` into `userId`.
    Alias,
    /// Associates the user with `groupId` and its `traits`.
    Group,
}

impl MessageType {
    /// Every type.
    pub const ALL: [MessageType; 6] = [
        Self::Track,
        Self::Page,
        Self::Screen,
        Self::Identify,
        Self::Alias,
        Self::Group,
    ];
    /// The wire form.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Track => "track",
            Self::Page => "page",
            Self::Screen => "screen",
            Self::Identify => "identify",
            Self::Alias => "alias",
            Self::Group => "group",
        }
    }
    /// Parses the wire form (exact, lowercase).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Reserved automatic event names; any other `event` beginning with `$` is rejected.
pub mod reserved {
    /// The mini-program / web app cold-started.
    pub const APP_LAUNCH: &str = "$app_launch";
    /// The app came to the foreground.
    pub const APP_SHOW: &str = "$app_show";
    /// The app went to the background; carries `duration_ms` of the visit.
    pub const APP_HIDE: &str = "$app_hide";
    /// A page was left; carries `duration_ms` and `referrer`.
    pub const PAGE_LEAVE: &str = "$page_leave";
    /// A tap / long-press on a tracked element.
    pub const CLICK: &str = "$click";
    /// An element was visible long enough.
    pub const EXPOSURE: &str = "$exposure";
    /// The user shared a page.
    pub const SHARE: &str = "$share";
    /// SDK self-report: events dropped on the device (queue overflow, sampling), with counts.
    pub const SDK_DIAGNOSTIC: &str = "$sdk_diagnostic";
    /// Every reserved name.
    pub const ALL: [&str; 8] = [
        APP_LAUNCH,
        APP_SHOW,
        APP_HIDE,
        PAGE_LEAVE,
        CLICK,
        EXPOSURE,
        SHARE,
        SDK_DIAGNOSTIC,
    ];
    /// Whether `name` is reserved.
    pub fn is_reserved(name: &str) -> bool {
        ALL.contains(&name)
    }
}

/// One message as the SDK sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// 128-bit random id (UUID text form), the dedup key.
    pub message_id: String,
    /// The message type.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Track: the event name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Page/screen: the page name (mini-program: route path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Device-scoped id created after consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_id: Option<String>,
    /// App-assigned user id after `identify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Alias: the id being merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_id: Option<String>,
    /// Group: the group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// When it happened on the device clock, RFC 3339 with milliseconds.
    pub timestamp: String,
    /// Where and on what it happened.
    #[serde(default, skip_serializing_if = "Context::is_empty")]
    pub context: Context,
    /// Event properties (track/page/screen).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
    /// User or group traits (identify/group).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: Map<String, Value>,
}

/// The request body of `POST /v1/batch` as the SDK sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Batch {
    /// The messages.
    pub batch: Vec<Message>,
    /// When this attempt was sent, on the device clock; drives clock-skew correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
}

macro_rules! empty_check {
    ($t:ty { $($f:ident),* }) => {
        impl $t {
            /// True when no field is set (the object is then left out of the JSON).
            pub fn is_empty(&self) -> bool { true $(&& self.$f.is_none())* }
        }
    };
}

/// `context`: everything about where an event happened. Field names follow Segment's context
/// where Segment has one (`app`, `campaign`, `device`, `library`, `network`, `os`, `page`,
/// `screen`, `locale`, `timezone`), plus `miniProgram`, `share` and `sessionId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    /// The SDK that built the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<Library>,
    /// The host app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<App>,
    /// Mini-program specifics: platform, scene, base library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mini_program: Option<MiniProgram>,
    /// The current page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
    /// UTM fields of the visit (Segment's name for them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<Campaign>,
    /// How the visit arrived through a share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Share>,
    /// Network type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    /// Screen in logical pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen: Option<Screen>,
    /// BCP 47 language tag of the host (`zh_CN` as reported by WeChat is sent as is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// IANA zone name, or the UTC offset in minutes as a string when the host knows only that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The SDK session (a new one after the idle timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// True on every event of the device's first calendar day (host time zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_day: Option<bool>,
    /// The browser user agent (web only; mini-programs send device fields instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}
empty_check!(Context {
    library,
    app,
    mini_program,
    page,
    campaign,
    share,
    network,
    device,
    os,
    screen,
    locale,
    timezone,
    session_id,
    first_day,
    user_agent
});

/// `context.library`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Library {
    /// `maidian-miniprogram`, `maidian-web`, ...
    pub name: String,
    /// The SDK version.
    pub version: String,
}

/// `context.app`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    /// Platform app id (WeChat `wx...` appid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The app's own version string (`accountInfo.miniProgram.version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `develop`, `trial` or `release` (WeChat `envVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// `context.miniProgram`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MiniProgram {
    /// `wechat`, `alipay`, `bytedance`, `baidu`, `qq` or `web`.
    pub platform: String,
    /// Launch scene value (WeChat 1001 = discover, 1047 = QR code, 1007 = share, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene: Option<u32>,
    /// Base-library (`SDKVersion`) version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_library_version: Option<String>,
    /// Host app (WeChat) version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_version: Option<String>,
    /// Path the app was launched with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_path: Option<String>,
}

/// `context.page`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// Route path (`pages/detail/detail`) or URL path on the web.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The page's query as a URL-encoded string (`id=42&from=home`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Previous page path (or `document.referrer` on the web).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    /// Page title when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Full URL (web only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `context.campaign` — UTM fields (`utm_source` is `source`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// `utm_source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `utm_medium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// `utm_campaign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `utm_term`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term: Option<String>,
    /// `utm_content`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}
empty_check!(Campaign {
    source,
    medium,
    name,
    term,
    content
});

/// `context.share` — the share chain of the visit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Share {
    /// The sharer's anonymous id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharer_id: Option<String>,
    /// 1 for a direct share, 2 for a share of a shared page, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// `message` (chat), `timeline`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// `context.network`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// `wifi`, `2g`, `3g`, `4g`, `5g`, `unknown`, `none`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `context.device`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Manufacturer brand (`iPhone`, `HUAWEI`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Model (`iPhone 15<iPhone16,1>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// `context.os`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Os {
    /// `iOS`, `Android`, `Windows`, `macOS`, ...
    pub name: String,
    /// Version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `context.screen`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Screen {
    /// Width in logical pixels.
    pub width: u32,
    /// Height in logical pixels.
    pub height: u32,
    /// Device pixel ratio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_left_out() {
        let m = Message {
            message_id: "0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f".into(),
            kind: MessageType::Track,
            event: Some("add_to_cart".into()),
            name: None,
            anonymous_id: Some("a1".into()),
            user_id: None,
            previous_id: None,
            group_id: None,
            timestamp: "2026-11-24T17:10:46.123Z".into(),
            context: Context::default(),
            properties: Map::new(),
            traits: Map::new(),
        };
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"messageId":"0b6f7b7e-2f4c-4d6e-9f60-0c1b2a3d4e5f","type":"track","event":"add_to_cart","anonymousId":"a1","timestamp":"2026-11-24T17:10:46.123Z"}"#
        );
    }

    #[test]
    fn types_parse() {
        for t in MessageType::ALL {
            assert_eq!(MessageType::parse(t.as_str()), Some(t));
        }
        assert_eq!(MessageType::parse("Track"), None);
    }
}
