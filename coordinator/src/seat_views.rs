//! Taken seats by event, kept current by the change log: what best-available choices read
//! instead of the store.
//!
//! An event's view is read from the store once, in one transaction with the log position
//! it is current at, then the hub's follower applies every seat change after that position
//! as it reads the log, so the changes of every coordinator on the store show up.
//!
//! A view is a guess the hold's transaction checks, never the truth: it lags the store by
//! the follower's delay, and it counts a hold past its expiry as taken until the sweeper
//! releases it. Seats chosen here, and seats a hold found taken, count as taken for
//! [`TENTATIVE`] on top of the view (by then their own change has come through the log), so
//! buyers choosing at once choose apart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use onsale_model::{Change, LogEntry, LogPosition, SeatMap, SeatStatus};

use crate::store::records::PricedSeatMap;

/// How long a seat chosen here, or found taken by a hold, counts as taken without a
/// change from the log saying so.
const TENTATIVE: Duration = Duration::from_secs(2);

/// A view not chosen from for this long is dropped (and read again when next needed).
const IDLE: Duration = Duration::from_secs(300);

/// Most events with a view at once; past it, the least recently used is dropped.
const MAX_VIEWS: usize = 1_000;

/// The views of one coordinator; a std mutex, never held across `.await`.
#[derive(Default)]
pub struct SeatViews(Mutex<Views>);

#[derive(Default)]
struct Views {
    /// Where the follower has applied the log up to; `None` until it has started, when
    /// no view can be kept current (choices then read the store).
    applied: Option<Option<LogPosition>>,
    events: HashMap<u64, EventView>,
}

/// One event's seats as the log says.
struct EventView {
    map: Arc<PricedSeatMap>,
    /// By ordinal: held or sold.
    taken: Vec<bool>,
    /// Every change up to here is in `taken`.
    position: Option<LogPosition>,
    /// By ordinal: counted as taken until then (chosen here, or found taken by a hold),
    /// in milliseconds after `since`; 0 for never.
    tentative: Vec<u32>,
    since: Instant,
    used: Instant,
}

impl EventView {
    /// Milliseconds from `since` to `at`.
    fn millis(&self, at: Instant) -> u32 {
        at.saturating_duration_since(self.since).as_millis() as u32
    }
}

/// An event's seats as read from the store, to become its view.
pub(crate) struct LoadedView {
    /// The event's seat map.
    pub(crate) map: Arc<PricedSeatMap>,
    /// By ordinal: held or sold, at `position`.
    pub(crate) taken: Vec<bool>,
    /// The log position the read is current at.
    pub(crate) position: Option<LogPosition>,
}

impl LoadedView {
    /// Applies the log entries after its position; returns where it is now.
    pub(crate) fn catch_up(&mut self, event_id: u64, entries: &[LogEntry]) -> Option<LogPosition> {
        for entry in entries {
            if self.position.is_none_or(|at| entry.position > at) {
                set(&self.map.map, &mut self.taken, event_id, &entry.change);
                self.position = Some(entry.position);
            }
        }
        self.position
    }
}

/// Marks the seat of a seat change of `event_id` in `taken`.
fn set(map: &SeatMap, taken: &mut [bool], event_id: u64, change: &Change) {
    if let Change::Seat {
        event_id: of,
        seat_id,
        state,
    } = change
        && *of == event_id
        && let Some(slot) = map.ordinal(seat_id).and_then(|o| taken.get_mut(o as usize))
    {
        *slot = *state != SeatStatus::Available;
    }
}

/// What became of a loaded view.
pub(crate) enum Install {
    /// It is in; choices read it from now on.
    Done,
    /// The follower has applied the log past it: catch it up and try again.
    Behind(LoadedView),
    /// No follower keeps views current in this process.
    NotFollowing,
}

impl SeatViews {
    /// The follower starts at `position`: views can be kept from now on.
    pub fn follow_from(&self, position: Option<LogPosition>) {
        self.lock().applied = Some(position);
    }

    /// Applies log entries read by the follower, in order.
    pub fn apply(&self, entries: &[LogEntry]) {
        let mut views = self.lock();
        for entry in entries {
            if let Change::Seat { event_id, .. } = &entry.change
                && let Some(view) = views.events.get_mut(event_id)
                && view.position.is_none_or(|at| entry.position > at)
            {
                set(&view.map.map, &mut view.taken, *event_id, &entry.change);
                view.position = Some(entry.position);
            }
            views.applied = Some(Some(entry.position));
        }
    }

    /// Whether any event has a view (the follower then reads commits at once).
    pub fn any(&self) -> bool {
        !self.lock().events.is_empty()
    }

