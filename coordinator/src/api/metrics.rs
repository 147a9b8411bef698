//! Prometheus metrics: one process-wide recorder, a per-request middleware, `/metrics`.
//!
//! On the API's address `/metrics` needs the operator token (it tells how busy the site
//! is, and which calls fail). For a scraper that cannot send a token, [`serve`] answers
//! `/metrics` without one on a separate address (`--metrics-listen`), which the operator
//! keeps private.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::extract::Staff;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use (a second coordinator in the same
/// process, as in tests, shares it).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
            .expect("static buckets")
            .install_recorder()
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle());
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .expect("spawning the metrics upkeep thread");
        handle
    })
}

/// Counts requests and their latency by route and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("onsale_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("onsale_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` in Prometheus text format, for the operator token only.
pub async fn metrics_show(_: Staff) -> impl IntoResponse {
    render()
}

fn render() -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        handle().render(),
    )
}

/// Serves `GET /metrics` (no token needed) and nothing else on `listener`, until
/// `shutdown` completes: the `--metrics-listen` address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    handle();
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(|| async { render() }))
        .fallback(|| async {
            super::api_error_response(&onsale_model::ApiError::new(
                onsale_model::ErrorCode::NotFound,
                "this address serves /metrics only",
            ))
        });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
