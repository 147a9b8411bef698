//! Serving a published folder over HTTP (feature `service`), for edges that fetch
//! snapshots by URL.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Serves a published folder: `GET /latest` (revalidated every time) and
/// `GET /snapshots/{version}.snap` (immutable, cached forever).
pub fn snapshot_router(out: PathBuf) -> axum::Router {
    axum::Router::new()
        .route("/latest", axum::routing::get(latest_show))
        .route("/snapshots/{file}", axum::routing::get(snapshot_show))
        .with_state(out)
}

async fn latest_show(State(out): State<PathBuf>) -> Response {
    match tokio::fs::read(out.join("latest")).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/plain"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no snapshot published yet\n").into_response(),
    }
}

async fn snapshot_show(State(out): State<PathBuf>, Path(file): Path<String>) -> Response {
    let valid = file
        .strip_suffix(".snap")
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return (StatusCode::NOT_FOUND, "no such snapshot\n").into_response();
    }
    match tokio::fs::read(out.join("snapshots").join(&file)).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "no such snapshot\n").into_response(),
    }
}
