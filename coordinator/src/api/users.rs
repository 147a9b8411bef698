//! `POST /v1/users`, `POST /v1/sessions`, `DELETE /v1/sessions`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onsale_model::{ErrorBody, Login, Session, SignUp, UserCreated};

use super::extract::{ApiJson, AuthUser};
use crate::error::Result;
use crate::services::Coordinator;

/// Signs a user up.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = SignUp,
    responses(
        (status = 201, description = "Signed up", body = UserCreated),
        (status = 400, description = "A field is invalid (`invalid_request`), or the password is easy to guess (`weak_password`, the message says why)", body = ErrorBody),
        (status = 409, description = "Username taken (`username_taken`), or the email or phone is registered (`contact_taken`, not saying which)", body = ErrorBody),
        (status = 429, description = "Too many sign-ups from this address (`rate_limited`, `Retry-After`)", body = ErrorBody),
        (status = 503, description = "Password hashing is saturated (`busy`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn users_create(
    State(coordinator): State<Coordinator>,
    ApiJson(request): ApiJson<SignUp>,
) -> Result<(StatusCode, Json<UserCreated>)> {
    let user = coordinator.accounts().sign_up(request).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Logs a user in.
#[utoipa::path(post, path = "/v1/sessions", tag = "users", request_body = Login,
    responses(
        (status = 200, description = "A bearer token", body = Session),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 429, description = "Too many log-ins from this address (`rate_limited`), or too many failed log-ins for this username (`login_locked`); `Retry-After` says when to retry", body = ErrorBody),
        (status = 503, description = "Password hashing is saturated (`busy`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn sessions_create(
    State(coordinator): State<Coordinator>,
    ApiJson(request): ApiJson<Login>,
) -> Result<Json<Session>> {
    Ok(Json(coordinator.accounts().log_in(request).await?))
}

/// Signs the caller out everywhere: every token issued to the account so far, this one
/// included, is refused from now on (and its live streams close).
#[utoipa::path(delete, path = "/v1/sessions", tag = "users", security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not logged in (or already signed out)", body = ErrorBody),
    ))]
pub async fn sessions_delete(
    State(coordinator): State<Coordinator>,
    AuthUser(user): AuthUser,
) -> Result<StatusCode> {
    coordinator.accounts().sign_out(user).await?;
    Ok(StatusCode::NO_CONTENT)
}
