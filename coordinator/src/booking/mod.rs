//! Bookings: holds (named seats or the best available), their release and expiry, the
//! seat limit per account, checkout, payment outcomes from the provider's webhooks (through
//! the durable task queue) and refunds, the tickets of a completed booking and their check-in at the door, and the
//! organiser's sales, orders and refunds. Every state
//! change appends to the change log in its transaction, and says after commit which
//! followers it concerns.
//!
//! [`Bookings`] is its own service: it owns the payment provider, and uses the events
//! service for seat maps and the views of taken seats ([`crate::seat_views`]) for
//! best-available choices.

mod best;
mod checkin;
mod checkout;
mod expiry;
mod holds;
pub(crate) mod limits;
mod orders;
pub(crate) mod tickets;

use std::sync::Arc;

use crate::auth::Secrets;
use crate::changelog::ChangeLog;
use crate::clock::Clock;
use crate::events::Events;
use crate::payments::PaymentProvider;
use crate::seat_views::SeatViews;
use crate::settings::Settings;
use onsale_store::Store;

pub use expiry::SweepReport;
pub use holds::PlacedHold;
pub use orders::MAX_SALES_MINUTES;

/// The bookings service; cheap to clone.
#[derive(Clone)]
pub struct Bookings {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    settings: Arc<Settings>,
    changelog: Arc<ChangeLog>,
    /// Events and their seat maps.
    events: Events,
    /// Taken seats by event, kept by the change log, for best-available choices.
    seat_views: Arc<SeatViews>,
    /// The payment provider; without one, checkout answers `payment_unavailable`.
    payments: Option<Arc<dyn PaymentProvider>>,
}

impl Bookings {
    /// The bookings of `store`, without a payment provider.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secrets: Arc<Secrets>,
        settings: Arc<Settings>,
        changelog: Arc<ChangeLog>,
        events: Events,
        seat_views: Arc<SeatViews>,
    ) -> Self {
        Bookings {
            store,
            clock,
            secrets,
            settings,
            changelog,
            events,
            seat_views,
            payments: None,
        }
    }

    /// The change log it appends to.
    pub(crate) fn changelog(&self) -> &ChangeLog {
        &self.changelog
    }

    /// Takes payments through `provider`.
    pub(crate) fn set_payments(&mut self, provider: Arc<dyn PaymentProvider>) {
        self.payments = Some(provider);
    }
}
