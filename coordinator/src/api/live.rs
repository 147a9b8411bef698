//! `GET /v1/events/{id}/live` (WebSocket) and `GET /v1/events/{id}/live.sse`: the event's
//! full seat state (in parts of at most 256 seats, `{type: "snapshot", part, parts,
//! event_id, seats}`, `seq` on the last), then every change as it commits, `{type: "seat", seq, seat_id,
//! state}`. A client that reconnects with `?after=SEQ` (the last `seq` it saw) gets what
//! it missed instead of the full state.
//!
//! What a client costs, whether it reads or not:
//! - The full state is read from the store and encoded once per event and log position,
//!   and shared: clients that open while it is current send the same bytes (one copy in
//!   memory), and clients that open while it is being read wait for that read.
//! - A client that falls more than the hub's buffer behind, or does not take a message
//!   within [`SEND_TIMEOUT`], is disconnected (it reconnects with `?after=`) rather than
//!   caught up at the store's expense or left holding its messages.
//! - One client address has at most `Settings::live_feeds_per_address` feeds open; past
//!   it, `429 rate_limited`.

use std::convert::Infallible;

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use onsale_limits::ClientAddress;
use onsale_model::{ApiError, ErrorBody, ErrorCode, SeatStatus};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::extract::{ApiPath, ApiQuery};
use crate::error::{Error, Result};
use crate::hub::{self, FeedPermit, FullState, FullStateSlot, Subscription};
use crate::services::Coordinator;
use onsale_model::LogPosition;

/// Changes replayed from the log on reconnect before a full state is sent instead.
const REPLAY_LIMIT: usize = 1_000;

/// How long one message may take to reach a client's socket before the client counts as
/// not reading and is disconnected.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The WebSocket close code for a client that fell behind: "try again later"; the page
/// reconnects with `?after=` and loses nothing.
const CLOSE_TRY_AGAIN_LATER: u16 = 1013;

/// What a client over its feeds cap is asked to wait before opening another, in seconds.
const FEED_CAP_RETRY_AFTER: u64 = 5;

/// A place for one more feed from the client's address (feeds of an unknown address are
/// not capped: the server was started without connection info).
fn admit(coordinator: &Coordinator, address: Option<ClientAddress>) -> Result<Option<FeedPermit>> {
    let Some(ClientAddress(address)) = address else {
        return Ok(None);
    };
    let cap = coordinator.settings().live_feeds_per_address;
    match coordinator.hub().admit_feed(address, cap) {
        Some(permit) => Ok(Some(permit)),
        None => {
            metrics::counter!("onsale_live_feeds_refused_total").increment(1);
            Err(Error::Api(
                ApiError::new(
                    ErrorCode::RateLimited,
                    format!("at most {cap} live feeds may be open from one address; close one"),
                )
                .with_retry_after(FEED_CAP_RETRY_AFTER),
            ))
        }
    }
}

/// `?after=SEQ`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// The last `seq` this client saw: it gets the changes since instead of the full state.
    #[param(value_type = Option<String>, pattern = "^[0-9a-fA-F]{24}$")]
    after: Option<LogPosition>,
}

#[derive(Serialize)]
struct SeatState<'a> {
    seat_id: &'a str,
    state: SeatStatus,
}

/// One part of the full state: at most [`SEATS_PER_PART`] seats; `seq` only on the last,
/// so a client cut off mid-state resumes with a whole new one rather than after it.
#[derive(Serialize)]
struct Snapshot<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<String>,
    event_id: u64,
    part: usize,
    parts: usize,
    seats: &'a [SeatState<'a>],
}

/// Seats in one message of the full state (about 11 KB): a client that does not read
/// leaves at most one such message in the server's buffers, not an arena's whole state.
const SEATS_PER_PART: usize = 256;

/// Why a feed ends.
#[derive(Debug)]
enum FeedEnd {
    /// The client fell too far behind the broadcast; it reconnects with `?after=`.
    TooSlow,
    /// Reading the store failed.
    Failed(Error),
}

impl From<Error> for FeedEnd {
    fn from(error: Error) -> Self {
        FeedEnd::Failed(error)
    }
}

