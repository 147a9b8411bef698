//! Commands, flags and the code that starts each part.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use onsale_coordinator::clock::SystemClock;
use onsale_coordinator::notify::Mailer;
use onsale_coordinator::payments::stripe::StripeProvider;
use onsale_coordinator::store::tables::EVENT_COUNT;
use onsale_coordinator::{Coordinator, RunConfig, Settings};
use onsale_dev::{demo, sandbox};
use onsale_indexer::follower::{self, IndexerConfig};
use onsale_indexer::serve::snapshot_router;
use onsale_model::{Actor, NewEvent, NewOperator, OperatorCreated, OperatorView, Role};
use onsale_store::sealed::{SealKey, SealedStore, Sealer};
use onsale_store::{RetryPolicy, Store, StoreExt};

use onsale_edge_native::{
    HttpUpstream, MemoryCache, SnapshotLocation, native_edge, spawn_refresh, unix_millis,
};
use onsale_pass::QueueKey;
use tokio_util::sync::CancellationToken;

use crate::duration::parse_duration;
use crate::limit_flags::{self, LimitFlags, LoginFlags};
use crate::loadgen;
use crate::serving::{ConnectionFlags, TlsFlags};

/// onsale: ticket booking that never sells a seat twice.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the platform (coordinator, indexer and edge in one process) on an embedded
    /// store with demo data; the site is the edge's URL.
    Dev {
        /// Address of the edge: the site a person opens.
        #[arg(long, env = "ONSALE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Address of the coordinator (port 0 picks a free one).
        #[arg(long, env = "ONSALE_COORDINATOR_LISTEN", default_value = "127.0.0.1:0")]
        coordinator_listen: SocketAddr,
        /// Address of the sandbox payment provider (port 0 picks a free one; a fixed
        /// port keeps payment links working across restarts).
        #[arg(long, env = "ONSALE_SANDBOX_LISTEN", default_value = "127.0.0.1:0")]
        sandbox_listen: SocketAddr,
        /// Folder for the embedded store and its secrets.
        #[arg(long, env = "ONSALE_DATA", default_value = "onsale-data")]
        data: PathBuf,
        #[command(flatten)]
        booking: BookingFlags,
        #[command(flatten)]
        limits: LimitFlags,
        #[command(flatten)]
        login: LoginFlags,
        #[command(flatten)]
        connections: ConnectionFlags,
    },
    /// Run the coordinator on a store.
    Coordinator {
        /// Store address: fjall:PATH, postgres://USER@HOST:PORT/DB, or (feature fdb)
        /// fdb:CLUSTER_FILE.
        #[arg(long, env = "ONSALE_STORE")]
        store: String,
        /// Address to serve on (port 0 picks a free port; the URL is printed).
        #[arg(long, env = "ONSALE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        booking: BookingFlags,
        #[command(flatten)]
        limits: LimitFlags,
        #[command(flatten)]
        login: LoginFlags,
        #[command(flatten)]
        connections: ConnectionFlags,
        #[command(flatten)]
        tls: TlsFlags,
    },
    /// Follow a coordinator's change log and publish catalogue snapshots to a folder.
    Index {
        /// The coordinator.
        #[arg(
            long,
            env = "ONSALE_COORDINATOR",
            default_value = "http://127.0.0.1:8080"
        )]
        coordinator: String,
        /// Operator token of the coordinator.
        #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
        operator_token: String,
        /// Folder to publish into (`snapshots/{version}.snap` and `latest`).
        #[arg(long, env = "ONSALE_SNAPSHOTS_DIR", default_value = "onsale-snapshots")]
        out: PathBuf,
        /// A region to publish beside the whole catalogue, under `regions/{name}/`:
        /// `name=City,City` (cities in any case), or `name=*` for every city no other
        /// region names. Repeat for each region; an edge started with `--region name`
        /// holds that region's snapshot.
        #[arg(long = "region", value_name = "NAME=CITIES")]
        regions: Vec<onsale_indexer::Region>,
        /// Also serve the folder over HTTP on this address, for edges that fetch by URL.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// How often to poll the change log.
        #[arg(long, default_value = "500ms", value_parser = parse_duration)]
        poll: Duration,
        #[command(flatten)]
        connections: ConnectionFlags,
        #[command(flatten)]
        tls: TlsFlags,
    },
    /// Run the edge: pages, search and the API's reads from the newest snapshot, writes
    /// forwarded to the coordinator.
    Edge {
        /// The coordinator writes are forwarded to.
        #[arg(long, env = "ONSALE_COORDINATOR")]
        coordinator: String,
        /// Where snapshots are published: a folder or an http(s) base URL.
        #[arg(long, env = "ONSALE_SNAPSHOTS")]
        snapshots: String,
        /// Address to serve on.
        #[arg(long, env = "ONSALE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Bytes of responses the cache keeps (least recently used ones go first).
        #[arg(long, env = "ONSALE_CACHE_BYTES", default_value_t = DEFAULT_CACHE_BYTES)]
        cache_bytes: u64,
        /// Bytes of event-document blocks the edge keeps, on top of the snapshot's head
        /// (blocks are read from the snapshots as answers need them).
        #[arg(long, env = "ONSALE_DOCUMENT_CACHE_BYTES", default_value_t = DEFAULT_DOCUMENT_CACHE_BYTES)]
        document_cache_bytes: usize,
        /// The region whose snapshots this edge follows (`onsale index --region`): its
        /// pages list and search that region first. Without it, the edge follows every
        /// event's.
        #[arg(long, env = "ONSALE_REGION")]
        region: Option<String>,
        /// Bytes of other regions' snapshots (or every event's) the edge keeps once reads
        /// have asked for them.
        #[arg(long, env = "ONSALE_OTHER_SNAPSHOT_BYTES", default_value_t = DEFAULT_OTHER_SNAPSHOT_BYTES)]
        other_snapshot_bytes: usize,
        /// An edge of every event (`onsale edge` without `--region`) that answers this
        /// edge's reads of other regions and of every event, instead of this edge opening
        /// those snapshots.
        #[arg(long, env = "ONSALE_SEARCH_ORIGIN")]
        search_origin: Option<String>,
        /// How often to look for a new snapshot.
        #[arg(long, default_value = "500ms", value_parser = parse_duration)]
        refresh: Duration,
        /// The coordinators' queue key (`GET /v1/operator/queue-key`): with it, the edge
        /// checks waiting-room passes on holds itself. Without it, the coordinator does.
        /// (A base64url key may start with `-`.)
        #[arg(long, env = "ONSALE_QUEUE_KEY", value_parser = parse_queue_key, allow_hyphen_values = true)]
        queue_key: Option<QueueKey>,
        /// The coordinator's base URL as browsers reach it: event pages open the live
        /// seat feed (WebSocket) and the queue page its position feed there. Without it,
        /// pages open them on this edge, which streams them through to the coordinator.
        #[arg(long, env = "ONSALE_LIVE_URL")]
        live_url: Option<String>,
        #[command(flatten)]
        limits: LimitFlags,
        #[command(flatten)]
        connections: ConnectionFlags,
        #[command(flatten)]
        tls: TlsFlags,
    },
    /// Run the sandbox payment provider alone (a Stripe-shaped API and a payment page)
    /// for a coordinator started with `--stripe-api-base` pointing here.
    SandboxPay {
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// The coordinator's webhook URL, e.g. http://127.0.0.1:8081/v1/payments/webhook.
        #[arg(long)]
        webhook: String,
        /// The secret webhooks are signed with (the coordinator's
        /// `--stripe-webhook-secret`).
        #[arg(long, env = "ONSALE_STRIPE_WEBHOOK_SECRET")]
        webhook_secret: String,
        #[command(flatten)]
        connections: ConnectionFlags,
    },
    /// Import events (a JSON array of events with seat maps) into a store or through a
    /// running coordinator's operator API.
    Import {
        /// The JSON file.
        file: PathBuf,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Operator accounts: add one (it gets a one-time password, printed once) or list
    /// them.
    Operator {
        #[command(subcommand)]
        action: OperatorAction,
    },
    /// Print a new random key for `--seal-key` (values sealed at rest).
    SealKey,
    /// Load generators that print a table.
    Loadgen {
        #[command(subcommand)]
        scenario: loadgen::Scenario,
    },
}

