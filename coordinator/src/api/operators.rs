//! The operator's own calls: sign-in and out, the password, operator accounts and API
//! keys (admin), the audit trail (admin), door check-in (staff), an event's sales and
//! orders (staff), the attendee list and refunds (admin).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use onsale_model::{
    Actor, ApiKeyCreated, ApiKeyView, AuditEntry, CheckIn, CheckInCount, CheckInRequest, ErrorBody,
    NewApiKey, NewOperator, OperatorCreated, OperatorLogin, OperatorSession, OperatorView, Order,
    OrderDetail, Page, PageQuery, PasswordChange, RefundRequest, Sales,
};
use serde::Deserialize;

use super::extract::{Admin, ApiJson, ApiPath, ApiQuery, SignedInOperator, Staff};
use crate::error::Result;
use crate::services::Coordinator;

/// Signs an operator in with name and password.
#[utoipa::path(post, path = "/v1/operator/sessions", tag = "operator", request_body = OperatorLogin,
    responses(
        (status = 200, description = "A bearer token; `operator.password_change_required` says whether a one-time password must be replaced first", body = OperatorSession),
        (status = 401, description = "Wrong name or password", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins for this name (`login_locked`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn operator_sessions_create(
    State(coordinator): State<Coordinator>,
    ApiJson(login): ApiJson<OperatorLogin>,
) -> Result<Json<OperatorSession>> {
    Ok(Json(coordinator.operators().sign_in(login).await?))
}

/// Ends every session of the signed-in operator.
#[utoipa::path(delete, path = "/v1/operator/sessions", tag = "operator",
    security(("operator" = [])),
    responses(
        (status = 204, description = "Signed out everywhere"),
        (status = 400, description = "An API key, which is revoked instead", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub async fn operator_sessions_delete(
    State(coordinator): State<Coordinator>,
    SignedInOperator(actor): SignedInOperator,
) -> Result<StatusCode> {
    coordinator.operators().sign_out(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is: an operator or an API key, with its role.
#[utoipa::path(get, path = "/v1/operator/me", tag = "operator",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The caller", body = Actor),
        (status = 401, description = "No valid operator token", body = ErrorBody),
    ))]
pub async fn operator_me_show(SignedInOperator(actor): SignedInOperator) -> Json<Actor> {
    Json(actor)
}

/// Replaces the signed-in operator's password (first of all a one-time password).
#[utoipa::path(put, path = "/v1/operator/me/password", tag = "operator",
    request_body = PasswordChange, security(("operator" = [])),
    responses(
        (status = 200, description = "Changed; every earlier session of the account ended, and this is the new one", body = OperatorSession),
        (status = 400, description = "The new password is too short or easy to guess (`weak_password`, `field`)", body = ErrorBody),
        (status = 401, description = "The current password is wrong (`invalid_credentials`)", body = ErrorBody),
    ))]
pub async fn operator_password_update(
    State(coordinator): State<Coordinator>,
    SignedInOperator(actor): SignedInOperator,
    ApiJson(change): ApiJson<PasswordChange>,
) -> Result<Json<OperatorSession>> {
    Ok(Json(
        coordinator
            .operators()
            .change_password(&actor, change)
            .await?,
    ))
}

/// Every operator account.
#[utoipa::path(get, path = "/v1/operator/operators", tag = "operator",
    security(("operator" = [])),
    responses(
        (status = 200, description = "By name", body = Vec<OperatorView>),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn operators_index(
    State(coordinator): State<Coordinator>,
    _: Admin,
) -> Result<Json<Vec<OperatorView>>> {
    Ok(Json(coordinator.operators().list().await?))
}

/// Adds an operator account with a one-time password.
#[utoipa::path(post, path = "/v1/operator/operators", tag = "operator",
    request_body = NewOperator, security(("operator" = [])),
    responses(
        (status = 201, description = "Added; the password is shown only now", body = OperatorCreated),
        (status = 400, description = "A bad name (`field`: `name`)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
pub async fn operators_create(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiJson(new): ApiJson<NewOperator>,
) -> Result<(StatusCode, Json<OperatorCreated>)> {
    let created = coordinator.operators().add(new, &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Removes an operator account; its sessions end at once.
#[utoipa::path(delete, path = "/v1/operator/operators/{id}", tag = "operator",
    security(("operator" = [])),
    params(("id" = String, Path, description = "Operator id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such operator", body = ErrorBody),
    ))]
pub async fn operators_delete(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode> {
    coordinator.operators().remove(&id, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every API key (never their secrets).
#[utoipa::path(get, path = "/v1/operator/keys", tag = "operator",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Newest first, revoked ones included", body = Vec<ApiKeyView>),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn keys_index(
    State(coordinator): State<Coordinator>,
    _: Admin,
) -> Result<Json<Vec<ApiKeyView>>> {
    Ok(Json(coordinator.operators().keys().await?))
}

/// Makes an API key for automation.
#[utoipa::path(post, path = "/v1/operator/keys", tag = "operator",
    request_body = NewApiKey, security(("operator" = [])),
    responses(
        (status = 201, description = "Made; the secret is shown only now", body = ApiKeyCreated),
        (status = 400, description = "A bad name (`field`: `name`)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn keys_create(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiJson(new): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyCreated>)> {
    let created = coordinator.operators().create_key(new, &by).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes an API key for good.
#[utoipa::path(delete, path = "/v1/operator/keys/{id}", tag = "operator",
    security(("operator" = [])),
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "Revoked (again: unchanged)", body = ApiKeyView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such key", body = ErrorBody),
    ))]
pub async fn keys_delete(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApiKeyView>> {
    Ok(Json(coordinator.operators().revoke_key(&id, &by).await?))
}

/// `?before=ID&limit=N` on the audit trail.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this entry (its `id`); the newest when absent.
    pub before: Option<String>,
    /// At most this many (default 50, at most 200).
    #[param(minimum = 0)]
    pub limit: Option<usize>,
}

/// The audit trail, newest first: who did what, to what, when.
#[utoipa::path(get, path = "/v1/operator/audit", tag = "operator", params(AuditQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "Newest first", body = Vec<AuditEntry>),
        (status = 400, description = "A malformed `before`", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ))]
pub async fn audit_index(
    State(coordinator): State<Coordinator>,
    _: Admin,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>> {
    Ok(Json(
        coordinator
            .audit_trail(query.before.as_deref(), query.limit.unwrap_or(50))
            .await?,
    ))
}

/// Admits a ticket at the door, once.
#[utoipa::path(post, path = "/v1/operator/checkins", tag = "operator",
    request_body = CheckInRequest, security(("operator" = [])),
    responses(
        (status = 200, description = "Admitted: the seat and the holder", body = CheckIn),
        (status = 400, description = "Not a ticket of ours (`ticket_invalid`)", body = ErrorBody),
        (status = 409, description = "Admitted before (`already_checked_in`, with `checked_in`: when and by whom), or for another event (`ticket_wrong_event`)", body = ErrorBody),
        (status = 410, description = "The booking was refunded or cancelled (`ticket_void`)", body = ErrorBody),
    ))]
pub async fn checkins_create(
    State(coordinator): State<Coordinator>,
    Staff(by): Staff,
    ApiJson(request): ApiJson<CheckInRequest>,
) -> Result<Json<CheckIn>> {
    Ok(Json(coordinator.bookings().check_in(request, &by).await?))
}

/// How many of an event's tickets were admitted so far.
#[utoipa::path(get, path = "/v1/operator/events/{id}/checkins", tag = "operator",
    security(("operator" = [])),
    params(("id" = u64, Path, description = "Event id")),
    responses(
        (status = 200, description = "Admitted and sold", body = CheckInCount),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn checkins_show(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(event_id): ApiPath<u64>,
) -> Result<Json<CheckInCount>> {
    Ok(Json(coordinator.bookings().check_in_count(event_id).await?))
}

/// `?minutes=N` of an event's sales.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// The minutes `per_minute` covers, ending now (default 60, at most 1440).
    #[param(minimum = 1, maximum = 1440)]
    pub minutes: Option<u32>,
}

/// What an event has sold: seats, revenue by price, seats per minute, check-ins.
#[utoipa::path(get, path = "/v1/operator/events/{id}/sales", tag = "operator",
    params(("id" = u64, Path, description = "Event id"), SalesQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The event's sales now", body = Sales),
        (status = 400, description = "`minutes` out of range", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn sales_show(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<SalesQuery>,
) -> Result<Json<Sales>> {
    Ok(Json(
        coordinator
            .bookings()
            .sales(event_id, query.minutes.unwrap_or(60))
            .await?,
    ))
}

/// `?q=TEXT&page=&page_size=` on an event's orders.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrdersQuery {
    /// An order code, the start of a booking id, or part of a buyer's username or email.
    pub q: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Orders per page (1-100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
}

/// An event's orders, newest first, optionally searched.
#[utoipa::path(get, path = "/v1/operator/events/{id}/orders", tag = "operator",
    params(("id" = u64, Path, description = "Event id"), OrdersQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "A page of orders", body = Page<Order>),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn orders_index(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<OrdersQuery>,
) -> Result<Json<Page<Order>>> {
    let page = PageQuery {
        page: query.page.unwrap_or(1),
        page_size: query.page_size.unwrap_or(20),
    };
    Ok(Json(
        coordinator
            .bookings()
            .orders(event_id, query.q.as_deref(), page)
            .await?,
    ))
}

/// One booking, with its tickets and whether each was admitted.
#[utoipa::path(get, path = "/v1/operator/bookings/{id}", tag = "operator",
    params(("id" = String, Path, description = "Booking id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The booking", body = OrderDetail),
        (status = 404, description = "No such booking", body = ErrorBody),
    ))]
pub async fn order_show(
    State(coordinator): State<Coordinator>,
    _: Staff,
    ApiPath(booking_id): ApiPath<String>,
) -> Result<Json<OrderDetail>> {
    Ok(Json(
        coordinator.bookings().order_detail(&booking_id).await?,
    ))
}

/// Cancels a paid booking and refunds it: seats back on sale, tickets void, the buyer
/// told; again, it changes nothing.
#[utoipa::path(post, path = "/v1/operator/bookings/{id}/refund", tag = "operator",
    params(("id" = String, Path, description = "Booking id")),
    request_body = RefundRequest, security(("operator" = [])),
    responses(
        (status = 200, description = "Cancelled; the refund is requested of the provider", body = OrderDetail),
        (status = 400, description = "A reason too long (`field`: `reason`)", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such booking", body = ErrorBody),
        (status = 409, description = "Not paid yet (`checkout_in_progress`) or never paid (`not_refundable`)", body = ErrorBody),
    ))]
pub async fn refund_create(
    State(coordinator): State<Coordinator>,
    Admin(by): Admin,
    ApiPath(booking_id): ApiPath<String>,
    ApiJson(request): ApiJson<RefundRequest>,
) -> Result<Json<OrderDetail>> {
    Ok(Json(
        coordinator
            .bookings()
            .refund_by_operator(&booking_id, request, &by)
            .await?,
    ))
}

/// The attendees of an event as CSV (one line per seat of each paid booking), for a
/// spreadsheet or a badge printer.
#[utoipa::path(get, path = "/v1/operator/events/{id}/attendees.csv", tag = "operator",
    params(("id" = u64, Path, description = "Event id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "RFC 4180 CSV with a header line", content_type = "text/csv", body = String),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
    ))]
pub async fn attendees_show(
    State(coordinator): State<Coordinator>,
    _: Admin,
    ApiPath(event_id): ApiPath<u64>,
) -> Result<impl IntoResponse> {
    let csv = coordinator.bookings().attendees_csv(event_id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"event-{event_id}-attendees.csv\""),
            ),
        ],
        csv,
    ))
}
