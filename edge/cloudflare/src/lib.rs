//! The Cloudflare Workers adapter of the edge: [`onsale_edge::Edge`] as a Workers module
//! built with the `worker` crate (workers-rs) and bundled by `worker-build`.
//!
//! It only converts between the Workers runtime's types and the core's, and gives the core
//! its two platform services; pages, search, caching rules and forwarding are the core's,
//! the same as on every adapter.
//!
//! Layout:
//! - `fetch` (this file): the entry point, live feeds passed through as streams, and the
//!   request and response conversions.
//! - [`WorkersCache`]: the core's [`onsale_edge::Cache`] over the Workers Cache API.
//! - [`FetchUpstream`]: the core's [`onsale_edge::Upstream`], `fetch` to the coordinator.
//! - [`Isolate`]: the edge of one isolate and the snapshot it keeps between requests.
//!
//! Configuration (`[vars]` in `wrangler.toml`, or `wrangler dev --var NAME:VALUE`):
//! - `ONSALE_SNAPSHOTS`: the base URL `onsale index` publishes under (`{base}/latest`,
//!   `{base}/snapshots/{version}.snap`).
//! - `ONSALE_COORDINATOR`: the coordinator's base URL, where writes are forwarded.
//! - `ONSALE_LIVE_URL` (optional): the coordinator's public URL, where event pages open
//!   the live seat feed and the queue page its position feed (without it they open them
//!   on the worker, which streams them through to `ONSALE_COORDINATOR`).
//! - `ONSALE_QUEUE_KEY` (optional, a secret: `wrangler secret put ONSALE_QUEUE_KEY`): the
//!   coordinators' queue key (`GET /v1/operator/queue-key`); with it the edge refuses
//!   holds without a valid waiting-room pass itself.
//! - `ONSALE_REGION` (optional): the region whose snapshots the edge follows
//!   (`{base}/regions/{name}/`, published by `onsale index --region`); its pages list and
//!   search that region first, and reads elsewhere open those snapshots as needed.
//! - `ONSALE_DOCUMENT_CACHE_BYTES`, `ONSALE_OTHER_SNAPSHOT_BYTES` (optional): the bytes of
//!   document blocks kept (default 2 MiB) and of other regions' snapshots (default 8 MiB).
//! - `ONSALE_SEARCH_ORIGIN` (optional, with `ONSALE_REGION`): an edge of every event
//!   (`onsale edge` without `--region`) that answers this worker's reads of other regions
//!   and of every event, so the isolate never opens the whole catalogue's head.
//!
//! Decisions:
//! - A Workers isolate runs one thread and JavaScript-backed values are not `Send`, so the
//!   edge lives in a thread-local, built on the first request from that request's `Env`.
//! - Errors of the adapter itself (a missing variable, a body that cannot be read) answer
//!   in the core's JSON error shape, never with the runtime's own error page.
//! - Rate limits are Cloudflare's, not the worker's: an isolate's memory is per data
//!   centre and short-lived, so counting there would be neither shared nor lasting. Set
//!   rate-limiting rules (WAF → Rate limiting rules, counted per IP) on `POST /v1/users`,
//!   `/v1/sessions`, `/v1/events/*/holds`, `/v1/holds/*/checkout` and `/v1/events/*/queue`,
//!   with rates like the native edge's (`onsale edge --help`). The coordinator then sees
//!   Cloudflare's addresses, not the clients': give it high per-address limits (or `off`)
//!   and keep its per-account limits and log-in lock. Never list Cloudflare's addresses
//!   as `--trusted-proxy`: the worker drops any `X-Onsale-Client-Ip` or
//!   `X-Onsale-Edge-Secret` a client sends, but names no client address itself.

mod cache;
mod isolate;
mod upstream;

use bytes::Bytes;
use onsale_edge::{EdgeRequest, EdgeResponse};
use onsale_model::{ApiError, ErrorCode};
use worker::{Context, Env, Headers, Request, Response, ResponseBody, event};

pub use cache::WorkersCache;
pub use isolate::Isolate;
pub use upstream::FetchUpstream;

/// The edge core as this adapter builds it.
pub type CloudflareEdge = onsale_edge::Edge<WorkersCache, FetchUpstream>;

#[event(fetch)]
async fn fetch(request: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    if onsale_edge::is_live_feed(&request.path()) {
        return live(&request, &env).await;
    }
    let answer = match (Isolate::get(&env), edge_request(request).await) {
        (Ok(isolate), Ok(request)) => {
            isolate.keep_fresh(&ctx).await;
            isolate.handle(request).await
        }
        (Err(error), _) | (_, Err(error)) => EdgeResponse::json_error(&error),
    };
    response(answer)
}

/// A live feed, passed to the coordinator as a stream (see [`FetchUpstream::stream`]).
async fn live(request: &Request, env: &Env) -> worker::Result<Response> {
    let isolate = match Isolate::get(env) {
        Ok(isolate) => isolate,
        Err(error) => return response(EdgeResponse::json_error(&error)),
    };
    match isolate.edge().upstream().stream(request).await {
        Ok(answer) => Ok(answer),
        Err(error) => response(EdgeResponse::json_error(&ApiError::new(
            ErrorCode::Unavailable,
            format!("the booking service is unreachable ({error}); retry in a moment"),
        ))),
    }
}

/// The core's view of a Workers request.
async fn edge_request(mut request: Request) -> Result<EdgeRequest, ApiError> {
    let url = request
        .url()
        .map_err(|e| ApiError::invalid(format!("bad request URL: {e}")))?;
    let headers = request.headers().entries().collect();
    let body = request
        .bytes()
        .await
        .map_err(|e| ApiError::invalid(format!("could not read the request body: {e}")))?;
    Ok(EdgeRequest {
        method: request.inner().method(),
        path: url.path().to_string(),
        query: url.query().unwrap_or_default().to_string(),
        headers,
        body: Bytes::from(body),
    }
    // The client's own claims about its address are never passed on (see the decisions).
    .without_client_claims())
}

/// A Workers response from the core's; a response without a body gets none at all, as
/// `304` and `204` must.
fn response(response: EdgeResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    let body = if response.body.is_empty() {
        ResponseBody::Empty
    } else {
        ResponseBody::Body(response.body.to_vec())
    };
    Ok(Response::from_body(body)?
        .with_status(response.status)
        .with_headers(headers))
}

/// A configuration problem: the operator must fix `wrangler.toml`.
fn misconfigured(message: String) -> ApiError {
    ApiError::new(ErrorCode::Internal, message)
}
