//! A Stripe-shaped provider over HTTPS with the secret key: Checkout Sessions (Stripe's
//! hosted payment page, for the site's buyers), PaymentIntents (for apps paying with
//! Stripe's SDK and the `client_secret`), Refunds, and webhooks verified by Stripe's
//! `Stripe-Signature` scheme. The same code talks to the sandbox provider of
//! `onsale dev` (the `onsale-dev` crate), which implements that API subset locally.
//!
//! A Checkout Session lives at least 30 minutes (Stripe refuses a shorter `expires_at`),
//! longer than a hold: when the hold ends first, the coordinator expires the session
//! (`cancel`), and a payment that beat the expiry is refunded as any late payment is.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{
    Money, Payment, PaymentError, PaymentOutcome, PaymentProvider, PaymentRequest, WebhookError,
    WebhookEvent,
};

type HmacSha256 = Hmac<Sha256>;

/// Stripe's default tolerance for webhook timestamps, in seconds.
pub const DEFAULT_TOLERANCE: i64 = 300;

/// The `Stripe-Signature` header for `body` sent at `timestamp` (Unix seconds):
/// `t={timestamp},v1={hex HMAC-SHA256(secret, "{timestamp}.{body}")}`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex(&signature(secret, timestamp, body))
    )
}

fn signature(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a `Stripe-Signature` header: one of its `v1` signatures must match and its
/// timestamp must be within `tolerance` seconds of `now`.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), WebhookError> {
    let header = header.ok_or(WebhookError::Malformed)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => candidates.push(unhex(value).ok_or(WebhookError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::Malformed)?;
    if candidates.is_empty() {
        return Err(WebhookError::Malformed);
    }
    let matches = candidates.iter().any(|candidate| {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(candidate).is_ok()
    });
    if !matches {
        return Err(WebhookError::Mismatch);
    }
    if (now - timestamp).abs() > tolerance {
        return Err(WebhookError::Expired);
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: StripeEventData,
}

#[derive(Debug, Deserialize)]
struct StripeEventData {
    object: StripeObject,
}

/// The object of an event: a PaymentIntent or a Checkout Session (the fields read of
/// either).
#[derive(Debug, Deserialize)]
struct StripeObject {
    id: String,
    /// What a PaymentIntent asked for, in minor units.
    #[serde(default)]
    amount: Option<u64>,
    /// What a PaymentIntent captured, in minor units (succeeded intents carry it).
    #[serde(default)]
    amount_received: Option<u64>,
    /// What a Checkout Session charged, in minor units.
    #[serde(default)]
    amount_total: Option<u64>,
    /// Lower-case ISO 4217 code.
    #[serde(default)]
    currency: Option<String>,
    /// A Checkout Session's `paid`, `unpaid` (a delayed method, still settling) or
    /// `no_payment_required`.
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

/// A Checkout Session as its API answers (the fields read).
#[derive(Debug, Deserialize)]
struct StripeSession {
    id: String,
    /// The hosted page.
    #[serde(default)]
    url: Option<String>,
    /// The PaymentIntent that took the money, once there is one.
    #[serde(default)]
    payment_intent: Option<String>,
}

/// Stripe's shortest Checkout Session, in seconds (its `expires_at` must be at least
/// 30 minutes away); a minute more so that the clocks of both sides may differ.
const SESSION_MIN_LIFETIME: i64 = 31 * 60;

/// Stripe's longest Checkout Session, in seconds (24 hours), less a minute.
const SESSION_MAX_LIFETIME: i64 = 24 * 60 * 60 - 60;

/// A PaymentIntent as its API answers (the fields read).
#[derive(Debug, Deserialize)]
struct StripeIntent {
    id: String,
    #[serde(default)]
    client_secret: Option<String>,
    /// Not Stripe's: the sandbox's payment page (Stripe pays in the merchant's page).
    #[serde(default)]
    url: Option<String>,
}

/// Reads a verified webhook body. Events of objects without `metadata.booking_id` are
/// not the coordinator's (another use of the same Stripe account, or the PaymentIntent
/// under a Checkout Session, whose session speaks for it) and are ignored.
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let event: StripeEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    let object = event.data.object;
    let Some(booking_id) = object.metadata.get("booking_id").cloned() else {
        return Ok(WebhookEvent {
            id: event.id,
            outcome: PaymentOutcome::Ignored,
        });
    };
    let payment_id = object.id.clone();
    let paid = object
        .amount_received
        .or(object.amount_total)
        .or(object.amount)
        .zip(object.currency.clone())
        .map(|(amount, currency)| Money { amount, currency });
    let succeeded = PaymentOutcome::Succeeded {
        payment_id: payment_id.clone(),
        booking_id: booking_id.clone(),
        paid,
    };
    let failed = PaymentOutcome::Failed {
        payment_id,
        booking_id,
    };
    let outcome = match event.kind.as_str() {
        "payment_intent.succeeded" | "checkout.session.async_payment_succeeded" => succeeded,
        // A delayed method (a bank debit) completes the session unpaid; its
        // `async_payment_*` event says how it ended.
        "checkout.session.completed" if object.payment_status.as_deref() == Some("paid") => {
            succeeded
        }
        "payment_intent.payment_failed"
        | "payment_intent.canceled"
        | "checkout.session.async_payment_failed"
        | "checkout.session.expired" => failed,
        _ => PaymentOutcome::Ignored,
    };
    Ok(WebhookEvent {
        id: event.id,
        outcome,
    })
}

/// Stripe (or anything speaking its API) reached over HTTP.
pub struct StripeProvider {
    api_base: String,
    secret_key: String,
    webhook_secret: String,
    client: reqwest::Client,
}

impl StripeProvider {
    /// A provider at `api_base` (`https://api.stripe.com` for Stripe itself).
    pub fn new(api_base: &str, secret_key: &str, webhook_secret: &str) -> Self {
        StripeProvider {
            api_base: api_base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
            webhook_secret: webhook_secret.to_string(),
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .connect_timeout(std::time::Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
        }
    }

    async fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<reqwest::Response, PaymentError> {
        let body =
            serde_urlencoded::to_string(form).map_err(|e| PaymentError::Refused(e.to_string()))?;
        let response = self
            .client
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", idempotency_key)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        answer(path, response).await
    }
}

impl StripeProvider {
    /// Posts `form` to `path` and reads the object it answers with.
    async fn create<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(&str, String)],
    ) -> Result<T, PaymentError> {
        self.post(path, idempotency_key, form)
            .await?
            .json()
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))
    }

    async fn get(&self, path: &str) -> Result<reqwest::Response, PaymentError> {
        let response = self
            .client
            .get(format!("{}{path}", self.api_base))
            .bearer_auth(&self.secret_key)
            .send()
            .await
            .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
        answer(path, response).await
    }

    /// A Checkout Session for `request`: one line of the booking's total, back to
    /// `return_url` when paid or left, open until the hold ends, within the lifetimes
    /// Stripe allows.
    async fn create_session(
        &self,
        request: &PaymentRequest,
        return_url: &str,
    ) -> Result<Payment, PaymentError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let expires_at = request
            .pay_by
            .unwrap_or_default()
            .clamp(now + SESSION_MIN_LIFETIME, now + SESSION_MAX_LIFETIME);
        let separator = if return_url.contains('?') { '&' } else { '?' };
        let mut form = vec![
            ("mode", "payment".to_string()),
            ("client_reference_id", request.booking_id.clone()),
            ("line_items[0][quantity]", "1".to_string()),
            (
                "line_items[0][price_data][currency]",
                request.currency.to_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]",
                request.amount.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]",
                request.description.clone(),
            ),
            ("metadata[booking_id]", request.booking_id.clone()),
            ("success_url", format!("{return_url}{separator}paid=1")),
            ("cancel_url", return_url.to_string()),
            ("expires_at", expires_at.to_string()),
        ];
        if let Some(pay_by) = request.pay_by {
            form.push(("metadata[pay_by]", pay_by.to_string()));
        }
        let session: StripeSession = self
            .create(
                "/v1/checkout/sessions",
                &format!("session-{}", request.booking_id),
                &form,
            )
            .await?;
        Ok(Payment {
            id: session.id,
            url: session.url,
            client_secret: None,
        })
    }

    /// A PaymentIntent for `request`, paid with its `client_secret`.
    async fn create_intent(&self, request: &PaymentRequest) -> Result<Payment, PaymentError> {
        let mut form = vec![
            ("amount", request.amount.to_string()),
            ("currency", request.currency.to_lowercase()),
            ("description", request.description.clone()),
            ("metadata[booking_id]", request.booking_id.clone()),
            ("automatic_payment_methods[enabled]", "true".to_string()),
        ];
        if let Some(pay_by) = request.pay_by {
            form.push(("metadata[pay_by]", pay_by.to_string()));
        }
        let intent: StripeIntent = self
            .create(
                "/v1/payment_intents",
                &format!("booking-{}", request.booking_id),
                &form,
            )
            .await?;
        Ok(Payment {
            id: intent.id,
            url: intent.url,
            client_secret: intent.client_secret,
        })
    }
}

