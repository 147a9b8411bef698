//! The coordinator as services, composed in one place: [`Coordinator`] holds the events,
//! the accounts, the bookings, the waiting rooms, the live hub and the change log, each
//! with its own state, over one store, one clock and the deployment's secrets. It is
//! the state of the HTTP layer, cloned for every request: one `Arc` around them all, so a
//! clone is one counter, not one per service.

use std::sync::Arc;

use crate::accounts::Accounts;
use crate::auth::{PasswordPool, Secrets};
use crate::booking::Bookings;
use crate::changelog::ChangeLog;
use crate::clock::Clock;
use crate::error::Result;
use crate::events::Events;
use crate::notify::Notifications;
use crate::operators::Operators;
use crate::payments::PaymentProvider;
use crate::settings::Settings;
use crate::store::tables::SECRETS;
use crate::waiting_room::WaitingRooms;
use onsale_store::{Store, StoreExt};

/// The coordinator: its services over one store, one clock, the deployment's secrets and
/// the settings.
#[derive(Clone)]
pub struct Coordinator {
    services: Arc<Services>,
}

/// What a [`Coordinator`] holds.
#[derive(Clone)]
struct Services {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    settings: Arc<Settings>,
    /// Events and their seat maps.
    events: Events,
    /// Holds, checkout, payments, refunds.
    bookings: Bookings,
    /// The change log: appended in transactions, followed by the hub, the notifier and
    /// the task worker.
    changelog: Arc<ChangeLog>,
    /// Subscribers of the live seat feed.
    hub: Arc<crate::hub::Hub>,
    /// Taken seats by event, kept by the hub's follower, for best-available choices.
    seat_views: Arc<crate::seat_views::SeatViews>,
    /// Queues, admission, passes.
    rooms: WaitingRooms,
    /// Sign-up, log-in, tokens.
    accounts: Accounts,
    /// Operator accounts, API keys, who an operator call comes from.
    operators: Operators,
    /// Emails and in-app notifications.
    notifications: Notifications,
    /// Event images, when a media store is configured.
    media: Option<onsale_media::MediaStore>,
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
        let changelog = Arc::new(ChangeLog::new(store.clone()));
        let events = Events::new(store.clone(), clock.clone());
        let passwords = Arc::new(PasswordPool::new(settings.password_queue));
        let accounts = Accounts::new(
            store.clone(),
            clock.clone(),
            secrets.clone(),
            settings.clone(),
            passwords.clone(),
        );
        let operators = Operators::new(
            store.clone(),
            clock.clone(),
            secrets.clone(),
            settings.clone(),
            passwords,
        );
        let seat_views = Arc::new(crate::seat_views::SeatViews::default());
        let bookings = Bookings::new(
            store.clone(),
            clock.clone(),
            secrets.clone(),
            settings.clone(),
            changelog.clone(),
            events.clone(),
            seat_views.clone(),
        );
        bookings.index_event_bookings().await?;
        Ok(Coordinator::from(Services {
            notifications: Notifications::new(
                store.clone(),
                clock.clone(),
                changelog.clone(),
                accounts.clone(),
                bookings.clone(),
            ),
            bookings,
            changelog,
            accounts,
            operators,
            rooms: WaitingRooms::new(
                store.clone(),
                clock.clone(),
                secrets.clone(),
                events.clone(),
            ),
            events,
            store,
            clock,
            secrets,
            settings,
            hub: Arc::new(crate::hub::Hub::default()),
            seat_views,
            media: None,
        }))
    }

    /// Events and their seat maps.
    pub fn events(&self) -> &Events {
        &self.services.events
    }

    /// Holds, checkout, payments, refunds.
    pub fn bookings(&self) -> &Bookings {
        &self.services.bookings
    }

    /// Emails and in-app notifications.
    pub fn notifications(&self) -> &Notifications {
        &self.services.notifications
    }

    /// Sign-up, log-in, tokens.
    pub fn accounts(&self) -> &Accounts {
        &self.services.accounts
    }

    /// Operator accounts, API keys, who an operator call comes from.
    pub fn operators(&self) -> &Operators {
        &self.services.operators
    }

    /// The live seat feed's subscribers.
    pub fn hub(&self) -> &Arc<crate::hub::Hub> {
        &self.services.hub
    }

    /// Taken seats by event for best-available choices, kept by the hub's follower.
    pub fn seat_views(&self) -> &Arc<crate::seat_views::SeatViews> {
        &self.services.seat_views
    }

    /// The change log.
    pub fn changelog(&self) -> &Arc<ChangeLog> {
        &self.services.changelog
    }

    /// Takes payments through `provider`.
    pub fn with_payments(mut self, provider: Arc<dyn PaymentProvider>) -> Self {
        Arc::make_mut(&mut self.services)
            .bookings
            .set_payments(provider);
        self
    }

    /// Keeps event images in `media`.
    pub fn with_media(mut self, media: onsale_media::MediaStore) -> Self {
        Arc::make_mut(&mut self.services).media = Some(media);
        self
    }

    /// The media store, if one is configured.
    pub fn media(&self) -> Option<&onsale_media::MediaStore> {
        self.services.media.as_ref()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.services.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.services.clock
    }

    /// The deployment's secrets.
    pub fn secrets(&self) -> &Secrets {
        &self.services.secrets
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.services.settings
    }

    /// Queues, admission, passes.
    pub fn waiting_rooms(&self) -> &WaitingRooms {
        &self.services.rooms
    }
}

impl From<Services> for Coordinator {
    fn from(services: Services) -> Self {
        Coordinator {
            services: Arc::new(services),
        }
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
