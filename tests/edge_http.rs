//! The read path over real HTTP, one suite run against every edge adapter: a coordinator,
//! `onsale index --listen` publishing snapshots and serving them over HTTP, and the edge
//! pointed at both, each its own process. The edge is, in turn:
//!
//! - native: `onsale edge`;
//! - Cloudflare: the Workers module in workerd, `wrangler dev --local`;
//! - Spin: the wasi:http component in `wasmtime serve`.
//!
//! (the last two through `scripts/wasm-edge.sh serve`, which also builds them.) Every test
//! body runs once per adapter with the same expectations, and `adapters_answer_alike`
//! compares the adapters' answers to the same requests byte for byte, so a behaviour
//! difference between adapters fails a test.
//!
//! The wasm adapters need the tools of `scripts/wasm-toolchain.sh`. Where they are missing
//! their runs print "skipped: run scripts/wasm-toolchain.sh" and pass, except in CI
//! (`CI=true`), where they fail.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{OPERATOR_TOKEN, Process, spawn_group, start, start_coordinator};

/// One way of running the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adapter {
    Native,
    Cloudflare,
    Spin,
}

impl Adapter {
    const ALL: [Adapter; 3] = [Adapter::Native, Adapter::Cloudflare, Adapter::Spin];

    /// The name `scripts/wasm-edge.sh` knows it by.
    fn name(self) -> &'static str {
        match self {
            Adapter::Native => "native",
            Adapter::Cloudflare => "cloudflare",
            Adapter::Spin => "spin",
        }
    }
}

/// The repository's top folder.
fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where `scripts/wasm-toolchain.sh` installs.
fn wasm_home() -> PathBuf {
    std::env::var_os("ONSALE_WASM_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/onsale-wasm")
        })
}

/// The tools an adapter's run needs that are not installed.
fn missing_tools(adapter: Adapter) -> Vec<PathBuf> {
    let home = wasm_home();
    let needed: &[&str] = match adapter {
        Adapter::Native => &[],
        Adapter::Cloudflare => &[
            "env",
            "tools/bin/worker-build",
            "tools/bin/wasm-bindgen",
            "npm/node_modules/.bin/wrangler",
        ],
        Adapter::Spin => &["env", "tools/bin/wasmtime"],
    };
    needed
        .iter()
        .map(|tool| home.join(tool))
        .filter(|path| !path.exists())
        .collect()
}

/// Whether the adapter can run here: yes, or a "skipped" line and no (outside CI; in CI a
/// missing tool fails the test). The native adapter always can.
fn available(adapter: Adapter) -> bool {
    let missing = missing_tools(adapter);
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} adapter: CI must have the wasm toolchain (scripts/wasm-toolchain.sh); missing {missing:?}",
        adapter.name()
    );
    // Straight to stderr: the test harness captures only the print macros.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: run scripts/wasm-toolchain.sh ({} adapter; missing {})",
        adapter.name(),
        missing[0].display()
    );
    false
}

