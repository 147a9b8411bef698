//! Extractors whose rejections answer in the API's error shape: JSON bodies, paths,
//! queries, bearer tokens (buyers' and operators', by role), the `Idempotency-Key` header and the waiting room's
//! `X-Queue-Pass`.

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use onsale_model::{Actor, ApiError, ErrorCode, Role};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::Error;
use crate::operators::Authenticated;
use crate::services::Coordinator;

/// A JSON body; a malformed body is `400 invalid_json` naming the field at fault by its
/// path (`field`: `seat_map.sections[0].price`), a wrong content type `415`, an oversized
/// body `413`.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Error::code(ErrorCode::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status().as_u16() == 413 {
                Error::code(ErrorCode::PayloadTooLarge)
            } else {
                Error::Api(ApiError::new(ErrorCode::InvalidJson, rejection.body_text()))
            }
        })?;
        let mut body = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut body)
            .map(ApiJson)
            .map_err(|e| Error::Api(json_error(e)))
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A body that did not decode, told as what is wrong with which field.
fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    let (line, column) = (inner.line(), inner.column());
    match inner.classify() {
        serde_json::error::Category::Syntax => ApiError::new(
            ErrorCode::InvalidJson,
            format!("the body is not valid JSON (line {line}, column {column})"),
        ),
        serde_json::error::Category::Eof => {
            ApiError::new(ErrorCode::InvalidJson, "the body ends before its JSON does")
        }
        _ => {
            let text = inner.to_string();
            let text = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(message, _)| message);
            let parent = (path != ".").then_some(path);
            if let Some(missing) = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.strip_suffix('`'))
            {
                let field = match parent {
                    Some(parent) => format!("{parent}.{missing}"),
                    None => missing.to_string(),
                };
                return ApiError::new(ErrorCode::InvalidJson, format!("{field} is required"))
                    .at(field);
            }
            match parent {
                Some(field) => {
                    ApiError::new(ErrorCode::InvalidJson, format!("{field}: {text}")).at(field)
                }
                None => ApiError::new(ErrorCode::InvalidJson, text.to_string()),
            }
        }
    }
}

/// Path parameters; a segment that does not parse (`/v1/events/abc`) is `404`.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection @ PathRejection::FailedToDeserializePathParams(_)) => Err(Error::Api(
                ApiError::new(ErrorCode::NotFound, rejection.body_text()),
            )),
            Err(rejection) => Err(Error::internal_from(
                "reading the client's address",
                rejection,
            )),
        }
    }
}

/// Query parameters; malformed ones are `400 invalid_request`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| {
                Error::Api(ApiError::invalid(rejection.body_text()))
            })
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(axum::http::header::AUTHORIZATION)?;
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The user of a valid bearer token (signed, unexpired, not signed out), or
/// `401 unauthorized`.
pub struct AuthUser(pub Uuid);

impl FromRequestParts<Coordinator> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        coordinator: &Coordinator,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
        coordinator
            .accounts()
            .authenticate(token)
            .await
            .map(AuthUser)
    }
}

/// An operator call of any role (an account, an API key or the operator token), or
/// `401`; an operator who must first replace a one-time password is refused with `403
/// password_change_required`.
pub struct Staff(pub Actor);

/// An operator call that needs the `admin` role, or `401`/`403`.
pub struct Admin(pub Actor);

/// A signed-in operator, even one who must first replace a one-time password: for
/// changing it, and for signing out.
pub struct SignedInOperator(pub Actor);

async fn authenticate_operator(
    parts: &Parts,
    coordinator: &Coordinator,
) -> Result<Authenticated, Error> {
    let token = bearer(parts).ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
    coordinator.operators().authenticate(token).await
}

async fn operator_with_password(parts: &Parts, coordinator: &Coordinator) -> Result<Actor, Error> {
    let operator = authenticate_operator(parts, coordinator).await?;
    if operator.password_change_required {
        return Err(Error::code(ErrorCode::PasswordChangeRequired));
    }
    Ok(operator.actor)
}

impl FromRequestParts<Coordinator> for Staff {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        coordinator: &Coordinator,
    ) -> Result<Self, Self::Rejection> {
        operator_with_password(parts, coordinator).await.map(Staff)
    }
}

impl FromRequestParts<Coordinator> for Admin {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        coordinator: &Coordinator,
    ) -> Result<Self, Self::Rejection> {
        let actor = operator_with_password(parts, coordinator).await?;
        if !actor.can(Role::Admin) {
            return Err(Error::Api(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "this call needs an admin; {} is {}",
                    actor.name,
                    actor.role.as_str()
                ),
            )));
        }
        Ok(Admin(actor))
    }
}

impl FromRequestParts<Coordinator> for SignedInOperator {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        coordinator: &Coordinator,
    ) -> Result<Self, Self::Rejection> {
        authenticate_operator(parts, coordinator)
            .await
            .map(|operator| SignedInOperator(operator.actor))
    }
}

/// The `X-Queue-Pass` header, if sent; whether it is needed and valid is the waiting
/// room's call ([`Coordinator::check_queue_pass`]). A value that is not text is kept
/// as an empty pass, which is refused as malformed.
pub struct QueuePass(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for QueuePass {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueuePass(parts.headers.get(onsale_pass::PASS_HEADER).map(
            |value| value.to_str().unwrap_or_default().to_string(),
        )))
    }
}

/// The `Idempotency-Key` header, required on writes that must not happen twice.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for IdempotencyKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Error> {
        if parts.headers.contains_key("idempotency-key") {
            <Self as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get("idempotency-key")
            .ok_or_else(|| Error::code(ErrorCode::IdempotencyKeyRequired))?;
        let key = value
            .to_str()
            .map_err(|_| Error::Api(ApiError::invalid("Idempotency-Key must be visible ASCII")))?;
        Ok(IdempotencyKey(key.to_string()))
    }
}
