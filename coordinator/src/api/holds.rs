//! `POST /v1/events/{id}/holds`, `GET /v1/holds/{id}`, `DELETE /v1/holds/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onsale_model::{ErrorBody, Hold, HoldRequest};

use super::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, IdempotencyKey, QueuePass};
use crate::error::Result;
use crate::services::Coordinator;

/// Holds seats for the caller; a replayed `Idempotency-Key` returns the original hold
/// with `Idempotent-Replayed: true`. While the event's waiting room is on, the caller's
/// pass must come in `X-Queue-Pass`.
#[utoipa::path(post, path = "/v1/events/{id}/holds", tag = "holds", request_body = HoldRequest,
    security(("bearer" = [])),
    params(
        ("id" = u64, Path, description = "Event id"),
        ("Idempotency-Key" = String, Header, description = "Makes retries safe: the same key returns the same hold", min_length = 1, max_length = 255, pattern = "^[!-~]+$"),
        ("X-Queue-Pass" = Option<String>, Header, description = "The waiting room's pass, needed while the event's room is on"),
    ),
    responses(
        (status = 201, description = "Every seat held", body = Hold),
        (status = 400, description = "Bad seat list or missing Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "The waiting room is on: no pass (queue_pass_required) or a bad one (queue_pass_invalid)", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "Some seats are taken (seat_unavailable, listed), or the hold would pass the event's seat limit per account (ticket_limit_reached, with limit and current); nothing was held", body = ErrorBody),
        (status = 410, description = "The Idempotency-Key's hold has ended since (hold_expired)", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for other seats", body = ErrorBody),
        (status = 429, description = "Too many holds from this address or account (`rate_limited`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn holds_create(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(event_id): ApiPath<u64>,
    IdempotencyKey(key): IdempotencyKey,
    QueuePass(pass): QueuePass,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Result<Response> {
    coordinator
        .waiting_rooms()
        .check_queue_pass(user, event_id, pass.as_deref())
        .await?;
    let placed = coordinator
        .bookings()
        .place_hold(user, event_id, request, &key)
        .await?;
    let mut response = (StatusCode::CREATED, Json(placed.hold)).into_response();
    if placed.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            "true".parse().expect("static header"),
        );
    }
    Ok(response)
}

/// One of the caller's live holds.
#[utoipa::path(get, path = "/v1/holds/{id}", tag = "holds", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hold id")),
    responses(
        (status = 200, description = "The hold", body = Hold),
        (status = 404, description = "No live hold of yours", body = ErrorBody),
    ))]
pub async fn holds_show(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(hold_id): ApiPath<String>,
) -> Result<Json<Hold>> {
    Ok(Json(coordinator.bookings().hold(user, &hold_id).await?))
}

/// Releases one of the caller's holds.
#[utoipa::path(delete, path = "/v1/holds/{id}", tag = "holds", security(("bearer" = [])),
    params(("id" = String, Path, description = "Hold id")),
    responses(
        (status = 204, description = "Released; the seats are on sale again"),
        (status = 404, description = "No live hold of yours", body = ErrorBody),
        (status = 409, description = "The hold is being paid for (checkout_in_progress); it ends with the payment's outcome", body = ErrorBody),
    ))]
pub async fn holds_delete(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(hold_id): ApiPath<String>,
) -> Result<StatusCode> {
    coordinator.bookings().release_hold(user, &hold_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?eventId=&seatNumber=` of the seed API's `bookEvent`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct BookEventQuery {
    /// The event.
    pub event_id: u64,
    /// A seat id, or the seat's 1-based position in the seat map.
    pub seat_number: String,
}

/// The seed API's `POST /bookEvent`: holds one seat, exactly like
/// `POST /v1/events/{id}/holds`; without an `Idempotency-Key` the key is derived from the
/// event and seat, so a retried call returns the same hold. Like holds, it needs the
/// waiting room's pass while the room is on.
#[utoipa::path(post, path = "/bookEvent", tag = "seed aliases",
    params(
        BookEventQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Optional: without one, the key is derived from the event and seat", min_length = 1, max_length = 255, pattern = "^[!-~]+$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The seat is held", body = Hold),
        (status = 403, description = "The waiting room is on: no pass or a bad one", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "The seat is taken, or the account is at the event's seat limit", body = ErrorBody),
        (status = 410, description = "The same call's hold has ended since (hold_expired)", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for another seat (idempotency_key_reused)", body = ErrorBody),
        (status = 429, description = "Too many holds from this address or account (`rate_limited`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn book_event(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<BookEventQuery>,
    key: Option<IdempotencyKey>,
    QueuePass(pass): QueuePass,
) -> Result<Response> {
    coordinator
        .waiting_rooms()
        .check_queue_pass(user, query.event_id, pass.as_deref())
        .await?;
    let seat = coordinator
        .events()
        .resolve_seat(query.event_id, &query.seat_number)
        .await?;
    let key = key.map_or_else(|| format!("bookEvent:{}:{seat}", query.event_id), |k| k.0);
    let placed = coordinator
        .bookings()
        .place_hold(user, query.event_id, HoldRequest::seats(vec![seat]), &key)
        .await?;
    Ok((StatusCode::CREATED, Json(placed.hold)).into_response())
}
