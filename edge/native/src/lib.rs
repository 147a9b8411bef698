//! The native adapter of the edge: an HTTP server (axum) around [`onsale_edge::Edge`],
//! with an in-memory cache, the coordinator reached over HTTP, and a task that installs
//! each new catalogue snapshot as soon as it is published.
//!
//! Layout:
//! - [`MemoryCache`]: the response cache.
//! - [`HttpUpstream`]: forwarding to the coordinator.
//! - [`SnapshotLocation`]: where snapshots are read from (a folder or an HTTP base URL).
//! - [`client_guard`]: rate limits per client address before anything is forwarded, and
//!   the client's address (with the edge secret) in `X-Onsale-Client-Ip` for the
//!   coordinator's own limits.
//! - `live`: live feeds (server-sent events, WebSockets) streamed through to the
//!   coordinator, so pages open them on the site's own origin.
//! - [`serve`]: the server (`onsale_server`) and the refresh task.

mod live;

use std::future::Future;
use std::io::SeekFrom;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use onsale_edge::{
    Cache, Edge, EdgeRequest, EdgeResponse, SnapshotSource, SourceError, Upstream, UpstreamError,
};
use onsale_limits::{ClientAddressPolicy, RateLimitLayer, RateLimits};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

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
    /// For live feeds: answers that never end, so no overall timeout.
    streaming: reqwest::Client,
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
            streaming: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(2))
                .http1_only()
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
        let headers = response.headers().clone();
        // A body that fails or ends before its content-length (hyper checks) is an error,
        // never an answer passed on cut short.
        let body = response
            .bytes()
            .await
            .map_err(|e| UpstreamError::BadAnswer(format!("{e:?}")))?;
        Ok(EdgeResponse::from_upstream_map(status, &headers, body))
    }
}

/// Where published snapshots are read: a folder (`snapshots/{version}.snap`, its `.head`
/// and a `latest` file) or the same layout under an HTTP base URL that answers range
/// requests.
#[derive(Debug, Clone)]
pub enum SnapshotLocation {
    /// A local folder.
    Dir(PathBuf),
    /// An HTTP(S) base URL, read with this client.
    Http {
        /// The base URL, without a trailing `/`.
        base: String,
        /// The client that reads it.
        client: reqwest::Client,
    },
}

impl SnapshotLocation {
    /// A folder path as is; `http://` or `https://` as a URL.
    pub fn parse(text: &str) -> Self {
        if text.starts_with("http://") || text.starts_with("https://") {
            SnapshotLocation::Http {
                base: text.trim_end_matches('/').to_string(),
                client: reqwest::Client::new(),
            }
        } else {
            SnapshotLocation::Dir(PathBuf::from(text.strip_prefix("file://").unwrap_or(text)))
        }
    }
}

impl SnapshotSource for SnapshotLocation {
    async fn read(&self, name: &str) -> Result<Bytes, SourceError> {
        let read = |e: &dyn std::fmt::Display| SourceError::Read(format!("{name}: {e}"));
        match self {
            SnapshotLocation::Dir(dir) => tokio::fs::read(dir.join(name))
                .await
                .map(Bytes::from)
                .map_err(|e| read(&e)),
            SnapshotLocation::Http { base, client } => {
                let response = client
                    .get(format!("{base}/{name}"))
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| read(&e))?;
                response.bytes().await.map_err(|e| read(&e))
            }
        }
    }

    async fn read_range(&self, name: &str, range: Range<u64>) -> Result<Bytes, SourceError> {
        let read = |e: &dyn std::fmt::Display| {
            SourceError::Read(format!("{name} bytes {}..{}: {e}", range.start, range.end))
        };
        let wanted = usize::try_from(range.end.saturating_sub(range.start))
            .map_err(|_| read(&"the range does not fit in memory"))?;
        let bytes = match self {
            SnapshotLocation::Dir(dir) => {
                let mut file = tokio::fs::File::open(dir.join(name))
                    .await
                    .map_err(|e| read(&e))?;
                file.seek(SeekFrom::Start(range.start))
                    .await
                    .map_err(|e| read(&e))?;
                let mut bytes = vec![0; wanted];
                file.read_exact(&mut bytes).await.map_err(|e| read(&e))?;
                Bytes::from(bytes)
            }
            SnapshotLocation::Http { base, client } => {
                let response = client
                    .get(format!("{base}/{name}"))
                    .header(reqwest::header::RANGE, onsale_edge::range_header(&range))
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    .map_err(|e| read(&e))?;
                if response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
                    return Err(read(&format!(
                        "the server answered {} to a range request",
                        response.status()
                    )));
                }
                response.bytes().await.map_err(|e| read(&e))?
            }
        };
        if bytes.len() != wanted {
            return Err(read(&format!("{} bytes came", bytes.len())));
        }
        Ok(bytes)
    }
}

