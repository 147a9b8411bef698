//! Following a place in a queue live, without a store read per watcher per second.
//!
//! A surge queues a great many people, each with a page that follows their place. One task
//! per watched room reads the room's settings and admission count once a second and shares
//! them over a `watch` channel (the room's *head*); each watcher works out its own position
//! (`seq − admitted`) and estimate from it. A watcher reads the store itself only when its
//! standing changes in a way the head cannot tell: its turn came (for the pass), its
//! session ran out, the on-sale shuffle placed it, or the room was switched on or off.
//! The task ends a second after the room's last watcher leaves.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use onsale_model::{QueueState, QueueStatus, WaitingRoomSettings};
use tokio::sync::watch;
use uuid::Uuid;

use super::WaitingRooms;
use super::records;
use crate::clock::to_millis;
use crate::error::{Error, Result};
use onsale_store::StoreExt;

/// How often a watched room's head is read.
const REFRESH: Duration = Duration::from_secs(1);

/// After the on-sale time, lobby watchers look up their new places spread over this
/// long, so that a lobby of millions does not read the store in the same instant.
const SHUFFLE_SPREAD_MS: u64 = 10_000;

/// What every watcher of a room needs: its settings and how many places were admitted.
#[derive(Debug, Clone, PartialEq, Default)]
struct RoomHead {
    settings: Option<WaitingRoomSettings>,
    admitted: u64,
}

impl RoomHead {
    fn enabled(&self) -> bool {
        self.settings.as_ref().is_some_and(|s| s.enabled)
    }
}

/// The rooms being watched on this coordinator, by event, and how often their heads
/// were read.
#[derive(Default)]
pub(crate) struct Watches(Mutex<HashMap<u64, watch::Sender<RoomHead>>>, AtomicU64);

impl WaitingRooms {
    /// Follows the place that `ticket` names in `event_id`'s queue: the standing now, and
    /// a follower that yields each change.
    pub async fn follow_queue(&self, event_id: u64, ticket: &str) -> Result<QueueFollower> {
        let user = self.ticket_holder(event_id, ticket)?;
        let head = self.watch_room(event_id).await?;
        let (status, seq) = self.standing(user, event_id).await?;
        Ok(QueueFollower {
            service: self.clone(),
            event_id,
            user,
            head,
            seq,
            next: Some(status.clone()),
            last: status,
        })
    }

    /// A receiver of `event_id`'s head, starting the task that refreshes it if none runs.
    async fn watch_room(&self, event_id: u64) -> Result<watch::Receiver<RoomHead>> {
        if let Some(sender) = self
            .rooms()
            .watches
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&event_id)
        {
            return Ok(sender.subscribe());
        }
        let first = self.room_head(event_id).await?;
        let mut watches = self
            .rooms()
            .watches
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = watches.get(&event_id) {
            return Ok(sender.subscribe());
        }
        let (sender, receiver) = watch::channel(first);
        watches.insert(event_id, sender.clone());
        drop(watches);
        let service = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH).await;
                {
                    let mut watches = service
                        .rooms()
                        .watches
                        .0
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    if sender.receiver_count() == 0 {
                        watches.remove(&event_id);
                        return;
                    }
                }
                match service.room_head(event_id).await {
                    Ok(head) => {
                        sender.send_if_modified(|current| {
                            let changed = *current != head;
                            *current = head;
                            changed
                        });
                    }
                    Err(err) => tracing::debug!(event_id, error = %err, "reading a room's head"),
                }
            }
        });
        Ok(receiver)
    }

    /// How many times this coordinator has read the head of a watched room: once per
    /// room per refresh, however many people watch it.
    pub fn queue_head_reads(&self) -> u64 {
        self.rooms().watches.1.load(Ordering::Relaxed)
    }

    async fn room_head(&self, event_id: u64) -> Result<RoomHead> {
        self.rooms().watches.1.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("onsale_queue_head_reads_total").increment(1);
        self.store()
            .transact(|tx| async move {
                Ok::<_, Error>(RoomHead {
                    settings: records::read_settings(&*tx, event_id).await?,
                    admitted: records::read_admission(&*tx, event_id).await?.admitted,
                })
            })
            .await
    }
}

/// One watcher's place in a queue ([`WaitingRooms::follow_queue`]).
pub struct QueueFollower {
    service: WaitingRooms,
    event_id: u64,
    user: Uuid,
    head: watch::Receiver<RoomHead>,
    /// The holder's sequence number, once they have one.
    seq: Option<u64>,
    /// A standing not yet yielded.
    next: Option<QueueStatus>,
    /// The standing last yielded (or read).
    last: QueueStatus,
}

impl QueueFollower {
    /// The next standing that differs from the last one yielded (the first call yields
    /// the standing when following began).
    pub async fn next(&mut self) -> Result<QueueStatus> {
        loop {
            if let Some(status) = self.next.take() {
                self.last = status.clone();
                return Ok(status);
            }
            let status = self.wait_for_change().await?;
            if status != self.last {
                self.next = Some(status);
            }
        }
    }

    /// Waits until the standing may have changed, and works it out.
    async fn wait_for_change(&mut self) -> Result<QueueStatus> {
        match self.last.state {
            QueueState::Queued => {
                self.head_changed().await?;
                let head = self.head.borrow().clone();
                match (self.seq, head.settings.as_ref()) {
                    (Some(seq), Some(settings)) if settings.enabled && seq > head.admitted => {
                        let position = seq - head.admitted;
                        let mut status = self.last.clone();
                        status.position = Some(position);
                        status.estimated_wait_seconds =
                            Some(settings.estimated_wait_seconds(position));
                        Ok(status)
                    }
                    _ => self.read().await,
                }
            }
            QueueState::Waiting => {
                let now = self.service.clock().now();
                let shuffle_at = self.last.shuffle_at.map_or(now, to_millis);
                let spread = (self.user.as_u128() % u128::from(SHUFFLE_SPREAD_MS)) as i64;
                let due = (shuffle_at + 1_000 + spread - now).max(0) as u64;
                self.switched_within(Duration::from_millis(due)).await?;
                self.read().await
            }
            QueueState::Admitted => {
                let now = self.service.clock().now();
                let until = self.last.expires_at.map_or(now, to_millis);
                let due = (until - now).max(0) as u64 + 500;
                self.switched_within(Duration::from_millis(due)).await?;
                self.read().await
            }
            QueueState::Expired | QueueState::Open => {
                self.switched_within(Duration::MAX).await?;
                self.read().await
            }
        }
    }

    async fn read(&mut self) -> Result<QueueStatus> {
        let (status, seq) = self.service.standing(self.user, self.event_id).await?;
        self.seq = seq.or(self.seq);
        Ok(status)
    }

    async fn head_changed(&mut self) -> Result<()> {
        self.head.changed().await.map_err(|_| {
            Error::Api(onsale_model::ApiError::new(
                onsale_model::ErrorCode::Unavailable,
                "the queue's watcher stopped",
            ))
        })
    }

    /// Returns when the room is switched on or off, or `limit` passes, whichever is first.
    async fn switched_within(&mut self, limit: Duration) -> Result<()> {
        let was_enabled = self.head.borrow().enabled();
        let switched = async {
            loop {
                self.head_changed().await?;
                if self.head.borrow().enabled() != was_enabled {
                    return Ok(());
                }
            }
        };
        match tokio::time::timeout(limit, switched).await {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }
}
