//! Regions at the edge: which snapshot answers a read, and the snapshots an edge holds
//! besides its own.
//!
//! An edge started for a region (`--region europe`, `ONSALE_REGION`) follows that
//! region's snapshots (`regions/europe/` in the indexer's layout) and holds its head: the
//! reads its users make most (the home page, searches in their region, their events) need
//! nothing else. A read of another region (`?region=americas`) or of every event
//! (`?region=all`, and the JSON API's lists and searches without `region`) opens that
//! snapshot's head on first use, at the same version, and keeps it within a budget of its
//! own, least recently used first out. An edge without a region follows the root, which
//! holds every event, and opens regions the same way.

use std::sync::{Arc, Mutex};

use onsale_indexer::{Snapshot, layout};
use onsale_model::{ApiError, ErrorCode};
use serde::Deserialize;

use crate::SnapshotSource;
use crate::reads::ReadKind;

/// Whose events a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every event: the root of the snapshots.
    Every,
    /// One region's events.
    Region(String),
}

impl Scope {
    /// The scope of `region` (`None`: every event).
    pub fn of_region(region: Option<&str>) -> Scope {
        region.map_or(Scope::Every, |name| Scope::Region(name.to_string()))
    }

    /// What `snapshot` holds.
    pub fn of(snapshot: &Snapshot) -> Scope {
        Scope::of_region(snapshot.region())
    }

    /// How a query string and a cache key name it.
    pub fn label(&self) -> &str {
        match self {
            Scope::Every => layout::EVERY_REGION,
            Scope::Region(name) => name,
        }
    }

    /// Where its snapshots are, relative to the root (empty, or ending in `/`).
    pub fn prefix(&self) -> String {
        match self {
            Scope::Every => String::new(),
            Scope::Region(name) => layout::region_root(name),
        }
    }
}

/// Which snapshot a read wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wanted {
    /// A list or a search: this scope's.
    In(Scope),
    /// One event (or a demo picture): the edge's own snapshot if it has it, else every
    /// event's.
    Lookup,
}

impl Wanted {
    /// What a cache key ends with to tell a region's lists and searches from every
    /// event's (a look-up's answer is the same whichever snapshot found it).
    pub fn key_suffix(&self) -> String {
        match self {
            Wanted::In(Scope::Region(name)) => format!("#region={name}"),
            Wanted::In(Scope::Every) | Wanted::Lookup => String::new(),
        }
    }
}

#[derive(Deserialize)]
struct RegionParameter {
    region: Option<String>,
}

/// Which snapshot answers `kind` with `query` on an edge of `home`: `region=` if the
/// query names one; else the edge's own for its pages (a person sees their region first)
/// and every event for the JSON API (whose answers never depend on the edge asked).
pub(crate) fn wanted(kind: &ReadKind, query: &str, home: &Scope) -> Result<Wanted, ApiError> {
    let lookup = matches!(
        kind,
        ReadKind::ApiEvent(_)
            | ReadKind::EventPage(_)
            | ReadKind::QueuePage(_)
            | ReadKind::SeedGet
            | ReadKind::DemoImage(_)
    );
    if lookup {
        return Ok(Wanted::Lookup);
    }
    let named = serde_urlencoded::from_str::<RegionParameter>(query)
        .ok()
        .and_then(|parameter| parameter.region)
        .filter(|region| !region.trim().is_empty());
    let scope = match named.as_deref().map(str::trim) {
        Some(layout::EVERY_REGION) => Scope::Every,
        Some(name) if layout::is_region_name(name) => Scope::Region(name.to_string()),
        Some(_) => return Err(onsale_indexer::search::invalid_region()),
        None if matches!(kind, ReadKind::HomePage | ReadKind::SearchPage) => home.clone(),
        None => Scope::Every,
    };
    Ok(Wanted::In(scope))
}

/// The snapshots an edge holds besides its own, most recently used last, all of one
/// version (its own's), within a budget of bytes (the one just opened is kept whatever
/// it weighs, so every read can be answered).
pub(crate) struct Others {
    held: Mutex<Vec<Arc<Snapshot>>>,
    budget: usize,
}

impl Others {
    /// None held yet; at most `budget` bytes once some are.
    pub fn new(budget: usize) -> Others {
        Others {
            held: Mutex::new(Vec::new()),
            budget,
        }
    }