/// Where an administrative command acts: a store directly, or a running coordinator's
/// operator API.
#[derive(Debug, clap::Args)]
struct AdminTarget {
    /// Store address to write to directly (the coordinator must not be running on an
    /// embedded store).
    #[arg(long, env = "ONSALE_STORE", conflicts_with = "url")]
    store: Option<String>,
    /// A running coordinator to call.
    #[arg(long)]
    url: Option<String>,
    /// An admin's token for `--url`: the operator token or an API key.
    #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
    operator_token: Option<String>,
    #[command(flatten)]
    seal: SealFlags,
}

/// Where an administrative command acts, resolved.
enum Admin {
    /// A coordinator opened on the store, in this process.
    Store(Box<Coordinator>),
    /// A running coordinator's URL and an admin's token.
    Api { url: String, token: String },
}

impl AdminTarget {
    async fn open(self) -> anyhow::Result<Admin> {
        match (self.store, self.url) {
            (Some(store), None) => Ok(Admin::Store(Box::new(
                open_for_admin(&store, self.seal).await?,
            ))),
            (None, Some(url)) => Ok(Admin::Api {
                url: url.trim_end_matches('/').to_string(),
                token: self
                    .operator_token
                    .context("--url needs --operator-token (or ONSALE_OPERATOR_TOKEN)")?,
            }),
            _ => bail!("say where: --store ADDRESS or --url URL"),
        }
    }
}

