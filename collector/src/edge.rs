//! The edge: who is calling and may they. Write-key lookup in constant time, per-project
//! app-id and origin allow-lists (403 `forbidden_origin`), CORS answers, the client address
//! behind trusted proxies, and the token-bucket rate limits (governor) per write key and per
//! client address (429 + `Retry-After`).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hyper::header::{self, HeaderMap, HeaderValue};
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use crate::config::{Project, Rate};
use crate::ingest::ProjectState;

/// A project's access policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Allowed mini-program app ids (empty: any).
    pub app_ids: Vec<String>,
    /// Allowed web origins (empty: any).
    pub origins: Vec<String>,
    /// CORS with credentials.
    pub cors_credentials: bool,
}

impl Policy {
    /// The policy of a configured project.
    pub fn of(p: &Project) -> Self {
        Self {
            app_ids: p.app_ids.clone(),
            origins: p.origins.iter().map(|o| o.to_ascii_lowercase()).collect(),
            cors_credentials: p.cors_credentials,
        }
    }

    fn restricted(&self) -> bool {
        !self.app_ids.is_empty() || !self.origins.is_empty()
    }

    /// Whether `origin` is on the list (an empty list allows any origin).
    pub fn origin_allowed(&self, origin: &str) -> bool {
        self.origins.is_empty() || self.origin_listed(origin)
    }

    /// Whether `origin` is on the list explicitly (or by `*`).
    fn origin_listed(&self, origin: &str) -> bool {
        let origin = origin.to_ascii_lowercase();
        self.origins.iter().any(|pat| origin_matches(pat, &origin))
    }

    /// Whether a request with these headers may send events: an unrestricted project admits
    /// everything; a restricted one only a WeChat mini-program on its app-id list or a web
    /// origin on its origin list.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        if !self.restricted() {
            return true;
        }
        let referer = headers.get(header::REFERER).and_then(|v| v.to_str().ok());
        if let Some(app) = referer.and_then(wechat_app_id)
            && self.app_ids.iter().any(|a| a == app)
        {
            return true;
        }
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        origin.is_some_and(|o| !self.origins.is_empty() && self.origin_listed(o))
    }
}

/// `pattern` (lower case) against `origin` (lower case): exact, `*`, or
/// `scheme://*.domain[:port]` for any subdomain of `domain`.
pub fn origin_matches(pattern: &str, origin: &str) -> bool {
    if pattern == "*" || pattern == origin {
        return true;
    }
    let (Some((ps, phost)), Some((os, ohost))) =
        (pattern.split_once("://"), origin.split_once("://"))
    else {
        return false;
    };
    let Some(suffix) = phost.strip_prefix("*.") else {
        return false;
    };
    ps == os
        && ohost.len() > suffix.len() + 1
        && ohost.ends_with(suffix)
        && ohost.as_bytes()[ohost.len() - suffix.len() - 1] == b'.'
}

/// The app id of a WeChat mini-program request:
/// `Referer: https://servicewechat.com/{appid}/{version}/page-frame.html`.
pub fn wechat_app_id(referer: &str) -> Option<&str> {
    let rest = referer.strip_prefix("https://servicewechat.com/")?;
    let app = rest.split('/').next()?;
    (!app.is_empty() && app.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(app)
}

/// One accepted write key.
#[derive(Debug)]
struct KeyEntry {
    key: Box<[u8]>,
    project: Arc<ProjectState>,
    policy: Arc<Policy>,
}

/// What a write key resolves to.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The key's index (rate-limit bucket).
    pub index: u32,
    /// The project.
    pub project: Arc<ProjectState>,
    /// Its policy.
    pub policy: Arc<Policy>,
}

/// Every write key, compared in constant time.
#[derive(Debug, Default)]
pub struct Keys {
    entries: Vec<KeyEntry>,
    policies: Vec<Arc<Policy>>,
}

impl Keys {
    /// Builds the table from the projects and their states (by name).
    pub fn new(projects: &[Project], state: impl Fn(&str) -> Option<Arc<ProjectState>>) -> Self {
        let mut t = Self::default();
        for p in projects {
            let Some(s) = state(&p.name) else { continue };
            let policy = Arc::new(Policy::of(p));
            t.policies.push(policy.clone());
            for k in &p.write_keys {
                t.entries.push(KeyEntry {
                    key: k.as_bytes().into(),
                    project: s.clone(),
                    policy: policy.clone(),
                });
            }
        }
        t
    }

