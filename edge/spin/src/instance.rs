//! The edge of one component instance: built on its first request from the environment,
//! kept in a thread-local (an instance runs one thread), with the catalogue snapshot it
//! serves.
//!
//! A request first looks at `{ONSALE_SNAPSHOTS}/latest` when it is due (at most once a
//! second once a snapshot is installed, always before) and installs a newer snapshot
//! before it is served. Runtimes that start an instance per request therefore serve each
//! request from the newest snapshot published; `wasmtime serve` reuses a WASIp3 instance
//! (up to 128 requests, 16 at once), which keeps the snapshot and the cache between them.

use std::cell::{Cell, OnceCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use onsale_indexer::{Snapshot, layout};
use onsale_model::{ApiError, ErrorCode};

use crate::upstream::get;
use crate::{HttpUpstream, InstanceCache, SpinEdge};

/// Shortest time between two looks at `latest`.
const REFRESH: Duration = Duration::from_secs(1);

/// Bytes of responses the instance's cache keeps.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

thread_local! {
    static INSTANCE: OnceCell<Rc<Instance>> = const { OnceCell::new() };
}

/// The edge core of this instance and where its snapshots come from.
pub struct Instance {
    edge: SpinEdge,
    /// `ONSALE_SNAPSHOTS`, without a trailing `/`.
    snapshots: String,
    /// When `latest` was last asked for; `None` before the first look.
    checked_at: Cell<Option<Instant>>,
}

impl Instance {
    /// This instance's edge, built on first use from the environment.
    pub fn get() -> Result<Rc<Instance>, ApiError> {
        if let Some(instance) = INSTANCE.with(|cell| cell.get().cloned()) {
            return Ok(instance);
        }
        let edge = SpinEdge::new(
            InstanceCache::new(CACHE_BYTES),
            HttpUpstream::new(&var("ONSALE_COORDINATOR")?),
        )
        .with_settings(|name| std::env::var(name).ok(), unix_millis)?;
        let instance = Rc::new(Instance {
            edge,
            snapshots: var("ONSALE_SNAPSHOTS")?.trim_end_matches('/').to_string(),
            checked_at: Cell::new(None),
        });
        Ok(INSTANCE.with(|cell| cell.get_or_init(|| instance).clone()))
    }

    /// The edge core.
    pub fn edge(&self) -> &SpinEdge {
        &self.edge
    }

    /// Installs a newer snapshot if one is published and a look is due; while none is
    /// installed every request looks (requests an instance serves at once each wait for
    /// their own look rather than answer `503`). A failure leaves the snapshot served as it
    /// is (none at all means reads answer `503 unavailable`).
    pub async fn keep_fresh(&self) {
        let now = Instant::now();
        let installed = self.edge.snapshot_version().is_some();
        if installed
            && self
                .checked_at
                .get()
                .is_some_and(|at| now.duration_since(at) < REFRESH)
        {
            return;
        }
        self.checked_at.set(Some(now));
        if let Err(why) = self.refresh().await {
            eprintln!("onsale edge: no new snapshot: {why}");
        }
    }

    /// Installs the version `latest` names if it is newer than the one served.
    async fn refresh(&self) -> Result<(), String> {
        let pointer = get(&format!("{}/{}", self.snapshots, layout::LATEST))
            .await
            .map_err(|e| e.to_string())?;
        let latest = layout::parse_latest(&pointer).map_err(|e| e.to_string())?;
        if self
            .edge
            .snapshot_version()
            .is_some_and(|current| current >= latest)
        {
            return Ok(());
        }
        let url = format!("{}/{}", self.snapshots, layout::snapshot_path(latest));
        let bytes = get(&url).await.map_err(|e| e.to_string())?;
        let snapshot = Snapshot::from_bytes(bytes.to_vec())
            .map_err(|e| format!("opening snapshot {latest}: {e}"))?;
        self.edge.install(snapshot);
        Ok(())
    }
}

/// A required environment variable.
/// The wall clock in milliseconds since the Unix epoch (for pass expiry).
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn var(name: &str) -> Result<String, ApiError> {
    std::env::var(name).map_err(|_| {
        ApiError::new(
            ErrorCode::Internal,
            format!("the component has no {name} environment variable (spin.toml)"),
        )
    })
}
