//! The one table of API error codes, and the JSON error body every part answers with.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every error code a client can see, with its HTTP status and a default message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A field is missing, malformed or out of range.
    InvalidRequest,
    /// The body is not valid JSON of the expected shape.
    InvalidJson,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// No credentials, or credentials that are not valid (any more).
    Unauthorized,
    /// Username or password wrong.
    InvalidCredentials,
    /// Valid credentials that do not allow this.
    Forbidden,
    /// No such resource (or not yours).
    NotFound,
    /// The path exists but not with this method.
    MethodNotAllowed,
    /// One or more requested seats are held or sold by someone else.
    SeatUnavailable,
    /// The hold would take the account past the event's seat limit per account.
    TicketLimitReached,
    /// The hold has expired or been released.
    HoldExpired,
    /// The username is already registered.
    UsernameTaken,
    /// The email address or the phone number is already registered (which one is not
    /// said, so that sign-up does not tell who has an account).
    ContactTaken,
    /// The password is too easy to guess; the message says why.
    WeakPassword,
    /// A write that must be idempotent came without an `Idempotency-Key` header.
    IdempotencyKeyRequired,
    /// The `Idempotency-Key` was used before for a different request.
    IdempotencyKeyReused,
    /// The hold is being paid for; it ends with the payment's outcome.
    CheckoutInProgress,
    /// The payment provider could not be reached or refused the request.
    PaymentUnavailable,
    /// A webhook's signature is missing, wrong or too old.
    InvalidSignature,
    /// The event's waiting room is on and the request carries no `X-Queue-Pass`.
    QueuePassRequired,
    /// The `X-Queue-Pass` is forged, expired, or for another event or user.
    QueuePassInvalid,
    /// The queue ticket is not one this site issued for this event.
    QueueTicketInvalid,
    /// The event's waiting room is off: there is no queue to join.
    WaitingRoomOff,
    /// Too many requests of one kind from one client address or account; retry after
    /// the `Retry-After` header's seconds.
    RateLimited,
    /// Too many failed log-ins for this username; log-ins are refused until the
    /// `Retry-After` header's seconds have passed.
    LoginLocked,
    /// The server's queue for this work is full; retry after `Retry-After` seconds.
    Busy,
    /// The store stayed too contended to commit in time; retrying later will work.
    StoreBusy,
    /// A dependency of the server is unavailable.
    Unavailable,
    /// The server behind this one answered, but not with a whole, valid response.
    BadGateway,
    /// Something failed inside the server; it is logged.
    Internal,
}