    /// The entry of `key`. Every configured key is compared, each with a constant-time
    /// comparison, so the time taken does not depend on which key (or how much of one)
    /// matched; only the presented key's length may show.
    pub fn lookup(&self, key: &str) -> Option<Resolved> {
        let key = key.as_bytes();
        let mut found: Option<usize> = None;
        for (i, e) in self.entries.iter().enumerate() {
            let eq: bool = e.key.ct_eq(key).into();
            // Keys are unique, so at most one matches; keep looping regardless.
            if eq {
                found = Some(i);
            }
        }
        let i = found?;
        let e = &self.entries[i];
        Some(Resolved {
            index: i as u32,
            project: e.project.clone(),
            policy: e.policy.clone(),
        })
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No keys at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All project policies (for answers before the project is known).
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.policies
    }
}

/// The reloadable part of the edge: keys (with their projects' allow-lists and CORS policy),
/// trusted proxies and rate limiters. Swapped as a whole on SIGHUP; a request works with the
/// snapshot it took at its start.
#[derive(Debug)]
pub struct Edge {
    /// Write keys → projects and their policies.
    pub keys: Keys,
    /// Trusted proxies.
    pub proxies: Proxies,
    /// Token buckets (kept across a reload unless the rates or the key list changed).
    pub rate_limits: Arc<RateLimits>,
    /// The rates `rate_limits` was built with.
    pub rates: (Option<Rate>, Option<Rate>),
    /// The keys, in table order, `rate_limits` was built for (its key buckets are by index).
    pub key_list: Vec<String>,
}

impl Edge {
    /// Builds the edge for `projects`; reuses `prev`'s rate limiters when the rates and the
    /// key list are unchanged, so a reload does not hand out a fresh burst.
    pub fn new(
        projects: &[Project],
        state: impl Fn(&str) -> Option<Arc<ProjectState>>,
        trusted: Vec<IpNet>,
        rates: (Option<Rate>, Option<Rate>),
        prev: Option<&Edge>,
    ) -> Self {
        let keys = Keys::new(projects, state);
        let key_list: Vec<String> = keys
            .entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.key).into_owned())
            .collect();
        let rate_limits = match prev {
            Some(p) if p.rates == rates && p.key_list == key_list => p.rate_limits.clone(),
            _ => Arc::new(RateLimits::new(rates.0, rates.1)),
        };
        Self {
            keys,
            proxies: Proxies::new(trusted),
            rate_limits,
            rates,
            key_list,
        }
    }
}

/// How to answer CORS for a request with `origin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers: the browser will not let the page read the answer.
    None,
    /// `Access-Control-Allow-Origin: *` (never with credentials).
    Any,
    /// The origin echoed, with `Vary: Origin`; optionally with credentials.
    Echo {
        /// The exact origin.
        origin: HeaderValue,
        /// `Access-Control-Allow-Credentials: true`.
        credentials: bool,
    },
}

impl Cors {
    /// The answer for `origin` under one project's policy.
    pub fn for_policy(policy: &Policy, origin: Option<&HeaderValue>) -> Self {
        let Some(origin) = origin else {
            return if policy.origins.is_empty() {
                Cors::Any
            } else {
                Cors::None
            };
        };
        let text = origin.to_str().unwrap_or("");
        if policy.origins.is_empty() {
            Cors::Any
        } else if policy.origin_listed(text) {
            Cors::Echo {
                origin: origin.clone(),
                credentials: policy.cors_credentials,
            }
        } else {
            Cors::None
        }
    }

    /// The answer when the project is not known (preflights without `?key=`, refusals before
    /// auth): the most permissive of the projects' answers for this origin.
    pub fn for_any<'a>(
        policies: impl IntoIterator<Item = &'a Arc<Policy>>,
        origin: Option<&HeaderValue>,
    ) -> Self {
        let mut best = Cors::None;
        for p in policies {
            match Self::for_policy(p, origin) {
                Cors::None => {}
                Cors::Any => {
                    if best == Cors::None {
                        best = Cors::Any;
                    }
                }
                echo @ Cors::Echo {
                    credentials: true, ..
                } => return echo,
                echo @ Cors::Echo { .. } => best = echo,
            }
        }
        best
    }

    /// Whether a browser at this origin is allowed at all.
    pub fn allowed(&self) -> bool {
        *self != Cors::None
    }

    /// Adds the headers. `Retry-After` is exposed so a browser SDK can honour it (it is not a
    /// CORS-safelisted response header).
    pub fn apply(&self, h: &mut HeaderMap) {
        let expose = |h: &mut HeaderMap| {
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("retry-after"),
            );
        };
        match self {
            Cors::None => {}
            Cors::Any => {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                expose(h);
            }
            Cors::Echo {
                origin,
                credentials,
            } => {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
                expose(h);
                h.append(header::VARY, HeaderValue::from_static("Origin"));
                if *credentials {
                    h.insert(
                        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                        HeaderValue::from_static("true"),
                    );
                }
            }
        }
    }
}