/// `onsale operator ...`.
#[derive(Debug, Subcommand)]
enum OperatorAction {
    /// Add an operator account; prints its one-time password, which the first sign-in
    /// must replace.
    Add {
        /// The operator's name (letters, digits, `_`, `.`, `-`, `@`).
        name: String,
        /// `admin` (everything) or `staff` (check-in and read-only sales).
        #[arg(long, default_value = "admin")]
        role: Role,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// List the operator accounts.
    List {
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// The edge's response cache by default: 64 MiB.
const DEFAULT_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// Event-document blocks a native edge keeps by default: a machine has the memory.
const DEFAULT_DOCUMENT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Bytes of other regions' snapshots a native edge keeps: every event's head at a million
/// events (about 70 MB) and a few regions'.
const DEFAULT_OTHER_SNAPSHOT_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, clap::Args)]
struct BookingFlags {
    /// How long a hold keeps its seats (e.g. 10m, 30s, 500ms).
    #[arg(long, env = "ONSALE_HOLD_TTL", default_value = "10m", value_parser = parse_duration)]
    hold_ttl: Duration,
    /// How often expired holds are swept.
    #[arg(long, env = "ONSALE_SWEEP_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    sweep_interval: Duration,
    /// Operator token (default: the one generated and kept in the store).
    #[arg(long, env = "ONSALE_OPERATOR_TOKEN")]
    operator_token: Option<String>,
    /// Payment provider API (Stripe's, or a sandbox's started with `onsale sandbox-pay`).
    #[arg(
        long,
        env = "ONSALE_STRIPE_API_BASE",
        default_value = "https://api.stripe.com"
    )]
    stripe_api_base: String,
    /// The provider's secret API key; with the webhook secret, turns payments on.
    #[arg(long, env = "ONSALE_STRIPE_SECRET_KEY")]
    stripe_secret_key: Option<String>,
    /// The secret webhooks are signed with (`Stripe-Signature`).
    #[arg(long, env = "ONSALE_STRIPE_WEBHOOK_SECRET")]
    stripe_webhook_secret: Option<String>,
    /// Run the sandbox payment provider on this address and take payments through it
    /// (`onsale dev` always does).
    #[arg(long, env = "ONSALE_PAYMENTS_SANDBOX")]
    payments_sandbox: Option<SocketAddr>,
    /// SMTP server for notification emails: `smtp://host:port` (no TLS),
    /// `smtp://user:pass@host?tls=required` (STARTTLS) or `smtps://user:pass@host`.
    /// Without it, notifications are in-app only.
    #[arg(long, env = "ONSALE_SMTP_URL")]
    smtp_url: Option<String>,
    /// The site's address as buyers reach it (the edge's), e.g.
    /// `https://tickets.example.com`: notification emails link bookings on it, and with it
    /// buyers pay on the provider's hosted page (a Stripe Checkout Session), which sends
    /// them back to their booking there. `onsale dev` uses its `--listen`.
    #[arg(long, env = "ONSALE_SITE_URL")]
    site_url: Option<String>,
    /// Where event images are kept: a folder, or `s3://bucket/prefix` on S3 or any
    /// S3-compatible store, with the usual AWS_* settings from the environment
    /// (AWS_ENDPOINT_URL for another store). By default, on a `fjall:PATH` store, the
    /// folder `media` beside `PATH` (`onsale dev`: `DATA/media`); on a shared store
    /// (PostgreSQL, FoundationDB) none, since every coordinator must see the same images:
    /// uploads then answer `503` until one is given.
    #[arg(long, env = "ONSALE_MEDIA")]
    media: Option<String>,
    /// Where browsers load event images from: `/media` (the coordinator serves them and
    /// the edge caches them) or a CDN's URL in front of the bucket.
    #[arg(long, env = "ONSALE_MEDIA_URL", default_value = "/media")]
    media_url: String,
    /// Sender of notification emails.
    #[arg(
        long,
        env = "ONSALE_MAIL_FROM",
        default_value = "onsale <tickets@onsale.invalid>"
    )]
    mail_from: String,
    /// Run the task worker (payment outcomes, refunds); `false` leaves queued tasks for
    /// another coordinator or a later start.
    #[arg(long, env = "ONSALE_TASK_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    task_worker: bool,
    /// Also serve `/metrics` on this address, without the operator token (keep it
    /// private). On the API's address `/metrics` always needs the operator token.
    #[arg(long, env = "ONSALE_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    seal: SealFlags,
}

