//! Best available: choosing seats for a hold that names a section and a count.
//!
//! The choice is made from the event's view of taken seats ([`crate::seat_views`]), kept
//! current by the change log, so choosing reads nothing from the store; the seats are then
//! held like seats chosen by hand (one all-or-nothing transaction that reads only the
//! chosen seats), which is what decides. Two buyers conflict only when they pick the same
//! seats; the loser's view marks them taken and it chooses again. Where no view can be kept
//! (no log follower in this process), or the view finds too few seats (it may not have
//! seen a release yet), the section is read from the store instead.
//!
//! Best means: `count` seats side by side in the frontmost rows that have them (rows in
//! seat-map order, the stage first), as near the middle as possible, picked at random
//! among the few best blocks so that buyers arriving together spread over the front rows;
//! where no row has that many together, the frontmost seats one by one.

use onsale_model::{ApiError, BestAvailable, ErrorCode, SeatStatus};

use super::Bookings;
use crate::error::{Error, Result};
use crate::events::seat_status;
use crate::seat_views::{Install, LoadedView};
use crate::store::records::PricedSeatMap;
use crate::store::tables::SEATS;
use onsale_store::{RangeRead, StoreExt};

/// The best blocks that a choice is made among.
const SPREAD: usize = 16;

/// Log reads a new view may take to catch up with the follower before the choice reads
/// the store instead.
const CATCH_UP_READS: usize = 16;

impl Bookings {
    /// The seat ids that best fit `best` among the seats of `event_id` available now;
    /// `rows_wide` > 1 spreads the choice over that many front rows (see `side_by_side`).
    pub(super) async fn choose_best_available(
        &self,
        event_id: u64,
        best: &BestAvailable,
        rows_wide: usize,
    ) -> Result<Vec<String>> {
        match self.choose(event_id, best, rows_wide, true).await {
            // The view may not have seen seats released since: look at the store.
            Err(Error::Api(e)) if e.code == ErrorCode::SeatUnavailable => {
                self.choose(event_id, best, rows_wide, false).await
            }
            answer => answer,
        }
    }

    /// Counts `seats` of `event_id` as taken in its view: a hold found them taken before
    /// the log said so.
    pub(super) fn seats_lost(&self, event_id: u64, seats: &[String]) {
        self.seat_views.mark_ids(event_id, seats);
    }

    /// One choice, from the event's view when `from_view` and one can be kept, else from
    /// a read of the section.
    async fn choose(
        &self,
        event_id: u64,
        best: &BestAvailable,
        rows_wide: usize,
        from_view: bool,
    ) -> Result<Vec<String>> {
        let count = best.count as usize;
        let map = self.events.compiled_seat_map(event_id).await?;
        let Some((first, last)) = map.map.section(&best.section) else {
            return Err(Error::Api(ApiError::invalid(format!(
                "event {event_id} has no section {:?}",
                best.section
            ))));
        };
        let viewed = match from_view {
            true => self.viewed(event_id, &map, first, last).await?,
            false => None,
        };
        let from = if viewed.is_some() { "view" } else { "store" };
        metrics::counter!("onsale_best_available_choices_total", "from" => from).increment(1);
        let taken = match viewed {
            Some(taken) => taken,
            None => self.read_taken(event_id, first, last).await?,
        };
        let is_taken = |ordinal: u32| taken[(ordinal - first) as usize];
        let seats = map.map.seats();
        let mut rows: Vec<Vec<u32>> = Vec::new();
        for ordinal in first..=last {
            let starts_row =
                ordinal == first || seats[ordinal as usize].row != seats[ordinal as usize - 1].row;
            if starts_row {
                rows.push(Vec::new());
            }
            if let Some(row) = rows.last_mut() {
                row.push(ordinal);
            }
        }
        let chosen = side_by_side(&rows, is_taken, count, rows_wide).or_else(|| {
            let free: Vec<u32> = (first..=last).filter(|&o| !is_taken(o)).collect();
            (free.len() >= count).then(|| free[..count].to_vec())
        });
        match chosen {
            Some(ordinals) => {
                self.seat_views.mark(event_id, ordinals.iter().copied());
                Ok(ordinals
                    .into_iter()
                    .filter_map(|o| map.map.seat(o).map(|s| s.seat_id.clone()))
                    .collect())
            }
            None => Err(Error::Api(ApiError::new(
                ErrorCode::SeatUnavailable,
                format!(
                    "section {:?} has fewer than {count} seats available",
                    best.section
                ),
            ))),
        }
    }

