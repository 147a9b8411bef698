//! The indexer as a service (feature `service`): follows a coordinator's change log over
//! HTTP (`GET /v1/changes`, read after the [`LogPosition`] of the catalogue it last
//! published) and publishes a new snapshot into a folder whenever an event is created or
//! changed.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use onsale_model::{Catalogue, Change, LogEntry, LogPosition};

use crate::{Regions, SnapshotFolder};

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
    /// The operator's regions, each published beside the whole catalogue (none: the whole
    /// catalogue alone).
    pub regions: Regions,
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
    async fn publish(&self) -> anyhow::Result<Option<LogPosition>> {
        let catalogue: Catalogue = self.get("/v1/operator/catalogue").await?;
        // The snapshot's version is the commit version of its log position, which grows
        // with every commit on every backend.
        let version = catalogue.position.map_or(0, |p| p.version());
        if self
            .folder
            .latest()?
            .is_some_and(|latest| latest >= version)
        {
            return Ok(catalogue.position);
        }
        let started = std::time::Instant::now();
        let events = catalogue.events;
        let (folder, regions) = (self.folder.clone(), self.config.regions.clone());
        let sizes = tokio::task::spawn_blocking(move || regions.publish(&folder, version, &events))
            .await
            .context("snapshot build task")??;
        let took_ms = started.elapsed().as_millis() as u64;
        for (region, bytes) in sizes {
            let region = region.as_deref().unwrap_or(crate::layout::EVERY_REGION);
            tracing::info!(
                version,
                region,
                bytes,
                took_ms,
                "catalogue snapshot published"
            );
        }
        Ok(catalogue.position)
    }

    /// Reads the change log after `position` until an entry touches the catalogue.
    async fn wait_for_change(&self, mut position: Option<LogPosition>) -> anyhow::Result<()> {
        loop {
            let path = match position {
                Some(p) => format!("/v1/changes?after={p}&limit=1000"),
                None => "/v1/changes?limit=1000".to_string(),
            };
            let entries: Vec<LogEntry> = self.get(&path).await?;
            if entries.iter().any(changes_catalogue) {
                return Ok(());
            }
            match entries.last() {
                Some(last) => position = Some(last.position),
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
