//! The waiting room over real sockets: FIFO places under concurrent joins, admission
//! within the configured rates, passes checked on holds, the on-sale shuffle, the
//! automatic switch, live updates, and places that survive a restart.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use onsale_pass::{Pass, QueueKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use common::{
    CountingStore, TestServer, fjall_store, fjall_store_at, pg_store, serve, serve_shared,
};

async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut request = s.http.request(method, format!("{}{path}", s.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, value)
}

fn room(enabled: bool, active: u32, per_minute: u32, session_seconds: u32) -> Value {
    json!({
        "enabled": enabled,
        "total_active_users": active,
        "new_users_per_minute": per_minute,
        "session_duration_seconds": session_seconds,
    })
}

async fn put_room(s: &TestServer, event: u64, settings: &Value) -> (StatusCode, Value) {
    let path = format!("/v1/operator/events/{event}/waiting-room");
    send(s, Method::PUT, &path, Some(&s.operator()), Some(settings)).await
}

async fn join(s: &TestServer, user: Uuid, event: u64) -> (StatusCode, Value) {
    let path = format!("/v1/events/{event}/queue");
    send(s, Method::POST, &path, Some(&s.token_for(user)), None).await
}

/// Every user joins at once; returns their answers in the users' order.
async fn join_together(s: &TestServer, users: &[Uuid], event: u64) -> Vec<(StatusCode, Value)> {
    join_all(users.iter().map(|&user| join(s, user, event))).await
}

async fn standing(s: &TestServer, event: u64, ticket: &str) -> (StatusCode, Value) {
    let response = s
        .http
        .get(format!("{}/v1/events/{event}/queue", s.url))
        .query(&[("ticket", ticket)])
        .send()
        .await
        .expect("standing");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

async fn hold(
    s: &TestServer,
    user: Uuid,
    event: u64,
    seat: &str,
    pass: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = s
        .http
        .post(format!("{}/v1/events/{event}/holds", s.url))
        .bearer_auth(s.token_for(user))
        .header("Idempotency-Key", Uuid::new_v4().to_string())
        .json(&json!({ "seats": [seat] }));
    if let Some(pass) = pass {
        request = request.header("X-Queue-Pass", pass);
    }
    let response = request.send().await.expect("hold");
    let status = response.status();
    (status, response.json().await.expect("JSON"))
}

/// Moves the clock on and runs one admission round.
async fn tick(s: &TestServer, seconds: i64) {
    s.clock.advance(seconds * 1000);
    s.coordinator
        .waiting_rooms()
        .admit_waiting_rooms()
        .await
        .expect("admission round");
}

fn users(n: usize) -> Vec<Uuid> {
    (0..n).map(|_| Uuid::new_v4()).collect()
}

#[tokio::test]
async fn concurrent_joins_get_places_1_to_n_first_come_first_served() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Queue Night", 1, 1, 10).await;
    let (status, _) = put_room(&s, event, &room(true, 1000, 60, 600)).await;
    assert_eq!(status, 200);

    let people = users(300);
    let joined = join_together(&s, &people, event).await;
    let mut positions: Vec<u64> = joined
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            assert_eq!(body["state"], "queued");
            assert!(body["estimated_wait_seconds"].as_u64().is_some());
            body["position"].as_u64().expect("position")
        })
        .collect();
    positions.sort_unstable();
    assert_eq!(
        positions,
        (1..=300).collect::<Vec<u64>>(),
        "no gaps, no repeats"
    );

    // Joining again is idempotent: same place, same ticket, 200.
    let again = join_together(&s, &people, event).await;
    for ((_, first), (status, second)) in joined.iter().zip(&again) {
        assert_eq!(*status, StatusCode::OK);
        assert_eq!(first["position"], second["position"]);
        assert_eq!(first["ticket"], second["ticket"]);
    }
    // The ticket alone tells the position.
    let (status, by_ticket) = standing(&s, event, joined[17].1["ticket"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(by_ticket["position"], joined[17].1["position"]);

    // Later joins queue behind, one after the other.
    let (_, late) = join(&s, Uuid::new_v4(), event).await;
    let (_, later) = join(&s, Uuid::new_v4(), event).await;
    assert_eq!(late["position"], 301);
    assert_eq!(later["position"], 302);

    // Admission takes the front of the queue, in order.
    tick(&s, 1).await;
    let admitted = s
        .coordinator
        .waiting_rooms()
        .waiting_room(event)
        .await
        .unwrap()
        .admitted_total;
    assert!(admitted > 0);
    for (user, (_, first)) in people.iter().zip(&joined) {
        let was = first["position"].as_u64().unwrap();
        let now = s
            .coordinator
            .waiting_rooms()
            .queue_status(*user, event)
            .await
            .unwrap();
        if was <= admitted {
            assert!(
                now.admitted && now.pass.is_some(),
                "place {was} was admitted"
            );
        } else {
            assert_eq!(now.position, Some(was - admitted));
        }
    }
    let (_, view) = send(
        &s,
        Method::GET,
        &format!("/v1/operator/events/{event}/waiting-room"),
        Some(&s.operator()),
        None,
    )
    .await;
    assert_eq!(view["queued"], 302 - admitted);
    assert_eq!(view["active"], admitted);
}

#[tokio::test]
async fn two_coordinators_on_postgres_share_one_queue_and_one_rate() {
    let a = serve(pg_store().await).await;
    let b = serve_shared(a.store.store.clone()).await;
    let event = a.create_event("Shared Night", 1, 1, 10).await;
    put_room(&a, event, &room(true, 10_000, 120, 3600)).await;

    let people = users(300);
    let (via_a, via_b) = people.split_at(150);
    let (joined_a, joined_b) = tokio::join!(
        join_together(&a, via_a, event),
        join_together(&b, via_b, event)
    );
    let mut positions: Vec<u64> = joined_a
        .iter()
        .chain(&joined_b)
        .map(|(status, body)| {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
            body["position"].as_u64().unwrap()
        })
        .collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=300).collect::<Vec<u64>>());

    // Both run every admission round, at the same time: together they keep to the rate.
    let mut per_second = Vec::new();
    let mut last = 0;
    for _ in 0..90 {
        a.clock.advance(1000);
        b.clock.advance(1000);
        let (ra, rb) = tokio::join!(
            a.coordinator.waiting_rooms().admit_waiting_rooms(),
            b.coordinator.waiting_rooms().admit_waiting_rooms()
        );
        ra.unwrap();
        rb.unwrap();
        let total = a
            .coordinator
            .waiting_rooms()
            .waiting_room(event)
            .await
            .unwrap()
            .admitted_total;
        per_second.push(total - last);
        last = total;
    }
    for window in per_second.windows(60) {
        let sum: u64 = window.iter().sum();
        assert!(sum <= 120, "{sum} admitted within 60 s by two coordinators");
    }
    assert!(last >= 165, "{last} admitted in 90 s at 120 a minute");
}

