//! The sandbox payment provider: the subset of Stripe's API that the coordinator's
//! [`stripe`] provider uses (Checkout Sessions, PaymentIntents, Refunds) plus a payment
//! page where the buyer pays, has a card declined, or leaves. What happens is sent to
//! the coordinator as a webhook over real HTTP, signed like Stripe's. `onsale dev` runs
//! it; `onsale sandbox-pay` runs it alone.
//!
//! A Checkout Session's page behaves as Stripe's hosted page: a declined card is tried
//! again on the page (no webhook), paying sends `checkout.session.completed` and returns
//! the buyer to `success_url`, leaving returns them to `cancel_url` with the session
//! still open until it expires. A bare PaymentIntent's page reports each outcome.
//!
//! State is in memory: the sandbox is for trying the purchase flow, not for money.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use onsale_coordinator::clock::{Clock, SystemClock};
use onsale_coordinator::payments::stripe;

#[derive(Debug, Clone)]
struct Intent {
    id: String,
    amount: u64,
    currency: String,
    description: String,
    booking_id: String,
    /// When the shop's hold on the seats ends (Unix seconds), if it said.
    pay_by: Option<i64>,
    client_secret: String,
    status: &'static str,
}

/// A Checkout Session and the intent that takes its money.
#[derive(Debug, Clone)]
struct Session {
    id: String,
    intent_id: String,
    amount: u64,
    currency: String,
    name: String,
    booking_id: String,
    pay_by: Option<i64>,
    success_url: String,
    cancel_url: String,
    /// Unix seconds.
    expires_at: i64,
    /// `open`, `complete` or `expired`.
    status: &'static str,
    /// Set when the last card tried on the page was declined.
    declined: bool,
}

#[derive(Default)]
struct Ledger {
    intents: HashMap<String, Intent>,
    sessions: HashMap<String, Session>,
    /// Idempotency-Key → the object first created with it.
    keys: HashMap<String, String>,
    /// Refunded payment ids, in order.
    refunds: Vec<String>,
}

/// A running sandbox provider.
pub struct Sandbox {
    public_url: String,
    webhook_url: String,
    webhook_secret: String,
    ledger: Mutex<Ledger>,
    client: reqwest::Client,
}