/// Values sealed at rest (`onsale_store::sealed`).
#[derive(Debug, Clone, Default, clap::Args)]
struct SealFlags {
    /// Seal (encrypt) every value written to the store with this key: 32 bytes as 64 hex
    /// digits or 43 base64url characters (`onsale seal-key` makes one). Every coordinator
    /// on a store needs the same key. Without it, values are stored as they are.
    #[arg(long, env = "ONSALE_SEAL_KEY", value_parser = parse_seal_key,
        allow_hyphen_values = true, hide_env_values = true)]
    seal_key: Option<SealKey>,
    /// An earlier seal key that still opens the values sealed with it (for rotation:
    /// new key as `--seal-key`, old ones here; repeat, or separate with commas).
    #[arg(long = "seal-previous-key", env = "ONSALE_SEAL_PREVIOUS_KEYS", value_delimiter = ',',
        value_parser = parse_seal_key, allow_hyphen_values = true, hide_env_values = true)]
    seal_previous_keys: Vec<SealKey>,
}

impl SealFlags {
    /// `store`, sealed if a key was given.
    fn wrap(&self, store: Arc<dyn Store>) -> anyhow::Result<Arc<dyn Store>> {
        match &self.seal_key {
            Some(key) => Ok(Arc::new(SealedStore::new(
                store,
                Sealer::new(key.clone(), self.seal_previous_keys.clone()),
            ))),
            None if self.seal_previous_keys.is_empty() => Ok(store),
            None => anyhow::bail!("--seal-previous-key needs a current --seal-key"),
        }
    }
}

/// Parses a seal key: 64 hex digits or 43 base64url characters.
fn parse_seal_key(text: &str) -> Result<SealKey, String> {
    onsale_pass::parse_key_bytes(text)
        .map(SealKey::new)
        .map_err(|_| {
            "a seal key is 32 bytes: 64 hex digits or 43 characters of base64url".to_string()
        })
}

/// Parses a queue key: 64 hex digits or 43 base64url characters.
fn parse_queue_key(text: &str) -> Result<QueueKey, String> {
    QueueKey::parse(text).map_err(|e| e.to_string())
}

