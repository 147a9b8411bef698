//! The waiting room: `PUT`/`GET /v1/operator/events/{id}/waiting-room`,
//! `GET /v1/operator/queue-key`, `POST`/`GET /v1/events/{id}/queue` and its live twin
//! `GET /v1/events/{id}/queue/live` (SSE).

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use onsale_model::{ErrorBody, QueueKeyView, QueueStatus, WaitingRoom, WaitingRoomSettings};
use serde::Deserialize;

use super::extract::{Admin, ApiJson, ApiPath, ApiQuery, AuthUser, Staff};
use crate::error::Result;
use crate::services::Coordinator;

/// Sets up, changes, or switches an event's waiting room on or off.
#[utoipa::path(put, path = "/v1/operator/events/{id}/waiting-room", tag = "waiting room",
    request_body = WaitingRoomSettings, security(("operator" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "The room as now set, with its live counts", body = WaitingRoom),
        (status = 400, description = "A setting out of range", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn waiting_room_update(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiPath(event_id): ApiPath<u64>,
    ApiJson(settings): ApiJson<WaitingRoomSettings>,
) -> Result<Json<WaitingRoom>> {
    Ok(Json(
        coordinator
            .waiting_rooms()
            .configure_waiting_room(event_id, settings, &by)
            .await?,
    ))
}

/// An event's waiting-room settings and live counts (queued, active).
#[utoipa::path(get, path = "/v1/operator/events/{id}/waiting-room", tag = "waiting room",
    security(("operator" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Settings and counts", body = WaitingRoom),
        (status = 404, description = "No waiting room set up for the event", body = ErrorBody),
    ))]
pub async fn waiting_room_show(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(event_id): ApiPath<u64>,
) -> Result<Json<WaitingRoom>> {
    Ok(Json(
        coordinator.waiting_rooms().waiting_room(event_id).await?,
    ))
}

/// The key that passes are signed with, for edges to check them (`onsale edge
/// --queue-key`).
#[utoipa::path(get, path = "/v1/operator/queue-key", tag = "waiting room",
    security(("operator" = [])),
    responses((status = 200, description = "The shared key", body = QueueKeyView)))]
pub async fn queue_key_show(
    State(coordinator): State<Coordinator>,
    _: Admin,
) -> Json<QueueKeyView> {
    Json(QueueKeyView {
        key: coordinator.secrets().queue_key().encode(),
    })
}

/// Joins the event's queue (or finds the caller's place again): a ticket, the position
/// and the estimated wait; an admitted caller gets the pass.
#[utoipa::path(post, path = "/v1/events/{id}/queue", tag = "waiting room",
    security(("bearer" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 201, description = "Joined", body = QueueStatus),
        (status = 200, description = "Already in the queue (or admitted)", body = QueueStatus),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 409, description = "The room is off: hold seats directly", body = ErrorBody),
        (status = 429, description = "Too many joins from this address or account (`rate_limited`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn queue_join(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(event_id): ApiPath<u64>,
) -> Result<(StatusCode, Json<QueueStatus>)> {
    let joined = coordinator
        .waiting_rooms()
        .join_queue(user, event_id)
        .await?;
    let status = if joined.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(joined.status)))
}

/// `?ticket=` from joining.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketQuery {
    /// The ticket the join answered with.
    pub ticket: String,
}

/// Where the ticket's holder stands: position and estimated wait, or the pass once
/// admitted. Needs no login (the ticket is signed).
#[utoipa::path(get, path = "/v1/events/{id}/queue", tag = "waiting room",
    params(("id" = u64, Path, description = "Event id"), TicketQuery),
    responses(
        (status = 200, description = "Where the holder stands", body = QueueStatus),
        (status = 400, description = "Not a ticket for this event", body = ErrorBody),
    ))]
pub async fn queue_show(
    State(coordinator): State<Coordinator>,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> Result<Json<QueueStatus>> {
    Ok(Json(
        coordinator
            .waiting_rooms()
            .queue_status_by_ticket(event_id, &query.ticket)
            .await?,
    ))
}

/// The ticket's standing as server-sent events (`event: queue`, a [`QueueStatus`] as
/// JSON): the current one at once, then each change (position, estimate, admission).
/// Watchers share one read of the room a second (`QueueFollower`).
#[utoipa::path(get, path = "/v1/events/{id}/queue/live", tag = "waiting room",
    params(("id" = u64, Path, description = "Event id"), TicketQuery),
    responses(
        (status = 200, description = "`event: queue` messages, a QueueStatus as JSON each", content_type = "text/event-stream", body = String),
        (status = 400, description = "Not a ticket for this event", body = ErrorBody),
    ))]
pub async fn queue_live(
    State(coordinator): State<Coordinator>,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<TicketQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let follower = coordinator
        .waiting_rooms()
        .follow_queue(event_id, &query.ticket)
        .await?;
    let stream = futures::stream::unfold(follower, |mut follower| async move {
        match follower.next().await {
            Ok(status) => {
                let event = Event::default()
                    .event("queue")
                    .json_data(&status)
                    .unwrap_or_default();
                Some((Ok(event), follower))
            }
            Err(err) => {
                tracing::debug!(error = %err, "live queue standing failed");
                None
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