/// One subscriber's feed: the first messages (state or replay), then the broadcast, with
/// everything at or before `sent` dropped.
struct Feed {
    coordinator: Coordinator,
    /// Its place among its address's feeds, freed when the feed ends.
    _permit: Option<FeedPermit>,
    event_id: u64,
    subscription: Subscription,
    backlog: std::collections::VecDeque<Utf8Bytes>,
    sent: Option<LogPosition>,
}

impl Feed {
    async fn open(
        coordinator: Coordinator,
        address: Option<ClientAddress>,
        event_id: u64,
        after: Option<LogPosition>,
    ) -> Result<Feed> {
        let permit = admit(&coordinator, address)?;
        // Subscribe first: whatever commits after the state read below is broadcast to us.
        let subscription = coordinator.hub().subscribe(event_id);
        let mut feed = Feed {
            coordinator,
            _permit: permit,
            event_id,
            subscription,
            backlog: Default::default(),
            sent: None,
        };
        let resumed = match after {
            Some(position) => feed.replay_from(position).await?,
            None => false,
        };
        if !resumed {
            let state = shared_full_state(
                &feed.coordinator,
                event_id,
                &feed.subscription.state,
                feed.subscription.seen,
            )
            .await?;
            for part in state.parts.iter() {
                let text = Utf8Bytes::try_from(part.clone())
                    .map_err(|e| Error::internal_from("the encoded seat state is not UTF-8", e))?;
                feed.backlog.push_back(text);
            }
            feed.sent = Some(state.position);
        }
        Ok(feed)
    }

    /// Queues the changes after `position` from the log; false if there were too many
    /// (the caller sends the full state instead).
    async fn replay_from(&mut self, position: LogPosition) -> Result<bool> {
        let log = self.coordinator.changelog();
        let (changes, last) =
            hub::seat_changes_after(log, self.event_id, Some(position), REPLAY_LIMIT).await?;
        if last.is_some_and(|end| end != position)
            && log.end().await?.is_some_and(|end| Some(end) != last)
        {
            return Ok(false);
        }
        self.sent = Some(position);
        for change in changes {
            self.sent = Some(change.position);
            self.backlog
                .push_back(Utf8Bytes::from(change.json.as_str()));
        }
        if let Some(last) = last {
            self.sent = self.sent.max(Some(last));
        }
        Ok(true)
    }