/// Runs a command to completion.
pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Dev {
            listen,
            coordinator_listen,
            sandbox_listen,
            data,
            booking,
            limits,
            login,
            connections,
        } => {
            dev(
                DevAddresses {
                    edge: listen,
                    coordinator: coordinator_listen,
                    sandbox: sandbox_listen,
                },
                &data,
                &booking,
                &limits,
                &login,
                &connections,
            )
            .await
        }
        Command::Index {
            coordinator,
            operator_token,
            out,
            regions,
            listen,
            poll,
            connections,
            tls,
        } => {
            if let Some(listen) = listen {
                let settings = tls.settings("index", &connections)?;
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("binding {listen}"))?;
                println!(
                    "onsale index serving snapshots on {}://{}",
                    settings.scheme(),
                    listener.local_addr()?
                );
                let router = snapshot_router(out.clone());
                tokio::spawn(onsale_server::serve(
                    listener,
                    router,
                    settings,
                    std::future::pending(),
                ));
            }
            let regions = onsale_indexer::Regions::new(regions)?;
            follower::run(IndexerConfig {
                coordinator,
                operator_token,
                out,
                poll,
                regions,
            })
            .await
        }
        Command::Edge {
            coordinator,
            snapshots,
            listen,
            cache_bytes,
            document_cache_bytes,
            region,
            other_snapshot_bytes,
            search_origin,
            refresh,
            queue_key,
            live_url,
            limits,
            connections,
            tls,
        } => {
            let settings = tls.settings("edge", &connections)?;
            let mut edge = native_edge(
                MemoryCache::new(cache_bytes),
                HttpUpstream::new(&coordinator),
            )
            .with_document_budget(document_cache_bytes)
            .with_other_snapshot_budget(other_snapshot_bytes);
            if let Some(region) = region {
                edge = edge
                    .with_region(&region)
                    .map_err(|e| anyhow::anyhow!(e.message))?;
            }
            if let Some(origin) = search_origin {
                edge = edge.with_search_origin(HttpUpstream::new(&origin));
            }
            if let Some(key) = queue_key {
                edge = edge.with_queue_key(key, unix_millis);
            }
            if let Some(url) = live_url {
                edge = edge.with_live_url(&url);
            }
            let edge = Arc::new(edge);
            let source = SnapshotLocation::parse(&snapshots);
            let refresher = spawn_refresh(edge.clone(), source.clone(), refresh);
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            println!(
                "onsale edge listening on {}://{}",
                settings.scheme(),
                listener.local_addr()?
            );
            let guard = onsale_edge_native::client_guard(
                &limits.rate_limits(),
                limits.client_address(None),
            );
            let result = onsale_edge_native::serve(
                listener,
                edge,
                source,
                guard,
                settings,
                shutdown_signal(),
            )
            .await;
            refresher.abort();
            result.context("serving HTTP")
        }
        Command::Coordinator {
            store,
            listen,
            booking,
            limits,
            login,
            connections,
            tls,
        } => {
            let settings = tls.settings("coordinator", &connections)?;
            let guard = |settings| limit_flags::guarded(settings, &limits, &login, None);
            let launched = launch(&store, listen, &booking, guard, &settings, None).await?;
            println!("onsale coordinator listening on {}", launched.url);
            if let Some(sandbox) = &launched.sandbox_url {
                println!("sandbox payments on {sandbox}");
            }
            launched.run(settings, shutdown_signal()).await
        }
        Command::SandboxPay {
            listen,
            webhook,
            webhook_secret,
            connections,
        } => {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("onsale sandbox payments on {url}");
            let sandbox = sandbox::Sandbox::new(&url, &webhook, &webhook_secret);
            onsale_server::serve(
                listener,
                sandbox::router(sandbox),
                connections.plain("sandbox"),
                shutdown_signal(),
            )
            .await
            .context("serving HTTP")
        }
        Command::Import { file, target } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let events: Vec<NewEvent> = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON array of events", file.display()))?;
            match target.open().await? {
                Admin::Store(coordinator) => import_into_store(&coordinator, events).await,
                Admin::Api { url, token } => import_over_http(&url, &token, events).await,
            }
        }
        Command::Operator { action } => operator(action).await,
        Command::SealKey => {
            println!("{}", SealKey::generate());
            Ok(())
        }
        Command::Loadgen { scenario } => loadgen::run(scenario).await,
    }
}

/// Where `onsale dev` serves its parts.
struct DevAddresses {
    /// The edge: the site a person opens.
    edge: SocketAddr,
    /// The coordinator's API.
    coordinator: SocketAddr,
    /// The sandbox payment provider.
    sandbox: SocketAddr,
}

