//! The one mapping from errors to responses: `{"error": {"code", "message"}}` with the
//! code's status. Internal failures are logged in full and answered with a generic
//! message.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use onsale_model::ApiError;

use crate::error::Error;

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let api = self.to_api();
        if api.status() >= 500 {
            tracing::error!(error = %self, source = ?std::error::Error::source(&self), "request failed");
        }
        api_error_response(&api)
    }
}

/// The response for an [`ApiError`]; a `503` says when to try again (`Retry-After`).
pub fn api_error_response(api: &ApiError) -> Response {
    let status = StatusCode::from_u16(api.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        return (
            status,
            [(header::RETRY_AFTER, RETRY_AFTER_SECONDS)],
            Json(api.body()),
        )
            .into_response();
    }
    (status, Json(api.body())).into_response()
}

/// What a `503` asks clients to wait before retrying: the store and providers recover
/// (or the retry loop's next round starts) within about a second.
const RETRY_AFTER_SECONDS: &str = "1";