impl Sandbox {
    /// A sandbox reachable at `public_url` that reports to `webhook_url`, signing with
    /// `webhook_secret`.
    pub fn new(public_url: &str, webhook_url: &str, webhook_secret: &str) -> Arc<Self> {
        Arc::new(Sandbox {
            public_url: public_url.trim_end_matches('/').to_string(),
            webhook_url: webhook_url.to_string(),
            webhook_secret: webhook_secret.to_string(),
            ledger: Mutex::new(Ledger::default()),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        })
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn intent_json(&self, intent: &Intent) -> Value {
        json!({
            "id": intent.id,
            "object": "payment_intent",
            "amount": intent.amount,
            "amount_received": if intent.status == "succeeded" { intent.amount } else { 0 },
            "currency": intent.currency,
            "description": intent.description,
            "status": intent.status,
            "client_secret": intent.client_secret,
            "metadata": {"booking_id": intent.booking_id},
            "url": format!("{}/pay/{}", self.public_url, intent.id),
        })
    }

    fn session_json(&self, session: &Session) -> Value {
        let paid = session.status == "complete";
        json!({
            "id": session.id,
            "object": "checkout.session",
            "mode": "payment",
            "amount_total": session.amount,
            "currency": session.currency,
            "client_reference_id": session.booking_id,
            "status": session.status,
            "payment_status": if paid { "paid" } else { "unpaid" },
            "payment_intent": if paid { Value::from(session.intent_id.clone()) } else { Value::Null },
            "expires_at": session.expires_at,
            "success_url": session.success_url,
            "cancel_url": session.cancel_url,
            "metadata": {"booking_id": session.booking_id},
            "url": if session.status == "open" {
                Value::from(format!("{}/pay/{}", self.public_url, session.id))
            } else {
                Value::Null
            },
        })
    }

    /// Sends the signed webhook for an intent's outcome; returns the coordinator's status.
    async fn report(&self, intent: &Intent, kind: &str) -> Result<u16, String> {
        self.send_event(kind, self.intent_json(intent)).await
    }

    /// Sends a signed webhook of `kind` about `object`; returns the coordinator's status.
    async fn send_event(&self, kind: &str, object: Value) -> Result<u16, String> {
        let body = serde_json::to_vec(&json!({
            "id": format!("evt_{}", Uuid::new_v4().simple()),
            "object": "event",
            "type": kind,
            "data": {"object": object},
        }))
        .map_err(|e| e.to_string())?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let response = self
            .client
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .header(
                "Stripe-Signature",
                stripe::sign(&self.webhook_secret, now, &body),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(response.status().as_u16())
    }
}

/// The sandbox's routes.
pub fn router(sandbox: Arc<Sandbox>) -> Router {
    Router::new()
        .route("/v1/payment_intents", post(intents_create))
        .route("/v1/payment_intents/{id}/cancel", post(intents_cancel))
        .route("/v1/checkout/sessions", post(sessions_create))
        .route("/v1/checkout/sessions/{id}", get(sessions_show))
        .route("/v1/checkout/sessions/{id}/expire", post(sessions_expire))
        .route("/v1/refunds", post(refunds_create).get(refunds_index))
        .route("/pay/{id}", get(pay_show))
        .route("/pay/{id}/{outcome}", post(pay_decide))
        .layer(axum::middleware::map_response(protect_page))
        .with_state(sandbox)
}

/// The payment page's look, inline: the policy below names it by its hash.
const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:480px;margin:40px auto;padding:0 16px}\
button{font-size:1em;padding:10px 16px;margin:4px;border-radius:6px;border:1px solid #888}";

/// The payment page's countdown of the hold's time left, inline: the policy below names
/// it by its hash.
const COUNTDOWN: &str = "(function () { var node = document.getElementById('left'); var until = Number(node.dataset.until); \
setInterval(function () { var s = Math.max(0, Math.round(until - Date.now() / 1000)); \
node.textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0'); }, 1000); })();";

/// The payment page's Content-Security-Policy: only its own inline style and countdown,
/// no framing (its forms post to the sandbox and are redirected to the shop).
static PAGE_POLICY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    use base64::Engine;
    use sha2::Digest;
    let hash =
        |text: &str| base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text));
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; base-uri 'none'; frame-ancestors 'none'",
        hash(STYLE),
        hash(COUNTDOWN)
    )
});

/// Adds the page headers (policy, no sniffing, no referrer) to HTML answers.
async fn protect_page(mut response: Response) -> Response {
    let html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        let headers = response.headers_mut();
        if let Ok(policy) = axum::http::HeaderValue::from_str(&PAGE_POLICY) {
            headers.insert(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
        headers.insert(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            axum::http::HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            axum::http::header::REFERRER_POLICY,
            axum::http::HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer ") && v.len() > "Bearer ".len())
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn stripe_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": "invalid_request_error", "message": message}})),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
struct IntentForm {
    amount: u64,
    currency: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "metadata[booking_id]")]
    booking_id: String,
    #[serde(rename = "metadata[pay_by]", default)]
    pay_by: Option<i64>,
}

async fn intents_create(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Form(form): Form<IntentForm>,
) -> Response {
    if !authorized(&headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "no API key");
    }
    let key = idempotency_key(&headers);
    let mut ledger = sandbox.ledger();
    if let Some(existing) = key
        .as_ref()
        .and_then(|k| ledger.keys.get(k))
        .and_then(|id| ledger.intents.get(id))
    {
        return Json(sandbox.intent_json(existing)).into_response();
    }
    let id = format!("pi_sandbox_{}", Uuid::new_v4().simple());
    let intent = Intent {
        client_secret: format!("{id}_secret_{}", Uuid::new_v4().simple()),
        id: id.clone(),
        amount: form.amount,
        currency: form.currency,
        description: form.description,
        booking_id: form.booking_id,
        pay_by: form.pay_by,
        status: "requires_payment_method",
    };
    let answer = sandbox.intent_json(&intent);
    ledger.intents.insert(id.clone(), intent);
    if let Some(key) = key {
        ledger.keys.insert(key, id);
    }
    Json(answer).into_response()
}

/// `POST /v1/payment_intents/{id}/cancel`: an intent not yet paid stops taking money.
async fn intents_cancel(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "no API key");
    }
    let mut ledger = sandbox.ledger();
    let Some(intent) = ledger.intents.get_mut(&id) else {
        return stripe_error(StatusCode::NOT_FOUND, "no such payment_intent");
    };
    if intent.status != "requires_payment_method" {
        return stripe_error(
            StatusCode::BAD_REQUEST,
            &format!("this PaymentIntent is {}", intent.status),
        );
    }
    intent.status = "canceled";
    Json(sandbox.intent_json(intent)).into_response()
}

