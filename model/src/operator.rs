//! The operator's side: operator accounts and their roles, API keys, the audit trail and
//! door check-in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;

/// What an operator account or API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: events, seat maps, the waiting room, refunds, operators and keys.
    Admin,
    /// Door check-in and read-only sales.
    Staff,
}

impl Role {
    /// The role's name as the API and the command line spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "admin" => Ok(Role::Admin),
            "staff" => Ok(Role::Staff),
            other => Err(format!("no role {other:?}: admin or staff")),
        }
    }
}

/// How an operator call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// An operator signed in with name and password.
    Operator,
    /// An API key (the deployment's operator token is the key `operator-token`).
    ApiKey,
    /// The `onsale` command line, writing to the store directly.
    CommandLine,
}

/// Who did something, as the audit trail and check-ins name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// An operator, an API key or the command line.
    pub kind: ActorKind,
    /// The operator's or key's id (`cli` for the command line).
    pub id: String,
    /// The operator's or key's name.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

impl Actor {
    /// The command line, run by whoever can reach the store.
    pub fn command_line() -> Self {
        Actor {
            kind: ActorKind::CommandLine,
            id: "cli".into(),
            name: "command line".into(),
            role: Role::Admin,
        }
    }

    /// Whether the actor may do what `role` may.
    pub fn can(&self, role: Role) -> bool {
        self.role == Role::Admin || self.role == role
    }
}

/// Operator and key names: 1-64 lower-case letters, digits, `_`, `.`, `-` or `@`.
fn validate_name(field: &str, name: &str) -> Result<String, ApiError> {
    let name = name.trim().to_ascii_lowercase();
    if (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
    {
        Ok(name)
    } else {
        Err(ApiError::invalid(format!(
            "{field} must be 1-64 letters, digits, '_', '.', '-' or '@'"
        ))
        .at(field))
    }
}

/// `POST /v1/operator/operators`: a new operator account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewOperator {
    /// 1-64 letters, digits, `_`, `.`, `-` or `@`; unique regardless of case.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^\s*[A-Za-z0-9_.@-]{1,64}\s*$")
    )]
    pub name: String,
    /// What the operator may do.
    pub role: Role,
}

impl NewOperator {
    /// The name in its canonical (lower-case) form, or why it is refused.
    pub fn validate(&self) -> Result<String, ApiError> {
        validate_name("name", &self.name)
    }
}

/// An operator account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorView {
    /// The account's id.
    pub id: String,
    /// Its name, lower case.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Signed in with a one-time password: every call but changing it is refused until
    /// it is changed.
    pub password_change_required: bool,
}

/// A new operator account and its one-time password, shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorCreated {
    /// The account.
    pub operator: OperatorView,
    /// Its one-time password: the first sign-in must replace it.
    pub password: String,
}

/// `POST /v1/operator/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorLogin {
    /// The operator's name (any case).
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub name: String,
    /// The password.
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub password: String,
}

/// A signed-in operator's bearer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperatorSession {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// When the token stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Who signed in.
    pub operator: OperatorView,
}

/// `PUT /v1/operator/me/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    /// The password the operator signed in with.
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub current_password: String,
    /// The new one: 12-128 characters, not easy to guess.
    #[cfg_attr(feature = "openapi", schema(min_length = 12, max_length = 128))]
    pub new_password: String,
}

/// `POST /v1/operator/keys`: a new API key for automation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    /// What the key is for (e.g. `ci-import`); 1-64 letters, digits, `_`, `.`, `-`, `@`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^\s*[A-Za-z0-9_.@-]{1,64}\s*$")
    )]
    pub name: String,
    /// What the key may do.
    pub role: Role,
}

impl NewApiKey {
    /// The name in its canonical (lower-case) form, or why it is refused.
    pub fn validate(&self) -> Result<String, ApiError> {
        validate_name("name", &self.name)
    }
}

/// An API key as the API shows it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    /// The key's id (also the start of the key itself).
    pub id: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who made it.
    pub created_by: Actor,
    /// When it was revoked; a revoked key is refused.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A new API key with its secret, shown only this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeyCreated {
    /// The key.
    pub key: ApiKeyView,
    /// Send as `Authorization: Bearer SECRET`; it cannot be shown again.
    pub secret: String,
}

/// One operator action, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// The entry's id; `?before=ID` pages back from it.
    pub id: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it.
    pub actor: Actor,
    /// What was done, e.g. `event.create`, `checkin`, `key.revoke`.
    pub action: String,
    /// What it was done to, e.g. `event 7`, `booking b-…`.
    pub target: String,
    /// Anything more worth knowing (the fields changed, a reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `POST /v1/operator/checkins`: a ticket shown at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInRequest {
    /// The ticket's signed code (its QR code) or its short code (e.g. `K7Q2M-9XDA4`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub code: String,
    /// The event this door admits to; a ticket of another event is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u64>,
}

/// A ticket admitted at the door.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckIn {
    /// The event.
    pub event_id: u64,
    /// The event's name.
    pub event_name: String,
    /// The booking the ticket is of.
    pub booking_id: String,
    /// The booking's short order code.
    pub order_code: String,
    /// The seat's id.
    pub seat_id: String,
    /// The seat as a person reads it ("Section Floor, Row A, Seat 1").
    pub seat_label: String,
    /// The buyer's name (their username).
    pub holder: String,
    /// When the ticket was admitted.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_in_at: OffsetDateTime,
    /// Who admitted it.
    pub checked_in_by: Actor,
}

/// An event's check-ins so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInCount {
    /// The event.
    pub event_id: u64,
    /// Tickets admitted.
    pub checked_in: u64,
    /// Tickets sold (completed bookings' seats).
    pub sold: u64,
}

