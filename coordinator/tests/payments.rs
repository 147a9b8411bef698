//! Checkout and payments over real HTTP: the sandbox provider's payment page sends signed
//! webhooks to the coordinator, the task worker settles bookings.

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use onsale_coordinator::payments::stripe::{self, StripeProvider};
use serde_json::{Value, json};
use uuid::Uuid;

use common::shop::{
    SECRET, SITE, event_body, hosted_shop, now, paid_event_body, shop, shop_without_worker,
};
use common::{fjall_store, serve_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_through_the_sandbox_sells_the_seats_with_signed_tickets() {
    let shop = shop().await;
    let event = shop.s.create_event("Paid Show", 2, 1, 4).await;
    let token = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&token, event, &["S0-R0-1", "S1-R0-2"]).await;

    let (status, checkout) = shop.checkout(&token, &hold, "buy-1").await;
    assert_eq!(status, 201, "{checkout}");
    assert_eq!(checkout["status"], "pending");
    assert_eq!(
        checkout["total"],
        1000 + 2000,
        "computed from the seat prices"
    );
    assert_eq!(checkout["currency"], "EUR");
    let payment_url = checkout["payment_url"].as_str().unwrap();
    assert!(payment_url.starts_with(&shop.sandbox_url));
    let held: Value = shop
        .s
        .http
        .get(format!("{}/v1/holds/{hold}", shop.s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expires = time::OffsetDateTime::parse(
        held["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let pay_page = shop
        .s
        .http
        .get(payment_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        pay_page.contains(&format!("data-until=\"{}\"", expires.unix_timestamp())),
        "the payment page counts down to the hold's end: {pay_page}"
    );
    let booking_id = checkout["booking_id"].as_str().unwrap();
    let (_, pending) = shop.booking(&token, booking_id).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["tickets"], json!([]));

    assert_eq!(shop.pay(payment_url, "succeed").await, 200);
    let done = shop
        .eventually_booking(&token, booking_id, |b| b["status"] == "completed")
        .await;
    assert_eq!(done["seats"], json!(["S0-R0-1", "S1-R0-2"]));
    assert_eq!(shop.availability(event).await["sold"], 2);

    let key: Value = shop
        .s
        .http
        .get(format!("{}/v1/tickets/public-key", shop.s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = URL_SAFE_NO_PAD
        .decode(key["public_key"].as_str().unwrap())
        .unwrap();
    let verifying = VerifyingKey::from_bytes(&public.try_into().unwrap()).unwrap();
    let tickets = done["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 2);
    for ticket in tickets {
        let (payload, signature) = ticket["code"].as_str().unwrap().split_once('.').unwrap();
        let payload = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        assert!(
            verifying.verify(&payload, &signature).is_ok(),
            "verifies offline"
        );
        let text = String::from_utf8(payload).unwrap();
        assert_eq!(
            text,
            format!(
                "onsale-ticket:v1:{event}:{booking_id}:{}",
                ticket["seat_id"].as_str().unwrap()
            )
        );
        assert!(ticket["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    }
    let other = shop.s.token_for(Uuid::new_v4());
    assert_eq!(
        shop.booking(&other, booking_id).await.0,
        404,
        "only its owner sees it"
    );
    let types = shop.log_types().await;
    assert_eq!(
        types.iter().filter(|t| *t == "booking_completed").count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_is_idempotent_and_guards_the_hold() {
    let shop = shop().await;
    let event = shop.s.create_event("Careful Show", 1, 1, 4).await;
    let (ada, bob) = (
        shop.s.token_for(Uuid::new_v4()),
        shop.s.token_for(Uuid::new_v4()),
    );
    let hold = shop.hold(&ada, event, &["S0-R0-1"]).await;
    let (_, first) = shop.checkout(&ada, &hold, "k1").await;
    let (status, again) = shop.checkout(&ada, &hold, "k1").await;
    assert_eq!((status, &again["booking_id"]), (201, &first["booking_id"]));
    let (_, other_key) = shop.checkout(&ada, &hold, "k2").await;
    assert_eq!(
        other_key["booking_id"], first["booking_id"],
        "one booking per hold"
    );
    assert_eq!(
        again["payment_url"], first["payment_url"],
        "one payment per booking"
    );
    assert_eq!(shop.checkout(&bob, &hold, "k3").await.0, 404);
    let release = shop
        .s
        .http
        .delete(format!("{}/v1/holds/{hold}", shop.s.url))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(release.status(), 409);
    let body: Value = release.json().await.unwrap();
    assert_eq!(body["error"]["code"], "checkout_in_progress");

    let late = shop.hold(&ada, event, &["S0-R0-2"]).await;
    shop.s
        .clock
        .advance(shop.s.coordinator.settings().hold_ttl.as_millis() as i64);
    let (status, body) = shop.checkout(&ada, &late, "k4").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (410, Some("hold_expired"))
    );
}

/// Checkouts of one hold at once, each with its own key (two tabs, a double click): each
/// calls the provider before its transaction, and one booking with one payment comes of
/// them; every answer names it, and paying it sells the seat once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_of_one_hold_at_once_open_one_booking() {
    let shop = shop().await;
    let event = shop.s.create_event("Racing Tabs Show", 1, 1, 2).await;
    let ada = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&ada, event, &["S0-R0-1"]).await;
    let keys: Vec<String> = (0..8).map(|n| format!("tab-{n}")).collect();
    let answers =
        futures::future::join_all(keys.iter().map(|key| shop.checkout(&ada, &hold, key))).await;
    let mut bookings = std::collections::HashSet::new();
    let mut pages = std::collections::HashSet::new();
    for (status, answer) in &answers {
        assert_eq!(*status, 201, "{answer}");
        bookings.insert(answer["booking_id"].as_str().unwrap().to_string());
        pages.insert(answer["payment_url"].as_str().unwrap().to_string());
    }
    assert_eq!(bookings.len(), 1, "one booking: {bookings:?}");
    assert_eq!(pages.len(), 1, "one payment: {pages:?}");
    let mine: Value = shop
        .s
        .http
        .get(format!("{}/v1/me/bookings", shop.s.url))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = mine
        .as_array()
        .or(mine["items"].as_array())
        .expect("a list");
    assert_eq!(listed.len(), 1, "{mine}");
    let booking_id = bookings.into_iter().next().unwrap();
    let url = pages.into_iter().next().unwrap();
    assert_eq!(shop.pay(&url, "succeed").await, 200);
    shop.eventually_booking(&ada, &booking_id, |b| b["status"] == "completed")
        .await;
    let seats = shop.availability(event).await;
    assert_eq!(
        (seats["available"].as_u64(), seats["sold"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_keeps_the_seats_held_and_the_buyer_pays_again() {
    let shop = shop().await;
    let event = shop.s.create_event("Declined Show", 1, 1, 3).await;
    let token = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&token, event, &["S0-R0-1", "S0-R0-2"]).await;
    let (_, checkout) = shop.checkout(&token, &hold, "k").await;
    let first = checkout["booking_id"].as_str().unwrap();
    assert_eq!(
        shop.pay(checkout["payment_url"].as_str().unwrap(), "fail")
            .await,
        200
    );
    let declined = shop
        .eventually_booking(&token, first, |b| b["status"] == "cancelled")
        .await;
    assert!(
        declined["cancel_reason"]
            .as_str()
            .unwrap()
            .starts_with("the payment was declined"),
        "{declined}"
    );
    assert_eq!(declined["refund"], Value::Null, "nothing was charged");
    assert!(declined["pay_by"].is_string(), "it can be paid again");
    assert_eq!(declined["hold_id"], hold.as_str());
    let seats = shop.availability(event).await;
    assert_eq!(
        (seats["available"].as_u64(), seats["held"].as_u64()),
        (Some(1), Some(2)),
        "the seats stay held for the buyer"
    );

    let (status, again) = shop.checkout(&token, &hold, "k2").await;
    assert_eq!(status, 201, "{again}");
    let second = again["booking_id"].as_str().unwrap();
    assert_ne!(second, first, "a new booking for the second attempt");
    let (_, old) = shop.booking(&token, first).await;
    assert_eq!(old["pay_by"], Value::Null, "the hold is being paid again");
    assert_eq!(
        shop.pay(again["payment_url"].as_str().unwrap(), "succeed")
            .await,
        200
    );
    let paid = shop
        .eventually_booking(&token, second, |b| b["status"] == "completed")
        .await;
    assert_eq!(paid["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(shop.availability(event).await["sold"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_stale_webhooks_are_refused_and_change_nothing() {
    let shop = shop().await;
    let event = shop.s.create_event("Guarded Show", 1, 1, 2).await;
    let token = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&token, event, &["S0-R0-1"]).await;
    let (_, checkout) = shop.checkout(&token, &hold, "k").await;
    let booking_id = checkout["booking_id"].as_str().unwrap();
    let (_, pending) = shop.booking(&token, booking_id).await;
    let payment_id = shop
        .s
        .http
        .get(checkout["payment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .url()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let body = event_body(
        "evt_forged",
        "payment_intent.succeeded",
        &payment_id,
        booking_id,
    );
    for signature in [
        None,
        Some(stripe::sign("whsec_wrong", now(), &body)),
        Some(stripe::sign(SECRET, now() - 3600, &body)),
        Some("t=1,v1=zz".to_string()),
    ] {
        let (status, answer) = shop.webhook(&body, signature).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("invalid_signature"))
        );
    }
    let signed_other_body = stripe::sign(SECRET, now(), b"{}");
    assert_eq!(shop.webhook(&body, Some(signed_other_body)).await.0, 400);
    assert_eq!(
        shop.s
            .coordinator
            .bookings()
            .queued_tasks(10)
            .await
            .unwrap(),
        0,
        "a refused webhook queues nothing"
    );
    let (_, after) = shop.booking(&token, booking_id).await;
    assert_eq!(after, pending, "nothing changed");
    assert_eq!(shop.availability(event).await["held"], 1);
    assert!(
        !shop
            .log_types()
            .await
            .contains(&"booking_completed".to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_success_delivered_five_times_sells_once() {
    let shop = shop().await;
    let event = shop.s.create_event("Replayed Show", 1, 1, 2).await;
    let token = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&token, event, &["S0-R0-1", "S0-R0-2"]).await;
    let (_, checkout) = shop.checkout(&token, &hold, "k").await;
    let booking_id = checkout["booking_id"].as_str().unwrap().to_string();
    let payment_url = checkout["payment_url"].as_str().unwrap();
    let payment_id = payment_url.rsplit('/').next().unwrap();
    let body = paid_event_body("evt_once", payment_id, &booking_id, 2000, "eur");
    let signature = stripe::sign(SECRET, now(), &body);
    let deliveries =
        futures::future::join_all((0..5).map(|_| shop.webhook(&body, Some(signature.clone()))))
            .await;
    let fresh = deliveries
        .iter()
        .filter(|(status, answer)| *status == 200 && answer["duplicate"] == false)
        .count();
    assert_eq!(fresh, 1, "{deliveries:?}");
    assert!(deliveries.iter().all(|(status, _)| *status == 200));
    shop.eventually_booking(&token, &booking_id, |b| b["status"] == "completed")
        .await;
    // A late failure for the same payment changes nothing either.
    let failed = event_body(
        "evt_late_failure",
        "payment_intent.payment_failed",
        payment_id,
        &booking_id,
    );
    assert_eq!(
        shop.webhook(&failed, Some(stripe::sign(SECRET, now(), &failed)))
            .await
            .0,
        200
    );
    shop.tasks_done().await;
    let (_, booking) = shop.booking(&token, &booking_id).await;
    assert_eq!(booking["status"], "completed");
    assert_eq!(booking["refund"], Value::Null);
    let types = shop.log_types().await;
    assert_eq!(
        types.iter().filter(|t| *t == "booking_completed").count(),
        1
    );
    let sold = types.iter().filter(|t| *t == "seat").count();
    assert_eq!(sold, 2 + 2, "two seats held, then two sold, once");
    assert_eq!(shop.availability(event).await["sold"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_after_the_hold_expired_is_refunded_and_sells_nothing() {
    // Tasks run when the test says: the buyer pays after the sweep ended the booking but
    // before the provider heard that its payment is to be cancelled.
    let shop = shop_without_worker().await;
    let event = shop.s.create_event("Late Show", 1, 1, 1).await;
    let (ada, bob) = (
        shop.s.token_for(Uuid::new_v4()),
        shop.s.token_for(Uuid::new_v4()),
    );
    let hold = shop.hold(&ada, event, &["S0-R0-1"]).await;
    let (_, checkout) = shop.checkout(&ada, &hold, "k").await;
    let booking_id = checkout["booking_id"].as_str().unwrap().to_string();
    assert_eq!(shop.end_holds().await.seats, 1);
    let bookings = shop.s.coordinator.bookings();
    let (_, timed_out) = shop.booking(&ada, &booking_id).await;
    assert_eq!(
        timed_out["status"], "cancelled",
        "not paid within the hold's lifetime"
    );
    shop.hold(&bob, event, &["S0-R0-1"]).await;

    // The buyer pays anyway: the charge is refunded, the seat stays Bob's.
    assert_eq!(
        shop.pay(checkout["payment_url"].as_str().unwrap(), "succeed")
            .await,
        200
    );
    assert_eq!(
        bookings.run_due_tasks(10).await.unwrap(),
        2,
        "the payment's cancellation (too late: it is paid) and its outcome"
    );
    assert_eq!(bookings.run_due_tasks(10).await.unwrap(), 1, "the refund");
    let (_, refunded) = shop.booking(&ada, &booking_id).await;
    assert_eq!(
        (&refunded["status"], &refunded["refund"]),
        (&json!("cancelled"), &json!("refunded"))
    );
    let refunds = shop.refunds().await;
    assert_eq!(
        refunds["data"].as_array().unwrap().len(),
        1,
        "refunded exactly once: {refunds}"
    );
    let availability = shop.availability(event).await;
    assert_eq!(
        (availability["held"].as_u64(), availability["sold"].as_u64()),
        (Some(1), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_booking_whose_hold_ended_has_its_payment_cancelled_at_the_provider() {
    let shop = shop().await;
    let event = shop.s.create_event("Cancelled Intent Show", 1, 1, 1).await;
    let ada = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&ada, event, &["S0-R0-1"]).await;
    let (_, checkout) = shop.checkout(&ada, &hold, "k").await;
    shop.end_holds().await;
    shop.tasks_done().await;
    let page = shop
        .s
        .http
        .get(checkout["payment_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("This payment is canceled") && !page.contains("/succeed"),
        "the payment page takes no money for seats that are gone: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gives_a_clear_error_and_no_stuck_booking() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_provider = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let s = serve_with(fjall_store().await, |coordinator, _| {
        coordinator.with_payments(Arc::new(StripeProvider::new(&dead_provider, "sk", SECRET)))
    })
    .await;
    let event = s.create_event("Offline Show", 1, 1, 1).await;
    let token = s.token_for(Uuid::new_v4());
    let hold: Value = s
        .http
        .post(format!("{}/v1/events/{event}/holds", s.url))
        .bearer_auth(&token)
        .header("Idempotency-Key", "h")
        .json(&json!({"seats": ["S0-R0-1"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = s
        .http
        .post(format!(
            "{}/v1/holds/{}/checkout",
            s.url,
            hold["hold_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .header("Idempotency-Key", "c")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payment_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("retry"));
    s.clock
        .advance(s.coordinator.settings().hold_ttl.as_millis() as i64 + 1);
    s.coordinator
        .bookings()
        .sweep_expired_holds(10)
        .await
        .unwrap();
    let availability: Value = s
        .http
        .get(format!("{}/v1/events/{event}/availability", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        availability["available"], 1,
        "the seat is back on sale, nothing sold"
    );
}

/// Checks a one-seat hold out and has the provider report a success paying `amount` of
/// `currency`; returns the booking once settled, and the event.
async fn pay_with(amount: u64, currency: &str) -> (common::shop::Shop, Value, u64) {
    let shop = shop().await;
    let event = shop.s.create_event("Priced Show", 1, 1, 2).await;
    let token = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&token, event, &["S0-R0-1"]).await;
    let (_, checkout) = shop.checkout(&token, &hold, "k").await;
    assert_eq!(
        (&checkout["total"], &checkout["currency"]),
        (&json!(1000), &json!("EUR"))
    );
    let booking_id = checkout["booking_id"].as_str().unwrap().to_string();
    let payment_id = checkout["payment_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let body = paid_event_body("evt_paid", &payment_id, &booking_id, amount, currency);
    let (status, _) = shop
        .webhook(&body, Some(stripe::sign(SECRET, now(), &body)))
        .await;
    assert_eq!(status, 200);
    let booking = shop
        .eventually_booking(&token, &booking_id, |b| {
            b["status"] == "completed" || b["refund"] == "refunded"
        })
        .await;
    (shop, booking, event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_underpaid_or_wrong_currency_payment_sells_nothing_and_is_refunded() {
    for (amount, currency) in [(999, "eur"), (1000, "usd"), (1001, "eur")] {
        let (shop, booking, event) = pay_with(amount, currency).await;
        assert_eq!(
            booking["status"], "cancelled",
            "{amount} {currency}: {booking}"
        );
        assert_eq!(booking["refund"], "refunded");
        assert!(
            booking["cancel_reason"]
                .as_str()
                .unwrap()
                .contains("not the booking's total"),
            "{booking}"
        );
        assert_eq!(booking["tickets"], json!([]));
        let availability = shop.availability(event).await;
        assert_eq!(
            (
                availability["available"].as_u64(),
                availability["sold"].as_u64()
            ),
            (Some(2), Some(0)),
            "the seat is back on sale"
        );
        let refunds = shop.refunds().await;
        assert_eq!(refunds["data"].as_array().unwrap().len(), 1, "{refunds}");
        let metrics = shop
            .s
            .http
            .get(format!("{}/metrics", shop.s.url))
            .bearer_auth(shop.s.operator())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("onsale_payment_mismatches_total"),
            "counted"
        );
    }
    let (_, paid, _) = pay_with(1000, "eur").await;
    assert_eq!(paid["status"], "completed", "the exact total sells: {paid}");
}

/// An HTTP client that does not follow redirects, to see where a page sends the buyer.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The sandbox's Checkout Session `id`, as its API answers.
async fn session(shop: &common::shop::Shop, id: &str) -> Value {
    shop.s
        .http
        .get(format!("{}/v1/checkout/sessions/{id}", shop.sandbox_url))
        .bearer_auth("sk_test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hosted_page_takes_a_declined_card_and_a_retry_and_sends_the_buyer_back() {
    let shop = hosted_shop().await;
    let event = shop.s.create_event("Hosted Show", 1, 1, 3).await;
    let ada = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&ada, event, &["S0-R0-1", "S0-R0-2"]).await;
    let (status, checkout) = shop.checkout(&ada, &hold, "k").await;
    assert_eq!(status, 201, "{checkout}");
    let booking_id = checkout["booking_id"].as_str().unwrap();
    let url = checkout["payment_url"].as_str().unwrap();
    let session_id = url.rsplit('/').next().unwrap();
    assert!(session_id.starts_with("cs_"), "a Checkout Session: {url}");
    assert_eq!(checkout["client_secret"], Value::Null);

    // What Stripe was asked for: the booking's total, back to the booking's page, open
    // for at least Stripe's shortest lifetime (the hold is shorter).
    let asked = session(&shop, session_id).await;
    let back = format!("{SITE}/bookings/{booking_id}");
    assert_eq!(asked["amount_total"], checkout["total"]);
    assert_eq!(asked["metadata"]["booking_id"], booking_id);
    assert_eq!(asked["success_url"], format!("{back}?paid=1"));
    assert_eq!(asked["cancel_url"], back.as_str());
    assert!(
        asked["expires_at"].as_i64().unwrap() >= now() + 30 * 60,
        "{asked}"
    );

    // A declined card stays on the page: nothing is sent, the booking stays payable.
    let declined = no_redirects()
        .post(format!("{url}/fail"))
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 200);
    let page = declined.text().await.unwrap();
    assert!(
        page.contains("declined") && page.contains("/succeed"),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"{back}\"")),
        "a way back: {page}"
    );
    shop.tasks_done().await;
    let (_, pending) = shop.booking(&ada, booking_id).await;
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["payment_url"], url);

    // The retry pays, and the page sends the buyer to the booking.
    let paid = no_redirects()
        .post(format!("{url}/succeed"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert_eq!(
        paid.headers()["location"],
        format!("{back}?paid=1").as_str()
    );
    let completed = shop
        .eventually_booking(&ada, booking_id, |b| b["status"] == "completed")
        .await;
    assert_eq!(completed["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(completed["payment_url"], Value::Null);

    // A refund of the session's booking refunds the intent that took the money.
    let provider = StripeProvider::new(&shop.sandbox_url, "sk_test", SECRET);
    use onsale_coordinator::payments::PaymentProvider;
    provider.refund(session_id, booking_id).await.unwrap();
    let refunds = shop.refunds().await;
    let paid_with = session(&shop, session_id).await["payment_intent"].clone();
    assert!(paid_with.as_str().unwrap().starts_with("pi_"));
    assert_eq!(refunds["data"], json!([paid_with]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hosted_page_left_unpaid_expires_with_the_hold() {
    let shop = hosted_shop().await;
    let event = shop.s.create_event("Left Show", 1, 1, 1).await;
    let ada = shop.s.token_for(Uuid::new_v4());
    let hold = shop.hold(&ada, event, &["S0-R0-1"]).await;
    let (_, checkout) = shop.checkout(&ada, &hold, "k").await;
    let booking_id = checkout["booking_id"].as_str().unwrap();
    let url = checkout["payment_url"].as_str().unwrap();
    let session_id = url.rsplit('/').next().unwrap();
    shop.end_holds().await;
    shop.tasks_done().await;
    assert_eq!(session(&shop, session_id).await["status"], "expired");
    let late = no_redirects()
        .post(format!("{url}/succeed"))
        .send()
        .await
        .unwrap();
    let page = late.text().await.unwrap();
    assert!(
        page.contains("expired") && !page.contains("/succeed"),
        "{page}"
    );
    // The expiry's own webhook changes nothing more.
    shop.tasks_done().await;
    let (_, ended) = shop.booking(&ada, booking_id).await;
    assert_eq!(
        (&ended["status"], &ended["refund"]),
        (&json!("cancelled"), &Value::Null)
    );
    assert_eq!(shop.availability(event).await["available"], 1);
}
