//! The coordinator's HTTP API over real sockets: users, events, holds, expiry, the
//! change log, and errors that are always JSON with a code.

mod common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use common::{TestServer, fjall_store, serve};

async fn server() -> TestServer {
    serve(fjall_store().await).await
}

async fn send(
    s: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = s.http.request(method, format!("{}{path}", s.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
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

async fn hold(
    s: &TestServer,
    token: &str,
    event: u64,
    seats: &[&str],
    key: &str,
) -> reqwest::Response {
    s.http
        .post(format!("{}/v1/events/{event}/holds", s.url))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({ "seats": seats }))
        .send()
        .await
        .expect("hold request")
}

async fn seat_states(s: &TestServer, event: u64) -> Vec<(String, String)> {
    let (status, body) = send(
        s,
        Method::GET,
        &format!("/v1/events/{event}/seats"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    body["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|seat| {
            (
                seat["seat_id"].as_str().unwrap().to_string(),
                seat["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn state_of<'a>(states: &'a [(String, String)], seat: &str) -> &'a str {
    &states
        .iter()
        .find(|(id, _)| id == seat)
        .expect("seat exists")
        .1
}

#[tokio::test]
async fn users_sign_up_and_log_in() {
    let s = server().await;
    let ada = json!({"username": "Ada", "email": "ada@example.com", "phone": "+15551234567", "password": "correct horse"});
    let (status, body) = send(&s, Method::POST, "/v1/users", None, Some(ada.clone())).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["username"], "Ada");
    assert!(Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());

    for (change, code) in [
        (
            json!({"username": "ADA", "email": "other@example.com", "phone": "+15550000001"}),
            "username_taken",
        ),
        (
            json!({"username": "ada2", "email": "ADA@example.com", "phone": "+15550000002"}),
            "contact_taken",
        ),
        (
            json!({"username": "ada3", "email": "ada3@example.com", "phone": "+1 555 123 4567"}),
            "contact_taken",
        ),
        (
            json!({"username": "x", "email": "x@example.com", "phone": "+15550000003"}),
            "invalid_request",
        ),
    ] {
        let mut request = ada.clone();
        for (k, v) in change.as_object().unwrap() {
            request[k] = v.clone();
        }
        let (status, body) = send(&s, Method::POST, "/v1/users", None, Some(request)).await;
        assert_eq!(body["error"]["code"], code, "{body}");
        assert!(status.is_client_error());
    }

    let (status, session) = send(
        &s,
        Method::POST,
        "/v1/sessions",
        None,
        Some(json!({"username": "ada", "password": "correct horse"})),
    )
    .await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap().to_string();
    assert!(session["expires_at"].as_str().unwrap().ends_with('Z'));

    let (status, body) = send(
        &s,
        Method::POST,
        "/v1/sessions",
        None,
        Some(json!({"username": "Ada", "password": "wrong horse"})),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    let (status, _) = send(
        &s,
        Method::POST,
        "/v1/sessions",
        None,
        Some(json!({"username": "nobody", "password": "correct horse"})),
    )
    .await;
    assert_eq!(status, 401);

    let event = s.create_event("Login Show", 1, 1, 2).await;
    let response = hold(&s, &token, event, &["S0-R0-1"], "k1").await;
    assert_eq!(response.status(), 201, "a logged-in user can hold");
    let response = hold(&s, "not-a-token", event, &["S0-R0-2"], "k2").await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn events_list_in_stable_pages() {
    let s = server().await;
    let mut ids = Vec::new();
    for name in ["Late", "Early", "Middle"] {
        ids.push(s.create_event(name, 1, 2, 2).await);
    }
    // Same start time for all three: the order is then by id.
    let (status, page1) = send(&s, Method::GET, "/v1/events?page=1&page_size=2", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(page1["total"], 3);
    assert_eq!(page1["page_size"], 2);
    let (_, page2) = send(&s, Method::GET, "/v1/events?page=2&page_size=2", None, None).await;
    let listed: Vec<u64> = page1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["items"].as_array().unwrap())
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, ids);

    let (status, event) = send(
        &s,
        Method::GET,
        &format!("/v1/events/{}", ids[1]),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(event["name"], "Early");
    assert_eq!(event["price_min"], 1000);
    assert_eq!(event["seat_count"], 4);
    assert_eq!(event["performers"], json!(["The Testers"]));

    let states = seat_states(&s, ids[0]).await;
    assert_eq!(states.len(), 4);
    assert!(states.iter().all(|(_, state)| state == "available"));

    for (path, status) in [
        ("/v1/events/999", 404),
        ("/v1/events/abc", 404),
        ("/v1/events/999/seats", 404),
        ("/v1/events?page=0", 400),
        ("/v1/events?page_size=101", 400),
        ("/v1/events?page=x", 400),
    ] {
        let (got, body) = send(&s, Method::GET, path, None, None).await;
        assert_eq!(got.as_u16(), status, "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn operator_calls_need_the_operator_token() {
    let s = server().await;
    let user = s.token_for(Uuid::new_v4());
    let event = json!({"name": "X", "category": "c", "venue": "v", "city": "c", "starts_at": "2027-01-01T00:00:00Z", "currency": "EUR", "seat_map": {"sections": [{"id": "A", "name": "A", "price": 1, "rows": [{"name": "1", "seats": 1}]}]}});
    let (status, body) = send(
        &s,
        Method::POST,
        "/v1/operator/events",
        None,
        Some(event.clone()),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = send(
        &s,
        Method::POST,
        "/v1/operator/events",
        Some(&user),
        Some(event.clone()),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let mut bad = event.clone();
    bad["seat_map"]["sections"][0]["id"] = json!("A-B");
    let (status, body) = send(
        &s,
        Method::POST,
        "/v1/operator/events",
        Some(&s.operator()),
        Some(bad),
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _) = send(
        &s,
        Method::POST,
        "/v1/operator/events",
        Some(&s.operator()),
        Some(event),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = send(&s, Method::GET, "/v1/changes", Some(&user), None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn holds_are_all_or_nothing_idempotent_and_owned() {
    let s = server().await;
    let event = s.create_event("Hold Show", 1, 1, 5).await;
    let (ada, bob) = (s.token_for(Uuid::new_v4()), s.token_for(Uuid::new_v4()));

    let response = hold(&s, &ada, event, &["S0-R0-1", "S0-R0-2"], "ada-1").await;
    assert_eq!(response.status(), 201);
    let first: Value = response.json().await.unwrap();
    assert_eq!(first["seats"], json!(["S0-R0-1", "S0-R0-2"]));
    assert_eq!(first["total"], 2000);
    assert_eq!(first["currency"], "EUR");
    let hold_id = first["hold_id"].as_str().unwrap().to_string();

    let states = seat_states(&s, event).await;
    assert_eq!(state_of(&states, "S0-R0-1"), "held");
    assert_eq!(state_of(&states, "S0-R0-3"), "available");
    let (_, counts) = send(
        &s,
        Method::GET,
        &format!("/v1/events/{event}/availability"),
        None,
        None,
    )
    .await;
    assert_eq!(
        counts,
        json!({"event_id": event, "total": 5, "available": 3, "held": 2, "sold": 0})
    );

    // Bob overlaps one seat: nothing is held for him, and the free seat stays free.
    let response = hold(&s, &bob, event, &["S0-R0-3", "S0-R0-2"], "bob-1").await;
    assert_eq!(response.status(), 409);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["error"]["code"], "seat_unavailable");
    assert_eq!(refused["error"]["seats"], json!(["S0-R0-2"]));
    assert_eq!(
        state_of(&seat_states(&s, event).await, "S0-R0-3"),
        "available"
    );

    // The same key again: the same hold, marked as a replay.
    let response = hold(&s, &ada, event, &["S0-R0-2", "S0-R0-1"], "ada-1").await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["idempotent-replayed"], "true");
    let replay: Value = response.json().await.unwrap();
    assert_eq!(replay["hold_id"], first["hold_id"]);
    // The same key for other seats is refused.
    let response = hold(&s, &ada, event, &["S0-R0-4"], "ada-1").await;
    assert_eq!(response.status(), 422);
    // Bob may use the same key string: keys are per user.
    let response = hold(&s, &bob, event, &["S0-R0-4"], "ada-1").await;
    assert_eq!(response.status(), 201);

    let no_key = s
        .http
        .post(format!("{}/v1/events/{event}/holds", s.url))
        .bearer_auth(&ada)
        .json(&json!({"seats": ["S0-R0-5"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    let body: Value = no_key.json().await.unwrap();
    assert_eq!(body["error"]["code"], "idempotency_key_required");
    for (seats, code) in [
        (json!(["S9-R9-9"]), "invalid_request"),
        (json!([]), "invalid_request"),
        (json!(["S0-R0-5", "S0-R0-5"]), "invalid_request"),
    ] {
        let response = s
            .http
            .post(format!("{}/v1/events/{event}/holds", s.url))
            .bearer_auth(&ada)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&json!({ "seats": seats }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
    }
    let response = hold(&s, &ada, 4242, &["S0-R0-5"], "ada-x").await;
    assert_eq!(response.status(), 404);

    // Only the owner sees and releases the hold.
    let path = format!("/v1/holds/{hold_id}");
    let (status, _) = send(&s, Method::GET, &path, Some(&bob), None).await;
    assert_eq!(status, 404);
    let (status, _) = send(&s, Method::DELETE, &path, Some(&bob), None).await;
    assert_eq!(status, 404);
    let (status, shown) = send(&s, Method::GET, &path, Some(&ada), None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["seats"], first["seats"]);
    let (status, _) = send(&s, Method::DELETE, &path, Some(&ada), None).await;
    assert_eq!(status, 204);
    let states = seat_states(&s, event).await;
    assert_eq!(state_of(&states, "S0-R0-1"), "available");
    assert_eq!(state_of(&states, "S0-R0-2"), "available");
    assert_eq!(state_of(&states, "S0-R0-4"), "held");
    let (status, _) = send(&s, Method::DELETE, &path, Some(&ada), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn expired_holds_are_released_lazily_and_by_the_sweeper() {
    let s = server().await;
    let event = s.create_event("Expiry Show", 1, 1, 3).await;
    let (ada, bob) = (s.token_for(Uuid::new_v4()), s.token_for(Uuid::new_v4()));
    let ttl = s.coordinator.settings().hold_ttl.as_millis() as i64;

    let first = hold(&s, &ada, event, &["S0-R0-1"], "a1").await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    s.clock.advance(ttl - 1);
    assert_eq!(
        hold(&s, &bob, event, &["S0-R0-1"], "b1").await.status(),
        409,
        "not expired yet"
    );
    s.clock.advance(1);
    // Lazily: the seat reads as available and can be held at once.
    assert_eq!(
        state_of(&seat_states(&s, event).await, "S0-R0-1"),
        "available"
    );
    assert_eq!(
        hold(&s, &bob, event, &["S0-R0-1"], "b2").await.status(),
        201
    );

    assert_eq!(
        hold(&s, &ada, event, &["S0-R0-2"], "a2").await.status(),
        201
    );
    s.clock.advance(ttl);
    // Bob's hold of seat 1 expired too; take it back for Ada so the sweeper meets a seat
    // that its expired hold no longer owns.
    assert_eq!(
        hold(&s, &ada, event, &["S0-R0-1"], "a3").await.status(),
        201
    );

    let report = s
        .coordinator
        .bookings()
        .sweep_expired_holds(100)
        .await
        .unwrap();
    assert_eq!(
        report.holds, 3,
        "ada's first, bob's and ada's second hold expired"
    );
    assert_eq!(
        report.seats, 1,
        "only seat 2 was still held by an expired hold"
    );
    let states = seat_states(&s, event).await;
    assert_eq!(
        state_of(&states, "S0-R0-1"),
        "held",
        "the live hold keeps its seat"
    );
    assert_eq!(state_of(&states, "S0-R0-2"), "available");
    let (status, _) = send(
        &s,
        Method::GET,
        &format!("/v1/holds/{}", first["hold_id"].as_str().unwrap()),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, 404, "an expired hold is gone");
    assert_eq!(
        s.coordinator
            .bookings()
            .sweep_expired_holds(100)
            .await
            .unwrap()
            .holds,
        0
    );
}

#[tokio::test]
async fn every_state_change_is_in_the_change_log() {
    let s = server().await;
    let event = s.create_event("Log Show", 1, 1, 3).await;
    let ada = s.token_for(Uuid::new_v4());
    let op = s.operator();
    let read_log = |after: Option<String>| {
        let s = &s;
        let op = op.clone();
        async move {
            let path = match after {
                Some(p) => format!("/v1/changes?after={p}"),
                None => "/v1/changes".to_string(),
            };
            let (status, body) = send(s, Method::GET, &path, Some(&op), None).await;
            assert_eq!(status, 200, "{body}");
            body.as_array().unwrap().clone()
        }
    };
    let start = read_log(None).await;
    assert_eq!(start.len(), 1);
    assert_eq!(start[0]["type"], "event_created");
    assert_eq!(start[0]["event_id"], event);
    let cursor = start[0]["position"].as_str().unwrap().to_string();

    let placed: Value = hold(&s, &ada, event, &["S0-R0-1", "S0-R0-2"], "k")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        hold(&s, &ada, event, &["S0-R0-2", "S0-R0-3"], "k2")
            .await
            .status(),
        409
    );
    let (status, _) = send(
        &s,
        Method::DELETE,
        &format!("/v1/holds/{}", placed["hold_id"].as_str().unwrap()),
        Some(&ada),
        None,
    )
    .await;
    assert_eq!(status, 204);

    let entries = read_log(Some(cursor)).await;
    let summary: Vec<String> = entries
        .iter()
        .map(|e| match e["type"].as_str().unwrap() {
            "seat" => format!(
                "seat {} {}",
                e["seat_id"].as_str().unwrap(),
                e["state"].as_str().unwrap()
            ),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "seat S0-R0-1 held",
            "seat S0-R0-2 held",
            "hold_placed",
            "seat S0-R0-1 available",
            "seat S0-R0-2 available",
            "hold_released",
        ],
        "the refused hold wrote nothing"
    );
    let (status, body) = send(&s, Method::GET, "/v1/changes?after=zz", Some(&op), None).await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn bad_fields_are_named_by_their_path() {
    let s = server().await;
    let post = |body: Value| {
        s.http
            .post(format!("{}/v1/operator/events", s.url))
            .bearer_auth(s.operator())
            .json(&body)
            .send()
    };
    let event = |seat_map: Value| {
        json!({
            "name": "Paths", "category": "concert", "venue": "Hall", "city": "Berlin",
            "starts_at": "2027-03-01T20:00:00Z", "currency": "EUR", "seat_map": seat_map,
        })
    };
    let cases = [
        (
            event(json!({"sections": [{"id": "A", "name": "A", "price": "cheap", "rows": []}]})),
            "invalid_json",
            "seat_map.sections[0].price",
        ),
        (
            event(json!({"sections": [{"id": "A", "name": "A", "price": 10}]})),
            "invalid_json",
            "seat_map.sections[0].rows",
        ),
        (json!({"name": "No map"}), "invalid_json", "seat_map"),
        (
            event(json!({"sections": [
                {"id": "A", "name": "A", "price": 10, "rows": [{"name": "1", "seats": 2}]},
                {"id": "B", "name": "B", "price": 10, "rows": [{"name": "1", "seats": 0}]},
            ]})),
            "invalid_request",
            "seat_map.sections[1].rows[0].seats",
        ),
        (
            {
                let mut e = event(
                    json!({"sections": [{"id": "A", "name": "A", "price": 10, "rows": [{"name": "1", "seats": 2}]}]}),
                );
                e["currency"] = json!("euro");
                e
            },
            "invalid_request",
            "currency",
        ),
    ];
    for (body, code, field) in cases {
        let response = post(body).await.unwrap();
        assert_eq!(response.status(), 400);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(
            !answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(" at line "),
            "no parser positions: {answer}"
        );
    }
}

#[tokio::test]
async fn malformed_requests_get_json_errors_never_500() {
    let s = server().await;
    let event = s.create_event("Bad Input Show", 1, 1, 2).await;
    let token = s.token_for(Uuid::new_v4());
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: &'static str| {
        let mut request = s
            .http
            .request(method, format!("{}{path}", s.url))
            .bearer_auth(&token)
            .header("Idempotency-Key", "bad-input");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(body)
    };
    let holds = format!("/v1/events/{event}/holds");
    let cases = [
        (
            raw(Method::POST, "/v1/users", Some("application/json"), "{"),
            400,
            "invalid_json",
        ),
        (
            raw(Method::POST, "/v1/users", Some("application/json"), "[]"),
            400,
            "invalid_json",
        ),
        (
            raw(Method::POST, "/v1/users", Some("text/plain"), "{}"),
            415,
            "unsupported_media_type",
        ),
        (
            raw(
                Method::POST,
                "/v1/users",
                Some("application/json"),
                r#"{"username": 5}"#,
            ),
            400,
            "invalid_json",
        ),
        (
            raw(
                Method::POST,
                "/v1/sessions",
                Some("application/json"),
                "null",
            ),
            400,
            "invalid_json",
        ),
        (
            raw(
                Method::POST,
                &holds,
                Some("application/json"),
                r#"{"seats": "S0-R0-1"}"#,
            ),
            400,
            "invalid_json",
        ),
        (
            raw(
                Method::POST,
                &holds,
                Some("application/json"),
                r#"{"seats": [1, 2]}"#,
            ),
            400,
            "invalid_json",
        ),
        (
            raw(
                Method::POST,
                "/v1/events/18446744073709551616/holds",
                Some("application/json"),
                r#"{"seats": []}"#,
            ),
            404,
            "not_found",
        ),
        (
            raw(Method::DELETE, "/v1/events", None, ""),
            405,
            "method_not_allowed",
        ),
        (
            raw(Method::GET, "/v1/nothing/here", None, ""),
            404,
            "not_found",
        ),
        (
            raw(Method::GET, "/v1/holds/%00%ff", None, ""),
            404,
            "not_found",
        ),
    ];
    for (request, status, code) in cases {
        let response = request.send().await.unwrap();
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let huge = "x".repeat(5 * 1024 * 1024);
    let response = s
        .http
        .post(format!("{}/v1/users", s.url))
        .header("content-type", "application/json")
        .body(format!("{{\"username\": \"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let metrics = s
        .http
        .get(format!("{}/metrics", s.url))
        .bearer_auth(s.operator())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("onsale_http_requests_total"), "{metrics}");
    assert!(
        !metrics.contains("status=\"500\""),
        "no request ended in a 500"
    );
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let s = server().await;
    let (status, doc) = send(&s, Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in [
        ("/v1/users", "post"),
        ("/v1/sessions", "post"),
        ("/v1/sessions", "delete"),
        ("/v1/events", "get"),
        ("/v1/events/{id}", "get"),
        ("/v1/events/{id}/seats", "get"),
        ("/v1/events/{id}/holds", "post"),
        ("/v1/holds/{id}", "delete"),
        ("/v1/operator/events", "post"),
        ("/v1/changes", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    for schema in [
        "Hold",
        "HoldRequest",
        "Event",
        "NewEvent",
        "ErrorBody",
        "SeatsResponse",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

/// Every status an operation can answer is in the document, the limits the server
/// enforces are schema constraints, and the live feeds are described;
/// scripts/schemathesis.sh checks the same against live answers.
#[tokio::test]
async fn openapi_document_lists_every_answer_and_limit() {
    let s = server().await;
    let (_, doc) = send(&s, Method::GET, "/v1/openapi.json", None, None).await;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = &operation["responses"];
            let name = format!("{method} {path}");
            assert_eq!(
                responses["503"]["headers"]["Retry-After"]["schema"]["type"], "integer",
                "{name}: 503 with Retry-After"
            );
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|requirement| requirement.as_object().unwrap().keys())
                .map(String::as_str)
                .collect();
            if !schemes.is_empty() {
                assert!(responses["401"].is_object(), "{name}: 401");
            }
            if schemes.contains(&"operator") {
                assert!(responses["403"].is_object(), "{name}: 403");
            }
            if path.contains('{') {
                assert!(responses["404"].is_object(), "{name}: 404");
            }
            if operation["requestBody"].is_object() {
                for status in ["400", "413"] {
                    assert!(responses[status].is_object(), "{name}: {status}");
                }
            }
            let keyed = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|parameter| parameter["name"] == "Idempotency-Key");
            if keyed {
                assert!(responses["422"].is_object(), "{name}: 422 for a reused key");
            }
        }
    }
    assert!(operations >= 29, "{operations} operations");
    for (path, method) in [
        ("/v1/users", "post"),
        ("/v1/sessions", "post"),
        ("/v1/events/{id}/holds", "post"),
        ("/bookEvent", "post"),
        ("/v1/holds/{id}/checkout", "post"),
        ("/v1/events/{id}/queue", "post"),
    ] {
        let limited = &doc["paths"][path][method]["responses"]["429"];
        assert!(
            limited["headers"]["Retry-After"].is_object(),
            "{method} {path}: 429 with Retry-After"
        );
    }
    assert!(doc["paths"]["/v1/events"]["get"]["responses"]["429"].is_null());
    assert!(
        doc["paths"]["/v1/operator/events"]["post"]["security"][0]["operator"].is_array(),
        "operator calls name the operator's scheme"
    );

    for path in [
        "/v1/events/{id}/live",
        "/v1/events/{id}/live.sse",
        "/v1/events/{id}/queue/live",
        "/v1/me/notifications/live",
    ] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} described");
    }
    assert!(doc["paths"]["/v1/events/{id}/live"]["get"]["responses"]["101"].is_object());
    assert!(
        doc["paths"]["/v1/events/{id}/live.sse"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"]
            .is_object()
    );

    let page_size = doc["paths"]["/v1/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "page_size")
        .expect("page_size");
    assert_eq!(page_size["schema"]["minimum"], 1);
    assert_eq!(page_size["schema"]["maximum"], 100);
    let key = doc["paths"]["/v1/events/{id}/holds"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .expect("Idempotency-Key");
    assert_eq!(key["schema"]["maxLength"], 255);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["HoldRequest"]["properties"]["seats"]["maxItems"],
        10
    );
    assert_eq!(
        schemas["BestAvailable"]["properties"]["count"]["maximum"],
        10
    );
    assert_eq!(
        schemas["SignUp"]["properties"]["username"]["pattern"],
        "^[A-Za-z0-9_.-]{3,32}$"
    );
    assert_eq!(schemas["SignUp"]["properties"]["password"]["minLength"], 8);
    assert_eq!(
        schemas["EventDetails"]["properties"]["name"]["maxLength"],
        200
    );
}

/// A plain GET of the WebSocket feed is refused in the API's error shape, as the
/// document says, not with a text body.
#[tokio::test]
async fn the_websocket_feed_refuses_plain_requests_as_json() {
    let s = server().await;
    let event = s.create_event("Socket Show", 1, 1, 3).await;
    let (status, body) = send(
        &s,
        Method::GET,
        &format!("/v1/events/{event}/live"),
        None,
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("live.sse"),
        "{body}"
    );
}

#[tokio::test]
async fn seed_book_event_alias_holds_one_seat() {
    let s = server().await;
    let event = s.create_event("Seed Show", 1, 2, 3).await;
    let (ada, bob) = (s.token_for(Uuid::new_v4()), s.token_for(Uuid::new_v4()));
    let book = |token: &str, seat: &str| {
        s.http
            .post(format!(
                "{}/bookEvent?eventId={event}&seatNumber={seat}",
                s.url
            ))
            .bearer_auth(token)
            .send()
    };
    let first = book(&ada, "4").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(
        first["seats"],
        json!(["S0-R1-1"]),
        "seat 4 is the first of the second row"
    );
    let again: Value = book(&ada, "4").await.unwrap().json().await.unwrap();
    assert_eq!(
        again["hold_id"], first["hold_id"],
        "a retried call is the same hold"
    );
    assert_eq!(book(&bob, "S0-R1-1").await.unwrap().status(), 409);
    assert_eq!(book(&bob, "7").await.unwrap().status(), 400);
    let anonymous = s
        .http
        .post(format!("{}/bookEvent?eventId={event}&seatNumber=1", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn idempotency_keys_are_forgotten_after_their_retention() {
    let s = server().await;
    let event = s.create_event("Retention Show", 1, 1, 3).await;
    let ada = s.token_for(Uuid::new_v4());
    assert_eq!(
        hold(&s, &ada, event, &["S0-R0-1"], "once").await.status(),
        201
    );
    assert_eq!(
        s.coordinator
            .bookings()
            .sweep_idempotency_keys(100)
            .await
            .unwrap(),
        0,
        "still retained"
    );
    assert_eq!(
        hold(&s, &ada, event, &["S0-R0-2"], "once").await.status(),
        422
    );
    s.clock
        .advance(s.coordinator.settings().idempotency_ttl.as_millis() as i64 + 1);
    assert_eq!(
        s.coordinator
            .bookings()
            .sweep_idempotency_keys(100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        hold(&s, &ada, event, &["S0-R0-2"], "once").await.status(),
        201,
        "a forgotten key is a new request"
    );
}

#[tokio::test]
async fn operator_updates_events_and_reads_the_catalogue() {
    let s = server().await;
    let first = s.create_event("First", 1, 1, 2).await;
    let second = s.create_event("Second", 1, 1, 2).await;
    let op = s.operator();
    let (_, before) = send(&s, Method::GET, "/v1/operator/catalogue", Some(&op), None).await;
    assert_eq!(before["events"].as_array().unwrap().len(), 2);

    let mut details = json!({"name": "First, moved", "category": "concert", "venue": "Big Hall",
        "city": "Testville", "starts_at": "2028-01-01T20:00:00Z", "currency": "EUR",
        "performers": ["The Testers"]});
    let path = format!("/v1/operator/events/{first}");
    let (status, updated) = send(&s, Method::PUT, &path, Some(&op), Some(details.clone())).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["venue"], "Big Hall");
    assert_eq!(updated["seat_count"], 2, "the seat map stays");
    let (_, listed) = send(&s, Method::GET, "/v1/events", None, None).await;
    let order: Vec<u64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        order,
        [second, first],
        "a later start time moves it down the list"
    );
    assert_eq!(listed["total"], 2);

    details["currency"] = json!("USD");
    let (status, _) = send(&s, Method::PUT, &path, Some(&op), Some(details.clone())).await;
    assert_eq!(status, 400);
    let (status, _) = send(
        &s,
        Method::PUT,
        "/v1/operator/events/99",
        Some(&op),
        Some(details),
    )
    .await;
    assert_eq!(status, 404);

    let (_, after) = send(&s, Method::GET, "/v1/operator/catalogue", Some(&op), None).await;
    assert_eq!(after["events"][0]["name"], "First, moved");
    assert!(after["position"].as_str().unwrap() > before["position"].as_str().unwrap());
    let (_, changes) = send(
        &s,
        Method::GET,
        &format!("/v1/changes?after={}", before["position"].as_str().unwrap()),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(
        changes,
        json!([{"position": after["position"], "type": "event_updated", "event_id": first}])
    );
}

#[tokio::test]
async fn metrics_need_the_operator_token_or_their_own_address() {
    let s = server().await;
    let (status, body) = send(&s, Method::GET, "/metrics", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    for wrong in ["op_nope", "", "x"] {
        let (status, _) = send(&s, Method::GET, "/metrics", Some(wrong), None).await;
        assert!(status == 401 || status == 403, "{wrong:?}: {status}");
    }
    let longer = format!("{}x", s.operator());
    let (status, _) = send(&s, Method::GET, "/metrics", Some(&longer), None).await;
    assert_eq!(
        status, 401,
        "the operator token with more after it is no token of ours"
    );
    let user = s.token_for(Uuid::new_v4());
    let (status, _) = send(&s, Method::GET, "/metrics", Some(&user), None).await;
    assert_eq!(status, 403, "a buyer's token is not the operator's");
    let operator = s
        .http
        .get(format!("{}/metrics", s.url))
        .bearer_auth(s.operator())
        .send()
        .await
        .unwrap();
    assert_eq!(operator.status(), 200);
    assert!(
        operator
            .text()
            .await
            .unwrap()
            .contains("onsale_http_requests_total")
    );

    // The separate metrics address serves them without a token, and nothing else.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(onsale_coordinator::api::metrics::serve(
        listener,
        std::future::pending(),
    ));
    let scraped = s
        .http
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("onsale_http_requests_total")
    );
    let other = s
        .http
        .get(format!("http://{address}/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    server.abort();
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_accept_it() {
    use std::io::Read;

    let s = serve(fjall_store().await).await;
    // An arena: 8 sections of 25 rows of 40 seats.
    let event = s.create_event("Compressed Arena", 8, 25, 40).await;
    let url = format!("{}/v1/events/{event}/seats", s.url);
    let plain = s.http.get(&url).send().await.unwrap();
    assert_eq!(plain.headers().get("content-encoding"), None);
    let plain = plain.bytes().await.unwrap();
    let seats: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(seats["seats"].as_array().unwrap().len(), 8_000);

    let br = s
        .http
        .get(&url)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let br = br.bytes().await.unwrap();
    assert!(
        br.len() < 100_000,
        "{} bytes for {} uncompressed",
        br.len(),
        plain.len()
    );
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);

    let gzip = s
        .http
        .get(&url)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gzip.bytes().await.unwrap()[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain);
}
