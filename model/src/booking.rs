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

/// How the buyer pays a booking: `?pay_with=` of `POST /v1/holds/{id}/checkout`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PayWith {
    /// The provider's hosted payment page (`payment_url`, a Stripe Checkout Session),
    /// which sends the buyer back to the booking's page; what the site uses. Where the
    /// coordinator knows no site address, the same as `client_secret`.
    #[default]
    HostedPage,
    /// The provider's SDK in the client's own page or app, with `client_secret` (a
    /// Stripe PaymentIntent).
    ClientSecret,
}

/// `?pay_with=` of `POST /v1/holds/{id}/checkout`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CheckoutQuery {
    /// How the buyer pays (default `hosted_page`).
    #[serde(default)]
    pub pay_with: PayWith,
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
    /// A short code for the door staff to type when a QR code will not scan, e.g.
    /// `K7Q2M-9XDA4` (derived from `code`).
    pub short_code: String,
    /// `base64url(payload) "." base64url(Ed25519 signature)`; the payload is
    /// `onsale-ticket:v1:{event_id}:{booking_id}:{seat_id}`.
    pub code: String,
    /// The code as a QR image (SVG).
    pub qr_svg: String,
}

/// The event a booking is for, as its tickets show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookedEvent {
    /// Title.
    pub name: String,
    /// Venue name.
    pub venue: String,
    /// City.
    pub city: String,
    /// When it starts (RFC 3339), in the venue's offset.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// The venue's time zone (IANA name).
    pub time_zone: String,
    /// The zone's abbreviation at the start, e.g. `CEST`.
    pub time_zone_abbreviation: String,
}

/// One seat of a booking, named as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookedSeat {
    /// The seat id, e.g. `FLR-A-1`.
    pub seat_id: String,
    /// The section's name, e.g. `Floor`.
    pub section: String,
    /// The row's label.
    pub row: String,
    /// The seat's number in its row.
    pub number: u32,
    /// What the seat cost, in minor units of the booking's currency.
    pub price: u64,
}

/// `GET /v1/bookings/{id}`, and the items of `GET /v1/me/bookings` (without tickets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Booking {
    /// The booking.
    pub booking_id: String,
    /// A short code for the order that a person can read out or type, e.g. `7KQ2-M9XD`.
    pub order_code: String,
    /// The hold it was checked out from; after a declined payment, checking it out
    /// again (while `pay_by` lasts) makes a new booking of the same seats.
    pub hold_id: String,
    /// Where it stands.
    pub status: BookingStatus,
    /// The event.
    pub event_id: u64,
    /// The event's name, place and local start.
    pub event: BookedEvent,
    /// The seat ids.
    pub seats: Vec<String>,
    /// The seats with their section, row, number and price.
    pub items: Vec<BookedSeat>,
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
    /// When the seats' hold ends (RFC 3339), while the booking can be paid: pending, or
    /// cancelled by a declined payment with the seats still held (pay again through
    /// `POST /v1/holds/{hold_id}/checkout`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub pay_by: Option<OffsetDateTime>,
    /// While pending: where to pay (again, after an abandoned payment page).
    #[serde(default)]
    pub payment_url: Option<String>,
    /// One ticket per seat once completed (`GET /v1/bookings/{id}` only: lists leave
    /// them out).
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
