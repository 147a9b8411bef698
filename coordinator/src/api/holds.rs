//! `POST /v1/events/{id}/holds`, `GET /v1/holds/{id}`, `DELETE /v1/holds/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onsale_model::{Hold, HoldRequest};

use super::extract::{ApiJson, ApiPath, AuthUser, IdempotencyKey};
use crate::booking::Coordinator;
use crate::error::Result;

/// Holds seats for the caller; a replayed `Idempotency-Key` returns the original hold
/// with `Idempotent-Replayed: true`.
pub async fn holds_create(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(event_id): ApiPath<u64>,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(request): ApiJson<HoldRequest>,
) -> Result<Response> {
    let placed = coordinator
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
pub async fn holds_show(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(hold_id): ApiPath<String>,
) -> Result<Json<Hold>> {
    Ok(Json(coordinator.hold(user, &hold_id).await?))
}

/// Releases one of the caller's holds.
pub async fn holds_delete(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
    ApiPath(hold_id): ApiPath<String>,
) -> Result<StatusCode> {
    coordinator.release_hold(user, &hold_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
