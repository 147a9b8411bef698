//! `GET /v1/events`, `GET /v1/events/{id}`, `GET /v1/events/{id}/seats`.

use axum::Json;
use axum::extract::State;
use onsale_model::{Event, Page, PageQuery, SeatsResponse};

use super::extract::{ApiPath, ApiQuery};
use crate::booking::Coordinator;
use crate::error::Result;

/// A page of events in start-time order.
pub async fn events_index(
    State(coordinator): State<Coordinator>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Event>>> {
    Ok(Json(coordinator.list_events(query).await?))
}

/// One event.
pub async fn events_show(
    State(coordinator): State<Coordinator>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<Event>> {
    Ok(Json(coordinator.event(id).await?))
}

/// Every seat of an event with its state.
pub async fn seats_index(
    State(coordinator): State<Coordinator>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<SeatsResponse>> {
    Ok(Json(coordinator.seats(id).await?))
}
