//! The waiting room's gate at the edge: a hold request (`POST /v1/events/{id}/holds`,
//! `POST /bookEvent?eventId=`) for an event whose room is on must carry a valid pass in
//! `X-Queue-Pass`. The edge checks it with the key it shares with the coordinators and
//! its own clock, and refuses it without a call to the coordinator, so a surge of people
//! who were not admitted never reaches the coordinator.
//!
//! Which rooms are on comes from the snapshot's events (`Event::waiting_room`), so the
//! edge follows a switch with the next snapshot; the coordinator checks every hold itself
//! as well (including that the pass is the caller's, which the edge cannot tell without
//! the token key). Without a snapshot, or for an event the snapshot does not have, the
//! request goes on to the coordinator.

use onsale_model::{ApiError, Event};
use onsale_pass::{PASS_HEADER, QueueKey};
use serde::Deserialize;

use crate::http::EdgeRequest;

/// The shared key and the platform's clock (milliseconds since the Unix epoch).
pub(crate) struct Gate {
    key: QueueKey,
    now: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl Gate {
    pub(crate) fn new(key: QueueKey, now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Gate {
            key,
            now: Box::new(now),
        }
    }

    /// Why `request`, a hold on `event_id`, may not go on, if its event (as the snapshot
    /// has it) needs a pass and the request has no valid one.
    pub(crate) fn refusal(
        &self,
        request: &EdgeRequest,
        event_id: u64,
        event: Option<&Event>,
    ) -> Option<ApiError> {
        if !event?.waiting_room {
            return None;
        }
        let Some(pass) = request.header(PASS_HEADER) else {
            return Some(ApiError::queue_pass_required(event_id));
        };
        self.key
            .check_pass(pass, event_id, None, (self.now)())
            .err()
            .map(|refused| ApiError::queue_pass_invalid(&refused))
    }
}

/// `?eventId=` of the seed API's `bookEvent`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookEvent {
    event_id: u64,
}

