//! What the signed-in buyer has: `GET /v1/me/bookings`, `GET /v1/me/holds`,
//! `GET /v1/me/notifications` and its live twin `GET /v1/me/notifications/live` (SSE).

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use onsale_model::{Booking, ErrorBody, ErrorCode, Hold, Notification, Page, PageQuery};
use serde::Deserialize;

use super::extract::{ApiQuery, AuthUser};
use crate::error::{Error, Result};
use crate::services::Coordinator;

/// The caller's bookings, newest first, each with its event, seats and status (tickets
/// are on `GET /v1/bookings/{id}`).
#[utoipa::path(get, path = "/v1/me/bookings", tag = "users", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of bookings, newest first, without tickets", body = Page<Booking>),
        (status = 400, description = "Bad paging", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub async fn bookings_index(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Booking>>> {
    Ok(Json(coordinator.bookings().bookings_of(user, query).await?))
}

/// `?event_id=`: whose holds to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoldsQuery {
    /// The event.
    event_id: u64,
}

/// The caller's live holds of an event, so that every tab and device shows them with
/// Pay and Release (a hold being paid for names its booking).
#[utoipa::path(get, path = "/v1/me/holds", tag = "users", security(("bearer" = [])),
    params(HoldsQuery),
    responses(
        (status = 200, description = "Live holds of the event, oldest first", body = Vec<Hold>),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn holds_index(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<HoldsQuery>,
) -> Result<Json<Vec<Hold>>> {
    Ok(Json(
        coordinator
            .bookings()
            .holds_of(user, query.event_id)
            .await?,
    ))
}

/// The caller's notifications, newest first.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first, at most 50", body = Vec<Notification>),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub async fn notifications_index(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<Notification>>> {
    Ok(Json(
        coordinator
            .notifications()
            .list(&user.to_string(), 50)
            .await?,
    ))
}

/// `?token=` for clients that cannot set headers (a browser's `EventSource`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// The bearer token, when it cannot come in `Authorization`.
    token: Option<String>,
}

/// How often an open stream checks that its token is still valid: the stream ends within
/// this (plus the sessions cache's TTL on another coordinator) of the token expiring or
/// its account signing out.
const TOKEN_RECHECK: Duration = Duration::from_secs(2);

/// New notifications as server-sent events (`event: notification`, JSON data), from the
/// moment of connecting; the stream ends when its token expires or is signed out.
#[utoipa::path(get, path = "/v1/me/notifications/live", tag = "users", security(("bearer" = [])),
    params(LiveQuery),
    responses(
        (status = 200, description = "`event: notification` messages, a Notification as JSON each", content_type = "text/event-stream", body = String),
        (status = 401, description = "No valid token in `Authorization` or `?token=`", body = ErrorBody),
    ))]
pub async fn notifications_live(
    State(coordinator): State<Coordinator>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LiveQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let header_token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let token = header_token
        .or(query.token)
        .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
    let user = coordinator
        .accounts()
        .authenticate(&token)
        .await?
        .to_string();
    let seen = coordinator
        .notifications()
        .list(&user, 50)
        .await?
        .into_iter()
        .map(|n| n.id)
        .collect();
    let live = Live {
        coordinator,
        user,
        token,
        checked_at: Instant::now(),
        seen,
        pending: VecDeque::new(),
    };
    Ok(Sse::new(futures::stream::unfold(live, Live::next)).keep_alive(KeepAlive::default()))
}

/// One subscriber: what it has been sent and what waits to be sent.
struct Live {
    coordinator: Coordinator,
    user: String,
    /// The token the stream was opened with, checked again every [`TOKEN_RECHECK`].
    token: String,
    checked_at: Instant,
    seen: HashSet<String>,
    pending: VecDeque<Notification>,
}

impl Live {
    /// Waits for the next new notification, polling the store twice a second; `None`
    /// (the stream ends) once the token is no longer valid.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Live)> {
        loop {
            if self.checked_at.elapsed() >= TOKEN_RECHECK {
                if let Err(err) = self.coordinator.accounts().authenticate(&self.token).await {
                    tracing::debug!(error = %err, "notification stream closed: token ended");
                    metrics::counter!("onsale_streams_closed_total", "reason" => "token")
                        .increment(1);
                    return None;
                }
                self.checked_at = Instant::now();
            }
            if let Some(notification) = self.pending.pop_front() {
                let event = Event::default()
                    .event("notification")
                    .json_data(&notification)
                    .unwrap_or_default();
                return Some((Ok(event), self));
            }
            if let Ok(latest) = self.coordinator.notifications().list(&self.user, 50).await {
                for notification in latest.into_iter().rev() {
                    if self.seen.insert(notification.id.clone()) {
                        self.pending.push_back(notification);
                    }
                }
            }
            if self.pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
