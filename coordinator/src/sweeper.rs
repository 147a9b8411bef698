//! The sweeper: releases expired holds in the background so that their seats come back
//! to everyone's map even if nobody tries to hold them (holds are also released lazily
//! when someone does), and forgets idempotency keys past their retention and failed
//! log-ins that stopped mattering. Every step is its own transaction, so stopping the
//! sweeper at any point loses nothing.

use std::time::Duration;

use crate::accounts::Accounts;
use crate::booking::Bookings;
use crate::worker::{Worker, pause};

/// Holds ended per pass at most; a full batch is followed at once by another pass.
const BATCH: usize = 256;

/// Starts sweeping every `interval`. Several coordinators on one store may all sweep:
/// transactions make each hold end once.
pub fn spawn(bookings: Bookings, accounts: Accounts, interval: Duration) -> Worker {
    Worker::spawn("sweeper", move |stop| async move {
        while !stop.is_cancelled() {
            let holds = bookings.sweep_expired_holds(BATCH).await;
            if let Err(err) = &holds {
                tracing::warn!(error = %err, "sweeping expired holds failed");
            }
            let keys = bookings.sweep_idempotency_keys(BATCH).await;
            if let Err(err) = &keys {
                tracing::warn!(error = %err, "forgetting old idempotency keys failed");
            }
            let logins = accounts.sweep_login_failures(BATCH).await;
            if let Err(err) = &logins {
                tracing::warn!(error = %err, "forgetting old failed log-ins failed");
            }
            let more = matches!(holds, Ok(report) if report.holds == BATCH)
                || matches!(keys, Ok(n) if n == BATCH)
                || matches!(logins, Ok(n) if n == BATCH);
            if !more && !pause(&stop, interval).await {
                return;
            }
        }
    })
}
