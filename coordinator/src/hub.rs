//! The live seat feed: one follower per coordinator reads the change log in order and
//! fans each seat change out to the subscribers of its event.
//!
//! Reading the log (not the local commits) is what makes the feed complete: every
//! coordinator on a store sees every change, in commit order, whoever committed it. A
//! subscriber that falls behind the broadcast buffer, or reconnects with the last position
//! it saw, is caught up from the log itself, so nothing is missed or sent out of order.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use onsale_model::Change;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::changelog::{ChangeLog, Follower, MAX_READ, Topic, Wake};
use crate::error::Result;
use crate::seat_views::SeatViews;
use crate::worker::{Worker, pause};
use onsale_model::LogPosition;

/// After a seat change committed here, how long the follower waits for more commits before reading the log.
const COMMIT_GATHER: Duration = Duration::from_millis(2);

/// Changes kept for a slow subscriber before it must catch up from the log.
const BUFFER: usize = 4096;

/// One seat change, ready to send.
#[derive(Debug)]
pub struct SeatChange {
    /// Where it is in the change log.
    pub position: LogPosition,
    /// `{"type":"seat","seq":...,"seat_id":...,"state":...}`, serialized once for every
    /// subscriber.
    pub json: String,
}

#[derive(Serialize)]
struct SeatMessage<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: String,
    seat_id: &'a str,
    state: onsale_model::SeatStatus,
}

impl SeatChange {
    fn new(position: LogPosition, seat_id: &str, state: onsale_model::SeatStatus) -> Self {
        let json = serde_json::to_string(&SeatMessage {
            kind: "seat",
            seq: position.to_string(),
            seat_id,
            state,
        })
        .unwrap_or_default();
        SeatChange { position, json }
    }
}

/// An event's full seat state, encoded once, at the log position it is current at.
#[derive(Debug, Clone)]
pub struct FullState {
    /// Every seat change up to here is in the state.
    pub position: LogPosition,
    /// The encoded messages, in order, shared by every subscriber that sends them.
    pub parts: Arc<[axum::body::Bytes]>,
}

/// The slot of an event's shared [`FullState`]; its lock is held while one is read from
/// the store, so subscribers arriving meanwhile wait for that read instead of making
/// their own.
pub type FullStateSlot = Arc<tokio::sync::Mutex<Option<FullState>>>;

/// What a new subscriber of an event gets.
pub struct Subscription {
    /// Every seat change published from now on.
    pub receiver: broadcast::Receiver<Arc<SeatChange>>,
    /// The last change of the event published before the subscription: a full state at
    /// or after it, followed by `receiver`, misses nothing.
    pub seen: Option<LogPosition>,
    /// The event's shared full state.
    pub state: FullStateSlot,
}

/// One event's subscribers.
struct Channel {
    sender: broadcast::Sender<Arc<SeatChange>>,
    /// The position of the last change published.
    last: Option<LogPosition>,
    state: FullStateSlot,
}

/// Subscribers by event.
#[derive(Default)]
pub struct Hub {
    /// A std mutex: held only to find or create a channel, never across `.await`.
    channels: Mutex<HashMap<u64, Channel>>,
    /// Open feeds by client address, for the cap per address.
    feeds_by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open feed of a client address; dropping it (the feed ends) frees its place.
#[derive(Debug)]
pub struct FeedPermit {
    address: IpAddr,
    feeds_by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for FeedPermit {
    fn drop(&mut self) {
        let mut feeds = self
            .feeds_by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = feeds.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                feeds.remove(&self.address);
            }
        }
    }
}

impl Hub {
    /// Whether any event has a subscriber.
    fn watched(&self) -> bool {
        let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .values()
            .any(|channel| channel.sender.receiver_count() > 0)
    }

