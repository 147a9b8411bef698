//! The virtual waiting room, per event, with Cloudflare Waiting Room's knobs
//! ([`WaitingRoomSettings`]): while it is on, holding seats needs a pass, and people
//! queue for passes, first come, first served.
//!
//! Layout:
//! - `join`: joining (batched, idempotent per user) and where someone stands.
//! - `admission`: the background round that admits people in order ([`spawn`]).
//! - `gate`: the pass check on holds, and switching the room on past a demand threshold.
//! - `records`: what is stored.
//! - `watch`: following a place live, from one shared read of the room a second.
//!
//! Decisions:
//! - The queue lives in the store, so a restart or a second coordinator loses no one's
//!   place. Each queued person has an entry `(event, user) → seq` and a place
//!   `(event, seq) → user`; admission keeps `admitted` (places `1..=admitted` are in), so a
//!   position is `seq − admitted`: three point reads, whatever the queue's length.
//! - Joins, admission and the settings each have their own key per room, so that joins
//!   never conflict with admission. Joins arriving at one coordinator together are written
//!   in one transaction (a batch), which makes a surge of joins cheap; across
//!   coordinators the batches conflict on the room's counter and are retried, so sequence
//!   numbers never repeat or skip.
//! - Admission is one transaction per room and round: a token bucket filled at
//!   `new_users_per_minute / 60` per second (holding about one second's worth) and a per-second
//!   record of the last minute's admissions, so no 60 seconds ever admit more than
//!   `new_users_per_minute`; never past `total_active_users`. Every coordinator may run it:
//!   the state is in the store, so they never over-admit together.
//! - Passes are signed (`onsale_pass`), so the edge checks them without asking here. An
//!   admitted user's place records the pass's expiry; sessions end in admission order, and
//!   admission forgets ended places (and their entries) as it goes.
//! - Joining before `shuffle_before` puts people in a lobby under random keys; at that time
//!   the lobby's people are given the next places in the lobby's (random) key order, ahead
//!   of everyone who joins later.

mod admission;
mod gate;
mod join;
pub(crate) mod records;
mod watch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onsale_model::{Actor, ApiError, ErrorCode, WaitingRoom, WaitingRoomSettings};

pub use admission::{AdmissionReport, spawn};
pub use join::Joined;
pub use watch::QueueFollower;

use crate::auth::Secrets;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::{Events, set_waiting_room_flag};
use onsale_store::{Store, StoreExt};

/// The waiting-rooms service; cheap to clone. It owns what this coordinator keeps in
/// memory about rooms ([`Rooms`]); the queues are in the store.
#[derive(Clone)]
pub struct WaitingRooms {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    events: Events,
    rooms: Arc<Rooms>,
}

impl WaitingRooms {
    /// The waiting rooms of `store`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secrets: Arc<Secrets>,
        events: Events,
    ) -> Self {
        WaitingRooms {
            store,
            clock,
            secrets,
            events,
            rooms: Arc::default(),
        }
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    fn events(&self) -> &Events {
        &self.events
    }

    fn rooms(&self) -> &Rooms {
        &self.rooms
    }
}

/// What one coordinator keeps in memory about waiting rooms; the queues themselves are
/// in the store. Std mutexes, never held across an `.await`.
#[derive(Default)]
pub(crate) struct Rooms {
    /// Recently read settings by event, for the pass check on every hold.
    settings: Mutex<HashMap<u64, gate::CachedSettings>>,
    /// Joins waiting to be written, by event; an event is present while a batch writer
    /// runs for it.
    joins: Mutex<HashMap<u64, Vec<join::PendingJoin>>>,
    /// Distinct users trying to hold this minute, by event with an automatic threshold.
    demand: Mutex<HashMap<u64, gate::Demand>>,
    /// Rooms whose places are being followed live.
    watches: watch::Watches,
}

impl WaitingRooms {
    /// Sets up or changes an event's waiting room (the audit trail names `by`); switching it on or off is recorded in
    /// the event's document (and so reaches the edge through the catalogue).
    pub async fn configure_waiting_room(
        &self,
        event_id: u64,
        settings: WaitingRoomSettings,
        by: &Actor,
    ) -> Result<WaitingRoom> {
        settings.validate()?;
        let now = self.clock().now();
        self.store()
            .transact(|tx| {
                let settings = &settings;
                async move {
                    set_waiting_room_flag(&*tx, event_id, settings.enabled).await?;
                    records::write_settings(&*tx, event_id, settings)?;
                    crate::audit::record(
                        &*tx,
                        now,
                        by,
                        "waiting_room.update",
                        format!("event {event_id}"),
                        Some(format!(
                            "{}, {} new per minute, {} active at most",
                            if settings.enabled { "on" } else { "off" },
                            settings.new_users_per_minute,
                            settings.total_active_users
                        )),
                    )?;
                    Ok::<_, Error>(())
                }
            })
            .await?;
        self.rooms()
            .remember_settings(event_id, Some(settings.clone()));
        tracing::info!(
            event_id,
            enabled = settings.enabled,
            total_active_users = settings.total_active_users,
            new_users_per_minute = settings.new_users_per_minute,
            "waiting room configured"
        );
        self.waiting_room(event_id).await
    }

    /// An event's waiting-room settings and live counts.
    pub async fn waiting_room(&self, event_id: u64) -> Result<WaitingRoom> {
        self.store()
            .transact(|tx| async move {
                let settings = records::read_settings(&*tx, event_id)
                    .await?
                    .ok_or_else(|| no_waiting_room(event_id))?;
                let joins = records::read_joins(&*tx, event_id).await?;
                let admission = records::read_admission(&*tx, event_id).await?;
                Ok::<_, Error>(WaitingRoom {
                    event_id,
                    settings,
                    queued: joins.tail.saturating_sub(admission.admitted) + joins.lobby,
                    active: admission.admitted - admission.ended,
                    admitted_total: admission.admitted,
                })
            })
            .await
    }
}

fn no_waiting_room(event_id: u64) -> Error {
    Error::Api(ApiError::new(
        ErrorCode::NotFound,
        format!(
            "event {event_id} has no waiting room; PUT /v1/operator/events/{event_id}/waiting-room sets one up"
        ),
    ))
}