/// The native edge: the core with a memory cache and the coordinator over HTTP.
pub type NativeEdge = Edge<MemoryCache, HttpUpstream>;

/// The native edge with `cache`, forwarding to `upstream`; it streams live feeds through
/// itself ([`router`]), so pages open them on its own origin unless a live URL is set.
pub fn native_edge(cache: MemoryCache, upstream: HttpUpstream) -> NativeEdge {
    Edge::new(cache, upstream).with_streamed_live_feeds()
}

/// The machine's clock in milliseconds since the Unix epoch: the clock the waiting-room
/// gate checks pass expiry with ([`Edge::with_queue_key`]).
pub fn unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// Looks for a new snapshot every `interval`, forever.
pub fn spawn_refresh(
    edge: Arc<NativeEdge>,
    source: SnapshotLocation,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match edge.refresh(&source).await {
                Ok(Some(version)) => tracing::info!(version, "catalogue snapshot installed"),
                Ok(None) => {}
                Err(err) => tracing::debug!(error = %err, "no new snapshot"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// What the edge's HTTP handler has: the edge, and where its snapshots' blocks are read.
#[derive(Clone)]
struct Site {
    edge: Arc<NativeEdge>,
    snapshots: Arc<SnapshotLocation>,
}

async fn handle(State(site): State<Site>, request: Request) -> Response {
    let Site { edge, snapshots } = site;
    if onsale_edge::is_live_feed(request.uri().path()) {
        return live::pass_through(edge.upstream(), request).await;
    }
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => return into_response(EdgeResponse::text(413, "request body too large\n")),
    };
    // The guard in front has already replaced the client's `x-onsale-*` headers with the
    // edge's own.
    let answer = edge
        .handle_from(EdgeRequest::from_http(&parts, body), snapshots.as_ref())
        .await;
    into_response(answer)
}

fn into_response(response: EdgeResponse) -> Response {
    response.into_http().map(Body::from)
}

/// The edge's guard: `limits` per client address (the edge cannot check tokens, so
/// per-account limits are the coordinator's), applied before anything is forwarded; the
/// client's address, resolved per `policy` (an edge behind a trusted load balancer), is
/// forwarded in `X-Onsale-Client-Ip` with the policy's edge secret, replacing whatever
/// the client sent in those headers.
pub fn client_guard(limits: &RateLimits, policy: ClientAddressPolicy) -> RateLimitLayer {
    RateLimitLayer::new(limits, policy).forwarding_as_edge()
}

/// Every path goes to the edge core, behind `guard`; document blocks are read from
/// `snapshots`, where [`spawn_refresh`] finds the snapshots.
pub fn router(
    edge: Arc<NativeEdge>,
    snapshots: SnapshotLocation,
    guard: RateLimitLayer,
) -> axum::Router {
    let site = Site {
        edge,
        snapshots: Arc::new(snapshots),
    };
    guard.apply(axum::Router::new().fallback(handle).with_state(site))
}

/// Serves the edge on `listener` with `settings` (limits, TLS) until `shutdown`
/// completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    edge: Arc<NativeEdge>,
    snapshots: SnapshotLocation,
    guard: RateLimitLayer,
    settings: onsale_server::Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    onsale_server::serve(listener, router(edge, snapshots, guard), settings, shutdown).await
}