/// Whether `payment_id` names a Checkout Session (Stripe's ids say what they are).
fn is_session(payment_id: &str) -> bool {
    payment_id.starts_with("cs_")
}

/// `response` if it succeeded; a server error or `429` is worth retrying, any other
/// failure is a refusal.
async fn answer(
    path: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response, PaymentError> {
    let status = response.status();
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(PaymentError::Unavailable(format!(
            "{path} answered {status}"
        )));
    }
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        return Err(PaymentError::Refused(format!(
            "{path} answered {status}: {text}"
        )));
    }
    Ok(response)
}

#[async_trait]
impl PaymentProvider for StripeProvider {
    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, PaymentError> {
        match &request.return_url {
            Some(return_url) => self.create_session(request, return_url).await,
            None => self.create_intent(request).await,
        }
    }

    async fn refund(&self, payment_id: &str, booking_id: &str) -> Result<(), PaymentError> {
        let intent = if is_session(payment_id) {
            let session: StripeSession = self
                .get(&format!("/v1/checkout/sessions/{payment_id}"))
                .await?
                .json()
                .await
                .map_err(|e| PaymentError::Unavailable(e.to_string()))?;
            session.payment_intent.ok_or_else(|| {
                PaymentError::Refused(format!("session {} took no payment", session.id))
            })?
        } else {
            payment_id.to_string()
        };
        self.post(
            "/v1/refunds",
            &format!("refund-{booking_id}"),
            &[("payment_intent", intent)],
        )
        .await
        .map(|_| ())
    }

