//! The OpenAPI document, generated from the handlers' annotations and the model's types,
//! served at `GET /v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{bookings, events, holds, me, operator, queue, users};

/// The coordinator's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "onsale coordinator", description = "Seat holds that never double-book, users, events and the change log."),
    paths(
        users::users_create,
        users::sessions_create,
        users::sessions_delete,
        events::events_index,
        events::events_show,
        events::seats_index,
        events::availability_show,
        holds::holds_create,
        holds::holds_show,
        holds::holds_delete,
        holds::book_event,
        bookings::checkout_create,
        bookings::bookings_show,
        bookings::webhook_create,
        bookings::ticket_key_show,
        me::notifications_index,
        operator::operator_events_create,
        operator::operator_events_update,
        operator::catalogue_show,
        operator::changes_index,
        queue::waiting_room_update,
        queue::waiting_room_show,
        queue::queue_key_show,
        queue::queue_join,
        queue::queue_show,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /v1/openapi.json`.
pub async fn openapi_show() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
