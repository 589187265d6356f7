//! The browser host's own options (the second argument of `new WebHost(config, options)`),
//! read leniently from a JSON object: anything missing or of the wrong type is the default.

use crate::core::jv::Json;

use super::elements::ClickMode;
use crate::core::json::{boolean, obj, string};

/// Default class of exposure-tracked elements (as in the mini-program wrapper).
pub const DEFAULT_EXPOSURE_CLASS: &str = "md-expose";

/// The host options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    /// `clicks`: which elements a document click is recorded for.
    pub clicks: ClickMode,
    /// `exposureClass`: the class of elements observed for exposure (default `md-expose`);
    /// `""` observes nothing.
    pub exposure_class: String,
    /// `history`: patch `history.pushState` / `replaceState` and listen to `popstate` so SPA
    /// route changes are page views (default true).
    pub history: bool,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            clicks: ClickMode::Auto,
            exposure_class: DEFAULT_EXPOSURE_CLASS.to_owned(),
            history: true,
        }
    }
}

impl HostOptions {
    /// From `{clicks, exposureClass, history}`.
    pub fn from_json(v: &Json) -> Self {
        let m = obj(v);
        let d = HostOptions::default();
        HostOptions {
            clicks: ClickMode::parse(string(m, "clicks").as_deref()),
            exposure_class: string(m, "exposureClass")
                .map(|c| c.trim().to_owned())
                .unwrap_or(d.exposure_class),
            history: boolean(m, "history").unwrap_or(d.history),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(HostOptions::from_json(&Json::Null), HostOptions::default());
        assert_eq!(
            HostOptions::from_json(&Json::from(json!({"clicks": 3, "history": "no"}))),
            HostOptions::default()
        );
        let o = HostOptions::from_json(&Json::from(
            json!({"clicks": "opt-in", "exposureClass": " card ", "history": false}),
        ));
        assert_eq!(o.clicks, ClickMode::OptIn);
        assert_eq!(o.exposure_class, "card");
        assert!(!o.history);
    }
}
