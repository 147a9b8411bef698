//! Shared test helpers: fresh stores on every backend that can run here.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod shop;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use onsale_store::{self as store, KeyValue, RangeRead, RetryPolicy, Store, Tx, Txn};

use onsale_store::testing::TestDb;

/// A store and whatever keeps it alive (its folder or database).
pub struct TestStore {
    /// The store under test.
    pub store: Arc<dyn Store>,
    /// The address the store was opened with, to open it again.
    pub address: String,
    _dir: Option<tempfile::TempDir>,
    _db: Option<TestDb>,
}

/// A fresh fjall store in a temporary folder.
pub async fn fjall_store() -> TestStore {
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("fjall:{}", dir.path().display());
    let store = onsale_store::open(&address, RetryPolicy::default())
        .await
        .expect("open fjall");
    TestStore {
        store,
        address,
        _dir: Some(dir),
        _db: None,
    }
}

/// The fjall store in `dir` (which the caller keeps), opened as a restarted coordinator
/// would: fjall lets one opener at a time in, so this waits up to ten seconds for a
/// previous coordinator on the folder to let go.
pub async fn fjall_store_at(dir: &std::path::Path) -> TestStore {
    let address = format!("fjall:{}", dir.display());
    let mut attempts = 0;
    let store = loop {
        match onsale_store::open(&address, RetryPolicy::default()).await {
            Ok(store) => break store,
            Err(_) if attempts < 200 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(err) => panic!("reopening {address}: {err}"),
        }
    };
    TestStore {
        store,
        address,
        _dir: None,
        _db: None,
    }
}

/// A fresh PostgreSQL store in its own database.
pub async fn pg_store() -> TestStore {
    let db = TestDb::create().await;
    let address = db.url.clone();
    let store = onsale_store::open(&address, RetryPolicy::default())
        .await
        .expect("open postgres");
    TestStore {
        store,
        address,
        _dir: None,
        _db: Some(db),
    }
}

/// `t`'s store with its values sealed at rest (a fixed test key); the unsealed store stays
/// reachable as `raw`, to look at what the backend holds.
pub fn sealed(t: TestStore) -> (TestStore, Arc<dyn Store>) {
    let raw = t.store.clone();
    let sealer = onsale_store::sealed::Sealer::new(
        onsale_store::sealed::SealKey::new([0x5e; 32]),
        Vec::new(),
    );
    let sealed = TestStore {
        store: Arc::new(onsale_store::sealed::SealedStore::new(raw.clone(), sealer)),
        ..t
    };
    (sealed, raw)
}

/// A store that counts the transactions begun on it (retries included) and the range
/// reads that start at each key.
pub struct CountingStore {
    inner: Arc<dyn Store>,
    begun: AtomicU64,
    ranges: Arc<Mutex<HashMap<Vec<u8>, u64>>>,
}

impl CountingStore {
    /// Counts the transactions on `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        CountingStore {
            inner,
            begun: AtomicU64::new(0),
            ranges: Arc::default(),
        }
    }

    /// Transactions begun so far.
    pub fn begun(&self) -> u64 {
        self.begun.load(Ordering::Relaxed)
    }

    /// Range reads so far that began at `begin` (e.g. `SEATS.starting_with(&event).begin`: the
    /// reads of an event's whole seat state).
    pub fn ranges_read(&self, begin: &[u8]) -> u64 {
        let ranges = self.ranges.lock().unwrap();
        ranges.get(begin).copied().unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl Store for CountingStore {
    async fn begin(&self) -> store::Result<Txn> {
        self.begun.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(CountingTx {
            inner: self.inner.begin().await?,
            ranges: self.ranges.clone(),
        }))
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn retry_policy(&self) -> &RetryPolicy {
        self.inner.retry_policy()
    }
}

/// A transaction of a [`CountingStore`]: the inner one, with its range reads counted.
struct CountingTx {
    inner: Txn,
    ranges: Arc<Mutex<HashMap<Vec<u8>, u64>>>,
}

#[async_trait::async_trait]
impl Tx for CountingTx {
    async fn get(&self, key: &[u8]) -> store::Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }

    async fn get_range(&self, range: RangeRead) -> store::Result<Vec<KeyValue>> {
        *self
            .ranges
            .lock()
            .unwrap()
            .entry(range.begin.clone())
            .or_default() += 1;
        self.inner.get_range(range).await
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        self.inner.set(key, value);
    }

    fn clear(&self, key: &[u8]) {
        self.inner.clear(key);
    }

    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> store::Result<()> {
        self.inner.clear_range(begin, end).await
    }

    async fn add(&self, key: &[u8], delta: i64) -> store::Result<()> {
        self.inner.add(key, delta).await
    }

    fn append_log(&self, entry: &[u8]) {
        self.inner.append_log(entry);
    }

    async fn commit(&self) -> store::Result<()> {
        self.inner.commit().await
    }

    async fn rollback(&self) {
        self.inner.rollback().await;
    }
}

/// A second coordinator on a store another test server already uses.
pub async fn serve_shared(store: Arc<dyn Store>) -> TestServer {
    serve(TestStore {
        store,
        address: String::new(),
        _dir: None,
        _db: None,
    })
    .await
}

