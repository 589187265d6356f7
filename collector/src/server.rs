//! The accept loop and graceful connection shutdown: on the shutdown signal, stop accepting,
//! let every connection finish its in-flight request (then close), and give up after the
//! grace period. At most `max_connections` connections are open at once: beyond that the
//! loop stops accepting (new connections wait in the kernel's backlog) until one closes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::http::{App, handle};

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time allowed for a request's headers (408 / close).
    pub header_timeout: Duration,
    /// How long connections may take to finish after the shutdown signal.
    pub grace: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

/// Serves until `shutdown` resolves, then drains connections for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let Limits {
        header_timeout,
        grace,
        max_connections,
    } = limits;
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let metrics = app.metrics.clone();
                let app = app.clone();
                let svc = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(app, req, peer).await) }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                metrics.connections_total.inc();
                metrics.connections_open.inc();
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        debug!("connection: {e}");
                    }
                    metrics.connections_open.dec();
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("grace period over: closing remaining connections");
    }
}
