//! Holds: all-or-nothing seat holds, their release, and the sweeper's expiry.
//!
//! One serializable transaction reads every requested seat and writes them all, so two
//! overlapping holds can never both commit: the loser conflicts, is retried, and then sees
//! the winner's seats as taken.

use onsale_model::{ApiError, Change, ErrorCode, Hold, HoldRequest, ReleaseReason, SeatStatus};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Coordinator;
use super::events::{read_event, seat_status};
use super::records::{HoldRecord, IdempotencyRecord, SeatRecord};
use crate::changelog::{self, Topic};
use crate::clock::{Millis, to_datetime};
use crate::error::{Error, Result};
use crate::store::tables::{HOLD_EXPIRY, HOLDS, IDEMPOTENCY, IDEMPOTENCY_EXPIRY, SEATS};
use onsale_store::{StoreExt, Tx};

/// Choices a best-available hold makes before it answers that the seats are gone.
const BEST_AVAILABLE_TRIES: u32 = 5;

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired holds ended.
    pub holds: usize,
    /// Seats that went back on sale.
    pub seats: usize,
}

/// A hold placed now or found again by its idempotency key.
#[derive(Debug, Clone)]
pub struct PlacedHold {
    /// The hold.
    pub hold: Hold,
    /// True when the key was seen before and this is the original answer.
    pub replayed: bool,
}

