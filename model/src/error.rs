//! The one table of API error codes, and the JSON error body every part answers with.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares [`ErrorCode`] from one row per code: the variant (with its doc), its HTTP
/// status, the snake_case code clients see and the default message. Everything a code
/// means is in its row.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = ($status:literal, $code:literal, $message:expr);)*) => {
        /// Every error code a client can see, with its HTTP status and a default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The snake_case code sent to clients.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status that goes with the code.
            pub fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// A message for when the caller has nothing more specific to say.
            pub fn default_message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $message,)*
                }
            }
        }
    };
}

error_codes! {
    /// A field is missing, malformed or out of range.
    InvalidRequest = (400, "invalid_request", "the request is not valid");
    /// The body is not valid JSON of the expected shape.
    InvalidJson = (400, "invalid_json", "the body is not valid JSON of the expected shape");
    /// The body is not `application/json`.
    UnsupportedMediaType = (415, "unsupported_media_type", "send the body as application/json");
    /// The body is larger than the server accepts.
    PayloadTooLarge = (413, "payload_too_large", "the body is too large");
    /// No credentials, or credentials that are not valid (any more).
    Unauthorized = (401, "unauthorized", "log in and send Authorization: Bearer TOKEN");
    /// Username or password wrong.
    InvalidCredentials = (401, "invalid_credentials", "wrong username or password");
    /// Valid credentials that do not allow this.
    Forbidden = (403, "forbidden", "you are not allowed to do this");
    /// No such resource (or not yours).
    NotFound = (404, "not_found", "not found");
    /// The path exists but not with this method.
    MethodNotAllowed = (405, "method_not_allowed", "this method is not allowed here");
    /// One or more requested seats are held or sold by someone else.
    SeatUnavailable = (409, "seat_unavailable", "some seats are no longer available");
    /// The hold would take the account past the event's seat limit per account.
    TicketLimitReached = (
        409,
        "ticket_limit_reached",
        "you have as many seats of this event as one account may have"
    );
    /// The hold has expired or been released.
    HoldExpired = (410, "hold_expired", "the hold has expired or was released");
    /// The username is already registered.
    UsernameTaken = (409, "username_taken", "this username is taken");
    /// The email address or the phone number is already registered (which one is not
    /// said, so that sign-up does not tell who has an account).
    ContactTaken = (
        409,
        "contact_taken",
        "an account already uses this email address or phone number: log in, or use others"
    );
    /// The password is too easy to guess; the message says why.
    WeakPassword = (400, "weak_password", "the password is too easy to guess");
    /// A write that must be idempotent came without an `Idempotency-Key` header.
    IdempotencyKeyRequired = (400, "idempotency_key_required", "send an Idempotency-Key header");
    /// The `Idempotency-Key` was used before for a different request.
    IdempotencyKeyReused = (
        422,
        "idempotency_key_reused",
        "this Idempotency-Key was already used for a different request"
    );
    /// The hold is being paid for; it ends with the payment's outcome.
    CheckoutInProgress = (
        409,
        "checkout_in_progress",
        "this hold is being paid for; it ends with the payment's outcome"
    );
    /// The payment provider could not be reached or refused the request.
    PaymentUnavailable = (
        503,
        "payment_unavailable",
        "the payment provider is unavailable; retry with the same Idempotency-Key"
    );
    /// A webhook's signature is missing, wrong or too old.
    InvalidSignature = (
        400,
        "invalid_signature",
        "the webhook signature is missing, wrong or too old"
    );
    /// The event's waiting room is on and the request carries no `X-Queue-Pass`.
    QueuePassRequired = (
        403,
        "queue_pass_required",
        "this event's waiting room is on: join the queue (POST /v1/events/{id}/queue) \
         and, once admitted, send the pass as the X-Queue-Pass header"
    );
    /// The `X-Queue-Pass` is forged, expired, or for another event or user.
    QueuePassInvalid = (
        403,
        "queue_pass_invalid",
        "the X-Queue-Pass is not valid for this event; join the queue again"
    );
    /// The queue ticket is not one this site issued for this event.
    QueueTicketInvalid = (
        400,
        "queue_ticket_invalid",
        "the queue ticket is not valid for this event; join the queue again"
    );
    /// The event's waiting room is off: there is no queue to join.
    WaitingRoomOff = (
        409,
        "waiting_room_off",
        "this event has no waiting room on; hold seats directly"
    );
    /// Too many requests of one kind from one client address or account; retry after
    /// the `Retry-After` header's seconds.
    RateLimited = (429, "rate_limited", "too many requests; retry in a moment");
    /// Too many failed log-ins for this username; log-ins are refused until the
    /// `Retry-After` header's seconds have passed.
    LoginLocked = (429, "login_locked", "too many failed log-ins for this username; retry later");
    /// The server's queue for this work is full; retry after `Retry-After` seconds.
    Busy = (503, "busy", "the server is busy; retry in a moment");
    /// The store stayed too contended to commit in time; retrying later will work.
    StoreBusy = (503, "store_busy", "the service is busy; retry in a moment");
    /// A dependency of the server is unavailable.
    Unavailable = (503, "unavailable", "the service is unavailable; retry in a moment");
    /// The server behind this one answered, but not with a whole, valid response.
    BadGateway = (
        502,
        "bad_gateway",
        "the booking service's answer did not arrive whole; retry in a moment"
    );
    /// The ticket was admitted at the door before; the error says when and by whom.
    AlreadyCheckedIn = (
        409,
        "already_checked_in",
        "this ticket was already checked in"
    );
    /// The code is not a ticket this site issued (forged, mistyped, or of no seat).
    TicketInvalid = (400, "ticket_invalid", "this is not a valid ticket");
    /// The ticket's booking was refunded or cancelled: it admits nobody.
    TicketVoid = (410, "ticket_void", "this ticket's booking was refunded or cancelled");
    /// The ticket is valid but for another event than the door's.
    TicketWrongEvent = (409, "ticket_wrong_event", "this ticket is for another event");
    /// The uploaded image is larger than 10 MB.
    ImageTooLarge = (413, "image_too_large", "the image is too large; the limit is 10 MB");
    /// The upload is not a JPEG, PNG or WebP image (by its content).
    UnsupportedImage = (415, "unsupported_image", "send a JPEG, PNG or WebP image");
    /// The image is damaged, cut short, or too large in pixels to use.
    ImageUnreadable = (422, "image_unreadable", "the image cannot be read");
    /// The booking was never paid, so there is nothing to refund.
    NotRefundable = (409, "not_refundable", "this booking was never paid: nothing to refund");
    /// The operator signed in with a one-time password and must choose a new one first.
    PasswordChangeRequired = (
        403,
        "password_change_required",
        "choose a new password first (PUT /v1/operator/me/password)"
    );
    /// A live feed asked of an edge that cannot stream it (Spin): open it at `live_url`,
    /// the coordinator's address for live feeds, or poll where there is none.
    LiveElsewhere = (
        501,
        "live_elsewhere",
        "this edge cannot stream live feeds; open them at live_url"
    );
    /// Something failed inside the server; it is logged.
    Internal = (500, "internal", "internal error");
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `503` without a wait of its own asks clients to wait, in seconds.
pub const DEFAULT_RETRY_AFTER_SECONDS: u64 = 1;

/// An error as a client sees it: `{"error": {"code", "message", "field"?, "seats"?,
/// "limit"?, "current"?, "retry_after"?, "checked_in"?, "live_url"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{code}: {message}")]
pub struct ApiError {
    /// What went wrong, as a stable code.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
    /// The path of the request field at fault (`details.name`, `seat_map.sections[2].rows`),
    /// where one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The seats that were unavailable (`seat_unavailable` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seats: Vec<String>,
    /// The event's seat limit per account (`ticket_limit_reached` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The seats the account already has of the event: live holds plus pending and
    /// completed bookings (`ticket_limit_reached` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<u32>,
    /// Seconds to wait before retrying (`rate_limited`, `login_locked`, `busy`); also
    /// sent as the `Retry-After` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// The earlier admission of the ticket (`already_checked_in` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in: Option<Box<crate::operator::CheckIn>>,
    /// Where live feeds are opened instead (`live_elsewhere` only, when there is a place;
    /// boxed, as it is rare, to keep every error small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_url: Option<Box<String>>,
}

impl ApiError {
    /// An error with a specific message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
            seats: Vec::new(),
            limit: None,
            current: None,
            retry_after: None,
            checked_in: None,
            live_url: None,
        }
    }

    /// The same error, naming the request field at fault by its path.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// `already_checked_in`, saying when and by whom the ticket was admitted.
    pub fn already_checked_in(earlier: crate::operator::CheckIn) -> Self {
        let message = format!(
            "{} was checked in at {} by {}",
            earlier.seat_label,
            earlier
                .checked_in_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            earlier.checked_in_by.name
        );
        ApiError {
            checked_in: Some(Box::new(earlier)),
            ..ApiError::new(ErrorCode::AlreadyCheckedIn, message)
        }
    }

    /// The same error, asking the client to wait `seconds` (at least one) before retrying.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(u32::try_from(seconds.max(1)).unwrap_or(u32::MAX));
        self
    }

    /// Seconds the client should wait before trying again: the error's own wait, else
    /// [`DEFAULT_RETRY_AFTER_SECONDS`] for every `503` (the store, a provider or the
    /// upstream recovers, or a retry loop's next round starts, within about a second).
    pub fn wait_seconds(&self) -> Option<u64> {
        self.retry_after
            .map(u64::from)
            .or((self.status() == 503).then_some(DEFAULT_RETRY_AFTER_SECONDS))
    }

    /// An error with the code's default message.
    pub fn code(code: ErrorCode) -> Self {
        ApiError::new(code, code.default_message())
    }

    /// `invalid_request` with a message naming the field.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidRequest, message)
    }

    /// `seat_unavailable`, listing the seats that were taken.
    pub fn seats_unavailable(seats: Vec<String>) -> Self {
        ApiError {
            seats: seats.clone(),
            ..ApiError::new(
                ErrorCode::SeatUnavailable,
                format!(
                    "{} seat(s) are held or sold: {}",
                    seats.len(),
                    seats.join(", ")
                ),
            )
        }
    }

    /// `ticket_limit_reached`: the account has `current` seats of the event, and
    /// `requested` more would pass its `limit`.
    pub fn ticket_limit_reached(limit: u32, current: u32, requested: u32) -> Self {
        ApiError {
            limit: Some(limit),
            current: Some(current),
            ..ApiError::new(
                ErrorCode::TicketLimitReached,
                format!(
                    "you can have up to {limit} seats of this event and already have {current}: \
                     {requested} more would be too many"
                ),
            )
        }
    }

    /// `queue_pass_required`: event `event_id`'s waiting room is on and no pass came.
    pub fn queue_pass_required(event_id: u64) -> Self {
        ApiError::new(
            ErrorCode::QueuePassRequired,
            format!(
                "event {event_id}'s waiting room is on: join the queue \
                 (POST /v1/events/{event_id}/queue) and, once admitted, send the pass as the \
                 X-Queue-Pass header"
            ),
        )
    }

    /// `queue_pass_invalid`, saying why the pass was refused.
    pub fn queue_pass_invalid(reason: &dyn fmt::Display) -> Self {
        ApiError::new(ErrorCode::QueuePassInvalid, reason.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.clone(),
        }
    }
}

/// The envelope of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_serializes_as_its_string_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().into()));
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!((400..600).contains(&code.status()), "{code}");
            assert!(!code.default_message().is_empty(), "{code}");
        }
        assert_eq!(seen.len(), 41);
    }

    #[test]
    fn body_shape() {
        let body = ApiError::seats_unavailable(vec!["A-1-1".into()]).body();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["error"]["code"], "seat_unavailable");
        assert_eq!(json["error"]["seats"][0], "A-1-1");
        let plain = serde_json::to_value(ApiError::code(ErrorCode::NotFound).body()).unwrap();
        assert!(plain["error"].get("seats").is_none());
        assert!(plain["error"].get("limit").is_none());
        let limit = serde_json::to_value(ApiError::ticket_limit_reached(8, 6, 3).body()).unwrap();
        assert_eq!(limit["error"]["code"], "ticket_limit_reached");
        assert_eq!(
            (&limit["error"]["limit"], &limit["error"]["current"]),
            (&8.into(), &6.into())
        );
    }
}
