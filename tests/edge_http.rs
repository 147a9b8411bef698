//! The read path over real HTTP: a coordinator, `onsale index` publishing snapshots to a
//! folder, and `onsale edge` serving from them, each its own process.

mod common;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{OPERATOR_TOKEN, Process, start, start_coordinator};

struct Platform {
    coordinator: Process,
    _indexer: Process,
    edge: Process,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn platform() -> Platform {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("fjall:{}", dir.path().join("store").display());
    let snapshots = dir.path().join("snapshots").display().to_string();
    let coordinator = start_coordinator(&store);
    let indexer = start(
        &[
            "index",
            "--coordinator",
            &coordinator.url,
            "--operator-token",
            OPERATOR_TOKEN,
            "--out",
            &snapshots,
            "--poll",
            "50ms",
        ],
        false,
    );
    let edge = start(
        &[
            "edge",
            "--coordinator",
            &coordinator.url,
            "--snapshots",
            &snapshots,
            "--listen",
            "127.0.0.1:0",
            "--refresh",
            "50ms",
        ],
        true,
    );
    Platform {
        coordinator,
        _indexer: indexer,
        edge,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

fn event_json(name: &str, category: &str, city: &str, performer: &str, starts_at: &str) -> Value {
    json!({
        "name": name, "category": category, "venue": format!("{city} Arena"), "city": city,
        "starts_at": starts_at, "currency": "EUR", "performers": [performer],
        "description": format!("{performer} live in {city}"),
        "seat_map": {"sections": [{"id": "A", "name": "Stalls", "price": 3000,
            "rows": [{"name": "1", "seats": 4}]}]}
    })
}

impl Platform {
    async fn create(&self, event: Value) -> u64 {
        let response = self
            .http
            .post(format!("{}/v1/operator/events", self.coordinator.url))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&event)
            .send()
            .await
            .expect("create event");
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"]
            .as_u64()
            .unwrap()
    }

    async fn edge_get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.edge.url))
            .send()
            .await
            .expect("edge request");
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    async fn edge_json(&self, path: &str) -> Value {
        let (status, _, body) = self.edge_get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Polls until `check` holds for the edge's answer to `path` (at most 10 s).
    async fn eventually(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _, body) = self.edge_get(path).await;
            if status == 200 {
                let value: Value = serde_json::from_str(&body).unwrap();
                if check(&value) {
                    return value;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{path} never satisfied the check: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_and_changed_events_reach_the_edge_and_stay_fresh() {
    let p = platform();
    let started = Instant::now();
    let id = p
        .create(event_json(
            "Aurora Nights",
            "concert",
            "Berlin",
            "Aurora Quartet",
            "2027-03-01T20:00:00Z",
        ))
        .await;
    let found = p
        .eventually("/v1/search?q=aurora", |page| page["total"] == 1)
        .await;
    assert_eq!(found["items"][0]["id"], id);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // Change it: once the edge serves the new snapshot, no read shows the old name.
    let response = p
        .http
        .put(format!("{}/v1/operator/events/{id}", p.coordinator.url))
        .bearer_auth(OPERATOR_TOKEN)
        .json(
            &json!({"name": "Borealis Nights", "category": "concert", "venue": "Berlin Arena",
            "city": "Berlin", "starts_at": "2027-03-01T20:00:00Z", "currency": "EUR",
            "performers": ["Aurora Quartet"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    p.eventually(&format!("/v1/events/{id}"), |e| {
        e["name"] == "Borealis Nights"
    })
    .await;
    for _ in 0..20 {
        let event = p.edge_json(&format!("/v1/events/{id}")).await;
        assert_eq!(event["name"], "Borealis Nights");
        let by_new = p.edge_json("/v1/search?q=borealis").await;
        assert_eq!(by_new["total"], 1, "search serves the new snapshot");
        let by_old = p.edge_json("/v1/search?name=aurora+nights").await;
        assert_eq!(by_old["total"], 0, "never the old one: {by_old}");
        let (_, _, page) = p.edge_get(&format!("/events/{id}")).await;
        assert!(page.contains("Borealis Nights") && !page.contains("Aurora Nights"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_the_coordinator_and_writes_say_it_is_down() {
    let mut p = platform();
    let id = p
        .create(event_json(
            "Lasting Show",
            "theatre",
            "Paris",
            "The Stayers",
            "2027-04-01T20:00:00Z",
        ))
        .await;
    p.eventually("/v1/events", |page| page["total"] == 1).await;

    // Writes and live data are forwarded while the coordinator runs.
    let sign_up = p
        .http
        .post(format!("{}/v1/users", p.edge.url))
        .json(&json!({"username": "edgy", "email": "edgy@example.com", "phone": "+15550001111", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_up.status(), 201);
    let session: Value = p
        .http
        .post(format!("{}/v1/sessions", p.edge.url))
        .json(&json!({"username": "edgy", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap();
    let hold = |key: &str| {
        p.http
            .post(format!("{}/v1/events/{id}/holds", p.edge.url))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"seats": ["A-1-1"]}))
            .send()
    };
    assert_eq!(hold("first").await.unwrap().status(), 201);
    let taken = hold("second").await.unwrap();
    assert_eq!(
        taken.status(),
        409,
        "the coordinator's answer comes back unchanged"
    );
    let body: Value = taken.json().await.unwrap();
    assert_eq!(body["error"]["seats"], json!(["A-1-1"]));
    let availability = p.edge_json(&format!("/v1/events/{id}/availability")).await;
    assert_eq!(availability["held"], 1);

    p.coordinator.kill();
    for path in [
        "/v1/events",
        &format!("/v1/events/{id}"),
        "/v1/search?q=stayers",
        "/",
        &format!("/events/{id}"),
        "/searchEvent?type=theatre",
        &format!("/getEvent?eventId={id}"),
        "/viewEvent?pageNumber=0&maxResultSize=5",
    ] {
        let (status, _, body) = p.edge_get(path).await;
        assert_eq!(status, 200, "{path} with the coordinator down: {body}");
        assert!(body.contains("Lasting Show"), "{path}: {body}");
    }
    let down = hold("third").await.unwrap();
    assert_eq!(down.status(), 503);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_filters_and_pages_over_http() {
    let p = platform();
    let cities = ["Berlin", "London", "Madrid"];
    for i in 0..12 {
        let performer = if i % 4 == 0 {
            "Velvet Foxes"
        } else {
            "Paper Kings"
        };
        let category = if i % 2 == 0 { "concert" } else { "comedy" };
        p.create(event_json(
            &format!("Show {i:02}"),
            category,
            cities[i % 3],
            performer,
            &format!("2027-05-{:02}T20:00:00Z", i + 1),
        ))
        .await;
    }
    p.create(event_json(
        "Foxes Tribute Night",
        "concert",
        "Berlin",
        "Copycats",
        "2027-06-01T20:00:00Z",
    ))
    .await;
    p.eventually("/v1/events", |page| page["total"] == 13).await;

    let by_performer = p.edge_json("/v1/search?performer=velvet+foxes").await;
    assert_eq!(names(&by_performer), ["Show 00", "Show 04", "Show 08"]);
    let free_text = p.edge_json("/v1/search?q=velvet+foxes").await;
    let ranked = names(&free_text);
    assert_eq!(
        &ranked[..3],
        ["Show 00", "Show 04", "Show 08"],
        "the performer's own events first: {ranked:?}"
    );
    let typo = p.edge_json("/v1/search?q=velvet+foxez").await;
    assert!(
        names(&typo).contains(&"Show 04".to_string()),
        "one typo still finds it"
    );

    let berlin_concerts = p.edge_json("/v1/search?category=concert&city=berlin").await;
    assert_eq!(
        names(&berlin_concerts),
        ["Show 00", "Show 06", "Foxes Tribute Night"]
    );
    let seed = p
        .edge_json("/searchEvent?type=concert&location=Berlin&performerName=Velvet%20Foxes")
        .await;
    assert_eq!(names(&seed), ["Show 00"]);
    let dated = p
        .edge_json("/v1/search?from=2027-05-03&to=2027-05-05")
        .await;
    assert_eq!(names(&dated), ["Show 02", "Show 03", "Show 04"]);

    let mut seen = Vec::new();
    for page in 1..=5 {
        let listed = p
            .edge_json(&format!("/v1/events?page={page}&page_size=3"))
            .await;
        assert_eq!(listed["total"], 13);
        seen.extend(names(&listed));
    }
    assert_eq!(seen.len(), 13, "every event once: {seen:?}");
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen);
    let seed_page = p.edge_json("/viewEvent?pageNumber=1&maxResultSize=3").await;
    assert_eq!(names(&seed_page), seen[3..6]);

    let (status, _, body) = p.edge_get("/v1/search?page=0").await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = p.edge_get("/v1/events/12345").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_carry_etags_and_answer_not_modified() {
    let p = platform();
    let id = p
        .create(event_json(
            "Cached Show",
            "opera",
            "Madrid",
            "The Tenors",
            "2027-07-01T20:00:00Z",
        ))
        .await;
    p.eventually("/v1/events", |page| page["total"] == 1).await;
    let (status, headers, _) = p.edge_get(&format!("/v1/events/{id}")).await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert_eq!(headers["cache-control"], "public, no-cache");
    let version = headers["x-snapshot-version"].to_str().unwrap().to_string();
    assert!(etag.contains(&format!("v{version}-")));
    let again = p
        .http
        .get(format!("{}/v1/events/{id}", p.edge.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    let (status, headers, html) = p.edge_get("/").await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(html.contains("Cached Show") && html.contains("<form"));
}