/// Builds a wasm adapter once per test run (a no-op when it is up to date); the sizes it
/// prints go straight to the test output.
fn build(adapter: Adapter) {
    static CLOUDFLARE: OnceLock<bool> = OnceLock::new();
    static SPIN: OnceLock<bool> = OnceLock::new();
    let once = match adapter {
        Adapter::Native => return,
        Adapter::Cloudflare => &CLOUDFLARE,
        Adapter::Spin => &SPIN,
    };
    let built = once.get_or_init(|| {
        Command::new("bash")
            .arg(repo().join("scripts/wasm-edge.sh"))
            .args(["build", adapter.name()])
            .status()
            .is_ok_and(|status| status.success())
    });
    assert!(
        *built,
        "scripts/wasm-edge.sh build {} failed",
        adapter.name()
    );
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// The coordinators' queue key, as an operator gives it to edges.
async fn queue_key(coordinator: &str) -> String {
    let key: Value = reqwest::Client::new()
        .get(format!("{coordinator}/v1/operator/queue-key"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("the queue key")
        .json()
        .await
        .expect("the queue key as JSON");
    key["key"].as_str().expect("key").to_string()
}

/// Starts the edge of `adapter` (which must be [`available`]), pointed at the coordinator
/// (also as the pages' live URL, and with its queue key) and the snapshot URL, and waits
/// until it answers.
async fn start_edge(adapter: Adapter, coordinator: &str, snapshots: &str, dir: &Path) -> Process {
    start_edge_with(adapter, coordinator, snapshots, dir, &[]).await
}

/// [`start_edge`] with more flags (`--region`, `--search-origin`; the wasm edges take
/// them from `scripts/wasm-edge.sh serve`).
async fn start_edge_with(
    adapter: Adapter,
    coordinator: &str,
    snapshots: &str,
    dir: &Path,
    more: &[&str],
) -> Process {
    let key = queue_key(coordinator).await;
    if adapter == Adapter::Native {
        let mut args = vec![
            "edge",
            "--coordinator",
            coordinator,
            "--snapshots",
            snapshots,
            "--listen",
            "127.0.0.1:0",
            "--refresh",
            "50ms",
            "--live-url",
            coordinator,
        ];
        let key = format!("--queue-key={key}");
        args.push(&key);
        args.extend(more);
        return start(&args, true);
    }
    build(adapter);
    // One wasm edge starts at a time: workerd and wasmtime compile the module as they
    // start, and several at once on two cores (the tests run in parallel) take minutes.
    static STARTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let _starting = STARTING.acquire().await.expect("the semaphore stays open");
    let listen = format!("127.0.0.1:{}", free_port());
    let state = dir.join(format!("{}-{}-state", adapter.name(), more.join("-")));
    let mut command = Command::new("bash");
    command
        .arg(repo().join("scripts/wasm-edge.sh"))
        .args(["serve", adapter.name(), "--coordinator", coordinator])
        .args(["--snapshots", snapshots, "--listen", &listen])
        .args(["--live-url", coordinator, "--queue-key", &key])
        .args(more)
        .arg("--state")
        .arg(&state);
    let mut edge = spawn_group(
        &mut command,
        dir.join(format!("{}.log", adapter.name())),
        format!("http://{listen}"),
    );
    // workerd and wasmtime compile the module first: allow them a while on 2 busy cores.
    let deadline = Instant::now() + Duration::from_secs(240);
    let http = reqwest::Client::new();
    loop {
        let health = http.get(format!("{}/healthz", edge.url)).send().await;
        if health.is_ok_and(|r| r.status() == 200) {
            return edge;
        }
        if let Some(status) = edge.exited() {
            edge.show_log();
            panic!("the {} edge exited: {status}", adapter.name());
        }
        if Instant::now() > deadline {
            edge.show_log();
            panic!("the {} edge did not answer in time", adapter.name());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The coordinator and the indexer, which serves the snapshots it publishes over HTTP.
/// (Fields drop in order: the indexer stops before the coordinator it follows.)
struct Backend {
    indexer: Process,
    coordinator: Process,
    http: reqwest::Client,
    dir: tempfile::TempDir,
}

impl Backend {
    fn start() -> Backend {
        Backend::start_with_regions(&[])
    }

    /// A backend whose indexer publishes `regions` (`name=City,City`) too.
    fn start_with_regions(regions: &[&str]) -> Backend {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = format!("fjall:{}", dir.path().join("store").display());
        let snapshots = dir.path().join("snapshots").display().to_string();
        let coordinator = start_coordinator(&store);
        let mut args = vec![
            "index",
            "--coordinator",
            &coordinator.url,
            "--operator-token",
            OPERATOR_TOKEN,
            "--out",
            &snapshots,
            "--poll",
            "50ms",
            "--listen",
            "127.0.0.1:0",
        ];
        for region in regions {
            args.extend(["--region", region]);
        }
        let indexer = start(&args, true);
        Backend {
            indexer,
            coordinator,
            http: reqwest::Client::new(),
            dir,
        }
    }

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

    /// The whole body of `GET url`.
    async fn bytes(&self, url: &str) -> Vec<u8> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .to_vec()
    }

    /// The newest published snapshot version, once there is one.
    async fn latest(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = self
                .http
                .get(format!("{}/latest", self.indexer.url))
                .send()
                .await;
            if let Ok(response) = response
                && response.status() == 200
            {
                return response.text().await.unwrap().trim().to_string();
            }
            assert!(Instant::now() < deadline, "no snapshot published");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One edge and the backend behind it (dropped in that order).
struct Platform {
    edge: Process,
    backend: Backend,
    adapter: Adapter,
}

/// A backend with `adapter`'s edge, or `None` when the adapter is skipped here.
async fn platform(adapter: Adapter) -> Option<Platform> {
    if !available(adapter) {
        return None;
    }
    let backend = Backend::start();
    let edge = start_edge(
        adapter,
        &backend.coordinator.url,
        &backend.indexer.url,
        backend.dir.path(),
    )
    .await;
    Some(Platform {
        edge,
        backend,
        adapter,
    })
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
        self.backend.create(event).await
    }

    async fn edge_get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
        let response = self
            .backend
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
        assert_eq!(status, 200, "{:?} {path}: {body}", self.adapter);
        serde_json::from_str(&body).unwrap()
    }

    /// Polls until `check` holds for the edge's answer to `path` (at most 10 s).
    async fn eventually(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        self.eventually_within(Duration::from_secs(10), path, check)
            .await
    }

    /// Polls until `check` holds for the edge's answer to `path`, for at most `limit`.
    async fn eventually_within(
        &self,
        limit: Duration,
        path: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + limit;
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
                "{:?} {path} never satisfied the check: {status} {body}",
                self.adapter
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

/// Each test body, once per adapter: `native::NAME`, `cloudflare::NAME`, `spin::NAME`;
/// attributes before a name apply to its Spin run only.
macro_rules! on_every_adapter {
    ($($(#[$spin:meta])* $name:ident),* $(,)?) => {
        mod native {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Adapter::Native).await;
                }
            )*
        }
        mod cloudflare {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Adapter::Cloudflare).await;
                }
            )*
        }
        mod spin {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$spin])*
                async fn $name() {
                    super::$name(super::Adapter::Spin).await;
                }
            )*
        }
    };
}

