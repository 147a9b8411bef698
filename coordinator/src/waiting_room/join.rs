//! Joining a queue and asking where one stands.
//!
//! Joins are batched per event: the first join to arrive starts a writer task that takes
//! every join waiting for that event and writes them in one transaction, then the next
//! lot, until none wait. The writer is a task of its own so that a client hanging up
//! never stops the joins of others.

use std::collections::HashSet;
use std::collections::hash_map::Entry as Slot;

use onsale_model::{ApiError, ErrorCode, QueueState, QueueStatus, WaitingRoomSettings};
use onsale_pass::{Pass, Ticket};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::WaitingRooms;
use super::records::{self, Entry, Place};
use crate::clock::{Millis, to_datetime, to_millis};
use crate::error::{Error, Result};
use crate::store::tables::{QUEUE_ENTRIES, QUEUE_LOBBY, QUEUE_ORDER};
use onsale_store::{StoreExt, Tx};

/// Most joins written in one transaction.
const MAX_BATCH: usize = 2048;

/// A join waiting for its batch, and where to send whether it made a new place.
pub(super) struct PendingJoin {
    user: u128,
    done: oneshot::Sender<Result<bool, ApiError>>,
}

/// A place in a queue, as answered to its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// Where the holder stands now.
    pub status: QueueStatus,
    /// False when the user already had this place (joining is idempotent).
    pub new: bool,
}

impl WaitingRooms {
    /// Puts `user` in the queue of `event_id`, or finds their place again; a user whose
    /// pass expired gets a new place at the back.
    pub async fn join_queue(&self, user: Uuid, event_id: u64) -> Result<Joined> {
        let (done, joined) = oneshot::channel();
        let join = PendingJoin {
            user: user.as_u128(),
            done,
        };
        // The event's entry exists exactly while its writer runs (the writer removes it
        // when it finds nothing left to write), so a join starts a writer only if none runs.
        let start_writer = {
            let mut joins = self.rooms().joins.lock().unwrap_or_else(|p| p.into_inner());
            match joins.entry(event_id) {
                Slot::Occupied(mut running) => {
                    running.get_mut().push(join);
                    false
                }
                Slot::Vacant(idle) => {
                    idle.insert(vec![join]);
                    true
                }
            }
        };
        if start_writer {
            tokio::spawn(self.clone().write_joins(event_id));
        }
        let new = joined
            .await
            .map_err(|e| Error::internal_from("the join writer stopped", e))??;
        if new {
            metrics::counter!("onsale_queue_joins_total").increment(1);
        }
        Ok(Joined {
            status: self.queue_status(user, event_id).await?,
            new,
        })
    }

    /// Writes the joins waiting for `event_id`, a batch at a time, until none wait.
    async fn write_joins(self, event_id: u64) {
        let _unstick = Unstick {
            service: &self,
            event_id,
        };
        loop {
            let batch: Vec<PendingJoin> = {
                let mut joins = self.rooms().joins.lock().unwrap_or_else(|p| p.into_inner());
                let Some(pending) = joins.get_mut(&event_id) else {
                    return;
                };
                if pending.is_empty() {
                    joins.remove(&event_id);
                    return;
                }
                let take = pending.len().min(MAX_BATCH);
                pending.drain(..take).collect()
            };
            let users: Vec<u128> = batch.iter().map(|join| join.user).collect();
            match self.join_batch(event_id, &users).await {
                Ok(new) => {
                    for (join, new) in batch.into_iter().zip(new) {
                        let _ = join.done.send(Ok(new));
                    }
                }
                Err(err) => {
                    let api = err.to_api();
                    if api.status() >= 500 {
                        tracing::error!(event_id, error = %err, "writing queue joins failed");
                    }
                    for join in batch {
                        let _ = join.done.send(Err(api.clone()));
                    }
                }
            }
        }
    }

