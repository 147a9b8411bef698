//! An edge of one region: it follows that region's snapshots and answers its pages from
//! them, opens every event's (or another region's) snapshot only when a read asks for it,
//! and answers the JSON API exactly as an edge of every event does.

mod common;

use std::sync::{Arc, Mutex};

use onsale_edge::{EdgeRequest, SnapshotSource, SourceError};
use onsale_edge_native::{HttpUpstream, MemoryCache, NativeEdge, SnapshotLocation};
use onsale_indexer::{Region, Regions, SnapshotFolder, synthetic};

/// The generated catalogue's European cities, one region; every other city, the rest.
const EUROPE: &str = "europe=Berlin,Paris,London,Amsterdam,Rome";

/// A published 3,000-event catalogue with two regions.
fn published() -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temp dir");
    let regions: Vec<Region> = [EUROPE, "elsewhere=*"]
        .iter()
        .map(|spec| spec.parse().expect("region"))
        .collect();
    Regions::new(regions)
        .expect("regions")
        .publish(
            &SnapshotFolder::new(folder.path()),
            1,
            &synthetic::generate(3_000),
        )
        .expect("publish");
    folder
}

/// An edge with no coordinator (nothing listens on port 9), no response cache.
fn new_edge() -> NativeEdge {
    NativeEdge::new(MemoryCache::new(0), HttpUpstream::new("http://127.0.0.1:9"))
        .with_document_budget(64 << 10)
}

/// A source that records the heads it is asked for.
struct Recording {
    inner: SnapshotLocation,
    heads: Mutex<Vec<String>>,
}

impl Recording {
    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl SnapshotSource for Recording {
    async fn read(&self, name: &str) -> Result<bytes::Bytes, SourceError> {
        if name.ends_with(".head") {
            self.heads.lock().unwrap().push(name.to_string());
        }
        self.inner.read(name).await
    }

    async fn read_range(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
    ) -> Result<bytes::Bytes, SourceError> {
        self.inner.read_range(name, range).await
    }
}

async fn json(edge: &NativeEdge, source: &impl SnapshotSource, path: &str) -> serde_json::Value {
    let answer = edge.handle_from(EdgeRequest::get(path), source).await;
    assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
    serde_json::from_slice(&answer.body).expect("JSON")
}

fn cities(page: &serde_json::Value) -> Vec<String> {
    let mut cities: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|event| event["city"].as_str().expect("city").to_string())
        .collect();
    cities.sort();
    cities.dedup();
    cities
}

#[tokio::test]
async fn a_regional_edge_serves_its_region_and_opens_the_rest_on_demand() {
    let folder = published();
    let source = Recording {
        inner: SnapshotLocation::Dir(folder.path().to_path_buf()),
        heads: Mutex::new(Vec::new()),
    };
    let edge = new_edge().with_region("europe").expect("a region name");
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    assert_eq!(source.heads(), ["regions/europe/snapshots/1.head"]);
    let health = edge
        .handle_from(EdgeRequest::get("/healthz"), &source)
        .await;
    assert_eq!(&health.body[..], b"ok snapshot=1 region=europe\n");

    // The home page, in-region searches and lists: the region's snapshot alone.
    let home = edge
        .handle_from(EdgeRequest::get("/?page_size=100"), &source)
        .await;
    assert_eq!(home.status, 200);
    let html = String::from_utf8(home.body.to_vec()).expect("UTF-8");
    assert!(
        html.contains("<h1>Upcoming events in Europe</h1>"),
        "{html}"
    );
    assert!(html.contains("<a href=\"/?region=all\">Everywhere</a>"));
    assert!(html.contains("<span aria-current=\"page\">Europe</span>"));
    assert!(html.contains("<input type=\"hidden\" name=\"region\" value=\"europe\">"));
    assert!(!html.contains("New York"), "no event of another region");
    let europe = json(&edge, &source, "/v1/events?region=europe&page_size=100").await;
    assert_eq!(
        cities(&europe),
        ["Amsterdam", "Berlin", "London", "Paris", "Rome"]
    );
    let found = json(&edge, &source, "/v1/search?q=berlin&region=europe").await;
    assert!(found["total"].as_u64().expect("total") > 0);
    assert_eq!(source.heads().len(), 1, "nothing else opened");
    let own = edge.snapshot_held_bytes().expect("installed");

    // The JSON API's lists and searches are every event's, as on any edge.
    let anywhere = new_edge();
    let whole_source = SnapshotLocation::Dir(folder.path().to_path_buf());
    assert_eq!(
        anywhere.refresh(&whole_source).await.expect("refresh"),
        Some(1)
    );
    for path in [
        "/v1/events?page=2&page_size=100",
        "/v1/search?q=berlin",
        "/v1/search?q=concert&region=all&page_size=50",
        "/v1/search?q=concert&region=elsewhere",
        "/v1/events?region=europe&page_size=100",
    ] {
        let expected = json(&anywhere, &whole_source, path).await;
        assert_eq!(json(&edge, &source, path).await, expected, "{path}");
    }
    assert_eq!(
        source.heads()[1..],
        ["snapshots/1.head", "regions/elsewhere/snapshots/1.head"],
        "each opened once, then held"
    );
    assert!(edge.snapshot_held_bytes().expect("held") > own);

    // An event of another region still has its page: found in every event's snapshot.
    let new_york = json(&anywhere, &whole_source, "/v1/search?location=new+york").await;
    let id = new_york["items"][0]["id"]
        .as_u64()
        .expect("an event in New York");
    let event = json(&edge, &source, &format!("/v1/events/{id}")).await;
    assert_eq!(event["city"], "New York");
    let missing = edge
        .handle_from(EdgeRequest::get("/v1/events/999999999"), &source)
        .await;
    assert_eq!(missing.status, 404);

    // Regions that are not there, or cannot be, are the caller's mistake.
    for path in [
        "/v1/events?region=mars",
        "/v1/events?region=Europe",
        "/search?q=x&region=..%2F..",
    ] {
        let answer = edge.handle_from(EdgeRequest::get(path), &source).await;
        assert_eq!(answer.status, 400, "{path}");
    }
}

