//! Admission: every round (a second, by [`spawn`]) each room that is on closes its lobby
//! once the on-sale time has come, gives the lobby's people their places, ends the
//! sessions whose pass expired, and admits the next people in order, as many as its rates
//! allow. Each step is a transaction over the room's state in the store, so any number of
//! coordinators may run rounds at once without admitting one person too many.

use std::time::Duration;

use onsale_model::WaitingRoomSettings;

use super::WaitingRooms;
use super::records::{self, AdmissionState, Entry, Place};
use crate::clock::{Millis, to_millis};
use crate::error::{Error, Result};
use crate::store::tables::{QUEUE_ENTRIES, QUEUE_LOBBY, QUEUE_ORDER, ROOM_SETTINGS};
use crate::worker::Worker;
use onsale_store::StoreExt;

/// Lobby people given their places per transaction.
const PLACE_BATCH: usize = 2000;
/// Transactions of lobby placing per round at most (the rest waits for the next round).
const PLACE_ROUNDS: usize = 25;
/// Ended sessions forgotten per round at most; more wait for the next round (until then
/// the active count is too high, never too low).
const END_BATCH: usize = 2000;
/// People admitted per round at most (a second: 600,000 a minute).
const ADMIT_BATCH: u64 = 10_000;

/// What one admission round did, over every room.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionReport {
    /// Rooms that are on.
    pub rooms: usize,
    /// People admitted.
    pub admitted: u64,
    /// Sessions that ended and were forgotten.
    pub ended: u64,
    /// Lobby people given their place after the on-sale shuffle.
    pub placed: u64,
}

/// Runs an admission round every `interval`. Several coordinators on one store may all
/// run rounds: admission state is in the store, so together they never over-admit.
pub fn spawn(rooms: WaitingRooms, interval: Duration) -> Worker {
    Worker::spawn("admission", move |stop| async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while stop.run_until_cancelled(ticks.tick()).await.is_some() {
            if let Err(err) = rooms.admit_waiting_rooms().await {
                tracing::warn!(error = %err, "waiting-room admission failed");
            }
        }
    })
}

impl WaitingRooms {
    /// One admission round over every room that is on.
    pub async fn admit_waiting_rooms(&self) -> Result<AdmissionReport> {
        let rooms = self
            .store()
            .transact(|tx| async move {
                let rooms = ROOM_SETTINGS
                    .range_matching(&tx, ROOM_SETTINGS.all())
                    .await?
                    .into_iter()
                    .filter(|(_, settings)| settings.enabled)
                    .map(|((event_id, _), _)| event_id)
                    .collect::<Vec<_>>();
                Ok::<_, Error>(rooms)
            })
            .await?;
        let mut report = AdmissionReport {
            rooms: rooms.len(),
            ..AdmissionReport::default()
        };
        for event_id in rooms {
            self.shuffle_if_due(event_id).await?;
            for _ in 0..PLACE_ROUNDS {
                let placed = self.place_lobby(event_id).await?;
                report.placed += placed;
                if placed < PLACE_BATCH as u64 {
                    break;
                }
            }
            let (admitted, ended) = self.admit(event_id).await?;
            report.admitted += admitted;
            report.ended += ended;
        }
        if report.admitted > 0 {
            metrics::counter!("onsale_queue_admitted_total").increment(report.admitted);
        }
        Ok(report)
    }

    /// Closes the lobby once the on-sale time has come (joins do the same, whichever
    /// comes first).
    async fn shuffle_if_due(&self, event_id: u64) -> Result<()> {
        let now = self.clock().now();
        self.store()
            .transact(|tx| async move {
                let Some(settings) = records::read_settings(&*tx, event_id).await? else {
                    return Ok::<_, Error>(());
                };
                let due = settings
                    .shuffle_before
                    .is_none_or(|at| now >= to_millis(at));
                let mut joins = records::read_joins(&*tx, event_id).await?;
                if due && !joins.shuffled && joins.lobby > 0 {
                    records::reserve_for_lobby(&*tx, event_id, &mut joins).await?;
                }
                Ok(())
            })
            .await
    }

