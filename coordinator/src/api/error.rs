//! The one mapping from errors to responses: `{"error": {"code", "message"}}` with the
//! code's status; internal failures are answered with a generic message. The error
//! itself rides along in the response's extensions, and [`log_failures`] logs it once,
//! with its sources, whatever handler or extractor failed.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onsale_model::ApiError;

use crate::error::Error;

/// The error a response was made from, for [`log_failures`].
#[derive(Clone)]
struct Failure(Arc<Error>);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = api_error_response(&self.to_api());
        response.extensions_mut().insert(Failure(Arc::new(self)));
        response
    }
}

/// Logs each failed request once: server errors at `error` with the whole chain of
/// sources, refusals (4xx) at `debug`.
pub async fn log_failures(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    if let Some(Failure(error)) = response.extensions_mut().remove::<Failure>() {
        let status = response.status().as_u16();
        let path = uri.path();
        if status >= 500 {
            tracing::error!(%method, path, status, error = %sources(&*error), "request failed");
        } else {
            tracing::debug!(%method, path, status, error = %error, "request refused");
        }
    }
    response
}

/// `error: its source: that one's source...`.
fn sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(source) = next {
        let _ = write!(text, ": {source}");
        next = source.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_failure_keeps_every_source() {
        let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the peer hung up");
        let error = Error::internal_from("sending an email", io);
        assert_eq!(sources(&error), "sending an email: the peer hung up");
        let response = Error::internal("an invariant").into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<Failure>().is_some());
    }
}
