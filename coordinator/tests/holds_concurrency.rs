//! The concurrency proof: thousands of overlapping multi-seat hold attempts by hundreds
//! of users on a few hundred seats, over real HTTP, on fjall and on PostgreSQL. Afterwards
//! the store itself is read: every seat is held by at most one hold, every hold the API
//! reported is there with all its seats, and every refused attempt left nothing behind.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;
use onsale_coordinator::store::tables::{HOLDS, SEATS};
use onsale_store::{RangeRead, StoreExt};
use rand::Rng;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{TestServer, TestStore, fjall_store, pg_store, serve};

const USERS: usize = 200;
const ATTEMPTS_PER_USER: usize = 15;
const ROWS: u32 = 15;
const SEATS_PER_ROW: u32 = 20;

#[derive(Debug, Default)]
struct Outcomes {
    /// hold id → (user, seats) for every 201.
    placed: HashMap<String, (Uuid, Vec<String>)>,
    refused: usize,
    other: Vec<String>,
}

async fn storm(s: Arc<TestServer>, event: u64) -> Outcomes {
    let results = join_all((0..USERS).map(|_| {
        let s = s.clone();
        tokio::spawn(async move {
            let user = Uuid::new_v4();
            let token = s.token_for(user);
            let mut mine = Vec::new();
            for _ in 0..ATTEMPTS_PER_USER {
                let seats: Vec<String> = {
                    let mut rng = rand::rng();
                    let row = rng.random_range(0..ROWS);
                    let count = rng.random_range(1..=4);
                    let first = rng.random_range(1..=SEATS_PER_ROW - count + 1);
                    (first..first + count)
                        .map(|n| format!("S0-R{row}-{n}"))
                        .collect()
                };
                let response = s
                    .http
                    .post(format!("{}/v1/events/{event}/holds", s.url))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", Uuid::new_v4().to_string())
                    .json(&json!({ "seats": seats }))
                    .send()
                    .await
                    .expect("request");
                let status = response.status().as_u16();
                let body: Value = response.json().await.expect("json body");
                mine.push((status, body, seats));
            }
            (user, mine)
        })
    }))
    .await;
    let mut outcomes = Outcomes::default();
    for result in results {
        let (user, attempts) = result.expect("user task");
        for (status, body, seats) in attempts {
            match status {
                201 => {
                    assert_eq!(body["seats"], json!(seats));
                    let hold_id = body["hold_id"].as_str().unwrap().to_string();
                    assert!(outcomes.placed.insert(hold_id, (user, seats)).is_none());
                }
                409 => {
                    assert_eq!(body["error"]["code"], "seat_unavailable");
                    let taken = body["error"]["seats"].as_array().unwrap();
                    assert!(!taken.is_empty());
                    assert!(
                        taken
                            .iter()
                            .all(|t| seats.contains(&t.as_str().unwrap().to_string()))
                    );
                    outcomes.refused += 1;
                }
                _ => outcomes.other.push(format!("{status}: {body}")),
            }
        }
    }
    outcomes
}

async fn scan(store: &TestStore, range: RangeRead) -> Vec<(Vec<u8>, Value)> {
    store
        .store
        .transact(|tx| {
            let range = range.clone();
            async move { tx.get_range(range).await }
        })
        .await
        .map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| (k, serde_json::from_slice(&v).expect("JSON record")))
                .collect()
        })
        .expect("scan")
}

async fn no_seat_is_held_twice(make: TestStore) {
    let s = Arc::new(serve(make).await);
    let store_probe = &s.store;
    // Each user may end up with every seat it tries for: this test is about seats, not
    // the limit per account.
    let limit = (ATTEMPTS_PER_USER * 4) as u32;
    let event = s
        .create_event_limited("Storm", 1, ROWS, SEATS_PER_ROW, Some(limit))
        .await;
    let outcomes = storm(s.clone(), event).await;

    assert!(
        outcomes.other.is_empty(),
        "unexpected answers: {:?}",
        &outcomes.other[..outcomes.other.len().min(5)]
    );
    assert_eq!(
        outcomes.placed.len() + outcomes.refused,
        USERS * ATTEMPTS_PER_USER
    );
    assert!(
        outcomes.placed.len() > 20,
        "the storm placed holds: {}",
        outcomes.placed.len()
    );
    assert!(
        outcomes.refused > 100,
        "the storm overlapped: {} refused",
        outcomes.refused
    );

    // No seat in two reported holds.
    let mut owner_of: HashMap<&str, &str> = HashMap::new();
    for (hold_id, (_, seats)) in &outcomes.placed {
        for seat in seats {
            if let Some(other) = owner_of.insert(seat, hold_id) {
                panic!("seat {seat} reported held by {other} and {hold_id}");
            }
        }
    }

    // The store agrees exactly: every reported hold is stored with all its seats, and
    // nothing else is (a refused attempt left no seat and no hold behind).
    let holds = scan(store_probe, HOLDS.all()).await;
    let stored: HashSet<String> = holds
        .iter()
        .map(|(_, hold)| hold["hold_id"].as_str().unwrap().to_string())
        .collect();
    let reported: HashSet<String> = outcomes.placed.keys().cloned().collect();
    assert_eq!(
        stored, reported,
        "stored holds are exactly the reported ones"
    );
    for (_, hold) in &holds {
        let (user, seats) = &outcomes.placed[hold["hold_id"].as_str().unwrap()];
        assert_eq!(hold["user_id"], json!(user.to_string()));
        assert_eq!(hold["seats"], json!(seats));
    }
    let seat_records = scan(store_probe, SEATS.starting_with(&event)).await;
    assert_eq!(
        seat_records.len(),
        owner_of.len(),
        "held seats are exactly the reported ones"
    );
    let seat_map = s.coordinator.events().seats(event).await.expect("seats");
    for seat in &seat_map.seats {
        let expected = if owner_of.contains_key(seat.seat.seat_id.as_str()) {
            "held"
        } else {
            "available"
        };
        assert_eq!(
            serde_json::to_value(seat.state).unwrap(),
            json!(expected),
            "{}",
            seat.seat.seat_id
        );
    }
    for (_, record) in &seat_records {
        let hold_id = record["hold_id"].as_str().expect("held seat");
        assert!(reported.contains(hold_id));
    }
    // One hold_placed entry per reported hold in the change log, nothing for refusals.
    let log = scan(store_probe, onsale_store::log::after(None)).await;
    let placed_logged = log
        .iter()
        .filter(|(_, e)| e["type"] == "hold_placed")
        .count();
    assert_eq!(placed_logged, outcomes.placed.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fjall_no_seat_is_held_twice() {
    no_seat_is_held_twice(fjall_store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_no_seat_is_held_twice() {
    no_seat_is_held_twice(pg_store().await).await;
}