#[tokio::test]
async fn admission_never_exceeds_the_rate_or_the_active_cap() {
    let s = serve(fjall_store().await).await;
    // A: limited by its rate, 120 a minute. B: limited by 25 active users, who leave
    // after a minute.
    let rate_bound = s.create_event("Rate Night", 1, 1, 10).await;
    let cap_bound = s.create_event("Cap Night", 1, 1, 10).await;
    put_room(&s, rate_bound, &room(true, 10_000, 120, 3600)).await;
    put_room(&s, cap_bound, &room(true, 25, 600, 60)).await;
    let people = users(400);
    let places: Vec<u64> = join_together(&s, &people, rate_bound)
        .await
        .iter()
        .map(|(_, body)| body["position"].as_u64().unwrap())
        .collect();
    join_together(&s, &people, cap_bound).await;

    let mut per_second = Vec::new();
    let (mut last_a, mut last_b) = (0, 0);
    // Three minutes: 360 of the 400 at 120 a minute, and three rounds of 25 sessions.
    for _ in 0..180 {
        tick(&s, 1).await;
        let a = s
            .coordinator
            .waiting_rooms()
            .waiting_room(rate_bound)
            .await
            .unwrap();
        let b = s
            .coordinator
            .waiting_rooms()
            .waiting_room(cap_bound)
            .await
            .unwrap();
        assert!(b.active <= 25, "{} active of at most 25", b.active);
        assert!(b.admitted_total - last_b <= 25);
        per_second.push(a.admitted_total - last_a);
        (last_a, last_b) = (a.admitted_total, b.admitted_total);
    }
    for window in per_second.windows(60) {
        let sum: u64 = window.iter().sum();
        assert!(sum <= 120, "{sum} admitted within 60 s at 120 a minute");
    }
    for minute in per_second.chunks(60) {
        let sum: u64 = minute.iter().sum();
        assert!(
            (110..=120).contains(&sum),
            "{sum} admitted in a minute at 120 a minute"
        );
    }
    assert!(
        per_second.iter().all(|&n| n <= 3),
        "admission is spread over the minute"
    );
    assert!(
        last_b >= 75,
        "places freed by ended sessions are refilled: {last_b} admitted in 3 minutes"
    );

    // Whoever was admitted was at the front.
    for (user, place) in people.iter().zip(places) {
        let now = s
            .coordinator
            .waiting_rooms()
            .queue_status(*user, rate_bound)
            .await
            .unwrap();
        assert_eq!(
            now.admitted,
            place <= last_a,
            "place {place} of {last_a} admitted"
        );
    }
}

