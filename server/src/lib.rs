//! The one way every onsale HTTP server starts (coordinator, edge, sandbox payments, the
//! index's snapshot folder): [`serve`] runs an axum router on a listener with limits that
//! keep the server up whatever its clients do.
//!
//! - A cap on open connections ([`Limits::max_connections`], lowered to fit the process's
//!   open-file limit): one more is accepted and closed at once, so the accept loop never
//!   stops and a full server answers again as soon as a slot frees. Accept errors (out of
//!   file descriptors, say) pause the loop briefly instead of spinning.
//! - A header-read timeout (a slow or silent client is cut off) and an idle timeout (a
//!   connection with nothing in flight is closed); requests in flight, streams and
//!   upgraded connections (WebSockets) are never cut by either.
//! - HTTP/1.1 and HTTP/2 (by ALPN over TLS, by preface in the clear); TLS with rustls when
//!   [`Settings::tls`] is set, with `Strict-Transport-Security` on every answer.
//! - Graceful shutdown: when `shutdown` completes, accepting stops, idle connections
//!   close, and requests in flight get [`Limits::drain_timeout`] to finish.
//! - Routers see the client's address as `axum::extract::ConnectInfo<SocketAddr>`.
//!
//! Metrics: `onsale_server_connections_open`, `onsale_server_connections_refused_total`,
//! `onsale_server_connections_closed_total{reason}` and `onsale_server_accept_errors_total`,
//! each labelled with the server's name.

mod connection;
mod limits;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;

pub use limits::{Limits, raise_open_file_limit};
pub use tls::{Tls, TlsError};

/// How long the accept loop pauses after an accept error that is not one connection's.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How one server runs: its name (for logs and metrics), its limits and, optionally, TLS.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The server's name: `coordinator`, `edge`, `sandbox`, `index`.
    pub name: &'static str,
    /// Connection limits.
    pub limits: Limits,
    /// TLS, or plain HTTP without it.
    pub tls: Option<Tls>,
}

impl Settings {
    /// Plain HTTP with the default limits.
    pub fn plain(name: &'static str) -> Self {
        Settings {
            name,
            limits: Limits::default(),
            tls: None,
        }
    }

    /// The scheme clients use: `https` with TLS, `http` without.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) name: &'static str,
    pub(crate) router: axum::Router,
    pub(crate) limits: Limits,
    pub(crate) tls: Option<Tls>,
    pub(crate) builder: auto::Builder<TokioExecutor>,
}

/// Serves `router` on `listener` until `shutdown` completes, then drains: stops
/// accepting, closes idle connections and waits up to [`Limits::drain_timeout`] for the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Settings { name, limits, tls } = settings;
    let cap = limits.connection_cap();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let shared = Arc::new(Shared {
        name,
        router,
        limits,
        tls,
        builder,
    });
    let slots = Arc::new(Semaphore::new(cap));
    let connections = TaskTracker::new();
    let (stop, stopping) = watch::channel(false);
    tracing::info!(
        server = name,
        max_connections = cap,
        header_timeout_ms = limits.header_timeout.as_millis() as u64,
        idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
        tls = shared.tls.is_some(),
        "serving"
    );
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(err) if is_connection_error(&err) => continue,
            Err(err) => {
                metrics::counter!("onsale_server_accept_errors_total", "server" => name)
                    .increment(1);
                tracing::warn!(server = name, error = %err, "accept error; pausing");
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("onsale_server_connections_refused_total", "server" => name)
                .increment(1);
            tracing::debug!(server = name, %remote, "connection refused: at the cap");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        connections.spawn(connection::run(
            shared.clone(),
            stream,
            remote,
            slot,
            stopping.clone(),
        ));
    }
    drop(listener);
    stop.send_replace(true);
    connections.close();
    if tokio::time::timeout(limits.drain_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            server = name,
            open = connections.len(),
            "requests still open when the drain timeout ended"
        );
    }
    Ok(())
}

/// Errors that concern one connection only (it was reset before it was accepted).
fn is_connection_error(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
