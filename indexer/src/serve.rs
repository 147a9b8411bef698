//! Serving a published folder over HTTP (feature `service`), for edges that fetch
//! snapshots by URL.

use std::io::SeekFrom;
use std::ops::Range;
use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::layout;

/// Serves a published folder: `GET /latest` (revalidated every time), and
/// `GET /snapshots/{version}.snap` and `.head` (immutable, cached forever; one byte range
/// at a time on request, which is how edges read document blocks); the same under
/// `/regions/{name}/` for each region.
pub fn snapshot_router(out: PathBuf) -> axum::Router {
    axum::Router::new()
        .route("/latest", axum::routing::get(latest_show))
        .route("/snapshots/{file}", axum::routing::get(snapshot_show))
        .route(
            "/regions/{region}/latest",
            axum::routing::get(region_latest),
        )
        .route(
            "/regions/{region}/snapshots/{file}",
            axum::routing::get(region_snapshot),
        )
        .with_state(out)
}

/// The folder of a region, if `region` can name one.
fn region_root(out: &std::path::Path, region: &str) -> Option<PathBuf> {
    layout::is_region_name(region).then(|| out.join(layout::region_root(region)))
}

async fn region_latest(State(out): State<PathBuf>, Path(region): Path<String>) -> Response {
    match region_root(&out, &region) {
        Some(root) => latest_show(State(root)).await,
        None => (StatusCode::NOT_FOUND, "no such region\n").into_response(),
    }
}

async fn region_snapshot(
    State(out): State<PathBuf>,
    Path((region, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match region_root(&out, &region) {
        Some(root) => snapshot_show(State(root), Path(file), headers).await,
        None => (StatusCode::NOT_FOUND, "no such region\n").into_response(),
    }
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

async fn snapshot_show(
    State(out): State<PathBuf>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let valid = file
        .strip_suffix(".snap")
        .or_else(|| file.strip_suffix(".head"))
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return (StatusCode::NOT_FOUND, "no such snapshot\n").into_response();
    }
    let path = out.join("snapshots").join(&file);
    let Ok(mut opened) = tokio::fs::File::open(&path).await else {
        return (StatusCode::NOT_FOUND, "no such snapshot\n").into_response();
    };
    let immutable = [
        (header::CONTENT_TYPE, "application/octet-stream"),
        (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        (header::ACCEPT_RANGES, "bytes"),
    ];
    let read = async {
        let len = opened.metadata().await?.len();
        let Some(range) = headers.get(header::RANGE) else {
            let mut bytes = Vec::new();
            opened.read_to_end(&mut bytes).await?;
            return Ok((immutable, bytes).into_response());
        };
        let Some(range) = range.to_str().ok().and_then(|text| byte_range(text, len)) else {
            let unsatisfiable = [(header::CONTENT_RANGE, format!("bytes */{len}"))];
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, unsatisfiable).into_response());
        };
        opened.seek(SeekFrom::Start(range.start)).await?;
        let mut bytes = vec![0; (range.end - range.start) as usize];
        opened.read_exact(&mut bytes).await?;
        let content_range = format!("bytes {}-{}/{len}", range.start, range.end - 1);
        Ok::<_, std::io::Error>(
            (
                StatusCode::PARTIAL_CONTENT,
                immutable,
                [(header::CONTENT_RANGE, content_range)],
                bytes,
            )
                .into_response(),
        )
    };
    read.await.unwrap_or_else(|error| {
        tracing::warn!(%error, file, "reading a snapshot failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "reading the snapshot failed\n",
        )
            .into_response()
    })
}

/// The one range of `bytes=START-END` or `bytes=START-` (what edges ask for) within a
/// file of `len` bytes, as a half-open range; `None` for anything else.
fn byte_range(text: &str, len: u64) -> Option<Range<u64>> {
    let (start, end) = text.strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = start.parse().ok()?;
    let end: u64 = match end {
        "" => len.checked_sub(1)?,
        end => end.parse::<u64>().ok()?.min(len.checked_sub(1)?),
    };
    (start <= end).then(|| start..end + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_one_span_within_the_file() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(0..10));
        assert_eq!(byte_range("bytes=90-", 100), Some(90..100));
        assert_eq!(byte_range("bytes=90-500", 100), Some(90..100));
        for refused in [
            "bytes=100-",
            "bytes=5-4",
            "bytes=-5",
            "bytes=0-1,4-5",
            "0-9",
            "",
        ] {
            assert_eq!(byte_range(refused, 100), None, "{refused}");
        }
        assert_eq!(byte_range("bytes=0-", 0), None);
    }
}