    async fn cancel(&self, payment_id: &str) -> Result<(), PaymentError> {
        let path = if is_session(payment_id) {
            format!("/v1/checkout/sessions/{payment_id}/expire")
        } else {
            format!("/v1/payment_intents/{payment_id}/cancel")
        };
        match self.post(&path, &format!("cancel-{payment_id}"), &[]).await {
            Ok(_) => Ok(()),
            // Stripe refuses to end what has ended already (expired, paid, cancelled):
            // nothing is left to stop, and a payment that got through is refunded by
            // its webhook.
            Err(PaymentError::Refused(why)) => {
                tracing::info!(payment_id, why, "the payment had ended already");
                Ok(())
            }
            Err(unavailable) => Err(unavailable),
        }
    }

    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookEvent, WebhookError> {
        verify(
            &self.webhook_secret,
            signature,
            body,
            now,
            DEFAULT_TOLERANCE,
        )?;
        parse_event(body)
    }

    fn name(&self) -> &'static str {
        "stripe"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    /// Computed independently with Python:
    /// `hmac.new(b"whsec_test_secret", b"1700000000." + BODY, hashlib.sha256).hexdigest()`.
    const VECTOR: &str = "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31";

    #[test]
    fn signature_matches_the_independent_vector() {
        assert_eq!(
            sign(SECRET, 1_700_000_000, BODY),
            format!("t=1700000000,v1={VECTOR}")
        );
        let header = format!("t=1700000000,v1={VECTOR}");
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_700_000_100, 300),
            Ok(())
        );
    }

    #[test]
    fn bad_signatures_and_old_timestamps_are_refused() {
        let header = format!("t=1700000000,v1={VECTOR}");
        assert_eq!(
            verify("whsec_other", Some(&header), BODY, 1_700_000_000, 300),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(&header), b"{}", 1_700_000_000, 300),
            Err(WebhookError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(&header), BODY, 1_700_000_301, 300),
            Err(WebhookError::Expired)
        );
        assert_eq!(
            verify(SECRET, None, BODY, 1_700_000_000, 300),
            Err(WebhookError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some("v1=abcd"), BODY, 1_700_000_000, 300),
            Err(WebhookError::Malformed)
        );
        let rotated = format!("t=1700000000,v1={},v1={VECTOR}", "00".repeat(32));
        assert_eq!(
            verify(SECRET, Some(&rotated), BODY, 1_700_000_000, 300),
            Ok(()),
            "any v1 may match"
        );
    }

    #[test]
    fn events_map_to_outcomes() {
        let body = br#"{"id":"evt_9","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_1","metadata":{"booking_id":"b1"}}}}"#;
        assert_eq!(
            parse_event(body).unwrap(),
            WebhookEvent {
                id: "evt_9".into(),
                outcome: PaymentOutcome::Failed {
                    payment_id: "pi_1".into(),
                    booking_id: "b1".into()
                }
            }
        );
        let paid = br#"{"id":"evt_3","type":"payment_intent.succeeded","data":{"object":{"id":"pi_2","amount":500,"amount_received":400,"currency":"eur","metadata":{"booking_id":"b2"}}}}"#;
        assert_eq!(
            parse_event(paid).unwrap().outcome,
            PaymentOutcome::Succeeded {
                payment_id: "pi_2".into(),
                booking_id: "b2".into(),
                paid: Some(Money {
                    amount: 400,
                    currency: "eur".into()
                }),
            },
            "what was received counts, not what was asked"
        );
        let other = br#"{"id":"evt_2","type":"charge.updated","data":{"object":{"id":"ch_1"}}}"#;
        assert_eq!(parse_event(other).unwrap().outcome, PaymentOutcome::Ignored);
        assert!(parse_event(b"not json").is_err());
    }

    /// Checkout Session events, in the shapes of Stripe's API reference.
    #[test]
    fn checkout_session_events_map_to_outcomes() {
        let session = |kind: &str, payment_status: &str| {
            format!(
                r#"{{"id":"evt_s","object":"event","type":"{kind}","data":{{"object":{{"id":"cs_test_a1","object":"checkout.session","amount_total":2500,"currency":"eur","payment_status":"{payment_status}","payment_intent":"pi_9","status":"complete","metadata":{{"booking_id":"b7"}}}}}}}}"#
            )
        };
        let outcome = |kind: &str, payment_status: &str| {
            parse_event(session(kind, payment_status).as_bytes())
                .unwrap()
                .outcome
        };
        let succeeded = PaymentOutcome::Succeeded {
            payment_id: "cs_test_a1".into(),
            booking_id: "b7".into(),
            paid: Some(Money {
                amount: 2500,
                currency: "eur".into(),
            }),
        };
        let failed = PaymentOutcome::Failed {
            payment_id: "cs_test_a1".into(),
            booking_id: "b7".into(),
        };
        assert_eq!(outcome("checkout.session.completed", "paid"), succeeded);
        assert_eq!(
            outcome("checkout.session.completed", "unpaid"),
            PaymentOutcome::Ignored,
            "a delayed method has not paid yet"
        );
        assert_eq!(
            outcome("checkout.session.async_payment_succeeded", "paid"),
            succeeded
        );
        assert_eq!(
            outcome("checkout.session.async_payment_failed", "unpaid"),
            failed
        );
        assert_eq!(outcome("checkout.session.expired", "unpaid"), failed);
        let intent_under_a_session = br#"{"id":"evt_p","type":"payment_intent.payment_failed","data":{"object":{"id":"pi_9","amount":2500,"currency":"eur","metadata":{}}}}"#;
        assert_eq!(
            parse_event(intent_under_a_session).unwrap().outcome,
            PaymentOutcome::Ignored,
            "a declined card on the hosted page is retried there; the session speaks for it"
        );
    }
}