on_every_adapter!(
    new_and_changed_events_reach_the_edge_and_stay_fresh,
    reads_survive_the_coordinator_and_writes_say_it_is_down,
    search_ranks_filters_and_pages_over_http,
    reads_carry_etags_and_answer_not_modified,
    the_edge_checks_waiting_room_passes_itself,
    snapshots_and_answers_of_megabytes_arrive_whole,
    answers_in_separate_writes_arrive_whole_and_cut_ones_are_502,
    pages_carry_security_headers_and_head_answers_like_get,
    live_feeds_stream_through_the_edge_or_say_where,
    an_edge_of_a_region_serves_it_and_reaches_the_rest,
);

/// An edge started for one region (`--region`, `ONSALE_REGION`) follows that region's
/// snapshots: its home page is that region's, `?region=` and the JSON API reach the rest,
/// and an event of another region still has its page.
async fn an_edge_of_a_region_serves_it_and_reaches_the_rest(adapter: Adapter) {
    if !available(adapter) {
        return;
    }
    let backend = Backend::start_with_regions(&["europe=Berlin,Paris", "rest=*"]);
    let edge = start_edge_with(
        adapter,
        &backend.coordinator.url,
        &backend.indexer.url,
        backend.dir.path(),
        &["--region", "europe"],
    )
    .await;
    let platform = Platform {
        edge,
        backend,
        adapter,
    };
    let at = "2027-09-01T20:00:00Z";
    platform
        .create(event_json(
            "Spree Nights",
            "concert",
            "Berlin",
            "Ada Lind",
            at,
        ))
        .await;
    let lima = platform
        .create(event_json("Andes Sound", "concert", "Lima", "Rosa Q", at))
        .await;
    let every = platform
        .eventually("/v1/events", |page| page["total"] == 2)
        .await;
    assert_eq!(
        names(&every).len(),
        2,
        "{adapter:?}: the API lists every event"
    );
    let europe = platform.edge_json("/v1/events?region=europe").await;
    assert_eq!(names(&europe), ["Spree Nights"], "{adapter:?}");
    let rest = platform.edge_json("/v1/search?q=sound&region=rest").await;
    assert_eq!(names(&rest), ["Andes Sound"], "{adapter:?}");

    let (status, _, home) = platform.edge_get("/").await;
    assert_eq!(status, 200, "{adapter:?}");
    assert!(
        home.contains("Upcoming events in Europe"),
        "{adapter:?}: {home}"
    );
    assert!(home.contains("Spree Nights") && !home.contains("Andes Sound"));
    let (_, _, everywhere) = platform.edge_get("/?region=all").await;
    assert!(
        everywhere.contains("Andes Sound"),
        "{adapter:?}: {everywhere}"
    );
    let (status, _, page) = platform.edge_get(&format!("/events/{lima}")).await;
    assert_eq!(
        status, 200,
        "{adapter:?}: another region's event has its page"
    );
    assert!(page.contains("Andes Sound"));
    let (status, _, body) = platform.edge_get("/v1/events?region=mars").await;
    assert_eq!(status, 400, "{adapter:?}: {body}");

    // With a search origin (a native edge of every event), the other regions' reads are
    // the origin's: they stop with it, the region's own do not.
    let Platform { edge, backend, .. } = platform;
    drop(edge);
    let (coordinator, snapshots) = (&backend.coordinator.url, &backend.indexer.url);
    let dir = backend.dir.path();
    let origin = start_edge_with(Adapter::Native, coordinator, snapshots, dir, &[]).await;
    let flags = ["--region", "europe", "--search-origin", origin.url.as_str()];
    let edge = start_edge_with(adapter, coordinator, snapshots, dir, &flags).await;
    let regional = Platform {
        edge,
        backend,
        adapter,
    };
    let every = regional
        .eventually("/v1/events", |page| page["total"] == 2)
        .await;
    assert_eq!(names(&every).len(), 2, "{adapter:?}: through the origin");
    let (status, _, _) = regional.edge_get(&format!("/events/{lima}")).await;
    assert_eq!(
        status, 200,
        "{adapter:?}: another region's event, from the origin"
    );
    drop(origin);
    let (status, _, body) = regional.edge_get("/v1/search?q=sound").await;
    assert_eq!(status, 503, "{adapter:?}: the origin is gone: {body}");
    let europe = regional.edge_json("/v1/search?q=spree&region=europe").await;
    assert_eq!(names(&europe), ["Spree Nights"], "{adapter:?}");
}