    /// Which seats of `first..=last` are taken, from the event's view (read and installed
    /// first when there is none); `None` when no view can be kept.
    async fn viewed(
        &self,
        event_id: u64,
        map: &std::sync::Arc<PricedSeatMap>,
        first: u32,
        last: u32,
    ) -> Result<Option<Vec<bool>>> {
        if let Some(taken) = self.seat_views.taken(event_id, first, last) {
            return Ok(Some(taken));
        }
        let (seats, position) = self.events.seats_with_position(event_id).await?;
        let taken = seats
            .seats
            .iter()
            .map(|seat| seat.state != SeatStatus::Available)
            .collect();
        let mut loaded = LoadedView {
            map: map.clone(),
            taken,
            position,
        };
        for _ in 0..CATCH_UP_READS {
            match self.seat_views.install(event_id, loaded) {
                Install::Done => return Ok(self.seat_views.taken(event_id, first, last)),
                Install::NotFollowing => return Ok(None),
                Install::Behind(mut behind) => {
                    let entries = self
                        .changelog
                        .read_after(behind.position, crate::changelog::MAX_READ)
                        .await?;
                    behind.catch_up(event_id, &entries);
                    loaded = behind;
                }
            }
        }
        Ok(None)
    }

    /// Which seats of `first..=last` are taken, read from the store now.
    async fn read_taken(&self, event_id: u64, first: u32, last: u32) -> Result<Vec<bool>> {
        let now = self.clock.now();
        let records = self
            .store
            .transact(|tx| async move {
                let section = RangeRead::new(
                    SEATS.key(&(event_id, first)),
                    SEATS.key(&(event_id, last + 1)),
                );
                Ok::<_, Error>(SEATS.range(&tx, section).await?)
            })
            .await?;
        let mut taken = vec![false; (last - first + 1) as usize];
        for ((_, ordinal), record) in records {
            if let Some(slot) = ordinal
                .checked_sub(first)
                .and_then(|i| taken.get_mut(i as usize))
            {
                *slot = seat_status(&record, now) != SeatStatus::Available;
            }
        }
        Ok(taken)
    }
}

/// `count` free seats together, nearest the middle of the frontmost row that has them:
/// one of its [`SPREAD`] best non-overlapping blocks, at random, so that buyers choosing
/// at once mostly choose different seats. `rows_wide` > 1 (a buyer choosing again after
/// losing seats to another) widens the choice to that many of the frontmost rows.
fn side_by_side(
    rows: &[Vec<u32>],
    taken: impl Fn(u32) -> bool,
    count: usize,
    rows_wide: usize,
) -> Option<Vec<u32>> {
    let mut best: Vec<&[u32]> = Vec::new();
    let mut rows_used = 0;
    for row in rows {
        if rows_used >= rows_wide {
            break;
        }
        if row.len() < count {
            continue;
        }
        let middle = row.len() as f64 / 2.0;
        let mut blocks: Vec<(f64, usize)> = (0..=row.len() - count)
            .filter(|&start| row[start..start + count].iter().all(|&o| !taken(o)))
            .map(|start| ((start as f64 + count as f64 / 2.0 - middle).abs(), start))
            .collect();
        if blocks.is_empty() {
            continue;
        }
        rows_used += 1;
        blocks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut used: Vec<usize> = Vec::new();
        for (_, start) in blocks {
            if used.len() >= SPREAD {
                break;
            }
            if used
                .iter()
                .all(|&u| start + count <= u || u + count <= start)
            {
                used.push(start);
                best.push(&row[start..start + count]);
            }
        }
    }
    if best.is_empty() {
        return None;
    }
    Some(best[rand::random_range(0..best.len())].to_vec())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn picks_a_block_in_the_frontmost_row_that_has_one() {
        let rows = vec![(0..6).collect::<Vec<u32>>(), (6..12).collect()];
        // Row one has no three together: 0 1 _ 3 _ 5.
        let taken: HashSet<u32> = [2, 4].into_iter().collect();
        let is_taken = |o: u32| taken.contains(&o);
        let block = side_by_side(&rows, is_taken, 3, 1).expect("a block in row two");
        assert!(block.iter().all(|o| (6..12).contains(o)), "{block:?}");
        assert!(block.windows(2).all(|w| w[1] == w[0] + 1), "{block:?}");
        assert_eq!(side_by_side(&rows, is_taken, 2, 1).unwrap().len(), 2);
        assert!(side_by_side(&rows, |_| true, 1, 1).is_none());
    }

    #[test]
    fn prefers_the_middle_of_the_front_row_then_widens() {
        let rows = vec![(0..100).collect::<Vec<u32>>(), (100..200).collect()];
        let mut rows_seen = HashSet::new();
        for _ in 0..200 {
            let block = side_by_side(&rows, |_| false, 2, 1).unwrap();
            assert!(
                (30..=68).contains(&block[0]),
                "{block:?} is far from the front middle"
            );
            rows_seen.insert(side_by_side(&rows, |_| false, 2, 2).unwrap()[0] / 100);
        }
        assert_eq!(rows_seen.len(), 2, "a wider choice reaches the second row");
    }
}
