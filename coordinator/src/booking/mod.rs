//! The booking logic, written once against [`onsale_store::Store`]: events and seat maps,
//! users and sessions, holds and their expiry. Every state change appends to the change
//! log in the same transaction.
//!
//! [`Coordinator`] is cheap to clone (everything is behind `Arc`s) and is the state of the
//! HTTP layer.

mod best;
mod checkout;
mod events;
mod holds;
pub(crate) mod limits;
pub mod records;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::accounts::Accounts;
use crate::auth::Secrets;
use crate::changelog::ChangeLog;
use crate::clock::Clock;
use crate::error::Result;
use crate::payments::PaymentProvider;
use crate::store::tables::SECRETS;
use onsale_store::{Store, StoreExt};

pub(crate) use events::set_waiting_room_flag;
pub use holds::{PlacedHold, SweepReport};

/// Settings of the booking logic.
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
        }
    }
}

/// Seat maps never change after their event is created, so they are cached without
/// invalidation. Bounded by a crude clear-all, which only costs a re-read.
const SEAT_MAP_CACHE_LIMIT: usize = 256;

/// The coordinator's state: the store, the clock, the secrets and the settings.
#[derive(Clone)]
pub struct Coordinator {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    settings: Arc<Settings>,
    /// Compiled seat maps by event id; a std mutex, never held across `.await`.
    seat_maps: Arc<Mutex<HashMap<u64, Arc<records::PricedSeatMap>>>>,
    /// Recently read taken seats of sections, for best-available choices.
    taken_views: Arc<best::TakenViews>,
    /// The payment provider; without one, checkout answers `payment_unavailable`.
    payments: Option<Arc<dyn PaymentProvider>>,
    /// The change log: appended in transactions, followed by the hub, the notifier and
    /// the task worker.
    changelog: Arc<ChangeLog>,
    /// Subscribers of the live seat feed.
    hub: Arc<crate::hub::Hub>,
    /// What this coordinator keeps in memory about waiting rooms (the queues are in the
    /// store).
    rooms: Arc<crate::waiting_room::Rooms>,
    /// Sign-up, log-in, tokens.
    accounts: Accounts,
}

impl Coordinator {
    /// Opens the coordinator on a store, loading the deployment's secrets from it (and
    /// creating them on first start).
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Result<Self> {
        let mut secrets = load_or_create_secrets(&*store).await?;
        if let Some(token) = &settings.operator_token {
            secrets.operator_token = token.clone();
        }
        let secrets = Arc::new(secrets);
        let settings = Arc::new(settings);
        Ok(Coordinator {
            changelog: Arc::new(ChangeLog::new(store.clone())),
            accounts: Accounts::new(
                store.clone(),
                clock.clone(),
                secrets.clone(),
                settings.clone(),
            ),
            store,
            clock,
            secrets,
            settings,
            seat_maps: Arc::new(Mutex::new(HashMap::new())),
            taken_views: Arc::default(),
            payments: None,
            hub: Arc::new(crate::hub::Hub::default()),
            rooms: Arc::new(crate::waiting_room::Rooms::default()),
        })
    }

    /// Sign-up, log-in, tokens.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The live seat feed's subscribers.
    pub fn hub(&self) -> &crate::hub::Hub {
        &self.hub
    }

    /// The change log.
    pub fn changelog(&self) -> &ChangeLog {
        &self.changelog
    }

    /// Takes payments through `provider`.
    pub fn with_payments(mut self, provider: Arc<dyn PaymentProvider>) -> Self {
        self.payments = Some(provider);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The deployment's secrets.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The waiting rooms' in-memory state.
    pub(crate) fn rooms(&self) -> &crate::waiting_room::Rooms {
        &self.rooms
    }
}

async fn load_or_create_secrets(store: &dyn Store) -> Result<Secrets> {
    store
        .transact(|tx| async move {
            // Sealed values do not decode: look at the bytes first, to say why.
            let stored = tx.get(&SECRETS.key()).await?;
            if stored.is_some_and(|bytes| onsale_store::sealed::is_sealed(&bytes)) {
                return Err(onsale_store::StoreError::backend(
                    "seal",
                    "the store's values are sealed: start with its --seal-key (ONSALE_SEAL_KEY)",
                )
                .into());
            }
            if let Some(mut secrets) = SECRETS.get(&tx).await? {
                if secrets.complete() {
                    SECRETS.set(&tx, &secrets)?;
                }
                return Ok(secrets);
            }
            let secrets = Secrets::generate();
            SECRETS.set(&tx, &secrets)?;
            Ok::<_, crate::error::Error>(secrets)
        })
        .await
}