/// Client addresses behind trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    trusted: Vec<IpNet>,
}

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One `for=` node of a `Forwarded` header, or one `X-Forwarded-For` entry.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    // `192.0.2.1:4711`
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

impl Proxies {
    /// Trusts these networks.
    pub fn new(trusted: Vec<IpNet>) -> Self {
        Self { trusted }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The client address: the socket peer, unless the peer is a trusted proxy — then the
    /// forwarding chain (`Forwarded` if present, else `X-Forwarded-For`) is walked from the
    /// right, skipping trusted proxies; the first untrusted address is the client. An
    /// unparsable entry stops the walk at the last trusted hop.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = unmap(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        let mut chain: Vec<Option<IpAddr>> = Vec::new();
        if headers.contains_key(header::FORWARDED) {
            for v in headers.get_all(header::FORWARDED) {
                let Ok(v) = v.to_str() else {
                    chain.push(None);
                    continue;
                };
                for element in v.split(',') {
                    let node = element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then_some(v)
                    });
                    chain.push(node.and_then(parse_node));
                }
            }
        } else {
            for v in headers.get_all("x-forwarded-for") {
                let Ok(v) = v.to_str() else {
                    chain.push(None);
                    continue;
                };
                chain.extend(v.split(',').map(parse_node));
            }
        }
        let mut client = peer;
        for hop in chain.into_iter().rev() {
            let Some(ip) = hop.map(unmap) else {
                return client;
            };
            client = ip;
            if !self.is_trusted(ip) {
                return ip;
            }
        }
        client
    }
}

/// A refusal by a rate limiter: wait this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Whole seconds to wait (≥ 1), for `Retry-After`.
    pub retry_after_secs: u64,
}

