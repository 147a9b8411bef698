//! Expiry, the sweeper's steps: holds whose time ran out end (their seats go back on sale
//! and a booking still waiting for its payment is cancelled), and idempotency records
//! past their retention are forgotten. Every hold ends in a transaction of its own.

use onsale_model::ReleaseReason;

use super::Bookings;
use super::checkout::cancel_pending;
use super::holds::{end_hold, read_hold};
use crate::changelog::Topic;
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::tables::{HOLD_EXPIRY, IDEMPOTENCY_EXPIRY};
use onsale_store::StoreExt;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired holds ended.
    pub holds: usize,
    /// Seats that went back on sale.
    pub seats: usize,
}

impl Bookings {
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
            let (released, timed_out) = self
                .store
                .transact(|tx| {
                    let expiry = &expiry;
                    async move {
                        if HOLD_EXPIRY.get(&tx, expiry).await?.is_none() {
                            return Ok::<_, Error>((0, false));
                        }
                        HOLD_EXPIRY.clear(&tx, expiry);
                        let Some(hold) = read_hold(&*tx, &expiry.1).await? else {
                            return Ok((0, false));
                        };
                        let freed = end_hold(&*tx, &hold, ReleaseReason::Expired).await?;
                        let timed_out = match &hold.booking_id {
                            Some(booking_id) => {
                                cancel_pending(
                                    &*tx,
                                    booking_id,
                                    "payment was not confirmed before the hold expired",
                                    now,
                                )
                                .await?
                            }
                            None => false,
                        };
                        Ok((freed, timed_out))
                    }
                })
                .await?;
            report.holds += 1;
            report.seats += released;
            if timed_out {
                metrics::counter!("onsale_bookings_total", "outcome" => "timed_out").increment(1);
            }
        }
        if report.holds > 0 {
            self.changelog.committed(Topic::Seats);
            self.changelog.committed(Topic::Bookings);
            self.changelog.committed(Topic::Tasks);
            metrics::counter!("onsale_holds_expired_total").increment(report.holds as u64);
            tracing::debug!(
                holds = report.holds,
                seats = report.seats,
                "expired holds released"
            );
        }
        Ok(report)
    }

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
