//! Channel attribution: how the visit arrived.
//!
//! - UTM fields (`utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`) are read,
//!   in this order of precedence, from the launch query itself, from `query.scene` (the
//!   URL-encoded string a mini-program code carries, e.g. `utm_source%3Dposter`), and from `q`
//!   (the URL-encoded URL of a scanned ordinary QR code, whose own query carries them).
//! - The share chain (`md_sharer` = the sharer's anonymous id, `md_depth`, `md_method`) is read
//!   from the query of a page opened from a share, and written into share paths by
//!   [`augment_share_path`] only when the app enabled it.
//!
//! Also the small URL-query codec the rest of the core uses (no `url` crate: size).

use super::jv::{Json, Obj};
use maidian_protocol::message::{Campaign, Share};

use super::text::{split_ascii, split_once_ascii};

/// Query parameter carrying the sharer's anonymous id.
pub const SHARER_PARAM: &str = "md_sharer";
/// Query parameter carrying the share depth of the shared page.
pub const DEPTH_PARAM: &str = "md_depth";
/// Query parameter carrying the share method (`message`, `timeline`).
pub const METHOD_PARAM: &str = "md_method";

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `s` (`+` as space when `plus` is set). Invalid escapes are kept as they are;
/// invalid UTF-8 is replaced.
pub fn percent_decode(s: &str, plus: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Percent-encodes `s` for a query component (everything but `A-Za-z0-9-._~`).
pub fn percent_encode(s: &str, out: &mut String) {
    const D: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(D[usize::from(b >> 4)]));
            out.push(char::from(D[usize::from(b & 15)]));
        }
    }
}