    /// Subscribes to every seat change of `event_id` published from now on.
    pub fn subscribe(&self, event_id: u64) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let channel = channels.entry(event_id).or_insert_with(|| Channel {
            sender: broadcast::channel(BUFFER).0,
            last: None,
            state: FullStateSlot::default(),
        });
        Subscription {
            receiver: channel.sender.subscribe(),
            seen: channel.last,
            state: channel.state.clone(),
        }
    }

    /// Sends `change` to the event's subscribers; an event nobody watches any more loses
    /// its channel and its shared state.
    fn publish(&self, event_id: u64, change: SeatChange) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(channel) = channels.get_mut(&event_id) {
            channel.last = Some(change.position);
            if channel.sender.send(Arc::new(change)).is_err() {
                channels.remove(&event_id);
            }
        }
    }

    /// A place for one more feed from `address`, or `None` when it already has `cap`.
    pub fn admit_feed(&self, address: IpAddr, cap: usize) -> Option<FeedPermit> {
        let mut feeds = self
            .feeds_by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let count = feeds.entry(address).or_default();
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(FeedPermit {
            address,
            feeds_by_address: self.feeds_by_address.clone(),
        })
    }
}

/// Seat changes of `event_id` in `log` after `after`, oldest first (at most `limit`
/// entries of the log are read), and the position read up to.
pub async fn seat_changes_after(
    log: &ChangeLog,
    event_id: u64,
    after: Option<LogPosition>,
    limit: usize,
) -> Result<(Vec<SeatChange>, Option<LogPosition>)> {
    let entries = log.read_after(after, limit).await?;
    let last = entries.last().map(|e| e.position).or(after);
    let changes = entries
        .into_iter()
        .filter_map(|entry| match entry.change {
            Change::Seat {
                event_id: e,
                seat_id,
                state,
            } if e == event_id => Some(SeatChange::new(entry.position, &seat_id, state)),
            _ => None,
        })
        .collect();
    Ok((changes, last))
}

/// Follows the change log from its current end, publishing seat changes to the hub and
/// applying them to the seat views; polls every `interval` when there is nothing new, or
/// sooner when a seat change is committed here while someone watches or a view is kept.
pub fn spawn_follower(
    hub: Arc<Hub>,
    views: Arc<SeatViews>,
    log: Arc<ChangeLog>,
    interval: Duration,
) -> Worker {
    Worker::spawn("hub", move |stop| async move {
        let mut commits = log.follow(Topic::Seats);
        let mut position = loop {
            match log.end().await {
                Ok(position) => break position,
                Err(err) => {
                    tracing::warn!(error = %err, "live feed: reading the log end");
                    if !pause(&stop, Duration::from_secs(1)).await {
                        return;
                    }
                }
            }
        };
        views.follow_from(position);
        while !stop.is_cancelled() {
            let entries = match log.read_after(position, MAX_READ).await {
                Ok(entries) => entries,
                Err(err) => {
                    tracing::warn!(error = %err, "live feed: reading the log");
                    pause(&stop, Duration::from_secs(1)).await;
                    continue;
                }
            };
            let full = entries.len() == MAX_READ;
            views.apply(&entries);
            for entry in entries {
                position = Some(entry.position);
                if let Change::Seat {
                    event_id,
                    seat_id,
                    state,
                } = entry.change
                {
                    hub.publish(event_id, SeatChange::new(entry.position, &seat_id, state));
                }
            }
            if !full {
                let awaited = || hub.watched() || views.any();
                stop.run_until_cancelled(next_read(&mut commits, awaited, interval))
                    .await;
            }
        }
    })
}

/// Waits until the follower should read the log again: after `interval`, or a few
/// milliseconds after a seat change committed here while `awaited` (someone watches, a
/// view is kept; commits that come in a stream are read together, not one log read each;
/// otherwise the poll will do).
async fn next_read(commits: &mut Follower, awaited: impl Fn() -> bool, interval: Duration) {
    let due = tokio::time::Instant::now() + interval;
    loop {
        let left = due.saturating_duration_since(tokio::time::Instant::now());
        match commits.wait(left).await {
            Wake::Poll => return,
            Wake::Commit if awaited() => {
                tokio::time::sleep(COMMIT_GATHER).await;
                return;
            }
            Wake::Commit => {}
        }
    }
}
