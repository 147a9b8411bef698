//! Event images: `PUT /v1/operator/events/{id}/image` stores an upload (checked by its
//! content, resized, under content-addressed names) and points the event at it;
//! `GET /media/{name}` serves the stored files, immutable, for the edge to cache.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onsale_model::{ApiError, ErrorBody, ErrorCode, EventImage, ImageFile};

use super::extract::{Admin, ApiPath};
use crate::error::{Error, Result};
use crate::services::Coordinator;

/// Stores an event's picture: the image itself is the body (JPEG, PNG or WebP, at most
/// 10 MB, recognised by its content). The original and variants 320, 640 and 1280 px
/// wide are stored; the event shows the largest.
#[utoipa::path(put, path = "/v1/operator/events/{id}/image", tag = "operator",
    params(("id" = u64, Path, description = "Event id")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The image file (JPEG, PNG or WebP)"),
    security(("operator" = [])),
    responses(
        (status = 200, description = "Stored; the event's `image_url` points at it", body = EventImage),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 413, description = "Larger than 10 MB (`image_too_large`)", body = ErrorBody),
        (status = 415, description = "Not a JPEG, PNG or WebP image (`unsupported_image`, naming what it is)", body = ErrorBody),
        (status = 422, description = "Damaged, cut short, or too many pixels (`image_unreadable`, saying which)", body = ErrorBody),
        (status = 503, description = "No media store is configured, or it failed", body = ErrorBody),
    ))]
pub async fn image_update(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiPath(event_id): ApiPath<u64>,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Json<EventImage>> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::Api(
                ApiError::new(
                    ErrorCode::ImageTooLarge,
                    "the image is larger than 10 MB; the limit is 10 MB",
                )
                .at("image"),
            )
        } else {
            Error::Api(ApiError::invalid(rejection.body_text()).at("image"))
        }
    })?;
    let media = coordinator.media().ok_or_else(|| {
        Error::Api(ApiError::new(
            ErrorCode::Unavailable,
            "no media store is configured (--media)",
        ))
    })?;
    coordinator.events().event(event_id).await?;
    let stored = media.put_image(body).await?;
    let base = coordinator.settings().media_url.trim_end_matches('/');
    let url = |name: &str| format!("{base}/{name}");
    let image_url = url(&stored.main().name);
    coordinator
        .events()
        .set_image(event_id, &image_url, &by)
        .await?;
    let files = std::iter::once(&stored.original)
        .chain(&stored.variants)
        .map(|file| ImageFile {
            url: url(&file.name),
            width: file.width,
            height: file.height,
            bytes: file.bytes,
            content_type: file.content_type.to_string(),
        })
        .collect();
    Ok(Json(EventImage { image_url, files }))
}

/// A stored media file, cached by browsers and the edge for a year (its name changes
/// with its content).
pub async fn media_show(
    State(coordinator): State<Coordinator>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Response> {
    let not_found = || Error::Api(ApiError::new(ErrorCode::NotFound, "no such file"));
    let media = coordinator.media().ok_or_else(not_found)?;
    let file = media.get(&name).await?.ok_or_else(not_found)?;
    Ok(immutable(file.content_type, file.bytes))
}

/// `body` as a file whose name changes with its content: browsers and caches keep it
/// for a year.
pub(super) fn immutable(content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(onsale_media::CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
