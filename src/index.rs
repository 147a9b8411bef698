//! `onsale index`: follows the coordinator's change log and publishes a new catalogue
//! snapshot whenever an event is created or changed; optionally serves the published
//! folder over HTTP for edges that fetch snapshots by URL.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onsale_indexer::{SnapshotFolder, build_snapshot};
use onsale_model::{Catalogue, Change, LogEntry};

/// How the indexer reaches the coordinator and where it publishes.
#[derive(Debug, Clone)]
pub struct IndexerConfig {
    /// The coordinator's base URL.
    pub coordinator: String,
    /// Operator token (the catalogue and the change log are operator calls).
    pub operator_token: String,
    /// Folder to publish into.
    pub out: PathBuf,
    /// How often the change log is polled.
    pub poll: Duration,
}

/// The snapshot version for a change-log position: its commit version, which grows with
/// every commit on every backend.
fn version_of(position: Option<&str>) -> anyhow::Result<u64> {
    match position {
        None => Ok(0),
        Some(hex) => u64::from_str_radix(hex.get(..16).context("short log position")?, 16)
            .context("log position is not hex"),
    }
}

/// Whether a change can alter what a snapshot holds.
fn changes_catalogue(entry: &LogEntry) -> bool {
    matches!(
        entry.change,
        Change::EventCreated { .. } | Change::EventUpdated { .. }
    )
}

struct Follower {
    config: IndexerConfig,
    client: reqwest::Client,
    folder: SnapshotFolder,
}

impl Follower {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.config.coordinator.trim_end_matches('/'));
        Ok(self
            .client
            .get(&url)
            .bearer_auth(&self.config.operator_token)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Builds and publishes a snapshot of the whole catalogue; returns its position.
    async fn publish(&self) -> anyhow::Result<Option<String>> {
        let catalogue: Catalogue = self.get("/v1/operator/catalogue").await?;
        let version = version_of(catalogue.position.as_deref())?;
        if self
            .folder
            .latest()?
            .is_some_and(|latest| latest >= version)
        {
            return Ok(catalogue.position);
        }
        let started = std::time::Instant::now();
        let events = catalogue.events;
        let bytes = tokio::task::spawn_blocking(move || build_snapshot(version, &events))
            .await
            .context("snapshot build task")??;
        self.folder.publish(&bytes)?;
        tracing::info!(
            version,
            bytes = bytes.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "catalogue snapshot published"
        );
        Ok(catalogue.position)
    }

    /// Reads the change log after `position` until an entry touches the catalogue.
    async fn wait_for_change(&self, mut position: Option<String>) -> anyhow::Result<()> {
        loop {
            let path = match &position {
                Some(p) => format!("/v1/changes?after={p}&limit=1000"),
                None => "/v1/changes?limit=1000".to_string(),
            };
            let entries: Vec<LogEntry> = self.get(&path).await?;
            if entries.iter().any(changes_catalogue) {
                return Ok(());
            }
            match entries.last() {
                Some(last) => position = Some(last.position.clone()),
                None => tokio::time::sleep(self.config.poll).await,
            }
        }
    }
}

/// Publishes a snapshot, then another after every catalogue change, forever. Errors
/// (the coordinator down, say) are logged and retried; the last snapshot stays published.
pub async fn run(config: IndexerConfig) -> anyhow::Result<()> {
    let folder = SnapshotFolder::new(&config.out);
    let follower = Follower {
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?,
        folder,
        config,
    };
    loop {
        let step = async {
            let position = follower.publish().await?;
            follower.wait_for_change(position).await
        };
        if let Err(err) = step.await {
            tracing::warn!(error = %format!("{err:#}"), "indexer: will retry");
            tokio::time::sleep(follower.config.poll.max(Duration::from_secs(1))).await;
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_log_positions() {
        assert_eq!(version_of(None).unwrap(), 0);
        assert_eq!(version_of(Some("000000000000002a00000003")).unwrap(), 42);
        assert!(version_of(Some("zz")).is_err());
    }
}
