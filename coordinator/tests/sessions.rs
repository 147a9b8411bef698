//! Tokens that end, over real HTTP: signing out refuses every token the account had, on
//! every call and on a second coordinator sharing the store; live streams opened with a
//! token close when it is signed out or expires.

mod common;

use std::time::Duration;

use serde_json::{Value, json};

use common::{TestServer, fjall_store, serve, serve_shared};

const PASSWORD: &str = "plum-Orbit-9-lantern-Quay";

async fn sign_up(s: &TestServer, username: &str) {
    let response = s
        .http
        .post(format!("{}/v1/users", s.url))
        .json(
            &json!({"username": username, "email": format!("{username}@example.com"),
            "phone": format!("+1555{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000),
            "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}

async fn log_in(s: &TestServer, username: &str) -> String {
    let session: Value = s
        .http
        .post(format!("{}/v1/sessions", s.url))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["token"].as_str().expect("token").to_string()
}

/// The status of `GET /v1/me/notifications` with `token`.
async fn me(s: &TestServer, token: &str) -> u16 {
    s.http
        .get(format!("{}/v1/me/notifications", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn sign_out(s: &TestServer, token: &str) -> (u16, String) {
    let response = s
        .http
        .delete(format!("{}/v1/sessions", s.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn signing_out_ends_every_token_of_the_account() {
    let s = serve(fjall_store().await).await;
    sign_up(&s, "ada").await;
    sign_up(&s, "bob").await;
    let (phone, laptop, bob) = (
        log_in(&s, "ada").await,
        log_in(&s, "ada").await,
        log_in(&s, "bob").await,
    );
    assert_eq!((me(&s, &phone).await, me(&s, &laptop).await), (200, 200));

    let (status, body) = sign_out(&s, &phone).await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(me(&s, &phone).await, 401);
    assert_eq!(me(&s, &laptop).await, 401, "every device is signed out");
    assert_eq!(me(&s, &bob).await, 200, "other accounts are not");
    let (status, body) = sign_out(&s, &laptop).await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "unauthorized"
    );

    let fresh = log_in(&s, "ada").await;
    assert_eq!(me(&s, &fresh).await, 200, "logging in again works");
    assert_eq!(me(&s, &phone).await, 401, "the old token stays refused");
    let hold = s
        .http
        .post(format!("{}/v1/events/1/holds", s.url))
        .bearer_auth(&phone)
        .header("Idempotency-Key", "k")
        .json(&json!({"seats": ["S0-R0-1"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(hold.status(), 401, "writes refuse it too");
    assert_eq!(sign_out(&s, "not-a-token").await.0, 401);
}

#[tokio::test]
async fn a_second_coordinator_refuses_signed_out_tokens_and_accepts_new_ones() {
    let a = serve(fjall_store().await).await;
    let b = serve_shared(a.store.store.clone()).await;
    sign_up(&a, "ada").await;
    let old = log_in(&a, "ada").await;
    assert_eq!(me(&b, &old).await, 200, "b now knows ada's generation");
    assert_eq!(sign_out(&a, &old).await.0, 204);
    // A token issued on `a` after the sign-out is newer than what `b` remembers: `b`
    // reads the generation again rather than refusing it.
    let new = log_in(&a, "ada").await;
    assert_eq!(me(&b, &new).await, 200);
    assert_eq!(me(&b, &old).await, 401);
}

/// Reads a response's body until the server ends it; panics after 20 s.
async fn until_closed(mut stream: reqwest::Response) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await
    .expect("the stream was closed");
}

async fn open_notifications(s: &TestServer, token: &str) -> reqwest::Response {
    let stream = s
        .http
        .get(format!("{}/v1/me/notifications/live", s.url))
        .query(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    stream
}

#[tokio::test]
async fn live_notifications_close_when_the_token_is_signed_out() {
    let s = serve(fjall_store().await).await;
    sign_up(&s, "ada").await;
    let token = log_in(&s, "ada").await;
    let stream = open_notifications(&s, &token).await;
    assert_eq!(sign_out(&s, &token).await.0, 204);
    until_closed(stream).await;
    let refused = s
        .http
        .get(format!("{}/v1/me/notifications/live", s.url))
        .query(&[("token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn live_notifications_close_when_the_token_expires() {
    let s = serve(fjall_store().await).await;
    sign_up(&s, "ada").await;
    let token = log_in(&s, "ada").await;
    let stream = open_notifications(&s, &token).await;
    s.clock
        .advance(s.coordinator.settings().session_ttl.as_millis() as i64);
    until_closed(stream).await;
    assert_eq!(me(&s, &token).await, 401);
}
