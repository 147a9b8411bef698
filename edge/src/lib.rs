//! The onsale edge: serves the read-heavy path (event lists, event pages, search) from
//! the newest catalogue snapshot it holds, and forwards every write to the coordinator.
//!
//! This crate is the platform-free core: a request comes in as an [`EdgeRequest`], an
//! [`EdgeResponse`] goes out, and the platform gives the core a [`Cache`] and an
//! [`Upstream`]. Adapters (native, Cloudflare Workers, Spin) only convert their platform's
//! request and response types (the `http` crate's with [`EdgeRequest::from_http`] and
//! [`EdgeResponse::into_http`]) and supply those two and a [`SnapshotSource`], so every
//! adapter behaves the same.
//!
//! Layout:
//! - [`http`]: the request and response types.
//! - [`Edge`]: routing, caching, conditional requests, forwarding.
//! - `gate`: the waiting room's pass check on forwarded holds.
//! - [`is_live_feed`]: the coordinator's never-ending answers, which streaming adapters
//!   pass through themselves and the core answers with where to open them.
//! - `reads`: the JSON API and the seed aliases served from the snapshot.
//! - `pages`: the HTML pages; `assets`: their script (the live seat map, the queue page)
//!   and stylesheet; `security`: the headers that restrict what pages may do.
//! - [`SnapshotSource`], [`RefreshPolicy`], [`Edge::refresh`]: where an adapter's snapshots
//!   come from, when to look again, and the look that installs a newer one.
//! - [`ByteLru`], [`cache_weight`]: a byte-bounded cache for adapters without threads, and
//!   what an entry weighs.
//!
//! Decisions:
//! - Cache keys carry the snapshot version, so a new snapshot is served as soon as it is
//!   installed and never mixed with an old one; old entries simply stop being asked for.
//!   After it come the route and the query parameters that route knows, in one order
//!   (`reads::cache_key`): made-up parameters make no new entries, and demo pictures are
//!   cached only for the snapshot's categories (the demo catalogue names them so).
//! - `HEAD` is answered exactly as `GET`: the edge's own answers carry their body's
//!   length in `content-length`, and the platform's HTTP server (hyper, workerd,
//!   wasmtime) sends the headers and not the body.
//! - Event images (`/media/images/...`) are fetched from the coordinator once and kept by
//!   path: their names are content-addressed, so they never change.
//! - Browsers (`Accept: text/html`) asking for a path the coordinator does not know get
//!   the HTML 404 page instead of its JSON.
//! - Snapshot reads answer `Cache-Control: public, no-cache` with a strong `ETag`:
//!   browsers and CDNs keep the bytes but revalidate, which costs a `304`.
//! - Nothing here blocks or spawns: the core builds for wasm32.

mod assets;
mod cache;
mod compress;
mod gate;
pub mod http;
mod live;
mod pages;
mod reads;
mod scopes;
mod security;
mod snapshots;

use std::future::Future;
use std::sync::{Arc, RwLock};

use onsale_indexer::Snapshot;
use onsale_model::{ApiError, ErrorCode};

use crate::compress::Encoding;

pub use cache::{ByteLru, cache_weight};
pub use http::{EdgeRequest, EdgeResponse};
pub use live::is_live_feed;
pub use onsale_pass::QueueKey;
use snapshots::InstalledWhole;
pub use snapshots::{RefreshPolicy, SnapshotSource, SourceError, range_header};

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
    served: RwLock<Option<Arc<Snapshot>>>,
    cache: C,
    upstream: U,
    /// Checks waiting-room passes on holds; without it, the coordinator alone does.
    gate: Option<gate::Gate>,
    /// The coordinator's base URL as browsers reach it, for the live seat map and queue
    /// position; without it, pages open them on the edge where it streams them, and
    /// otherwise poll through the edge.
    live_url: Option<String>,
    /// Whether the adapter passes live feeds through itself ([`is_live_feed`]).
    streams_live: bool,
    /// The pages' Content-Security-Policy (it names the live URL).
    csp: String,
    /// Most bytes of fetched document blocks a snapshot keeps ([`Edge::refresh`] installs
    /// heads alone).
    document_budget: usize,
    /// The region whose snapshots the edge follows ([`Edge::with_region`]); `None`: the
    /// root's, every event.
    region: Option<String>,
    /// The snapshots of other regions (or of every event) that reads asked for.
    others: scopes::Others,
    /// Where reads of other regions (or of every event) go instead of opening those
    /// snapshots here ([`Edge::with_search_origin`]).
    search_origin: Option<U>,
}

