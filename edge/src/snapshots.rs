//! Where an edge gets its catalogue: a source of published snapshots (`latest` and the
//! versions it names, in the indexer's layout), the rule for when to look again, and the
//! look itself. Adapters provide the source (a folder, HTTP, the platform's fetch) and
//! decide how a look runs (a task, after the response, before it).
//!
//! An edge holds a snapshot's head alone (the index, the list-order table, the block
//! directory: `snapshots/{version}.head`) and reads the event documents' blocks as byte
//! ranges of the blob (`snapshots/{version}.snap`) when an answer needs them, keeping them
//! up to its document budget. So what an edge holds grows with its catalogue's index, not
//! with its documents, and a new instance serves after one small read.

use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicI64, Ordering};

use bytes::Bytes;
use onsale_indexer::{MissingBlock, Snapshot, layout};
use onsale_model::{ApiError, ErrorCode};

use crate::scopes::Scope;
use crate::{Cache, Edge, FETCH_ROUNDS, Upstream};

/// Most reads one round of fetching makes: Workers on the free plan may make 50
/// subrequests per request, and a cold page of 100 scattered results would otherwise
/// make 100.
const MAX_READS: usize = 32;

/// One read of the blob: a byte range covering some missing blocks (and, between them,
/// bytes of blocks already held or not needed, when reads had to be merged).
#[derive(Debug, PartialEq, Eq)]
struct Span {
    range: Range<u64>,
    blocks: Vec<MissingBlock>,
}

/// The reads that fetch `missing`: adjacent blocks in one read, then the closest reads
/// merged until there are at most `max_reads`.
fn spans(mut missing: Vec<MissingBlock>, max_reads: usize) -> Vec<Span> {
    missing.sort_by_key(|block| block.range.start);
    let mut spans: Vec<Span> = Vec::with_capacity(missing.len());
    for block in missing {
        match spans.last_mut() {
            Some(last) if last.range.end == block.range.start => {
                last.range.end = block.range.end;
                last.blocks.push(block);
            }
            _ => spans.push(Span {
                range: block.range.clone(),
                blocks: vec![block],
            }),
        }
    }
    while spans.len() > max_reads.max(1) {
        let closest = (1..spans.len())
            .min_by_key(|&i| spans[i].range.start - spans[i - 1].range.end)
            .expect("more than one span");
        let next = spans.remove(closest);
        let previous = &mut spans[closest - 1];
        previous.range.end = next.range.end;
        previous.blocks.extend(next.blocks);
    }
    spans
}

/// Where published snapshots are read.
pub trait SnapshotSource {
    /// The bytes published under `name`, a path of the snapshot layout (`latest`,
    /// `snapshots/{version}.head`).
    fn read(&self, name: &str) -> impl Future<Output = Result<Bytes, SourceError>>;

    /// The bytes in `range` of what is published under `name` (`snapshots/{version}.snap`):
    /// exactly those, or an error.
    fn read_range(
        &self,
        name: &str,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Bytes, SourceError>>;
}

/// The `Range` header that asks for the bytes in `range` (half-open; the header's end is
/// inclusive): what [`SnapshotSource::read_range`] sends over HTTP.
pub fn range_header(range: &Range<u64>) -> String {
    format!("bytes={}-{}", range.start, range.end.saturating_sub(1))
}

/// The source of an edge whose snapshots are installed whole ([`Edge::install`]): they
/// never lack a block, so nothing is ever read from it.
pub(crate) struct InstalledWhole;

impl SnapshotSource for InstalledWhole {
    async fn read(&self, name: &str) -> Result<Bytes, SourceError> {
        Err(SourceError::Read(format!(
            "{name}: this edge's snapshots are installed whole"
        )))
    }

