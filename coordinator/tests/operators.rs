//! The operator's side over real HTTP: accounts with one-time passwords and roles, API
//! keys until revoked, the audit trail of every action, and door check-in (once per
//! ticket, also when two doors scan it at the same moment, on fjall and PostgreSQL).

mod common;

use serde_json::{Value, json};
use uuid::Uuid;

use common::TestServer;
use common::shop::{Shop, shop, shop_on};

/// Adds an operator through the API as the deployment's operator token; returns its id
/// and one-time password.
async fn add_operator(s: &TestServer, name: &str, role: &str) -> (String, String) {
    let (status, body) = s
        .post_json(
            &s.operator(),
            "/v1/operator/operators",
            json!({"name": name, "role": role}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["operator"]["password_change_required"], true);
    (
        body["operator"]["id"].as_str().unwrap().to_string(),
        body["password"].as_str().unwrap().to_string(),
    )
}

async fn sign_in(s: &TestServer, name: &str, password: &str) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}/v1/operator/sessions", s.url))
        .json(&json!({"name": name, "password": password}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The actions of the audit trail, oldest first, as `actor action target`.
async fn audit_lines(s: &TestServer) -> Vec<String> {
    let (status, entries) = s
        .get_json(&s.operator(), "/v1/operator/audit?limit=200")
        .await;
    assert_eq!(status, 200, "{entries}");
    let mut lines: Vec<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["actor"]["name"].as_str().unwrap(),
                e["action"].as_str().unwrap(),
                e["target"].as_str().unwrap()
            )
        })
        .collect();
    lines.reverse();
    lines
}

fn event_details(name: &str) -> Value {
    json!({
        "name": name, "category": "concert", "venue": "Hall", "city": "Berlin",
        "starts_at": "2027-03-01T20:00:00Z", "currency": "EUR",
    })
}