/// Document blocks an edge keeps unless told otherwise ([`Edge::with_document_budget`]):
/// with the head of a 100,000-event snapshot (about 7 MB), within a Worker's 10 MB aim.
pub const DEFAULT_DOCUMENT_BUDGET: usize = 2 << 20;

/// Bytes of other regions' snapshots an edge keeps unless told otherwise
/// ([`Edge::with_other_snapshot_budget`]): one more head of a 100,000-event catalogue.
pub const DEFAULT_OTHER_SNAPSHOT_BUDGET: usize = 8 << 20;

/// How many times a read fetches the blocks it lacks before it gives up (another read's
/// blocks can push its own out of a small budget in between).
const FETCH_ROUNDS: usize = 3;

impl<C: Cache, U: Upstream> Edge<C, U> {
    /// An edge with no snapshot yet (reads answer 503 until one is installed).
    pub fn new(cache: C, upstream: U) -> Self {
        Edge {
            served: RwLock::new(None),
            cache,
            upstream,
            gate: None,
            live_url: None,
            streams_live: false,
            csp: security::content_security_policy(None),
            document_budget: DEFAULT_DOCUMENT_BUDGET,
            region: None,
            others: scopes::Others::new(DEFAULT_OTHER_SNAPSHOT_BUDGET),
            search_origin: None,
        }
    }

    /// Sends the reads this edge's own snapshot cannot answer (another region's lists and
    /// searches, every event's, an event of another region) to `origin`, an edge that
    /// follows every event (the same reads, the same answers), instead of opening those
    /// snapshots here: an edge of a region then holds its region's head and nothing else,
    /// whatever the size of the whole catalogue. Its answers are cached here like the
    /// edge's own, under this edge's version (they carry the origin's, which follows the
    /// same `latest` and may be a refresh behind or ahead).
    pub fn with_search_origin(mut self, origin: U) -> Self {
        self.search_origin = Some(origin);
        self
    }

    /// Follows the snapshots of the region `name` (`regions/{name}/` where the indexer
    /// publishes, `onsale index --region`): its pages list and search that region unless
    /// asked for another or `region=all`, and reads of elsewhere open those snapshots as
    /// they are needed ([`Edge::with_other_snapshot_budget`]). A name that cannot name a
    /// region is an error.
    pub fn with_region(mut self, name: &str) -> Result<Self, ApiError> {
        let name = name.trim();
        if !onsale_indexer::layout::is_region_name(name) {
            return Err(ApiError::new(
                ErrorCode::Internal,
                format!(
                    "{name:?} cannot name a region (lowercase letters, digits and inner hyphens)"
                ),
            ));
        }
        self.region = Some(name.to_string());
        Ok(self)
    }

    /// Keeps up to `bytes` of the snapshots of other regions (or of every event) that
    /// reads asked for; the least recently used go first, and the last one opened stays
    /// whatever it weighs.
    pub fn with_other_snapshot_budget(mut self, bytes: usize) -> Self {
        self.others = scopes::Others::new(bytes);
        self
    }

    /// Keeps up to `bytes` of fetched document blocks per snapshot (the head is held
    /// whole on top of it; see [`Edge::refresh`]).
    pub fn with_document_budget(mut self, bytes: usize) -> Self {
        self.document_budget = bytes;
        self
    }

    /// Tells the core that its adapter passes live feeds through to the coordinator as
    /// streams (server-sent events unbuffered, WebSocket upgrades): pages then open them
    /// on the site's own origin, unless a live URL names another place.
    pub fn with_streamed_live_feeds(mut self) -> Self {
        self.streams_live = true;
        self
    }

