//! The gate on holds: while an event's room is on, a hold needs a valid pass; while it is
//! off but has an automatic threshold, the gate counts who tries to hold and switches the
//! room on when the count passes the threshold within a minute.
//!
//! Every hold asks for its event's settings, so they are kept in memory for a second:
//! another coordinator's switch reaches this one within that second (this coordinator's
//! own switches at once); the edge learns of it with the next catalogue snapshot.
//! Demand is counted per coordinator, in memory: with several coordinators, each sees its
//! share of the users, so set the threshold for one coordinator's share.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use onsale_model::{ApiError, WaitingRoomSettings};
use uuid::Uuid;

use super::WaitingRooms;
use super::{Rooms, records};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::events::set_waiting_room_flag;
use onsale_store::StoreExt;

/// How long settings read from the store are trusted.
const SETTINGS_TTL: Duration = Duration::from_secs(1);
/// Events whose settings are kept at most; past that the cache starts over.
const SETTINGS_CACHE_LIMIT: usize = 4096;

/// An event's settings (or their absence) as read at `read_at`.
pub(super) struct CachedSettings {
    read_at: Instant,
    settings: Option<Arc<WaitingRoomSettings>>,
}

/// Distinct users who tried to hold in one minute.
#[derive(Default)]
pub(super) struct Demand {
    /// The minute counted (Unix minutes).
    minute: i64,
    users: HashSet<u128>,
}

impl Rooms {
    /// Keeps an event's settings as just written or read.
    pub(super) fn remember_settings(&self, event_id: u64, settings: Option<WaitingRoomSettings>) {
        let mut cache = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= SETTINGS_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(
            event_id,
            CachedSettings {
                read_at: Instant::now(),
                settings: settings.map(Arc::new),
            },
        );
    }

    fn cached_settings(&self, event_id: u64) -> Option<Option<Arc<WaitingRoomSettings>>> {
        let cache = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&event_id)
            .filter(|cached| cached.read_at.elapsed() < SETTINGS_TTL)
            .map(|cached| cached.settings.clone())
    }

    /// Counts `user` as trying to hold seats of `event_id` at `now`; true when more than
    /// `threshold` distinct users tried this minute.
    fn note_demand(&self, event_id: u64, user: u128, now: Millis, threshold: u32) -> bool {
        let minute = now.div_euclid(60_000);
        let mut demand = self.demand.lock().unwrap_or_else(|p| p.into_inner());
        let counted = demand.entry(event_id).or_default();
        if counted.minute != minute {
            counted.minute = minute;
            counted.users.clear();
        }
        counted.users.insert(user);
        counted.users.len() > threshold as usize
    }

    fn forget_demand(&self, event_id: u64) {
        self.demand
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&event_id);
    }
}

impl WaitingRooms {
    /// Lets a hold attempt of `user` on `event_id` through the event's waiting room: with
    /// the room on, `pass` (the `X-Queue-Pass` header) must be a pass for this event and
    /// user that has not expired. Counts the attempt towards the automatic threshold.
    pub async fn check_queue_pass(
        &self,
        user: Uuid,
        event_id: u64,
        pass: Option<&str>,
    ) -> Result<()> {
        let Some(settings) = self.room_settings(event_id).await? else {
            return Ok(());
        };
        let now = self.clock().now();
        if !settings.enabled {
            let crossed = settings.auto_threshold.is_some_and(|limit| {
                self.rooms()
                    .note_demand(event_id, user.as_u128(), now, limit)
            });
            if !crossed {
                return Ok(());
            }
            self.switch_on_automatically(event_id).await?;
        }
        let Some(pass) = pass else {
            return Err(Error::Api(ApiError::queue_pass_required(event_id)));
        };
        self.secrets()
            .queue_key()
            .check_pass(pass, event_id, Some(user.as_bytes()), now)
            .map_err(|refused| {
                metrics::counter!("onsale_queue_passes_refused_total").increment(1);
                Error::Api(ApiError::queue_pass_invalid(&refused))
            })?;
        Ok(())
    }

    /// An event's waiting-room settings, from memory when read within the last second.
    async fn room_settings(&self, event_id: u64) -> Result<Option<Arc<WaitingRoomSettings>>> {
        if let Some(cached) = self.rooms().cached_settings(event_id) {
            return Ok(cached);
        }
        let settings = self
            .store()
            .transact(|tx| async move { records::read_settings(&*tx, event_id).await })
            .await?;
        self.rooms().remember_settings(event_id, settings.clone());
        Ok(settings.map(Arc::new))
    }

    /// Switches a room on because demand passed its threshold.
    async fn switch_on_automatically(&self, event_id: u64) -> Result<()> {
        let settings = self
            .store()
            .transact(|tx| async move {
                let Some(mut settings) = records::read_settings(&*tx, event_id).await? else {
                    return Ok::<_, Error>(None);
                };
                if !settings.enabled {
                    settings.enabled = true;
                    set_waiting_room_flag(&*tx, event_id, true).await?;
                    records::write_settings(&*tx, event_id, &settings)?;
                }
                Ok(Some(settings))
            })
            .await?;
        self.rooms().remember_settings(event_id, settings);
        self.rooms().forget_demand(event_id);
        metrics::counter!("onsale_waiting_rooms_auto_enabled_total").increment(1);
        tracing::warn!(
            event_id,
            "demand passed the threshold: waiting room switched on"
        );
        Ok(())
    }
}