/// A form field of `POST /v1/checkout/sessions`, by Stripe's bracketed name; the error
/// is Stripe's message.
fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, String> {
    form.get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("Missing required param: {name}."))
}

/// The session a `POST /v1/checkout/sessions` form asks for; the error is Stripe's
/// message.
fn session_from(form: &HashMap<String, String>) -> Result<Session, String> {
    if field(form, "mode")? != "payment" {
        return Err("only mode=payment".into());
    }
    let number = |name: &str| -> Result<i64, String> {
        field(form, name)?
            .parse()
            .map_err(|_| format!("Invalid integer: {name}"))
    };
    let quantity = number("line_items[0][quantity]")?;
    let unit_amount = number("line_items[0][price_data][unit_amount]")?;
    let now = SystemClock.now() / 1000;
    let expires_at = match form.get("expires_at") {
        Some(_) => number("expires_at")?,
        None => now + 24 * 3600,
    };
    if !(now + 30 * 60..=now + 24 * 3600).contains(&expires_at) {
        return Err("expires_at must be between 30 minutes and 24 hours from now".into());
    }
    Ok(Session {
        id: format!("cs_test_sandbox_{}", Uuid::new_v4().simple()),
        intent_id: format!("pi_sandbox_{}", Uuid::new_v4().simple()),
        amount: u64::try_from(unit_amount * quantity).unwrap_or_default(),
        currency: field(form, "line_items[0][price_data][currency]")?.to_string(),
        name: field(form, "line_items[0][price_data][product_data][name]")?.to_string(),
        booking_id: field(form, "metadata[booking_id]")?.to_string(),
        pay_by: form.get("metadata[pay_by]").and_then(|v| v.parse().ok()),
        success_url: field(form, "success_url")?.to_string(),
        cancel_url: field(form, "cancel_url")?.to_string(),
        expires_at,
        status: "open",
        declined: false,
    })
}

/// `POST /v1/checkout/sessions`: a hosted page for one line item, in `payment` mode.
async fn sessions_create(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !authorized(&headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "no API key");
    }
    let key = idempotency_key(&headers);
    let mut ledger = sandbox.ledger();
    if let Some(existing) = key
        .as_ref()
        .and_then(|k| ledger.keys.get(k))
        .and_then(|id| ledger.sessions.get(id))
    {
        return Json(sandbox.session_json(existing)).into_response();
    }
    let session = match session_from(&form) {
        Ok(session) => session,
        Err(why) => return stripe_error(StatusCode::BAD_REQUEST, &why),
    };
    ledger.intents.insert(
        session.intent_id.clone(),
        Intent {
            id: session.intent_id.clone(),
            amount: session.amount,
            currency: session.currency.clone(),
            description: session.name.clone(),
            // The intent under a session carries no booking: the session speaks for it.
            booking_id: String::new(),
            pay_by: session.pay_by,
            client_secret: String::new(),
            status: "requires_payment_method",
        },
    );
    let answer = sandbox.session_json(&session);
    if let Some(key) = key {
        ledger.keys.insert(key, session.id.clone());
    }
    ledger.sessions.insert(session.id.clone(), session);
    Json(answer).into_response()
}

/// `GET /v1/checkout/sessions/{id}`.
async fn sessions_show(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "no API key");
    }
    match sandbox.ledger().sessions.get(&id) {
        Some(session) => Json(sandbox.session_json(session)).into_response(),
        None => stripe_error(StatusCode::NOT_FOUND, "No such checkout.session"),
    }
}

