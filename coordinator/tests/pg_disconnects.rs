//! PostgreSQL connections cut in the middle of a hold load: the coordinator's database
//! sessions are terminated (`pg_terminate_backend`) again and again while holds stream
//! in. A transaction whose connection broke before COMMIT runs again on a fresh one, so
//! no answer is a `500`; a hold answered `201` is in the store, and no seat is held twice.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::join_all;
use rand::Rng;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{pg_store, serve};
use onsale_store::testing::pg_admin_url;

const USERS: usize = 60;
const ATTEMPTS_PER_USER: usize = 6;
const ROWS: u32 = 20;
const SEATS_PER_ROW: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn terminated_connections_are_retried_never_500() {
    let store = pg_store().await;
    let database = store
        .address
        .rsplit('/')
        .next()
        .expect("database name")
        .to_string();
    let s = Arc::new(serve(store).await);
    let event = s.create_event("Cut Wires", 1, ROWS, SEATS_PER_ROW).await;

    // Terminates every session of the test database but its own, every 20 ms.
    let (admin, connection) = tokio_postgres::connect(&pg_admin_url(), tokio_postgres::NoTls)
        .await
        .expect("admin connection");
    tokio::spawn(connection);
    let stop = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicU64::new(0));
    let cutter = {
        let (stop, terminated) = (stop.clone(), terminated.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let rows = admin
                    .query(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&database],
                    )
                    .await
                    .expect("terminate sessions");
                terminated.fetch_add(rows.len() as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    let answers = join_all((0..USERS).map(|_| {
        let s = s.clone();
        tokio::spawn(async move {
            let user = Uuid::new_v4();
            let token = s.token_for(user);
            let mut mine = Vec::new();
            for _ in 0..ATTEMPTS_PER_USER {
                let seat = {
                    let mut rng = rand::rng();
                    format!(
                        "S0-R{}-{}",
                        rng.random_range(0..ROWS),
                        rng.random_range(1..=SEATS_PER_ROW)
                    )
                };
                let response = s
                    .http
                    .post(format!("{}/v1/events/{event}/holds", s.url))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", Uuid::new_v4().to_string())
                    .json(&json!({ "seats": [seat] }))
                    .send()
                    .await
                    .expect("request");
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body: Value = response.json().await.expect("a JSON body");
                mine.push((status, retry_after, body, seat));
            }
            (token, mine)
        })
    }))
    .await;
    stop.store(true, Ordering::Relaxed);
    cutter.await.expect("the cutter");
    assert!(
        terminated.load(Ordering::Relaxed) > 0,
        "the test cut no connection"
    );

    let mut held_by: HashMap<String, String> = HashMap::new();
    let mut placed = Vec::new();
    for answer in answers {
        let (token, attempts) = answer.expect("user task");
        for (status, retry_after, body, seat) in attempts {
            match status {
                201 => {
                    let hold = body["hold_id"].as_str().expect("hold id").to_string();
                    if let Some(other) = held_by.insert(seat.clone(), hold.clone()) {
                        panic!("{seat} held by {other} and {hold}");
                    }
                    placed.push((token.clone(), hold));
                }
                409 => assert_eq!(body["error"]["code"], "seat_unavailable"),
                503 => assert!(retry_after, "a 503 says when to retry: {body}"),
                _ => panic!("{status}: {body}"),
            }
        }
    }
    assert!(!placed.is_empty(), "holds went through the cuts");
    // Every hold a buyer was told about is stored (asked once the cutting stopped).
    for (token, hold) in placed {
        let response = s
            .http
            .get(format!("{}/v1/holds/{hold}", s.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("hold lookup");
        assert_eq!(response.status(), 200, "hold {hold} is stored");
    }
}