#[tokio::test]
async fn holds_need_a_valid_pass_while_the_room_is_on() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Pass Night", 1, 1, 20).await;
    let other = s.create_event("Other Night", 1, 1, 20).await;
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());

    // Off: no pass needed.
    assert_eq!(hold(&s, alice, event, "S0-R0-1", None).await.0, 201);

    put_room(&s, event, &room(true, 10, 60, 60)).await;
    put_room(&s, other, &room(true, 10, 60, 60)).await;
    let (status, refused) = hold(&s, alice, event, "S0-R0-2", None).await;
    assert_eq!(status, 403);
    assert_eq!(refused["error"]["code"], "queue_pass_required");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/queue")
    );

    let (_, joined) = join(&s, alice, event).await;
    let (_, joined_other) = join(&s, alice, other).await;
    tick(&s, 1).await;
    let (_, admitted) = standing(&s, event, joined["ticket"].as_str().unwrap()).await;
    assert_eq!(admitted["state"], "admitted");
    assert_eq!(admitted["admitted"], true);
    assert!(admitted["expires_at"].is_string());
    let pass = admitted["pass"].as_str().unwrap().to_string();
    let (_, admitted_other) = standing(&s, other, joined_other["ticket"].as_str().unwrap()).await;
    let other_pass = admitted_other["pass"].as_str().unwrap().to_string();
    let forged = QueueKey::new([7; 32]).sign_pass(&Pass {
        event_id: event,
        user_id: *alice.as_bytes(),
        expires_at: 4_000_000_000_000,
    });

    for (user, pass, why) in [
        (alice, forged.as_str(), "not issued by this site"),
        (alice, "garbage", "malformed"),
        (alice, other_pass.as_str(), "for event"),
        (bob, pass.as_str(), "another user"),
    ] {
        let (status, refused) = hold(&s, user, event, "S0-R0-2", Some(pass)).await;
        assert_eq!(status, 403, "{why}");
        assert_eq!(refused["error"]["code"], "queue_pass_invalid", "{why}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{message:?} should say {why:?}");
    }
    let (status, held) = hold(&s, alice, event, "S0-R0-2", Some(&pass)).await;
    assert_eq!(status, 201, "{held}");

    // The seed API's bookEvent is gated the same way.
    let book = |pass: Option<&str>| {
        let mut request = s
            .http
            .post(format!("{}/bookEvent?eventId={event}&seatNumber=5", s.url))
            .bearer_auth(s.token_for(alice));
        if let Some(pass) = pass {
            request = request.header("X-Queue-Pass", pass);
        }
        request.send()
    };
    assert_eq!(book(None).await.unwrap().status(), 403);
    assert_eq!(book(Some(&pass)).await.unwrap().status(), 201);

    // The pass ends with the session.
    tick(&s, 61).await;
    let (status, refused) = hold(&s, alice, event, "S0-R0-3", Some(&pass)).await;
    assert_eq!(status, 403);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let (_, after) = standing(&s, event, joined["ticket"].as_str().unwrap()).await;
    assert_eq!(after["state"], "expired");

    // The event's document says whether the room is on, for the catalogue and the edge.
    let (_, shown) = send(&s, Method::GET, &format!("/v1/events/{event}"), None, None).await;
    assert_eq!(shown["waiting_room"], true);
    put_room(&s, event, &room(false, 10, 60, 60)).await;
    let (_, shown) = send(&s, Method::GET, &format!("/v1/events/{event}"), None, None).await;
    assert_eq!(shown["waiting_room"], false);
    let (_, changes) = send(
        &s,
        Method::GET,
        "/v1/changes?limit=1000",
        Some(&s.operator()),
        None,
    )
    .await;
    let switches = changes
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "event_updated" && c["event_id"] == event)
        .count();
    assert_eq!(switches, 2, "switched on, then off");
    assert_eq!(hold(&s, bob, event, "S0-R0-4", None).await.0, 201);
}