    /// One transaction placing every user of a batch; says for each whether the place
    /// is new.
    async fn join_batch(&self, event_id: u64, users: &[u128]) -> Result<Vec<bool>> {
        let outcome = self
            .store()
            .transact(|tx| async move {
                let Some(settings) = records::read_settings(&*tx, event_id).await? else {
                    return Ok(None);
                };
                if !settings.enabled {
                    return Ok(None);
                }
                let now = self.clock().now();
                let mut joins = records::read_joins(&*tx, event_id).await?;
                let lobby_open = !joins.shuffled && before_shuffle(&settings, now);
                if !lobby_open && !joins.shuffled && joins.lobby > 0 {
                    records::reserve_for_lobby(&*tx, event_id, &mut joins).await?;
                }
                let mut seen = HashSet::with_capacity(users.len());
                let mut placed = Vec::with_capacity(users.len());
                for &user in users {
                    if !seen.insert(user) {
                        placed.push(false);
                        continue;
                    }
                    let new = needs_place(&*tx, event_id, user, now).await?;
                    if new {
                        place(&*tx, event_id, user, lobby_open, &mut joins)?;
                    }
                    placed.push(new);
                }
                if placed.iter().any(|&new| new) {
                    records::write_joins(&*tx, event_id, &joins)?;
                }
                Ok::<_, Error>(Some(placed))
            })
            .await?;
        match outcome {
            Some(placed) => Ok(placed),
            None => Err(self.room_off_error(event_id).await),
        }
    }

    /// Why there is no queue to join: no such event, or its room is off.
    async fn room_off_error(&self, event_id: u64) -> Error {
        match self.events().event(event_id).await {
            Ok(_) => Error::Api(ApiError::new(
                ErrorCode::WaitingRoomOff,
                format!("event {event_id} has no waiting room on; hold seats directly"),
            )),
            Err(err) => err,
        }
    }

    /// Where `user` stands in the queue of `event_id`.
    pub async fn queue_status(&self, user: Uuid, event_id: u64) -> Result<QueueStatus> {
        Ok(self.standing(user, event_id).await?.0)
    }

    /// [`WaitingRooms::queue_status`], with the holder's sequence number when they have one
    /// (queued or admitted), from which watchers work out later positions themselves.
    pub(super) async fn standing(
        &self,
        user: Uuid,
        event_id: u64,
    ) -> Result<(QueueStatus, Option<u64>)> {
        let now = self.clock().now();
        let user_id = user.as_u128();
        let (settings, entry, admitted, place) = self
            .store()
            .transact(|tx| async move {
                let settings = records::read_settings(&*tx, event_id).await?;
                let entry = records::read_entry(&*tx, event_id, user_id).await?;
                let admitted = records::read_admission(&*tx, event_id).await?.admitted;
                let place = match entry {
                    Some(Entry::Seq(seq)) if seq <= admitted => {
                        records::read_place(&*tx, event_id, seq).await?
                    }
                    _ => None,
                };
                Ok::<_, Error>((settings, entry, admitted, place))
            })
            .await?;
        let key = self.secrets().queue_key();
        let mut status = QueueStatus {
            event_id,
            ticket: key.sign_ticket(&Ticket {
                event_id,
                user_id: *user.as_bytes(),
            }),
            state: QueueState::Open,
            admitted: false,
            position: None,
            estimated_wait_seconds: None,
            pass: None,
            expires_at: None,
            shuffle_at: None,
        };
        let Some(settings) = settings.filter(|s| s.enabled) else {
            return Ok((status, None));
        };
        let seq = match entry {
            Some(Entry::Seq(seq)) => Some(seq),
            _ => None,
        };
        match entry {
            None => status.state = QueueState::Expired,
            Some(Entry::Lobby(_)) => {
                status.state = QueueState::Waiting;
                status.shuffle_at = settings.shuffle_before;
                let until_shuffle = settings
                    .shuffle_before
                    .map_or(0, |at| (to_millis(at) - now).max(0) as u64 / 1000);
                status.estimated_wait_seconds = Some(until_shuffle);
            }
            Some(Entry::Seq(seq)) if seq > admitted => {
                let position = seq - admitted;
                status.state = QueueState::Queued;
                status.position = Some(position);
                status.estimated_wait_seconds = Some(settings.estimated_wait_seconds(position));
            }
            Some(Entry::Seq(_)) => match place.and_then(|p| p.expires_at) {
                Some(expires_at) if expires_at > now => {
                    status.state = QueueState::Admitted;
                    status.admitted = true;
                    status.pass = Some(key.sign_pass(&Pass {
                        event_id,
                        user_id: *user.as_bytes(),
                        expires_at,
                    }));
                    status.expires_at = Some(to_datetime(expires_at));
                }
                _ => status.state = QueueState::Expired,
            },
        }
        Ok((status, seq))
    }

