//! `POST /v1/holds/{id}/checkout`, `GET /v1/bookings/{id}` and its calendar file,
//! `POST /v1/payments/webhook`, `GET /v1/tickets/public-key`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onsale_model::{Booking, CheckoutQuery, CheckoutResponse, ErrorBody, TicketKey};
use serde_json::{Value, json};

use super::extract::{ApiPath, ApiQuery, AuthUser, IdempotencyKey};
use crate::error::Result;
use crate::services::Coordinator;

/// Turns a hold into a pending booking and creates its payment.
#[utoipa::path(post, path = "/v1/holds/{id}/checkout", tag = "bookings", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Hold id"),
        ("Idempotency-Key" = String, Header, description = "The same key returns the same booking", min_length = 1, max_length = 255, pattern = "^[!-~]+$"),
        CheckoutQuery,
    ),
    responses(
        (status = 201, description = "A pending booking and where to pay", body = CheckoutResponse),
        (status = 404, description = "No live hold of yours", body = ErrorBody),
        (status = 410, description = "The hold expired", body = ErrorBody),
        (status = 422, description = "Idempotency-Key already used to check out another hold (idempotency_key_reused)", body = ErrorBody),
        (status = 429, description = "Too many checkouts from this address or account (`rate_limited`, `Retry-After`)", body = ErrorBody),
        (status = 503, description = "The payment provider is unavailable; retry with the same key", body = ErrorBody),
    ))]
pub async fn checkout_create(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(hold_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<CheckoutQuery>,
    IdempotencyKey(key): IdempotencyKey,
) -> Result<(StatusCode, Json<CheckoutResponse>)> {
    let booking = coordinator
        .bookings()
        .checkout(user, &hold_id, &key, query.pay_with)
        .await?;
    Ok((StatusCode::CREATED, Json(booking)))
}

/// One of the caller's bookings, with its tickets once paid.
#[utoipa::path(get, path = "/v1/bookings/{id}", tag = "bookings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, description = "The booking", body = Booking),
        (status = 404, description = "No booking of yours", body = ErrorBody),
    ))]
pub async fn bookings_show(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(booking_id): ApiPath<String>,
) -> Result<Json<Booking>> {
    Ok(Json(
        coordinator.bookings().booking(user, &booking_id).await?,
    ))
}

/// One of the caller's bookings as an iCalendar file (RFC 5545) with one event: the
/// event's name, start, venue, order code and seats, to add to a calendar.
#[utoipa::path(get, path = "/v1/bookings/{id}/calendar.ics", tag = "bookings", security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking id")),
    responses(
        (status = 200, description = "The calendar file", content_type = "text/calendar", body = String),
        (status = 404, description = "No booking of yours", body = ErrorBody),
    ))]
pub async fn calendar_show(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(booking_id): ApiPath<String>,
) -> Result<impl IntoResponse> {
    let ics = coordinator.bookings().calendar(user, &booking_id).await?;
    let file = format!("attachment; filename=\"onsale-{booking_id}.ics\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, file),
        ],
        ics,
    ))
}

/// The payment provider's webhook: verified, recorded once, queued, answered at once.
#[utoipa::path(post, path = "/v1/payments/webhook", tag = "bookings",
    params(("Stripe-Signature" = String, Header, description = "t=TIMESTAMP,v1=HMAC-SHA256")),
    responses(
        (status = 200, description = "Recorded (or a replay, already recorded)"),
        (status = 400, description = "Bad signature, old timestamp or not an event", body = ErrorBody),
    ))]
pub async fn webhook_create(
    State(coordinator): State<Coordinator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    let fresh = coordinator
        .bookings()
        .receive_webhook(signature, &body)
        .await?;
    Ok(Json(json!({"received": true, "duplicate": !fresh})))
}

/// The public key that ticket codes verify against.
#[utoipa::path(get, path = "/v1/tickets/public-key", tag = "bookings",
    responses((status = 200, description = "The Ed25519 public key", body = TicketKey)))]
pub async fn ticket_key_show(State(coordinator): State<Coordinator>) -> Json<TicketKey> {
    Json(TicketKey {
        algorithm: "ed25519".into(),
        public_key: URL_SAFE_NO_PAD.encode(coordinator.secrets().ticket_public_key()),
    })
}
