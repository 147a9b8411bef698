//! The Spin adapter of the edge: [`onsale_edge::Edge`] as a wasi:http component built with
//! `spin-sdk` for `wasm32-wasip2`, served by `spin up` (or any runtime that serves wasi:http
//! components, such as `wasmtime serve`).
//!
//! It only converts between the `http` crate's types (which spin-sdk uses) and the core's,
//! and gives the core its two platform services; pages, search, caching rules and
//! forwarding are the core's, the same as on every adapter.
//!
//! Layout:
//! - `handle` (this file): the entry point, and the request and response conversions.
//! - [`InstanceCache`]: the core's [`onsale_edge::Cache`], in the instance's memory.
//! - [`HttpUpstream`]: the core's [`onsale_edge::Upstream`], outbound HTTP to the coordinator.
//! - [`Instance`]: the edge of one component instance and the snapshot it holds.
//!
//! Configuration: environment variables (`[component.edge] environment` in `spin.toml`,
//! `wasmtime serve --env NAME=VALUE`):
//! - `ONSALE_SNAPSHOTS`: the base URL `onsale index` publishes under (`{base}/latest`,
//!   `{base}/snapshots/{version}.snap`).
//! - `ONSALE_COORDINATOR`: the coordinator's base URL, where writes are forwarded.
//! - `ONSALE_LIVE_URL` (optional): the coordinator's public URL, where event pages open
//!   the live seat feed and the queue page its position feed (without it they poll). A
//!   wasi:http component answers whole, so live feeds asked of this edge are answered at
//!   once with `501 live_elsewhere` naming this URL, never forwarded to hang.
//! - `ONSALE_QUEUE_KEY` (optional): the coordinators' queue key
//!   (`GET /v1/operator/queue-key`); with it the edge refuses holds without a valid
//!   waiting-room pass itself.
//! - `ONSALE_REGION` (optional): the region whose snapshots the edge follows
//!   (`{base}/regions/{name}/`, published by `onsale index --region`); its pages list and
//!   search that region first, and reads elsewhere open those snapshots as needed.
//! - `ONSALE_DOCUMENT_CACHE_BYTES`, `ONSALE_OTHER_SNAPSHOT_BYTES` (optional): the bytes of
//!   document blocks kept (default 2 MiB) and of other regions' snapshots (default 8 MiB).
//! - `ONSALE_SEARCH_ORIGIN` (optional, with `ONSALE_REGION`): an edge of every event
//!   (`onsale edge` without `--region`) that answers this edge's reads of other regions
//!   and of every event, so it never opens the whole catalogue's head.
//!
//! Decisions:
//! - Everything lives in the component instance. A runtime that starts a fresh instance
//!   for each request makes each request fetch `latest` and the snapshot and render
//!   afresh; one that reuses instances (`wasmtime serve` does for WASIp3 components, up to
//!   128 requests each) keeps the snapshot and the cache, and asks `latest` at most once a
//!   second. Plain environment
//!   variables (not Spin's variables interface) keep the component runnable by any
//!   wasi:http host.
//! - Errors of the adapter itself answer in the core's JSON error shape.

mod cache;
mod instance;
mod upstream;

use bytes::Bytes;
use onsale_edge::{EdgeRequest, EdgeResponse};
use onsale_model::ApiError;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, Request};
use spin_sdk::http_service;

pub use cache::InstanceCache;
pub use instance::Instance;
pub use upstream::HttpUpstream;

/// The edge core as this adapter builds it.
pub type SpinEdge = onsale_edge::Edge<InstanceCache, HttpUpstream>;

#[http_service]
async fn handle(request: Request) -> http::Response<FullBody<Bytes>> {
    let answer = match (Instance::get(), edge_request(request).await) {
        (Ok(instance), Ok(request)) => {
            instance.keep_fresh().await;
            instance.handle(request).await
        }
        (Err(error), _) | (_, Err(error)) => EdgeResponse::json_error(&error),
    };
    response(answer)
}

/// The core's view of an incoming request, without the headers only an edge may send.
async fn edge_request(request: Request) -> Result<EdgeRequest, ApiError> {
    let (parts, body) = request.into_parts();
    let body = body
        .bytes()
        .await
        .map_err(|e| ApiError::invalid(format!("could not read the request body: {e:?}")))?;
    Ok(EdgeRequest::from_http(&parts, body).without_client_claims())
}

/// The outgoing response for the core's.
fn response(response: EdgeResponse) -> http::Response<FullBody<Bytes>> {
    response.into_http().map(FullBody::new)
}