    /// The next message to send.
    async fn next(&mut self) -> std::result::Result<Utf8Bytes, FeedEnd> {
        loop {
            if let Some(message) = self.backlog.pop_front() {
                return Ok(message);
            }
            match self.subscription.receiver.recv().await {
                Ok(change) => {
                    if self.sent.is_none_or(|sent| change.position > sent) {
                        self.sent = Some(change.position);
                        return Ok(Utf8Bytes::from(change.json.as_str()));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live subscriber fell behind; disconnecting it");
                    metrics::counter!("onsale_live_slow_disconnects_total").increment(1);
                    return Err(FeedEnd::TooSlow);
                }
                Err(broadcast::error::RecvError::Closed) => {
                    let renewed = self.coordinator.hub().subscribe(self.event_id);
                    self.subscription.receiver = renewed.receiver;
                }
            }
        }
    }

    /// The last position sent, as the `?after=` to resume from.
    fn resume_from(&self) -> String {
        self.sent.unwrap_or(LogPosition([0; 12])).to_string()
    }
}

/// The event's full seat state at or after `seen`: the shared one when it is recent
/// enough, else read (once, however many subscribers wait) and shared from then on.
async fn shared_full_state(
    coordinator: &Coordinator,
    event_id: u64,
    slot: &FullStateSlot,
    seen: Option<LogPosition>,
) -> Result<FullState> {
    let mut shared = slot.lock().await;
    if let Some(state) = shared.as_ref().filter(|s| Some(s.position) >= seen) {
        metrics::counter!("onsale_live_full_states_total", "source" => "shared").increment(1);
        return Ok(state.clone());
    }
    let (seats, position) = coordinator.events().seats_with_position(event_id).await?;
    let position = position.unwrap_or(LogPosition([0; 12]));
    let states: Vec<SeatState> = seats
        .seats
        .iter()
        .map(|s| SeatState {
            seat_id: &s.seat.seat_id,
            state: s.state,
        })
        .collect();
    let chunks: Vec<&[SeatState]> = if states.is_empty() {
        vec![&[]]
    } else {
        states.chunks(SEATS_PER_PART).collect()
    };
    let parts = chunks.len();
    let encoded = chunks
        .into_iter()
        .enumerate()
        .map(|(part, seats)| {
            let message = Snapshot {
                kind: "snapshot",
                seq: (part + 1 == parts).then(|| position.to_string()),
                event_id,
                part,
                parts,
                seats,
            };
            serde_json::to_vec(&message).map(axum::body::Bytes::from)
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let state = FullState {
        position,
        parts: encoded.into(),
    };
    metrics::counter!("onsale_live_full_states_total", "source" => "store").increment(1);
    if shared.as_ref().is_none_or(|s| s.position <= position) {
        *shared = Some(state.clone());
    }
    Ok(state)
}

/// The live seat feed over a WebSocket: text messages, the full state in parts
/// (`{"type": "snapshot", "event_id", "part", "parts", "seats": [{"seat_id", "state"}]}`,
/// `seq` on the last part), then each change as it commits (`{"type": "seat", "seq",
/// "seat_id", "state"}`). A client that falls behind is closed with code 1013 and
/// reconnects with `?after=` the last `seq` it saw.
#[utoipa::path(get, path = "/v1/events/{id}/live", tag = "live",
    params(("id" = u64, Path, description = "Event id"), LiveQuery),
    responses(
        (status = 101, description = "Switched to the WebSocket; the feed follows"),
        (status = 400, description = "Not a WebSocket upgrade request, or `after` is not a seq this feed sent (`invalid`)", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 429, description = "This address has its most live feeds open (`rate_limited`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn live_ws(
    State(coordinator): State<Coordinator>,
    address: Option<Extension<ClientAddress>>,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<LiveQuery>,
    upgrade: std::result::Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response> {
    let upgrade = upgrade.map_err(|rejection| {
        Error::Api(ApiError::invalid(format!(
            "this feed is a WebSocket ({}); without one, read /v1/events/{event_id}/live.sse",
            rejection.body_text()
        )))
    })?;
    let address = address.map(|Extension(a)| a);
    let feed = Feed::open(coordinator, address, event_id, query.after).await?;
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
                    let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        if sent.is_err() {
                            metrics::counter!("onsale_live_slow_disconnects_total").increment(1);
                        }
                        break;
                    }
                }
                Err(FeedEnd::TooSlow) => {
                    let close = CloseFrame {
                        code: CLOSE_TRY_AGAIN_LATER,
                        reason: Utf8Bytes::from(format!("too slow; reconnect with ?after={}", feed.resume_from())),
                    };
                    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(close)))).await;
                    break;
                }
                Err(FeedEnd::Failed(err)) => {
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
#[utoipa::path(get, path = "/v1/events/{id}/live.sse", tag = "live",
    params(("id" = u64, Path, description = "Event id"), LiveQuery),
    responses(
        (status = 200, description = "The feed as server-sent events, one message per `data:` line", content_type = "text/event-stream", body = String),
        (status = 400, description = "`after` is not a seq this feed sent (`invalid`)", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        (status = 429, description = "This address has its most live feeds open (`rate_limited`, `Retry-After`)", body = ErrorBody),
    ))]
pub async fn live_sse(
    State(coordinator): State<Coordinator>,
    address: Option<Extension<ClientAddress>>,
    ApiPath(event_id): ApiPath<u64>,
    ApiQuery(query): ApiQuery<LiveQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<Event, Infallible>>>> {
    let address = address.map(|Extension(a)| a);
    let feed = Feed::open(coordinator, address, event_id, query.after).await?;
    // A client that falls behind is ended; EventSource reconnects by itself.
    let stream = futures::stream::unfold(feed, |mut feed| async move {
        match feed.next().await {
            Ok(text) => Some((Ok(Event::default().data(text.as_str())), feed)),
            Err(_) => None,
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