/// Coordinator, indexer and edge in one process; the edge's URL is the site. On Ctrl-C
/// or SIGTERM the edge stops first, then the indexer, then the coordinator (which stops
/// its workers in order), then the sandbox.
async fn dev(
    addresses: DevAddresses,
    data: &std::path::Path,
    booking: &BookingFlags,
    limits: &LimitFlags,
    login: &LoginFlags,
    connections: &ConnectionFlags,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
    let address = format!("fjall:{}", data.join("store").display());
    // The edge tells the coordinator its clients' addresses with a secret made up here,
    // unless one is given.
    let edge_secret = limits
        .edge_secret()
        .map_or_else(|| format!("dev-{}", uuid_hex()), str::to_string);
    let guard = |settings| limit_flags::guarded(settings, limits, login, Some(&edge_secret));
    let server = connections.plain("coordinator");
    // Bound first, so that its address is known when it is port 0.
    let listen = addresses.edge;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let site = listener.local_addr()?;
    // Emails and the payment page link bookings on the site, which is the edge here.
    let mut booking = booking.clone();
    if booking.site_url.is_none() {
        booking.site_url = Some(format!("http://{site}"));
    }
    if booking.media.is_none() {
        booking.media = Some(data.join("media").display().to_string());
    }
    let launched = launch(
        &address,
        addresses.coordinator,
        &booking,
        guard,
        &server,
        Some(addresses.sandbox),
    )
    .await?;
    seed_demo(&launched.coordinator).await?;
    let operator_token = launched.coordinator.secrets().operator_token.clone();
    let queue_key = launched.coordinator.secrets().queue_key();
    let coordinator_url = launched.url.clone();
    let sandbox_url = launched.sandbox_url.clone().unwrap_or_default();
    let stop_coordinator = CancellationToken::new();
    let api = tokio::spawn(launched.run(server, stop_coordinator.clone().cancelled_owned()));

    let snapshots = data.join("snapshots");
    let indexer = tokio::spawn(follower::run(IndexerConfig {
        coordinator: coordinator_url.clone(),
        operator_token: operator_token.clone(),
        out: snapshots.clone(),
        poll: Duration::from_millis(200),
        regions: Default::default(),
    }));

    let edge = Arc::new(
        native_edge(
            MemoryCache::new(DEFAULT_CACHE_BYTES),
            HttpUpstream::new(&coordinator_url),
        )
        .with_queue_key(queue_key, unix_millis),
    );
    let source = SnapshotLocation::Dir(snapshots);
    let refresher = spawn_refresh(edge.clone(), source.clone(), Duration::from_millis(200));
    println!("onsale dev: open http://{site}");
    println!("coordinator (API, writes): {coordinator_url}");
    println!("sandbox payments: {sandbox_url}");
    println!("operator token: {operator_token}");
    println!(
        "operator console: {coordinator_url}/operator (accounts: onsale operator add NAME --url {coordinator_url})"
    );
    let guard = onsale_edge_native::client_guard(
        &limits.rate_limits(),
        limits.client_address(Some(&edge_secret)),
    );
    let served = onsale_edge_native::serve(
        listener,
        edge,
        source,
        guard,
        connections.plain("edge"),
        shutdown_signal(),
    )
    .await;
    // Reading snapshots and following the log are pure reads: nothing to finish.
    refresher.abort();
    indexer.abort();
    stop_coordinator.cancel();
    api.await.context("the coordinator's task")??;
    served.context("serving HTTP")
}

/// Opens the coordinator on `address`; `guard` adds the settings of rate limits and
/// log-in safety to those of `flags`.
async fn start_coordinator(
    address: &str,
    flags: &BookingFlags,
    guard: impl FnOnce(Settings) -> Settings,
) -> anyhow::Result<Coordinator> {
    let store = onsale_store::open(address, RetryPolicy::default())
        .await
        .with_context(|| format!("opening store {address}"))?;
    let store = flags.seal.wrap(store)?;
    let settings = guard(Settings {
        hold_ttl: flags.hold_ttl,
        operator_token: flags.operator_token.clone(),
        site_url: flags.site_url.clone(),
        media_url: flags.media_url.clone(),
        ..Settings::default()
    });
    Ok(Coordinator::new(store, Arc::new(SystemClock), settings).await?)
}