/// With the event's waiting room on, the edge refuses holds without a valid pass even
/// with the coordinator gone (so the refusal is the edge's own), and lets a valid pass
/// through to the coordinator.
async fn the_edge_checks_waiting_room_passes_itself(adapter: Adapter) {
    let Some(mut platform) = platform(adapter).await else {
        return;
    };
    let id = platform
        .create(event_json(
            "Gated Show",
            "concert",
            "Porto",
            "Door Keepers",
            "2027-09-01T20:00:00Z",
        ))
        .await;
    let coordinator = platform.backend.coordinator.url.clone();
    let key = queue_key(&coordinator).await;
    let room = platform
        .backend
        .http
        .put(format!(
            "{coordinator}/v1/operator/events/{id}/waiting-room"
        ))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"enabled": true, "total_active_users": 10,
            "new_users_per_minute": 10, "session_duration_seconds": 600}))
        .send()
        .await
        .unwrap();
    assert_eq!(room.status(), 200);
    platform
        .eventually(&format!("/v1/events/{id}"), |e| e["waiting_room"] == true)
        .await;
    platform.backend.coordinator.kill();

    let hold = |pass: Option<String>| {
        let mut request = platform
            .backend
            .http
            .post(format!("{}/v1/events/{id}/holds", platform.edge.url))
            .bearer_auth("any-token")
            .header("idempotency-key", "gate-1")
            .json(&json!({"seats": ["A-A-1"]}));
        if let Some(pass) = pass {
            request = request.header("x-queue-pass", pass);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap_or_default();
            (
                status,
                body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        }
    };
    let expires_at = time::OffsetDateTime::now_utc().unix_timestamp() * 1000 + 600_000;
    let pass = |event_id: u64, key: &onsale_pass::QueueKey| {
        key.sign_pass(&onsale_pass::Pass {
            event_id,
            user_id: [7; 16],
            expires_at,
        })
    };
    let shared = onsale_pass::QueueKey::parse(&key).expect("the queue key parses");
    let forged = onsale_pass::QueueKey::new([1; 32]);
    let cases = [
        (None, StatusCode::FORBIDDEN, "queue_pass_required"),
        (
            Some("not-a-pass".to_string()),
            StatusCode::FORBIDDEN,
            "queue_pass_invalid",
        ),
        (
            Some(pass(id, &forged)),
            StatusCode::FORBIDDEN,
            "queue_pass_invalid",
        ),
        (
            Some(pass(id + 1, &shared)),
            StatusCode::FORBIDDEN,
            "queue_pass_invalid",
        ),
        // A valid pass passes the gate; the coordinator it goes on to is down.
        (
            Some(pass(id, &shared)),
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
        ),
    ];
    for (i, (pass, status, code)) in cases.into_iter().enumerate() {
        assert_eq!(
            hold(pass).await,
            (status, code.to_string()),
            "{adapter:?} case {i}"
        );
    }
}