#[tokio::test]
async fn other_snapshots_stay_within_their_budget() {
    let folder = published();
    let source = SnapshotLocation::Dir(folder.path().to_path_buf());
    let edge = new_edge()
        .with_region("europe")
        .expect("a region name")
        .with_other_snapshot_budget(0);
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    let own = edge.snapshot_held_bytes().expect("installed");
    json(&edge, &source, "/v1/events?region=all").await;
    let with_every = edge.snapshot_held_bytes().expect("held");
    json(&edge, &source, "/v1/events?region=elsewhere").await;
    let with_elsewhere = edge.snapshot_held_bytes().expect("held");
    // The last one opened stays (it answered), the one before is let go.
    assert!(with_every > own);
    assert!(
        with_elsewhere < with_every,
        "{with_elsewhere} < {with_every}"
    );
}

#[tokio::test]
async fn regions_are_read_from_the_indexers_server() {
    let folder = published();
    let (base, server) = common::serve_folder(folder.path()).await;
    let source = SnapshotLocation::parse(&base);
    let edge = new_edge().with_region("elsewhere").expect("a region name");
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));
    let page = json(&edge, &source, "/v1/events?region=elsewhere&page_size=100").await;
    assert!(!cities(&page).contains(&"Berlin".to_string()));
    let every = json(&edge, &source, "/v1/events?page_size=100").await;
    assert_eq!(every["total"], 3_000);
    let refused = reqwest::get(format!("{base}/regions/..%2F..%2Fetc/latest"))
        .await
        .expect("answer");
    assert_eq!(refused.status(), 404);
    server.abort();
}

/// Serves `edge`'s answers over HTTP on a free port: its base URL, and the server's task.
async fn serve_edge(
    edge: Arc<NativeEdge>,
    source: SnapshotLocation,
) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let (edge, source) = (edge.clone(), source.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.expect("a body");
            let answer = edge.handle_from(EdgeRequest::from_http(&parts, body), &source);
            answer.await.into_http().map(axum::body::Body::from)
        }
    });
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serving");
    });
    (base, server)
}

#[tokio::test]
async fn a_search_origin_answers_what_the_region_does_not_hold() {
    let folder = published();
    let whole = SnapshotLocation::Dir(folder.path().to_path_buf());
    let root = Arc::new(new_edge());
    assert_eq!(root.refresh(&whole).await.expect("refresh"), Some(1));
    let (origin, server) = serve_edge(root.clone(), whole.clone()).await;
    let source = Recording {
        inner: whole.clone(),
        heads: Mutex::new(Vec::new()),
    };
    let edge = new_edge()
        .with_region("europe")
        .expect("a region name")
        .with_search_origin(HttpUpstream::new(&origin));
    assert_eq!(edge.refresh(&source).await.expect("refresh"), Some(1));

    let new_york = json(&root, &whole, "/v1/search?location=new+york").await;
    let id = new_york["items"][0]["id"]
        .as_u64()
        .expect("an event in New York");
    for path in [
        "/v1/events?page=2&page_size=100".to_string(),
        "/v1/search?q=berlin".to_string(),
        "/v1/search?q=concert&region=elsewhere".to_string(),
        "/?region=all".to_string(),
        format!("/events/{id}"),
    ] {
        let expected = root.handle_from(EdgeRequest::get(&path), &whole).await;
        let answer = edge.handle_from(EdgeRequest::get(&path), &source).await;
        assert_eq!(answer.status, 200, "{path}: {:?}", answer.body);
        assert_eq!(answer.body, expected.body, "{path}");
        assert_eq!(answer.header("etag"), expected.header("etag"), "{path}");
    }
    assert_eq!(
        source.heads(),
        ["regions/europe/snapshots/1.head"],
        "the region's head alone"
    );

    // Its own region needs no origin; the rest waits for it.
    server.abort();
    let _ = server.await;
    let own = edge
        .handle_from(EdgeRequest::get("/v1/events?region=europe"), &source)
        .await;
    assert_eq!(own.status, 200);
    let elsewhere = edge
        .handle_from(EdgeRequest::get("/v1/events?region=all&page=3"), &source)
        .await;
    assert_eq!(elsewhere.status, 503, "{:?}", elsewhere.body);
}
