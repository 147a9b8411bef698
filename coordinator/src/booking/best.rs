//! Best available: choosing seats for a hold that names a section and a count.
//!
//! The choice is read in a transaction of its own and then held like seats chosen by hand
//! (one all-or-nothing transaction that reads only the chosen seats). Reading the whole
//! section inside the hold's transaction would make every best-available hold in the
//! section conflict with every other; this way two buyers conflict only when they pick
//! the same seats, and the loser chooses again from what is left.
//!
//! Best means: `count` seats side by side in the frontmost row that has them (rows in
//! seat-map order, the stage first), as near the row's middle as possible, picked at random
//! among the few best so that buyers arriving together spread over the row; where no row
//! has that many together, the frontmost seats one by one.

use std::collections::HashSet;

use onsale_model::{ApiError, BestAvailable, ErrorCode, SeatStatus};

use super::Coordinator;
use super::events::seat_status;
use super::records::SeatRecord;
use crate::error::{Error, Result};
use crate::store::{RangeRead, StoreExt, keys};

/// Equally good blocks of a row that a choice is made among.
const SPREAD: usize = 4;

impl Coordinator {
    /// The seat ids that best fit `best` among the seats of `event_id` available now.
    pub(super) async fn choose_best_available(
        &self,
        event_id: u64,
        best: &BestAvailable,
    ) -> Result<Vec<String>> {
        let count = best.count as usize;
        let (map, taken) = self
            .store
            .transact(|tx, _| async move {
                let map = self.seat_map(&*tx, event_id).await?;
                let Some((first, last)) = section_range(&map.map, &best.section) else {
                    return Err(Error::Api(ApiError::invalid(format!(
                        "event {event_id} has no section {:?}",
                        best.section
                    ))));
                };
                let now = self.clock.now();
                let records = tx
                    .get_range(RangeRead::new(
                        keys::seat(event_id, first),
                        keys::seat(event_id, last + 1),
                    ))
                    .await?;
                let mut taken = HashSet::new();
                for (key, value) in records {
                    let record: SeatRecord = serde_json::from_slice(&value)?;
                    if seat_status(&record, now) != SeatStatus::Available {
                        taken.insert(keys::seat_ordinal(&key).unwrap_or(u32::MAX));
                    }
                }
                Ok::<_, Error>((map, taken))
            })
            .await?;
        let (first, last) = section_range(&map.map, &best.section).unwrap_or((0, 0));
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
        let chosen = side_by_side(&rows, &taken, count).or_else(|| {
            let free: Vec<u32> = (first..=last).filter(|o| !taken.contains(o)).collect();
            (free.len() >= count).then(|| free[..count].to_vec())
        });
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

/// The first and last ordinal of a section, by its id (seat-id prefix) or name.
fn section_range(map: &onsale_model::SeatMap, section: &str) -> Option<(u32, u32)> {
    let section = section.trim();
    let prefix = format!("{section}-");
    let mut range: Option<(u32, u32)> = None;
    for (ordinal, seat) in map.seats().iter().enumerate() {
        let ordinal = ordinal as u32;
        if seat.seat_id.starts_with(&prefix) || seat.section.eq_ignore_ascii_case(section) {
            range = Some(range.map_or((ordinal, ordinal), |(first, _)| (first, ordinal)));
        } else if range.is_some() {
            break;
        }
    }
    range
}

/// `count` free seats together in the frontmost row that has them, nearest its middle
/// (one of the [`SPREAD`] nearest, at random).
fn side_by_side(rows: &[Vec<u32>], taken: &HashSet<u32>, count: usize) -> Option<Vec<u32>> {
    for row in rows {
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
        blocks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let pick = blocks[rand::random_range(0..blocks.len().min(SPREAD))].1;
        return Some(row[pick..pick + count].to_vec());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_block_in_the_frontmost_row_that_has_one() {
        let rows = vec![(0..6).collect::<Vec<u32>>(), (6..12).collect()];
        // Row one has no three together: 0 1 _ 3 _ 5.
        let taken: HashSet<u32> = [2, 4].into_iter().collect();
        let block = side_by_side(&rows, &taken, 3).expect("a block in row two");
        assert!(block.iter().all(|o| (6..12).contains(o)), "{block:?}");
        assert!(block.windows(2).all(|w| w[1] == w[0] + 1), "{block:?}");
        assert_eq!(side_by_side(&rows, &taken, 2).unwrap().len(), 2);
        assert!(side_by_side(&rows, &(0..12).collect(), 1).is_none());
    }

    #[test]
    fn prefers_the_middle_of_a_row() {
        let rows = vec![(0..20).collect::<Vec<u32>>()];
        for _ in 0..50 {
            let block = side_by_side(&rows, &HashSet::new(), 2).unwrap();
            assert!(
                (7..=11).contains(&block[0]),
                "{block:?} is far from the middle"
            );
        }
    }
}
