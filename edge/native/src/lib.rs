//! The native adapter of the edge: an HTTP server (axum) around [`onsale_edge::Edge`],
//! with an in-memory cache, the coordinator reached over HTTP, and a task that installs
//! each new catalogue snapshot as soon as it is published.
//!
//! Layout:
//! - [`MemoryCache`]: the response cache.
//! - [`HttpUpstream`]: forwarding to the coordinator.
//! - [`SnapshotSource`]: where snapshots are read from (a folder or an HTTP base URL).
//! - [`client_guard`]: rate limits per client address before anything is forwarded, and
//!   the client's address (with the edge secret) in `X-Onsale-Client-Ip` for the
//!   coordinator's own limits.
//! - [`serve`]: the server (`onsale_server`) and the refresh task.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use onsale_edge::{Cache, Edge, EdgeRequest, EdgeResponse, Upstream, UpstreamError};
use onsale_indexer::{Snapshot, layout};
use onsale_limits::{ClientAddressPolicy, RateLimitLayer, RateLimits};

/// Largest request body forwarded to the coordinator.
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The in-memory response cache: bounded by the bytes it holds (keys, headers and
/// bodies), evicting the least recently used entries first, and admitting a new entry only
/// when it is likely to be asked for more often than the one it would push out (moka's
/// TinyLFU), so a flood of one-off URLs neither grows memory past the bound nor flushes
/// the entries everyone reads.
pub struct MemoryCache {
    entries: moka::sync::Cache<String, EdgeResponse>,
}

impl MemoryCache {
    /// A cache of at most `max_bytes` bytes of responses.
    pub fn new(max_bytes: u64) -> Self {
        MemoryCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &String, response: &EdgeResponse| {
                    u32::try_from(onsale_edge::cache_weight(key, response)).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    /// Bytes held now (after pending evictions are applied).
    pub fn weighted_bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }

    /// Whether `key` is cached.
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }
}

impl Cache for MemoryCache {
    fn get(&self, key: &str) -> impl Future<Output = Option<EdgeResponse>> {
        std::future::ready(self.entries.get(key))
    }

    fn put(&self, key: &str, response: &EdgeResponse) -> impl Future<Output = ()> {
        self.entries.insert(key.to_string(), response.clone());
        std::future::ready(())
    }
}

/// The coordinator over HTTP.
pub struct HttpUpstream {
    base: String,
    client: reqwest::Client,
}

impl HttpUpstream {
    /// Forwards to the coordinator at `base` (`http://host:port`).
    pub fn new(base: &str) -> Self {
        HttpUpstream {
            base: base.trim_end_matches('/').to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .connect_timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Upstream for HttpUpstream {
    async fn forward(&self, request: EdgeRequest) -> Result<EdgeResponse, UpstreamError> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let mut outgoing = self
            .client
            .request(method, format!("{}{}", self.base, request.path_and_query()));
        for (name, value) in request.forwarded_headers() {
            outgoing = outgoing.header(name, value);
        }
        let response = outgoing
            .body(request.body)
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "transfer-encoding" | "connection" | "content-length"
                )
            })
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect();
        // A body that fails or ends before its content-length (hyper checks) is an error,
        // never an answer passed on cut short.
        let body = response
            .bytes()
            .await
            .map_err(|e| UpstreamError::BadAnswer(format!("{e:?}")))?;
        Ok(EdgeResponse {
            status,
            headers,
            body,
        })
    }
}

