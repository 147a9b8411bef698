//! The edge of one isolate: built once from the `Env`, kept in a thread-local, with the
//! catalogue snapshot it serves held in memory between requests.
//!
//! The isolate asks `{ONSALE_SNAPSHOTS}/latest` at most once a second. Until it has a
//! snapshot, a request waits for that look (every request waiting shares the same one);
//! once it has one, the look runs after the response (`wait_until`) and the request is
//! served from the snapshot it already holds.

use std::cell::{OnceCell, RefCell};
use std::ops::Range;
use std::rc::Rc;

use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use onsale_edge::{EdgeRequest, EdgeResponse, RefreshPolicy, SnapshotSource, SourceError};
use onsale_model::ApiError;
use worker::{Context, Date, Env, Fetch, Headers, Url, console_warn, web_sys};

use crate::{CloudflareEdge, FetchUpstream, WorkersCache, misconfigured};

/// A look at `latest` that several requests may wait for.
type Refresh = Shared<LocalBoxFuture<'static, ()>>;

thread_local! {
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// The edge core of this isolate and where its snapshots come from.
pub struct Isolate {
    edge: CloudflareEdge,
    snapshots: FetchSource,
    /// A look at `latest` at most once a second.
    policy: RefreshPolicy,
    /// The look at `latest` in flight, if any; it clears itself when done.
    refreshing: RefCell<Option<Refresh>>,
}

impl Isolate {
    /// This isolate's edge, built on first use from the `Env`'s variables.
    pub fn get(env: &Env) -> Result<Rc<Isolate>, ApiError> {
        if let Some(isolate) = ISOLATE.with(|cell| cell.get().cloned()) {
            return Ok(isolate);
        }
        let edge = CloudflareEdge::new(
            WorkersCache::new(),
            FetchUpstream::new(&var(env, "ONSALE_COORDINATOR")?),
        )
        .with_streamed_live_feeds()
        .with_settings(
            |name| {
                env.secret(name)
                    .or_else(|_| env.var(name))
                    .ok()
                    .map(|v| v.to_string())
            },
            || Date::now().as_millis() as i64,
        )?;
        let edge = match env.var("ONSALE_SEARCH_ORIGIN").map(|v| v.to_string()) {
            Ok(origin) if !origin.trim().is_empty() => {
                edge.with_search_origin(FetchUpstream::new(origin.trim()))
            }
            _ => edge,
        };
        let isolate = Rc::new(Isolate {
            edge,
            snapshots: FetchSource {
                base: var(env, "ONSALE_SNAPSHOTS")?
                    .trim_end_matches('/')
                    .to_string(),
            },
            policy: RefreshPolicy::every(1_000),
            refreshing: RefCell::new(None),
        });
        Ok(ISOLATE.with(|cell| cell.get_or_init(|| isolate).clone()))
    }

    /// The edge core.
    pub fn edge(&self) -> &CloudflareEdge {
        &self.edge
    }

    /// Answers one request, reading the document blocks it needs from the snapshots.
    pub async fn handle(&self, request: EdgeRequest) -> EdgeResponse {
        self.edge.handle_from(request, &self.snapshots).await
    }

    /// Looks for a newer snapshot when one is due: waits for it only while no snapshot is
    /// installed, otherwise lets it finish after the response.
    pub async fn keep_fresh(self: &Rc<Self>, ctx: &Context) {
        let installed = self.edge.snapshot_version().is_some();
        match self.refresh_if_due() {
            Some((refresh, _)) if !installed => refresh.await,
            Some((refresh, true)) => ctx.wait_until(refresh),
            _ => {}
        }
    }

    /// The look in flight, or a new one if a second has passed since the last (the flag
    /// says it is new); `None` when no look is due.
    fn refresh_if_due(self: &Rc<Self>) -> Option<(Refresh, bool)> {
        if let Some(in_flight) = self.refreshing.borrow().clone() {
            return Some((in_flight, false));
        }
        let installed = self.edge.snapshot_version().is_some();
        if !self.policy.due(Date::now().as_millis() as i64, installed) {
            return None;
        }
        let isolate = Rc::clone(self);
        let refresh = async move {
            if let Err(why) = isolate.edge.refresh(&isolate.snapshots).await {
                console_warn!("onsale edge: no new snapshot: {why}");
            }
            isolate.refreshing.replace(None);
        }
        .boxed_local()
        .shared();
        self.refreshing.replace(Some(refresh.clone()));
        Some((refresh, true))
    }
}

/// The snapshots published under `ONSALE_SNAPSHOTS`, read with `fetch`.
struct FetchSource {
    /// The base URL, without a trailing `/`.
    base: String,
}

impl SnapshotSource for FetchSource {
    async fn read(&self, name: &str) -> Result<Bytes, SourceError> {
        let url = format!("{}/{name}", self.base);
        let failed = |why: String| SourceError::Read(format!("{url}: {why}"));
        let parsed = Url::parse(&url).map_err(|e| failed(e.to_string()))?;
        body_of(Fetch::Url(parsed), 200).await.map_err(failed)
    }

    async fn read_range(&self, name: &str, range: Range<u64>) -> Result<Bytes, SourceError> {
        let url = format!("{}/{name}", self.base);
        let wanted = range.end.saturating_sub(range.start);
        let failed = |why: String| {
            SourceError::Read(format!("{url} bytes {}..{}: {why}", range.start, range.end))
        };
        let headers = Headers::new();
        headers
            .set("range", &onsale_edge::range_header(&range))
            .map_err(|e| failed(e.to_string()))?;
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        init.set_headers(headers.as_ref());
        let request = web_sys::Request::new_with_str_and_init(&url, &init)
            .map_err(|e| failed(format!("{e:?}")))?;
        let bytes = body_of(Fetch::Request(request.into()), 206)
            .await
            .map_err(failed)?;
        if bytes.len() as u64 != wanted {
            return Err(failed(format!("{} bytes came", bytes.len())));
        }
        Ok(bytes)
    }
}

/// The body of `fetch`'s answer, which must have `status`; otherwise what went wrong.
async fn body_of(fetch: Fetch, status: u16) -> Result<Bytes, String> {
    let mut response = fetch.send().await.map_err(|e| e.to_string())?;
    if response.status_code() != status {
        return Err(format!("status {}", response.status_code()));
    }
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    Ok(Bytes::from(bytes))
}

/// A required `[vars]` entry.
fn var(env: &Env, name: &str) -> Result<String, ApiError> {
    env.var(name)
        .map(|value| value.to_string())
        .map_err(|_| misconfigured(format!("the worker has no {name} variable (wrangler.toml)")))
}
