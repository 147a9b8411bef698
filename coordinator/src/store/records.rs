//! What the booking logic stores, as the values of the tables of [`crate::store::tables`].

use serde::{Deserialize, Serialize};

use onsale_model::{SeatMap, SeatMapSpec};

use crate::clock::Millis;

/// An event's seat map with the currency of its prices; both fixed once the event is
/// created, so it is cached without invalidation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredSeatMap {
    pub currency: String,
    #[serde(flatten)]
    pub spec: SeatMapSpec,
}

/// A [`StoredSeatMap`] compiled for lookups.
#[derive(Debug)]
pub(crate) struct PricedSeatMap {
    pub map: SeatMap,
    pub currency: String,
}

/// A seat's state; an absent record means the seat is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SeatRecord {
    /// Held until `expires_at` (after which it counts as available).
    Held {
        /// The hold.
        hold_id: String,
        /// Its holder.
        user_id: String,
        /// When it ends.
        expires_at: Millis,
    },
    /// Sold through a booking.
    Sold {
        /// The booking.
        booking_id: String,
    },
}

/// A live hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRecord {
    /// The hold's id.
    pub hold_id: String,
    /// The event its seats are of.
    pub event_id: u64,
    /// Its holder.
    pub user_id: String,
    /// The seat ids, as requested.
    pub seats: Vec<String>,
    /// The seats' positions in the seat map, in the order of `seats`.
    pub ordinals: Vec<u32>,
    /// When it was placed.
    pub created_at: Millis,
    /// When it ends unless checked out.
    pub expires_at: Millis,
    /// The seats' price, in minor units of `currency`.
    pub total: u64,
    /// The currency of `total`.
    pub currency: String,
    /// The booking this hold was checked out into, if any.
    #[serde(default)]
    pub booking_id: Option<String>,
}

/// A booking and its payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BookingRecord {
    pub booking_id: String,
    pub user_id: String,
    pub event_id: u64,
    pub hold_id: String,
    pub seats: Vec<String>,
    pub ordinals: Vec<u32>,
    pub total: u64,
    pub currency: String,
    pub status: onsale_model::BookingStatus,
    pub created_at: Millis,
    pub payment_id: Option<String>,
    pub payment_url: Option<String>,
    pub client_secret: Option<String>,
    pub cancel_reason: Option<String>,
    pub refund: Option<onsale_model::RefundStatus>,
    /// When it was paid (absent for bookings paid before this was kept: their
    /// `created_at` stands in).
    #[serde(default)]
    pub completed_at: Option<Millis>,
}

/// A unit of work in the durable task queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Task {
    /// Apply a payment's outcome to its booking.
    PaymentOutcome {
        booking_id: String,
        payment_id: String,
        succeeded: bool,
        /// What a successful payment paid, as its webhook said (absent: unknown, which
        /// sells nothing).
        #[serde(default)]
        paid: Option<crate::payments::Money>,
    },
    /// Ask the provider to refund a cancelled booking's charge.
    Refund { booking_id: String },
    /// Ask the provider to end the payment of a booking that ended unpaid, so that its
    /// page takes no money for seats that are gone.
    CancelPayment {
        booking_id: String,
        payment_id: String,
    },
}

/// A task as queued: what to do and how often it was tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TaskRecord {
    pub task_id: String,
    pub task: Task,
    pub attempts: u32,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    pub id: String,
    pub username: String,
    pub email: String,
    pub phone: String,
    pub password_hash: String,
    pub created_at: Millis,
}

/// The answer given to an idempotent request, returned again when its key is replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdempotencyRecord {
    /// Digest of the request, so a key reused for another request is refused.
    pub fingerprint: String,
    /// The id of what the request created.
    pub resource_id: String,
    pub created_at: Millis,
}

/// An operator account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OperatorRecord {
    pub id: String,
    /// Lower case; unique.
    pub name: String,
    pub role: onsale_model::Role,
    pub password_hash: String,
    pub created_at: Millis,
    /// The password is a one-time password: it must be changed before anything else.
    pub password_change_required: bool,
    /// Tokens of an older generation are refused; signing out moves to the next.
    pub generation: u64,
}

/// An API key; its secret is kept only as a keyed hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub role: onsale_model::Role,
    pub secret_digest: Vec<u8>,
    pub created_at: Millis,
    pub created_by: onsale_model::Actor,
    pub revoked_at: Option<Millis>,
}

/// One operator action (its time and id are its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    pub actor: onsale_model::Actor,
    pub action: String,
    pub target: String,
    pub detail: Option<String>,
}

/// A ticket admitted at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CheckInRecord {
    pub event_id: u64,
    pub at: Millis,
    pub by: onsale_model::Actor,
}
