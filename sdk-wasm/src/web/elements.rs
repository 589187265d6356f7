//! What the browser host reads from DOM elements, as pure functions over plain facts (the DOM
//! access itself is in `dom.rs` / `exposure.rs`): which element a document click is about, what
//! the core hears of it, and the stable key of an exposure-tracked element.
//!
//! Only structural facts cross: the tag, the `role` and `type` attributes, the `id`, the
//! `data-*` dataset. Never the element's text or an input's value — the core's click rule
//! (`core::autotrack`) then keeps only allow-listed scalar dataset values.

use crate::core::jv::Obj;

use crate::core::Tap;

/// Attribute that opts an element in to click tracking; its value names the click (recorded
/// as `handler`, like a mini-program handler method name).
pub const CLICK_ATTR: &str = "data-md-click";
/// Attribute prefix that also opts an element in (any `data-md-*` attribute, e.g. the
/// `data-md-sku` an exposure-tracked card already carries).
pub const OPT_IN_PREFIX: &str = "data-md-";
/// Attribute that opts an element (and everything inside it) out of click tracking.
pub const IGNORE_ATTR: &str = "data-md-ignore";
/// Attribute carrying an exposure-tracked element's stable key.
pub const KEY_ATTR: &str = "data-md-key";
/// How many ancestors of the click target are examined for a trackable element.
pub const MAX_ANCESTORS: usize = 16;

/// Which elements a document click is recorded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickMode {
    /// Elements that opted in with a `data-md-*` attribute, plus buttons and links
    /// (`<button>`, `<a href>`, `<input type=button|submit|reset|image>`, `<summary>`,
    /// `role=button|link|menuitem|tab`). The default.
    Auto,
    /// Only elements that opted in with a `data-md-*` attribute.
    OptIn,
    /// No click listener at all.
    Off,
}

impl ClickMode {
    /// From the host option `clicks`: `"auto"` (default), `"opt-in"`, `"off"`; anything else is
    /// the default.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("opt-in" | "optIn" | "opt_in") => ClickMode::OptIn,
            Some("off" | "none") => ClickMode::Off,
            _ => ClickMode::Auto,
        }
    }
}

/// The facts about one element on the path from a click target up to the document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElementFacts {
    /// `tagName`, any case.
    pub tag: String,
    /// The `role` attribute.
    pub role: Option<String>,
    /// The `type` attribute (inputs).
    pub input_type: Option<String>,
    /// Whether it has an `href` attribute (links without one are not links).
    pub has_href: bool,
    /// Whether it carries any `data-md-*` attribute other than [`IGNORE_ATTR`].
    pub opted_in: bool,
    /// Whether it carries [`IGNORE_ATTR`].
    pub ignored: bool,
}

/// What to do with an element while walking up from the click target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Record the click for this element.
    Track,
    /// Stop: nothing is recorded for this click (an opted-out subtree).
    Stop,
    /// Look at the parent.
    Up,
}

fn is_button_or_link(f: &ElementFacts) -> bool {
    let tag = f.tag.to_ascii_lowercase();
    let role = f.role.as_deref().map(str::to_ascii_lowercase);
    match tag.as_str() {
        "button" | "summary" => return true,
        "a" | "area" => return f.has_href,
        "input" => {
            return matches!(
                f.input_type
                    .as_deref()
                    .map(str::to_ascii_lowercase)
                    .as_deref(),
                Some("button" | "submit" | "reset" | "image")
            );
        }
        _ => {}
    }
    matches!(
        role.as_deref(),
        Some("button" | "link" | "menuitem" | "tab")
    )
}

/// The verdict for one element under `mode`.
pub fn verdict(f: &ElementFacts, mode: ClickMode) -> Verdict {
    if f.ignored {
        return Verdict::Stop;
    }
    let track = match mode {
        ClickMode::Off => return Verdict::Stop,
        ClickMode::OptIn => f.opted_in,
        ClickMode::Auto => f.opted_in || is_button_or_link(f),
    };
    if track { Verdict::Track } else { Verdict::Up }
}

/// The index (0 = the click target) of the element a click is recorded for, walking up at
/// most [`MAX_ANCESTORS`] elements; `None`: not recorded.
pub fn pick<'a>(
    path: impl IntoIterator<Item = &'a ElementFacts>,
    mode: ClickMode,
) -> Option<usize> {
    for (i, f) in path.into_iter().take(MAX_ANCESTORS).enumerate() {
        match verdict(f, mode) {
            Verdict::Track => return Some(i),
            Verdict::Stop => return None,
            Verdict::Up => {}
        }
    }
    None
}

/// The core input for a click on an element with this `id`, [`CLICK_ATTR`] value and dataset
/// (`element.dataset`: camelCase keys, string values).
pub fn tap(id: &str, name: Option<&str>, dataset: Obj) -> Tap {
    Tap {
        kind: Some("click".into()),
        element_id: (!id.is_empty()).then(|| id.to_owned()),
        handler: name.filter(|n| !n.is_empty()).map(str::to_owned),
        dataset,
    }
}