impl Coordinator {
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
                    if e.code == ErrorCode::SeatUnavailable && tries < BEST_AVAILABLE_TRIES => {}
                answer => return answer,
            }
        }
    }

    /// Holds `seats` (checked by the caller) in one transaction, or none of them; the
    /// idempotency key's answer is kept under `fingerprint`, the request's.
    async fn hold_seats(
        &self,
        user_id: Uuid,
        event_id: u64,
        seats: &[String],
        fingerprint: &str,
        idempotency_key: &str,
    ) -> Result<PlacedHold> {
        let user_id = user_id.to_string();
        let fingerprint = fingerprint.to_string();
        let request = HoldRequest::seats(seats.to_vec());
        let hold_id = Uuid::new_v4().to_string();
        let idem_key = (user_id.as_str(), "hold", idempotency_key);
        let ttl = self.settings.hold_ttl.as_millis() as Millis;

        let outcome = self
            .store
            .transact(|tx| {
                let (user_id, hold_id, fingerprint, idem_key) =
                    (&user_id, &hold_id, &fingerprint, &idem_key);
                let request = &request;
                async move {
                    if let Some(hold) = replayed_hold(&*tx, idem_key, fingerprint).await? {
                        return Ok((hold, true));
                    }
                    let seat_map = self.seat_map(&*tx, event_id).await?;
                    let mut ordinals = Vec::with_capacity(request.seats.len());
                    let mut unknown = Vec::new();
                    for seat_id in &request.seats {
                        match seat_map.map.ordinal(seat_id) {
                            Some(ordinal) => ordinals.push(ordinal),
                            None => unknown.push(seat_id.as_str()),
                        }
                    }
                    if !unknown.is_empty() {
                        return Err(Error::Api(ApiError::invalid(format!(
                            "event {event_id} has no seat(s) {}",
                            unknown.join(", ")
                        ))));
                    }
                    let now = self.clock.now();
                    let mut taken = Vec::new();
                    for (seat_id, &ordinal) in request.seats.iter().zip(&ordinals) {
                        if let Some(record) = SEATS.get(&tx, &(event_id, ordinal)).await?
                            && seat_status(&record, now) != SeatStatus::Available
                        {
                            taken.push(seat_id.clone());
                        }
                    }
                    if !taken.is_empty() {
                        return Err(Error::Api(ApiError::seats_unavailable(taken)));
                    }
                    let expires_at = now + ttl;
                    let total = ordinals
                        .iter()
                        .filter_map(|&o| seat_map.map.seat(o))
                        .map(|seat| seat.price)
                        .sum();
                    let hold = HoldRecord {
                        hold_id: hold_id.clone(),
                        event_id,
                        user_id: user_id.clone(),
                        seats: request.seats.clone(),
                        ordinals: ordinals.clone(),
                        created_at: now,
                        expires_at,
                        total,
                        currency: seat_map.currency.clone(),
                        booking_id: None,
                    };
                    let limit = read_event(&*tx, event_id).await?.max_seats_per_account;
                    super::limits::admit(&*tx, &hold, limit, now).await?;
                    let seat_record = SeatRecord::Held {
                        hold_id: hold_id.clone(),
                        user_id: user_id.clone(),
                        expires_at,
                    };
                    for (seat_id, &ordinal) in request.seats.iter().zip(&ordinals) {
                        SEATS.set(&tx, &(event_id, ordinal), &seat_record)?;
                        changelog::append(
                            &*tx,
                            &Change::Seat {
                                event_id,
                                seat_id: seat_id.clone(),
                                state: SeatStatus::Held,
                            },
                        )?;
                    }
                    HOLDS.set(&tx, hold_id, &hold)?;
                    HOLD_EXPIRY.set(&tx, &(expires_at, hold_id), &())?;
                    let record_key = IDEMPOTENCY.key(idem_key);
                    IDEMPOTENCY_EXPIRY.set(&tx, &(now, &record_key), &record_key)?;
                    IDEMPOTENCY.set(
                        &tx,
                        idem_key,
                        &IdempotencyRecord {
                            fingerprint: fingerprint.clone(),
                            resource_id: hold_id.clone(),
                            created_at: now,
                        },
                    )?;
                    changelog::append(
                        &*tx,
                        &Change::HoldPlaced {
                            hold_id: hold_id.clone(),
                            event_id,
                            seats: request.seats.clone(),
                        },
                    )?;
                    Ok::<_, Error>((hold, false))
                }
            })
            .await;
        match &outcome {
            Ok((_, false)) => metrics::counter!("onsale_holds_total", "outcome" => "placed"),
            Ok((_, true)) => metrics::counter!("onsale_holds_total", "outcome" => "replayed"),
            Err(Error::Api(e)) if e.code == ErrorCode::SeatUnavailable => {
                metrics::counter!("onsale_holds_total", "outcome" => "seat_unavailable")
            }
            Err(Error::Api(e)) if e.code == ErrorCode::TicketLimitReached => {
                metrics::counter!("onsale_holds_total", "outcome" => "ticket_limit_reached")
            }
            Err(_) => metrics::counter!("onsale_holds_total", "outcome" => "error"),
        }
        .increment(1);
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

    /// Ends every hold that expired before now (at most `limit` of them), putting the
    /// seats that are still theirs back on sale.
    pub async fn sweep_expired_holds(&self, limit: usize) -> Result<SweepReport> {
        let now = self.clock.now();
        let due = self
            .store
            .transact(|tx| async move {
                HOLD_EXPIRY
                    .range(&tx, HOLD_EXPIRY.before(&(now + 1)).limit(limit))
                    .await
            })
            .await?;
        let mut report = SweepReport::default();
        for (expiry, ()) in due {
            let released = self
                .store
                .transact(|tx| {
                    let expiry = &expiry;
                    async move {
                        if HOLD_EXPIRY.get(&tx, expiry).await?.is_none() {
                            return Ok::<_, Error>(0);
                        }
                        HOLD_EXPIRY.clear(&tx, expiry);
                        let Some(hold) = read_hold(&*tx, &expiry.1).await? else {
                            return Ok(0);
                        };
                        let freed = end_hold(&*tx, &hold, ReleaseReason::Expired).await?;
                        if let Some(booking_id) = &hold.booking_id {
                            super::checkout::cancel_pending(
                                &*tx,
                                booking_id,
                                "payment was not confirmed before the hold expired",
                            )
                            .await?;
                        }
                        Ok(freed)
                    }
                })
                .await?;
            report.holds += 1;
            report.seats += released;
        }
        if report.holds > 0 {
            self.changelog.committed(Topic::Seats);
            self.changelog.committed(Topic::Bookings);
            metrics::counter!("onsale_holds_expired_total").increment(report.holds as u64);
            tracing::debug!(
                holds = report.holds,
                seats = report.seats,
                "expired holds released"
            );
        }
        Ok(report)
    }
}

impl Coordinator {
    /// Forgets idempotency records older than the retention setting (at most `limit`),
    /// so that the store does not grow with every request ever made. A key replayed after
    /// that is treated as new.
    pub async fn sweep_idempotency_keys(&self, limit: usize) -> Result<usize> {
        let before = self.clock.now() - self.settings.idempotency_ttl.as_millis() as Millis;
        self.store
            .transact(|tx| async move {
                let due = IDEMPOTENCY_EXPIRY
                    .range(&tx, IDEMPOTENCY_EXPIRY.before(&before).limit(limit))
                    .await?;
                for (index, record_key) in &due {
                    tx.clear(record_key);
                    IDEMPOTENCY_EXPIRY.clear(&tx, index);
                }
                Ok::<_, Error>(due.len())
            })
            .await
    }
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

fn hold_view(record: &HoldRecord) -> Hold {
    Hold {
        hold_id: record.hold_id.clone(),
        event_id: record.event_id,
        seats: record.seats.clone(),
        expires_at: to_datetime(record.expires_at),
        total: record.total,
        currency: record.currency.clone(),
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