/// The per-key and per-address token buckets.
#[derive(Debug)]
pub struct RateLimits {
    keys: Option<DefaultKeyedRateLimiter<u32>>,
    ips: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

fn quota(r: Rate) -> Option<Quota> {
    Some(Quota::per_second(NonZeroU32::new(r.per_sec)?).allow_burst(NonZeroU32::new(r.burst)?))
}

/// IPv6 clients are limited per /64 (one subscriber's prefix), IPv4 per address.
fn ip_bucket(ip: IpAddr) -> IpAddr {
    match unmap(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl RateLimits {
    /// Limiters for the configured rates (`None`: unlimited).
    pub fn new(key: Option<Rate>, ip: Option<Rate>) -> Self {
        Self {
            keys: key.and_then(quota).map(RateLimiter::dashmap),
            ips: ip.and_then(quota).map(RateLimiter::dashmap),
            clock: DefaultClock::default(),
        }
    }

    fn verdict<K: std::hash::Hash + Eq + Clone>(
        &self,
        l: &DefaultKeyedRateLimiter<K>,
        k: &K,
    ) -> Result<(), Limited> {
        l.check_key(k).map_err(|not_until| {
            let wait: Duration = not_until.wait_time_from(self.clock.now());
            // Rounded up: a client waiting this long finds a token.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Limited {
                retry_after_secs: secs.max(1),
            }
        })
    }

    /// Takes a token for the client address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Limited> {
        match &self.ips {
            Some(l) => self.verdict(l, &ip_bucket(ip)),
            None => Ok(()),
        }
    }

    /// Takes a token for the write key.
    pub fn check_key(&self, index: u32) -> Result<(), Limited> {
        match &self.keys {
            Some(l) => self.verdict(l, &index),
            None => Ok(()),
        }
    }

    /// Forgets buckets that are full again (bounded memory under many addresses).
    pub fn housekeeping(&self) {
        if let Some(l) = &self.ips {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.keys {
            l.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins_and_app_ids() {
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.example.com"
        ));
        assert!(origin_matches(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "https://evilexample.com"
        ));
        assert!(!origin_matches(
            "https://*.example.com",
            "http://a.example.com"
        ));
        assert!(origin_matches("*", "null"));
        assert_eq!(
            wechat_app_id("https://servicewechat.com/wx1234abcd/3/page-frame.html"),
            Some("wx1234abcd")
        );
        assert_eq!(
            wechat_app_id("https://servicewechat.com.evil/wx1/3/page-frame.html"),
            None
        );
        assert_eq!(wechat_app_id("https://evil/servicewechat.com/wx1/"), None);

        let open = Policy::default();
        assert!(open.admits(&hm(&[])));
        let p = Policy {
            app_ids: vec!["wx1".into()],
            origins: vec!["https://shop.example".into()],
            cors_credentials: false,
        };
        assert!(p.admits(&hm(&[(
            "referer",
            "https://servicewechat.com/wx1/0/page-frame.html"
        )])));
        assert!(!p.admits(&hm(&[(
            "referer",
            "https://servicewechat.com/wx2/0/page-frame.html"
        )])));
        assert!(p.admits(&hm(&[("origin", "https://SHOP.example")])));
        assert!(!p.admits(&hm(&[("origin", "https://evil.example")])));
        assert!(!p.admits(&hm(&[])));
    }

    #[test]
    fn cors_answers() {
        let open = Arc::new(Policy::default());
        let listed = Arc::new(Policy {
            origins: vec!["https://a.example".into()],
            cors_credentials: true,
            ..Policy::default()
        });
        let o = HeaderValue::from_static("https://a.example");
        let other = HeaderValue::from_static("https://b.example");
        assert_eq!(Cors::for_policy(&open, Some(&o)), Cors::Any);
        assert_eq!(
            Cors::for_policy(&listed, Some(&o)),
            Cors::Echo {
                origin: o.clone(),
                credentials: true
            }
        );
        assert_eq!(Cors::for_policy(&listed, Some(&other)), Cors::None);
        assert_eq!(Cors::for_any([&listed], Some(&other)), Cors::None);
        assert_eq!(Cors::for_any([&open, &listed], Some(&other)), Cors::Any);
        assert!(matches!(
            Cors::for_any([&open, &listed], Some(&o)),
            Cors::Echo { .. }
        ));
        let mut h = HeaderMap::new();
        Cors::for_policy(&listed, Some(&o)).apply(&mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "retry-after");
        let mut h = HeaderMap::new();
        Cors::Any.apply(&mut h);
        assert_eq!(h[header::ACCESS_CONTROL_EXPOSE_HEADERS], "retry-after");
        let mut h = HeaderMap::new();
        Cors::None.apply(&mut h);
        assert!(h.is_empty());
    }

    #[test]
    fn client_addresses() {
        let p = Proxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.1/32".parse().unwrap(),
        ]);
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let out: IpAddr = "203.0.113.9".parse().unwrap();
        let xff = hm(&[("x-forwarded-for", "198.51.100.1, 192.0.2.7, 10.1.1.1")]);
        assert_eq!(p.client_ip(lo, &xff).to_string(), "192.0.2.7");
        assert_eq!(
            p.client_ip(out, &xff),
            out,
            "untrusted peers' headers are ignored"
        );
        let fwd = hm(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, for=\"[2001:db8::1]:4711\"",
        )]);
        assert_eq!(p.client_ip(lo, &fwd).to_string(), "2001:db8::1");
        let bad = hm(&[("x-forwarded-for", "1.2.3.4, garbage, 10.0.0.2")]);
        assert_eq!(p.client_ip(lo, &bad).to_string(), "10.0.0.2");
        assert_eq!(p.client_ip(lo, &hm(&[])), lo);
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(p.client_ip(mapped, &xff).to_string(), "192.0.2.7");
        assert_eq!(parse_node("192.0.2.1:80"), "192.0.2.1".parse().ok());
    }

    #[test]
    fn constant_time_lookup() {
        let projects = vec![Project {
            name: "a".into(),
            write_keys: vec!["k1".into(), "k2".into()],
            app_ids: vec![],
            origins: vec![],
            cors_credentials: false,
        }];
        let state = Arc::new(ProjectState::new("a", 1000, 0));
        let keys = Keys::new(&projects, |_| Some(state.clone()));
        assert_eq!(keys.lookup("k2").map(|r| r.index), Some(1));
        assert!(keys.lookup("k").is_none());
        assert!(keys.lookup("k22").is_none());
    }

    #[test]
    fn buckets() {
        let l = RateLimits::new(
            Some(Rate {
                per_sec: 1,
                burst: 2,
            }),
            None,
        );
        assert!(l.check_key(0).is_ok());
        assert!(l.check_key(0).is_ok());
        let e = l.check_key(0).unwrap_err();
        assert_eq!(e.retry_after_secs, 1);
        assert!(l.check_key(1).is_ok(), "buckets are per key");
        assert!(l.check_ip("1.2.3.4".parse().unwrap()).is_ok());
    }
}
