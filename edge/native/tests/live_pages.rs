//! Where pages open live feeds: on the edge itself when it streams them (the native edge),
//! at the live URL when one is set, and an edge that cannot stream them answers a live
//! feed at once with where to go.

mod common;

use onsale_edge::EdgeRequest;
use onsale_edge_native::{HttpUpstream, MemoryCache, NativeEdge, native_edge};
use onsale_indexer::{Snapshot, build_snapshot};

use common::event;

/// `edge` with a one-event snapshot; nothing listens on port 9, and nothing here needs it.
fn loaded(edge: NativeEdge) -> NativeEdge {
    let blob = build_snapshot(1, &[event(1)]).expect("snapshot");
    assert!(edge.install(Snapshot::from_bytes(blob).expect("open")));
    edge
}

fn parts() -> (MemoryCache, HttpUpstream) {
    (
        MemoryCache::new(1 << 20),
        HttpUpstream::new("http://127.0.0.1:9"),
    )
}

/// The event page's `data-live` and the pages' `connect-src`.
async fn live_of_pages(edge: &NativeEdge) -> (String, String) {
    let page = edge.handle(EdgeRequest::get("/events/1")).await;
    assert_eq!(page.status, 200);
    let body = String::from_utf8(page.body.to_vec()).unwrap();
    let live = body
        .split("data-live=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the seat map names where its feed is")
        .to_string();
    let csp = page
        .header("content-security-policy")
        .expect("a policy")
        .to_string();
    let connect = csp
        .split(';')
        .find_map(|part| part.trim().strip_prefix("connect-src "))
        .expect("connect-src")
        .to_string();
    (live, connect)
}

#[tokio::test]
async fn pages_open_live_feeds_on_a_streaming_edge_or_at_the_live_url() {
    let (cache, upstream) = parts();
    let own = loaded(native_edge(cache, upstream));
    assert_eq!(
        live_of_pages(&own).await,
        ("/".to_string(), "'self'".to_string())
    );

    let (cache, upstream) = parts();
    let elsewhere = loaded(native_edge(cache, upstream).with_live_url("https://api.example.com/"));
    assert_eq!(
        live_of_pages(&elsewhere).await,
        (
            "https://api.example.com".to_string(),
            "'self' https://api.example.com wss://api.example.com".to_string()
        )
    );
}

#[tokio::test]
async fn an_edge_that_cannot_stream_says_where_live_feeds_are() {
    let (cache, upstream) = parts();
    let plain = loaded(NativeEdge::new(cache, upstream));
    assert_eq!(live_of_pages(&plain).await.0, "", "pages poll");
    let answer = plain
        .handle(EdgeRequest::get("/v1/events/1/live.sse"))
        .await;
    assert_eq!(answer.status, 501);
    let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(error["error"]["code"], "live_elsewhere");
    assert!(error["error"].get("live_url").is_none());

    let (cache, upstream) = parts();
    let pointed = loaded(NativeEdge::new(cache, upstream).with_live_url("https://api.example.com"));
    for path in [
        "/v1/events/1/live",
        "/v1/events/1/queue/live?ticket=t",
        "/v1/me/notifications/live",
    ] {
        let answer = pointed.handle(EdgeRequest::get(path)).await;
        assert_eq!(answer.status, 501, "{path}");
        let error: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(
            error["error"]["live_url"], "https://api.example.com",
            "{path}"
        );
    }
}
