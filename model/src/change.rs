//! Entries of the coordinator's change log: what consumers (live seat maps, the
//! indexer, notifications) learn about every committed state change.

use serde::{Deserialize, Serialize};

use crate::event::SeatStatus;

/// One committed state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// An event was created.
    EventCreated {
        /// The event.
        event_id: u64,
    },
    /// An event's details changed.
    EventUpdated {
        /// The event.
        event_id: u64,
    },
    /// A seat changed state.
    Seat {
        /// The event.
        event_id: u64,
        /// The seat.
        seat_id: String,
        /// Its new state.
        state: SeatStatus,
    },
    /// A hold was placed.
    HoldPlaced {
        /// The hold.
        hold_id: String,
        /// The event.
        event_id: u64,
        /// Its seats.
        seats: Vec<String>,
    },
    /// A hold ended without a sale.
    HoldReleased {
        /// The hold.
        hold_id: String,
        /// The event.
        event_id: u64,
        /// Why: `released` by its owner or `expired`.
        reason: ReleaseReason,
    },
    /// A hold was checked out into a pending booking.
    BookingCreated {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// The event.
        event_id: u64,
    },
    /// A booking was paid; its seats are sold.
    BookingCompleted {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// The event.
        event_id: u64,
    },
    /// A booking ended without a sale.
    BookingCancelled {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
        /// Why, for a person.
        reason: String,
    },
    /// The provider confirmed the refund of a cancelled booking's charge.
    BookingRefunded {
        /// The booking.
        booking_id: String,
        /// Its buyer.
        user_id: String,
    },
    /// A user signed up.
    UserCreated {
        /// The user.
        user_id: String,
    },
}

/// Why a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// Its owner released it.
    Released,
    /// Its time ran out.
    Expired,
}

/// `GET /v1/operator/catalogue`: every event, and the change-log position they are
/// current at; reading the log after that position gives every later change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalogue {
    /// Position of the newest change-log entry included (absent for an empty log).
    pub position: Option<String>,
    /// Every event, in id order.
    pub events: Vec<crate::event::Event>,
}

/// One entry of `GET /v1/changes`: a change and its position in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogEntry {
    /// Opaque, ordered position; pass it back as `after` to read on.
    pub position: String,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}
