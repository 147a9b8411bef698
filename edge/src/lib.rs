//! The onsale edge: serves the read-heavy path (event lists, event pages, search) from
//! the newest catalogue snapshot it holds, and forwards every write to the coordinator.
//!
//! This crate is the platform-free core: a request comes in as an [`EdgeRequest`], an
//! [`EdgeResponse`] goes out, and the platform gives the core a [`Cache`] and an
//! [`Upstream`]. Adapters (native, Cloudflare Workers, Spin) only convert their platform's
//! request and response types and supply those two, so every adapter behaves the same.
//!
//! Layout:
//! - [`http`]: the request and response types.
//! - [`Edge`]: routing, caching, conditional requests, forwarding.
//! - `gate`: the waiting room's pass check on forwarded holds.
//! - `reads`: the JSON API and the seed aliases served from the snapshot.
//! - `pages`: the HTML pages; `assets`: their script (the live seat map, the queue page).
//!
//! Decisions:
//! - Cache keys carry the snapshot version, so a new snapshot is served as soon as it is
//!   installed and never mixed with an old one; old entries simply stop being asked for.
//! - Snapshot reads answer `Cache-Control: public, no-cache` with a strong `ETag`:
//!   browsers and CDNs keep the bytes but revalidate, which costs a `304`.
//! - Nothing here blocks or spawns: the core builds for wasm32.

mod assets;
mod gate;
pub mod http;
mod pages;
mod reads;

use std::future::Future;
use std::sync::{Arc, RwLock};

use onsale_indexer::Snapshot;
use onsale_model::{ApiError, ErrorCode};

pub use http::{EdgeRequest, EdgeResponse};
pub use onsale_pass::QueueKey;

/// A response cache the platform provides (memory, the Workers Cache API, ...).
pub trait Cache {
    /// The cached response for `key`, if any.
    fn get(&self, key: &str) -> impl Future<Output = Option<EdgeResponse>>;
    /// Keeps `response` under `key`.
    fn put(&self, key: &str, response: &EdgeResponse) -> impl Future<Output = ()>;
}

