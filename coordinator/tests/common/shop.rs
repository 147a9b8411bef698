//! A shop: a coordinator with the sandbox payment provider and a task worker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use onsale_coordinator::payments::stripe::StripeProvider;
use onsale_coordinator::tasks;
use onsale_dev::sandbox::{self, Sandbox};
use serde_json::{Value, json};

use super::{TestServer, fjall_store, serve_with_settings};

/// The webhook secret the sandbox and the coordinator share.
pub const SECRET: &str = "whsec_payments_test";

/// A coordinator taking payments through a sandbox, with a task worker running.
pub struct Shop {
    /// The coordinator.
    pub s: TestServer,
    /// The sandbox's base URL.
    pub sandbox_url: String,
    _sandbox: tokio::task::JoinHandle<()>,
    _worker: Option<onsale_coordinator::worker::Worker>,
}

/// Starts a [`Shop`] whose buyers pay with the provider's SDK (no site address).
pub async fn shop() -> Shop {
    shop_with(super::test_settings(), true).await
}

/// A [`shop`] without a task worker: the test runs the tasks when it wants them run.
pub async fn shop_without_worker() -> Shop {
    shop_with(super::test_settings(), false).await
}

/// The site address a [`hosted_shop`] sends buyers back to.
pub const SITE: &str = "https://tickets.example.com";

/// Starts a [`Shop`] that knows its site's address, so that its buyers pay on the
/// provider's hosted page (Checkout Sessions).
pub async fn hosted_shop() -> Shop {
    shop_with(
        onsale_coordinator::Settings {
            site_url: Some(SITE.to_string()),
            ..super::test_settings()
        },
        true,
    )
    .await
}

/// Starts a [`Shop`] with `settings`, with a task worker if `worker`.
pub async fn shop_with(settings: onsale_coordinator::Settings, worker: bool) -> Shop {
    shop_on(fjall_store().await, settings, worker).await
}

/// Starts a [`Shop`] on `store`, with `settings`, with a task worker if `worker`.
pub async fn shop_on(
    store: super::TestStore,
    settings: onsale_coordinator::Settings,
    worker: bool,
) -> Shop {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
    let provider_base = sandbox_url.clone();
    let mut webhook = String::new();
    let s = serve_with_settings(store, settings, |coordinator, url| {
        webhook = format!("{url}/v1/payments/webhook");
        coordinator.with_payments(Arc::new(StripeProvider::new(
            &provider_base,
            "sk_test",
            SECRET,
        )))
    })
    .await;
    let sandbox = Sandbox::new(&sandbox_url, &webhook, SECRET);
    let sandbox_task = tokio::spawn(async move {
        axum::serve(listener, sandbox::router(sandbox))
            .await
            .unwrap();
    });
    let worker =
        worker.then(|| tasks::spawn(s.coordinator.bookings().clone(), Duration::from_millis(50)));
    Shop {
        s,
        sandbox_url,
        _sandbox: sandbox_task,
        _worker: worker,
    }
}

impl Shop {
    /// Holds `seats` for the token's user; returns the hold id.
    pub async fn hold(&self, token: &str, event: u64, seats: &[&str]) -> String {
        self.s.hold(token, event, seats).await
    }

    /// Holds, checks out and pays for `seats`; returns the completed booking.
    pub async fn buy(&self, token: &str, event: u64, seats: &[&str]) -> Value {
        let hold = self.hold(token, event, seats).await;
        let (status, checkout) = self
            .checkout(token, &hold, &uuid::Uuid::new_v4().to_string())
            .await;
        assert_eq!(status, 201, "{checkout}");
        assert_eq!(
            self.pay(checkout["payment_url"].as_str().unwrap(), "succeed")
                .await,
            200
        );
        self.eventually_booking(token, checkout["booking_id"].as_str().unwrap(), |b| {
            b["status"] == "completed"
        })
        .await
    }

    /// Checks a hold out; returns the status and the body.
    pub async fn checkout(&self, token: &str, hold_id: &str, key: &str) -> (u16, Value) {
        let response = self
            .s
            .http
            .post(format!("{}/v1/holds/{hold_id}/checkout", self.s.url))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Reads a booking as the token's user; returns the status and the body.
    pub async fn booking(&self, token: &str, id: &str) -> (u16, Value) {
        let response = self
            .s
            .http
            .get(format!("{}/v1/bookings/{id}", self.s.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Polls a booking until `check` holds (at most 10 s).
    pub async fn eventually_booking(
        &self,
        token: &str,
        id: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, booking) = self.booking(token, id).await;
            if check(&booking) {
                return booking;
            }
            assert!(
                Instant::now() < deadline,
                "booking never got there: {booking}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the task worker has run every queued task (at most 10 s).
    pub async fn tasks_done(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.s.coordinator.bookings().queued_tasks(1).await.unwrap() > 0 {
            assert!(Instant::now() < deadline, "the task worker never finished");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Presses a button on the sandbox's payment page; returns the page's status.
    pub async fn pay(&self, payment_url: &str, outcome: &str) -> u16 {
        let page = self.s.http.get(payment_url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.text()
                .await
                .unwrap()
                .contains(&format!("/{outcome}\""))
        );
        self.s
            .http
            .post(format!("{payment_url}/{outcome}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Moves the clock past every hold's end and sweeps them; returns what was swept.
    pub async fn end_holds(&self) -> onsale_coordinator::booking::SweepReport {
        self.s
            .clock
            .advance(self.s.coordinator.settings().hold_ttl.as_millis() as i64 + 1);
        self.s
            .coordinator
            .bookings()
            .sweep_expired_holds(10)
            .await
            .unwrap()
    }

    /// Every refund the sandbox made: `{"data": [payment intent ids]}`.
    pub async fn refunds(&self) -> Value {
        self.s
            .http
            .get(format!("{}/v1/refunds", self.sandbox_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The event's seat counts.
    pub async fn availability(&self, event: u64) -> Value {
        self.s
            .http
            .get(format!("{}/v1/events/{event}/availability", self.s.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Posts a webhook body with an optional `Stripe-Signature`.
    pub async fn webhook(&self, body: &[u8], signature: Option<String>) -> (u16, Value) {
        let mut request = self
            .s
            .http
            .post(format!("{}/v1/payments/webhook", self.s.url))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("Stripe-Signature", signature);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// The types of every change-log entry so far.
    pub async fn log_types(&self) -> Vec<String> {
        let changes: Vec<Value> = self
            .s
            .http
            .get(format!("{}/v1/changes?limit=1000", self.s.url))
            .bearer_auth(self.s.operator())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        changes
            .iter()
            .map(|c| c["type"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Unix seconds, as webhook signatures use them.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A provider event body for a payment of a booking, saying nothing of the amount.
pub fn event_body(event_id: &str, kind: &str, payment_id: &str, booking_id: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": event_id, "type": kind,
        "data": {"object": {"id": payment_id, "metadata": {"booking_id": booking_id}}}
    }))
    .unwrap()
}

/// A `payment_intent.succeeded` body for a payment of a booking that received `amount`
/// minor units of `currency` (Stripe spells currencies in lower case).
pub fn paid_event_body(
    event_id: &str,
    payment_id: &str,
    booking_id: &str,
    amount: u64,
    currency: &str,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": event_id, "type": "payment_intent.succeeded",
        "data": {"object": {"id": payment_id, "amount": amount, "amount_received": amount,
            "currency": currency, "metadata": {"booking_id": booking_id}}}
    }))
    .unwrap()
}