async fn seed_demo(coordinator: &Coordinator) -> anyhow::Result<()> {
    let existing = coordinator
        .store()
        .transact(|tx| async move { EVENT_COUNT.get(&tx).await })
        .await?;
    if existing.unwrap_or(0) > 0 {
        return Ok(());
    }
    let events = demo::catalogue(300);
    let count = events.len();
    for event in events {
        coordinator
            .events()
            .create_event(event, &Actor::command_line())
            .await?;
    }
    tracing::info!(events = count, "demo catalogue loaded");
    Ok(())
}

/// A coordinator opened on its store and bound to its port, with its payment provider
/// (and the sandbox's server, if it is the sandbox) and the rest of its run's settings.
struct Launched {
    coordinator: Coordinator,
    listener: tokio::net::TcpListener,
    url: String,
    sandbox: Option<Sandboxed>,
    sandbox_url: Option<String>,
    config: RunConfig,
}

/// The sandbox payment provider on its own listener.
struct Sandboxed {
    listener: tokio::net::TcpListener,
    sandbox: Arc<sandbox::Sandbox>,
}

impl Launched {
    /// Runs the coordinator (and the sandbox) until `shutdown`.
    async fn run(
        mut self,
        server: onsale_server::Settings,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.config.server = server;
        let stop_sandbox = CancellationToken::new();
        let sandbox = self.sandbox.map(|Sandboxed { listener, sandbox }| {
            let settings = onsale_server::Settings {
                name: "sandbox",
                limits: self.config.server.limits,
                tls: None,
            };
            tokio::spawn(onsale_server::serve(
                listener,
                sandbox::router(sandbox),
                settings,
                stop_sandbox.clone().cancelled_owned(),
            ))
        });
        let result =
            onsale_coordinator::run(self.coordinator, self.config, self.listener, shutdown).await;
        stop_sandbox.cancel();
        if let Some(sandbox) = sandbox {
            sandbox.await.context("the sandbox's task")??;
        }
        result.context("serving HTTP")
    }
}

async fn launch(
    address: &str,
    listen: SocketAddr,
    flags: &BookingFlags,
    guard: impl FnOnce(Settings) -> Settings,
    settings: &onsale_server::Settings,
    sandbox: Option<SocketAddr>,
) -> anyhow::Result<Launched> {
    let mut coordinator = start_coordinator(address, flags, guard).await?;
    let beside_store = address.strip_prefix("fjall:").map(|path| {
        let path = std::path::Path::new(path);
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        folder.join("media").display().to_string()
    });
    match flags.media.clone().or(beside_store) {
        Some(location) => {
            let media = onsale_media::MediaStore::open(&location)
                .with_context(|| format!("opening the media store {location}"))?;
            tracing::info!(media = %media.describe(), "event images");
            coordinator = coordinator.with_media(media);
        }
        None => tracing::warn!("no media store (--media): image uploads answer 503"),
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let url = format!("{}://{}", settings.scheme(), listener.local_addr()?);
    let mut sandboxed = None;
    let mut sandbox_url = None;
    if let Some(sandbox_listen) = sandbox.or(flags.payments_sandbox) {
        let sandbox_listener = tokio::net::TcpListener::bind(sandbox_listen)
            .await
            .with_context(|| format!("binding {sandbox_listen}"))?;
        let base = format!("http://{}", sandbox_listener.local_addr()?);
        let secret = format!("whsec_sandbox_{}", uuid_hex());
        sandboxed = Some(Sandboxed {
            listener: sandbox_listener,
            sandbox: sandbox::Sandbox::new(&base, &format!("{url}/v1/payments/webhook"), &secret),
        });
        coordinator =
            coordinator.with_payments(Arc::new(StripeProvider::new(&base, "sk_sandbox", &secret)));
        sandbox_url = Some(base);
    } else if let (Some(key), Some(secret)) =
        (&flags.stripe_secret_key, &flags.stripe_webhook_secret)
    {
        coordinator = coordinator.with_payments(Arc::new(StripeProvider::new(
            &flags.stripe_api_base,
            key,
            secret,
        )));
    }
    let mut config = RunConfig::new(settings.clone());
    config.sweep_interval = flags.sweep_interval;
    config.task_worker = flags.task_worker;
    if let Some(smtp) = &flags.smtp_url {
        let mailer = Mailer::new(smtp, &flags.mail_from)?;
        config.mailer = Some(match &flags.site_url {
            Some(site) => mailer.with_site_url(site),
            None => mailer,
        });
    }
    if let Some(metrics_listen) = flags.metrics_listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_listen)
            .await
            .with_context(|| format!("binding {metrics_listen}"))?;
        tracing::info!(address = %metrics_listener.local_addr()?, "serving /metrics");
        config.metrics = Some(metrics_listener);
    }
    Ok(Launched {
        coordinator,
        listener,
        url,
        sandbox: sandboxed,
        sandbox_url,
        config,
    })
}

