//! Payments: one [`PaymentProvider`] trait and a Stripe-shaped adapter ([`stripe`]),
//! which also talks to the sandbox provider of `onsale dev` (the `onsale-dev` crate), so
//! that a purchase can be completed locally with no account anywhere.
//!
//! Provider calls are side effects: they never run inside a store transaction. Checkout
//! records the booking first and then creates the payment with the booking id as the
//! provider's idempotency key, so a retried checkout never charges twice.

pub mod stripe;

use async_trait::async_trait;
use onsale_model::{ApiError, ErrorCode};

/// What the coordinator asks a provider to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// The booking being paid; also the idempotency key.
    pub booking_id: String,
    /// Amount in minor units.
    pub amount: u64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Shown to the buyer.
    pub description: String,
    /// When the seats' hold ends (Unix seconds), so the payment page can show the time
    /// left; sent as `metadata[pay_by]`.
    pub pay_by: Option<i64>,
    /// Where the buyer comes back to from the provider's hosted payment page (the
    /// booking's page on the site). With it the provider hosts the page (a Stripe
    /// Checkout Session); without it the client pays with the payment's `client_secret`
    /// (a PaymentIntent, for apps with the provider's own SDK).
    pub return_url: Option<String>,
}

/// A payment created at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The provider's id for it.
    pub id: String,
    /// A page where the buyer pays, when the provider hosts one.
    pub url: Option<String>,
    /// The secret a payment page script confirms the payment with.
    pub client_secret: Option<String>,
}

/// What a verified webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The provider's event id: a replay has the same one.
    pub id: String,
    /// What happened.
    pub outcome: PaymentOutcome,
}

/// The part of a webhook the booking logic acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The payment succeeded.
    Succeeded {
        /// The provider's payment id.
        payment_id: String,
        /// The booking it pays.
        booking_id: String,
        /// What was paid, as the provider reports it; a booking is sold only when this
        /// is its total in its currency (an event without it sells nothing).
        paid: Option<Money>,
    },
    /// The payment failed or was cancelled.
    Failed {
        /// The provider's payment id.
        payment_id: String,
        /// The booking it was for.
        booking_id: String,
    },
    /// An event the coordinator does not act on.
    Ignored,
}

/// An amount in minor units of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Money {
    /// Minor units (cents).
    pub amount: u64,
    /// The currency code, in the provider's spelling (Stripe writes `eur`).
    pub currency: String,
}

impl Money {
    /// Whether this is exactly `amount` of `currency` (codes compared ignoring case).
    pub fn is(&self, amount: u64, currency: &str) -> bool {
        self.amount == amount && self.currency.eq_ignore_ascii_case(currency)
    }
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider could not be reached or answered with a server error: try again.
    #[error("payment provider unreachable: {0}")]
    Unavailable(String),
    /// The provider refused the request.
    #[error("payment provider refused the request: {0}")]
    Refused(String),
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature header, or one that does not parse.
    #[error("missing or malformed signature header")]
    Malformed,
    /// The signature does not match the body.
    #[error("signature does not match")]
    Mismatch,
    /// The timestamp is outside the tolerance window (a replay of an old delivery).
    #[error("timestamp outside the tolerance window")]
    Expired,
    /// The body is not an event of the expected shape.
    #[error("body is not a provider event: {0}")]
    Body(String),
}

/// What the buyer is told when a payment call fails.
impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        let message = match err {
            PaymentError::Unavailable(_) => {
                "the payment provider is unreachable; retry checkout with the same Idempotency-Key"
            }
            PaymentError::Refused(_) => "the payment provider refused this payment",
        };
        ApiError::new(ErrorCode::PaymentUnavailable, message)
    }
}

/// What the provider is told when its webhook is refused.
impl From<WebhookError> for ApiError {
    fn from(err: WebhookError) -> Self {
        let message = match err {
            WebhookError::Body(_) => "the webhook body is not a payment event".to_string(),
            other => format!("webhook refused: {other}"),
        };
        ApiError::new(ErrorCode::InvalidSignature, message)
    }
}

/// A payment provider.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Creates a payment; calling it again for the same booking returns the same payment.
    async fn create_payment(&self, request: &PaymentRequest) -> Result<Payment, PaymentError>;
    /// Refunds a payment in full; calling it again for the same booking refunds once.
    async fn refund(&self, payment_id: &str, booking_id: &str) -> Result<(), PaymentError>;
    /// Ends a payment that can no longer be made because its booking ended unpaid (the
    /// hold ran out): its page or intent stops taking money. A payment already ended,
    /// paid or cancelled is no error.
    async fn cancel(&self, payment_id: &str) -> Result<(), PaymentError>;
    /// Checks a webhook's signature (`now` in Unix seconds) and reads its event.
    fn verify_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<WebhookEvent, WebhookError>;
    /// The provider's name, for records and logs.
    fn name(&self) -> &'static str;
}