/// `GET /v1/operator/events/{id}/sales`: what an event has sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sales {
    /// The event.
    pub event_id: u64,
    /// The currency of every amount.
    pub currency: String,
    /// Seats of the event.
    pub total: u32,
    /// Seats sold.
    pub sold: u32,
    /// Seats held now (being bought).
    pub held: u32,
    /// Seats on sale.
    pub available: u32,
    /// Money taken for the seats sold, in minor units (refunded bookings not counted).
    pub revenue: u64,
    /// Money refunded or being refunded by the organiser, in minor units.
    pub refunded: u64,
    /// Bookings by status: paid, waiting for payment, ended.
    pub bookings: BookingCounts,
    /// Tickets admitted at the door.
    pub checked_in: u64,
    /// Seats and revenue by price, cheapest first.
    pub by_tier: Vec<TierSales>,
    /// Seats sold per minute over the last `minutes` minutes, oldest first (a minute
    /// without sales is there with zero).
    pub per_minute: Vec<MinuteSales>,
    /// The change-log position these figures are current at: a change that alters them
    /// comes after it (`GET /v1/changes?after=`), so a live view knows when to read again.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub position: Option<crate::LogPosition>,
}

/// Bookings of an event by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingCounts {
    /// Paid.
    pub completed: u64,
    /// Waiting for their payment.
    pub pending: u64,
    /// Ended without a sale, or cancelled by the organiser.
    pub cancelled: u64,
}

/// Sales at one price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TierSales {
    /// The seat price, in minor units.
    pub price: u64,
    /// The sections with seats at this price.
    pub sections: Vec<String>,
    /// Seats at this price.
    pub seats: u32,
    /// Of them, sold.
    pub sold: u32,
    /// Money taken for them.
    pub revenue: u64,
}

/// Sales in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MinuteSales {
    /// The minute's start.
    #[serde(with = "time::serde::rfc3339")]
    pub minute: OffsetDateTime,
    /// Seats sold in it.
    pub seats: u32,
    /// Money taken in it.
    pub revenue: u64,
}

/// One booking in the operator's orders list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    /// The booking.
    pub booking_id: String,
    /// Its short order code.
    pub order_code: String,
    /// The event.
    pub event_id: u64,
    /// Pending, completed or cancelled.
    pub status: crate::booking::BookingStatus,
    /// Whether its charge was (or is being) refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<crate::booking::RefundStatus>,
    /// Why it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// The buyer's username.
    pub buyer: String,
    /// The buyer's email address.
    pub email: String,
    /// Its seats as a person reads them.
    pub seats: Vec<String>,
    /// Its total, in minor units.
    pub total: u64,
    /// The currency of `total`.
    pub currency: String,
    /// When it was checked out.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /v1/operator/bookings/{id}`: a booking with its tickets' admissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderDetail {
    /// The booking.
    #[serde(flatten)]
    pub order: Order,
    /// The provider's payment id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<String>,
    /// One per seat of a completed booking.
    pub tickets: Vec<TicketAdmission>,
}

/// A ticket and whether it was admitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketAdmission {
    /// The seat.
    pub seat_id: String,
    /// The seat as a person reads it.
    pub seat_label: String,
    /// The ticket's short code.
    pub short_code: String,
    /// When it was admitted, if it was.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub checked_in_at: Option<OffsetDateTime>,
    /// Who admitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_by: Option<Actor>,
}

/// `PUT /v1/operator/events/{id}/image`: the image as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventImage {
    /// The event's picture now: the largest variant (at most 1280 px wide).
    pub image_url: String,
    /// The original and each resized variant (320, 640 and 1280 px wide, never wider
    /// than the original), smallest first; served immutable.
    pub files: Vec<ImageFile>,
}

/// One stored picture file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageFile {
    /// Where browsers load it.
    pub url: String,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// Its size in bytes.
    pub bytes: u64,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
}

/// `POST /v1/operator/bookings/{id}/refund`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefundRequest {
    /// Why, told to the buyer (e.g. "the show moved to another date"); at most 500
    /// characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub reason: Option<String>,
}

impl RefundRequest {
    /// The reason as the buyer is told it.
    pub fn validate(&self) -> Result<String, ApiError> {
        let reason = self.reason.as_deref().unwrap_or("").trim();
        if reason.chars().count() > 500 {
            return Err(ApiError::invalid("reason must be at most 500 characters").at("reason"));
        }
        if reason.chars().any(char::is_control) {
            return Err(ApiError::invalid("reason must be one line of text").at("reason"));
        }
        Ok(if reason.is_empty() {
            "the organiser cancelled it".to_string()
        } else {
            reason.to_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_checked() {
        let new = |name: &str| NewOperator {
            name: name.into(),
            role: Role::Staff,
        };
        assert_eq!(new(" Door-1@Hall ").validate().unwrap(), "door-1@hall");
        for bad in ["", "a b", "ünï", &"x".repeat(65)] {
            let error = new(bad).validate().unwrap_err();
            assert_eq!(error.field.as_deref(), Some("name"), "{bad:?}");
        }
    }

    #[test]
    fn admins_can_do_what_staff_can() {
        let mut actor = Actor::command_line();
        assert!(actor.can(Role::Staff) && actor.can(Role::Admin));
        actor.role = Role::Staff;
        assert!(actor.can(Role::Staff) && !actor.can(Role::Admin));
        assert_eq!("staff".parse::<Role>(), Ok(Role::Staff));
        assert!("root".parse::<Role>().is_err());
    }
}