    /// How many bytes they hold now.
    pub fn held_bytes(&self) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.iter().map(|snapshot| snapshot.held_bytes()).sum()
    }

    /// The snapshot of `scope` at `home`'s version: `home` itself, one held, or its head
    /// read from `source` (and held). A region `home`'s version does not name is a 400;
    /// a head that cannot be read or opened, a 503.
    pub async fn snapshot(
        &self,
        scope: &Scope,
        home: &Arc<Snapshot>,
        source: &impl SnapshotSource,
        document_budget: usize,
    ) -> Result<Arc<Snapshot>, ApiError> {
        if *scope == Scope::of(home) {
            return Ok(home.clone());
        }
        if let Scope::Region(name) = scope
            && home.regions().binary_search(name).is_err()
        {
            let known = if home.regions().is_empty() {
                "this catalogue has none".to_string()
            } else {
                format!("they are: {}", home.regions().join(", "))
            };
            return Err(ApiError::invalid(format!(
                "region: there is no region named {name:?} ({known})"
            )));
        }
        let version = home.version();
        if let Some(held) = self.take(scope, version) {
            return Ok(held);
        }
        let unavailable = |why: String| {
            ApiError::new(
                ErrorCode::Unavailable,
                format!(
                    "the catalogue of {} cannot be read ({why}); retry in a moment",
                    scope.label()
                ),
            )
        };
        let path = format!("{}{}", scope.prefix(), layout::head_path(version));
        let head = source
            .read(&path)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let snapshot = Snapshot::from_head(Vec::from(head), document_budget)
            .map_err(|e| unavailable(e.to_string()))?;
        if snapshot.version() != version || Scope::of(&snapshot) != *scope {
            return Err(unavailable(format!("{path} holds another snapshot")));
        }
        let snapshot = Arc::new(snapshot);
        self.keep(snapshot.clone());
        Ok(snapshot)
    }

    /// The held snapshot of `scope` at `version`, now the most recently used.
    fn take(&self, scope: &Scope, version: u64) -> Option<Arc<Snapshot>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let at = held
            .iter()
            .position(|s| s.version() == version && Scope::of(s) == *scope)?;
        let snapshot = held.remove(at);
        held.push(snapshot.clone());
        Some(snapshot)
    }

    /// Holds `snapshot`, letting go of older versions and then of the least recently used
    /// until the rest fit the budget.
    fn keep(&self, snapshot: Arc<Snapshot>) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let version = snapshot.version();
        held.retain(|s| s.version() == version && Scope::of(s) != Scope::of(&snapshot));
        held.push(snapshot);
        while held.len() > 1 && held.iter().map(|s| s.held_bytes()).sum::<usize>() > self.budget {
            held.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted_for(path: &str, query: &str, home: &Scope) -> Result<Wanted, ApiError> {
        wanted(&crate::reads::classify(path).expect("a read"), query, home)
    }

    #[test]
    fn pages_default_to_the_edges_region_and_the_api_to_every_event() {
        let europe = Scope::Region("europe".into());
        let region = |name: &str| Wanted::In(Scope::Region(name.into()));
        assert_eq!(wanted_for("/", "", &europe).unwrap(), region("europe"));
        assert_eq!(
            wanted_for("/search", "q=x", &europe).unwrap(),
            region("europe")
        );
        assert_eq!(
            wanted_for("/", "region=all", &europe).unwrap(),
            Wanted::In(Scope::Every)
        );
        assert_eq!(
            wanted_for("/v1/search", "q=x", &europe).unwrap(),
            Wanted::In(Scope::Every)
        );
        assert_eq!(
            wanted_for("/v1/events", "region=americas", &europe).unwrap(),
            region("americas")
        );
        assert_eq!(
            wanted_for("/", "", &Scope::Every).unwrap(),
            Wanted::In(Scope::Every)
        );
        assert_eq!(
            wanted_for("/events/7", "region=x", &europe).unwrap(),
            Wanted::Lookup
        );
        assert_eq!(
            wanted_for("/getEvent", "eventId=7", &europe).unwrap(),
            Wanted::Lookup
        );
        for bad in ["region=Europe", "region=..%2Fsecrets", "region=a%2Fb"] {
            let error = wanted_for("/v1/events", bad, &Scope::Every).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{bad}");
        }
    }

    #[test]
    fn scopes_name_their_folders() {
        assert_eq!(Scope::Every.prefix(), "");
        assert_eq!(Scope::Region("europe".into()).prefix(), "regions/europe/");
        assert_eq!(Scope::of_region(None).label(), "all");
    }
}
