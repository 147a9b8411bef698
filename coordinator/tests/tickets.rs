//! What a buyer gets back, over real HTTP with the sandbox provider: events in their
//! venue's local time, bookings with the event, seat names and an order code, the
//! account's bookings page by page, its live holds from any tab, and a calendar file.

mod common;

use serde_json::{Value, json};
use uuid::Uuid;

use common::TestServer;
use common::shop::shop;

/// Creates an event starting at `starts_at` in `time_zone`; returns the answer.
async fn create_event(s: &TestServer, starts_at: &str, time_zone: Option<&str>) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}/v1/operator/events", s.url))
        .bearer_auth(s.operator())
        .json(&json!({
            "name": "Aurora Nights: Live",
            "category": "concert",
            "venue": "Tempodrom",
            "city": "Berlin",
            "starts_at": starts_at,
            "time_zone": time_zone,
            "currency": "EUR",
            "seat_map": {"sections": [
                {"id": "FLR", "name": "Floor", "price": 4500, "rows": [{"name": "A", "seats": 4}]},
                {"id": "BAL", "name": "Balcony", "price": 2500, "rows": [{"name": "1", "seats": 4, "price": 3000}]},
            ]},
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn get(s: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let response = s
        .http
        .get(format!("{}{path}", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_keep_their_venues_time_zone() {
    let shop = shop().await;
    let (status, event) =
        create_event(&shop.s, "2027-05-01T17:30:00Z", Some("Europe/Berlin")).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["starts_at"], "2027-05-01T19:30:00+02:00");
    assert_eq!(event["time_zone"], "Europe/Berlin");
    assert_eq!(event["time_zone_abbreviation"], "CEST");
    let id = event["id"].as_u64().unwrap();

    let moved = shop
        .s
        .http
        .put(format!("{}/v1/operator/events/{id}", shop.s.url))
        .bearer_auth(shop.s.operator())
        .json(&json!({
            "name": "Aurora Nights: Live", "category": "concert", "venue": "Tempodrom",
            "city": "Berlin", "starts_at": "2027-12-01T20:00:00+01:00", "currency": "EUR",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["time_zone"], "Europe/Berlin", "kept when left out");
    assert_eq!(moved["starts_at"], "2027-12-01T20:00:00+01:00");
    assert_eq!(moved["time_zone_abbreviation"], "CET");

    let (status, utc) = create_event(&shop.s, "2027-05-01T19:30:00+02:00", None).await;
    assert_eq!(status, 201);
    assert_eq!(
        (utc["starts_at"].as_str(), utc["time_zone"].as_str()),
        (Some("2027-05-01T17:30:00Z"), Some("UTC"))
    );

    let (status, refused) = create_event(&shop.s, "2027-05-01T17:30:00Z", Some("Berlin")).await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["code"], "invalid_request");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"Berlin\""),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_reads_like_a_ticket_and_is_found_again() {
    let shop = shop().await;
    let (_, event) = create_event(&shop.s, "2027-05-01T17:30:00Z", Some("Europe/Berlin")).await;
    let event = event["id"].as_u64().unwrap();
    let ada = shop.s.token_for(Uuid::new_v4());
    let first = shop.buy(&ada, event, &["FLR-A-1", "BAL-1-2"]).await;
    shop.s.clock.advance(1_000);
    let second = shop.buy(&ada, event, &["FLR-A-3"]).await;

    assert_eq!(first["event"]["name"], "Aurora Nights: Live");
    assert_eq!(first["event"]["starts_at"], "2027-05-01T19:30:00+02:00");
    assert_eq!(first["event"]["time_zone_abbreviation"], "CEST");
    assert_eq!(
        (
            first["event"]["venue"].as_str(),
            first["event"]["city"].as_str()
        ),
        (Some("Tempodrom"), Some("Berlin"))
    );
    assert_eq!(
        first["items"],
        json!([
            {"seat_id": "FLR-A-1", "section": "Floor", "row": "A", "number": 1, "price": 4500},
            {"seat_id": "BAL-1-2", "section": "Balcony", "row": "1", "number": 2, "price": 3000},
        ])
    );
    assert_eq!(first["total"], 7500);
    let code = first["order_code"].as_str().unwrap();
    assert_eq!(code.len(), 9, "{code}");
    assert_ne!(code, second["order_code"].as_str().unwrap());
    assert_eq!(first["pay_by"], Value::Null, "paid");
    let tickets = first["tickets"].as_array().unwrap();
    let short: Vec<&str> = tickets
        .iter()
        .map(|t| t["short_code"].as_str().unwrap())
        .collect();
    assert_eq!(short.len(), 2);
    assert!(short.iter().all(|c| c.len() == 11), "{short:?}");
    assert_ne!(short[0], short[1]);

    let (status, page) = get(&shop.s, &ada, "/v1/me/bookings?page_size=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (page["total"].as_u64(), page["page_size"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        page["items"][0]["booking_id"], second["booking_id"],
        "newest first"
    );
    assert_eq!(
        page["items"][0]["tickets"],
        json!([]),
        "lists leave tickets out"
    );
    let (_, older) = get(&shop.s, &ada, "/v1/me/bookings?page=2&page_size=1").await;
    assert_eq!(older["items"][0]["booking_id"], first["booking_id"]);
    assert_eq!(older["items"][0]["items"], first["items"]);

    let bob = shop.s.token_for(Uuid::new_v4());
    let (_, none) = get(&shop.s, &bob, "/v1/me/bookings").await;
    assert_eq!(
        (none["total"].as_u64(), none["items"].clone()),
        (Some(0), json!([]))
    );
    assert_eq!(get(&shop.s, "", "/v1/me/bookings").await.0, 401);
    assert_eq!(get(&shop.s, &ada, "/v1/me/bookings?page=0").await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_goes_into_a_calendar() {
    let shop = shop().await;
    let (_, event) = create_event(&shop.s, "2027-05-01T17:30:00Z", Some("Europe/Berlin")).await;
    let event = event["id"].as_u64().unwrap();
    let ada = shop.s.token_for(Uuid::new_v4());
    let booking = shop.buy(&ada, event, &["FLR-A-2"]).await;
    let id = booking["booking_id"].as_str().unwrap();
    let response = shop
        .s
        .http
        .get(format!("{}/v1/bookings/{id}/calendar.ics", shop.s.url))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".ics")
    );
    let ics = response.text().await.unwrap();
    assert!(ics.contains("\r\nDTSTART:20270501T173000Z\r\n"), "{ics}");
    assert!(ics.contains("\r\nSUMMARY:Aurora Nights: Live\r\n"));
    assert!(ics.contains("\r\nLOCATION:Tempodrom\\, Berlin\r\n"));
    assert!(ics.contains(booking["order_code"].as_str().unwrap()));
    assert!(ics.contains("Section Floor\\, Row A\\, Seat 2"));
    assert!(ics.contains("\r\nSTATUS:CONFIRMED\r\n"));

    let bob = shop.s.token_for(Uuid::new_v4());
    let (status, body) = get(&shop.s, &bob, &format!("/v1/bookings/{id}/calendar.ics")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_tab_finds_the_buyers_live_holds() {
    let shop = shop().await;
    let (_, event) = create_event(&shop.s, "2027-05-01T17:30:00Z", Some("Europe/Berlin")).await;
    let event = event["id"].as_u64().unwrap();
    let (ada, bob) = (
        shop.s.token_for(Uuid::new_v4()),
        shop.s.token_for(Uuid::new_v4()),
    );
    let path = format!("/v1/me/holds?event_id={event}");
    assert_eq!(get(&shop.s, &ada, &path).await.1, json!([]));
    let hold = shop.hold(&ada, event, &["FLR-A-1", "FLR-A-2"]).await;
    let (status, holds) = get(&shop.s, &ada, &path).await;
    assert_eq!(status, 200, "{holds}");
    assert_eq!(holds.as_array().unwrap().len(), 1);
    assert_eq!(holds[0]["hold_id"], hold.as_str());
    assert_eq!(holds[0]["seats"], json!(["FLR-A-1", "FLR-A-2"]));
    assert_eq!(holds[0]["booking_id"], Value::Null);
    assert_eq!(get(&shop.s, &bob, &path).await.1, json!([]), "only its own");

    let (_, checkout) = shop.checkout(&ada, &hold, "pay").await;
    let (_, holds) = get(&shop.s, &ada, &path).await;
    assert_eq!(
        holds[0]["booking_id"], checkout["booking_id"],
        "a hold being paid for names its booking"
    );
    shop.s
        .clock
        .advance(shop.s.coordinator.settings().hold_ttl.as_millis() as i64);
    assert_eq!(get(&shop.s, &ada, &path).await.1, json!([]), "expired");

    assert_eq!(get(&shop.s, &ada, "/v1/me/holds?event_id=999").await.0, 404);
    assert_eq!(get(&shop.s, &ada, "/v1/me/holds").await.0, 400);
}
