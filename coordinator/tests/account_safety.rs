//! Abuse through the front door: rate limits per address and per account (and whose
//! forwarded address is believed), the failed-log-in lock with an injected clock,
//! identical answers for unknown and known usernames, the bounded password queue, weak
//! passwords and control characters.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use onsale_limits::{Action, ClientAddressPolicy, Rate, RateLimits, Scope};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestServer, TestStore, fjall_store, pg_store, serve_with_settings, test_settings};

async fn server(store: TestStore, settings: onsale_coordinator::Settings) -> TestServer {
    serve_with_settings(store, settings, |c, _| c).await
}

/// Settings with only `limits` on, believing `X-Onsale-Client-Ip` per `policy`.
fn limited(limits: RateLimits, policy: ClientAddressPolicy) -> onsale_coordinator::Settings {
    onsale_coordinator::Settings {
        rate_limits: limits,
        client_address: policy,
        ..test_settings()
    }
}

fn per_minute(count: u32) -> Option<Rate> {
    Rate::new(count, Duration::from_secs(60), count)
}

fn trusting(networks: &[&str], secret: Option<&str>) -> ClientAddressPolicy {
    ClientAddressPolicy::new(
        networks
            .iter()
            .map(|n| ClientAddressPolicy::parse_network(n).unwrap())
            .collect(),
        secret.map(str::to_string),
    )
}

/// A client whose connections come from `address` (any 127.x address works locally).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// Sends `body` to `path` with extra `headers`; the status, `Retry-After` and JSON body.
async fn post(
    http: &reqwest::Client,
    s: &TestServer,
    path: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, Option<u64>, Value) {
    let mut request = http.post(format!("{}{path}", s.url)).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().expect("Retry-After in seconds"));
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, retry_after, body)
}

async fn sign_up(s: &TestServer, username: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "phone": format!("+1555{:07}", username.len() * 7919 % 10_000_000),
        "password": password,
    });
    let (status, _, body) = post(&s.http, s, "/v1/users", &[], body).await;
    (status, body)
}

async fn log_in(
    http: &reqwest::Client,
    s: &TestServer,
    username: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<u64>, Value) {
    let body = json!({"username": username, "password": password});
    post(http, s, "/v1/sessions", headers, body).await
}

#[tokio::test]
async fn a_login_flood_from_one_address_is_refused_while_another_client_logs_in() {
    let mut limits = RateLimits::off();
    limits.set(Action::LogIn, Scope::Address, per_minute(5));
    let s = server(
        fjall_store().await,
        limited(limits, trusting(&["127.0.0.1"], None)),
    )
    .await;
    assert_eq!(sign_up(&s, "ada", "correct horse").await.0, 201);

    let flooder = [("x-onsale-client-ip", "203.0.113.5")];
    let mut refused = None;
    for i in 0..20 {
        // Other usernames each time, so that only the address limit is met.
        let (status, retry_after, body) =
            log_in(&s.http, &s, &format!("guess{i}"), "wrong horse", &flooder).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((i, retry_after, body));
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    let (i, retry_after, body) = refused.expect("the flood was refused");
    assert_eq!(i, 5, "the burst of five passed, the sixth was refused");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let seconds = retry_after.expect("Retry-After");
    assert!(
        (1..=12).contains(&seconds),
        "one request comes back every 12 s: {seconds}"
    );
    assert_eq!(body["error"]["retry_after"], seconds);

    let (status, _, body) = log_in(
        &s.http,
        &s,
        "ada",
        "correct horse",
        &[("x-onsale-client-ip", "203.0.113.6")],
    )
    .await;
    assert_eq!(status, 200, "another client logs in: {body}");
    let (status, _, _) = log_in(&s.http, &s, "ada", "correct horse", &flooder).await;
    assert_eq!(status, 429, "the flooding address is still refused");
}

#[tokio::test]
async fn the_forwarded_address_is_believed_only_from_trusted_edges() {
    let mut limits = RateLimits::off();
    limits.set(Action::LogIn, Scope::Address, per_minute(2));
    let policy = trusting(&["127.0.0.2"], Some("edge-s3cret"));
    let s = server(fjall_store().await, limited(limits, policy)).await;
    assert_eq!(sign_up(&s, "grace", "apollo guidance").await.0, 201);

    // From 127.0.0.1 (not trusted, no secret) the header is ignored: fresh addresses in it
    // do not escape the limit of the socket's address.
    let untrusted = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for i in 0..4 {
        let ip = format!("198.51.100.{i}");
        let wrong_secret = [
            ("x-onsale-client-ip", ip.as_str()),
            ("x-onsale-edge-secret", "edge-s3creT"),
        ];
        let (status, _, _) = log_in(&untrusted, &s, "grace", "wrong", &wrong_secret).await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 429, 429]);

    // The trusted edge's header is believed ...
    let edge = client_from("127.0.0.2");
    let forwarded = [("x-onsale-client-ip", "198.51.100.1")];
    let (status, _, body) = log_in(&edge, &s, "grace", "apollo guidance", &forwarded).await;
    assert_eq!(status, 200, "{body}");
    // ... and so is the header of a request with the right secret, from anywhere.
    let with_secret = [
        ("x-onsale-client-ip", "198.51.100.2"),
        ("x-onsale-edge-secret", "edge-s3cret"),
    ];
    let (status, _, body) = log_in(&untrusted, &s, "grace", "apollo guidance", &with_secret).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn holds_are_limited_per_account_whatever_the_address() {
    let mut limits = RateLimits::off();
    limits.set(Action::Hold, Scope::Account, per_minute(3));
    let s = server(
        fjall_store().await,
        limited(limits, trusting(&["127.0.0.1"], None)),
    )
    .await;
    let event = s.create_event("Limited Show", 1, 1, 10).await;
    let greedy = s.token_for(uuid::Uuid::new_v4());
    let mut statuses = Vec::new();
    for i in 0..5 {
        let ip = format!("192.0.2.{i}");
        let response = s
            .http
            .post(format!("{}/v1/events/{event}/holds", s.url))
            .bearer_auth(&greedy)
            .header("x-onsale-client-ip", ip)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"seats": [format!("S0-R0-{}", i + 1)]}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "rate_limited");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("account")
            );
        }
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    let other = s.token_for(uuid::Uuid::new_v4());
    s.hold(&other, event, &["S0-R0-9"]).await;
}