#[tokio::test]
async fn a_coordinator_restart_keeps_every_place() {
    let dir = tempfile::tempdir().unwrap();
    let people = users(120);
    let (event, before) = {
        let s = serve(fjall_store_at(dir.path()).await).await;
        let event = s.create_event("Restart Night", 1, 1, 10).await;
        put_room(&s, event, &room(true, 1000, 600, 600)).await;
        let joined = join_together(&s, &people, event).await;
        tick(&s, 1).await;
        let mut before = Vec::new();
        for (_, body) in &joined {
            let ticket = body["ticket"].as_str().unwrap();
            before.push(standing(&s, event, ticket).await.1);
        }
        (event, before)
    };
    assert!(before.iter().any(|b| b["state"] == "admitted"));
    assert!(before.iter().any(|b| b["state"] == "queued"));

    let s = serve(fjall_store_at(dir.path()).await).await;
    s.clock.advance(1000);
    for was in &before {
        let (status, now) = standing(&s, event, was["ticket"].as_str().unwrap()).await;
        assert_eq!(status, 200);
        assert_eq!(&now, was, "the same standing after the restart");
    }
    // And the queue goes on from where it was.
    let (_, late) = join(&s, Uuid::new_v4(), event).await;
    let queued = before.iter().filter(|b| b["state"] == "queued").count() as u64;
    assert_eq!(late["position"], queued + 1);
}

#[tokio::test]
async fn the_room_switches_itself_on_when_demand_passes_the_threshold() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Surge Night", 1, 1, 20).await;
    let mut settings = room(false, 10, 60, 600);
    settings["auto_threshold"] = json!(3);
    put_room(&s, event, &settings).await;
    let (status, _) = join(&s, Uuid::new_v4(), event).await;
    assert_eq!(status, 409, "no queue while the room is off");

    let first = users(3);
    for (i, user) in first.iter().enumerate() {
        let seat = format!("S0-R0-{}", i + 1);
        assert_eq!(hold(&s, *user, event, &seat, None).await.0, 201);
        assert_eq!(
            hold(&s, *user, event, &format!("S0-R0-{}", i + 11), None)
                .await
                .0,
            201
        );
    }
    let (status, refused) = hold(&s, Uuid::new_v4(), event, "S0-R0-5", None).await;
    assert_eq!(status, 403, "the fourth person in a minute switches it on");
    assert_eq!(refused["error"]["code"], "queue_pass_required");
    assert_eq!(hold(&s, first[0], event, "S0-R0-6", None).await.0, 403);

    let (_, view) = send(
        &s,
        Method::GET,
        &format!("/v1/operator/events/{event}/waiting-room"),
        Some(&s.operator()),
        None,
    )
    .await;
    assert_eq!(view["enabled"], true);
    let (_, shown) = send(&s, Method::GET, &format!("/v1/events/{event}"), None, None).await;
    assert_eq!(shown["waiting_room"], true);
    let (status, joined) = join(&s, Uuid::new_v4(), event).await;
    assert_eq!(status, 201);
    assert_eq!(joined["position"], 1);
}

