//! The page a browser location is, as pure functions: the route key that decides whether a
//! history change is a new page view (path and query; a `#hash` change is not), and the core
//! inputs for the launch and for each page view.

use crate::core::jv::{Json, Obj};

use crate::core::channel::parse_query;
use crate::core::{LaunchOptions, PageView};

/// `location.pathname` and `location.search` of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    /// `/detail`.
    pub path: String,
    /// `?sku=tea-001` (empty when none).
    pub search: String,
}

impl Route {
    /// From `location.pathname` / `location.search`. An empty path is `/`; a lone `?` is no
    /// query.
    pub fn new(path: &str, search: &str) -> Self {
        Route {
            path: if path.is_empty() { "/" } else { path }.to_owned(),
            search: if search == "?" { "" } else { search }.to_owned(),
        }
    }

    /// The decoded query as the core's query object (`{sku: "tea-001"}`; a repeated key keeps
    /// its first value).
    pub fn query(&self) -> Obj {
        let mut m = Obj::new();
        for (k, v) in parse_query(&self.search) {
            if !k.is_empty() {
                m.insert_if_absent(k, Json::Str(v));
            }
        }
        m
    }

    /// The core input for a page view of this route.
    pub fn page_view(&self, title: &str) -> PageView {
        PageView {
            path: self.path.clone(),
            query: self.query(),
            title: (!title.is_empty()).then(|| title.to_owned()),
        }
    }

    /// The core input for the launch (and each return to the foreground) on this route: its
    /// query carries UTM fields and the share chain, which the core reads.
    pub fn launch(&self) -> LaunchOptions {
        LaunchOptions {
            path: Some(self.path.clone()),
            query: self.query(),
            scene: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_compare_by_path_and_query() {
        let a = Route::new("/detail", "?sku=tea-001");
        assert_eq!(a, Route::new("/detail", "?sku=tea-001"));
        assert_ne!(a, Route::new("/detail", "?sku=tea-002"));
        assert_ne!(a, Route::new("/list", "?sku=tea-001"));
        assert_eq!(Route::new("", "?"), Route::new("/", ""));
    }

    #[test]
    fn inputs_for_the_core() {
        let r = Route::new(
            "/list",
            "?category=tea&utm_source=poster&q=a%20b&category=x&=y",
        );
        let q = r.query();
        assert_eq!(q.len(), 3);
        assert_eq!(q["category"], "tea");
        assert_eq!(q["q"], "a b");
        let v = r.page_view("Tea");
        assert_eq!(v.path, "/list");
        assert_eq!(v.title.as_deref(), Some("Tea"));
        assert_eq!(r.page_view("").title, None);
        let l = r.launch();
        assert_eq!(l.path.as_deref(), Some("/list"));
        assert_eq!(l.query["utm_source"], "poster");
        assert_eq!(l.scene, None);
    }
}
