//! The live seat feed over real WebSockets and SSE: state first, then every change in
//! commit order; a reconnect with the last seq misses nothing; several coordinators on
//! one store each see every change.

mod common;

use std::time::Duration;

use futures::StreamExt;
use onsale_coordinator::store::tables::SEATS;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use common::{TestServer, fjall_store, pg_store, serve};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(s: &TestServer, event: u64, after: Option<&str>) -> Socket {
    let base = s.url.replace("http://", "ws://");
    let url = match after {
        Some(seq) => format!("{base}/v1/events/{event}/live?after={seq}"),
        None => format!("{base}/v1/events/{event}/live"),
    };
    tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket")
        .0
}

/// The next JSON message, within a second.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(1), socket.next())
            .await
            .expect("a message within a second")
            .expect("socket open")
            .expect("message");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

fn seat_change(message: &Value) -> (String, String) {
    assert_eq!(message["type"], "seat", "{message}");
    (
        message["seat_id"].as_str().unwrap().to_string(),
        message["state"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_see_each_others_holds_within_a_second() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Live Show", 1, 1, 3).await;
    let (ada, bob) = (s.token_for(Uuid::new_v4()), s.token_for(Uuid::new_v4()));
    s.hold(&ada, event, &["S0-R0-3"]).await;
    let mut a = connect(&s, event, None).await;
    let mut b = connect(&s, event, None).await;
    for socket in [&mut a, &mut b] {
        let state = next(socket).await;
        assert_eq!(state["type"], "snapshot");
        let seats = state["seats"].as_array().unwrap();
        assert_eq!(seats.len(), 3);
        assert_eq!(seats[2], json!({"seat_id": "S0-R0-3", "state": "held"}));
    }
    s.hold(&ada, event, &["S0-R0-1"]).await;
    assert_eq!(
        seat_change(&next(&mut b).await),
        ("S0-R0-1".into(), "held".into())
    );
    assert_eq!(
        seat_change(&next(&mut a).await),
        ("S0-R0-1".into(), "held".into())
    );
    let bobs = s.hold(&bob, event, &["S0-R0-2"]).await;
    assert_eq!(
        seat_change(&next(&mut a).await),
        ("S0-R0-2".into(), "held".into())
    );
    assert_eq!(
        seat_change(&next(&mut b).await),
        ("S0-R0-2".into(), "held".into())
    );
    let released = s
        .http
        .delete(format!("{}/v1/holds/{bobs}", s.url))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), 204);
    assert_eq!(
        seat_change(&next(&mut a).await),
        ("S0-R0-2".into(), "available".into())
    );
    a.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_with_the_last_seq_misses_nothing() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Resume Show", 1, 1, 4).await;
    let other = s.create_event("Other Show", 1, 1, 4).await;
    let token = s.token_for(Uuid::new_v4());
    let mut socket = connect(&s, event, None).await;
    let state = next(&mut socket).await;
    s.hold(&token, event, &["S0-R0-1"]).await;
    let first = next(&mut socket).await;
    let last_seen = first["seq"].as_str().unwrap().to_string();
    assert!(last_seen.as_str() > state["seq"].as_str().unwrap());
    drop(socket);

    // While disconnected: three changes here, and noise on another event.
    s.hold(&token, event, &["S0-R0-2", "S0-R0-3"]).await;
    s.hold(&token, other, &["S0-R0-1"]).await;
    s.hold(&token, event, &["S0-R0-4"]).await;

    let mut socket = connect(&s, event, Some(&last_seen)).await;
    let mut missed = Vec::new();
    let mut seqs = vec![last_seen.clone()];
    for _ in 0..3 {
        let message = next(&mut socket).await;
        seqs.push(message["seq"].as_str().unwrap().to_string());
        missed.push(seat_change(&message).0);
    }
    assert_eq!(
        missed,
        ["S0-R0-2", "S0-R0-3", "S0-R0-4"],
        "in commit order, nothing else"
    );
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sse_twin_sends_the_same_feed() {
    let s = serve(fjall_store().await).await;
    let event = s.create_event("Streamed Show", 1, 1, 2).await;
    let token = s.token_for(Uuid::new_v4());
    let mut response = s
        .http
        .get(format!("{}/v1/events/{event}/live.sse", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut text = String::new();
    let mut read_until = async |needle: &str, text: &mut String| {
        tokio::time::timeout(Duration::from_secs(2), async {
            while !text.contains(needle) {
                let chunk = response.chunk().await.unwrap().expect("open");
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("in time");
    };
    read_until("\"snapshot\"", &mut text).await;
    s.hold(&token, event, &["S0-R0-2"]).await;
    read_until("\"seat_id\":\"S0-R0-2\",\"state\":\"held\"", &mut text).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_coordinator_on_a_store_sees_every_change() {
    let first = serve(pg_store().await).await;
    let store = onsale_store::open(&first.store.address, Default::default())
        .await
        .unwrap();
    let second = common::serve_shared(store).await;
    let event = first.create_event("Shared Show", 1, 1, 2).await;
    let token = first.token_for(Uuid::new_v4());
    let mut watching_second = connect(&second, event, None).await;
    assert_eq!(next(&mut watching_second).await["type"], "snapshot");
    first.hold(&token, event, &["S0-R0-2"]).await;
    assert_eq!(
        seat_change(&next(&mut watching_second).await),
        ("S0-R0-2".into(), "held".into())
    );
}

/// Clients that open the feed together share one read and one encoding of the full
/// state: 300 clients cost a few reads of the event's seats, not one each, and all get
/// the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_opening_together_share_one_full_state() {
    const CLIENTS: usize = 300;
    let mut store = fjall_store().await;
    let counting = std::sync::Arc::new(common::CountingStore::new(store.store.clone()));
    store.store = counting.clone();
    let s = serve(store).await;
    let event = s.create_event("Shared State", 2, 10, 50).await;
    s.hold(&s.token_for(Uuid::new_v4()), event, &["S1-R9-50"])
        .await;
    let seat_reads = || counting.ranges_read(&SEATS.starting_with(&event).begin);
    let before = seat_reads();
    let sockets = futures::future::join_all((0..CLIENTS).map(|_| connect(&s, event, None))).await;
    // 1,000 seats come in parts of 256; the last carries the seq.
    let mut states = Vec::new();
    for mut socket in sockets {
        let mut seats = Vec::new();
        loop {
            let part = next(&mut socket).await;
            assert_eq!(part["type"], "snapshot");
            assert_eq!(part["parts"], 4);
            seats.extend(part["seats"].as_array().unwrap().iter().cloned());
            if part.get("seq").is_some() {
                assert_eq!(part["part"], 3);
                break;
            }
        }
        states.push(json!({"type": "snapshot", "seats": seats}));
    }
    let reads = seat_reads() - before;
    assert!(
        reads <= 3,
        "{reads} reads of the seats for {CLIENTS} clients opening the feed"
    );
    assert!(states.iter().all(|state| state == &states[0]));
    assert_eq!(states[0]["type"], "snapshot");
    assert_eq!(states[0]["seats"].as_array().unwrap().len(), 1000);
    assert_eq!(
        states[0]["seats"][999],
        json!({"seat_id": "S1-R9-50", "state": "held"})
    );
}

/// One client address has at most `live_feeds_per_address` feeds open: the next
/// WebSocket or SSE feed answers `429 rate_limited` with `Retry-After`, and a feed that
/// closes frees its place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_per_address_are_capped() {
    let settings = onsale_coordinator::Settings {
        live_feeds_per_address: 3,
        ..common::test_settings()
    };
    let s = common::serve_with_settings(fjall_store().await, settings, |c, _| c).await;
    let event = s.create_event("Capped", 1, 1, 5).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut socket = connect(&s, event, None).await;
        assert_eq!(next(&mut socket).await["type"], "snapshot");
        open.push(socket);
    }
    let base = s.url.replace("http://", "ws://");
    match tokio_tungstenite::connect_async(format!("{base}/v1/events/{event}/live")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            assert!(response.headers().contains_key("retry-after"));
        }
        other => panic!(
            "a fourth feed from one address: {:?}",
            other.map(|_| "opened")
        ),
    }
    let sse = s
        .http
        .get(format!("{}/v1/events/{event}/live.sse", s.url))
        .send()
        .await
        .expect("sse request");
    assert_eq!(sse.status(), 429);
    let body: Value = sse.json().await.expect("json error");
    assert_eq!(body["error"]["code"], "rate_limited");

    // Closing one frees its place (the server notices the close a moment later).
    let mut closed = open.pop().expect("a socket");
    closed.close(None).await.expect("close");
    drop(closed);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok((socket, _)) =
            tokio_tungstenite::connect_async(format!("{base}/v1/events/{event}/live")).await
        {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut reopened = reopened.expect("a feed after one closed");
    assert_eq!(next(&mut reopened).await["type"], "snapshot");
}