fn new_event(name: &str) -> Value {
    let mut event = event_details(name);
    event["seat_map"] = json!({"sections": [
        {"id": "FLR", "name": "Floor", "price": 4500, "rows": [{"name": "A", "seats": 4}]},
    ]});
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_replaces_the_one_time_password_and_staff_cannot_edit_events() {
    let s = common::serve(common::fjall_store().await).await;
    let (_, password) = add_operator(&s, "Door-1", "staff").await;
    let (_, admin_password) = add_operator(&s, "alice", "admin").await;

    let (status, body) = sign_in(&s, "door-1", "wrong password").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("invalid_credentials"))
    );
    let (status, session) = sign_in(&s, "DOOR-1", &password).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["operator"]["name"], "door-1");
    assert_eq!(session["operator"]["role"], "staff");
    let staff = session["token"].as_str().unwrap().to_string();

    // Nothing but the password change until the one-time password is replaced.
    let (status, body) = s.get_json(&staff, "/v1/operator/catalogue").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("password_change_required"))
    );
    let (status, body) = s
        .call(
            reqwest::Method::PUT,
            &staff,
            "/v1/operator/me/password",
            Some(json!({"current_password": password, "new_password": "password1234"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "weak_password");
    assert_eq!(body["error"]["field"], "new_password");
    let (status, body) = s
        .call(
            reqwest::Method::PUT,
            &staff,
            "/v1/operator/me/password",
            Some(json!({"current_password": password, "new_password": "gate seven, north stairs"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["operator"]["password_change_required"], false);
    assert_eq!(
        s.get_json(&staff, "/v1/operator/me").await.0,
        401,
        "old sessions end"
    );
    let staff = body["token"].as_str().unwrap().to_string();
    let (status, _) = s.get_json(&staff, "/v1/operator/catalogue").await;
    assert_eq!(status, 200, "staff read the catalogue");

    // Staff may not create or edit events, nor manage operators or keys.
    let (status, body) = s
        .post_json(&staff, "/v1/operator/events", new_event("Nope"))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("forbidden")),
        "{body}"
    );
    let event = s.create_event("Real", 1, 1, 2).await;
    let (status, _) = s
        .call(
            reqwest::Method::PUT,
            &staff,
            &format!("/v1/operator/events/{event}"),
            Some(event_details("Renamed")),
        )
        .await;
    assert_eq!(status, 403);
    for path in [
        "/v1/operator/operators",
        "/v1/operator/keys",
        "/v1/operator/audit",
    ] {
        assert_eq!(s.get_json(&staff, path).await.0, 403, "{path}");
    }

    // An admin account edits; its name is in the trail.
    let (_, session) = sign_in(&s, "alice", &admin_password).await;
    let (status, changed) = s.call(reqwest::Method::PUT,
        session["token"].as_str().unwrap(),
        "/v1/operator/me/password",
        Some(json!({"current_password": admin_password, "new_password": "the box office opens at nine"})),
    )
    .await;
    assert_eq!(status, 200);
    let alice = changed["token"].as_str().unwrap().to_string();
    let (status, body) = s
        .call(
            reqwest::Method::PUT,
            &alice,
            &format!("/v1/operator/events/{event}"),
            Some(event_details("Renamed")),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Signing out ends the session; a removed account's tokens stop at once.
    let (status, _) = s
        .call(
            reqwest::Method::DELETE,
            &staff,
            "/v1/operator/sessions",
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(s.get_json(&staff, "/v1/operator/me").await.0, 401);
    let (_, me) = s.get_json(&alice, "/v1/operator/me").await;
    let (status, _) = s
        .call(
            reqwest::Method::DELETE,
            &s.operator(),
            &format!("/v1/operator/operators/{}", me["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(s.get_json(&alice, "/v1/operator/me").await.0, 401);
    // A buyer's token is not an operator's, nor the other way round.
    let buyer = s.token_for(Uuid::new_v4());
    assert_eq!(s.get_json(&buyer, "/v1/operator/me").await.0, 403);

    assert_eq!(
        audit_lines(&s).await,
        [
            "operator token operator.add operator door-1",
            "operator token operator.add operator alice",
            "door-1 operator.sign_in console",
            "door-1 operator.password console",
            &format!("operator token event.create event {event}"),
            "alice operator.sign_in console",
            "alice operator.password console",
            &format!("alice event.update event {event}"),
            "door-1 operator.sign_out console",
            "operator token operator.remove operator alice",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_act_with_their_role_until_revoked_and_the_trail_pages_back() {
    let s = common::serve(common::fjall_store().await).await;
    let (status, body) = s
        .post_json(
            &s.operator(),
            "/v1/operator/keys",
            json!({"name": "Importer", "role": "admin"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let importer = body["secret"].as_str().unwrap().to_string();
    let importer_id = body["key"]["id"].as_str().unwrap().to_string();
    assert!(importer.starts_with("opk_"));
    let (_, body) = s
        .post_json(
            &s.operator(),
            "/v1/operator/keys",
            json!({"name": "scanner", "role": "staff"}),
        )
        .await;
    let scanner = body["secret"].as_str().unwrap().to_string();
    let (status, body) = s
        .post_json(
            &s.operator(),
            "/v1/operator/keys",
            json!({"name": "bad name!", "role": "staff"}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["field"]),
        (400, &json!("name")),
        "{body}"
    );

    let (status, created) = s
        .post_json(&importer, "/v1/operator/events", new_event("Keyed"))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        s.post_json(&scanner, "/v1/operator/events", new_event("No"))
            .await
            .0,
        403
    );
    assert_eq!(s.get_json(&scanner, "/v1/operator/catalogue").await.0, 200);
    // A wrong secret for a real key id is refused like no key at all.
    let forged = format!("opk_{importer_id}_wrong");
    assert_eq!(s.get_json(&forged, "/v1/operator/catalogue").await.0, 401);

    let (status, listed) = s.get_json(&s.operator(), "/v1/operator/keys").await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert!(
        !listed.to_string().contains(&importer[20..]),
        "no secrets listed"
    );

    let (status, revoked) = s
        .call(
            reqwest::Method::DELETE,
            &s.operator(),
            &format!("/v1/operator/keys/{importer_id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(
        s.post_json(&importer, "/v1/operator/events", new_event("Late"))
            .await
            .0,
        401
    );

    let lines = audit_lines(&s).await;
    assert_eq!(
        lines,
        [
            format!("operator token key.create key {importer_id} (importer)"),
            lines[1].clone(),
            format!("importer event.create event {}", created["id"]),
            format!("operator token key.revoke key {importer_id} (importer)"),
        ]
    );
    assert!(lines[1].ends_with("(scanner)"));

    // Pages go back from an entry's id.
    let (_, newest) = s
        .get_json(&s.operator(), "/v1/operator/audit?limit=2")
        .await;
    let before = newest[1]["id"].as_str().unwrap();
    let (_, older) = s
        .get_json(
            &s.operator(),
            &format!("/v1/operator/audit?before={before}"),
        )
        .await;
    assert_eq!(older.as_array().unwrap().len(), 2);
    assert_eq!(older[0]["action"], "key.create");
    let (status, _) = s
        .get_json(&s.operator(), "/v1/operator/audit?before=garbage")
        .await;
    assert_eq!(status, 400);
}

/// A completed booking of two seats of a new event; returns the event, the booking and
/// its buyer's token.
async fn sold_tickets(shop: &Shop) -> (u64, Value, String) {
    let event = shop.s.create_event("Door Night", 1, 1, 4).await;
    let buyer = shop.s.token_for(Uuid::new_v4());
    let booking = shop.buy(&buyer, event, &["S0-R0-1", "S0-R0-2"]).await;
    assert_eq!(booking["tickets"].as_array().unwrap().len(), 2);
    (event, booking, buyer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_is_admitted_once_by_code_or_short_code() {
    let shop = shop().await;
    let s = &shop.s;
    let (event, booking, _) = sold_tickets(&shop).await;
    let (_, key) = s
        .post_json(
            &s.operator(),
            "/v1/operator/keys",
            json!({"name": "gate-a", "role": "staff"}),
        )
        .await;
    let gate = key["secret"].as_str().unwrap().to_string();
    let first = booking["tickets"][0]["code"].as_str().unwrap();
    let second_short = booking["tickets"][1]["short_code"].as_str().unwrap();

    let (status, admitted) = s
        .post_json(
            &gate,
            "/v1/operator/checkins",
            json!({"code": first, "event_id": event}),
        )
        .await;
    assert_eq!(status, 200, "{admitted}");
    assert_eq!(admitted["seat_id"], "S0-R0-1");
    assert_eq!(admitted["seat_label"], "Section Section 0, Row R0, Seat 1");
    assert_eq!(admitted["order_code"], booking["order_code"]);
    assert_eq!(admitted["checked_in_by"]["name"], "gate-a");
    let (_, log) = s.get_json(&s.operator(), "/v1/changes?limit=1000").await;
    let admissions: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["type"] == "checked_in")
        .collect();
    assert_eq!(
        admissions.len(),
        1,
        "the change log tells live views: {log}"
    );
    assert_eq!(
        (&admissions[0]["event_id"], &admissions[0]["seat_id"]),
        (&json!(event), &json!("S0-R0-1"))
    );

    let (status, again) = s
        .post_json(
            &s.operator(),
            "/v1/operator/checkins",
            json!({"code": first}),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["error"]["code"], "already_checked_in");
    assert_eq!(
        again["error"]["checked_in"]["checked_in_by"]["name"],
        "gate-a"
    );
    assert_eq!(
        again["error"]["checked_in"]["checked_in_at"],
        admitted["checked_in_at"]
    );

    // Typed from paper: any case, with or without the dash.
    let typed = second_short.replace('-', " ").to_lowercase();
    let (status, body) = s
        .post_json(
            &gate,
            "/v1/operator/checkins",
            json!({"code": typed, "event_id": event + 1}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("ticket_wrong_event")),
        "{body}"
    );
    let (status, body) = s
        .post_json(&gate, "/v1/operator/checkins", json!({"code": typed}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["seat_id"], "S0-R0-2");

    // Forged, unknown and void tickets admit nobody.
    let mut forged = first.to_string();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for (code, expected) in [
        (forged.as_str(), "ticket_invalid"),
        ("ZZZZZ-ZZZZZ", "ticket_invalid"),
        ("not a ticket", "ticket_invalid"),
    ] {
        let (status, body) = s
            .post_json(&gate, "/v1/operator/checkins", json!({"code": code}))
            .await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!(expected)),
            "{code}"
        );
    }
    let late = s.token_for(Uuid::new_v4());
    let hold = s.hold(&late, event, &["S0-R0-3"]).await;
    let (status, pending) = shop.checkout(&late, &hold, "k").await;
    assert_eq!(status, 201, "{pending}");
    let unpaid = s.coordinator.secrets().sign_ticket(
        event,
        pending["booking_id"].as_str().unwrap(),
        "S0-R0-3",
    );
    let (status, body) = s
        .post_json(&gate, "/v1/operator/checkins", json!({"code": unpaid}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (410, &json!("ticket_void")),
        "{body}"
    );

    let (status, count) = s
        .get_json(&gate, &format!("/v1/operator/events/{event}/checkins"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (count["checked_in"].as_u64(), count["sold"].as_u64()),
        (Some(2), Some(2))
    );
}

/// Eight doors scan the same ticket at once: one admits it, seven see who did.
async fn scanned_at_eight_doors_at_once(shop: Shop) {
    let (event, booking, _) = sold_tickets(&shop).await;
    let code = booking["tickets"][0]["code"].as_str().unwrap().to_string();
    let s = &shop.s;
    let doors: Vec<_> = (0..8)
        .map(|_| {
            let (http, url, token, code) =
                (s.http.clone(), s.url.clone(), s.operator(), code.clone());
            tokio::spawn(async move {
                let response = http
                    .post(format!("{url}/v1/operator/checkins"))
                    .bearer_auth(token)
                    .json(&json!({"code": code}))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut admitted = Vec::new();
    let mut refused = 0;
    for door in doors {
        match door.await.unwrap() {
            (200, body) => admitted.push(body),
            (409, body) => {
                assert_eq!(body["error"]["code"], "already_checked_in", "{body}");
                refused += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!((admitted.len(), refused), (1, 7));
    let (_, count) = s
        .get_json(
            &s.operator(),
            &format!("/v1/operator/events/{event}/checkins"),
        )
        .await;
    assert_eq!(count["checked_in"], 1);
    let checkins = audit_lines(s)
        .await
        .into_iter()
        .filter(|line| line.contains(" checkin "))
        .count();
    assert_eq!(checkins, 1, "one admission in the audit trail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_ticket_at_two_doors_at_once_is_admitted_once_on_fjall() {
    scanned_at_eight_doors_at_once(shop().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_ticket_at_two_doors_at_once_is_admitted_once_on_postgres() {
    let store = common::pg_store().await;
    scanned_at_eight_doors_at_once(shop_on(store, common::test_settings(), true).await).await;
}

/// Signs a buyer up and in; returns the token.
async fn buyer(s: &TestServer, name: &str, phone: &str) -> String {
    let signed_up = s
        .http
        .post(format!("{}/v1/users", s.url))
        .json(&json!({"username": name, "email": format!("{name}@example.com"), "phone": phone, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_up.status(), 201);
    let session: Value = s
        .http
        .post(format!("{}/v1/sessions", s.url))
        .json(&json!({"username": name, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_orders_and_a_refund_that_puts_the_seats_back_once() {
    let shop = shop().await;
    let s = &shop.s;
    let _notifier = onsale_coordinator::notify::spawn(
        s.coordinator.notifications().clone(),
        None,
        std::time::Duration::from_millis(20),
    );
    let event = s.create_event("Sales Night", 2, 1, 4).await;
    let ada = buyer(s, "ada", "+15550001111").await;
    let bob = buyer(s, "bob", "+15550002222").await;
    let adas = shop.buy(&ada, event, &["S0-R0-1", "S0-R0-2"]).await;
    // A millisecond apart, so that newest first is Bob's.
    s.clock.advance(1);
    shop.buy(&bob, event, &["S1-R0-1"]).await;
    s.hold(&s.token_for(Uuid::new_v4()), event, &["S1-R0-2"])
        .await;
    let (_, staff_key) = s
        .post_json(
            &s.operator(),
            "/v1/operator/keys",
            json!({"name": "desk", "role": "staff"}),
        )
        .await;
    let staff = staff_key["secret"].as_str().unwrap().to_string();

    let (status, sales) = s
        .get_json(
            &staff,
            &format!("/v1/operator/events/{event}/sales?minutes=5"),
        )
        .await;
    assert_eq!(status, 200, "{sales}");
    assert_eq!(
        (
            sales["sold"].as_u64(),
            sales["held"].as_u64(),
            sales["available"].as_u64()
        ),
        (Some(3), Some(1), Some(4))
    );
    assert_eq!(sales["revenue"], 4000);
    assert_eq!(sales["bookings"]["completed"], 2);
    assert_eq!(
        sales["by_tier"],
        json!([
            {"price": 1000, "sections": ["Section 0"], "seats": 4, "sold": 2, "revenue": 2000},
            {"price": 2000, "sections": ["Section 1"], "seats": 4, "sold": 1, "revenue": 2000},
        ])
    );
    let minutes = sales["per_minute"].as_array().unwrap();
    assert_eq!(minutes.len(), 5);
    assert_eq!(minutes[4]["seats"], 3, "this minute's sales: {minutes:?}");
    assert_eq!(
        s.get_json(
            &staff,
            &format!("/v1/operator/events/{event}/sales?minutes=0")
        )
        .await
        .0,
        400
    );

    let (_, orders) = s
        .get_json(&staff, &format!("/v1/operator/events/{event}/orders"))
        .await;
    assert_eq!(orders["total"], 2);
    assert_eq!(orders["items"][0]["buyer"], "bob", "newest first");
    let code = adas["order_code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    for q in ["ADA@EXAMPLE", code.as_str()] {
        let (_, found) = s
            .get_json(&staff, &format!("/v1/operator/events/{event}/orders?q={q}"))
            .await;
        assert_eq!(found["total"], 1, "{q}: {found}");
        assert_eq!(found["items"][0]["email"], "ada@example.com");
        assert_eq!(
            found["items"][0]["seats"][0],
            "Section Section 0, Row R0, Seat 1"
        );
    }

    let (status, _) = s
        .get_json(
            &staff,
            &format!("/v1/operator/events/{event}/attendees.csv"),
        )
        .await;
    assert_eq!(status, 403, "the attendee list is an admin's");
    let csv = s
        .http
        .get(format!(
            "{}/v1/operator/events/{event}/attendees.csv",
            s.url
        ))
        .bearer_auth(s.operator())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[0].starts_with("order_code,booking_id,name,email"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("ada@example.com"))
            .count(),
        2
    );

    // The refund: staff may not; an admin may, once.
    let booking_id = adas["booking_id"].as_str().unwrap();
    let path = format!("/v1/operator/bookings/{booking_id}/refund");
    assert_eq!(s.post_json(&staff, &path, json!({})).await.0, 403);
    let (status, refunded) = s
        .post_json(
            &s.operator(),
            &path,
            json!({"reason": "the balcony is closed"}),
        )
        .await;
    assert_eq!(status, 200, "{refunded}");
    assert_eq!(refunded["status"], "cancelled");
    assert_eq!(refunded["refund"], "requested");
    assert_eq!(refunded["cancel_reason"], "the balcony is closed");
    let (status, again) = s
        .post_json(&s.operator(), &path, json!({"reason": "twice"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["cancel_reason"], "the balcony is closed", "unchanged");
    shop.tasks_done().await;
    let refunds = shop.refunds().await;
    assert_eq!(
        refunds["data"].as_array().unwrap().len(),
        1,
        "refunded once: {refunds}"
    );

    let (_, after) = s
        .get_json(&staff, &format!("/v1/operator/events/{event}/sales"))
        .await;
    assert_eq!(
        (after["sold"].as_u64(), after["available"].as_u64()),
        (Some(1), Some(6))
    );
    assert_eq!(
        (after["revenue"].as_u64(), after["refunded"].as_u64()),
        (Some(2000), Some(2000))
    );
    let ticket = adas["tickets"][0]["code"].as_str().unwrap();
    let (status, body) = s
        .post_json(&staff, "/v1/operator/checkins", json!({"code": ticket}))
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (410, &json!("ticket_void"))
    );
    // The seats are on sale again, and ada may buy up to her limit again.
    shop.buy(&ada, event, &["S0-R0-1"]).await;
    let trail = audit_lines(s).await;
    assert_eq!(
        trail
            .iter()
            .filter(|l| l.contains("booking.refund"))
            .count(),
        1
    );

    // Ada is told.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, notices) = s.get_json(&ada, "/v1/me/notifications").await;
        let told = notices.to_string();
        if told.contains("booking_revoked") {
            assert!(told.contains("the balcony is closed"), "{told}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never told: {told}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_map_is_read_from_csv_and_its_errors_name_the_line() {
    let s = common::serve(common::fjall_store().await).await;
    let send = |body: &'static str| {
        s.http
            .post(format!("{}/v1/operator/seat-maps/from-csv", s.url))
            .bearer_auth(s.operator())
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let response =
        send("section,row,seat,price\nFloor,A,1,4500\nFloor,A,2,4500\nBalcony,1,1,2500\n")
            .await
            .unwrap();
    assert_eq!(response.status(), 200);
    let seat_map: Value = response.json().await.unwrap();
    assert_eq!(seat_map["sections"][0]["rows"][0]["seats"], 2);
    let mut event = new_event("From CSV");
    event["seat_map"] = seat_map;
    let (status, created) = s
        .post_json(&s.operator(), "/v1/operator/events", event)
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["seat_count"], 3);

    let response = send("Floor,A,1,4500\nFloor,A,two,4500\n").await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["field"], "line 2", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_the_operators_alone_until_published() {
    let s = common::serve(common::fjall_store().await).await;
    let op = s.operator();
    let (status, on_sale) = s
        .post_json(&op, "/v1/operator/events", new_event("On sale now"))
        .await;
    assert_eq!((status, &on_sale["published"]), (201, &json!(true)));
    let mut body = new_event("Secret gig");
    body["published"] = json!(false);
    let (status, draft) = s.post_json(&op, "/v1/operator/events", body).await;
    assert_eq!(
        (status, &draft["published"]),
        (201, &json!(false)),
        "{draft}"
    );
    let id = draft["id"].as_u64().unwrap();
    let buyer = s.token_for(Uuid::new_v4());
    let try_hold = || async {
        s.http
            .post(format!("{}/v1/events/{id}/holds", s.url))
            .bearer_auth(&buyer)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&json!({"seats": ["FLR-A-1"]}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let names = |page: &Value, key: &str| -> Vec<String> {
        page[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect()
    };
    let buyers_see = |seen: bool| {
        let s = &s;
        async move {
            let expected = if seen { 200 } else { 404 };
            for path in ["", "/seats", "/availability"] {
                let (status, body) = s.get_json("", &format!("/v1/events/{id}{path}")).await;
                assert_eq!(status, expected, "{path}: {body}");
            }
            let (_, list) = s.get_json("", "/v1/events").await;
            let (_, catalogue) = s.get_json(&s.operator(), "/v1/operator/catalogue").await;
            let listed = names(&list, "items").contains(&"Secret gig".to_string());
            let indexed = names(&catalogue, "events").contains(&"Secret gig".to_string());
            assert_eq!((listed, indexed), (seen, seen), "{list} {catalogue}");
            assert_eq!(list["total"], if seen { 2 } else { 1 });
        }
    };
    buyers_see(false).await;
    assert_eq!(try_hold().await, 404, "a draft takes no holds");

    let (status, all) = s.get_json(&op, "/v1/operator/events").await;
    assert_eq!(status, 200);
    assert_eq!(names(&all, "items"), ["Secret gig", "On sale now"]);
    assert_eq!(all["total"], 2);
    let (status, seats) = s
        .get_json(&op, &format!("/v1/operator/events/{id}/seats"))
        .await;
    assert_eq!((status, seats["seats"].as_array().unwrap().len()), (200, 4));

    let path = format!("/v1/operator/events/{id}");
    let publish = |published: bool| {
        let mut details = event_details("Secret gig");
        details["published"] = json!(published);
        s.call(reqwest::Method::PUT, &op, &path, Some(details))
    };
    let (status, event) = publish(true).await;
    assert_eq!(
        (status, &event["published"]),
        (200, &json!(true)),
        "{event}"
    );
    buyers_see(true).await;
    assert_eq!(try_hold().await, 201, "published, it sells");
    let (status, _) = publish(false).await;
    assert_eq!(status, 200);
    buyers_see(false).await;
    let (status, again) = s
        .call(
            reqwest::Method::PUT,
            &op,
            &format!("/v1/operator/events/{id}"),
            Some(event_details("Secret gig")),
        )
        .await;
    assert_eq!(
        (status, &again["published"]),
        (200, &json!(false)),
        "left out, the state stays"
    );
    let lines = audit_lines(&s).await;
    for action in ["event.publish", "event.unpublish"] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("{action} event {id}"))),
            "{action} in {lines:?}"
        );
    }
}