/// The stable key of an exposure-tracked element: its [`KEY_ATTR`], else its `id`; elements
/// with neither are not tracked (an index alone is not stable across renders).
pub fn exposure_key(md_key: Option<&str>, id: &str) -> Option<String> {
    md_key
        .filter(|k| !k.is_empty())
        .or((!id.is_empty()).then_some(id))
        .map(str::to_owned)
}

/// Whether an attribute name opts an element in to click tracking.
pub fn is_opt_in_attr(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with(OPT_IN_PREFIX) && n != IGNORE_ATTR
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: &str) -> ElementFacts {
        ElementFacts {
            tag: tag.into(),
            ..ElementFacts::default()
        }
    }

    #[test]
    fn modes_parse() {
        assert_eq!(ClickMode::parse(None), ClickMode::Auto);
        assert_eq!(ClickMode::parse(Some("opt-in")), ClickMode::OptIn);
        assert_eq!(ClickMode::parse(Some("off")), ClickMode::Off);
        assert_eq!(ClickMode::parse(Some("bogus")), ClickMode::Auto);
    }

    #[test]
    fn buttons_and_links_count_in_auto_mode_only() {
        let button = el("BUTTON");
        let link = ElementFacts {
            has_href: true,
            ..el("A")
        };
        let anchor = el("A");
        let submit = ElementFacts {
            input_type: Some("Submit".into()),
            ..el("INPUT")
        };
        let text = ElementFacts {
            input_type: Some("text".into()),
            ..el("INPUT")
        };
        let role = ElementFacts {
            role: Some("button".into()),
            ..el("DIV")
        };
        for f in [&button, &link, &submit, &role] {
            assert_eq!(verdict(f, ClickMode::Auto), Verdict::Track, "{f:?}");
            assert_eq!(verdict(f, ClickMode::OptIn), Verdict::Up, "{f:?}");
        }
        for f in [&anchor, &text, &el("DIV"), &el("SPAN")] {
            assert_eq!(verdict(f, ClickMode::Auto), Verdict::Up, "{f:?}");
        }
    }

    #[test]
    fn opt_in_and_opt_out() {
        let card = ElementFacts {
            opted_in: true,
            ..el("DIV")
        };
        assert_eq!(verdict(&card, ClickMode::OptIn), Verdict::Track);
        assert_eq!(verdict(&card, ClickMode::Auto), Verdict::Track);
        assert_eq!(verdict(&card, ClickMode::Off), Verdict::Stop);
        let ignored = ElementFacts {
            ignored: true,
            ..el("BUTTON")
        };
        assert_eq!(verdict(&ignored, ClickMode::Auto), Verdict::Stop);
        assert!(is_opt_in_attr("data-md-sku"));
        assert!(is_opt_in_attr("DATA-MD-CLICK"));
        assert!(!is_opt_in_attr("data-md-ignore"));
        assert!(!is_opt_in_attr("data-sku"));
    }

    #[test]
    fn the_nearest_trackable_ancestor_is_picked() {
        // <div data-md-sku><span><b>text</b></span></div>: a click on <b> is the card's.
        let card = ElementFacts {
            opted_in: true,
            ..el("DIV")
        };
        let path = [el("B"), el("SPAN"), card.clone()];
        assert_eq!(pick(&path, ClickMode::Auto), Some(2));
        // An opted-out ancestor below the trackable one hides it.
        let quiet = ElementFacts {
            ignored: true,
            ..el("SECTION")
        };
        assert_eq!(pick(&[el("B"), quiet, card.clone()], ClickMode::Auto), None);
        // Nothing trackable on the path.
        assert_eq!(pick(&[el("P"), el("BODY")], ClickMode::Auto), None);
        // Deeper than MAX_ANCESTORS is not looked at.
        let mut deep = vec![el("SPAN"); MAX_ANCESTORS];
        deep.push(card);
        assert_eq!(pick(&deep, ClickMode::Auto), None);
    }

    #[test]
    fn click_input_and_exposure_keys() {
        let mut ds = Obj::new();
        ds.insert("mdSku".into(), "tea-001".into());
        let t = tap("rec-tea-001", Some("open-product"), ds.clone());
        assert_eq!(t.kind.as_deref(), Some("click"));
        assert_eq!(t.element_id.as_deref(), Some("rec-tea-001"));
        assert_eq!(t.handler.as_deref(), Some("open-product"));
        assert_eq!(t.dataset, ds);
        let t = tap("", Some(""), Obj::new());
        assert_eq!((t.element_id, t.handler), (None, None));

        assert_eq!(exposure_key(Some("k"), "id").as_deref(), Some("k"));
        assert_eq!(exposure_key(Some(""), "id").as_deref(), Some("id"));
        assert_eq!(exposure_key(None, "id").as_deref(), Some("id"));
        assert_eq!(exposure_key(None, ""), None);
    }
}
