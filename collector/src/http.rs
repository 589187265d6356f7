//! HTTP routing and the request path as a short pipeline of named stages:
//! route -> size limit (Content-Length) -> auth -> media type -> read body (timeout, size
//! limit) -> content decoding (capped) -> [`crate::ingest`] -> response.
//!
//! Every refusal is an [`ErrorBody`] with the status of its [`RequestError`], counted in
//! [`Metrics`]; 503 carries `Retry-After`. CORS is open (`*`) so web pages can send and read
//! answers; origin allow-lists belong to the edge work.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use maidian_protocol::body::Hint;
use maidian_protocol::{ErrorBody, Limits, MessageType, RequestError};

use crate::auth;
use crate::clock::Clock;
use crate::decode;
use crate::ingest::{Pipeline, ProjectState, Refusal, RequestMeta};
use crate::metrics::Metrics;

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct App {
    /// Projects by write key.
    pub by_key: HashMap<String, Arc<ProjectState>>,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Clock.
    pub clock: Clock,
    /// Body read timeout.
    pub read_timeout: Duration,
}

type Resp = Response<Full<Bytes>>;

fn with_common(mut r: Resp) -> Resp {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn json(status: StatusCode, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    with_common(r)
}

/// The error response for `e`.
pub fn refuse(metrics: &Metrics, e: RequestError, message: impl Into<String>) -> Resp {
    metrics.refused(e);
    let mut body = ErrorBody::new(e, message);
    let retry = matches!(e, RequestError::Unavailable | RequestError::RateLimited);
    if retry {
        body.retry_after = Some(RETRY_AFTER_SECS);
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json(status, serde_json::to_vec(&body).unwrap_or_default());
    if retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
    if e == RequestError::MethodNotAllowed {
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    }
    r
}

fn refusal(metrics: &Metrics, r: Refusal) -> Resp {
    refuse(metrics, r.error, r.message)
}

/// Which ingest endpoint a path is, with the type it implies.
fn route(path: &str) -> Option<Option<MessageType>> {
    let name = path.strip_prefix("/v1/")?.trim_end_matches('/');
    match name {
        "batch" | "import" => Some(None),
        "track" | "page" | "screen" | "identify" | "alias" | "group" => {
            MessageType::parse(name).map(Some)
        }
        _ => None,
    }
}

fn media_hint(ct: Option<&str>) -> Result<Hint, RequestError> {
    let Some(ct) = ct else {
        return Ok(Hint::Detect);
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "" | "application/json" | "text/plain" | "application/octet-stream" => Ok(Hint::Detect),
        "application/x-ndjson"
        | "application/jsonl"
        | "application/x-jsonlines"
        | "application/jsonlines" => Ok(Hint::Ndjson),
        _ => Err(RequestError::UnsupportedMediaType),
    }
}

fn header_str(req: &Request<Incoming>, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Handles one request.
pub async fn handle(app: Arc<App>, req: Request<Incoming>, peer: SocketAddr) -> Resp {
    let received_at = app.clock.now_ms();
    let m = &*app.metrics;
    let path = req.uri().path();
    if let Some(implied) = route(path) {
        match *req.method() {
            Method::POST => {
                m.requests_in_flight.fetch_add(1, Relaxed);
                let r = ingest(&app, req, peer, implied, received_at).await;
                m.requests_in_flight.fetch_sub(1, Relaxed);
                return r;
            }
            Method::OPTIONS => return preflight(),
            _ => return refuse(m, RequestError::MethodNotAllowed, "use POST"),
        }
    }
    match (req.method(), path) {
        (&Method::GET, "/health") => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"ok\n")));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            r
        }
        (&Method::GET, "/metrics") => {
            let mut r = Response::new(Full::new(Bytes::from(m.render())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        }
        _ => refuse(m, RequestError::NotFound, "unknown path"),
    }
}

fn preflight() -> Resp {
    let mut r = with_common(Response::new(Full::new(Bytes::new())));
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, content-encoding, x-write-key"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

async fn ingest(
    app: &App,
    req: Request<Incoming>,
    peer: SocketAddr,
    implied: Option<MessageType>,
    received_at: i64,
) -> Resp {
    let m = &*app.metrics;
    let limits: &Limits = &app.pipeline.limits;
    let declared = header_str(&req, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return refuse(
            m,
            RequestError::BodyTooLarge,
            format!("the body exceeds {} bytes", limits.max_body_bytes),
        );
    }
    let query = req.uri().query();
    let key = match auth::write_key(req.headers(), query) {
        Ok(k) => k,
        Err(e) => {
            return refuse(
                m,
                e,
                "send the write key as Basic auth, X-Write-Key or ?key=",
            );
        }
    };
    let Some(project) = app.by_key.get(key.as_ref()).cloned() else {
        return refuse(m, RequestError::InvalidWriteKey, "unknown write key");
    };
    let hint = match media_hint(header_str(&req, header::CONTENT_TYPE)) {
        Ok(h) => h,
        Err(e) => {
            return refuse(m, e, "Content-Type must be JSON, NDJSON or text/plain");
        }
    };
    let encoding_header = header_str(&req, header::CONTENT_ENCODING).map(str::to_owned);
    let compression = auth::query_param(query, "compression").map(|c| c.into_owned());
    let user_agent = header_str(&req, header::USER_AGENT).map(str::to_owned);
    let ip = peer.ip().to_string();

    let body = Limited::new(req.into_body(), limits.max_body_bytes);
    let bytes = match tokio::time::timeout(app.read_timeout, body.collect()).await {
        Err(_) => {
            return refuse(
                m,
                RequestError::RequestTimeout,
                "the body arrived too slowly",
            );
        }
        Ok(Err(e)) if e.is::<LengthLimitError>() => {
            return refuse(
                m,
                RequestError::BodyTooLarge,
                format!("the body exceeds {} bytes", limits.max_body_bytes),
            );
        }
        Ok(Err(_)) => {
            return refuse(m, RequestError::MalformedBody, "the body could not be read");
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    let enc = match decode::choose(encoding_header.as_deref(), compression.as_deref(), &bytes) {
        Ok(e) => e,
        Err(e) => return refuse(m, e, "Content-Encoding must be gzip, deflate or identity"),
    };
    let decoded = match decode::decode(enc, &bytes, limits.max_inflated_bytes) {
        Ok(d) => d,
        Err(RequestError::InflatedTooLarge) => {
            return refuse(
                m,
                RequestError::InflatedTooLarge,
                format!(
                    "the decoded body exceeds {} bytes",
                    limits.max_inflated_bytes
                ),
            );
        }
        Err(e) => return refuse(m, e, "the compressed body is corrupt"),
    };
    let meta = RequestMeta {
        received_at,
        ip: Some(&ip),
        user_agent: user_agent.as_deref(),
        implied_type: implied,
        hint,
    };
    match app.pipeline.ingest(&project, meta, &decoded).await {
        Ok(resp) => {
            m.requests_ok.fetch_add(1, Relaxed);
            json(
                StatusCode::OK,
                serde_json::to_vec(&resp).unwrap_or_default(),
            )
        }
        Err(r) => refusal(m, r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/v1/batch"), Some(None));
        assert_eq!(route("/v1/track"), Some(Some(MessageType::Track)));
        assert_eq!(route("/v1/group/"), Some(Some(MessageType::Group)));
        assert_eq!(route("/v1/nope"), None);
        assert_eq!(route("/batch"), None);
    }

    #[test]
    fn media_types() {
        assert_eq!(media_hint(None), Ok(Hint::Detect));
        assert_eq!(
            media_hint(Some("application/json; charset=utf-8")),
            Ok(Hint::Detect)
        );
        assert_eq!(media_hint(Some("application/x-ndjson")), Ok(Hint::Ndjson));
        assert_eq!(
            media_hint(Some("image/png")),
            Err(RequestError::UnsupportedMediaType)
        );
    }
}
