//! Auto-tracking rules: what raw host events become `page`, `$page_leave`, `$click` and
//! `$exposure`. The wrapper only forwards raw events (page shown / hidden, a handler called
//! with a tap, intersection entries); every rule lives here.
//!
//! - **Pages:** a page view starts on show and ends on hide/unload (or implicitly when another
//!   page shows without a hide); `$page_leave` carries `duration_ms`, and the next page's
//!   `context.page.referrer` is the path of the page left.
//! - **Clicks:** only the element id, the handler name, the event kind and the allow-listed
//!   scalar `data-*` values are recorded ([`filter_dataset`]) — never text typed by the user.
//! - **Exposure:** an element counts as exposed when its visible ratio stays at or above
//!   `exposureRatio` for `exposureDwellMs` while its page is shown; at most once per page view,
//!   per session or per visibility (config), keyed by a stable element key. A dip below the ratio
//!   resets the dwell. Elements tracked at once are capped (long lists).

use super::jv::{Json, Obj};

use super::config::Frequency;

/// Longest dataset string value copied (longer values are dropped, not cut).
pub const MAX_DATASET_STRING: usize = 256;

/// Most element keys remembered per session for session frequency (oldest forgotten).
pub const MAX_SESSION_KEYS: usize = 2000;

/// The scalar dataset entries whose key is in `allow` or starts with `prefix`.
pub fn filter_dataset(dataset: &Obj, allow: &[String], prefix: &str, out: &mut Obj) {
    for (k, v) in dataset {
        let allowed = allow.iter().any(|a| a == k) || (!prefix.is_empty() && k.starts_with(prefix));
        let scalar = match v {
            Json::Str(s) => s.len() <= MAX_DATASET_STRING,
            Json::Num(_) | Json::Bool(_) => true,
            _ => false,
        };
        if allowed && scalar && !out.contains_key(k) {
            out.insert(k.clone(), v.clone());
        }
    }
}

/// The page currently shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownPage {
    /// Route path.
    pub path: String,
    /// Encoded query.
    pub query: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Path of the page shown before it.
    pub referrer: Option<String>,
    /// When it was shown (monotonic ms).
    pub shown_at: i64,
}

/// An exposure that met the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// The element key.
    pub key: String,
    /// When it became visible (the event's time).
    pub visible_since: i64,
    /// How long it had been visible when reported.
    pub dwell_ms: i64,
    /// Highest ratio seen during the dwell.
    pub ratio: f64,
    /// Its allow-listed dataset.
    pub dataset: Obj,
}

#[derive(Debug, Clone)]
struct Item {
    visible_since: Option<i64>,
    ratio: f64,
    fired: bool,
    dataset: Obj,
}

/// Exposure rule parameters.
#[derive(Debug, Clone, Copy)]
pub struct ExposureRule {
    /// Visible-ratio threshold.
    pub ratio: f64,
    /// Minimum dwell (ms).
    pub dwell_ms: i64,
    /// Frequency.
    pub frequency: Frequency,
    /// Most elements tracked per page view.
    pub max_keys: usize,
}

/// Exposure state of the current page view (and the session, for session frequency).
#[derive(Debug, Default)]
pub struct Exposures {
    /// Per element key (a small linear map: a page tracks at most `max_keys` elements, and a
    /// `BTreeMap` of it would cost several KB of wasm).
    items: Vec<(String, Item)>,
    /// `page|key` of elements reported this session (session frequency), bounded.
    session_seen: Vec<String>,
}

