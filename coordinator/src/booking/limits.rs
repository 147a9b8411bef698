//! Seat limits per account and event: the seats one account has of an event (in live
//! holds, in pending bookings, which keep their hold, and in completed bookings) never
//! pass the event's `max_seats_per_account`.
//!
//! Each (event, account) has one record under [`ACCOUNT_SEATS`], read and written in
//! the same transaction as the seats it counts. Two holds of one account therefore write
//! the same key: on every backend one of them conflicts and is retried, and then sees the
//! other's seats, so concurrent holds cannot both pass the limit. Holds of different
//! accounts never touch each other's records.
//!
//! The record lists the account's holds with their expiry rather than a bare number, so
//! an expired hold stops counting at its expiry, even before the sweeper ends it.

use onsale_model::ApiError;
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::records::HoldRecord;
use crate::store::tables::ACCOUNT_SEATS;
use onsale_store::Tx;

/// What one account has of one event.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountSeats {
    /// Live holds (including those in checkout), each with its seat count and expiry.
    #[serde(default)]
    holds: Vec<HeldSeats>,
    /// Seats sold to the account.
    #[serde(default)]
    booked: u32,
}

/// One hold's share of an [`AccountSeats`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeldSeats {
    hold_id: String,
    seats: u32,
    expires_at: Millis,
}

impl AccountSeats {
    /// Seats that count at `now`: booked ones and those of holds not yet expired.
    fn current(&self, now: Millis) -> u32 {
        self.booked
            + self
                .holds
                .iter()
                .filter(|h| h.expires_at > now)
                .map(|h| h.seats)
                .sum::<u32>()
    }

    /// The ids of the holds that have not expired at `now`.
    pub(crate) fn live_holds(&self, now: Millis) -> impl Iterator<Item = &str> {
        self.holds
            .iter()
            .filter(move |h| h.expires_at > now)
            .map(|h| h.hold_id.as_str())
    }

    /// Forgets `hold_id`; true if it was counted.
    fn forget(&mut self, hold_id: &str) -> bool {
        let before = self.holds.len();
        self.holds.retain(|h| h.hold_id != hold_id);
        self.holds.len() != before
    }
}

/// The record of `hold`'s account for its event (empty when there is none).
async fn read(tx: &dyn Tx, hold: &HoldRecord) -> Result<AccountSeats> {
    read_account(tx, hold.event_id, &hold.user_id).await
}

async fn read_account(tx: &dyn Tx, event_id: u64, user_id: &str) -> Result<AccountSeats> {
    Ok(ACCOUNT_SEATS
        .get(tx, &(event_id, user_id))
        .await?
        .unwrap_or_default())
}

fn write(tx: &dyn Tx, hold: &HoldRecord, seats: &AccountSeats) -> Result<()> {
    write_account(tx, hold.event_id, &hold.user_id, seats)
}

fn write_account(tx: &dyn Tx, event_id: u64, user_id: &str, seats: &AccountSeats) -> Result<()> {
    let key = (event_id, user_id);
    if seats.holds.is_empty() && seats.booked == 0 {
        ACCOUNT_SEATS.clear(tx, &key);
    } else {
        ACCOUNT_SEATS.set(tx, &key, seats)?;
    }
    Ok(())
}

/// Counts a new hold of `hold.seats` against its account's limit for the event: records
/// it, or answers `ticket_limit_reached` (with the limit and the seats the account has)
/// when it would pass `limit`. Expired holds are dropped from the record on the way.
pub(super) async fn admit(tx: &dyn Tx, hold: &HoldRecord, limit: u32, now: Millis) -> Result<()> {
    let mut seats = read(tx, hold).await?;
    seats.holds.retain(|h| h.expires_at > now);
    let current = seats.current(now);
    let requested = hold.seats.len() as u32;
    if current + requested > limit {
        return Err(Error::Api(ApiError::ticket_limit_reached(
            limit, current, requested,
        )));
    }
    seats.holds.push(HeldSeats {
        hold_id: hold.hold_id.clone(),
        seats: requested,
        expires_at: hold.expires_at,
    });
    write(tx, hold, &seats)
}

/// A hold ended without a sale (released, expired, cancelled): its seats count back.
pub(super) async fn release(tx: &dyn Tx, hold: &HoldRecord) -> Result<()> {
    let mut seats = read(tx, hold).await?;
    if seats.forget(&hold.hold_id) {
        write(tx, hold, &seats)?;
    }
    Ok(())
}

/// A hold's seats were sold to its account: they count for good.
pub(super) async fn book(tx: &dyn Tx, hold: &HoldRecord) -> Result<()> {
    let mut seats = read(tx, hold).await?;
    seats.forget(&hold.hold_id);
    seats.booked += hold.seats.len() as u32;
    write(tx, hold, &seats)
}

/// `seats` of the account's booked seats of the event were taken back (the organiser
/// cancelled their booking): they no longer count.
pub(super) async fn unbook(tx: &dyn Tx, event_id: u64, user_id: &str, seats: u32) -> Result<()> {
    let mut record = read_account(tx, event_id, user_id).await?;
    record.booked = record.booked.saturating_sub(seats);
    write_account(tx, event_id, user_id, &record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_holds_stop_counting_at_their_expiry() {
        let seats = AccountSeats {
            holds: vec![
                HeldSeats {
                    hold_id: "a".into(),
                    seats: 3,
                    expires_at: 100,
                },
                HeldSeats {
                    hold_id: "b".into(),
                    seats: 2,
                    expires_at: 200,
                },
            ],
            booked: 1,
        };
        assert_eq!(seats.current(99), 6);
        assert_eq!(seats.current(100), 3);
        assert_eq!(seats.current(200), 1);
    }
}