/// Splits `a=1&b=2` into decoded pairs (a leading `?` and a `#fragment` are ignored).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    let q = q.strip_prefix('?').unwrap_or(q);
    let q = split_once_ascii(q, b'#').map_or(q, |(q, _)| q);
    split_ascii(q, b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = split_once_ascii(p, b'=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The text of a query value as the host gave it (strings as is, numbers/bools as JSON).
pub fn value_text(v: &Json) -> Option<String> {
    match v {
        Json::Str(s) => Some(s.clone()),
        // The literal, as the host wrote it.
        Json::Num(n) => Some(String::from(&**n)),
        Json::Bool(b) => Some(if *b { "true" } else { "false" }.into()),
        _ => None,
    }
}

/// A host query object (`{id: "42", from: "home"}`, values already decoded, as WeChat gives
/// `options.query`) as decoded pairs.
pub fn query_pairs(query: &Obj) -> Vec<(String, String)> {
    query
        .iter()
        .filter_map(|(k, v)| value_text(v).map(|t| (k.clone(), t)))
        .collect()
}

/// Encodes pairs as `a=1&b=2`.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(k, &mut out);
        out.push('=');
        percent_encode(v, &mut out);
    }
    out
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn utm_of(pairs: &[(String, String)]) -> Option<Campaign> {
    let f = |k: &str| get(pairs, k).map(str::to_owned);
    let c = Campaign {
        source: f("utm_source"),
        medium: f("utm_medium"),
        name: f("utm_campaign"),
        term: f("utm_term"),
        content: f("utm_content"),
    };
    (!c.is_empty()).then_some(c)
}

/// The UTM fields of a launch query: from the query, else from the URL-encoded `scene`, else
/// from the QR code URL in `q`.
pub fn campaign_from_query(pairs: &[(String, String)]) -> Option<Campaign> {
    if let Some(c) = utm_of(pairs) {
        return Some(c);
    }
    if let Some(scene) = get(pairs, "scene") {
        // `scene` arrives URL-encoded once more (WeChat: decodeURIComponent(query.scene)).
        if let Some(c) = utm_of(&parse_query(&percent_decode(scene, false))) {
            return Some(c);
        }
    }
    if let Some(q) = get(pairs, "q") {
        let url = percent_decode(q, false);
        if let Some((_, query)) = split_once_ascii(&url, b'?') {
            return utm_of(&parse_query(query));
        }
    }
    None
}

/// The share chain of a visit opened from a share.
pub fn share_from_query(pairs: &[(String, String)]) -> Option<Share> {
    let sharer = get(pairs, SHARER_PARAM)?;
    Some(Share {
        sharer_id: Some(sharer.to_owned()),
        depth: Some(
            get(pairs, DEPTH_PARAM)
                .and_then(super::text::parse_u32)
                .unwrap_or(1)
                .clamp(1, 1000),
        ),
        method: get(pairs, METHOD_PARAM).map(str::to_owned),
    })
}

/// `path` (optionally with a query) with the share chain set: any previous `md_*` share
/// parameters are replaced, the others kept in order.
pub fn augment_share_path(path: &str, sharer: &str, depth: u32, method: Option<&str>) -> String {
    let (base, query) = split_once_ascii(path, b'?').unwrap_or((path, ""));
    let mut pairs: Vec<(String, String)> = parse_query(query)
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), SHARER_PARAM | DEPTH_PARAM | METHOD_PARAM))
        .collect();
    pairs.push((SHARER_PARAM.into(), sharer.into()));
    pairs.push((DEPTH_PARAM.into(), super::text::dec(depth.into())));
    if let Some(m) = method.filter(|m| !m.is_empty()) {
        pairs.push((METHOD_PARAM.into(), m.into()));
    }
    super::text::cat(&[base, "?", &encode_query(&pairs)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        parse_query(q)
    }

    #[test]
    fn codec() {
        assert_eq!(percent_decode("a%20b+c%2", true), "a b c%2");
        assert_eq!(percent_decode("%E5%9F%8B%e7%82%b9", false), "埋点");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz", false), "%zz");
        assert_eq!(percent_decode("%FF", false), "\u{fffd}");
        let mut s = String::new();
        percent_encode("a b&c=埋", &mut s);
        assert_eq!(s, "a%20b%26c%3D%E5%9F%8B");
        assert_eq!(
            pairs("?a=1&b=x%20y&&c#frag"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new())
            ]
        );
        let p = pairs("k=%E5%9F%8B&x=1%262");
        assert_eq!(parse_query(&encode_query(&p)), p);
    }

    #[test]
    fn utm_from_query_directly() {
        let c = campaign_from_query(&pairs("utm_source=wechat&utm_campaign=spring&id=3"));
        let c = c.unwrap();
        assert_eq!(c.source.as_deref(), Some("wechat"));
        assert_eq!(c.name.as_deref(), Some("spring"));
        assert_eq!(c.medium, None);
    }

    #[test]
    fn utm_from_encoded_scene() {
        // options.query = { scene: "utm_source%3Dposter%26utm_medium%3Doffline" }
        let p = vec![(
            "scene".to_owned(),
            "utm_source%3Dposter%26utm_medium%3Doffline".to_owned(),
        )];
        let c = campaign_from_query(&p).unwrap();
        assert_eq!(c.source.as_deref(), Some("poster"));
        assert_eq!(c.medium.as_deref(), Some("offline"));
        // A scene without UTM (plain id) gives nothing.
        let p = vec![("scene".to_owned(), "shop42".to_owned())];
        assert_eq!(campaign_from_query(&p), None);
    }

    #[test]
    fn utm_from_qr_q() {
        let p = vec![(
            "q".to_owned(),
            "https%3A%2F%2Fshop.example.com%2Fp%3Futm_source%3Dqr%26utm_content%3Dtable%25207"
                .to_owned(),
        )];
        let c = campaign_from_query(&p).unwrap();
        assert_eq!(c.source.as_deref(), Some("qr"));
        assert_eq!(c.content.as_deref(), Some("table 7"));
    }

    #[test]
    fn direct_query_wins_over_scene() {
        let p = vec![
            ("utm_source".to_owned(), "direct".to_owned()),
            ("scene".to_owned(), "utm_source%3Dposter".to_owned()),
        ];
        assert_eq!(
            campaign_from_query(&p).unwrap().source.as_deref(),
            Some("direct")
        );
    }

    #[test]
    fn share_chain_round_trip() {
        let path = augment_share_path(
            "pages/detail/detail?id=42&md_sharer=old&md_depth=1",
            "anon-1",
            2,
            Some("message"),
        );
        assert_eq!(
            path,
            "pages/detail/detail?id=42&md_sharer=anon-1&md_depth=2&md_method=message"
        );
        let (_, q) = path.split_once('?').unwrap();
        let s = share_from_query(&pairs(q)).unwrap();
        assert_eq!(s.sharer_id.as_deref(), Some("anon-1"));
        assert_eq!(s.depth, Some(2));
        assert_eq!(s.method.as_deref(), Some("message"));
        assert_eq!(
            augment_share_path("pages/index/index", "a", 1, None),
            "pages/index/index?md_sharer=a&md_depth=1"
        );
        assert_eq!(share_from_query(&pairs("id=1")), None);
        let bad_depth = share_from_query(&pairs("md_sharer=a&md_depth=x")).unwrap();
        assert_eq!(bad_depth.depth, Some(1));
    }
}
