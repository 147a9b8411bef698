//! `GET /v1/events`, `GET /v1/events/{id}`, `GET /v1/events/{id}/seats`.

use axum::Json;
use axum::extract::State;
use onsale_model::{Availability, ErrorBody, Event, Page, PageQuery, SeatsResponse};

use super::extract::{ApiPath, ApiQuery};
use crate::error::Result;
use crate::services::Coordinator;

/// A page of published events in start-time order.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(PageQuery),
    responses(
        (status = 200, description = "A page of events", body = Page<Event>),
        (status = 400, description = "Bad paging", body = ErrorBody),
    ))]
pub async fn events_index(
    State(coordinator): State<Coordinator>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Event>>> {
    Ok(Json(coordinator.events().list_events(query).await?))
}

/// One published event (a draft is not found).
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events",
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn events_show(
    State(coordinator): State<Coordinator>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<Event>> {
    Ok(Json(coordinator.events().published_event(id).await?))
}

/// Every seat of an event with its state.
#[utoipa::path(get, path = "/v1/events/{id}/seats", tag = "events",
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Every seat and its state", body = SeatsResponse),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn seats_index(
    State(coordinator): State<Coordinator>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<SeatsResponse>> {
    coordinator.events().published_event(id).await?;
    Ok(Json(coordinator.events().seats(id).await?))
}

/// How many seats are available, held and sold now.
#[utoipa::path(get, path = "/v1/events/{id}/availability", tag = "events",
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Seat counts by state", body = Availability),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn availability_show(
    State(coordinator): State<Coordinator>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<Availability>> {
    coordinator.events().published_event(id).await?;
    Ok(Json(coordinator.events().availability(id).await?))
}
