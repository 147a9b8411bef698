//! Seat limits per account and event, over real HTTP: one account firing a hundred
//! holds at once ends at or under its limit (fjall and PostgreSQL); released, expired and
//! cancelled seats count back, booked ones keep counting; the operator's changes apply;
//! best available obeys; two accounts are two accounts; a waiting-room pass admits one
//! account, limit included.

mod common;

use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use common::shop::shop;
use common::{TestServer, TestStore, fjall_store, pg_store, serve};

/// Posts a hold request body; returns the status and the body.
async fn hold(s: &TestServer, token: &str, event: u64, request: Value) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}/v1/events/{event}/holds", s.url))
        .bearer_auth(token)
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&request)
        .send()
        .await
        .expect("hold request");
    (
        response.status().as_u16(),
        response.json().await.expect("json"),
    )
}

/// Holds seats `S0-R0-{first}` onwards, `count` of them.
async fn hold_run(s: &TestServer, token: &str, event: u64, first: u32, count: u32) -> (u16, Value) {
    let seats: Vec<String> = (first..first + count)
        .map(|n| format!("S0-R0-{n}"))
        .collect();
    hold(s, token, event, json!({ "seats": seats })).await
}

/// Asserts a `ticket_limit_reached` answer with these figures.
fn assert_limit(answer: &(u16, Value), limit: u64, current: u64) {
    let (status, body) = answer;
    assert_eq!(*status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ticket_limit_reached", "{body}");
    assert_eq!(body["error"]["limit"], limit, "{body}");
    assert_eq!(body["error"]["current"], current, "{body}");
}

async fn availability(s: &TestServer, event: u64) -> Value {
    s.http
        .get(format!("{}/v1/events/{event}/availability", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn one_account_ends_at_or_under_its_limit(store: TestStore) {
    let s = serve(store).await;
    let event = s.create_event("Rush", 1, 1, 300).await;
    let token = s.token_for(Uuid::new_v4());
    // A hundred holds at once, of disjoint seats (so only the limit can refuse them),
    // one or two seats each.
    let answers = join_all((0..100u32).map(|i| {
        let (s, token) = (&s, &token);
        async move {
            let count = 1 + i % 2;
            (count, hold_run(s, token, event, 1 + 3 * i, count).await)
        }
    }))
    .await;
    let mut placed = 0;
    for (count, (status, body)) in &answers {
        match status {
            201 => placed += count,
            409 => {
                assert_eq!(body["error"]["code"], "ticket_limit_reached", "{body}");
                assert_eq!(body["error"]["limit"], 8);
                let current = body["error"]["current"].as_u64().unwrap() as u32;
                assert!(current + count > 8, "refused though it fit: {body}");
            }
            _ => panic!("unexpected answer {status}: {body}"),
        }
    }
    // Seats only ever grow here, so a refused hold means fewer than two were left.
    assert!((7..=8).contains(&placed), "{placed} seats placed");
    assert_eq!(availability(&s, event).await["held"], placed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fjall_one_account_firing_100_holds_ends_at_or_under_its_limit() {
    one_account_ends_at_or_under_its_limit(fjall_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_one_account_firing_100_holds_ends_at_or_under_its_limit() {
    one_account_ends_at_or_under_its_limit(pg_store().await).await;
}

#[tokio::test]
async fn released_and_expired_seats_count_back() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event_limited("Turnover", 1, 1, 40, Some(4)).await;
    let token = s.token_for(Uuid::new_v4());
    let first = hold_run(&s, &token, event, 1, 2).await;
    assert_eq!(first.0, 201);
    assert_eq!(hold_run(&s, &token, event, 3, 2).await.0, 201);
    assert_limit(&hold_run(&s, &token, event, 5, 1).await, 4, 4);

    // Released: its two seats count back.
    let released = s
        .http
        .delete(format!(
            "{}/v1/holds/{}",
            s.url,
            first.1["hold_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    assert_eq!(hold_run(&s, &token, event, 5, 2).await.0, 201);
    assert_limit(&hold_run(&s, &token, event, 7, 1).await, 4, 4);

    // Expired, before any sweep: they stop counting at their expiry.
    let ttl = s.coordinator.settings().hold_ttl.as_millis() as i64;
    s.clock.advance(ttl);
    assert_eq!(hold_run(&s, &token, event, 9, 4).await.0, 201);
    assert_limit(&hold_run(&s, &token, event, 13, 1).await, 4, 4);

    // Expired and swept.
    s.clock.advance(ttl);
    let swept = s
        .coordinator
        .bookings()
        .sweep_expired_holds(100)
        .await
        .unwrap();
    assert_eq!(swept.holds, 3);
    assert_eq!(hold_run(&s, &token, event, 13, 4).await.0, 201);
    assert_eq!(availability(&s, event).await["held"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_seats_keep_counting_and_released_holds_count_back() {
    let shop = shop().await;
    let event = shop
        .s
        .create_event_limited("Paid Limit", 1, 1, 20, Some(3))
        .await;
    let token = shop.s.token_for(Uuid::new_v4());

    // Paid: two seats sold, and they still count.
    let sold = shop.hold(&token, event, &["S0-R0-1", "S0-R0-2"]).await;
    let (_, checkout) = shop.checkout(&token, &sold, "paid").await;
    assert_eq!(
        shop.pay(checkout["payment_url"].as_str().unwrap(), "succeed")
            .await,
        200
    );
    shop.eventually_booking(&token, checkout["booking_id"].as_str().unwrap(), |b| {
        b["status"] == "completed"
    })
    .await;
    assert_limit(&hold_run(&shop.s, &token, event, 3, 2).await, 3, 2);

    // Pending: a hold in checkout still counts.
    let pending = shop.hold(&token, event, &["S0-R0-3"]).await;
    let (_, declined) = shop.checkout(&token, &pending, "declined").await;
    assert_limit(&hold_run(&shop.s, &token, event, 4, 1).await, 3, 3);

    // A declined payment cancels the booking but keeps the hold (to pay again): its seat
    // still counts, until the buyer releases it.
    assert_eq!(
        shop.pay(declined["payment_url"].as_str().unwrap(), "fail")
            .await,
        200
    );
    shop.eventually_booking(&token, declined["booking_id"].as_str().unwrap(), |b| {
        b["status"] == "cancelled"
    })
    .await;
    assert_limit(&hold_run(&shop.s, &token, event, 4, 1).await, 3, 3);
    let release = shop
        .s
        .http
        .delete(format!("{}/v1/holds/{pending}", shop.s.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(release.status(), 204);
    assert_eq!(hold_run(&shop.s, &token, event, 4, 1).await.0, 201);
    assert_limit(&hold_run(&shop.s, &token, event, 5, 1).await, 3, 3);
}

#[tokio::test]
async fn the_operators_limit_is_in_the_event_and_changes_apply() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Adjustable", 1, 1, 40).await;
    let url = format!("{}/v1/events/{event}", s.url);
    let shown: Value = s.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["max_seats_per_account"], 8, "the default: {shown}");

    let mut details = shown.clone();
    let update = |details: Value| {
        s.http
            .put(format!("{}/v1/operator/events/{event}", s.url))
            .bearer_auth(s.operator())
            .json(&details)
            .send()
    };
    for refused in [json!(0), json!(101), json!(-1), json!("many")] {
        details["max_seats_per_account"] = refused.clone();
        let response = update(details.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{refused} refused");
    }
    details["max_seats_per_account"] = json!(2);
    let response = update(details.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["max_seats_per_account"], 2);

    let token = s.token_for(Uuid::new_v4());
    assert_limit(&hold_run(&s, &token, event, 1, 3).await, 2, 0);
    assert_eq!(hold_run(&s, &token, event, 1, 2).await.0, 201);
    assert_limit(&hold_run(&s, &token, event, 3, 1).await, 2, 2);

    // Edited without the field, the event keeps its limit; raised, more fit.
    details
        .as_object_mut()
        .unwrap()
        .remove("max_seats_per_account");
    details["name"] = json!("Adjustable, renamed");
    let kept: Value = update(details.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(kept["max_seats_per_account"], 2);
    details["max_seats_per_account"] = json!(3);
    assert_eq!(update(details).await.unwrap().status(), 200);
    assert_eq!(hold_run(&s, &token, event, 3, 1).await.0, 201);
    assert_limit(&hold_run(&s, &token, event, 4, 1).await, 3, 3);

    // Set at creation, and refused out of range there too.
    let created = s.create_event_limited("Strict", 1, 1, 10, Some(1)).await;
    let strict: Value = s
        .http
        .get(format!("{}/v1/events/{created}", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(strict["max_seats_per_account"], 1);
    let mut too_many = strict.clone();
    too_many["max_seats_per_account"] = json!(1000);
    too_many["seat_map"] = json!({"sections": [{"id": "A", "name": "A", "price": 1, "rows": [{"name": "1", "seats": 1}]}]});
    let response = s
        .http
        .post(format!("{}/v1/operator/events", s.url))
        .bearer_auth(s.operator())
        .json(&too_many)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_seats_per_account"),
        "{body}"
    );
}

#[tokio::test]
async fn best_available_obeys_the_limit() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event_limited("Best", 1, 2, 10, Some(3)).await;
    let token = s.token_for(Uuid::new_v4());
    let best = |count: u32| json!({"best_available": {"section": "S0", "count": count}});
    assert_eq!(hold(&s, &token, event, best(2)).await.0, 201);
    assert_limit(&hold(&s, &token, event, best(2)).await, 3, 2);
    assert_eq!(hold(&s, &token, event, best(1)).await.0, 201);
    assert_limit(&hold(&s, &token, event, best(1)).await, 3, 3);
    assert_eq!(availability(&s, event).await["held"], 3);
}

#[tokio::test]
async fn two_accounts_are_two_accounts() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event_limited("Pair", 1, 1, 10, Some(2)).await;
    let (ada, ada_again) = (s.token_for(Uuid::new_v4()), s.token_for(Uuid::new_v4()));
    assert_eq!(hold_run(&s, &ada, event, 1, 2).await.0, 201);
    assert_eq!(
        hold_run(&s, &ada_again, event, 3, 2).await.0,
        201,
        "another account of the same person has its own limit"
    );
    assert_limit(&hold_run(&s, &ada, event, 5, 1).await, 2, 2);
    assert_limit(&hold_run(&s, &ada_again, event, 5, 1).await, 2, 2);
    let other_event = s.create_event_limited("Other", 1, 1, 10, Some(2)).await;
    assert_eq!(
        hold_run(&s, &ada, other_event, 1, 2).await.0,
        201,
        "the limit is per event"
    );
}

#[tokio::test]
async fn a_waiting_room_pass_admits_one_account_with_its_limit() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event_limited("Queued", 1, 1, 20, Some(2)).await;
    let room = s
        .http
        .put(format!("{}/v1/operator/events/{event}/waiting-room", s.url))
        .bearer_auth(s.operator())
        .json(
            &json!({"enabled": true, "new_users_per_minute": 600, "total_active_users": 100,
            "session_duration_seconds": 600}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(room.status(), 200, "{}", room.text().await.unwrap());
    let (ada, bob) = (s.token_for(Uuid::new_v4()), s.token_for(Uuid::new_v4()));
    let joined: Value = s
        .http
        .post(format!("{}/v1/events/{event}/queue", s.url))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ticket = joined["ticket"].as_str().unwrap().to_string();
    let mut pass = joined["pass"].as_str().map(str::to_string);
    for _ in 0..120 {
        if pass.is_some() {
            break;
        }
        s.clock.advance(1000);
        s.coordinator
            .waiting_rooms()
            .admit_waiting_rooms()
            .await
            .unwrap();
        let status: Value = s
            .http
            .get(format!("{}/v1/events/{event}/queue?ticket={ticket}", s.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pass = status["pass"].as_str().map(str::to_string);
    }
    let pass = pass.expect("admitted within two minutes");
    let with_pass = |token: &str, seats: Vec<&str>| {
        s.http
            .post(format!("{}/v1/events/{event}/holds", s.url))
            .bearer_auth(token)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .header("X-Queue-Pass", &pass)
            .json(&json!({ "seats": seats }))
            .send()
    };
    let placed = with_pass(&ada, vec!["S0-R0-1", "S0-R0-2"]).await.unwrap();
    assert_eq!(placed.status(), 201);
    let over = with_pass(&ada, vec!["S0-R0-3"]).await.unwrap();
    let over = (over.status().as_u16(), over.json().await.unwrap());
    assert_limit(&over, 2, 2);
    let borrowed = with_pass(&bob, vec!["S0-R0-4"]).await.unwrap();
    assert_eq!(borrowed.status(), 403, "the pass is Ada's alone");
}
