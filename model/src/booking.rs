//! Bookings, payments and tickets.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Waiting for the payment's outcome; the seats stay held until the hold expires.
    Pending,
    /// Paid: the seats are sold and the tickets are valid.
    Completed,
    /// Ended without a sale (payment failed, or not confirmed in time); any charge is
    /// refunded.
    Cancelled,
}

/// Whether money taken for a cancelled booking has gone back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// A refund was asked of the payment provider.
    Requested,
    /// The provider confirmed the refund.
    Refunded,
}

/// `201` answer to `POST /v1/holds/{id}/checkout`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutResponse {
    /// The booking.
    pub booking_id: String,
    /// `pending` until the payment's outcome arrives.
    pub status: BookingStatus,
    /// Sum of the seat prices, in minor units (computed by the coordinator).
    pub total: u64,
    /// Currency of `total`.
    pub currency: String,
    /// Where the buyer pays (the provider's payment page), when the provider has one.
    pub payment_url: Option<String>,
    /// The provider's client secret, for paying in the page with the provider's script.
    pub client_secret: Option<String>,
}

/// A ticket: one seat of a completed booking, with a code a gate scanner verifies offline
/// against the public key at `GET /v1/tickets/public-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    /// The seat.
    pub seat_id: String,
    /// `base64url(payload) "." base64url(Ed25519 signature)`; the payload is
    /// `onsale-ticket:v1:{event_id}:{booking_id}:{seat_id}`.
    pub code: String,
    /// The code as a QR image (SVG).
    pub qr_svg: String,
}

/// `GET /v1/bookings/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Booking {
    /// The booking.
    pub booking_id: String,
    /// Where it stands.
    pub status: BookingStatus,
    /// The event.
    pub event_id: u64,
    /// The seats.
    pub seats: Vec<String>,
    /// Sum of the seat prices, in minor units.
    pub total: u64,
    /// Currency of `total`.
    pub currency: String,
    /// When it was made (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// Refund of a cancelled booking's charge, if there was one.
    pub refund: Option<RefundStatus>,
    /// One ticket per seat once completed.
    pub tickets: Vec<Ticket>,
}

/// `GET /v1/tickets/public-key`: what a gate scanner needs to check tickets offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketKey {
    /// `ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, base64url without padding.
    pub public_key: String,
}

/// A message for a user (`GET /v1/me/notifications`), also sent by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    /// The notification.
    pub id: String,
    /// `booking_completed` or `booking_cancelled`.
    pub kind: String,
    /// For a person.
    pub message: String,
    /// The booking it is about.
    pub booking_id: String,
    /// When (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
