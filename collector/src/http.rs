//! HTTP routing and the request path as a short pipeline of named stages:
//! route -> size limit (Content-Length) -> auth -> media type -> read body (timeout, size
//! limit) -> content decoding (capped) -> [`crate::ingest`] -> response.
//!
//! Before the size limit come the edge checks ([`crate::edge`]): the per-address rate limit
//! (429), the concurrency limit (503); after auth, the project's app-id/origin allow-lists
//! (403) and the per-key rate limit (429).
//!
//! Every refusal is an [`ErrorBody`] with the status of its [`RequestError`], counted in
//! [`Metrics`]; 503 and 429 carry `Retry-After`. CORS answers follow the project's origin
//! allow-list (an unrestricted project answers `*`, never with credentials).
//!
//! Operators: `GET /healthz` (alias `/health`) is liveness; `GET /readyz` is 503 while
//! draining, while the writer queue is nearly full, or when the data directory cannot be
//! written; `GET /metrics` is Prometheus text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use maidian_protocol::body::Hint;
use maidian_protocol::{ErrorBody, Limits, MessageType, RequestError};
use tracing::warn;

use crate::auth;
use crate::clock::Clock;
use crate::decode;
use crate::edge::{Cors, Edge};
use crate::ingest::{Pipeline, Refusal, RequestMeta};
use crate::metrics::labels::Endpoint;
use crate::metrics::{self, Metrics};

/// Seconds a client should wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 1;

/// What `/readyz` checks.
#[derive(Debug)]
pub struct Readiness {
    /// Set on SIGTERM/SIGINT.
    pub draining: AtomicBool,
    /// The data directory (probed by writing a small file).
    pub data_dir: PathBuf,
    /// The probe file's name (per instance, so instances sharing a disk do not collide).
    pub probe_name: String,
    /// Test hook: while it exists (and does not say `stall:`), the directory counts as
    /// unwritable, like the writer's writes.
    pub fault_file: Option<PathBuf>,
    /// Not ready at or above this many queued writer requests.
    pub queue_high: u64,
}

