//! The OpenAPI document, generated from the handlers' annotations and the model's types,
//! served at `GET /v1/openapi.json`.
//!
//! Each handler documents the answers of its own logic; [`CommonResponses`] adds those
//! that layers and extractors give to every operation of a kind (malformed input, a
//! missing login, rate limits, an unavailable store), so no operation can answer a status
//! its description leaves out.

use axum::Json;
use onsale_limits::Action;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, Type};
use utoipa::openapi::{ObjectBuilder, RefOr, Response};
use utoipa::{Modify, OpenApi};

use super::{bookings, events, holds, live, me, media, operator, operators, queue, users};

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
        live::live_ws,
        live::live_sse,
        holds::holds_create,
        holds::holds_show,
        holds::holds_delete,
        holds::book_event,
        bookings::checkout_create,
        bookings::bookings_show,
        bookings::calendar_show,
        bookings::webhook_create,
        bookings::ticket_key_show,
        me::bookings_index,
        me::holds_index,
        me::notifications_index,
        me::notifications_live,
        operator::operator_events_index,
        operator::operator_events_show,
        operator::operator_seats_index,
        operator::operator_events_create,
        operator::operator_events_update,
        operator::catalogue_show,
        operator::seat_map_from_csv,
        media::image_update,
        operator::changes_index,
        operators::operator_sessions_create,
        operators::operator_sessions_delete,
        operators::operator_me_show,
        operators::operator_password_update,
        operators::operators_index,
        operators::operators_create,
        operators::operators_delete,
        operators::keys_index,
        operators::keys_create,
        operators::keys_delete,
        operators::audit_index,
        operators::checkins_create,
        operators::checkins_show,
        operators::sales_show,
        operators::orders_index,
        operators::order_show,
        operators::refund_create,
        operators::attendees_show,
        queue::waiting_room_update,
        queue::waiting_room_show,
        queue::queue_key_show,
        queue::queue_join,
        queue::queue_show,
        queue::queue_live,
    ),
    modifiers(&BearerAuth, &CommonResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A buyer's session token, from `POST /v1/sessions`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "operator",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An operator's session token (`POST /v1/operator/sessions`), an API key \
                         (`opk_…`, `POST /v1/operator/keys`) or the deployment's operator token \
                         (`onsale coordinator --operator-token`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds to each operation the answers that come from outside its handler:
/// - `400` where it takes a query, a header or a body (extractors refuse malformed ones);
/// - `401` where it needs a bearer token, and `403` where that must be the operator's;
/// - `404` where its path has a parameter (one that does not parse names nothing);
/// - `413` and `415` where it takes a body (the body limit; JSON only);
/// - `429` with `Retry-After` where the rate limits apply (`onsale_limits::Action`);
/// - `503` with `Retry-After` everywhere: the store, or the password queue, is busy or
///   unreachable.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                ("GET", &mut item.get),
                ("PUT", &mut item.put),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    add_common_responses(method, path, operation);
                }
            }
        }
    }
}

fn add_common_responses(method: &str, path: &str, operation: &mut Operation) {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let takes_input = operation.request_body.is_some()
        || parameters
            .iter()
            .any(|p| !matches!(p.parameter_in, ParameterIn::Path));
    let schemes = security_schemes(operation);
    let mut add = |status: &str, response: Response| {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert(RefOr::T(response));
    };
    if takes_input {
        add(
            "400",
            error("The request is malformed (`invalid`, `invalid_json`)"),
        );
    }
    if !schemes.is_empty() {
        add(
            "401",
            error("No valid bearer token (`unauthorized`): missing, expired or signed out"),
        );
    }
    if schemes.iter().any(|scheme| scheme == "operator") {
        add(
            "403",
            error(
                "The role of the token does not allow this (`forbidden`), or a one-time password must be replaced first (`password_change_required`)",
            ),
        );
    }
    if path.contains('{') {
        add("404", error("Nothing has this id (`not_found`)"));
    }
    if let Some(body) = &operation.request_body {
        add("413", error("The body is too large (`payload_too_large`)"));
        if body.content.contains_key("application/json") {
            add(
                "415",
                error("The body is not sent as `application/json` (`unsupported_media_type`)"),
            );
        }
    }
    let example_path = path.replace("{id}", "1");
    if Action::of(method, &example_path).is_some() {
        add(
            "429",
            waiting(error(
                "Too many of these requests from this address or account (`rate_limited`)",
            )),
        );
    }
    add(
        "503",
        waiting(error(
            "The store or the password queue is busy or unreachable (`unavailable`, `busy`); try again",
        )),
    );
    // A handler's own 429 or 503 carries the header too.
    for status in ["429", "503"] {
        if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
            with_retry_after(response);
        }
    }
}

/// The names of the security schemes an operation accepts.
fn security_schemes(operation: &Operation) -> Vec<String> {
    let requirements = operation.security.as_deref().unwrap_or_default();
    requirements
        .iter()
        .filter_map(|requirement| serde_json::to_value(requirement).ok())
        .filter_map(|value| {
            value
                .as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
        })
        .flatten()
        .collect()
}

/// An answer with the API's error body.
fn error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// `response` with the `Retry-After` header it always carries.
fn waiting(mut response: Response) -> Response {
    with_retry_after(&mut response);
    response
}

fn with_retry_after(response: &mut Response) {
    response
        .headers
        .entry("Retry-After".to_string())
        .or_insert_with(|| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before trying again"))
                .build()
        });
}

/// `GET /v1/openapi.json`.
pub async fn openapi_show() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