    async fn read_range(&self, name: &str, _: Range<u64>) -> Result<Bytes, SourceError> {
        self.read(name).await
    }
}

/// Runs `ask` on `snapshot`, first fetching from `source` the document blocks it says it
/// lacks, for a few rounds. A source that cannot give them is a 503 to answer with.
pub(crate) async fn with_blocks<T>(
    snapshot: &Snapshot,
    source: &impl SnapshotSource,
    ask: impl Fn(&Snapshot) -> Result<T, Vec<MissingBlock>>,
) -> Result<T, ApiError> {
    let unavailable = |why: String| {
        ApiError::new(
            ErrorCode::Unavailable,
            format!("the catalogue's documents cannot be read ({why}); retry in a moment"),
        )
    };
    let blob = format!(
        "{}{}",
        Scope::of(snapshot).prefix(),
        layout::snapshot_path(snapshot.version())
    );
    for _ in 0..FETCH_ROUNDS {
        let missing = match ask(snapshot) {
            Ok(answer) => return Ok(answer),
            Err(missing) => missing,
        };
        let spans = spans(missing, MAX_READS);
        let reads = spans
            .iter()
            .map(|span| source.read_range(&blob, span.range.clone()));
        for (span, read) in spans.iter().zip(futures::future::join_all(reads).await) {
            let bytes = read.map_err(|e| unavailable(e.to_string()))?;
            for block in &span.blocks {
                let at = (block.range.start - span.range.start) as usize;
                let end = (block.range.end - span.range.start) as usize;
                let compressed = bytes
                    .get(at..end)
                    .ok_or_else(|| unavailable("a read came back short".into()))?;
                snapshot
                    .insert_block(block.number, compressed.to_vec())
                    .map_err(|e| unavailable(e.to_string()))?;
            }
        }
    }
    Err(unavailable(
        "other reads keep pushing its blocks out".into(),
    ))
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
    /// Installs the version `latest` names (the edge's region's, if it has one) if it is
    /// newer than the one served, reading its head alone (the documents' blocks are read as answers need them); returns the
    /// version installed, if any. A failure leaves the served snapshot as it is.
    pub async fn refresh(&self, source: &impl SnapshotSource) -> Result<Option<u64>, SourceError> {
        let prefix = Scope::of_region(self.region.as_deref()).prefix();
        let pointer = source.read(&format!("{prefix}{}", layout::LATEST)).await?;
        let latest = layout::parse_latest(&pointer).map_err(|_| {
            SourceError::Pointer(String::from_utf8_lossy(&pointer).trim().to_string())
        })?;
        if self
            .snapshot_version()
            .is_some_and(|current| current >= latest)
        {
            return Ok(None);
        }
        let head = source
            .read(&format!("{prefix}{}", layout::head_path(latest)))
            .await?;
        let snapshot = Snapshot::from_head(Vec::from(head), self.document_budget).map_err(|e| {
            SourceError::Open {
                version: latest,
                reason: e.to_string(),
            }
        })?;
        Ok(self.install(snapshot).then_some(latest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(number: u32, range: Range<u64>) -> MissingBlock {
        MissingBlock { number, range }
    }

    #[test]
    fn range_headers_end_inclusive() {
        assert_eq!(range_header(&(10..20)), "bytes=10-19");
        assert_eq!(range_header(&(0..1)), "bytes=0-0");
    }

    #[test]
    fn adjacent_blocks_are_one_read_and_reads_are_capped() {
        let missing = vec![
            block(3, 30..40),
            block(1, 10..20),
            block(2, 20..30),
            block(7, 70..80),
            block(9, 95..100),
        ];
        let spans = spans(missing.clone(), 10);
        let ranges: Vec<Range<u64>> = spans.iter().map(|span| span.range.clone()).collect();
        assert_eq!(ranges, [10..40, 70..80, 95..100]);
        assert_eq!(spans[0].blocks.len(), 3);

        // Two reads at most: the closest neighbours (80..95 apart by 15, 40..70 by 30) merge.
        let capped = super::spans(missing.clone(), 2);
        let ranges: Vec<Range<u64>> = capped.iter().map(|span| span.range.clone()).collect();
        assert_eq!(ranges, [10..40, 70..100]);
        let one = super::spans(missing, 1);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].range, 10..100);
        assert_eq!(one[0].blocks.len(), 5);
    }

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