/// Logs in wrongly until the username is locked, moving the clock over each growing wait;
/// returns the answers to the attempts that had to wait.
async fn fail_until_locked(s: &TestServer, username: &str) -> Vec<(u64, Value)> {
    let mut waits = Vec::new();
    let mut failures = 0;
    while failures < 10 {
        let (status, retry_after, body) = log_in(&s.http, s, username, "wrong horse", &[]).await;
        match status.as_u16() {
            401 => failures += 1,
            429 => {
                assert_eq!(body["error"]["code"], "login_locked", "{body}");
                let seconds = retry_after.expect("Retry-After");
                waits.push((seconds, body));
                s.clock.advance(seconds as i64 * 1000);
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    waits
}

async fn a_locked_username_unlocks_after_its_time(store: TestStore) {
    let s = server(store, test_settings()).await;
    assert_eq!(sign_up(&s, "ada", "correct horse").await.0, 201);
    let waits = fail_until_locked(&s, "ada").await;
    let seconds: Vec<u64> = waits.iter().map(|(s, _)| *s).collect();
    assert_eq!(seconds, [1, 2, 4, 8, 16, 32], "waits grow");

    let (status, retry_after, body) = log_in(&s.http, &s, "ada", "correct horse", &[]).await;
    assert_eq!(status, 429, "locked even for the right password: {body}");
    assert_eq!(body["error"]["code"], "login_locked");
    assert_eq!(retry_after, Some(15 * 60));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("15 minutes")
    );

    s.clock.advance(15 * 60 * 1000 - 1000);
    let (status, _, _) = log_in(&s.http, &s, "ada", "correct horse", &[]).await;
    assert_eq!(status, 429, "a second before the end, still locked");
    s.clock.advance(1000);
    let (status, _, body) = log_in(&s.http, &s, "ada", "correct horse", &[]).await;
    assert_eq!(status, 200, "unlocked after 15 minutes: {body}");

    // A success forgets the failures: three more wrong tries answer at once.
    for _ in 0..3 {
        assert_eq!(log_in(&s.http, &s, "ada", "wrong", &[]).await.0, 401);
    }
    // And the sweeper forgets records that stopped mattering.
    s.clock.advance(16 * 60 * 1000);
    assert_eq!(
        s.coordinator
            .accounts()
            .sweep_login_failures(100)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_locked_username_unlocks_after_its_time_on_fjall() {
    a_locked_username_unlocks_after_its_time(fjall_store().await).await;
}

#[tokio::test]
async fn a_locked_username_unlocks_after_its_time_on_postgres() {
    a_locked_username_unlocks_after_its_time(pg_store().await).await;
}

#[tokio::test]
async fn unknown_and_known_usernames_fail_alike() {
    let s = server(fjall_store().await, test_settings()).await;
    assert_eq!(sign_up(&s, "known_user", "correct horse").await.0, 201);
    let known = log_in(&s.http, &s, "known_user", "wrong horse", &[]).await;
    let unknown = log_in(&s.http, &s, "ghost_user", "wrong horse", &[]).await;
    assert_eq!(known, unknown, "same status, Retry-After and body");
    assert_eq!(known.0, 401);

    s.clock.advance(16 * 60 * 1000); // both single failures are forgotten
    let known_waits = fail_until_locked(&s, "known_user").await;
    let unknown_waits = fail_until_locked(&s, "ghost_user").await;
    assert_eq!(
        known_waits, unknown_waits,
        "the same growing waits, same bodies"
    );
    let known = log_in(&s.http, &s, "known_user", "correct horse", &[]).await;
    let unknown = log_in(&s.http, &s, "ghost_user", "correct horse", &[]).await;
    // Locked alike (the known one's lock began 63 s earlier, while the other waited).
    assert_eq!(
        (known.0, &known.2["error"]["code"]),
        (unknown.0, &unknown.2["error"]["code"])
    );
    assert_eq!(known.0, 429);
}

#[tokio::test]
async fn a_full_password_queue_answers_busy_at_once() {
    let settings = onsale_coordinator::Settings {
        password_queue: 0,
        ..test_settings()
    };
    let s = server(fjall_store().await, settings).await;
    let attempts = (0..40).map(|i| {
        let s = &s;
        async move { log_in(&s.http, s, &format!("someone{i}"), "correct horse", &[]).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let mut busy = 0;
    for (status, retry_after, body) in &answers {
        match status.as_u16() {
            401 => {}
            503 => {
                busy += 1;
                assert_eq!(body["error"]["code"], "busy", "{body}");
                assert_eq!(*retry_after, Some(1));
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        busy > 0,
        "40 log-ins at once on a queue of none: some were busy"
    );
    assert!(busy < 40, "the hashing threads took some");
}

#[tokio::test]
async fn weak_passwords_are_refused_with_the_reason() {
    let s = server(fjall_store().await, test_settings()).await;
    for (password, reason) in [
        ("password", "common"),
        ("12345678", "common"),
        ("        ", "blank"),
        ("sam_the_man1", "guess"),
    ] {
        let (status, body) = sign_up(&s, "sam_the_man", password).await;
        assert_eq!(status, 400, "{password:?}: {body}");
        assert_eq!(body["error"]["code"], "weak_password", "{password:?}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{password:?}: {message}");
    }
    assert_eq!(sign_up(&s, "sam_the_man", "correct horse").await.0, 201);
}

#[tokio::test]
async fn control_characters_are_refused_in_every_field() {
    let s = server(fjall_store().await, test_settings()).await;
    let good = json!({"username": "mallory", "email": "m@example.com", "phone": "+15550001234", "password": "correct horse"});
    for (field, value) in [
        ("username", "mal\u{0}lory"),
        ("email", "m\u{202E}moc.elpmaxe@example.com"),
        ("email", "m@exa\u{2066}mple.com"),
        ("phone", "+1555\u{2069}0001234"),
        ("username", "mallory\u{202A}"),
    ] {
        let mut request = good.clone();
        request[field] = json!(value);
        let (status, _, body) = post(&s.http, &s, "/v1/users", &[], request).await;
        assert_eq!(status, 400, "{field} {value:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(field) && message.contains("control"),
            "{message}"
        );
    }
    let (status, _, body) = post(&s.http, &s, "/v1/users", &[], good).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn checkouts_and_queue_joins_are_limited_too() {
    let mut limits = RateLimits::off();
    limits.set(Action::Checkout, Scope::Account, per_minute(2));
    limits.set(Action::QueueJoin, Scope::Address, per_minute(2));
    let s = server(
        fjall_store().await,
        limited(limits, ClientAddressPolicy::default()),
    )
    .await;
    let event = s.create_event("Quiet Show", 1, 1, 4).await;
    let token = s.token_for(uuid::Uuid::new_v4());
    for (path, refused_after) in [
        ("/v1/holds/no-such-hold/checkout".to_string(), 2),
        (format!("/v1/events/{event}/queue"), 2),
    ] {
        let mut codes = Vec::new();
        for _ in 0..=refused_after {
            let response = s
                .http
                .post(format!("{}{path}", s.url))
                .bearer_auth(&token)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            codes.push(body["error"]["code"].as_str().unwrap_or("").to_string());
        }
        assert!(
            codes[..refused_after].iter().all(|c| c != "rate_limited"),
            "{path}: {codes:?}"
        );
        assert_eq!(codes[refused_after], "rate_limited", "{path}: {codes:?}");
    }
}
