//! The coordinator's settings, shared by its services.

use std::time::Duration;

/// Settings of the coordinator.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a hold keeps its seats.
    pub hold_ttl: Duration,
    /// How long a bearer token stays valid.
    pub session_ttl: Duration,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// The operator token; `None` keeps the one stored with the secrets.
    pub operator_token: Option<String>,
    /// Rate limits of the HTTP API, per client address and per account.
    pub rate_limits: onsale_limits::RateLimits,
    /// Whose `X-Onsale-Client-Ip` header is believed (trusted edges).
    pub client_address: onsale_limits::ClientAddressPolicy,
    /// When failed log-ins slow down and lock a username.
    pub login_lock: crate::login_lock::LoginLockSettings,
    /// Password hashes waiting for a hashing thread at most; past it, sign-ups and
    /// log-ins answer `503 busy` at once.
    pub password_queue: usize,
    /// Live seat feeds (WebSocket and SSE) open at once from one client address at most;
    /// past it, a new one answers `429 rate_limited`.
    pub live_feeds_per_address: usize,
    /// The site's address as buyers reach it (the edge's, `https://tickets.example.com`):
    /// where the provider's hosted payment page sends the buyer back to. Without it,
    /// payments are made with the provider's SDK (`client_secret`) only.
    pub site_url: Option<String>,
    /// Where browsers load event images from: the base URL the media store's names are
    /// appended to (`/media`, served by the coordinator and cached by the edge, or a CDN
    /// in front of the bucket).
    pub media_url: String,
}

/// The default of [`Settings::live_feeds_per_address`]: a household or an office behind
/// one address, each person with a few tabs, never meets it; a script opening thousands
/// of sockets does.
pub const DEFAULT_LIVE_FEEDS_PER_ADDRESS: usize = 64;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hold_ttl: Duration::from_secs(10 * 60),
            session_ttl: Duration::from_secs(24 * 60 * 60),
            idempotency_ttl: Duration::from_secs(24 * 60 * 60),
            operator_token: None,
            rate_limits: onsale_limits::RateLimits::default(),
            client_address: onsale_limits::ClientAddressPolicy::default(),
            login_lock: crate::login_lock::LoginLockSettings::default(),
            password_queue: crate::auth::DEFAULT_PASSWORD_QUEUE,
            live_feeds_per_address: DEFAULT_LIVE_FEEDS_PER_ADDRESS,
            site_url: None,
            media_url: "/media".to_string(),
        }
    }
}