    /// Where pages open live feeds: the live URL, else the site itself (`/`) where the
    /// adapter streams them, else nowhere (they poll).
    fn pages_live(&self) -> Option<&str> {
        self.live_url
            .as_deref()
            .or(self.streams_live.then_some("/"))
    }

    /// The way to the coordinator given at construction.
    pub fn upstream(&self) -> &U {
        &self.upstream
    }

    /// Tells pages where browsers open the coordinator's live feeds (WebSocket seat
    /// changes, queue position): its public base URL, such as `https://api.example.com`.
    pub fn with_live_url(mut self, url: &str) -> Self {
        let url = url.trim().trim_end_matches('/');
        self.live_url = (!url.is_empty()).then(|| url.to_string());
        self.csp = security::content_security_policy(self.live_url.as_deref());
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
    /// name: `ONSALE_LIVE_URL` ([`Edge::with_live_url`]), `ONSALE_DOCUMENT_CACHE_BYTES`
    /// ([`Edge::with_document_budget`]), `ONSALE_OTHER_SNAPSHOT_BYTES`
    /// ([`Edge::with_other_snapshot_budget`]), `ONSALE_REGION` ([`Edge::with_region`]) and
    /// `ONSALE_QUEUE_KEY` ([`Edge::with_queue_key`], checked against `now`). A queue key,
    /// budget or region that does not parse is an error rather than an edge that runs on
    /// a guess.
    pub fn with_settings(
        mut self,
        setting: impl Fn(&str) -> Option<String>,
        now: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<Self, ApiError> {
        if let Some(url) = setting("ONSALE_LIVE_URL") {
            self = self.with_live_url(&url);
        }
        let bytes = |name: &str| -> Result<Option<usize>, ApiError> {
            setting(name)
                .map(|text| text.trim().parse())
                .transpose()
                .map_err(|_| {
                    ApiError::new(
                        ErrorCode::Internal,
                        format!("{name} is not a whole number of bytes"),
                    )
                })
        };
        if let Some(bytes) = bytes("ONSALE_DOCUMENT_CACHE_BYTES")? {
            self = self.with_document_budget(bytes);
        }
        if let Some(bytes) = bytes("ONSALE_OTHER_SNAPSHOT_BYTES")? {
            self = self.with_other_snapshot_budget(bytes);
        }
        if let Some(region) = setting("ONSALE_REGION").filter(|t| !t.trim().is_empty()) {
            self = self.with_region(&region)?;
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

    /// Serves from `snapshot` from now on, unless a newer one is already installed or it
    /// holds another region than the edge's ([`Edge::with_region`]). Returns whether it was
    /// installed.
    pub fn install(&self, snapshot: Snapshot) -> bool {
        if snapshot.region() != self.region.as_deref() {
            return false;
        }
        let installed = self.snapshot_version();
        if installed.is_some_and(|old| old >= snapshot.version()) {
            return false;
        }
        let mut current = self.served.write().unwrap_or_else(|p| p.into_inner());
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

    /// How many bytes the snapshots hold in memory: the served one's head and the document
    /// blocks it keeps, and the same for the other regions' that reads opened.
    pub fn snapshot_held_bytes(&self) -> Option<usize> {
        self.current()
            .map(|snapshot| snapshot.held_bytes() + self.others.held_bytes())
    }

    /// The cache given at construction.
    pub fn cache(&self) -> &C {
        &self.cache
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.served
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Answers one request from snapshots installed whole ([`Edge::install`]).
    pub async fn handle(&self, request: EdgeRequest) -> EdgeResponse {
        self.handle_from(request, &InstalledWhole).await
    }

    /// Answers one request, fetching the document blocks it needs from `snapshots` (where
    /// [`Edge::refresh`] found the snapshot).
    pub async fn handle_from(
        &self,
        request: EdgeRequest,
        snapshots: &impl SnapshotSource,
    ) -> EdgeResponse {
        if is_metrics(&request.path) {
            // The coordinator's metrics are for its operator, never for the public.
            return EdgeResponse::json_error(&ApiError::new(ErrorCode::NotFound, "no such path"));
        }
        if is_live_feed(&request.path) {
            // A streaming adapter passes these on before the core sees them; forwarded
            // here, the answer would never end.
            let error = live::elsewhere(&request.path, self.live_url.as_deref());
            return EdgeResponse::json_error(&error);
        }
        let read = matches!(request.method.as_str(), "GET" | "HEAD");
        let answer = if read {
            let encoding = Encoding::preferred(request.header("accept-encoding"));
            self.read(&request, encoding, snapshots).await
        } else {
            None
        };
        match answer {
            Some(response) => {
                let mut response = response.conditional(request.header("if-none-match"));
                security::protect(&mut response, &self.csp);
                response.with_length()
            }
            None => self.pass_on(request, read, snapshots).await,
        }
    }

    /// The answer to a `GET` or `HEAD` the edge answers itself (its body in `encoding`
    /// where that pays), or `None` for one the coordinator answers.
    async fn read(
        &self,
        request: &EdgeRequest,
        encoding: Encoding,
        snapshots: &impl SnapshotSource,
    ) -> Option<EdgeResponse> {
        if request.path == "/healthz" {
            let version = self
                .snapshot_version()
                .map_or_else(|| "none".to_string(), |v| v.to_string());
            let region = scopes::Scope::of_region(self.region.as_deref());
            let health = format!("ok snapshot={version} region={}\n", region.label());
            return Some(EdgeResponse::text(200, health));
        }
        if let Some(asset) = assets::asset(&request.path) {
            // Compressed once per encoding, then kept.
            let key = format!("static:{}:{}", encoding.name(), request.path);
            if let Some(hit) = self.cache.get(&key).await {
                return Some(hit);
            }
            let asset = compress::encode(asset, encoding);
            self.cache.put(&key, &asset).await;
            return Some(asset);
        }
        if let Some(id) = request.path.strip_prefix("/bookings/") {
            return Some(compress::encode(pages::booking_response(id), encoding));
        }
        if request.path == "/me/tickets" {
            return Some(compress::encode(pages::my_tickets_response(), encoding));
        }
        if request.path.starts_with(MEDIA_PREFIX) {
            return Some(self.media(&request.path).await);
        }
        let kind = reads::classify(&request.path)?;
        let Some(home) = self.current() else {
            return Some(kind.error(&ApiError::new(
                ErrorCode::Unavailable,
                "the catalogue is not loaded yet; retry in a moment",
            )));
        };
        let wanted = match scopes::wanted(&kind, &request.query, &scopes::Scope::of(&home)) {
            Ok(wanted) => wanted,
            Err(error) => return Some(kind.error(&error)),
        };
        let Some(route) = reads::cache_key(&kind, &request.query) else {
            let answer = self.answer(&kind, request, &home, &wanted, snapshots).await;
            return Some(compress::encode(answer, encoding));
        };
        // Every region is published at every version: one version names them all.
        let key = format!(
            "v{}:{}:{route}{}",
            home.version(),
            encoding.name(),
            wanted.key_suffix()
        );
        if let Some(hit) = self.cache.get(&key).await {
            return Some(hit);
        }
        let answer = self.answer(&kind, request, &home, &wanted, snapshots).await;
        let fresh = compress::encode(answer, encoding);
        if fresh.status == 200 {
            self.cache.put(&key, &fresh).await;
        }
        Some(fresh)
    }

    /// Renders a read from the snapshot it wants: the scope's, opened if need be; for a
    /// look-up, the edge's own and, if the event is not there, every event's.
    async fn answer(
        &self,
        kind: &reads::ReadKind,
        request: &EdgeRequest,
        home: &Arc<Snapshot>,
        wanted: &scopes::Wanted,
        snapshots: &impl SnapshotSource,
    ) -> EdgeResponse {
        let live = self.pages_live();
        let render = |snapshot: Arc<Snapshot>| async move {
            let render = |snapshot: &Snapshot| reads::render(kind, request, snapshot, live);
            match snapshots::with_blocks(&snapshot, snapshots, render).await {
                Ok(response) => response,
                Err(error) => kind.error(&error),
            }
        };
        let scope = match wanted {
            scopes::Wanted::In(scope) => scope.clone(),
            scopes::Wanted::Lookup => {
                let found = render(home.clone()).await;
                if found.status != 404 || home.region().is_none() {
                    return found;
                }
                scopes::Scope::Every
            }
        };
        if let Some(origin) = &self.search_origin
            && scope != scopes::Scope::of(home)
        {
            return self.ask_origin(origin, kind, request).await;
        }
        match self
            .others
            .snapshot(&scope, home, snapshots, self.document_budget)
            .await
        {
            Ok(snapshot) => render(snapshot).await,
            Err(error) => kind.error(&error),
        }
    }

    /// The search origin's answer to a read, with the headers that describe it (its type,
    /// its snapshot's `ETag`, caching and version); this edge adds its own.
    async fn ask_origin(
        &self,
        origin: &U,
        kind: &reads::ReadKind,
        request: &EdgeRequest,
    ) -> EdgeResponse {
        let asked = EdgeRequest::get(&request.path_and_query());
        match origin.forward(asked).await {
            Ok(mut answer) => {
                const KEPT: [&str; 5] = [
                    "content-type",
                    "etag",
                    "cache-control",
                    "x-snapshot-version",
                    "retry-after",
                ];
                answer
                    .headers
                    .retain(|(name, _)| KEPT.contains(&name.as_str()));
                answer
            }
            Err(error) => kind.error(&ApiError::new(
                ErrorCode::Unavailable,
                format!("the search origin cannot be reached ({error}); retry in a moment"),
            )),
        }
    }

    /// An event image: the coordinator's answer, kept by its path alone (a stored file's
    /// name changes with its content, so it never goes stale); only found files no larger
    /// than [`MAX_CACHED_MEDIA_BYTES`] are kept, so made-up names cost no cache.
    async fn media(&self, path: &str) -> EdgeResponse {
        let key = format!("media:{path}");
        if let Some(hit) = self.cache.get(&key).await {
            return hit;
        }
        let response = self.forward(EdgeRequest::get(path)).await;
        if response.status == 200 && response.body.len() <= MAX_CACHED_MEDIA_BYTES {
            self.cache.put(&key, &response).await;
        }
        response
    }

    /// Sends a request the edge does not answer on to the coordinator, unless the
    /// waiting room's gate refuses it. A browser's page the coordinator does not know
    /// gets the HTML 404 page.
    async fn pass_on(
        &self,
        request: EdgeRequest,
        read: bool,
        snapshots: &impl SnapshotSource,
    ) -> EdgeResponse {
        if let Some(gate) = &self.gate
            && let Some(event_id) = gate::hold_event(&request)
        {
            // An event the edge cannot read goes on: the coordinator checks every hold.
            let event = match self.current() {
                Some(snapshot) => snapshots::with_blocks(&snapshot, snapshots, |snapshot| {
                    match snapshot.get(event_id) {
                        Err(onsale_indexer::Error::MissingBlocks(blocks)) => Err(blocks),
                        found => Ok(found.ok().flatten()),
                    }
                })
                .await
                .ok()
                .flatten(),
                None => None,
            };
            if let Some(refusal) = gate.refusal(&request, event_id, event.as_ref()) {
                return EdgeResponse::json_error(&refusal);
            }
        }
        let browser = read
            && request
                .header("accept")
                .is_some_and(|accept| accept.contains("text/html"));
        let response = self.forward(request).await;
        if browser && response.status == 404 {
            let error = ApiError::new(ErrorCode::NotFound, "There is no page at this address.");
            let mut page = EdgeResponse::html(404, pages::error_page(&error));
            security::protect(&mut page, &self.csp);
            return page;
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

/// Where event images are served (from the coordinator's media store, cached here).
const MEDIA_PREFIX: &str = "/media/images/";

/// The largest event image the edge keeps in its cache: every resized variant fits; an
/// original of several megabytes is passed on each time.
const MAX_CACHED_MEDIA_BYTES: usize = 2 * 1024 * 1024;

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