    /// Gives the next lobby people (in the lobby's random order) their reserved places;
    /// returns how many.
    async fn place_lobby(&self, event_id: u64) -> Result<u64> {
        self.store()
            .transact(|tx| async move {
                let mut state = records::read_admission(&*tx, event_id).await?;
                let left = state.lobby_end.saturating_sub(state.lobby_next);
                if left == 0 {
                    return Ok::<_, Error>(0);
                }
                let limit = left.min(PLACE_BATCH as u64) as usize;
                let lobby = QUEUE_LOBBY
                    .range(&tx, QUEUE_LOBBY.starting_with(&event_id).limit(limit))
                    .await?;
                for (key, ()) in &lobby {
                    let user = key.2;
                    let seq = state.lobby_next;
                    state.lobby_next += 1;
                    let place = Place {
                        user,
                        expires_at: None,
                    };
                    QUEUE_ORDER.set(&tx, &(event_id, seq), &place)?;
                    QUEUE_ENTRIES.set(&tx, &(event_id, user), &Entry::Seq(seq))?;
                    QUEUE_LOBBY.clear(&tx, key);
                }
                records::write_admission(&*tx, event_id, &state)?;
                Ok(lobby.len() as u64)
            })
            .await
    }

    /// Ends expired sessions, then admits the next people as the rates allow; returns
    /// (admitted, ended).
    async fn admit(&self, event_id: u64) -> Result<(u64, u64)> {
        let now = self.clock().now();
        self.store()
            .transact(|tx| async move {
                let Some(settings) = records::read_settings(&*tx, event_id).await? else {
                    return Ok::<_, Error>((0, 0));
                };
                if !settings.enabled {
                    return Ok((0, 0));
                }
                let mut state = records::read_admission(&*tx, event_id).await?;
                let ended = end_sessions(&*tx, event_id, &mut state, now).await?;
                let allowed = allowance(&settings, &mut state, now);
                let mut admitted = 0;
                if allowed > 0 {
                    let from = (event_id, state.admitted + 1);
                    let next = QUEUE_ORDER
                        .range(
                            &tx,
                            QUEUE_ORDER
                                .from_within(&from, &event_id)
                                .limit(allowed as usize),
                        )
                        .await?;
                    let session = Millis::from(settings.session_duration_seconds) * 1000;
                    for ((_, seq), place) in next {
                        if seq != state.admitted + 1 {
                            // The lobby's reserved places are still being handed out.
                            break;
                        }
                        let admitted_place = Place {
                            expires_at: Some(now + session),
                            ..place
                        };
                        QUEUE_ORDER.set(&tx, &(event_id, seq), &admitted_place)?;
                        state.admitted += 1;
                        admitted += 1;
                    }
                }
                record_admissions(&mut state, now, admitted);
                records::write_admission(&*tx, event_id, &state)?;
                Ok((admitted, ended))
            })
            .await
    }
}

/// Forgets the admitted places, from the oldest, whose pass expired by `now` (and their
/// holders' entries, unless they queued again); returns how many.
async fn end_sessions(
    tx: &dyn onsale_store::Tx,
    event_id: u64,
    state: &mut AdmissionState,
    now: Millis,
) -> Result<u64> {
    if state.ended >= state.admitted {
        return Ok(0);
    }
    let limit = (state.admitted - state.ended).min(END_BATCH as u64) as usize;
    let from = (event_id, state.ended + 1);
    let oldest = QUEUE_ORDER
        .range(tx, QUEUE_ORDER.from_within(&from, &event_id).limit(limit))
        .await?;
    let mut ended = 0;
    for ((_, seq), place) in oldest {
        if seq > state.admitted || place.expires_at.is_none_or(|at| at > now) {
            break;
        }
        QUEUE_ORDER.clear(tx, &(event_id, seq));
        if records::read_entry(tx, event_id, place.user).await? == Some(Entry::Seq(seq)) {
            QUEUE_ENTRIES.clear(tx, &(event_id, place.user));
        }
        state.ended = seq;
        ended += 1;
    }
    Ok(ended)
}

