//! `POST /v1/users`, `POST /v1/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onsale_model::{Login, Session, SignUp, UserCreated};

use super::extract::ApiJson;
use crate::booking::Coordinator;
use crate::error::Result;

/// Signs a user up.
pub async fn users_create(
    State(coordinator): State<Coordinator>,
    ApiJson(request): ApiJson<SignUp>,
) -> Result<(StatusCode, Json<UserCreated>)> {
    let user = coordinator.sign_up(request).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Logs a user in.
pub async fn sessions_create(
    State(coordinator): State<Coordinator>,
    ApiJson(request): ApiJson<Login>,
) -> Result<Json<Session>> {
    Ok(Json(coordinator.log_in(request).await?))
}