/// `POST /v1/checkout/sessions/{id}/expire`: an open session stops taking money, and
/// `checkout.session.expired` is sent, as Stripe does.
async fn sessions_expire(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "no API key");
    }
    let expired = {
        let mut ledger = sandbox.ledger();
        let Some(session) = ledger.sessions.get_mut(&id) else {
            return stripe_error(StatusCode::NOT_FOUND, "No such checkout.session");
        };
        if session.status != "open" {
            return stripe_error(
                StatusCode::BAD_REQUEST,
                &format!("This Checkout Session is {}", session.status),
            );
        }
        session.status = "expired";
        let object = sandbox.session_json(session);
        let intent_id = session.intent_id.clone();
        if let Some(intent) = ledger.intents.get_mut(&intent_id) {
            intent.status = "canceled";
        }
        object
    };
    if let Err(why) = sandbox
        .send_event("checkout.session.expired", expired.clone())
        .await
    {
        tracing::warn!(session = %id, why, "the expiry webhook could not be sent");
    }
    Json(expired).into_response()
}

#[derive(Debug, Deserialize)]
struct RefundForm {
    payment_intent: String,
}

async fn refunds_create(
    State(sandbox): State<Arc<Sandbox>>,
    headers: HeaderMap,
    Form(form): Form<RefundForm>,
) -> Response {
    if !authorized(&headers) {
        return stripe_error(StatusCode::UNAUTHORIZED, "no API key");
    }
    let key = idempotency_key(&headers);
    let mut ledger = sandbox.ledger();
    let Some(intent) = ledger.intents.get(&form.payment_intent).cloned() else {
        return stripe_error(StatusCode::NOT_FOUND, "no such payment_intent");
    };
    let replay = key.as_ref().is_some_and(|k| ledger.keys.contains_key(k));
    if !replay {
        ledger.refunds.push(intent.id.clone());
        if let Some(key) = key {
            ledger.keys.insert(key, intent.id.clone());
        }
    }
    Json(
        json!({"id": format!("re_{}", intent.id), "object": "refund", "status": "succeeded",
        "payment_intent": intent.id, "amount": intent.amount}),
    )
    .into_response()
}

/// `GET /v1/refunds`: every refund made (a sandbox extra, for checking the flow).
async fn refunds_index(State(sandbox): State<Arc<Sandbox>>) -> Json<Value> {
    Json(json!({"data": sandbox.ledger().refunds.clone()}))
}

fn money(amount: u64, currency: &str) -> String {
    if currency.eq_ignore_ascii_case("jpy") {
        format!("{amount} {}", currency.to_uppercase())
    } else {
        format!(
            "{}.{:02} {}",
            amount / 100,
            amount % 100,
            currency.to_uppercase()
        )
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><p><strong>onsale sandbox payments</strong> · no real money moves</p>{body}</body></html>"
    ))
}

/// `?return_to=URL`: where the buyer goes once they have decided, as Stripe's
/// `return_url` (the shop's booking page). Only `http(s)://` URLs are followed.
#[derive(Debug, Default, Deserialize)]
struct ReturnTo {
    return_to: Option<String>,
}

impl ReturnTo {
    fn url(&self) -> Option<&str> {
        self.return_to
            .as_deref()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .filter(|url| !url.contains(['"', '<', '>', '\'', ' ']))
    }

    /// The query string that carries it on (empty without one).
    fn query(&self) -> String {
        self.url().map_or_else(String::new, |url| {
            serde_urlencoded::to_string([("return_to", url)])
                .map(|q| format!("?{q}"))
                .unwrap_or_default()
        })
    }

    /// After a decision: back to the shop, or `page` where there is no way back.
    fn answer(&self, page: Html<String>) -> Response {
        match self.url() {
            Some(url) => (
                StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, url.to_string())],
            )
                .into_response(),
            None => page.into_response(),
        }
    }
}

