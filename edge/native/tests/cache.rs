//! The native edge's cache under cache-busting traffic: bounded by bytes, keyed by the
//! parameters each route knows, and keeping what everyone reads.

mod common;

use onsale_edge::EdgeRequest;
use onsale_edge_native::{HttpUpstream, MemoryCache, NativeEdge};
use onsale_indexer::{Snapshot, build_snapshot};
use onsale_model::Event;

use common::event;

/// The cache's bound in the test: room for a few dozen pages of 100 events.
const BOUND: u64 = 2 * 1024 * 1024;

fn edge() -> NativeEdge {
    // Nothing listens on port 9: reads never need the coordinator.
    let edge = NativeEdge::new(
        MemoryCache::new(BOUND),
        HttpUpstream::new("http://127.0.0.1:9"),
    );
    let events: Vec<Event> = (1..=2_000).map(event).collect();
    let blob = build_snapshot(1, &events).expect("snapshot");
    assert!(edge.install(Snapshot::from_bytes(blob).expect("open")));
    edge
}

#[tokio::test]
async fn cache_busting_urls_neither_grow_the_cache_nor_flush_popular_entries() {
    let edge = edge();
    let popular = "/v1/events?page=1&page_size=100";
    let popular_key = "v1:identity:/v1/events?page=1&page_size=100";
    let first = edge.handle(EdgeRequest::get(popular)).await;
    assert_eq!(first.status, 200);
    let one_entry = edge.cache().weighted_bytes();
    assert!(one_entry > first.body.len() as u64);

    // Unknown parameters make no new entries.
    for n in 0..20_000 {
        let busting = format!("/v1/events?page_size=100&cb={n}");
        let answer = edge.handle(EdgeRequest::get(&busting)).await;
        assert_eq!(answer.body, first.body);
    }
    assert_eq!(edge.cache().weighted_bytes(), one_entry);
    for n in 0..200 {
        let answer = edge
            .handle(EdgeRequest::get(&format!("/static/demo/made-up-{n}.svg")))
            .await;
        assert_eq!(answer.status, 404);
    }
    assert_eq!(edge.cache().weighted_bytes(), one_entry);

    // Distinct pages people may ask for: the bytes stay under the bound, and the page
    // everyone reads stays cached.
    for n in 0..20_000 {
        let page = format!("/v1/events?page={}&page_size=100", n % 19 + 2);
        let search = format!("/v1/search?q=number+{n}&page_size=100");
        for path in [page, search] {
            assert_eq!(edge.handle(EdgeRequest::get(&path)).await.status, 200);
        }
        if n % 10 == 0 {
            assert_eq!(edge.handle(EdgeRequest::get(popular)).await.status, 200);
        }
    }
    let held = edge.cache().weighted_bytes();
    assert!(held <= BOUND, "{held} bytes held, bound {BOUND}");
    assert!(held > BOUND / 2, "the cache is in use ({held} bytes)");
    assert!(edge.cache().contains(popular_key), "the popular page stays");
}

#[tokio::test]
async fn answers_are_compressed_once_per_encoding_and_kept() {
    use std::io::Read;

    let edge = edge();
    let path = "/v1/events?page=1&page_size=100";
    let asking = |encoding: &str| {
        let mut request = EdgeRequest::get(path);
        request
            .headers
            .push(("accept-encoding".into(), encoding.into()));
        request
    };
    let plain = edge.handle(EdgeRequest::get(path)).await;
    let br = edge.handle(asking("gzip, deflate, br")).await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("vary"), Some("accept-encoding"));
    assert!(
        br.body.len() * 5 < plain.body.len(),
        "{} of {} bytes",
        br.body.len(),
        plain.body.len()
    );
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.body);
    assert!(edge.cache().contains(&format!("v1:br:{path}")));
    let again = edge.handle(asking("br")).await;
    assert_eq!(again.body, br.body, "from the cache");

    let gzip = edge.handle(asking("gzip")).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.body);
    assert_ne!(gzip.header("etag"), plain.header("etag"));
    let mut revalidate = asking("gzip");
    let etag = gzip.header("etag").unwrap().to_string();
    revalidate.headers.push(("if-none-match".into(), etag));
    assert_eq!(edge.handle(revalidate).await.status, 304);
}