async fn new_and_changed_events_reach_the_edge_and_stay_fresh(adapter: Adapter) {
    let Some(p) = platform(adapter).await else {
        return;
    };
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

    // Change it: once the edge serves the new snapshot, no read shows the old name.
    let response = p
        .backend
        .http
        .put(format!(
            "{}/v1/operator/events/{id}",
            p.backend.coordinator.url
        ))
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

async fn reads_survive_the_coordinator_and_writes_say_it_is_down(adapter: Adapter) {
    let Some(mut p) = platform(adapter).await else {
        return;
    };
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
    let http = p.backend.http.clone();

    // The event's picture, stored by the coordinator, is fetched through the edge once
    // and kept (immutable: its name changes with its content).
    let picture = image::RgbImage::from_fn(480, 240, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let stored: Value = http
        .put(format!(
            "{}/v1/operator/events/{id}/image",
            p.backend.coordinator.url
        ))
        .bearer_auth(OPERATOR_TOKEN)
        .body(png)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image_url = stored["image_url"].as_str().expect("stored").to_string();
    let original = p
        .backend
        .bytes(&format!("{}{image_url}", p.backend.coordinator.url))
        .await;
    let through_edge = http
        .get(format!("{}{image_url}", p.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(through_edge.status(), 200, "{adapter:?}");
    assert_eq!(
        through_edge.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(through_edge.bytes().await.unwrap().to_vec(), original);

    // Writes and live data are forwarded while the coordinator runs.
    let sign_up = http
        .post(format!("{}/v1/users", p.edge.url))
        .json(&json!({"username": "edgy", "email": "edgy@example.com", "phone": "+15550001111", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sign_up.status(), 201);
    let session: Value = http
        .post(format!("{}/v1/sessions", p.edge.url))
        .json(&json!({"username": "edgy", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let edge_url = p.edge.url.clone();
    let hold = |key: &str| {
        http.post(format!("{edge_url}/v1/events/{id}/holds"))
            .bearer_auth(&token)
            .header("Idempotency-Key", key)
            .json(&json!({"seats": ["A-1-1"]}))
            .send()
    };
    let first = hold("first").await.unwrap();
    assert_eq!(first.status(), 201);
    let held: Value = first.json().await.unwrap();
    assert_eq!(held["seats"], json!(["A-1-1"]));
    let replay = hold("first").await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(
        replay.headers()["idempotent-replayed"],
        "true",
        "the coordinator's headers come back unchanged"
    );
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
    // The seed API's booking call is forwarded as it is, too.
    let seed_book = http
        .post(format!(
            "{}/bookEvent?eventId={id}&seatNumber=A-1-2",
            p.edge.url
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(seed_book.status(), 201);
    let booked: Value = seed_book.json().await.unwrap();
    assert_eq!(booked["seats"], json!(["A-1-2"]));
    // The coordinator's metrics never go out through the edge, even with its token.
    for path in ["/metrics", "/metrics/", "/%6Detrics", "/METRICS"] {
        let metrics = http
            .get(format!("{}{path}", p.edge.url))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(metrics.status(), 404, "{adapter:?} {path}");
        let body: Value = metrics.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }

    p.backend.coordinator.kill();
    assert_eq!(
        p.backend.bytes(&format!("{}{image_url}", p.edge.url)).await,
        original,
        "{adapter:?}: the picture is served from the edge's cache"
    );
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
        assert_eq!(
            status, 200,
            "{adapter:?} {path} with the coordinator down: {body}"
        );
        assert!(body.contains("Lasting Show"), "{adapter:?} {path}: {body}");
    }
    let down = hold("third").await.unwrap();
    assert_eq!(down.status(), 503);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
}

async fn search_ranks_filters_and_pages_over_http(adapter: Adapter) {
    let Some(p) = platform(adapter).await else {
        return;
    };
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

async fn reads_carry_etags_and_answer_not_modified(adapter: Adapter) {
    let Some(p) = platform(adapter).await else {
        return;
    };
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
    let (status, headers, body) = p.edge_get(&format!("/v1/events/{id}")).await;
    assert_eq!(status, 200);
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert_eq!(headers["cache-control"], "public, no-cache");
    let version = headers["x-snapshot-version"].to_str().unwrap().to_string();
    assert!(etag.contains(&format!("v{version}-")));
    // The second read comes from the adapter's cache: the same bytes and headers.
    let (status, again_headers, again_body) = p.edge_get(&format!("/v1/events/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(again_body, body);
    for name in [
        "etag",
        "cache-control",
        "x-snapshot-version",
        "content-type",
    ] {
        assert_eq!(again_headers.get(name), headers.get(name), "{name}");
    }
    let not_modified = p
        .backend
        .http
        .get(format!("{}/v1/events/{id}", p.edge.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"].to_str().unwrap(), etag);
    assert!(not_modified.bytes().await.unwrap().is_empty());
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

/// HTML pages restrict what they may load and who may frame them, with no inline script
/// or style; `HEAD` tells the length `GET` sends; a browser asking for a path nobody
/// knows gets the HTML 404 page.
/// Live feeds through the edge: the native and Cloudflare edges stream the seat feed as
/// server-sent events (each change arrives while the answer is still open) and pass the
/// WebSocket upgrade on to the coordinator; the Spin edge answers at once with
/// `501 live_elsewhere` naming the live URL instead of forwarding an answer that never ends.
async fn live_feeds_stream_through_the_edge_or_say_where(adapter: Adapter) {
    use futures::StreamExt;

    let Some(p) = platform(adapter).await else {
        return;
    };
    let id = p
        .create(event_json(
            "Live Show",
            "concert",
            "Lisbon",
            "Open Wires",
            "2027-10-01T20:00:00Z",
        ))
        .await;
    let http = &p.backend.http;
    let coordinator = p.backend.coordinator.url.clone();
    let sse_url = format!("{}/v1/events/{id}/live.sse", p.edge.url);
    let ws_url = format!("{}/v1/events/{id}/live", p.edge.url).replacen("http://", "ws://", 1);

    if adapter == Adapter::Spin {
        let answer = tokio::time::timeout(Duration::from_secs(20), http.get(&sse_url).send())
            .await
            .expect("the Spin edge answers a live feed at once")
            .unwrap();
        assert_eq!(answer.status(), 501);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "live_elsewhere");
        assert_eq!(body["error"]["live_url"], coordinator.as_str());
        let refused = tokio_tungstenite::connect_async(&ws_url).await;
        match refused {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 501)
            }
            other => panic!("the Spin edge upgraded a live socket: {other:?}"),
        }
        return;
    }

    // A buyer who takes seats straight at the coordinator, so the feed has news.
    http.post(format!("{coordinator}/v1/users"))
        .json(&json!({"username": "lively", "email": "lively@example.com",
            "phone": "+15550002222", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    let session: Value = http
        .post(format!("{coordinator}/v1/sessions"))
        .json(&json!({"username": "lively", "password": "correct horse"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_string();
    let hold = |seat: &'static str| {
        http.post(format!("{coordinator}/v1/events/{id}/holds"))
            .bearer_auth(&token)
            .header("Idempotency-Key", seat)
            .json(&json!({"seats": [seat]}))
            .send()
    };

    let sse = http.get(&sse_url).send().await.unwrap();
    assert_eq!(sse.status(), 200, "{adapter:?}");
    assert!(
        sse.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"),
        "{adapter:?}"
    );
    let mut events = sse.bytes_stream();
    let mut seen = String::new();
    let mut read_until = async |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !seen.contains(needle) {
            let chunk = tokio::time::timeout_at(deadline.into(), events.next())
                .await
                .unwrap_or_else(|_| panic!("{adapter:?}: no {needle} in the stream: {seen}"))
                .expect("the stream stays open")
                .expect("the stream reads");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    read_until("\"type\":\"snapshot\"").await;
    assert_eq!(hold("A-1-1").await.unwrap().status(), 201);
    read_until("\"seat_id\":\"A-1-1\"").await;

    let (mut socket, answer) = tokio_tungstenite::connect_async(&ws_url)
        .await
        .unwrap_or_else(|e| panic!("{adapter:?}: the live socket through the edge: {e}"));
    assert_eq!(answer.status(), 101);
    let mut next_text = async |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let message = tokio::time::timeout_at(deadline.into(), socket.next())
                .await
                .unwrap_or_else(|_| panic!("{adapter:?}: no {needle} on the socket"))
                .expect("the socket stays open")
                .expect("the socket reads");
            if message.to_text().is_ok_and(|text| text.contains(needle)) {
                return;
            }
        }
    };
    next_text("\"type\":\"snapshot\"").await;
    assert_eq!(hold("A-1-2").await.unwrap().status(), 201);
    next_text("\"seat_id\":\"A-1-2\"").await;
}

async fn pages_carry_security_headers_and_head_answers_like_get(adapter: Adapter) {
    let Some(p) = platform(adapter).await else {
        return;
    };
    let id = p
        .create(event_json(
            "Guarded Show",
            "opera",
            "Madrid",
            "The Tenors",
            "2027-07-01T20:00:00Z",
        ))
        .await;
    p.eventually("/v1/events", |page| page["total"] == 1).await;
    let live = &p.backend.coordinator.url;
    let live_socket = live.replacen("http://", "ws://", 1);
    let mut stylesheet = String::new();
    for path in [
        "/".to_string(),
        format!("/events/{id}"),
        "/search?q=tenors".to_string(),
    ] {
        let (status, headers, html) = p.edge_get(&path).await;
        assert_eq!(status, 200, "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'none'",
            "script-src 'self';",
            "style-src 'self';",
            "frame-ancestors 'none'",
            &format!("connect-src 'self' {live} {live_socket};"),
        ] {
            assert!(
                policy.contains(part),
                "{path}: {part} missing from {policy}"
            );
        }
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert!(
            !html.contains("<style") && !html.contains(" style="),
            "{path}: inline style"
        );
        assert!(!html.contains("<script>"), "{path}: inline script");
        stylesheet = html
            .split('"')
            .find(|part| part.starts_with("/static/onsale.") && part.ends_with(".css"))
            .expect("pages link the stylesheet")
            .to_string();
    }
    let (status, headers, css) = p.edge_get(&stylesheet).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/css; charset=utf-8");
    assert!(css.contains(".seatmap"));

    for path in [
        "/".to_string(),
        "/v1/events".to_string(),
        format!("/events/{id}"),
        stylesheet,
    ] {
        let (_, _, body) = p.edge_get(&path).await;
        let head = p
            .backend
            .http
            .head(format!("{}{path}", p.edge.url))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            body.len().to_string(),
            "HEAD {path}"
        );
    }

    let browser = p
        .backend
        .http
        .get(format!("{}/no/such/page", p.edge.url))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 404);
    assert!(
        browser.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(browser.headers().contains_key("content-security-policy"));
    assert!(browser.text().await.unwrap().contains("Not found"));
    let (status, headers, body) = p.edge_get("/no/such/page").await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/json");
    assert!(body.contains("not_found"));
}

/// One backend, every adapter that can run here in front of it, the same requests to
/// each: the answers (status, the headers the core sets, body) must be identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_answer_alike() {
    let backend = Backend::start();
    let mut ids = Vec::new();
    for (i, (city, performer)) in [("Lisbon", "Night Owls"), ("Oslo", "Fjord Five")]
        .into_iter()
        .enumerate()
    {
        let name = format!("Alike Show {i}");
        ids.push(
            backend
                .create(event_json(
                    &name,
                    "concert",
                    city,
                    performer,
                    "2027-08-01T20:00:00Z",
                ))
                .await,
        );
    }
    let mut edges = Vec::new();
    for adapter in Adapter::ALL.into_iter().filter(|a| available(*a)) {
        let dir = backend.dir.path().join(adapter.name());
        std::fs::create_dir_all(&dir).unwrap();
        let edge = start_edge(
            adapter,
            &backend.coordinator.url,
            &backend.indexer.url,
            &dir,
        )
        .await;
        edges.push((adapter, edge));
    }
    // Every edge on the newest snapshot (the one with both events) before comparing.
    let mut version = backend.latest().await;
    for (adapter, edge) in &edges {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = backend
                .http
                .get(format!("{}/v1/events", edge.url))
                .send()
                .await
                .unwrap();
            let served = response
                .headers()
                .get("x-snapshot-version")
                .map(|v| v.to_str().unwrap().to_string());
            let page: Value = response.json().await.unwrap_or_default();
            if page["total"] == 2 && served.as_deref() == Some(version.as_str()) {
                break;
            }
            version = backend.latest().await;
            assert!(
                Instant::now() < deadline,
                "{adapter:?} never served snapshot {version}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let (a, b) = (ids[0], ids[1]);
    // The pages' script, under the name the event page links.
    let page = backend
        .http
        .get(format!("{}/events/{a}", edges[0].1.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = page
        .split('"')
        .find(|part| part.starts_with("/static/onsale."))
        .expect("the event page links its script")
        .to_string();
    assert!(
        page.contains(&format!("data-live=\"{}\"", backend.coordinator.url)),
        "the event page names the live URL"
    );
    let paths = [
        "/".to_string(),
        "/?page=1&page_size=1".to_string(),
        format!("/events/{a}"),
        format!("/events/{a}/queue"),
        script,
        "/search?q=owls".to_string(),
        "/v1/events".to_string(),
        "/v1/events?page=2&page_size=1".to_string(),
        format!("/v1/events/{b}"),
        "/v1/search?q=fjord&city=oslo".to_string(),
        "/v1/search?q=nite+owls".to_string(),
        "/viewEvent?pageNumber=0&maxResultSize=1".to_string(),
        format!("/getEvent?eventId={a}"),
        "/searchEvent?type=concert&location=Lisbon".to_string(),
        "/static/demo/concert.svg".to_string(),
        "/v1/events/999999".to_string(),
        "/events/999999".to_string(),
        "/v1/search?page=0".to_string(),
        "/v1/events?page_size=100000".to_string(),
        format!("/v1/events/{a}/seats"),
        "/v1/no/such/path".to_string(),
    ];
    let compared = [
        "content-type",
        "etag",
        "cache-control",
        "x-snapshot-version",
        "content-security-policy",
        "x-content-type-options",
    ];
    for path in &paths {
        // Twice: a miss, then (for snapshot reads) a cache hit.
        for round in ["first", "second"] {
            let mut answers = Vec::new();
            for (adapter, edge) in &edges {
                let response = backend
                    .http
                    .get(format!("{}{path}", edge.url))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let headers: Vec<Option<String>> = compared
                    .iter()
                    .map(|name| {
                        response
                            .headers()
                            .get(*name)
                            .map(|v| v.to_str().unwrap().to_string())
                    })
                    .collect();
                let body = response.text().await.unwrap();
                answers.push((*adapter, (status, headers, body)));
            }
            let (first_adapter, expected) = &answers[0];
            for (adapter, answer) in &answers[1..] {
                assert_eq!(
                    answer, expected,
                    "{path} ({round} read): {adapter:?} differs from {first_adapter:?}"
                );
            }
        }
    }
    let adapters: Vec<&str> = edges.iter().map(|(a, _)| a.name()).collect();
    let _ = writeln!(
        std::io::stderr(),
        "adapters_answer_alike: compared {} paths on {}",
        paths.len(),
        adapters.join(", ")
    );
}

/// A description of `chars` characters of pseudo-random words (seeded, so every event's
/// differs and the snapshot cannot compress them away).
fn filler(seed: u64, chars: usize) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut text = String::with_capacity(chars + 16);
    while text.len() < chars {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let letters = 3 + (state >> 61) as usize;
        for i in 0..letters {
            text.push((b'a' + ((state >> (8 + 5 * i)) % 26) as u8) as char);
        }
        text.push(' ');
    }
    text.truncate(chars);
    text.trim_end().to_string()
}

/// A catalogue snapshot of several megabytes (300 events with 10,000-character
/// descriptions) and a coordinator answer of several megabytes (the seat list of a
/// 40,000-seat event) reach the client whole through every adapter, byte for byte as the
/// coordinator sends them.
async fn snapshots_and_answers_of_megabytes_arrive_whole(adapter: Adapter) {
    let Some(p) = platform(adapter).await else {
        return;
    };
    const EVENTS: usize = 300;
    let numbers: Vec<usize> = (0..EVENTS).collect();
    let mut ids = Vec::new();
    for batch in numbers.chunks(20) {
        let created = futures::future::join_all(batch.iter().map(|&i| {
            let mut event = event_json(
                &format!("Long Tale {i}"),
                "theatre",
                "Vienna",
                "The Storytellers",
                "2027-09-01T19:00:00Z",
            );
            event["description"] = json!(filler(i as u64, 10_000));
            p.create(event)
        }))
        .await;
        ids.extend(created);
    }
    let rows: Vec<Value> = (1..=100)
        .map(|r| json!({"name": r.to_string(), "seats": 400}))
        .collect();
    let mut arena = event_json(
        "Huge Arena Night",
        "concert",
        "Vienna",
        "The Crowd",
        "2027-10-01T20:00:00Z",
    );
    arena["seat_map"] =
        json!({"sections": [{"id": "FLR", "name": "Floor", "price": 5000, "rows": rows}]});
    let arena = p.create(arena).await;

    // The snapshot with every event loads (the indexer takes a while over megabytes of
    // text in a debug build): the list counts them all and the last description comes
    // back whole.
    p.eventually_within(Duration::from_secs(120), "/v1/events?page_size=1", |page| {
        page["total"] == EVENTS as u64 + 1
    })
    .await;
    let version = p.backend.latest().await;
    // The edge reads the head whole (over a megabyte of index here) and the document
    // blocks it needs as ranges of the blob.
    let mut sizes = Vec::new();
    for file in [format!("{version}.snap"), format!("{version}.head")] {
        let url = format!("{}/snapshots/{file}", p.backend.indexer.url);
        sizes.push(p.backend.bytes(&url).await.len());
    }
    let (snapshot_bytes, head_bytes) = (sizes[0], sizes[1]);
    assert!(
        snapshot_bytes > 2_000_000,
        "the snapshot is several megabytes ({snapshot_bytes} bytes)"
    );
    assert!(
        head_bytes > 1_000_000 && head_bytes < snapshot_bytes,
        "the head is over a megabyte ({head_bytes} bytes)"
    );
    let event = p
        .edge_json(&format!("/v1/events/{}", ids[EVENTS - 1]))
        .await;
    assert_eq!(event["name"], format!("Long Tale {}", EVENTS - 1));
    assert_eq!(
        event["description"],
        json!(filler(EVENTS as u64 - 1, 10_000))
    );

    // The seat list (about 4 MB) is forwarded byte for byte.
    let path = format!("/v1/events/{arena}/seats");
    let direct = p
        .backend
        .bytes(&format!("{}{path}", p.backend.coordinator.url))
        .await;
    assert!(direct.len() > 3_000_000, "{} bytes", direct.len());
    let through = p
        .backend
        .http
        .get(format!("{}{path}", p.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(through.status(), 200, "{adapter:?}");
    let through = through.bytes().await.unwrap();
    assert_eq!(
        through.len(),
        direct.len(),
        "{adapter:?}: the seat list arrives whole"
    );
    assert!(through == direct, "{adapter:?}: byte for byte");
}

/// The request header that makes [`SplittingProxy`] cut an answer's body short: the
/// number of body bytes to send before closing.
const CUT_AFTER: &str = "x-test-cut-after";

/// A reverse proxy that writes every answer of its backend in pieces, as slow networks
/// and servers do: the head first, then the body in 16 KiB writes with pauses, one answer
/// per connection (`connection: close`). With [`CUT_AFTER`] it announces the whole
/// `content-length` but closes the connection after that many body bytes.
struct SplittingProxy {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SplittingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SplittingProxy {
    async fn start(backend: &str) -> SplittingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let backend = backend.to_string();
        let http = reqwest::Client::new();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(relay(socket, backend.clone(), http.clone()));
            }
        });
        SplittingProxy { url, task }
    }
}

/// One exchange through the [`SplittingProxy`].
async fn relay(mut socket: tokio::net::TcpStream, backend: String, http: reqwest::Client) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut received = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => received.extend_from_slice(&chunk[..n]),
        }
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or("GET").to_string();
    let target = request_line.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = received[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 8192];
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let mut outgoing = http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{backend}{target}"),
    );
    for (name, value) in &headers {
        if !matches!(
            name.as_str(),
            "host" | "connection" | "content-length" | "transfer-encoding" | CUT_AFTER
        ) {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.body(body).send().await else {
        return;
    };
    let mut out = format!("HTTP/1.1 {}\r\n", answer.status());
    for (name, value) in answer.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            out.push_str(&format!(
                "{name}: {}\r\n",
                value.to_str().unwrap_or_default()
            ));
        }
    }
    let Ok(bytes) = answer.bytes().await else {
        return;
    };
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        bytes.len()
    ));
    let sent = header(CUT_AFTER)
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(bytes.len())
        .min(bytes.len());
    if socket.write_all(out.as_bytes()).await.is_err() || socket.flush().await.is_err() {
        return;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    for piece in bytes[..sent].chunks(16 * 1024) {
        if socket.write_all(piece).await.is_err() || socket.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = socket.shutdown().await;
}

/// With the coordinator and the snapshots behind a proxy that sends heads and bodies in
/// separate writes, snapshots load and answers arrive whole; an answer whose body ends
/// before its `content-length` is a `502 bad_gateway`, never a `200` cut short.
async fn answers_in_separate_writes_arrive_whole_and_cut_ones_are_502(adapter: Adapter) {
    if !available(adapter) {
        return;
    }
    let backend = Backend::start();
    let rows: Vec<Value> = (1..=20)
        .map(|r| json!({"name": r.to_string(), "seats": 50}))
        .collect();
    let mut event = event_json(
        "Split Night",
        "concert",
        "Porto",
        "The Pieces",
        "2027-11-01T20:00:00Z",
    );
    event["description"] = json!(filler(7, 10_000));
    event["seat_map"] =
        json!({"sections": [{"id": "A", "name": "Stalls", "price": 3000, "rows": rows}]});
    let id = backend.create(event).await;
    let coordinator = SplittingProxy::start(&backend.coordinator.url).await;
    let snapshots = SplittingProxy::start(&backend.indexer.url).await;
    let edge = start_edge(
        adapter,
        &coordinator.url,
        &snapshots.url,
        backend.dir.path(),
    )
    .await;
    let p = Platform {
        edge,
        backend,
        adapter,
    };
    let event = p
        .eventually(&format!("/v1/events/{id}"), |e| e["name"] == "Split Night")
        .await;
    assert_eq!(event["description"], json!(filler(7, 10_000)));

    let path = format!("/v1/events/{id}/seats");
    let direct = p
        .backend
        .bytes(&format!("{}{path}", p.backend.coordinator.url))
        .await;
    assert!(direct.len() > 64 * 1024, "{} bytes", direct.len());
    let whole = p
        .backend
        .http
        .get(format!("{}{path}", p.edge.url))
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), 200, "{adapter:?}");
    assert!(
        whole.bytes().await.unwrap() == direct,
        "{adapter:?}: the seat list arrives byte for byte"
    );

    let cut = p
        .backend
        .http
        .get(format!("{}{path}", p.edge.url))
        .header(CUT_AFTER, "20000")
        .send()
        .await
        .unwrap();
    let status = cut.status();
    let body = cut.text().await.unwrap();
    assert_eq!(
        status, 502,
        "{adapter:?}: a body cut short is no answer: {body:.200}"
    );
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["error"]["code"], "bad_gateway", "{adapter:?}");
}
