//! The limits as a tower layer over an axum router.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onsale_model::{ApiError, ErrorCode};

use crate::action::Action;
use crate::client::{CLIENT_IP_HEADER, ClientAddress, ClientAddressPolicy, EDGE_SECRET_HEADER};
use crate::limiter::{Limiters, Refusal, Scope};
use crate::rate::RateLimits;

/// Finds the account a request is made for (from its bearer token), if any.
pub type AccountOf = Arc<dyn Fn(&HeaderMap) -> Option<String> + Send + Sync>;

/// Resolves each request's client address (into [`ClientAddress`]) and refuses limited
/// actions over their rate with `429 rate_limited` and `Retry-After`.
#[derive(Clone)]
pub struct RateLimitLayer {
    policy: Arc<ClientAddressPolicy>,
    limiters: Option<Arc<Limiters>>,
    account_of: Option<AccountOf>,
    forward_as_edge: bool,
}

impl RateLimitLayer {
    /// Limits `limits` (none when all are off), with client addresses per `policy`.
    pub fn new(limits: &RateLimits, policy: ClientAddressPolicy) -> Self {
        RateLimitLayer {
            policy: Arc::new(policy),
            limiters: limits.any().then(|| Arc::new(Limiters::new(limits))),
            account_of: None,
            forward_as_edge: false,
        }
    }

    /// Also limits per account, the account found by `account_of`.
    pub fn with_accounts(mut self, account_of: AccountOf) -> Self {
        self.account_of = Some(account_of);
        self
    }

    /// Marks requests for forwarding as an edge does: the client's own
    /// `X-Onsale-Client-Ip` and `X-Onsale-Edge-Secret` are replaced by the resolved
    /// address and the policy's secret (if set).
    pub fn forwarding_as_edge(mut self) -> Self {
        self.forward_as_edge = true;
        self
    }

    /// `router` behind this layer. Serve it with
    /// `into_make_service_with_connect_info::<SocketAddr>()`, or every request's address
    /// is unknown (and only per-account limits apply).
    pub fn apply<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        router.layer(axum::middleware::from_fn_with_state(self, limit))
    }

    fn forward_headers(&self, address: Option<ClientAddress>, headers: &mut HeaderMap) {
        headers.remove(CLIENT_IP_HEADER);
        headers.remove(EDGE_SECRET_HEADER);
        if let Some(ClientAddress(ip)) = address
            && let Ok(value) = HeaderValue::from_str(&ip.to_string())
        {
            headers.insert(HeaderName::from_static(CLIENT_IP_HEADER), value);
        }
        if let Some(secret) = self.policy.edge_secret()
            && let Ok(value) = HeaderValue::from_str(secret)
        {
            headers.insert(HeaderName::from_static(EDGE_SECRET_HEADER), value);
        }
    }
}

async fn limit(State(layer): State<RateLimitLayer>, mut request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let address = layer
        .policy
        .resolve(peer, request.headers())
        .map(ClientAddress);
    if let Some(address) = address {
        request.extensions_mut().insert(address);
    }
    if layer.forward_as_edge {
        layer.forward_headers(address, request.headers_mut());
    }
    if let Some(limiters) = &layer.limiters
        && let Some(action) = Action::of(request.method().as_str(), request.uri().path())
    {
        let account = layer.account_of.as_ref().and_then(|f| f(request.headers()));
        if let Err(refusal) = limiters.check(action, address.map(|a| a.0), account.as_deref()) {
            metrics::counter!("onsale_rate_limited_total", "action" => action.as_str(), "scope" => refusal.scope.as_str())
                .increment(1);
            tracing::debug!(action = action.as_str(), scope = refusal.scope.as_str(), address = ?address, "rate limited");
            return refusal_response(&refusal);
        }
    }
    next.run(request).await
}

/// `429 rate_limited` with `Retry-After` in whole seconds (at least one).
fn refusal_response(refusal: &Refusal) -> Response {
    let seconds = refusal.wait.as_secs() + u64::from(refusal.wait.subsec_nanos() > 0);
    let whose = match refusal.scope {
        Scope::Address => "from your address",
        Scope::Account => "for your account",
    };
    let error = ApiError::new(
        ErrorCode::RateLimited,
        format!(
            "too many {} {whose}; retry in {} s",
            refusal.action.noun(),
            seconds.max(1)
        ),
    )
    .with_retry_after(seconds);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.max(1).to_string())],
        Json(error.body()),
    )
        .into_response()
}