impl ErrorCode {
    /// The snake_case code sent to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::SeatUnavailable => "seat_unavailable",
            ErrorCode::TicketLimitReached => "ticket_limit_reached",
            ErrorCode::HoldExpired => "hold_expired",
            ErrorCode::UsernameTaken => "username_taken",
            ErrorCode::ContactTaken => "contact_taken",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::IdempotencyKeyRequired => "idempotency_key_required",
            ErrorCode::IdempotencyKeyReused => "idempotency_key_reused",
            ErrorCode::CheckoutInProgress => "checkout_in_progress",
            ErrorCode::PaymentUnavailable => "payment_unavailable",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::QueuePassRequired => "queue_pass_required",
            ErrorCode::QueuePassInvalid => "queue_pass_invalid",
            ErrorCode::QueueTicketInvalid => "queue_ticket_invalid",
            ErrorCode::WaitingRoomOff => "waiting_room_off",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::LoginLocked => "login_locked",
            ErrorCode::Busy => "busy",
            ErrorCode::StoreBusy => "store_busy",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::BadGateway => "bad_gateway",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidJson
            | ErrorCode::IdempotencyKeyRequired
            | ErrorCode::InvalidSignature
            | ErrorCode::QueueTicketInvalid
            | ErrorCode::WeakPassword => 400,
            ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => 401,
            ErrorCode::Forbidden | ErrorCode::QueuePassRequired | ErrorCode::QueuePassInvalid => {
                403
            }
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::SeatUnavailable
            | ErrorCode::UsernameTaken
            | ErrorCode::ContactTaken
            | ErrorCode::CheckoutInProgress
            | ErrorCode::TicketLimitReached
            | ErrorCode::WaitingRoomOff => 409,
            ErrorCode::HoldExpired => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::IdempotencyKeyReused => 422,
            ErrorCode::RateLimited | ErrorCode::LoginLocked => 429,
            ErrorCode::Internal => 500,
            ErrorCode::BadGateway => 502,
            ErrorCode::StoreBusy
            | ErrorCode::Unavailable
            | ErrorCode::PaymentUnavailable
            | ErrorCode::Busy => 503,
        }
    }

    /// A message for when the caller has nothing more specific to say.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "the request is not valid",
            ErrorCode::InvalidJson => "the body is not valid JSON of the expected shape",
            ErrorCode::UnsupportedMediaType => "send the body as application/json",
            ErrorCode::PayloadTooLarge => "the body is too large",
            ErrorCode::Unauthorized => "log in and send Authorization: Bearer TOKEN",
            ErrorCode::InvalidCredentials => "wrong username or password",
            ErrorCode::Forbidden => "you are not allowed to do this",
            ErrorCode::NotFound => "not found",
            ErrorCode::MethodNotAllowed => "this method is not allowed here",
            ErrorCode::SeatUnavailable => "some seats are no longer available",
            ErrorCode::TicketLimitReached => {
                "you have as many seats of this event as one account may have"
            }
            ErrorCode::HoldExpired => "the hold has expired or was released",
            ErrorCode::UsernameTaken => "this username is taken",
            ErrorCode::ContactTaken => {
                "an account already uses this email address or phone number: log in, or use others"
            }
            ErrorCode::WeakPassword => "the password is too easy to guess",
            ErrorCode::IdempotencyKeyRequired => "send an Idempotency-Key header",
            ErrorCode::IdempotencyKeyReused => {
                "this Idempotency-Key was already used for a different request"
            }
            ErrorCode::CheckoutInProgress => {
                "this hold is being paid for; it ends with the payment's outcome"
            }
            ErrorCode::PaymentUnavailable => {
                "the payment provider is unavailable; retry with the same Idempotency-Key"
            }
            ErrorCode::InvalidSignature => "the webhook signature is missing, wrong or too old",
            ErrorCode::QueuePassRequired => {
                "this event's waiting room is on: join the queue (POST /v1/events/{id}/queue) \
                 and, once admitted, send the pass as the X-Queue-Pass header"
            }
            ErrorCode::QueuePassInvalid => {
                "the X-Queue-Pass is not valid for this event; join the queue again"
            }
            ErrorCode::QueueTicketInvalid => {
                "the queue ticket is not valid for this event; join the queue again"
            }
            ErrorCode::WaitingRoomOff => "this event has no waiting room on; hold seats directly",
            ErrorCode::RateLimited => "too many requests; retry in a moment",
            ErrorCode::LoginLocked => "too many failed log-ins for this username; retry later",
            ErrorCode::Busy => "the server is busy; retry in a moment",
            ErrorCode::StoreBusy => "the service is busy; retry in a moment",
            ErrorCode::Unavailable => "the service is unavailable; retry in a moment",
            ErrorCode::BadGateway => {
                "the booking service's answer did not arrive whole; retry in a moment"
            }
            ErrorCode::Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a `503` without a wait of its own asks clients to wait, in seconds.
pub const DEFAULT_RETRY_AFTER_SECONDS: u64 = 1;

/// An error as a client sees it: `{"error": {"code", "message", "seats"?, "limit"?,
/// "current"?}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{code}: {message}")]
pub struct ApiError {
    /// What went wrong, as a stable code.
    pub code: ErrorCode,
    /// What went wrong, for a person.
    pub message: String,
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
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a specific message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            seats: Vec::new(),
            limit: None,
            current: None,
            retry_after: None,
        }
    }

    /// The same error, asking the client to wait `seconds` (at least one) before retrying.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Seconds the client should wait before trying again: the error's own wait, else
    /// [`DEFAULT_RETRY_AFTER_SECONDS`] for every `503` (the store, a provider or the
    /// upstream recovers, or a retry loop's next round starts, within about a second).
    pub fn wait_seconds(&self) -> Option<u64> {
        self.retry_after
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
            code: ErrorCode::SeatUnavailable,
            message: format!(
                "{} seat(s) are held or sold: {}",
                seats.len(),
                seats.join(", ")
            ),
            seats,
            limit: None,
            current: None,
            retry_after: None,
        }
    }

    /// `ticket_limit_reached`: the account has `current` seats of the event, and
    /// `requested` more would pass its `limit`.
    pub fn ticket_limit_reached(limit: u32, current: u32, requested: u32) -> Self {
        ApiError {
            code: ErrorCode::TicketLimitReached,
            message: format!(
                "you can have up to {limit} seats of this event and already have {current}: \
                 {requested} more would be too many"
            ),
            seats: Vec::new(),
            limit: Some(limit),
            current: Some(current),
            retry_after: None,
        }
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
    fn codes_serialize_as_their_string() {
        for code in [
            ErrorCode::SeatUnavailable,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::InvalidJson,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().into()));
        }
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
