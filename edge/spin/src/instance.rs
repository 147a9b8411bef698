//! The edge of one component instance: built on its first request from the environment,
//! kept in a thread-local (an instance runs one thread), with the catalogue snapshot it
//! serves.
//!
//! A request first looks at `{ONSALE_SNAPSHOTS}/latest` when it is due (at most once a
//! second once a snapshot is installed, always before) and installs a newer snapshot
//! before it is served. Runtimes that start an instance per request therefore serve each
//! request from the newest snapshot published; `wasmtime serve` reuses a WASIp3 instance
//! (up to 128 requests, 16 at once), which keeps the snapshot and the cache between them.

use std::cell::OnceCell;
use std::ops::Range;
use std::rc::Rc;

use bytes::Bytes;
use onsale_edge::{EdgeRequest, EdgeResponse, RefreshPolicy, SnapshotSource, SourceError};
use onsale_model::{ApiError, ErrorCode};

use crate::upstream::{get, get_range};
use crate::{HttpUpstream, InstanceCache, SpinEdge};

/// Bytes of responses the instance's cache keeps.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

thread_local! {
    static INSTANCE: OnceCell<Rc<Instance>> = const { OnceCell::new() };
}

/// The edge core of this instance and where its snapshots come from.
pub struct Instance {
    edge: SpinEdge,
    snapshots: HttpSource,
    /// A look at `latest` at most once a second once a snapshot is installed.
    policy: RefreshPolicy,
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
        let edge = match std::env::var("ONSALE_SEARCH_ORIGIN") {
            Ok(origin) if !origin.trim().is_empty() => {
                edge.with_search_origin(HttpUpstream::new(origin.trim()))
            }
            _ => edge,
        };
        let instance = Rc::new(Instance {
            edge,
            snapshots: HttpSource {
                base: var("ONSALE_SNAPSHOTS")?.trim_end_matches('/').to_string(),
            },
            policy: RefreshPolicy::every(1_000),
        });
        Ok(INSTANCE.with(|cell| cell.get_or_init(|| instance).clone()))
    }

    /// Answers one request, reading the document blocks it needs from the snapshots.
    pub async fn handle(&self, request: EdgeRequest) -> EdgeResponse {
        self.edge.handle_from(request, &self.snapshots).await
    }

    /// Installs a newer snapshot if one is published and a look is due; while none is
    /// installed every request looks (requests an instance serves at once each wait for
    /// their own look rather than answer `503`). A failure leaves the snapshot served as it
    /// is (none at all means reads answer `503 unavailable`).
    pub async fn keep_fresh(&self) {
        let installed = self.edge.snapshot_version().is_some();
        if !self.policy.due(unix_millis(), installed) {
            return;
        }
        if let Err(why) = self.edge.refresh(&self.snapshots).await {
            eprintln!("onsale edge: no new snapshot: {why}");
        }
    }
}

/// The snapshots published under `ONSALE_SNAPSHOTS`, read over outbound HTTP.
struct HttpSource {
    /// The base URL, without a trailing `/`.
    base: String,
}

impl SnapshotSource for HttpSource {
    async fn read(&self, name: &str) -> Result<Bytes, SourceError> {
        get(&format!("{}/{name}", self.base))
            .await
            .map_err(|e| SourceError::Read(e.to_string()))
    }

    async fn read_range(&self, name: &str, range: Range<u64>) -> Result<Bytes, SourceError> {
        get_range(&format!("{}/{name}", self.base), range)
            .await
            .map_err(|e| SourceError::Read(e.to_string()))
    }
}

/// The wall clock in milliseconds since the Unix epoch (for pass expiry and refreshes).
fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A required environment variable.
fn var(name: &str) -> Result<String, ApiError> {
    std::env::var(name).map_err(|_| {
        ApiError::new(
            ErrorCode::Internal,
            format!("the component has no {name} environment variable (spin.toml)"),
        )
    })
}
