//! The one mapping from errors to responses: `{"error": {"code", "message"}}` with the
//! code's status. Internal failures are logged in full and answered with a generic
//! message.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
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

/// The response for an [`ApiError`], with `Retry-After` when it asks for a wait (every
/// `503` does: [`ApiError::wait_seconds`]).
pub fn api_error_response(api: &ApiError) -> Response {
    let status = StatusCode::from_u16(api.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(api.body())).into_response();
    if let Some(seconds) = api.wait_seconds() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
