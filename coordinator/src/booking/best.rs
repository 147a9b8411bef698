//! Best available: choosing seats for a hold that names a section and a count.
//!
//! The choice is read in a transaction of its own and then held like seats chosen by hand
//! (one all-or-nothing transaction that reads only the chosen seats). Reading the whole
//! section inside the hold's transaction would make every best-available hold in the
//! section conflict with every other; this way two buyers conflict only when they pick
//! the same seats, and the loser chooses again from what is left.
//!
//! Buyers choosing in the same section within [`VIEW_TTL`] on one coordinator share one
//! read of its taken seats, each adding its choice to it, so that they choose apart; the
//! hold transaction still checks every seat, and a buyer who loses a race reads afresh.
//!
//! Best means: `count` seats side by side in the frontmost rows that have them (rows in
//! seat-map order, the stage first), as near the middle as possible, picked at random
//! among the few best blocks so that buyers arriving together spread over the front rows;
//! where no row has that many together, the frontmost seats one by one.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use onsale_model::{ApiError, BestAvailable, ErrorCode, SeatStatus};

use super::Bookings;
use crate::error::{Error, Result};
use crate::events::seat_status;
use crate::store::tables::SEATS;
use onsale_store::{RangeRead, StoreExt};

/// How long a section's taken seats, once read, serve further first choices on this
/// coordinator (a later choice after a lost race always reads afresh).
const VIEW_TTL: Duration = Duration::from_millis(25);

/// Sections' taken seats as last read, by (event, first ordinal), with the seats chosen
/// here since added: buyers choosing together share one read and avoid each other's
/// choices. A std mutex, never held across `.await`.
#[derive(Default)]
pub(super) struct TakenViews(Mutex<HashMap<SectionKey, (Instant, HashSet<u32>)>>);

/// A section of an event: (event id, its first ordinal).
type SectionKey = (u64, u32);

impl TakenViews {
    fn fresh(&self, key: SectionKey) -> Option<HashSet<u32>> {
        let views = self.0.lock().unwrap_or_else(|p| p.into_inner());
        views
            .get(&key)
            .filter(|(read_at, _)| read_at.elapsed() < VIEW_TTL)
            .map(|(_, taken)| taken.clone())
    }

    fn store(&self, key: SectionKey, taken: HashSet<u32>) {
        let mut views = self.0.lock().unwrap_or_else(|p| p.into_inner());
        views.retain(|_, (read_at, _)| read_at.elapsed() < VIEW_TTL);
        views.insert(key, (Instant::now(), taken));
    }

    fn mark(&self, key: SectionKey, chosen: &[u32]) {
        let mut views = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, taken)) = views.get_mut(&key) {
            taken.extend(chosen);
        }
    }
}

/// The best blocks that a choice is made among.
const SPREAD: usize = 16;

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
            // A shared view may miss seats released since it was read: look again.
            Err(Error::Api(e)) if e.code == ErrorCode::SeatUnavailable => {
                self.choose(event_id, best, rows_wide, false).await
            }
            answer => answer,
        }
    }

    /// One choice, from this coordinator's recent view of the section when `shared` and
    /// the first try (`rows_wide` 1), else from a fresh read.
    async fn choose(
        &self,
        event_id: u64,
        best: &BestAvailable,
        rows_wide: usize,
        shared: bool,
    ) -> Result<Vec<String>> {
        let count = best.count as usize;
        let (map, (first, last), taken) = self
            .store
            .transact(|tx| async move {
                let map = self.events.seat_map(&*tx, event_id).await?;
                let Some((first, last)) = map.map.section(&best.section) else {
                    return Err(Error::Api(ApiError::invalid(format!(
                        "event {event_id} has no section {:?}",
                        best.section
                    ))));
                };
                if shared
                    && rows_wide == 1
                    && let Some(taken) = self.taken_views.fresh((event_id, first))
                {
                    return Ok::<_, Error>((map, (first, last), taken));
                }
                let now = self.clock.now();
                let section = RangeRead::new(
                    SEATS.key(&(event_id, first)),
                    SEATS.key(&(event_id, last + 1)),
                );
                let mut taken = HashSet::new();
                for ((_, ordinal), record) in SEATS.range(&tx, section).await? {
                    if seat_status(&record, now) != SeatStatus::Available {
                        taken.insert(ordinal);
                    }
                }
                self.taken_views.store((event_id, first), taken.clone());
                Ok::<_, Error>((map, (first, last), taken))
            })
            .await?;
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
        let chosen = side_by_side(&rows, &taken, count, rows_wide).or_else(|| {
            let free: Vec<u32> = (first..=last).filter(|o| !taken.contains(o)).collect();
            (free.len() >= count).then(|| free[..count].to_vec())
        });
        if let Some(ordinals) = &chosen {
            self.taken_views.mark((event_id, first), ordinals);
        }
        match chosen {
            Some(ordinals) => Ok(ordinals
                .into_iter()
                .filter_map(|o| map.map.seat(o).map(|s| s.seat_id.clone()))
                .collect()),
            None => Err(Error::Api(ApiError::new(
                ErrorCode::SeatUnavailable,
                format!(
                    "section {:?} has fewer than {count} seats available",
                    best.section
                ),
            ))),
        }
    }
}

/// `count` free seats together, nearest the middle of the frontmost row that has them:
/// one of its [`SPREAD`] best non-overlapping blocks, at random, so that buyers choosing
/// at once mostly choose different seats. `rows_wide` > 1 (a buyer choosing again after
/// losing seats to another) widens the choice to that many of the frontmost rows.
fn side_by_side(
    rows: &[Vec<u32>],
    taken: &HashSet<u32>,
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
            .filter(|&start| row[start..start + count].iter().all(|o| !taken.contains(o)))
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
    use super::*;

    #[test]
    fn picks_a_block_in_the_frontmost_row_that_has_one() {
        let rows = vec![(0..6).collect::<Vec<u32>>(), (6..12).collect()];
        // Row one has no three together: 0 1 _ 3 _ 5.
        let taken: HashSet<u32> = [2, 4].into_iter().collect();
        let block = side_by_side(&rows, &taken, 3, 1).expect("a block in row two");
        assert!(block.iter().all(|o| (6..12).contains(o)), "{block:?}");
        assert!(block.windows(2).all(|w| w[1] == w[0] + 1), "{block:?}");
        assert_eq!(side_by_side(&rows, &taken, 2, 1).unwrap().len(), 2);
        assert!(side_by_side(&rows, &(0..12).collect(), 1, 1).is_none());
    }

    #[test]
    fn prefers_the_middle_of_the_front_row_then_widens() {
        let rows = vec![(0..100).collect::<Vec<u32>>(), (100..200).collect()];
        let mut rows_seen = HashSet::new();
        for _ in 0..200 {
            let block = side_by_side(&rows, &HashSet::new(), 2, 1).unwrap();
            assert!(
                (30..=68).contains(&block[0]),
                "{block:?} is far from the front middle"
            );
            rows_seen.insert(side_by_side(&rows, &HashSet::new(), 2, 2).unwrap()[0] / 100);
        }
        assert_eq!(rows_seen.len(), 2, "a wider choice reaches the second row");
    }
}
