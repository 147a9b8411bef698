//! One accepted connection: its TLS handshake, its HTTP connection, and the watchdog that
//! closes it when it is silent too long with nothing in flight.
//!
//! Requests only update counters the watchdog reads when its timer fires: a request never
//! wakes the watchdog or re-arms its timer, so a busy keep-alive connection costs nothing
//! extra, and an idle one one timer per timeout.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::Shared;

/// `Strict-Transport-Security` on answers over TLS: a year, this host only.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// Serves one connection until it ends, times out, or shutdown has drained it.
pub(crate) async fn run(
    shared: Arc<Shared>,
    stream: TcpStream,
    remote: SocketAddr,
    slot: OwnedSemaphorePermit,
    stopping: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let io = Held::new(stream, slot, shared.name);
    match &shared.tls {
        None => drive(&shared, TokioIo::new(io), remote, started, stopping).await,
        Some(tls) => {
            let handshake =
                tokio::time::timeout(shared.limits.header_timeout, tls.acceptor().accept(io));
            match handshake.await {
                Ok(Ok(io)) => drive(&shared, TokioIo::new(io), remote, started, stopping).await,
                Ok(Err(err)) => {
                    tracing::debug!(server = shared.name, %remote, error = %err, "TLS handshake failed");
                }
                Err(_) => closed(&shared, "handshake_timeout"),
            }
        }
    }
}

/// Runs HTTP on `io` beside its watchdog and the shutdown signal.
async fn drive<I>(
    shared: &Shared,
    io: I,
    remote: SocketAddr,
    started: Instant,
    mut stopping: watch::Receiver<bool>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity {
        started,
        in_flight: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        idle_since_ms: AtomicU64::new(0),
    });
    let watched = activity.clone();
    let router = shared.router.clone();
    let tls = shared.tls.is_some();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let guard = InFlight::start(activity.clone());
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(remote));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await?;
            let (mut parts, body) = response.into_parts();
            if tls {
                parts
                    .headers
                    .entry(header::STRICT_TRANSPORT_SECURITY)
                    .or_insert(HSTS);
            }
            Ok::<_, std::convert::Infallible>(Response::from_parts(
                parts,
                Body::new(Tracked {
                    body,
                    _guard: guard,
                }),
            ))
        }
    });
    let connection = shared.builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(server = shared.name, %remote, error = %err, "connection ended");
            }
        }
        reason = watchdog(&watched, shared) => closed(shared, reason),
        () = stopped(&mut stopping) => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Completes when shutdown begins.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn closed(shared: &Shared, reason: &'static str) {
    metrics::counter!(
        "onsale_server_connections_closed_total",
        "server" => shared.name,
        "reason" => reason
    )
    .increment(1);
    tracing::debug!(
        server = shared.name,
        reason,
        "connection closed by the server"
    );
}

/// What the watchdog knows of a connection, updated by its requests.
#[derive(Debug)]
struct Activity {
    /// When the connection was accepted.
    started: Instant,
    /// Requests whose answer has not been sent whole yet.
    in_flight: AtomicU64,
    /// Requests seen so far.
    requests: AtomicU64,
    /// When the last answer finished (or the connection started), in milliseconds after
    /// `started`.
    idle_since_ms: AtomicU64,
}

/// Returns (and so closes the connection) when nothing is in flight and either the first
/// request has not come within the header timeout or the connection has been idle for
/// the idle timeout; never while a request is in flight. It sleeps until the earliest
/// moment that could be true and looks again then.
async fn watchdog(activity: &Activity, shared: &Shared) -> &'static str {
    let limits = &shared.limits;
    loop {
        let in_flight = activity.in_flight.load(Ordering::Acquire);
        let requests = activity.requests.load(Ordering::Acquire);
        let idle_since = activity.started
            + Duration::from_millis(activity.idle_since_ms.load(Ordering::Acquire));
        let (deadline, reason) = if requests == 0 {
            (idle_since + limits.header_timeout, "header_timeout")
        } else {
            (idle_since + limits.idle_timeout, "idle")
        };
        if in_flight > 0 {
            // Whatever a request in flight takes, it is never cut: look again later.
            tokio::time::sleep(limits.idle_timeout).await;
            continue;
        }
        // A request that started while this looked is seen by the second look.
        let unchanged = activity.in_flight.load(Ordering::Acquire) == 0
            && activity.requests.load(Ordering::Acquire) == requests;
        let now = Instant::now();
        if now >= deadline && unchanged {
            return reason;
        }
        // Activity only moves the idle deadline later, except the first request: once
        // it is answered, the idle timeout may end before the header timeout would.
        let wake = if requests == 0 {
            deadline.min(now + limits.idle_timeout)
        } else {
            deadline
        };
        tokio::time::sleep_until(wake).await;
    }
}

/// One request in flight, from its headers until its answer's body is sent or dropped.
struct InFlight {
    activity: Arc<Activity>,
}

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::AcqRel);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight { activity }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.activity;
        let idle_since = activity.started.elapsed().as_millis() as u64;
        activity
            .idle_since_ms
            .fetch_max(idle_since, Ordering::AcqRel);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body that keeps its request in flight until it is sent.
struct Tracked {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A socket that holds its slot under the connection cap for as long as it is open,
/// upgraded (a WebSocket) or not.
struct Held {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    server: &'static str,
}

impl Held {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, server: &'static str) -> Self {
        metrics::gauge!("onsale_server_connections_open", "server" => server).increment(1.0);
        Held {
            stream,
            _slot: slot,
            server,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        metrics::gauge!("onsale_server_connections_open", "server" => self.server).decrement(1.0);
    }
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
