//! Best-available holds over real HTTP: the coordinator picks seats side by side at the
//! front, answers a repeated request with the same hold, and under a crowd of buyers asking
//! for the same section at once never gives a seat to two of them.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use common::{TestServer, fjall_store, pg_store, serve};

async fn best(s: &TestServer, token: &str, event: u64, body: Value, key: &str) -> (u16, Value) {
    let response = s
        .http
        .post(format!("{}/v1/events/{event}/holds", s.url))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .expect("hold request");
    (
        response.status().as_u16(),
        response.json().await.expect("JSON"),
    )
}

fn seats(hold: &Value) -> Vec<String> {
    hold["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// `S0-R1-4` → (row, number).
fn place(seat: &str) -> (String, u32) {
    let mut parts = seat.rsplitn(2, '-');
    let number = parts.next().unwrap().parse().unwrap();
    let row = parts
        .next()
        .unwrap()
        .rsplit('-')
        .next()
        .unwrap()
        .to_string();
    (row, number)
}

#[tokio::test]
async fn best_available_holds_seats_together_at_the_front() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Best Night", 2, 3, 10).await;
    let token = s.token_for(Uuid::new_v4());

    let ask = json!({"best_available": {"section": "S1", "count": 3}});
    let (status, hold) = best(&s, &token, event, ask.clone(), "best-1").await;
    assert_eq!(status, 201, "{hold}");
    let chosen = seats(&hold);
    assert_eq!(chosen.len(), 3);
    let places: Vec<(String, u32)> = chosen.iter().map(|s| place(s)).collect();
    assert!(
        chosen.iter().all(|s| s.starts_with("S1-R0-")),
        "front row: {chosen:?}"
    );
    assert!(
        places.windows(2).all(|w| w[1].1 == w[0].1 + 1),
        "side by side: {chosen:?}"
    );
    assert_eq!(hold["total"], 3 * 2000, "section S1's price");

    // The same request again: the same hold; the key for another request: refused.
    let (status, again) = best(&s, &token, event, ask, "best-1").await;
    assert_eq!(
        (status, again["hold_id"].clone()),
        (201, hold["hold_id"].clone())
    );
    let other = json!({"best_available": {"section": "S1", "count": 2}});
    let (status, body) = best(&s, &token, event, other, "best-1").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );

    // The section by its name works too; bad requests are 400s that say why.
    let by_name = json!({"best_available": {"section": "section 0", "count": 1}});
    let (status, body) = best(&s, &token, event, by_name, "best-2").await;
    assert_eq!(status, 201, "{body}");
    assert!(seats(&body)[0].starts_with("S0-R0-"));
    for (bad, why) in [
        (
            json!({"best_available": {"section": "S9", "count": 1}}),
            "no section",
        ),
        (
            json!({"best_available": {"section": "S0", "count": 0}}),
            "count",
        ),
        (
            json!({"best_available": {"section": "S0", "count": 11}}),
            "count",
        ),
        (
            json!({"seats": ["S0-R0-1"], "best_available": {"section": "S0", "count": 1}}),
            "not both",
        ),
        (json!({}), "at least one seat"),
    ] {
        let (status, body) =
            best(&s, &token, event, bad.clone(), &Uuid::new_v4().to_string()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{bad}: {message}");
    }
}

/// 40 buyers ask for 2 seats of a 30-seat section at once, then the rest ask one by one
/// until it is full: no seat is held twice, every refusal is `409 seat_unavailable`, and
/// the section ends with every seat held.
async fn crowd_fills_the_section_without_double_holds(s: TestServer) {
    let s = Arc::new(s);
    let event = s.create_event("Crowded Best", 1, 3, 10).await;
    let ask = json!({"best_available": {"section": "S0", "count": 2}});
    let attempts = join_all((0..40).map(|i| {
        let (s, ask) = (s.clone(), ask.clone());
        async move {
            let token = s.token_for(Uuid::new_v4());
            best(&s, &token, event, ask, &format!("crowd-{i}")).await
        }
    }))
    .await;
    let mut held = HashSet::new();
    let mut won = 0;
    for (status, body) in &attempts {
        match status {
            201 => {
                won += 1;
                for seat in seats(body) {
                    assert!(held.insert(seat.clone()), "{seat} held twice");
                }
            }
            409 => assert_eq!(body["error"]["code"], "seat_unavailable", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(won >= 10, "only {won} of 40 got seats");
    for i in 0.. {
        let token = s.token_for(Uuid::new_v4());
        let (status, body) = best(&s, &token, event, ask.clone(), &format!("after-{i}")).await;
        if status == 409 {
            break;
        }
        assert_eq!(status, 201, "{body}");
        for seat in seats(&body) {
            assert!(held.insert(seat.clone()), "{seat} held twice");
        }
    }
    assert_eq!(
        held.len(),
        30,
        "every seat of the section ends up held once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crowd_fills_a_section_without_double_holds_on_fjall() {
    crowd_fills_the_section_without_double_holds(serve(fjall_store().await).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crowd_fills_a_section_without_double_holds_on_postgres() {
    crowd_fills_the_section_without_double_holds(serve(pg_store().await).await).await;
}

/// Seats released a moment ago are found at once, even by a choice that could have used
/// this coordinator's recent view of the section (which still counts them taken).
#[tokio::test]
async fn seats_released_just_now_are_chosen_again() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Small Room", 1, 1, 2).await;
    let token = s.token_for(Uuid::new_v4());
    let ask = json!({"best_available": {"section": "S0", "count": 2}});
    let (status, hold) = best(&s, &token, event, ask.clone(), "first").await;
    assert_eq!(status, 201, "{hold}");
    let (status, _) = best(&s, &token, event, ask.clone(), "full").await;
    assert_eq!(status, 409, "the room is full");
    let released = s
        .http
        .delete(format!(
            "{}/v1/holds/{}",
            s.url,
            hold["hold_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    let (status, again) = best(&s, &token, event, ask, "again").await;
    assert_eq!(status, 201, "released seats are free again: {again}");
    assert_eq!(seats(&again), seats(&hold));
}
