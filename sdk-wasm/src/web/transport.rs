//! How a core `send` effect leaves the browser, as pure functions: `fetch` (with `keepalive`
//! when the body fits the browser's keep-alive budget) while the page lives, `navigator.
//! sendBeacon` while it is being hidden or unloaded, and nothing while the browser says it is
//! offline (the events stay in storage; the outcome `0` makes the core retry later).
//!
//! A beacon cannot carry headers, so its URL carries what the headers would: the write key as
//! `?key=` and the body's encoding as `?compression=gzip` (the collector accepts both; its body
//! goes without a `Content-Type`, which needs no CORS preflight).

use crate::core::jv::Obj;

use crate::core::channel::percent_encode;

/// Browsers refuse keep-alive requests (fetch `keepalive`, beacons) whose bodies together
/// exceed 64 KiB.
pub const KEEPALIVE_MAX_BYTES: usize = 64 * 1024;

/// The status reported to the core for a beacon the browser accepted. A beacon has no answer;
/// the browser queued it and will deliver it after the page is gone, so it counts as delivered
/// (what every beacon-based SDK assumes). A refused beacon falls back to `fetch`.
pub const BEACON_ACCEPTED_STATUS: u16 = 202;

/// The way one request goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `fetch`, `keepalive` as given.
    Fetch {
        /// `keepalive: true` (the body fits [`KEEPALIVE_MAX_BYTES`]).
        keepalive: bool,
    },
    /// `navigator.sendBeacon` to [`beacon_url`].
    Beacon,
    /// Not sent: the browser is offline. Report status 0 at once.
    Offline,
}

/// The transport for a body of `len` bytes. `leaving`: the page is being hidden or unloaded;
/// `online`: `navigator.onLine`.
pub fn choose(len: usize, leaving: bool, online: bool) -> Transport {
    let fits = len <= KEEPALIVE_MAX_BYTES;
    if !online {
        Transport::Offline
    } else if leaving && fits {
        Transport::Beacon
    } else {
        Transport::Fetch { keepalive: fits }
    }
}

fn header<'a>(headers: &'a Obj, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

/// The beacon URL for a `send` effect: its `url` plus `key=` (from `X-Write-Key`) and
/// `compression=gzip` when the body is gzip (`Content-Encoding`).
pub fn beacon_url(url: &str, headers: &Obj) -> String {
    let mut out = String::with_capacity(url.len() + 64);
    out.push_str(url);
    let mut sep = if url.contains('?') { '&' } else { '?' };
    if let Some(key) = header(headers, "X-Write-Key") {
        out.push(sep);
        out.push_str("key=");
        percent_encode(key, &mut out);
        sep = '&';
    }
    if header(headers, "Content-Encoding").is_some_and(|e| e.eq_ignore_ascii_case("gzip")) {
        out.push(sep);
        out.push_str("compression=gzip");
    }
    out
}

/// A `Retry-After` header in seconds when it is a number of seconds (the HTTP-date form is
/// ignored: the core's own backoff applies then).
pub fn retry_after_seconds(v: &str) -> Option<f64> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u32>().ok().map(f64::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(v: serde_json::Value) -> Obj {
        crate::core::jv::obj_of(v)
    }

    #[test]
    fn transport_choice() {
        assert_eq!(
            choose(100, false, true),
            Transport::Fetch { keepalive: true }
        );
        assert_eq!(choose(100, true, true), Transport::Beacon);
        assert_eq!(
            choose(KEEPALIVE_MAX_BYTES + 1, true, true),
            Transport::Fetch { keepalive: false }
        );
        assert_eq!(
            choose(KEEPALIVE_MAX_BYTES, false, true),
            Transport::Fetch { keepalive: true }
        );
        assert_eq!(choose(100, true, false), Transport::Offline);
        assert_eq!(choose(100, false, false), Transport::Offline);
    }

    #[test]
    fn retry_after() {
        assert_eq!(retry_after_seconds("30"), Some(30.0));
        assert_eq!(retry_after_seconds(" 5 "), Some(5.0));
        assert_eq!(retry_after_seconds("-1"), None);
        assert_eq!(retry_after_seconds("1.5"), None);
        assert_eq!(retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_seconds(""), None);
    }

    #[test]
    fn beacon_urls_carry_key_and_compression() {
        let h = headers(json!({
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "X-Write-Key": "wk/é&1",
            "X-Maidian-Device": "a-1",
        }));
        assert_eq!(
            beacon_url("https://t.example/v1/batch?device=a-1", &h),
            "https://t.example/v1/batch?device=a-1&key=wk%2F%C3%A9%261&compression=gzip"
        );
        assert_eq!(
            beacon_url("http://127.0.0.1:8080/v1/batch", &h),
            "http://127.0.0.1:8080/v1/batch?key=wk%2F%C3%A9%261&compression=gzip"
        );
        // Header names in any case; an identity body adds no compression.
        let plain = headers(json!({"x-write-key": "k", "content-encoding": "identity"}));
        assert_eq!(beacon_url("u", &plain), "u?key=k");
        assert_eq!(beacon_url("u", &Obj::new()), "u");
        let gz_only = headers(json!({"Content-Encoding": "GZIP"}));
        assert_eq!(beacon_url("u?a=1", &gz_only), "u?a=1&compression=gzip");
    }
}
