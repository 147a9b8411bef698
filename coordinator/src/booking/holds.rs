//! Holds: all-or-nothing seat holds and their release.
//!
//! One serializable transaction reads every requested seat and writes them all, so two
//! overlapping holds can never both commit: the loser conflicts, is retried, and then sees
//! the winner's seats as taken.

use onsale_model::{ApiError, Change, ErrorCode, Hold, HoldRequest, ReleaseReason, SeatStatus};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Bookings;
use crate::changelog::{self, Topic};
use crate::clock::{Millis, to_datetime};
use crate::error::{Error, Result};
use crate::events::{read_event, seat_status};
use crate::store::records::{HoldRecord, IdempotencyRecord, PricedSeatMap, SeatRecord};
use crate::store::tables::{HOLD_EXPIRY, HOLDS, IDEMPOTENCY, IDEMPOTENCY_EXPIRY, SEATS};
use onsale_store::{StoreExt, Tx};

/// Choices a best-available hold makes before it answers that the seats are gone.
const BEST_AVAILABLE_TRIES: u32 = 5;

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// A hold placed now or found again by its idempotency key.
#[derive(Debug, Clone)]
pub struct PlacedHold {
    /// The hold.
    pub hold: Hold,
    /// True when the key was seen before and this is the original answer.
    pub replayed: bool,
}

impl Bookings {
    /// Holds every requested seat for `user_id` until now + the hold lifetime, or none;
    /// for a best-available request, the best seats free now (chosen again, up to
    /// [`BEST_AVAILABLE_TRIES`] times, when someone takes one of them first).
    pub async fn place_hold(
        &self,
        user_id: Uuid,
        event_id: u64,
        request: HoldRequest,
        idempotency_key: &str,
    ) -> Result<PlacedHold> {
        request.validate()?;
        validate_idempotency_key(idempotency_key)?;
        let fingerprint = hold_fingerprint(event_id, &request);
        let Some(best) = &request.best_available else {
            return self
                .hold_seats(
                    user_id,
                    event_id,
                    &request.seats,
                    &fingerprint,
                    idempotency_key,
                )
                .await;
        };
        // A repeated request answers with its hold even when the section has since run
        // out of seats, so the key is looked up before choosing.
        let user = user_id.to_string();
        let idem_key = (user.as_str(), "hold", idempotency_key);
        let replay = self
            .store
            .transact(|tx| {
                let (idem_key, fingerprint) = (&idem_key, &fingerprint);
                async move { replayed_hold(&*tx, idem_key, fingerprint).await }
            })
            .await?;
        if let Some(hold) = replay {
            return Ok(PlacedHold {
                hold: hold_view(&hold),
                replayed: true,
            });
        }
        let mut tries = 0;
        loop {
            tries += 1;
            let seats = self
                .choose_best_available(event_id, best, tries as usize)
                .await?;
            match self
                .hold_seats(user_id, event_id, &seats, &fingerprint, idempotency_key)
                .await
            {
                Err(Error::Api(e))
                    if e.code == ErrorCode::SeatUnavailable && tries < BEST_AVAILABLE_TRIES =>
                {
                    self.seats_lost(event_id, &e.seats);
                }
                answer => return answer,
            }
        }
    }

    /// Holds `seats` in one transaction, or none of them; the idempotency key's answer
    /// is kept under `fingerprint`, the request's. The seats are checked against the
    /// event's seat map before the transaction; the outcome is counted after it.
    async fn hold_seats(
        &self,
        user_id: Uuid,
        event_id: u64,
        seats: &[String],
        fingerprint: &str,
        idempotency_key: &str,
    ) -> Result<PlacedHold> {
        let seat_map = self.events.compiled_seat_map(event_id).await?;
        let ordinals = seat_ordinals(&seat_map, event_id, seats)?;
        let user_id = user_id.to_string();
        let new = NewHold {
            hold_id: Uuid::new_v4().to_string(),
            event_id,
            user_id: &user_id,
            seats,
            ordinals: &ordinals,
            seat_map: &seat_map,
            fingerprint,
            idem_key: (user_id.as_str(), "hold", idempotency_key),
            ttl: self.settings.hold_ttl.as_millis() as Millis,
        };
        let outcome = self
            .store
            .transact(|tx| {
                let new = &new;
                async move { new.place(&*tx, self.clock.now()).await }
            })
            .await;
        count_hold(&outcome);
        let (record, replayed) = outcome?;
        if !replayed {
            self.changelog.committed(Topic::Seats);
        }
        Ok(PlacedHold {
            hold: hold_view(&record),
            replayed,
        })
    }

    /// A live hold of `user_id`; someone else's hold is not found.
    pub async fn hold(&self, user_id: Uuid, hold_id: &str) -> Result<Hold> {
        let record = self
            .store
            .transact(|tx| async move { read_hold(&*tx, hold_id).await })
            .await?;
        match record {
            Some(hold) if hold.user_id == user_id.to_string() => Ok(hold_view(&hold)),
            _ => Err(hold_not_found(hold_id)),
        }
    }

