//! Label values and per-request figures, sans IO: which endpoint a request is, its status
//! class, a content encoding's name, the inflation ratio of a body and the device clock's skew.

use hyper::Method;

use crate::decode::Encoding;

/// What a request asked for (the `endpoint` label of the latency histogram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/...` (every ingest path).
    Ingest,
    /// `OPTIONS /v1/...` (CORS preflight).
    Preflight,
    /// `GET /healthz`.
    Health,
    /// `GET /readyz`.
    Ready,
    /// `GET /metrics`.
    Metrics,
    /// Anything else (404, 405).
    Other,
}

impl Endpoint {
    /// Every endpoint, in label order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Ingest,
        Endpoint::Preflight,
        Endpoint::Health,
        Endpoint::Ready,
        Endpoint::Metrics,
        Endpoint::Other,
    ];

    /// Classifies a request; `ingest_path` says whether the path is one of `/v1/...`.
    pub fn of(method: &Method, path: &str, ingest_path: bool) -> Self {
        match (method, path) {
            (&Method::POST, _) if ingest_path => Endpoint::Ingest,
            (&Method::OPTIONS, _) if ingest_path => Endpoint::Preflight,
            (&Method::GET, "/healthz" | "/health") => Endpoint::Health,
            (&Method::GET, "/readyz") => Endpoint::Ready,
            (&Method::GET, "/metrics") => Endpoint::Metrics,
            _ => Endpoint::Other,
        }
    }

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::Ingest => "ingest",
            Endpoint::Preflight => "preflight",
            Endpoint::Health => "healthz",
            Endpoint::Ready => "readyz",
            Endpoint::Metrics => "metrics",
            Endpoint::Other => "other",
        }
    }

    /// Position in [`Endpoint::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// A response status, by its first digit (the `status` label of the latency histogram).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    /// 1xx-2xx (the collector answers 200 and 204).
    Success,
    /// 3xx-4xx: the client's fault.
    Client,
    /// 5xx (and anything outside 100..=599): the collector's.
    Server,
}

impl StatusClass {
    /// Every class, in label order.
    pub const ALL: [StatusClass; 3] = [
        StatusClass::Success,
        StatusClass::Client,
        StatusClass::Server,
    ];

    /// The class of `status`.
    pub const fn of(status: u16) -> Self {
        match status {
            100..=299 => StatusClass::Success,
            300..=499 => StatusClass::Client,
            _ => StatusClass::Server,
        }
    }

    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            StatusClass::Success => "2xx",
            StatusClass::Client => "4xx",
            StatusClass::Server => "5xx",
        }
    }

    /// Position in [`StatusClass::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Every content encoding, in label order.
pub const ENCODINGS: [Encoding; 3] = [Encoding::Identity, Encoding::Gzip, Encoding::Deflate];

/// Position of `e` in [`ENCODINGS`].
pub const fn encoding_index(e: Encoding) -> usize {
    match e {
        Encoding::Identity => 0,
        Encoding::Gzip => 1,
        Encoding::Deflate => 2,
    }
}

/// The `encoding` label value.
pub const fn encoding_name(e: Encoding) -> &'static str {
    match e {
        Encoding::Identity => "identity",
        Encoding::Gzip => "gzip",
        Encoding::Deflate => "deflate",
    }
}

/// Decoded bytes per received byte, for a compressed, non-empty body.
pub fn inflate_ratio(e: Encoding, received: usize, decoded: usize) -> Option<f64> {
    (e != Encoding::Identity && received > 0).then(|| decoded as f64 / received as f64)
}

/// `|received_at - sent_at|` in seconds, when the request carried `sentAt`.
pub fn skew_seconds(received_at: i64, sent_at: Option<i64>) -> Option<f64> {
    sent_at.map(|s| received_at.abs_diff(s) as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::of(&Method::POST, "/v1/batch", true),
            Endpoint::Ingest
        );
        assert_eq!(
            Endpoint::of(&Method::OPTIONS, "/v1/track", true),
            Endpoint::Preflight
        );
        assert_eq!(
            Endpoint::of(&Method::GET, "/v1/batch", true),
            Endpoint::Other
        );
        assert_eq!(
            Endpoint::of(&Method::GET, "/health", false),
            Endpoint::Health
        );
        assert_eq!(
            Endpoint::of(&Method::GET, "/readyz", false),
            Endpoint::Ready
        );
        assert_eq!(
            Endpoint::of(&Method::GET, "/metrics", false),
            Endpoint::Metrics
        );
        assert_eq!(
            Endpoint::of(&Method::POST, "/metrics", false),
            Endpoint::Other
        );
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
    }

    #[test]
    fn status_classes() {
        assert_eq!(StatusClass::of(200), StatusClass::Success);
        assert_eq!(StatusClass::of(204), StatusClass::Success);
        assert_eq!(StatusClass::of(404), StatusClass::Client);
        assert_eq!(StatusClass::of(429), StatusClass::Client);
        assert_eq!(StatusClass::of(503), StatusClass::Server);
        assert_eq!(StatusClass::of(0), StatusClass::Server);
        for (i, c) in StatusClass::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
        for (i, e) in ENCODINGS.iter().enumerate() {
            assert_eq!(encoding_index(*e), i);
        }
    }

    #[test]
    fn ratio_and_skew() {
        assert_eq!(inflate_ratio(Encoding::Gzip, 10, 45), Some(4.5));
        assert_eq!(inflate_ratio(Encoding::Identity, 10, 10), None);
        assert_eq!(inflate_ratio(Encoding::Deflate, 0, 0), None);
        assert_eq!(skew_seconds(10_000, Some(12_500)), Some(2.5));
        assert_eq!(skew_seconds(10_000, Some(7_500)), Some(2.5));
        assert_eq!(skew_seconds(10_000, None), None);
        assert_eq!(
            skew_seconds(i64::MAX, Some(i64::MIN)),
            Some(u64::MAX as f64 / 1000.0)
        );
    }
}