/// Where published snapshots are read: a folder (`snapshots/{version}.snap` and a
/// `latest` file) or the same layout under an HTTP base URL.
#[derive(Debug, Clone)]
pub enum SnapshotSource {
    /// A local folder.
    Dir(PathBuf),
    /// An HTTP(S) base URL.
    Http(String),
}

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Reading the folder failed.
    #[error("reading snapshots: {0}")]
    Io(#[from] std::io::Error),
    /// Fetching over HTTP failed.
    #[error("fetching snapshots: {0}")]
    Http(#[from] reqwest::Error),
    /// The `latest` pointer is not a version number.
    #[error("the latest pointer {0:?} is not a version")]
    Pointer(String),
    /// The snapshot's bytes did not open.
    #[error("opening snapshot {version}: {reason}")]
    Open {
        /// Which version.
        version: u64,
        /// Why.
        reason: String,
    },
}

impl SnapshotSource {
    /// A folder path as is; `http://` or `https://` as a URL.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("http://") || text.starts_with("https://") {
            SnapshotSource::Http(text.trim_end_matches('/').to_string())
        } else {
            SnapshotSource::Dir(PathBuf::from(text.strip_prefix("file://").unwrap_or(text)))
        }
    }

    async fn read(&self, client: &reqwest::Client, name: &str) -> Result<Bytes, SourceError> {
        match self {
            SnapshotSource::Dir(dir) => Ok(Bytes::from(tokio::fs::read(dir.join(name)).await?)),
            SnapshotSource::Http(base) => Ok(client
                .get(format!("{base}/{name}"))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?),
        }
    }

    /// The newest published version.
    pub async fn latest(&self, client: &reqwest::Client) -> Result<u64, SourceError> {
        let bytes = self.read(client, layout::LATEST).await?;
        layout::parse_latest(&bytes)
            .map_err(|_| SourceError::Pointer(String::from_utf8_lossy(&bytes).trim().to_string()))
    }

    /// Opens one version.
    pub async fn open(
        &self,
        client: &reqwest::Client,
        version: u64,
    ) -> Result<Snapshot, SourceError> {
        let bytes = self.read(client, &layout::snapshot_path(version)).await?;
        Snapshot::from_bytes(bytes.to_vec()).map_err(|e| SourceError::Open {
            version,
            reason: e.to_string(),
        })
    }
}

/// The native edge: the core with a memory cache and the coordinator over HTTP.
pub type NativeEdge = Edge<MemoryCache, HttpUpstream>;

/// The machine's clock in milliseconds since the Unix epoch: the clock the waiting-room
/// gate checks pass expiry with ([`Edge::with_queue_key`]).
pub fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// Installs the newest snapshot if it is newer than the one served; returns the version
/// installed, if any.
pub async fn refresh(
    edge: &NativeEdge,
    source: &SnapshotSource,
    client: &reqwest::Client,
) -> Result<Option<u64>, SourceError> {
    let latest = source.latest(client).await?;
    if edge
        .snapshot_version()
        .is_some_and(|current| current >= latest)
    {
        return Ok(None);
    }
    let snapshot = source.open(client, latest).await?;
    Ok(edge.install(snapshot).then_some(latest))
}

/// Checks for a new snapshot every `interval`, forever.
pub fn spawn_refresh(
    edge: Arc<NativeEdge>,
    source: SnapshotSource,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        loop {
            match refresh(&edge, &source, &client).await {
                Ok(Some(version)) => tracing::info!(version, "catalogue snapshot installed"),
                Ok(None) => {}
                Err(err) => tracing::debug!(error = %err, "no new snapshot"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

async fn handle(State(edge): State<Arc<NativeEdge>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return into_response(EdgeResponse::text(413, "request body too large\n")),
    };
    let edge_request = EdgeRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: parts
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect(),
        body,
    };
    into_response(edge.handle(edge_request).await)
}

fn into_response(response: EdgeResponse) -> Response {
    let mut builder = Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::from(response.body))
        .unwrap_or_else(|_| Response::new(Body::from("bad response from the edge core")))
}

/// The edge's guard: `limits` per client address (the edge cannot check tokens, so
/// per-account limits are the coordinator's), applied before anything is forwarded; the
/// client's address, resolved per `policy` (an edge behind a trusted load balancer), is
/// forwarded in `X-Onsale-Client-Ip` with the policy's edge secret, replacing whatever
/// the client sent in those headers.
pub fn client_guard(limits: &RateLimits, policy: ClientAddressPolicy) -> RateLimitLayer {
    RateLimitLayer::new(limits, policy).forwarding_as_edge()
}

/// Every path goes to the edge core, behind `guard`.
pub fn router(edge: Arc<NativeEdge>, guard: RateLimitLayer) -> axum::Router {
    guard.apply(axum::Router::new().fallback(handle).with_state(edge))
}

/// Serves the edge on `listener` with `settings` (limits, TLS) until `shutdown`
/// completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    edge: Arc<NativeEdge>,
    guard: RateLimitLayer,
    settings: onsale_server::Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    onsale_server::serve(listener, router(edge, guard), settings, shutdown).await
}