#[tokio::test]
async fn people_who_come_before_the_on_sale_are_shuffled_ahead_of_later_ones() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Shuffle Night", 1, 1, 10).await;
    let opens_at = 1_800_000_000 + 600;
    let opens = time::OffsetDateTime::from_unix_timestamp(opens_at)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut settings = room(true, 1, 1, 86_400);
    settings["shuffle_before"] = json!(opens);
    put_room(&s, event, &settings).await;

    // They come one after the other, so first-come-first-served would keep this order.
    let early = users(200);
    let mut tickets = Vec::new();
    for user in &early {
        let (status, body) = join(&s, *user, event).await;
        assert_eq!(status, 201);
        assert_eq!(body["state"], "waiting");
        assert!(body.get("position").is_none());
        assert_eq!(body["shuffle_at"], opens.as_str());
        tickets.push(body["ticket"].as_str().unwrap().to_string());
    }
    tick(&s, 300).await;
    let (_, view) = send(
        &s,
        Method::GET,
        &format!("/v1/operator/events/{event}/waiting-room"),
        Some(&s.operator()),
        None,
    )
    .await;
    assert_eq!(view["queued"], 200);
    assert_eq!(
        view["admitted_total"], 0,
        "nobody is admitted before the on-sale"
    );

    tick(&s, 301).await;
    let admitted = s
        .coordinator
        .waiting_rooms()
        .waiting_room(event)
        .await
        .unwrap()
        .admitted_total;
    assert_eq!(admitted, 1);
    let mut places = Vec::new();
    for ticket in &tickets {
        let (_, now) = standing(&s, event, ticket).await;
        let place = match now["state"].as_str().unwrap() {
            "admitted" => 1,
            "queued" => now["position"].as_u64().unwrap() + admitted,
            other => panic!("{other} after the shuffle"),
        };
        places.push(place);
    }
    let mut sorted = places.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (1..=200).collect::<Vec<u64>>(),
        "every early joiner has one place"
    );
    assert_ne!(places, sorted, "the early joiners were shuffled");
    let unchanged: Vec<_> = join_all(tickets.iter().map(|t| standing(&s, event, t))).await;
    for ((_, now), place) in unchanged.iter().zip(&places) {
        if now["state"] == "queued" {
            assert_eq!(now["position"].as_u64().unwrap() + admitted, *place);
        }
    }

    let (_, late) = join(&s, Uuid::new_v4(), event).await;
    assert_eq!(late["state"], "queued");
    assert_eq!(
        late["position"],
        200 - admitted + 1,
        "after everyone shuffled"
    );
}

