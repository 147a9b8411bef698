//! Where an edge gets its catalogue: a source of published snapshots (`latest` and the
//! versions it names, in the indexer's layout), the rule for when to look again, and the
//! look itself. Adapters provide the source (a folder, HTTP, the platform's fetch) and
//! decide how a look runs (a task, after the response, before it).

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use onsale_indexer::{Snapshot, layout};

use crate::{Cache, Edge, Upstream};

/// Where published snapshots are read.
pub trait SnapshotSource {
    /// The bytes published under `name`, a path of the snapshot layout (`latest`,
    /// `snapshots/{version}.snap`).
    fn read(&self, name: &str) -> impl Future<Output = Result<Bytes, SourceError>>;
}

/// Why no snapshot was installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// Reading from the source failed (what the platform said).
    Read(String),
    /// The `latest` pointer is not a version number.
    Pointer(String),
    /// A version's bytes did not open as a snapshot.
    Open {
        /// Which version.
        version: u64,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceError::Read(why) => write!(f, "reading snapshots: {why}"),
            SourceError::Pointer(text) => write!(f, "the latest pointer {text:?} is not a version"),
            SourceError::Open { version, reason } => {
                write!(f, "opening snapshot {version}: {reason}")
            }
        }
    }
}

impl std::error::Error for SourceError {}

/// When an edge looks at `latest` again: at most once per interval while it has a
/// snapshot, on every request while it has none (a new isolate or instance serves as soon
/// as the first look succeeds).
#[derive(Debug)]
pub struct RefreshPolicy {
    interval_ms: i64,
    /// When the last look started, in milliseconds since the epoch.
    looked_at: AtomicI64,
}

impl RefreshPolicy {
    /// Looks at most once per `interval_ms` once a snapshot is installed.
    pub const fn every(interval_ms: i64) -> Self {
        RefreshPolicy {
            interval_ms,
            looked_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether a look is due at `now_ms`; if so, it counts as started now.
    pub fn due(&self, now_ms: i64, installed: bool) -> bool {
        let last = self.looked_at.load(Ordering::Relaxed);
        if installed && now_ms.saturating_sub(last) < self.interval_ms {
            return false;
        }
        self.looked_at.store(now_ms, Ordering::Relaxed);
        true
    }
}

impl<C: Cache, U: Upstream> Edge<C, U> {
    /// Installs the version `latest` names if it is newer than the one served; returns
    /// the version installed, if any. A failure leaves the served snapshot as it is.
    pub async fn refresh(&self, source: &impl SnapshotSource) -> Result<Option<u64>, SourceError> {
        let pointer = source.read(layout::LATEST).await?;
        let latest = layout::parse_latest(&pointer).map_err(|_| {
            SourceError::Pointer(String::from_utf8_lossy(&pointer).trim().to_string())
        })?;
        if self
            .snapshot_version()
            .is_some_and(|current| current >= latest)
        {
            return Ok(None);
        }
        let bytes = source.read(&layout::snapshot_path(latest)).await?;
        let snapshot = Snapshot::from_bytes(bytes.to_vec()).map_err(|e| SourceError::Open {
            version: latest,
            reason: e.to_string(),
        })?;
        Ok(self.install(snapshot).then_some(latest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_every_interval_once_installed_and_always_before() {
        let policy = RefreshPolicy::every(1_000);
        assert!(policy.due(10_000, false));
        assert!(
            policy.due(10_001, false),
            "no snapshot: every request looks"
        );
        assert!(!policy.due(10_500, true));
        assert!(policy.due(11_001, true));
        assert!(!policy.due(11_002, true));
    }
}