    /// Where the holder of `ticket` stands in the queue of `event_id`.
    pub async fn queue_status_by_ticket(&self, event_id: u64, ticket: &str) -> Result<QueueStatus> {
        let user = self.ticket_holder(event_id, ticket)?;
        self.queue_status(user, event_id).await
    }

    /// Whose place `ticket` names, if it is a ticket of `event_id`'s queue.
    pub(super) fn ticket_holder(&self, event_id: u64, ticket: &str) -> Result<Uuid> {
        let ticket = self
            .secrets()
            .queue_key()
            .verify_ticket(ticket)
            .map_err(|_| Error::code(ErrorCode::QueueTicketInvalid))?;
        if ticket.event_id != event_id {
            return Err(Error::Api(ApiError::new(
                ErrorCode::QueueTicketInvalid,
                format!(
                    "the queue ticket is for event {}, not event {event_id}",
                    ticket.event_id
                ),
            )));
        }
        Ok(Uuid::from_bytes(ticket.user_id))
    }
}

/// Should a join writer panic, forgets its event's pending joins (their joiners get an
/// error) so that the next join starts a new writer instead of waiting for a dead one.
struct Unstick<'a> {
    service: &'a WaitingRooms,
    event_id: u64,
}

impl Drop for Unstick<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut joins = self
                .service
                .rooms()
                .joins
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            joins.remove(&self.event_id);
        }
    }
}

/// Whether joins now go to the lobby: the on-sale shuffle is still ahead.
fn before_shuffle(settings: &WaitingRoomSettings, now: Millis) -> bool {
    settings
        .shuffle_before
        .is_some_and(|at| now < to_millis(at))
}

/// Whether `user` needs a new place: they have none, or their session ended.
async fn needs_place(tx: &dyn Tx, event_id: u64, user: u128, now: Millis) -> Result<bool> {
    match records::read_entry(tx, event_id, user).await? {
        None => Ok(true),
        Some(Entry::Lobby(_)) => Ok(false),
        Some(Entry::Seq(seq)) => match records::read_place(tx, event_id, seq).await? {
            Some(Place {
                expires_at: Some(expires_at),
                ..
            }) => Ok(expires_at <= now),
            Some(_) => Ok(false),
            None => Ok(true),
        },
    }
}

/// Gives `user` the next place, or a random slot in the lobby before the shuffle.
fn place(
    tx: &dyn Tx,
    event_id: u64,
    user: u128,
    lobby_open: bool,
    joins: &mut records::JoinCounters,
) -> Result<()> {
    let entry = if lobby_open {
        let slot: u64 = rand::random();
        QUEUE_LOBBY.set(tx, &(event_id, slot, user), &())?;
        joins.lobby += 1;
        Entry::Lobby(slot)
    } else {
        joins.tail += 1;
        let place = Place {
            user,
            expires_at: None,
        };
        QUEUE_ORDER.set(tx, &(event_id, joins.tail), &place)?;
        Entry::Seq(joins.tail)
    };
    Ok(QUEUE_ENTRIES.set(tx, &(event_id, user), &entry)?)
}