/// The next server-sent event's JSON data.
async fn next_event(stream: &mut reqwest::Response, buffer: &mut String) -> Value {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                return serde_json::from_str(data.trim()).expect("JSON data");
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("an event within 10 s")
            .expect("stream")
            .expect("the stream stays open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

#[tokio::test]
async fn the_queue_api_answers_errors_and_pushes_positions_live() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Live Queue Night", 1, 1, 10).await;
    let other = s.create_event("Quiet Night", 1, 1, 10).await;
    let path = format!("/v1/operator/events/{event}/waiting-room");

    let (status, body) = send(&s, Method::GET, &path, Some(&s.operator()), None).await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, body) = put_room(&s, event, &room(true, 10, 0, 600)).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("new_users_per_minute")
    );
    let (status, _) = put_room(&s, 999, &room(true, 10, 60, 600)).await;
    assert_eq!(status, 404);
    let user_token = s.token_for(Uuid::new_v4());
    let (status, _) = send(
        &s,
        Method::PUT,
        &path,
        Some(&user_token),
        Some(&room(true, 10, 60, 600)),
    )
    .await;
    assert_eq!(status, 403);
    let (status, view) = put_room(&s, event, &room(true, 10, 60, 600)).await;
    assert_eq!(status, 200);
    assert_eq!(view["new_users_per_minute"], 60);
    assert_eq!(
        (view["queued"].as_u64(), view["active"].as_u64()),
        (Some(0), Some(0))
    );

    let (status, body) = join(&s, Uuid::new_v4(), other).await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (409, Some("waiting_room_off"))
    );
    assert_eq!(join(&s, Uuid::new_v4(), 999).await.0, 404);
    let (status, _) = send(
        &s,
        Method::POST,
        &format!("/v1/events/{event}/queue"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 401);

    let people = users(3);
    let mut tickets = Vec::new();
    for user in &people {
        tickets.push(
            join(&s, *user, event).await.1["ticket"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let (status, body) = standing(&s, event, "not-a-ticket").await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("queue_ticket_invalid"))
    );
    let (status, _) = standing(&s, other, &tickets[0]).await;
    assert_eq!(status, 400, "a ticket is for one event");

    // The key edges are given verifies the passes the coordinator hands out.
    let (_, key) = send(
        &s,
        Method::GET,
        "/v1/operator/queue-key",
        Some(&s.operator()),
        None,
    )
    .await;
    let key = QueueKey::parse(key["key"].as_str().unwrap()).unwrap();

    let mut live = s
        .http
        .get(format!("{}/v1/events/{event}/queue/live", s.url))
        .query(&[("ticket", &tickets[2])])
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let mut buffer = String::new();
    let first = next_event(&mut live, &mut buffer).await;
    assert_eq!(
        (first["state"].as_str(), first["position"].as_u64()),
        (Some("queued"), Some(3))
    );
    tick(&s, 1).await; // 60 a minute: two admitted at once, then one a second
    let moved = next_event(&mut live, &mut buffer).await;
    assert_eq!(moved["position"], 1);
    tick(&s, 1).await;
    let admitted = next_event(&mut live, &mut buffer).await;
    assert_eq!(admitted["state"], "admitted");
    let pass = admitted["pass"].as_str().unwrap();
    let checked = key
        .check_pass(pass, event, Some(people[2].as_bytes()), 1_800_000_002_000)
        .unwrap();
    assert_eq!(checked.expires_at, 1_800_000_002_000 + 600_000);

    let (_, doc) = send(&s, Method::GET, "/v1/openapi.json", None, None).await;
    for (path, method) in [
        ("/v1/events/{id}/queue", "post"),
        ("/v1/events/{id}/queue", "get"),
        ("/v1/operator/events/{id}/waiting-room", "put"),
        ("/v1/operator/events/{id}/waiting-room", "get"),
        ("/v1/operator/queue-key", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    for schema in ["QueueStatus", "WaitingRoom", "WaitingRoomSettings"] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
}

/// Everyone in a long queue follows their place live, and that costs the store one read
/// of the room a second, not one per person: 500 watchers over three seconds begin fewer
/// transactions than there are watchers (a read per watcher per second would be 1,500;
/// the live seat feed's log poll, 50 a second, is most of what is counted). Then one
/// admission moves every watcher's position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_watchers_share_one_read_of_the_room() {
    const WATCHERS: usize = 500;
    let mut store = fjall_store().await;
    let counting = Arc::new(CountingStore::new(store.store.clone()));
    store.store = counting.clone();
    let s = serve(store).await;
    let event = s.create_event("Crowded Night", 1, 1, 10).await;
    let (status, _) = put_room(&s, event, &room(true, 1000, 60, 600)).await;
    assert_eq!(status, 200);
    let people = users(WATCHERS);
    let joined = join_together(&s, &people, event).await;
    let mut streams = Vec::new();
    for (_, body) in &joined {
        let ticket = body["ticket"].as_str().expect("ticket").to_string();
        let mut live = s
            .http
            .get(format!("{}/v1/events/{event}/queue/live", s.url))
            .query(&[("ticket", &ticket)])
            .send()
            .await
            .expect("live queue");
        assert_eq!(live.status(), 200);
        let mut buffer = String::new();
        let first = next_event(&mut live, &mut buffer).await;
        let position = first["position"].as_u64().expect("queued");
        streams.push((live, buffer, position));
    }

    // Over three refreshes of the room's head, the watchers cost one read of it per
    // refresh (plus the live seat hub's reads of the log), not one per watcher (1,500).
    let before = counting.begun();
    let reads_before = s.coordinator.waiting_rooms().queue_head_reads();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.coordinator.waiting_rooms().queue_head_reads() < reads_before + 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the head is not refreshed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spent = counting.begun() - before;
    let reads = s.coordinator.waiting_rooms().queue_head_reads() - reads_before;
    eprintln!("{WATCHERS} live queue watchers: {spent} store transactions over {reads} refreshes");
    assert!(
        spent < WATCHERS as u64,
        "{WATCHERS} watchers cost {spent} transactions over {reads} refreshes"
    );

    tick(&s, 1).await;
    let moved = join_all(
        streams
            .iter_mut()
            .map(|(live, buffer, position)| async move {
                let next = next_event(live, buffer).await;
                (next["position"].as_u64(), next["state"].clone(), *position)
            }),
    )
    .await;
    for (now, state, was) in moved {
        match now {
            Some(now) => assert!(now < was, "position {was} became {now}"),
            None => assert_eq!(state, "admitted", "place {was}"),
        }
    }
}