fn uuid_hex() -> String {
    use rand::Rng;
    format!("{:032x}", rand::rng().random::<u128>())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// A coordinator on `address` for an administrative command: no workers, no payments.
async fn open_for_admin(address: &str, seal: SealFlags) -> anyhow::Result<Coordinator> {
    start_coordinator(
        address,
        &BookingFlags {
            hold_ttl: Duration::from_secs(600),
            sweep_interval: Duration::from_secs(1),
            operator_token: None,
            stripe_api_base: String::new(),
            stripe_secret_key: None,
            stripe_webhook_secret: None,
            payments_sandbox: None,
            smtp_url: None,
            site_url: None,
            media: None,
            media_url: "/media".to_string(),
            mail_from: String::new(),
            task_worker: false,
            metrics_listen: None,
            seal,
        },
        |settings| settings,
    )
    .await
}

async fn import_into_store(coordinator: &Coordinator, events: Vec<NewEvent>) -> anyhow::Result<()> {
    let count = events.len();
    for (i, event) in events.into_iter().enumerate() {
        let created = coordinator
            .events()
            .create_event(event, &Actor::command_line())
            .await
            .with_context(|| format!("event #{i}"))?;
        println!("{}\t{}", created.id, created.name);
    }
    println!("imported {count} events");
    Ok(())
}

/// `onsale operator add|list`, on the store or through the API.
async fn operator(action: OperatorAction) -> anyhow::Result<()> {
    match action {
        OperatorAction::Add { name, role, target } => {
            let new = NewOperator { name, role };
            let created: OperatorCreated = match target.open().await? {
                Admin::Store(coordinator) => coordinator
                    .operators()
                    .add(new, &Actor::command_line())
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.to_api().message))?,
                Admin::Api { url, token } => {
                    call_api(
                        reqwest::Client::new()
                            .post(format!("{url}/v1/operator/operators"))
                            .bearer_auth(token)
                            .json(&new),
                    )
                    .await?
                }
            };
            println!(
                "operator {} ({}) added; one-time password: {}",
                created.operator.name,
                created.operator.role.as_str(),
                created.password
            );
            println!("the first sign-in at /operator must replace it");
        }
        OperatorAction::List { target } => {
            let operators: Vec<OperatorView> = match target.open().await? {
                Admin::Store(coordinator) => coordinator.operators().list().await?,
                Admin::Api { url, token } => {
                    call_api(
                        reqwest::Client::new()
                            .get(format!("{url}/v1/operator/operators"))
                            .bearer_auth(token),
                    )
                    .await?
                }
            };
            for operator in operators {
                println!(
                    "{}\t{}\t{}",
                    operator.name,
                    operator.role.as_str(),
                    operator.id
                );
            }
        }
    }
    Ok(())
}

/// Sends `request` and reads its JSON answer, or fails with the API's error message.
async fn call_api<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> anyhow::Result<T> {
    let response = request.send().await.context("calling the coordinator")?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "refused ({status}): {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    serde_json::from_value(body).context("reading the coordinator's answer")
}

async fn import_over_http(url: &str, token: &str, events: Vec<NewEvent>) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let count = events.len();
    for (i, event) in events.iter().enumerate() {
        let response = client
            .post(format!("{}/v1/operator/events", url.trim_end_matches('/')))
            .bearer_auth(token)
            .json(event)
            .send()
            .await
            .with_context(|| format!("posting event #{i}"))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("event #{i} refused ({status}): {body}");
        }
        println!(
            "{}\t{}",
            body["id"],
            body["name"].as_str().unwrap_or_default()
        );
    }
    println!("imported {count} events");
    Ok(())
}
