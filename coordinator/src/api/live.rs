//! `GET /v1/events/{id}/live` (WebSocket) and `GET /v1/events/{id}/live.sse`: the event's
//! full seat state, then every change as it commits, `{type: "seat", seq, seat_id,
//! state}`. A client that reconnects with `?after=SEQ` (the last `seq` it saw) gets what
//! it missed instead of the full state.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use onsale_model::{ApiError, SeatStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::extract::{ApiPath, ApiQuery};
use crate::booking::Coordinator;
use crate::error::{Error, Result};
use crate::hub::SeatChange;
use crate::store::keys::LogPosition;

/// Changes replayed from the log on reconnect before a full state is sent instead.
const REPLAY_LIMIT: usize = 1_000;

/// `?after=SEQ`.
#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    after: Option<String>,
}

#[derive(Serialize)]
struct SeatState<'a> {
    seat_id: &'a str,
    state: SeatStatus,
}

#[derive(Serialize)]
struct Snapshot<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: String,
    event_id: u64,
    seats: Vec<SeatState<'a>>,
}

/// One subscriber's feed: the first messages (state or replay), then the broadcast, with
/// everything at or before `sent` dropped and gaps filled from the log.
struct Feed {
    coordinator: Coordinator,
    event_id: u64,
    receiver: broadcast::Receiver<Arc<SeatChange>>,
    backlog: std::collections::VecDeque<String>,
    sent: Option<LogPosition>,
}

impl Feed {
    async fn open(coordinator: Coordinator, event_id: u64, after: Option<&str>) -> Result<Feed> {
        // Subscribe first: whatever commits after the state read below is broadcast to us.
        let receiver = coordinator.hub().subscribe(event_id);
        let mut feed = Feed {
            coordinator,
            event_id,
            receiver,
            backlog: Default::default(),
            sent: None,
        };
        let resumed = match after {
            Some(text) => {
                let position = LogPosition::parse(text).ok_or_else(|| {
                    Error::Api(ApiError::invalid("after must be a seq this feed sent"))
                })?;
                feed.replay_from(position).await?
            }
            None => false,
        };
        if !resumed {
            feed.full_state().await?;
        }
        Ok(feed)
    }

    async fn full_state(&mut self) -> Result<()> {
        let (seats, position) = self.coordinator.seats_with_position(self.event_id).await?;
        let seq = position.unwrap_or(LogPosition([0; 12]));
        let message = Snapshot {
            kind: "snapshot",
            seq: seq.to_string(),
            event_id: self.event_id,
            seats: seats
                .seats
                .iter()
                .map(|s| SeatState {
                    seat_id: &s.seat.seat_id,
                    state: s.state,
                })
                .collect(),
        };
        self.backlog.push_back(serde_json::to_string(&message)?);
        self.sent = Some(seq);
        Ok(())
    }

    /// Queues the changes after `position` from the log; false if there were too many
    /// (the caller sends the full state instead).
    async fn replay_from(&mut self, position: LogPosition) -> Result<bool> {
        let (changes, last) = self
            .coordinator
            .seat_changes_after(self.event_id, Some(position), REPLAY_LIMIT)
            .await?;
        if last.is_some_and(|end| end != position)
            && self
                .coordinator
                .log_end()
                .await?
                .is_some_and(|end| Some(end) != last)
        {
            return Ok(false);
        }
        self.sent = Some(position);
        for change in changes {
            self.sent = Some(change.position);
            self.backlog.push_back(change.json.clone());
        }
        if let Some(last) = last {
            self.sent = self.sent.max(Some(last));
        }
        Ok(true)
    }

    /// The next message to send.
    async fn next(&mut self) -> Result<String> {
        loop {
            if let Some(message) = self.backlog.pop_front() {
                return Ok(message);
            }
            match self.receiver.recv().await {
                Ok(change) => {
                    if self.sent.is_none_or(|sent| change.position > sent) {
                        self.sent = Some(change.position);
                        return Ok(change.json.clone());
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(
                        missed,
                        "live subscriber fell behind; catching up from the log"
                    );
                    metrics::counter!("onsale_live_resyncs_total").increment(1);
                    let from = self.sent.unwrap_or(LogPosition([0; 12]));
                    if !self.replay_from(from).await? {
                        self.full_state().await?;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    self.receiver = self.coordinator.hub().subscribe(self.event_id);
                }
            }
        }
    }
}

/// The live seat feed over a WebSocket.
pub async fn live_ws(
    State(coordinator): State<Coordinator>,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<LiveQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response> {
    let feed = Feed::open(coordinator, event_id, query.after.as_deref()).await?;
    // Small buffers: the feed only sends short messages, and tungstenite's 128 KiB
    // defaults would cost 10,000 clients over a gigabyte.
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| serve_socket(socket, feed))
        .into_response())
}

async fn serve_socket(mut socket: WebSocket, mut feed: Feed) {
    metrics::gauge!("onsale_live_connections").increment(1.0);
    loop {
        tokio::select! {
            message = feed.next() => match message {
                Ok(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "live feed failed");
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    metrics::gauge!("onsale_live_connections").decrement(1.0);
}

/// The same feed as server-sent events (`data:` lines of the same JSON).
pub async fn live_sse(
    State(coordinator): State<Coordinator>,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<LiveQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let feed = Feed::open(coordinator, event_id, query.after.as_deref()).await?;
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        match feed.next().await {
            Ok(text) => Some((Ok(Event::default().data(text)), feed)),
            Err(_) => None,
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