async fn pay_show(
    State(sandbox): State<Arc<Sandbox>>,
    Path(id): Path<String>,
    Query(back): Query<ReturnTo>,
) -> Response {
    if let Some(session) = sandbox.ledger().sessions.get(&id).cloned() {
        return session_page(&session).into_response();
    }
    let Some(intent) = sandbox.ledger().intents.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<h1>No such payment</h1>"),
        )
            .into_response();
    };
    let buttons = if intent.status == "requires_payment_method" {
        format!(
            "<form method=\"post\" action=\"/pay/{id}/succeed{back}\"><button>Pay {amount}</button></form>\
             <form method=\"post\" action=\"/pay/{id}/fail{back}\"><button>Decline the card</button></form>\
             <form method=\"post\" action=\"/pay/{id}/abandon{back}\"><button>Abandon</button></form>",
            amount = money(intent.amount, &intent.currency),
            back = back.query().replace('&', "&amp;"),
        )
    } else {
        format!("<p>This payment is {}.</p>", intent.status)
    };
    let time_left = match intent.pay_by {
        Some(pay_by) if intent.status == "requires_payment_method" => time_left(pay_by),
        _ => String::new(),
    };
    page(
        "Pay",
        &format!(
            "<h1>Pay {}</h1><p>Booking <code>{}</code></p>{time_left}{buttons}",
            money(intent.amount, &intent.currency),
            intent.booking_id
        ),
    )
    .into_response()
}

/// The time left to pay before the shop's hold on the seats ends at `pay_by` (Unix
/// seconds), counting down in the page (with [`COUNTDOWN`]).
fn time_left(pay_by: i64) -> String {
    let left = (pay_by - SystemClock.now() / 1000).max(0);
    format!(
        "<p class=\"time-left\">Your seats are held for <strong id=\"left\" data-until=\"{}\">{}:{:02}</strong>.</p>\
         <script>{COUNTDOWN}</script>",
        pay_by,
        left / 60,
        left % 60
    )
}

/// A Checkout Session's hosted page: pay, try a card that is declined, or go back to
/// the shop; a session that ended says so and links back.
fn session_page(session: &Session) -> Html<String> {
    let amount = money(session.amount, &session.currency);
    let cancel = escape(&session.cancel_url);
    let body = match session.status {
        "open" => {
            let declined = if session.declined {
                "<p role=\"alert\"><strong>Your card was declined.</strong> No money was taken; try another card.</p>"
            } else {
                ""
            };
            let time_left = session.pay_by.map(time_left).unwrap_or_default();
            format!(
                "<h1>Pay {amount}</h1><p>{name}</p>{time_left}{declined}\
                 <form method=\"post\" action=\"/pay/{id}/succeed\"><button>Pay {amount}</button></form>\
                 <form method=\"post\" action=\"/pay/{id}/fail\"><button>Try a card that is declined</button></form>\
                 <p><a href=\"{cancel}\">Back to the shop</a></p>",
                name = escape(&session.name),
                id = session.id,
            )
        }
        "complete" => format!(
            "<h1>Paid</h1><p>{amount} was paid.</p><p><a href=\"{}\">Back to the shop</a></p>",
            escape(&session.success_url)
        ),
        _ => format!(
            "<h1>This payment page has expired</h1><p>No money was taken.</p><p><a href=\"{cancel}\">Back to the shop</a></p>"
        ),
    };
    page("Pay", &body)
}

/// A buyer's decision on a Checkout Session's page.
async fn session_decide(sandbox: &Sandbox, id: &str, outcome: &str) -> Response {
    let completed = {
        let mut ledger = sandbox.ledger();
        let Some(session) = ledger.sessions.get_mut(id) else {
            return not_found("No such payment");
        };
        if session.status != "open" {
            return session_page(session).into_response();
        }
        match outcome {
            "fail" => {
                session.declined = true;
                return session_page(session).into_response();
            }
            "succeed" => {
                session.status = "complete";
                session.declined = false;
            }
            _ => return not_found("No such action"),
        }
        let session = session.clone();
        if let Some(intent) = ledger.intents.get_mut(&session.intent_id) {
            intent.status = "succeeded";
        }
        session
    };
    match sandbox
        .send_event(
            "checkout.session.completed",
            sandbox.session_json(&completed),
        )
        .await
    {
        Ok(code) if (200..300).contains(&code) => (
            StatusCode::SEE_OTHER,
            [(axum::http::header::LOCATION, completed.success_url.clone())],
        )
            .into_response(),
        Ok(code) => (
            StatusCode::BAD_GATEWAY,
            page("Error", &format!("<h1>The shop answered {code}</h1>")),
        )
            .into_response(),
        Err(why) => (
            StatusCode::BAD_GATEWAY,
            page(
                "Error",
                &format!("<h1>The shop is unreachable</h1><p>{}</p>", escape(&why)),
            ),
        )
            .into_response(),
    }
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Not found", &format!("<h1>{what}</h1>")),
    )
        .into_response()
}