    /// Installs `loaded` as `event_id`'s view unless the follower is past it.
    pub(crate) fn install(&self, event_id: u64, loaded: LoadedView) -> Install {
        let mut views = self.lock();
        let Some(applied) = views.applied else {
            return Install::NotFollowing;
        };
        if applied > loaded.position {
            return Install::Behind(loaded);
        }
        let now = Instant::now();
        views
            .events
            .retain(|_, view| now.duration_since(view.used) < IDLE);
        if views.events.len() >= MAX_VIEWS
            && let Some(oldest) = views
                .events
                .iter()
                .min_by_key(|(_, view)| view.used)
                .map(|(id, _)| *id)
        {
            views.events.remove(&oldest);
        }
        views.events.insert(
            event_id,
            EventView {
                map: loaded.map,
                tentative: vec![0; loaded.taken.len()],
                taken: loaded.taken,
                position: loaded.position,
                since: now,
                used: now,
            },
        );
        Install::Done
    }

    /// Which seats of `first..=last` of `event_id` count as taken now (by ordinal, from
    /// `first`), or `None` without a view.
    pub(crate) fn taken(&self, event_id: u64, first: u32, last: u32) -> Option<Vec<bool>> {
        let mut views = self.lock();
        let view = views.events.get_mut(&event_id)?;
        let now = Instant::now();
        view.used = now;
        let now = view.millis(now);
        let range = first as usize..=last as usize;
        let taken = view.taken.get(range.clone())?;
        let tentative = view.tentative.get(range)?;
        Some(
            taken
                .iter()
                .zip(tentative)
                .map(|(&taken, &until)| taken || until > now)
                .collect(),
        )
    }

    /// Counts `ordinals` of `event_id` as taken for a while: seats chosen here, or found
    /// taken by a hold before the log said so.
    pub(crate) fn mark(&self, event_id: u64, ordinals: impl IntoIterator<Item = u32>) {
        let mut views = self.lock();
        if let Some(view) = views.events.get_mut(&event_id) {
            let until = view.millis(Instant::now() + TENTATIVE);
            for ordinal in ordinals {
                if let Some(slot) = view.tentative.get_mut(ordinal as usize) {
                    *slot = until;
                }
            }
        }
    }

    /// [`SeatViews::mark`] by seat id.
    pub(crate) fn mark_ids(&self, event_id: u64, seat_ids: &[String]) {
        let ordinals: Vec<u32> = {
            let views = self.lock();
            let Some(view) = views.events.get(&event_id) else {
                return;
            };
            seat_ids
                .iter()
                .filter_map(|id| view.map.map.ordinal(id))
                .collect()
        };
        self.mark(event_id, ordinals);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Views> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onsale_model::SeatMapSpec;

    fn map() -> Arc<PricedSeatMap> {
        let spec: SeatMapSpec = serde_json::from_value(serde_json::json!({
            "sections": [{"id": "A", "name": "Stalls", "price": 100,
                "rows": [{"name": "1", "seats": 4}]}]
        }))
        .unwrap();
        Arc::new(PricedSeatMap {
            map: SeatMap::compile(&spec).unwrap(),
            currency: "EUR".into(),
        })
    }

    fn position(n: u8) -> LogPosition {
        let mut bytes = [0; 12];
        bytes[11] = n;
        LogPosition(bytes)
    }

    fn seat(n: u8, seat_id: &str, state: SeatStatus) -> LogEntry {
        LogEntry {
            position: position(n),
            change: Change::Seat {
                event_id: 1,
                seat_id: seat_id.into(),
                state,
            },
        }
    }

    fn loaded(at: u8) -> LoadedView {
        LoadedView {
            map: map(),
            taken: vec![false; 4],
            position: Some(position(at)),
        }
    }

    #[test]
    fn a_view_follows_the_log_after_its_own_position() {
        let views = SeatViews::default();
        assert!(matches!(views.install(1, loaded(5)), Install::NotFollowing));
        views.follow_from(Some(position(3)));
        assert!(matches!(views.install(1, loaded(5)), Install::Done));
        assert!(views.any());
        views.apply(&[
            // Already in the view's read: not applied again.
            seat(4, "A-1-1", SeatStatus::Held),
            seat(6, "A-1-2", SeatStatus::Held),
            seat(7, "A-1-3", SeatStatus::Sold),
            seat(8, "A-1-3", SeatStatus::Available),
        ]);
        assert_eq!(views.taken(1, 0, 3), Some(vec![false, true, false, false]));
        assert_eq!(views.taken(2, 0, 3), None, "no view of another event");
    }

    #[test]
    fn a_view_read_before_the_followers_position_catches_up_first() {
        let views = SeatViews::default();
        views.follow_from(Some(position(3)));
        views.apply(&[seat(9, "A-1-4", SeatStatus::Held)]);
        let Install::Behind(mut view) = views.install(1, loaded(5)) else {
            panic!("installed a view the follower is past");
        };
        view.catch_up(1, &[seat(9, "A-1-4", SeatStatus::Held)]);
        assert!(matches!(views.install(1, view), Install::Done));
        assert_eq!(views.taken(1, 2, 3), Some(vec![false, true]));
    }

    #[test]
    fn marked_seats_count_as_taken_until_the_log_says_so() {
        let views = SeatViews::default();
        views.follow_from(None);
        assert!(matches!(views.install(1, loaded(1)), Install::Done));
        views.mark(1, [0]);
        views.mark_ids(1, &["A-1-4".to_string()]);
        assert_eq!(views.taken(1, 0, 3), Some(vec![true, false, false, true]));
    }
}