    /// Releases a hold of `user_id`: its seats go back on sale.
    pub async fn release_hold(&self, user_id: Uuid, hold_id: &str) -> Result<()> {
        let user_id = user_id.to_string();
        self.store
            .transact(|tx| {
                let user_id = &user_id;
                async move {
                    match read_hold(&*tx, hold_id).await? {
                        Some(hold) if hold.user_id == *user_id => {
                            if hold.booking_id.is_some() {
                                return Err(Error::code(ErrorCode::CheckoutInProgress));
                            }
                            end_hold(&*tx, &hold, ReleaseReason::Released).await?;
                            Ok(())
                        }
                        _ => Err(hold_not_found(hold_id)),
                    }
                }
            })
            .await?;
        self.changelog.committed(Topic::Seats);
        Ok(())
    }
}

/// A hold about to be placed: everything checked before the transaction.
struct NewHold<'a> {
    hold_id: String,
    event_id: u64,
    user_id: &'a str,
    seats: &'a [String],
    ordinals: &'a [u32],
    seat_map: &'a PricedSeatMap,
    fingerprint: &'a str,
    idem_key: IdempotencyKey<'a>,
    ttl: Millis,
}

impl NewHold<'_> {
    /// The hold step, in `tx` at `now`: the answer kept under the idempotency key if
    /// there is one; otherwise every seat must be free and the account under the event's
    /// limit, and then the seats, the hold and the key's answer are written. Returns the
    /// hold and whether it was a replay.
    async fn place(&self, tx: &dyn Tx, now: Millis) -> Result<(HoldRecord, bool)> {
        if let Some(hold) = replayed_hold(tx, &self.idem_key, self.fingerprint).await? {
            return Ok((hold, true));
        }
        let taken = self.taken(tx, now).await?;
        if !taken.is_empty() {
            return Err(Error::Api(ApiError::seats_unavailable(taken)));
        }
        let hold = self.record(now);
        let event = read_event(tx, self.event_id).await?;
        if !event.published {
            return Err(crate::events::event_not_found(self.event_id));
        }
        super::limits::admit(tx, &hold, event.max_seats_per_account, now).await?;
        self.write(tx, &hold)?;
        Ok((hold, false))
    }

    /// The requested seats someone else has now.
    async fn taken(&self, tx: &dyn Tx, now: Millis) -> Result<Vec<String>> {
        let mut taken = Vec::new();
        for (seat_id, &ordinal) in self.seats.iter().zip(self.ordinals) {
            if let Some(record) = SEATS.get(tx, &(self.event_id, ordinal)).await?
                && seat_status(&record, now) != SeatStatus::Available
            {
                taken.push(seat_id.clone());
            }
        }
        Ok(taken)
    }

    fn record(&self, now: Millis) -> HoldRecord {
        HoldRecord {
            hold_id: self.hold_id.clone(),
            event_id: self.event_id,
            user_id: self.user_id.to_string(),
            seats: self.seats.to_vec(),
            ordinals: self.ordinals.to_vec(),
            created_at: now,
            expires_at: now + self.ttl,
            total: self
                .ordinals
                .iter()
                .filter_map(|&o| self.seat_map.map.seat(o))
                .map(|seat| seat.price)
                .sum(),
            currency: self.seat_map.currency.clone(),
            booking_id: None,
        }
    }

    /// Writes the held seats, the hold, its expiry and the key's answer, and logs them.
    fn write(&self, tx: &dyn Tx, hold: &HoldRecord) -> Result<()> {
        let seat_record = SeatRecord::Held {
            hold_id: hold.hold_id.clone(),
            user_id: hold.user_id.clone(),
            expires_at: hold.expires_at,
        };
        for (seat_id, &ordinal) in self.seats.iter().zip(self.ordinals) {
            SEATS.set(tx, &(self.event_id, ordinal), &seat_record)?;
            changelog::append(
                tx,
                &Change::Seat {
                    event_id: self.event_id,
                    seat_id: seat_id.clone(),
                    state: SeatStatus::Held,
                },
            )?;
        }
        HOLDS.set(tx, &hold.hold_id, hold)?;
        HOLD_EXPIRY.set(tx, &(hold.expires_at, &hold.hold_id), &())?;
        let record_key = IDEMPOTENCY.key(&self.idem_key);
        IDEMPOTENCY_EXPIRY.set(tx, &(hold.created_at, &record_key), &record_key)?;
        IDEMPOTENCY.set(
            tx,
            &self.idem_key,
            &IdempotencyRecord {
                fingerprint: self.fingerprint.to_string(),
                resource_id: hold.hold_id.clone(),
                created_at: hold.created_at,
            },
        )?;
        changelog::append(
            tx,
            &Change::HoldPlaced {
                hold_id: hold.hold_id.clone(),
                event_id: self.event_id,
                seats: self.seats.to_vec(),
            },
        )?;
        Ok(())
    }
}