/// `text` safe inside HTML text and quoted attributes.
fn escape(text: &str) -> String {
    onsale_model::display::escape(text)
}

async fn pay_decide(
    State(sandbox): State<Arc<Sandbox>>,
    Path((id, outcome)): Path<(String, String)>,
    Query(back): Query<ReturnTo>,
) -> Response {
    if id.starts_with("cs_") {
        return session_decide(&sandbox, &id, &outcome).await;
    }
    let (status, kind) = match outcome.as_str() {
        "succeed" => ("succeeded", Some("payment_intent.succeeded")),
        "fail" => (
            "requires_payment_method",
            Some("payment_intent.payment_failed"),
        ),
        "abandon" => ("canceled", None),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                page("Not found", "<h1>No such action</h1>"),
            )
                .into_response();
        }
    };
    let intent = {
        let mut ledger = sandbox.ledger();
        let Some(intent) = ledger.intents.get_mut(&id) else {
            return (
                StatusCode::NOT_FOUND,
                page("Not found", "<h1>No such payment</h1>"),
            )
                .into_response();
        };
        if intent.status != "requires_payment_method" {
            return (
                StatusCode::CONFLICT,
                page("Done", "<h1>This payment is already decided</h1>"),
            )
                .into_response();
        }
        if kind != Some("payment_intent.payment_failed") {
            intent.status = status;
        }
        intent.clone()
    };
    let Some(kind) = kind else {
        return back.answer(page(
            "Abandoned",
            "<h1>Payment abandoned</h1><p>The seats go back on sale when the hold expires.</p>",
        ));
    };
    match sandbox.report(&intent, kind).await {
        Ok(code) if (200..300).contains(&code) => back.answer(page(
            "Done",
            if kind == "payment_intent.succeeded" {
                "<h1>Payment received</h1><p>Your booking is being confirmed; you will be told when it is.</p>"
            } else {
                "<h1>Payment declined</h1><p>No money was taken. Your seats stay held until \
                 the hold ends: go back to your booking to pay again.</p>"
            },
        )),
        Ok(code) => (StatusCode::BAD_GATEWAY, page("Error", &format!("<h1>The shop answered {code}</h1>"))).into_response(),
        Err(why) => (StatusCode::BAD_GATEWAY, page("Error", &format!("<h1>The shop is unreachable</h1><p>{why}</p>"))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back(url: &str) -> ReturnTo {
        ReturnTo {
            return_to: Some(url.to_string()),
        }
    }

    #[tokio::test]
    async fn the_payment_page_allows_only_its_own_inline_style() {
        let response = protect_page(page("Pay", "<h1>Pay</h1>").into_response()).await;
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let html = String::from_utf8(body.to_vec()).unwrap();
        let style = html
            .split("<style>")
            .nth(1)
            .and_then(|rest| rest.split("</style>").next())
            .unwrap();
        use base64::Engine;
        use sha2::Digest;
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
        assert!(
            policy.contains(&format!("style-src 'sha256-{hash}'")),
            "{policy}"
        );
        assert!(policy.contains("default-src 'none'") && policy.contains("frame-ancestors 'none'"));
        assert!(!html.contains("<script"));

        let countdown = time_left(SystemClock.now() / 1000 + 600);
        let script = countdown
            .split("<script>")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .unwrap();
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
        assert!(
            policy.contains(&format!("script-src 'sha256-{hash}'")),
            "the countdown may run: {policy}"
        );
    }

    #[test]
    fn follows_only_plain_web_addresses_back() {
        let shop = back("https://shop.example/bookings/b1?x=1");
        assert_eq!(shop.url(), Some("https://shop.example/bookings/b1?x=1"));
        assert_eq!(
            shop.query(),
            "?return_to=https%3A%2F%2Fshop.example%2Fbookings%2Fb1%3Fx%3D1"
        );
        for refused in [
            "javascript:alert(1)",
            "//evil.example",
            "https://a.example/\"><script>",
        ] {
            assert_eq!(back(refused).url(), None, "{refused}");
            assert_eq!(back(refused).query(), "");
        }
        assert_eq!(ReturnTo::default().query(), "");
    }
}
