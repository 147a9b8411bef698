//! Operator calls: events (list, read, create, change, publish), a seat
//! map from CSV, the catalogue, `GET /v1/changes`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onsale_model::{
    Catalogue, ErrorBody, Event, EventDetails, LogEntry, LogPosition, NewEvent, Page, PageQuery,
    SeatMapSpec, SeatsResponse,
};
use serde::Deserialize;

use super::extract::{Admin, ApiJson, ApiPath, ApiQuery, Staff};
use crate::error::Result;
use crate::services::Coordinator;

/// Creates an event with its seat map.
#[utoipa::path(post, path = "/v1/operator/events", tag = "operator", request_body = NewEvent,
    security(("operator" = [])),
    responses(
        (status = 201, description = "Created; every seat is available", body = Event),
        (status = 400, description = "Invalid details or seat map", body = ErrorBody),
        (status = 401, description = "No token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn operator_events_create(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiJson(event): ApiJson<NewEvent>,
) -> Result<(StatusCode, Json<Event>)> {
    Ok((
        StatusCode::CREATED,
        Json(coordinator.events().create_event(event, &by).await?),
    ))
}

/// Changes an event's details.
#[utoipa::path(put, path = "/v1/operator/events/{id}", tag = "operator", request_body = EventDetails,
    security(("operator" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Updated", body = Event),
        (status = 400, description = "Invalid details (such as max_seats_per_account outside 1-100), or a currency change", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn operator_events_update(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiPath(id): ApiPath<u64>,
    ApiJson(details): ApiJson<EventDetails>,
) -> Result<Json<Event>> {
    Ok(Json(
        coordinator.events().update_event(id, details, &by).await?,
    ))
}

/// Every event, drafts first, for the console.
#[utoipa::path(get, path = "/v1/operator/events", tag = "operator", params(PageQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "A page of events: the drafts, then the published events in start-time order", body = Page<Event>),
        (status = 400, description = "Bad paging", body = ErrorBody),
    ))]
pub async fn operator_events_index(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<Event>>> {
    Ok(Json(coordinator.events().operator_events(query).await?))
}

/// One event, draft or published.
#[utoipa::path(get, path = "/v1/operator/events/{id}", tag = "operator",
    security(("operator" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event", body = Event),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn operator_events_show(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<Event>> {
    Ok(Json(coordinator.events().event(id).await?))
}

/// Every seat of an event, draft or published, with its state (the console's seat map).
#[utoipa::path(get, path = "/v1/operator/events/{id}/seats", tag = "operator",
    security(("operator" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Every seat and its state", body = SeatsResponse),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn operator_seats_index(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<SeatsResponse>> {
    Ok(Json(coordinator.events().seats(id).await?))
}

/// Reads a seat map from CSV (`section,row,seat,price`, one line per seat, a header line
/// optional), for the body of `POST /v1/operator/events`; nothing is stored.
#[utoipa::path(post, path = "/v1/operator/seat-maps/from-csv", tag = "operator",
    request_body(content = String, content_type = "text/csv", description = "One line per seat: section,row,seat,price"),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The seat map", body = SeatMapSpec),
        (status = 400, description = "A line that does not read (`field`: `line N`), or a row with gaps in its seat numbers", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn seat_map_from_csv(_: Admin, body: axum::body::Bytes) -> Result<Json<SeatMapSpec>> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| onsale_model::ApiError::invalid("the CSV must be UTF-8 text").at("line 1"))?;
    let spec = onsale_model::seat_csv::seat_map_from_csv(text)?;
    onsale_model::SeatMap::compile(&spec)?;
    Ok(Json(spec))
}

/// Every event and the change-log position they are current at.
#[utoipa::path(get, path = "/v1/operator/catalogue", tag = "operator",
    security(("operator" = [])),
    responses((status = 200, description = "The whole catalogue", body = Catalogue)))]
pub async fn catalogue_show(
    State(coordinator): State<Coordinator>,
    _: Staff,
) -> Result<Json<Catalogue>> {
    Ok(Json(coordinator.events().catalogue().await?))
}

/// `?after=POSITION&limit=N` on the change log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Read entries after this position (exclusive); from the start when absent.
    #[param(value_type = Option<String>, pattern = "^[0-9a-fA-F]{24}$")]
    pub after: Option<LogPosition>,
    /// At most this many entries (default 100; asking for more than 1000 gives 1000).
    #[param(minimum = 0)]
    pub limit: Option<usize>,
}

/// Reads the change log in commit order.
#[utoipa::path(get, path = "/v1/changes", tag = "operator", params(ChangesQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "Entries after the position, oldest first", body = Vec<LogEntry>),
        (status = 400, description = "Malformed position", body = ErrorBody),
    ))]
pub async fn changes_index(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> Result<Json<Vec<LogEntry>>> {
    let entries = coordinator
        .changelog()
        .read_after(query.after, query.limit.unwrap_or(100))
        .await?;
    Ok(Json(entries))
}