/// Why forwarding to the coordinator failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// No answer came: the coordinator is down, unreachable or refused the connection
    /// (answered `503 unavailable`).
    Unreachable(String),
    /// An answer came but not whole: its body failed or ended before its
    /// `content-length` (answered `502 bad_gateway`, never passed on cut short).
    BadAnswer(String),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UpstreamError::Unreachable(why) | UpstreamError::BadAnswer(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for UpstreamError {}

/// The coordinator, as the platform reaches it.
pub trait Upstream {
    /// Sends `request` on unchanged and returns the coordinator's answer.
    fn forward(
        &self,
        request: EdgeRequest,
    ) -> impl Future<Output = Result<EdgeResponse, UpstreamError>>;
}

/// The edge: the snapshot it serves from, a cache and the way to the coordinator.
pub struct Edge<C, U> {
    /// The newest snapshot installed; swapped whole, never changed in place.
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    cache: C,
    upstream: U,
    /// Checks waiting-room passes on holds; without it, the coordinator alone does.
    gate: Option<gate::Gate>,
    /// The coordinator's base URL as browsers reach it, for the live seat map and queue
    /// position; without it, pages poll through the edge instead.
    live_url: Option<String>,
}

impl<C: Cache, U: Upstream> Edge<C, U> {
    /// An edge with no snapshot yet (reads answer 503 until one is installed).
    pub fn new(cache: C, upstream: U) -> Self {
        Edge {
            snapshot: RwLock::new(None),
            cache,
            upstream,
            gate: None,
            live_url: None,
        }
    }

    /// Tells pages where browsers open the coordinator's live feeds (WebSocket seat
    /// changes, queue position): its public base URL, such as `https://api.example.com`.
    pub fn with_live_url(mut self, url: &str) -> Self {
        let url = url.trim().trim_end_matches('/');
        self.live_url = (!url.is_empty()).then(|| url.to_string());
        self
    }

    /// Checks the waiting room's passes on hold requests with `key` (the coordinators'
    /// queue key) before forwarding them; `now` is the platform's clock in milliseconds
    /// since the Unix epoch.
    pub fn with_queue_key(
        mut self,
        key: QueueKey,
        now: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Self {
        self.gate = Some(gate::Gate::new(key, now));
        self
    }

    /// Applies the optional settings the wasm adapters read from their environment, by
    /// name: `ONSALE_LIVE_URL` ([`Edge::with_live_url`]) and `ONSALE_QUEUE_KEY`
    /// ([`Edge::with_queue_key`], checked against `now`). A queue key that does not parse
    /// is an error rather than an edge that lets every hold through unchecked.
    pub fn with_settings(
        mut self,
        setting: impl Fn(&str) -> Option<String>,
        now: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<Self, ApiError> {
        if let Some(url) = setting("ONSALE_LIVE_URL") {
            self = self.with_live_url(&url);
        }
        if let Some(text) = setting("ONSALE_QUEUE_KEY").filter(|t| !t.trim().is_empty()) {
            let key = QueueKey::parse(text.trim()).map_err(|_| {
                ApiError::new(
                    ErrorCode::Internal,
                    "ONSALE_QUEUE_KEY is not a queue key (32 bytes, base64url or hex)",
                )
            })?;
            self = self.with_queue_key(key, now);
        }
        Ok(self)
    }

    /// Serves from `snapshot` from now on, unless a newer one is already installed.
    /// Returns whether it was installed.
    pub fn install(&self, snapshot: Snapshot) -> bool {
        let mut current = self.snapshot.write().unwrap_or_else(|p| p.into_inner());
        if current
            .as_ref()
            .is_some_and(|old| old.version() >= snapshot.version())
        {
            return false;
        }
        *current = Some(Arc::new(snapshot));
        true
    }

    /// The version of the snapshot being served.
    pub fn snapshot_version(&self) -> Option<u64> {
        self.current().map(|s| s.version())
    }

    /// The cache given at construction.
    pub fn cache(&self) -> &C {
        &self.cache
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Answers one request.
    pub async fn handle(&self, request: EdgeRequest) -> EdgeResponse {
        if is_metrics(&request.path) {
            // The coordinator's metrics are for its operator, never for the public.
            return EdgeResponse::json_error(&ApiError::new(ErrorCode::NotFound, "no such path"));
        }
        let read = matches!(request.method.as_str(), "GET" | "HEAD");
        if read && request.path == "/healthz" {
            let version = self
                .snapshot_version()
                .map_or_else(|| "none".to_string(), |v| v.to_string());
            return EdgeResponse::text(200, format!("ok snapshot={version}\n"));
        }
        if let Some(script) = read.then(|| assets::script(&request.path)).flatten() {
            return script.conditional(request.header("if-none-match"));
        }
        if let Some(id) = read
            .then(|| request.path.strip_prefix("/bookings/"))
            .flatten()
        {
            return pages::booking_response(id);
        }
        let kind = if read {
            reads::classify(&request.path)
        } else {
            None
        };
        let Some(kind) = kind else {
            let refusal = self
                .gate
                .as_ref()
                .and_then(|gate| gate.refusal(&request, self.current().as_deref()));
            if let Some(refusal) = refusal {
                return EdgeResponse::json_error(&refusal);
            }
            return self.forward(request).await;
        };
        let Some(snapshot) = self.current() else {
            return kind.error(&ApiError::new(
                ErrorCode::Unavailable,
                "the catalogue is not loaded yet; retry in a moment",
            ));
        };
        let key = format!("v{}:{}?{}", snapshot.version(), request.path, request.query);
        let response = match self.cache.get(&key).await {
            Some(hit) => hit,
            None => {
                let fresh = reads::render(&kind, &request, &snapshot, self.live_url.as_deref());
                if fresh.status == 200 {
                    self.cache.put(&key, &fresh).await;
                }
                fresh
            }
        };
        let mut response = response.conditional(request.header("if-none-match"));
        if request.method == "HEAD" {
            response.body = bytes::Bytes::new();
        }
        response
    }

    async fn forward(&self, request: EdgeRequest) -> EdgeResponse {
        match self.upstream.forward(request).await {
            Ok(response) => response,
            Err(UpstreamError::Unreachable(why)) => EdgeResponse::json_error(&ApiError::new(
                ErrorCode::Unavailable,
                format!("the booking service is unreachable ({why}); retry in a moment"),
            )),
            Err(UpstreamError::BadAnswer(why)) => EdgeResponse::json_error(&ApiError::new(
                ErrorCode::BadGateway,
                format!(
                    "the booking service's answer did not arrive whole ({why}); retry in a moment"
                ),
            )),
        }
    }
}

/// Whether `path` names the coordinator's `/metrics` (in any spelling a server might read
/// as it: any case, a trailing slash, percent-encoded letters).
fn is_metrics(path: &str) -> bool {
    let decoded = percent_decode(path);
    decoded
        .trim_end_matches('/')
        .trim_start_matches('/')
        .eq_ignore_ascii_case("metrics")
}

/// `%XX` escapes decoded, the rest kept; malformed escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::is_metrics;

    #[test]
    fn metrics_paths_in_every_spelling() {
        for path in [
            "/metrics",
            "/metrics/",
            "/METRICS",
            "/%6Detrics",
            "//metrics",
        ] {
            assert!(is_metrics(path), "{path}");
        }
        for path in ["/v1/metrics", "/metricsx", "/", "/events/1"] {
            assert!(!is_metrics(path), "{path}");
        }
    }
}