impl Readiness {
    /// `Err(reason)` when the load balancer should stop sending.
    pub async fn check(&self, metrics: &Metrics) -> Result<(), String> {
        if self.draining.load(Relaxed) {
            return Err("draining".into());
        }
        let queued = u64::try_from(metrics.writer_queued.get()).unwrap_or(0);
        if queued >= self.queue_high {
            return Err(format!("writer queue saturated ({queued} queued)"));
        }
        let probe = self.data_dir.join(&self.probe_name);
        let fault = self.fault_file.clone();
        let written = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(f) = fault
                && let Ok(text) = std::fs::read_to_string(f)
                && !text.trim().starts_with("stall:")
            {
                return Err(std::io::Error::other(
                    "injected failure (fault file present)",
                ));
            }
            std::fs::write(&probe, b"ok\n")?;
            std::fs::remove_file(&probe)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        written.map_err(|e| format!("data directory not writable: {e}"))
    }
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct App {
    /// Keys, policies, trusted proxies and rate limits; replaced as a whole on reload.
    pub edge: RwLock<Arc<Edge>>,
    /// Ingest requests at once.
    pub concurrency: tokio::sync::Semaphore,
    /// Readiness checks.
    pub readiness: Readiness,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Clock.
    pub clock: Clock,
    /// Body read timeout.
    pub read_timeout: Duration,
}

impl App {
    /// The current edge snapshot.
    pub fn edge(&self) -> Arc<Edge> {
        self.edge.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Installs a new edge; requests in flight finish with the one they took.
    pub fn swap_edge(&self, edge: Arc<Edge>) {
        *self.edge.write().unwrap_or_else(|p| p.into_inner()) = edge;
    }
}

type Resp = Response<Full<Bytes>>;

fn json(status: StatusCode, body: Vec<u8>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn text(status: StatusCode, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// The error response for `e`.
pub fn refuse(metrics: &Metrics, e: RequestError, message: impl Into<String>) -> Resp {
    refuse_after(metrics, e, message, RETRY_AFTER_SECS)
}

/// The error response for `e`; a 503 or 429 says `Retry-After: retry_after`.
pub fn refuse_after(
    metrics: &Metrics,
    e: RequestError,
    message: impl Into<String>,
    retry_after: u64,
) -> Resp {
    metrics.refused(e);
    let mut body = ErrorBody::new(e, message);
    let retry = matches!(e, RequestError::Unavailable | RequestError::RateLimited);
    if retry {
        body.retry_after = Some(retry_after);
    }
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json(status, serde_json::to_vec(&body).unwrap_or_default());
    if retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
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

/// Handles one request and records its latency by endpoint and status class.
pub async fn handle(app: Arc<App>, req: Request<Incoming>, peer: SocketAddr) -> Resp {
    let started = Instant::now();
    let implied = route(req.uri().path());
    let endpoint = Endpoint::of(req.method(), req.uri().path(), implied.is_some());
    let r = dispatch(&app, req, peer, implied).await;
    app.metrics
        .request_done(endpoint, r.status().as_u16(), started.elapsed());
    r
}

async fn dispatch(
    app: &App,
    req: Request<Incoming>,
    peer: SocketAddr,
    implied: Option<Option<MessageType>>,
) -> Resp {
    let received_at = app.clock.now_ms();
    let m = &*app.metrics;
    let origin = req.headers().get(header::ORIGIN).cloned();
    let path = req.uri().path();
    if let Some(implied) = implied {
        let mut cors = Cors::for_any(app.edge().keys.policies(), origin.as_ref());
        let mut r = match *req.method() {
            Method::POST => {
                m.requests_in_flight.inc();
                let r = ingest(app, req, peer, implied, received_at, &mut cors).await;
                m.requests_in_flight.dec();
                r
            }
            Method::OPTIONS => preflight(app, &req, &mut cors),
            _ => refuse(m, RequestError::MethodNotAllowed, "use POST"),
        };
        cors.apply(r.headers_mut());
        return r;
    }
    match (req.method(), path) {
        (&Method::GET, "/healthz" | "/health") => text(StatusCode::OK, "ok\n".into()),
        (&Method::GET, "/readyz") => match app.readiness.check(m).await {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(why) => {
                let mut r = text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: {why}\n"),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
                r
            }
        },
        (&Method::GET, "/metrics") => {
            // The free-space gauges are read now (one statvfs), off the async workers.
            let (metrics, dir) = (app.metrics.clone(), app.readiness.data_dir.clone());
            let refreshed = tokio::task::spawn_blocking(move || metrics.refresh_disk(&dir)).await;
            if let Ok(Err(e)) = refreshed {
                warn!("cannot read the data directory's free space: {e}");
            }
            let mut r = Response::new(Full::new(Bytes::from(m.render())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(metrics::CONTENT_TYPE),
            );
            r
        }
        _ => refuse(m, RequestError::NotFound, "unknown path"),
    }
}

/// A CORS preflight. With `?key=` the key's project decides, else any project that allows the
/// origin. A refused origin gets 403 without CORS headers, so the browser stops there.
fn preflight(app: &App, req: &Request<Incoming>, cors: &mut Cors) -> Resp {
    let origin = req.headers().get(header::ORIGIN);
    if let Some(key) = auth::query_param(req.uri().query(), "key")
        && let Some(found) = app.edge().keys.lookup(&key)
    {
        *cors = Cors::for_policy(&found.policy, origin);
    }
    if origin.is_some() && !cors.allowed() {
        return refuse(
            &app.metrics,
            RequestError::ForbiddenOrigin,
            "this origin may not send events",
        );
    }
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "authorization, content-type, content-encoding, x-write-key, x-maidian-device",
        ),
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
    cors: &mut Cors,
) -> Resp {
    let m = &*app.metrics;
    // One snapshot for the whole request: a reload in the middle does not mix two configs.
    let edge = app.edge();
    let client_ip = edge.proxies.client_ip(peer.ip(), req.headers());
    if let Err(l) = edge.rate_limits.check_ip(client_ip) {
        m.rate_limited_ip.inc();
        return refuse_after(
            m,
            RequestError::RateLimited,
            "too many requests from this address",
            l.retry_after_secs,
        );
    }
    let Ok(_permit) = app.concurrency.try_acquire() else {
        m.concurrency_refused.inc();
        return refuse(
            m,
            RequestError::Unavailable,
            "too many requests in progress",
        );
    };
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
    let Some(found) = edge.keys.lookup(&key) else {
        return refuse(m, RequestError::InvalidWriteKey, "unknown write key");
    };
    *cors = Cors::for_policy(&found.policy, req.headers().get(header::ORIGIN));
    if !found.policy.admits(req.headers()) {
        return refuse(
            m,
            RequestError::ForbiddenOrigin,
            "this app id or origin may not send to this project",
        );
    }
    if let Err(l) = edge.rate_limits.check_key(found.index) {
        m.rate_limited_key.inc();
        return refuse_after(
            m,
            RequestError::RateLimited,
            "too many requests for this write key",
            l.retry_after_secs,
        );
    }
    let project = found.project;
    let hint = match media_hint(header_str(&req, header::CONTENT_TYPE)) {
        Ok(h) => h,
        Err(e) => {
            return refuse(m, e, "Content-Type must be JSON, NDJSON or text/plain");
        }
    };
    let encoding_header = header_str(&req, header::CONTENT_ENCODING).map(str::to_owned);
    let compression = auth::query_param(query, "compression").map(|c| c.into_owned());
    let user_agent = header_str(&req, header::USER_AGENT).map(str::to_owned);
    let ip = client_ip.to_string();

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
    m.body_received(enc, bytes.len());
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
    m.body_decoded(enc, bytes.len(), decoded.len());
    let meta = RequestMeta {
        received_at,
        ip: Some(&ip),
        user_agent: user_agent.as_deref(),
        implied_type: implied,
        hint,
    };
    match app.pipeline.ingest(&project, meta, &decoded).await {
        Ok(resp) => {
            m.requests_ok.inc();
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