/// How many may be admitted now: the token bucket (filled at the per-minute rate, holding
/// a second's worth and one more, so that the fractions of slow rates add up), what the
/// last 60 seconds left of the per-minute rate, and the free active places, whichever is
/// least.
fn allowance(settings: &WaitingRoomSettings, state: &mut AdmissionState, now: Millis) -> u64 {
    let per_minute = f64::from(settings.new_users_per_minute);
    let capacity = per_minute / 60.0 + 1.0;
    let elapsed = (now - state.refilled_at).max(0) as f64;
    state.tokens = (state.tokens + elapsed * per_minute / 60_000.0).min(capacity);
    state.refilled_at = state.refilled_at.max(now);
    let second = now.div_euclid(1000);
    state.window.retain(|&(at, _)| at > second - 60);
    let last_minute: u64 = state.window.iter().map(|&(_, n)| n).sum();
    let rate_left = u64::from(settings.new_users_per_minute).saturating_sub(last_minute);
    let active = state.admitted - state.ended;
    let free = u64::from(settings.total_active_users).saturating_sub(active);
    (state.tokens.floor() as u64)
        .min(rate_left)
        .min(free)
        .min(ADMIT_BATCH)
}

/// Takes `admitted` tokens and records them in the current second.
fn record_admissions(state: &mut AdmissionState, now: Millis, admitted: u64) {
    if admitted == 0 {
        return;
    }
    state.tokens = (state.tokens - admitted as f64).max(0.0);
    let second = now.div_euclid(1000);
    match state.window.last_mut() {
        Some((at, n)) if *at == second => *n += admitted,
        _ => state.window.push((second, admitted)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_minute: u32, active: u32) -> WaitingRoomSettings {
        WaitingRoomSettings {
            enabled: true,
            total_active_users: active,
            new_users_per_minute: per_minute,
            session_duration_seconds: 600,
            shuffle_before: None,
            auto_threshold: None,
        }
    }

    /// Runs `seconds` one-second rounds with everyone wanting in; returns the admissions
    /// per round.
    fn rounds(settings: &WaitingRoomSettings, seconds: i64) -> Vec<u64> {
        let mut state = AdmissionState::default();
        (0..seconds)
            .map(|s| {
                let now = 1_000_000 + s * 1000;
                let n = allowance(settings, &mut state, now);
                state.admitted += n;
                record_admissions(&mut state, now, n);
                n
            })
            .collect()
    }

    #[test]
    fn admissions_spread_over_the_minute_and_never_pass_the_rate() {
        for per_minute in [1, 30, 59, 60, 61, 100, 1000, 100_000] {
            let admitted = rounds(&settings(per_minute, u32::MAX), 300);
            for window in admitted.windows(60) {
                let sum: u64 = window.iter().sum();
                assert!(
                    sum <= u64::from(per_minute),
                    "{per_minute}/min: {sum} in 60 s"
                );
            }
            let total: u64 = admitted.iter().sum();
            let expected = u64::from(per_minute) * 5;
            assert!(
                total + u64::from(per_minute) / 60 + 1 >= expected,
                "{per_minute}/min: only {total} of {expected} in 5 minutes"
            );
            let burst = *admitted.iter().max().unwrap();
            assert!(
                burst <= u64::from(per_minute.div_ceil(60)) + 1,
                "{per_minute}/min: burst {burst}"
            );
        }
    }

    #[test]
    fn the_active_cap_holds() {
        let settings = settings(6000, 25);
        let mut state = AdmissionState::default();
        let n = allowance(&settings, &mut state, 1_000_000);
        assert_eq!(n, 25, "the cap, not the 101 tokens");
        state.admitted += n;
        record_admissions(&mut state, 1_000_000, n);
        assert_eq!(allowance(&settings, &mut state, 1_001_000), 0);
        state.ended = 10;
        assert_eq!(allowance(&settings, &mut state, 1_002_000), 10);
    }

    #[test]
    fn a_clock_behind_the_last_round_adds_no_tokens() {
        let settings = settings(600, 1000);
        let mut state = AdmissionState::default();
        assert_eq!(allowance(&settings, &mut state, 1_000_000), 11);
        record_admissions(&mut state, 1_000_000, 11);
        assert_eq!(allowance(&settings, &mut state, 999_000), 0);
    }
}