/// The idempotency key of a request: (user, kind, the client's key).
type IdempotencyKey<'a> = (&'a str, &'static str, &'a str);

/// The ordinals of `seats` in the event's seat map, or which seats it does not have.
fn seat_ordinals(seat_map: &PricedSeatMap, event_id: u64, seats: &[String]) -> Result<Vec<u32>> {
    let mut ordinals = Vec::with_capacity(seats.len());
    let mut unknown = Vec::new();
    for seat_id in seats {
        match seat_map.map.ordinal(seat_id) {
            Some(ordinal) => ordinals.push(ordinal),
            None => unknown.push(seat_id.as_str()),
        }
    }
    if unknown.is_empty() {
        Ok(ordinals)
    } else {
        Err(Error::Api(ApiError::invalid(format!(
            "event {event_id} has no seat(s) {}",
            unknown.join(", ")
        ))))
    }
}

/// Counts a hold's outcome, once per request (not per attempt).
fn count_hold(outcome: &Result<(HoldRecord, bool)>) {
    let outcome = match outcome {
        Ok((_, false)) => "placed",
        Ok((_, true)) => "replayed",
        Err(Error::Api(e)) if e.code == ErrorCode::SeatUnavailable => "seat_unavailable",
        Err(Error::Api(e)) if e.code == ErrorCode::TicketLimitReached => "ticket_limit_reached",
        Err(_) => "error",
    };
    metrics::counter!("onsale_holds_total", "outcome" => outcome).increment(1);
}

/// Deletes a hold and frees the seats still held by it (they count back towards its
/// account's limit); returns how many were freed.
pub(super) async fn end_hold(
    tx: &dyn Tx,
    hold: &HoldRecord,
    reason: ReleaseReason,
) -> Result<usize> {
    let mut freed = 0;
    for (seat_id, &ordinal) in hold.seats.iter().zip(&hold.ordinals) {
        let seat = (hold.event_id, ordinal);
        let Some(record) = SEATS.get(tx, &seat).await? else {
            continue;
        };
        if matches!(&record, SeatRecord::Held { hold_id, .. } if *hold_id == hold.hold_id) {
            SEATS.clear(tx, &seat);
            freed += 1;
            changelog::append(
                tx,
                &Change::Seat {
                    event_id: hold.event_id,
                    seat_id: seat_id.clone(),
                    state: SeatStatus::Available,
                },
            )?;
        }
    }
    HOLDS.clear(tx, &hold.hold_id);
    HOLD_EXPIRY.clear(tx, &(hold.expires_at, &hold.hold_id));
    super::limits::release(tx, hold).await?;
    changelog::append(
        tx,
        &Change::HoldReleased {
            hold_id: hold.hold_id.clone(),
            event_id: hold.event_id,
            reason,
        },
    )?;
    Ok(freed)
}

pub(super) async fn read_hold(tx: &dyn Tx, hold_id: &str) -> Result<Option<HoldRecord>> {
    Ok(HOLDS.get(tx, hold_id).await?)
}

pub(super) fn hold_view(record: &HoldRecord) -> Hold {
    Hold {
        hold_id: record.hold_id.clone(),
        event_id: record.event_id,
        seats: record.seats.clone(),
        expires_at: to_datetime(record.expires_at),
        total: record.total,
        currency: record.currency.clone(),
        booking_id: record.booking_id.clone(),
    }
}

pub(super) fn hold_not_found(hold_id: &str) -> Error {
    Error::Api(ApiError::new(
        ErrorCode::NotFound,
        format!("no live hold {hold_id} of yours"),
    ))
}

pub(super) fn validate_idempotency_key(key: &str) -> Result<()> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::Api(ApiError::invalid(format!(
            "Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        ))));
    }
    Ok(())
}

/// The hold an idempotency key already answered with, if the key was used for this
/// request (`fingerprint`); a key used for another request is an error.
async fn replayed_hold(
    tx: &dyn Tx,
    idem_key: &(&str, &str, &str),
    fingerprint: &str,
) -> Result<Option<HoldRecord>> {
    let Some(record) = IDEMPOTENCY.get(tx, idem_key).await? else {
        return Ok(None);
    };
    if record.fingerprint != fingerprint {
        return Err(Error::code(ErrorCode::IdempotencyKeyReused));
    }
    let hold = HOLDS
        .get(tx, &record.resource_id)
        .await?
        .ok_or_else(|| Error::code(ErrorCode::HoldExpired))?;
    Ok(Some(hold))
}

fn hold_fingerprint(event_id: u64, request: &HoldRequest) -> String {
    let mut sorted: Vec<&str> = request.seats.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut digest = Sha256::new();
    digest.update(event_id.to_be_bytes());
    for seat in sorted {
        digest.update(seat.as_bytes());
        digest.update([0]);
    }
    if let Some(best) = &request.best_available {
        digest.update(b"\xffbest available\x00");
        digest.update(best.section.trim().as_bytes());
        digest.update(best.count.to_be_bytes());
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