impl Exposures {
    /// Feeds one entry at `now`; `page` is the path of the page shown (None: no page shown, the
    /// entry only resets dwell). Returns an exposure when a dip ends a completed dwell.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        now: i64,
        page: Option<&str>,
        key: &str,
        ratio: f64,
        dataset: Obj,
        rule: &ExposureRule,
    ) -> Option<Fired> {
        if key.is_empty() || !ratio.is_finite() {
            return None;
        }
        let i = match self.items.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None if self.items.len() >= rule.max_keys => return None,
            None => {
                self.items.push((
                    key.to_owned(),
                    Item {
                        visible_since: None,
                        ratio: 0.0,
                        fired: false,
                        dataset: Obj::new(),
                    },
                ));
                self.items.len() - 1
            }
        };
        let item = &mut self.items[i].1;
        if !dataset.is_empty() {
            item.dataset = dataset;
        }
        let visible = ratio >= rule.ratio && page.is_some();
        if visible {
            if item.visible_since.is_none() {
                item.visible_since = Some(now);
                item.ratio = ratio;
            } else {
                item.ratio = item.ratio.max(ratio);
            }
            return None;
        }
        // Not visible: a completed dwell is reported before the reset.
        let fired = page.and_then(|p| self.fire_if_due(now, p, key, rule));
        if let Some(item) = self.get_mut(key) {
            item.visible_since = None;
            if rule.frequency == Frequency::Always {
                item.fired = false;
            }
        }
        fired
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Item> {
        self.items
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, i)| i)
    }

    fn fire_if_due(
        &mut self,
        now: i64,
        page: &str,
        key: &str,
        rule: &ExposureRule,
    ) -> Option<Fired> {
        let item = self.get_mut(key)?;
        let since = item.visible_since?;
        if item.fired || now - since < rule.dwell_ms {
            return None;
        }
        item.fired = true;
        let fired = Fired {
            key: key.to_owned(),
            visible_since: since,
            dwell_ms: now - since,
            ratio: item.ratio,
            dataset: item.dataset.clone(),
        };
        if rule.frequency == Frequency::Session {
            let k = super::text::cat(&[page, "|", key]);
            if self.session_seen.contains(&k) {
                return None;
            }
            if self.session_seen.len() >= MAX_SESSION_KEYS {
                self.session_seen.remove(0);
            }
            self.session_seen.push(k);
        }
        Some(fired)
    }

    /// Every exposure whose dwell is complete at `now`.
    pub fn due(&mut self, now: i64, page: &str, rule: &ExposureRule) -> Vec<Fired> {
        let keys: Vec<String> = self
            .items
            .iter()
            .filter(|(_, i)| !i.fired && i.visible_since.is_some_and(|s| now - s >= rule.dwell_ms))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .filter_map(|k| self.fire_if_due(now, page, k, rule))
            .collect()
    }

    /// When the next dwell completes.
    pub fn next_wake(&self, rule: &ExposureRule) -> Option<i64> {
        self.items
            .iter()
            .map(|(_, i)| i)
            .filter(|i| !i.fired)
            .filter_map(|i| i.visible_since)
            .min()
            .map(|s| s.saturating_add(rule.dwell_ms))
    }

    /// The page (or app) was hidden at `now`: completed dwells are reported, the rest reset.
    pub fn hidden(&mut self, now: i64, page: &str, rule: &ExposureRule) -> Vec<Fired> {
        let fired = self.due(now, page, rule);
        for (_, i) in &mut self.items {
            i.visible_since = None;
            if rule.frequency == Frequency::Always {
                i.fired = false;
            }
        }
        fired
    }

    /// A new page view: per-page-view state starts over.
    pub fn new_page_view(&mut self) {
        self.items.clear();
    }

    /// A new session: session frequency starts over.
    pub fn new_session(&mut self) {
        self.session_seen.clear();
    }

    /// Forget everything (consent denied).
    pub fn clear(&mut self) {
        self.items.clear();
        self.session_seen.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(frequency: Frequency) -> ExposureRule {
        ExposureRule {
            ratio: 0.5,
            dwell_ms: 500,
            frequency,
            max_keys: 3,
        }
    }

    const P: Option<&str> = Some("pages/list/list");

    #[test]
    fn dataset_allow_list_and_prefix() {
        let ds = crate::core::jv::obj_of(serde_json::json!({
            "goodsId": 42, "mdPos": "top", "comment": "typed text", "mdObj": {"a": 1},
            "mdLong": "x".repeat(MAX_DATASET_STRING + 1)
        }));
        let mut out = Obj::new();
        filter_dataset(&ds, &["goodsId".into()], "md", &mut out);
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out.get("goodsId"), Some(&Json::uint(42)));
        assert_eq!(out.get("mdPos"), Some(&Json::from("top")));
        assert!(!out.contains_key("comment") && !out.contains_key("mdObj"));
        let mut none = Obj::new();
        filter_dataset(&ds, &[], "", &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn dwell_and_ratio() {
        let r = rule(Frequency::PageView);
        let mut e = Exposures::default();
        assert_eq!(e.observe(0, P, "a", 0.4, Obj::new(), &r), None);
        assert_eq!(e.next_wake(&r), None);
        assert_eq!(e.observe(100, P, "a", 0.6, Obj::new(), &r), None);
        assert_eq!(e.next_wake(&r), Some(600));
        assert!(e.due(599, P.unwrap(), &r).is_empty());
        // A dip before the dwell resets it.
        assert_eq!(e.observe(400, P, "a", 0.1, Obj::new(), &r), None);
        assert_eq!(e.next_wake(&r), None);
        e.observe(1000, P, "a", 1.0, Obj::new(), &r);
        let f = e.due(1500, P.unwrap(), &r);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].visible_since, f[0].dwell_ms, f[0].ratio),
            (1000, 500, 1.0)
        );
        // Once per page view.
        e.observe(1600, P, "a", 0.0, Obj::new(), &r);
        e.observe(1700, P, "a", 1.0, Obj::new(), &r);
        assert!(e.due(9000, P.unwrap(), &r).is_empty());
        e.new_page_view();
        e.observe(9000, P, "a", 1.0, Obj::new(), &r);
        assert_eq!(e.due(9500, P.unwrap(), &r).len(), 1);
    }

    #[test]
    fn a_dip_after_a_full_dwell_reports_even_without_tick() {
        let r = rule(Frequency::PageView);
        let mut e = Exposures::default();
        e.observe(0, P, "a", 0.9, Obj::new(), &r);
        let f = e.observe(800, P, "a", 0.0, Obj::new(), &r).unwrap();
        assert_eq!(f.dwell_ms, 800);
    }

    #[test]
    fn frequencies() {
        let r = rule(Frequency::Always);
        let mut e = Exposures::default();
        for t in [0, 1000] {
            e.observe(t, P, "a", 1.0, Obj::new(), &r);
            assert_eq!(e.due(t + 500, P.unwrap(), &r).len(), 1);
            e.observe(t + 600, P, "a", 0.0, Obj::new(), &r);
        }
        let r = rule(Frequency::Session);
        let mut e = Exposures::default();
        e.observe(0, P, "a", 1.0, Obj::new(), &r);
        assert_eq!(e.due(500, P.unwrap(), &r).len(), 1);
        e.new_page_view();
        e.observe(600, P, "a", 1.0, Obj::new(), &r);
        assert!(e.due(2000, P.unwrap(), &r).is_empty());
        e.new_session();
        e.new_page_view();
        e.observe(3000, P, "a", 1.0, Obj::new(), &r);
        assert_eq!(e.due(3500, P.unwrap(), &r).len(), 1);
    }

    #[test]
    fn hidden_page_and_caps() {
        let r = rule(Frequency::PageView);
        let mut e = Exposures::default();
        // No page shown: never visible.
        e.observe(0, None, "x", 1.0, Obj::new(), &r);
        assert_eq!(e.next_wake(&r), None);
        e.observe(0, P, "a", 1.0, Obj::new(), &r);
        e.observe(0, P, "b", 1.0, Obj::new(), &r);
        e.observe(0, P, "c", 1.0, Obj::new(), &r); // over the cap of 3 (x, a, b)
        let f = e.hidden(300, P.unwrap(), &r);
        assert!(f.is_empty());
        assert_eq!(e.next_wake(&r), None);
        e.observe(400, P, "a", 1.0, Obj::new(), &r);
        assert_eq!(e.hidden(900, P.unwrap(), &r).len(), 1);
    }
}
