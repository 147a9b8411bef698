//! The edge of one isolate: built once from the `Env`, kept in a thread-local, with the
//! catalogue snapshot it serves held in memory between requests.
//!
//! The isolate asks `{ONSALE_SNAPSHOTS}/latest` at most once a second. Until it has a
//! snapshot, a request waits for that look (every request waiting shares the same one);
//! once it has one, the look runs after the response (`wait_until`) and the request is
//! served from the snapshot it already holds.

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

use futures_util::FutureExt;
use futures_util::future::{LocalBoxFuture, Shared};
use onsale_indexer::{Snapshot, layout};
use onsale_model::ApiError;
use worker::{Context, Date, Env, Fetch, Url, console_warn};

use crate::{CloudflareEdge, FetchUpstream, WorkersCache, misconfigured};

/// Shortest time between two looks at `latest`, in milliseconds.
const REFRESH_MS: u64 = 1_000;

/// A look at `latest` that several requests may wait for.
type Refresh = Shared<LocalBoxFuture<'static, ()>>;

thread_local! {
    static ISOLATE: OnceCell<Rc<Isolate>> = const { OnceCell::new() };
}

/// The edge core of this isolate and where its snapshots come from.
pub struct Isolate {
    edge: CloudflareEdge,
    /// `ONSALE_SNAPSHOTS`, without a trailing `/`.
    snapshots: String,
    /// When `latest` was last asked for, in milliseconds since the epoch.
    checked_at: Cell<u64>,
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
        .with_settings(
            |name| {
                env.secret(name)
                    .or_else(|_| env.var(name))
                    .ok()
                    .map(|v| v.to_string())
            },
            || Date::now().as_millis() as i64,
        )?;
        let isolate = Rc::new(Isolate {
            edge,
            snapshots: var(env, "ONSALE_SNAPSHOTS")?
                .trim_end_matches('/')
                .to_string(),
            checked_at: Cell::new(0),
            refreshing: RefCell::new(None),
        });
        Ok(ISOLATE.with(|cell| cell.get_or_init(|| isolate).clone()))
    }

    /// The edge core.
    pub fn edge(&self) -> &CloudflareEdge {
        &self.edge
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
        let now = Date::now().as_millis();
        if now.saturating_sub(self.checked_at.get()) < REFRESH_MS {
            return None;
        }
        self.checked_at.set(now);
        let isolate = Rc::clone(self);
        let refresh = async move {
            if let Err(why) = isolate.refresh().await {
                console_warn!("onsale edge: no new snapshot: {why}");
            }
            isolate.refreshing.replace(None);
        }
        .boxed_local()
        .shared();
        self.refreshing.replace(Some(refresh.clone()));
        Some((refresh, true))
    }

    /// Installs the version `latest` names if it is newer than the one served.
    async fn refresh(&self) -> Result<(), String> {
        let pointer = self.fetch(layout::LATEST).await?;
        let latest = layout::parse_latest(&pointer).map_err(|e| e.to_string())?;
        if self
            .edge
            .snapshot_version()
            .is_some_and(|current| current >= latest)
        {
            return Ok(());
        }
        let bytes = self.fetch(&layout::snapshot_path(latest)).await?;
        let snapshot =
            Snapshot::from_bytes(bytes).map_err(|e| format!("opening snapshot {latest}: {e}"))?;
        self.edge.install(snapshot);
        Ok(())
    }

    /// `GET {ONSALE_SNAPSHOTS}/{name}`, which must answer 200.
    async fn fetch(&self, name: &str) -> Result<Vec<u8>, String> {
        let url = format!("{}/{name}", self.snapshots);
        let parsed = Url::parse(&url).map_err(|e| format!("{url}: {e}"))?;
        let mut response = Fetch::Url(parsed)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status_code() != 200 {
            return Err(format!("{url}: status {}", response.status_code()));
        }
        response.bytes().await.map_err(|e| format!("{url}: {e}"))
    }
}

/// A required `[vars]` entry.
fn var(env: &Env, name: &str) -> Result<String, ApiError> {
    env.var(name)
        .map(|value| value.to_string())
        .map_err(|_| misconfigured(format!("the worker has no {name} variable (wrangler.toml)")))
}
