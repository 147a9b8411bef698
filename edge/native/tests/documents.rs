//! An edge holds a snapshot's head alone and reads document blocks as byte ranges, from a
//! folder or from the indexer over HTTP: it answers exactly as an edge holding the whole
//! blob, holds far less, and says 503 when the blocks cannot be read.

mod common;

use std::sync::Arc;

use onsale_edge::{EdgeRequest, EdgeResponse};
use onsale_edge_native::{HttpUpstream, MemoryCache, NativeEdge, SnapshotLocation};
use onsale_indexer::{Snapshot, SnapshotFolder, build_snapshot, synthetic};

/// Reads each test asks, across lists, look-ups, searches and pages.
const READS: &[&str] = &[
    "/v1/events?page=1&page_size=100",
    "/v1/events?page=37&page_size=20",
    "/v1/events/1500",
    "/v1/search?q=berlin&page_size=50",
    "/v1/search?category=opera&sort=date&page=3",
    "/search?q=concert",
    "/events/77",
    "/getEvent?eventId=9",
];

/// An edge with nothing installed and no coordinator (nothing listens on port 9).
fn edge(cache_bytes: u64, document_budget: usize) -> NativeEdge {
    NativeEdge::new(
        MemoryCache::new(cache_bytes),
        HttpUpstream::new("http://127.0.0.1:9"),
    )
    .with_document_budget(document_budget)
}

/// A published 3,000-event catalogue, its blob, and the answers of an edge holding it whole.
fn published() -> (tempfile::TempDir, Vec<u8>, Vec<EdgeResponse>) {
    let folder = tempfile::tempdir().expect("temp dir");
    let blob = build_snapshot(1, &synthetic::generate(3_000)).expect("build");
    SnapshotFolder::new(folder.path())
        .publish(&blob)
        .expect("publish");
    let whole = edge(0, 0);
    assert!(whole.install(Snapshot::from_bytes(blob.clone()).expect("open")));
    let answers = futures::executor::block_on(async {
        let mut answers = Vec::new();
        for path in READS {
            answers.push(whole.handle(EdgeRequest::get(path)).await);
        }
        answers
    });
    (folder, blob, answers)
}

/// Asks every read of [`READS`] and checks each answer against the whole blob's.
async fn answers_alike(edge: &NativeEdge, source: &SnapshotLocation, whole: &[EdgeResponse]) {
    for (path, expected) in READS.iter().zip(whole) {
        let answer = edge.handle_from(EdgeRequest::get(path), source).await;
        assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
        assert_eq!(answer.body, expected.body, "{path}");
    }
}

#[tokio::test]
async fn a_head_and_blocks_from_a_folder_answer_as_the_whole_blob() {
    let (folder, blob, whole) = published();
    let source = SnapshotLocation::Dir(folder.path().to_path_buf());
    // No response cache: every read goes to the snapshot.
    let edge = edge(0, 64 << 10);
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    answers_alike(&edge, &source, &whole).await;

    let held = edge.snapshot_held_bytes().expect("installed");
    assert!(
        held < blob.len() * 2 / 3,
        "holds {held} of {} bytes",
        blob.len()
    );
    assert!(held > blob.len() / 10);
}

#[tokio::test]
async fn blocks_are_read_as_ranges_from_the_indexers_server() {
    let (folder, _, whole) = published();
    let (base, server) = common::serve_folder(folder.path()).await;
    let source = SnapshotLocation::parse(&base);
    let edge = edge(0, 64 << 10);
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    answers_alike(&edge, &source, &whole).await;
    server.abort();
}

#[tokio::test]
async fn unreadable_blocks_are_a_503_and_not_cached() {
    let (folder, _, whole) = published();
    let source = SnapshotLocation::Dir(folder.path().to_path_buf());
    let edge = Arc::new(edge(4 << 20, 64 << 10));
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    let blob = folder.path().join(onsale_indexer::layout::snapshot_path(1));
    let moved = folder.path().join("moved.snap");
    std::fs::rename(&blob, &moved).expect("move the blob away");

    let answer = edge.handle_from(EdgeRequest::get(READS[0]), &source).await;
    assert_eq!(answer.status, 503);
    let error: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(error["error"]["code"], "unavailable");
    // A page of the head alone (no documents) still answers: the search form's categories.
    let empty = edge
        .handle_from(EdgeRequest::get("/v1/search?q=zzzzzzzzzz"), &source)
        .await;
    assert_eq!(empty.status, 200);

    std::fs::rename(&moved, &blob).expect("move the blob back");
    let answer = edge.handle_from(EdgeRequest::get(READS[0]), &source).await;
    assert_eq!(answer.status, 200, "the 503 was not kept");
    assert_eq!(answer.body, whole[0].body);
}

/// A source that counts the range reads it is asked for.
struct Counting {
    inner: SnapshotLocation,
    reads: std::sync::atomic::AtomicUsize,
}

impl onsale_edge::SnapshotSource for Counting {
    async fn read(&self, name: &str) -> Result<bytes::Bytes, onsale_edge::SourceError> {
        self.inner.read(name).await
    }

    async fn read_range(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
    ) -> Result<bytes::Bytes, onsale_edge::SourceError> {
        self.reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.read_range(name, range).await
    }
}

#[tokio::test]
async fn a_cold_page_of_scattered_results_makes_few_reads() {
    let (folder, blob, _) = published();
    let source = Counting {
        inner: SnapshotLocation::Dir(folder.path().to_path_buf()),
        reads: Default::default(),
    };
    let edge = edge(0, 64 << 10);
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    let whole = self::edge(0, 0);
    assert!(whole.install(Snapshot::from_bytes(blob).expect("open")));

    // Ranked results of a common word are spread over the whole catalogue.
    let path = "/v1/search?q=concert&page_size=100";
    let answer = edge.handle_from(EdgeRequest::get(path), &source).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, whole.handle(EdgeRequest::get(path)).await.body);
    let reads = source.reads.load(std::sync::atomic::Ordering::Relaxed);
    assert!((2..=32).contains(&reads), "{reads} range reads");

    // Listing reads adjacent blocks: one read for a page of 100.
    let before = source.reads.load(std::sync::atomic::Ordering::Relaxed);
    let answer = edge
        .handle_from(
            EdgeRequest::get("/v1/events?page=20&page_size=100"),
            &source,
        )
        .await;
    assert_eq!(answer.status, 200);
    let reads = source.reads.load(std::sync::atomic::Ordering::Relaxed) - before;
    assert_eq!(reads, 1);
}
