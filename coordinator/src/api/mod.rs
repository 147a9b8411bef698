//! The coordinator's HTTP API: JSON under `/v1`, one file per resource, one error shape;
//! and the operator console's pages under `/operator`.

mod bookings;
mod console;
mod error;
mod events;
mod extract;
mod holds;
mod live;
mod me;
mod media;
pub mod metrics;
mod openapi;
mod operator;
mod operators;
mod queue;
mod users;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::routing::{get, post};
use onsale_limits::RateLimitLayer;
use onsale_model::{ApiError, ErrorCode};
use tower_http::CompressionLevel;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

pub use error::api_error_response;
pub use openapi::ApiDoc;

use crate::services::Coordinator;

/// Largest request body accepted (an event with a large seat map fits).
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// The whole API as a router, ready to serve.
pub fn router(coordinator: Coordinator) -> Router {
    metrics::handle();
    let limits = rate_limit_layer(&coordinator);
    let routes = Router::new()
        .route("/v1/users", post(users::users_create))
        .route(
            "/v1/sessions",
            post(users::sessions_create).delete(users::sessions_delete),
        )
        .route("/v1/events", get(events::events_index))
        .route("/v1/events/{id}", get(events::events_show))
        .route("/v1/events/{id}/seats", get(events::seats_index))
        .route(
            "/v1/events/{id}/availability",
            get(events::availability_show),
        )
        .route("/v1/events/{id}/holds", post(holds::holds_create))
        .route(
            "/v1/events/{id}/queue",
            post(queue::queue_join).get(queue::queue_show),
        )
        .route(
            "/v1/events/{id}/queue/live",
            get(queue::queue_live).layer(live_feed_cors()),
        )
        .route("/v1/events/{id}/live", get(live::live_ws))
        .route(
            "/v1/events/{id}/live.sse",
            get(live::live_sse).layer(live_feed_cors()),
        )
        .route(
            "/v1/holds/{id}",
            get(holds::holds_show).delete(holds::holds_delete),
        )
        .route(
            "/v1/operator/events",
            get(operator::operator_events_index).post(operator::operator_events_create),
        )
        .route(
            "/v1/operator/events/{id}",
            get(operator::operator_events_show).put(operator::operator_events_update),
        )
        .route(
            "/v1/operator/events/{id}/seats",
            get(operator::operator_seats_index),
        )
        .route(
            "/v1/operator/events/{id}/waiting-room",
            get(queue::waiting_room_show).put(queue::waiting_room_update),
        )
        .route(
            "/v1/operator/sessions",
            post(operators::operator_sessions_create).delete(operators::operator_sessions_delete),
        )
        .route("/v1/operator/me", get(operators::operator_me_show))
        .route(
            "/v1/operator/me/password",
            axum::routing::put(operators::operator_password_update),
        )
        .route(
            "/v1/operator/operators",
            get(operators::operators_index).post(operators::operators_create),
        )
        .route(
            "/v1/operator/operators/{id}",
            axum::routing::delete(operators::operators_delete),
        )
        .route(
            "/v1/operator/keys",
            get(operators::keys_index).post(operators::keys_create),
        )
        .route(
            "/v1/operator/keys/{id}",
            axum::routing::delete(operators::keys_delete),
        )
        .route("/v1/operator/audit", get(operators::audit_index))
        .route("/v1/operator/checkins", post(operators::checkins_create))
        .route("/v1/operator/events/{id}/sales", get(operators::sales_show))
        .route(
            "/v1/operator/events/{id}/orders",
            get(operators::orders_index),
        )
        .route(
            "/v1/operator/events/{id}/attendees.csv",
            get(operators::attendees_show),
        )
        .route("/v1/operator/bookings/{id}", get(operators::order_show))
        .route(
            "/v1/operator/bookings/{id}/refund",
            post(operators::refund_create),
        )
        .route(
            "/v1/operator/events/{id}/checkins",
            get(operators::checkins_show),
        )
        .route("/v1/operator/queue-key", get(queue::queue_key_show))
        .route("/v1/operator/catalogue", get(operator::catalogue_show))
        .route(
            "/v1/operator/events/{id}/image",
            axum::routing::put(media::image_update)
                .layer(DefaultBodyLimit::max(onsale_media::MAX_IMAGE_BYTES + 1)),
        )
        .route("/media/{*name}", get(media::media_show))
        .route(
            "/v1/operator/seat-maps/from-csv",
            post(operator::seat_map_from_csv),
        )
        .route("/v1/changes", get(operator::changes_index))
        .route("/v1/holds/{id}/checkout", post(bookings::checkout_create))
        .route("/v1/bookings/{id}", get(bookings::bookings_show))
        .route(
            "/v1/bookings/{id}/calendar.ics",
            get(bookings::calendar_show),
        )
        .route("/v1/payments/webhook", post(bookings::webhook_create))
        .route("/v1/tickets/public-key", get(bookings::ticket_key_show))
        .route("/v1/me/bookings", get(me::bookings_index))
        .route("/v1/me/holds", get(me::holds_index))
        .route("/v1/me/notifications", get(me::notifications_index))
        .route("/v1/me/notifications/live", get(me::notifications_live))
        .route("/bookEvent", post(holds::book_event))
        .route("/v1/openapi.json", get(openapi::openapi_show))
        .route("/operator", get(console::events_page))
        .route("/operator/sign-in", get(console::sign_in_page))
        .route("/operator/events/new", get(console::new_event_page))
        .route("/operator/events/{id}", get(console::event_page))
        .route("/operator/events/{id}/sales", get(console::sales_page))
        .route("/operator/checkin", get(console::checkin_page))
        .route("/operator/team", get(console::team_page))
        .route("/operator/audit", get(console::audit_page))
        .route("/static/{file}", get(console::static_file))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::metrics_show))
        .fallback(|| async {
            api_error_response(&ApiError::new(ErrorCode::NotFound, "no such path"))
        })
        .method_not_allowed_fallback(|| async {
            api_error_response(&ApiError::code(ErrorCode::MethodNotAllowed))
        });
    limits
        .apply(routes)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(error::log_failures))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Brotli or gzip by Accept-Encoding, at a level that keeps a big seat list to a
        // few milliseconds (brotli's default, 11, takes a hundred times as long); live
        // streams, small and binary answers go out as they are.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(|_| {
            api_error_response(&ApiError::code(ErrorCode::Internal))
        }))
        .with_state(coordinator)
}

/// The rate limits of the settings, per client address (resolved per the settings'
/// trusted edges) and per account (the user of a valid bearer token).
fn rate_limit_layer(coordinator: &Coordinator) -> RateLimitLayer {
    let settings = coordinator.settings();
    let verifier = coordinator.clone();
    RateLimitLayer::new(&settings.rate_limits, settings.client_address.clone()).with_accounts(
        Arc::new(move |headers| {
            let (scheme, token) = headers
                .get(header::AUTHORIZATION)?
                .to_str()
                .ok()?
                .split_once(' ')?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return None;
            }
            let claims = verifier
                .secrets()
                .verify_token(token.trim(), verifier.clock().now())?;
            Some(claims.user_id.to_string())
        }),
    )
}

/// The live feeds that browsers open from the edge's pages, on another origin: public
/// data (a queue ticket names its holder's place; no cookies are involved), readable by
/// any page. WebSockets need no such header.
fn live_feed_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET])
}

/// Serves the API on `listener` with the default limits (`onsale_server::Limits`) until
/// `shutdown` completes, then drains open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    coordinator: Coordinator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    onsale_server::serve(
        listener,
        router(coordinator),
        onsale_server::Settings::plain("coordinator"),
        shutdown,
    )
    .await
}