/// The event whose seats `request` holds, if it is a hold.
pub(crate) fn hold_event(request: &EdgeRequest) -> Option<u64> {
    if request.method != "POST" {
        return None;
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["v1", "events", id, "holds"] => id.parse().ok(),
        ["bookEvent"] => serde_urlencoded::from_str::<BookEvent>(&request.query)
            .ok()
            .map(|query| query.event_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;
    use futures::executor::block_on;
    use onsale_indexer::Snapshot;
    use onsale_pass::Pass;

    use crate::http::EdgeResponse;
    use crate::{Cache, Edge, Upstream, UpstreamError};

    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const ROOM_ON: u64 = 1;
    const ROOM_OFF: u64 = 2;

    /// Answers 201 to everything and remembers what it was sent.
    #[derive(Default)]
    struct FakeCoordinator(Mutex<Vec<String>>);

    impl Upstream for &FakeCoordinator {
        async fn forward(&self, request: EdgeRequest) -> Result<EdgeResponse, UpstreamError> {
            self.0.lock().unwrap().push(request.path_and_query());
            Ok(EdgeResponse::text(201, "held"))
        }
    }

    struct NoCache;

    impl Cache for NoCache {
        async fn get(&self, _: &str) -> Option<EdgeResponse> {
            None
        }
        async fn put(&self, _: &str, _: &EdgeResponse) {}
    }

    fn event(id: u64, waiting_room: bool) -> Event {
        Event {
            id,
            name: format!("Event {id}"),
            category: "concert".into(),
            description: String::new(),
            performers: Vec::new(),
            venue: "Hall".into(),
            city: "Town".into(),
            starts_at: time::OffsetDateTime::UNIX_EPOCH,
            image_url: String::new(),
            currency: "EUR".into(),
            price_min: 100,
            price_max: 100,
            seat_count: 10,
            waiting_room,
            time_zone: "UTC".into(),
            time_zone_abbreviation: "UTC".into(),
            max_seats_per_account: 8,
            published: true,
        }
    }

    fn key() -> QueueKey {
        QueueKey::new([9; 32])
    }

    fn edge(upstream: &FakeCoordinator) -> Edge<NoCache, &FakeCoordinator> {
        let edge = Edge::new(NoCache, upstream).with_queue_key(key(), || NOW);
        let blob =
            onsale_indexer::build_snapshot(1, &[event(ROOM_ON, true), event(ROOM_OFF, false)])
                .unwrap();
        assert!(edge.install(Snapshot::from_bytes(blob).unwrap()));
        edge
    }

    fn hold(path: &str, pass: Option<&str>) -> EdgeRequest {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let mut headers = vec![("authorization".to_string(), "Bearer t".to_string())];
        if let Some(pass) = pass {
            headers.push((PASS_HEADER.to_string(), pass.to_string()));
        }
        EdgeRequest {
            method: "POST".into(),
            path: path.into(),
            query: query.into(),
            headers,
            body: Bytes::from_static(br#"{"seats":["A-1-1"]}"#),
        }
    }

    fn pass_for(event_id: u64, expires_at: i64) -> String {
        key().sign_pass(&Pass {
            event_id,
            user_id: [1; 16],
            expires_at,
        })
    }

    fn code(response: &EdgeResponse) -> String {
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        body["error"]["code"].as_str().unwrap().to_string()
    }

    #[test]
    fn holds_without_a_valid_pass_never_reach_the_coordinator() {
        let upstream = FakeCoordinator::default();
        let edge = edge(&upstream);
        let forged = QueueKey::new([8; 32]).sign_pass(&Pass {
            event_id: ROOM_ON,
            user_id: [1; 16],
            expires_at: NOW + 60_000,
        });
        let cases = [
            (None, "queue_pass_required"),
            (Some("garbage".to_string()), "queue_pass_invalid"),
            (Some(forged), "queue_pass_invalid"),
            (Some(pass_for(ROOM_ON, NOW)), "queue_pass_invalid"),
            (Some(pass_for(ROOM_OFF, NOW + 60_000)), "queue_pass_invalid"),
        ];
        for (pass, expected) in cases {
            let response = block_on(edge.handle(hold("/v1/events/1/holds", pass.as_deref())));
            assert_eq!(response.status, 403, "{pass:?}");
            assert_eq!(code(&response), expected, "{pass:?}");
        }
        let seed = block_on(edge.handle(hold("/bookEvent?eventId=1&seatNumber=3", None)));
        assert_eq!(code(&seed), "queue_pass_required");
        assert!(upstream.0.lock().unwrap().is_empty());
    }

    #[test]
    fn a_valid_pass_and_rooms_that_are_off_go_through() {
        let upstream = FakeCoordinator::default();
        let edge = edge(&upstream);
        let pass = pass_for(ROOM_ON, NOW + 60_000);
        let requests = [
            hold("/v1/events/1/holds", Some(&pass)),
            hold("/bookEvent?eventId=1&seatNumber=3", Some(&pass)),
            hold("/v1/events/2/holds", None),
            hold("/v1/events/99/holds", None),
            hold("/v1/events/1/queue", None),
        ];
        for request in requests {
            assert_eq!(block_on(edge.handle(request)).status, 201);
        }
        assert_eq!(upstream.0.lock().unwrap().len(), 5);
    }

    #[test]
    fn without_a_key_the_coordinator_decides() {
        let upstream = FakeCoordinator::default();
        let edge = Edge::new(NoCache, &upstream);
        let blob = onsale_indexer::build_snapshot(1, &[event(ROOM_ON, true)]).unwrap();
        edge.install(Snapshot::from_bytes(blob).unwrap());
        assert_eq!(
            block_on(edge.handle(hold("/v1/events/1/holds", None))).status,
            201
        );
    }

    #[test]
    fn hold_requests_are_recognised() {
        assert_eq!(hold_event(&hold("/v1/events/7/holds", None)), Some(7));
        assert_eq!(
            hold_event(&hold("/bookEvent?seatNumber=2&eventId=7", None)),
            Some(7)
        );
        assert_eq!(hold_event(&hold("/bookEvent?seatNumber=2", None)), None);
        assert_eq!(hold_event(&hold("/v1/holds/abc/checkout", None)), None);
        let get = EdgeRequest::get("/v1/events/7/holds");
        assert_eq!(hold_event(&get), None);
    }
}
