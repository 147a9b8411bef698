//! Operator calls: `POST /v1/operator/events`, `GET /v1/changes`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onsale_model::{Event, LogEntry, NewEvent};
use serde::Deserialize;

use super::extract::{ApiJson, ApiQuery, Operator};
use crate::booking::Coordinator;
use crate::error::Result;

/// Creates an event with its seat map.
pub async fn operator_events_create(
    State(coordinator): State<Coordinator>,
    _: Operator,
    ApiJson(event): ApiJson<NewEvent>,
) -> Result<(StatusCode, Json<Event>)> {
    Ok((
        StatusCode::CREATED,
        Json(coordinator.create_event(event).await?),
    ))
}

/// `?after=POSITION&limit=N` on the change log.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    /// Read entries after this position (exclusive); from the start when absent.
    pub after: Option<String>,
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// Reads the change log in commit order.
pub async fn changes_index(
    State(coordinator): State<Coordinator>,
    _: Operator,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<Json<Vec<LogEntry>>> {
    let entries = coordinator
        .changes(query.after.as_deref(), query.limit.unwrap_or(100))
        .await?;
    Ok(Json(entries))
}