/// A coordinator serving on a free port of 127.0.0.1, stopped when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The coordinator behind the server.
    pub coordinator: onsale_coordinator::Coordinator,
    /// The clock the coordinator reads (tests move it).
    pub clock: onsale_coordinator::clock::ManualClock,
    /// An HTTP client.
    pub http: reqwest::Client,
    /// The store the coordinator runs on, to read it behind the server's back.
    pub store: TestStore,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Starts a coordinator on `store` with a manual clock and a 10-minute hold lifetime.
pub async fn serve(store: TestStore) -> TestServer {
    serve_with(store, |coordinator, _| coordinator).await
}

/// The settings test servers run with: the defaults without rate limits or a cap on live
/// feeds per address, since tests send many requests from one address quickly (the
/// tests of the limits set their own).
pub fn test_settings() -> onsale_coordinator::Settings {
    onsale_coordinator::Settings {
        rate_limits: onsale_limits::RateLimits::off(),
        live_feeds_per_address: usize::MAX,
        ..onsale_coordinator::Settings::default()
    }
}

/// Like [`serve`], letting `configure` change the coordinator once its URL is known.
pub async fn serve_with(
    store: TestStore,
    configure: impl FnOnce(onsale_coordinator::Coordinator, &str) -> onsale_coordinator::Coordinator,
) -> TestServer {
    serve_with_settings(store, test_settings(), configure).await
}

/// Like [`serve_with`], with `settings` instead of [`test_settings`].
pub async fn serve_with_settings(
    store: TestStore,
    settings: onsale_coordinator::Settings,
    configure: impl FnOnce(onsale_coordinator::Coordinator, &str) -> onsale_coordinator::Coordinator,
) -> TestServer {
    let clock = onsale_coordinator::clock::ManualClock::new(1_800_000_000_000);
    let coordinator = onsale_coordinator::Coordinator::new(
        store.store.clone(),
        Arc::new(clock.clone()),
        settings,
    )
    .await
    .expect("coordinator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let coordinator = configure(coordinator, &url);
    let follower = onsale_coordinator::hub::spawn_follower(
        coordinator.hub().clone(),
        coordinator.seat_views().clone(),
        coordinator.changelog().clone(),
        std::time::Duration::from_millis(20),
    );
    let api = coordinator.clone();
    let server = tokio::spawn(async move {
        // Stops with the server's task (a worker stops when dropped).
        let _follower = follower;
        onsale_coordinator::api::serve(listener, api, std::future::pending())
            .await
            .expect("serve");
    });
    TestServer {
        url,
        coordinator,
        clock,
        http: reqwest::Client::new(),
        server,
        store,
    }
}

impl TestServer {
    /// Sends `method path` with `token` (and `body` as JSON); returns the status and the
    /// JSON answer (`null` when there is none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    /// `GET path` with `token`: the status and the JSON answer.
    pub async fn get_json(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::GET, token, path, None).await
    }

    /// `POST path` with `token` and a JSON body: the status and the JSON answer.
    pub async fn post_json(
        &self,
        token: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.call(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    /// The operator token.
    pub fn operator(&self) -> String {
        self.coordinator.secrets().operator_token.clone()
    }

    /// A bearer token for a made-up user (no sign-up needed to hold seats).
    pub fn token_for(&self, user: uuid::Uuid) -> String {
        self.coordinator
            .secrets()
            .issue_token(user, 0, 4_000_000_000_000)
    }

    /// Holds `seats` for the token's user (asserting `201`); returns the hold id.
    pub async fn hold(&self, token: &str, event: u64, seats: &[&str]) -> String {
        let response = self
            .http
            .post(format!("{}/v1/events/{event}/holds", self.url))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&serde_json::json!({ "seats": seats }))
            .send()
            .await
            .expect("hold request");
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.expect("json");
        body["hold_id"].as_str().expect("hold id").to_string()
    }

    /// Creates an event with `sections` sections of `rows` rows of `seats` seats.
    pub async fn create_event(&self, name: &str, sections: u32, rows: u32, seats: u32) -> u64 {
        self.create_event_limited(name, sections, rows, seats, None)
            .await
    }

    /// Like [`TestServer::create_event`], with a seat limit per account (the default's
    /// when `None`).
    pub async fn create_event_limited(
        &self,
        name: &str,
        sections: u32,
        rows: u32,
        seats: u32,
        max_seats_per_account: Option<u32>,
    ) -> u64 {
        let seat_map = serde_json::json!({
            "sections": (0..sections).map(|s| serde_json::json!({
                "id": format!("S{s}"),
                "name": format!("Section {s}"),
                "price": 1000 * (s + 1),
                "rows": (0..rows).map(|r| serde_json::json!({"name": format!("R{r}"), "seats": seats})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        let response = self
            .http
            .post(format!("{}/v1/operator/events", self.url))
            .bearer_auth(self.operator())
            .json(&serde_json::json!({
                "name": name,
                "category": "concert",
                "description": "A test event",
                "performers": ["The Testers"],
                "venue": "Test Hall",
                "city": "Testville",
                "starts_at": "2027-03-01T20:00:00Z",
                "image_url": "",
                "currency": "EUR",
                "max_seats_per_account": max_seats_per_account,
                "seat_map": seat_map,
            }))
            .send()
            .await
            .expect("create event");
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.expect("json");
        body["id"].as_u64().expect("id")
    }
}
