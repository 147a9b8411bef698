//! Failed log-ins per username, kept in the store so that every coordinator sees them:
//! after a few failures each attempt must wait twice as long as the one before, and
//! `max_failures` lock the username for `lock`. Known and unknown usernames are counted
//! alike (the record is found by the keyed hash of the username, never the username), so
//! the answers never tell whether an account exists.
//!
//! An attempt is counted as a failure before its password is checked and forgotten when
//! the password was right, so that guesses sent in parallel are each counted and each
//! wait their turn.

use std::time::Duration;

use onsale_model::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::tables::{LOGIN_FAILURES, LOGIN_FAILURES_EXPIRY};
use onsale_store::Tx;

/// When failed log-ins slow down and lock a username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLockSettings {
    /// Failed log-ins in a row that lock the username.
    pub max_failures: u32,
    /// How long a lock lasts; failures are also forgotten this long after the last one.
    pub lock: Duration,
    /// Failures answered without delay; from the next one on, the wait before another
    /// attempt starts at one second and doubles with each failure.
    pub free_failures: u32,
}

impl Default for LoginLockSettings {
    /// Three free failures, then waits of 1, 2, 4, 8, 16 and 32 s, and a 15-minute lock
    /// at the tenth.
    fn default() -> Self {
        LoginLockSettings {
            max_failures: 10,
            lock: Duration::from_secs(15 * 60),
            free_failures: 3,
        }
    }
}

/// The stored failures of one username.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailedLogins {
    failures: u32,
    last_at: Millis,
    /// Zero when not locked.
    locked_until: Millis,
    /// When the record stops mattering (and the sweeper deletes it).
    forget_at: Millis,
}

impl FailedLogins {
    /// How long the next attempt must wait, if at all.
    fn wait(&self, now: Millis, settings: &LoginLockSettings) -> Option<Millis> {
        if self.locked_until > now {
            return Some(self.locked_until - now);
        }
        let over = self.failures.checked_sub(settings.free_failures)?;
        if over == 0 {
            return None;
        }
        let delay = 1000i64 << (over - 1).min(20);
        let next = self.last_at + delay;
        (next > now).then_some(next - now)
    }

    /// The record after one more failure at `now`.
    fn failed(self, now: Millis, settings: &LoginLockSettings) -> Self {
        let failures = self.failures + 1;
        let lock = settings.lock.as_millis() as Millis;
        let locked_until = if failures >= settings.max_failures {
            now + lock
        } else {
            0
        };
        FailedLogins {
            failures,
            last_at: now,
            locked_until,
            forget_at: (now + lock).max(locked_until),
        }
    }
}

/// Counts a log-in attempt on the username whose keyed hash is `digest` as a failure,
/// or refuses it with `429 login_locked` when the username must wait first.
pub(crate) async fn begin_attempt(
    tx: &dyn Tx,
    digest: &[u8],
    now: Millis,
    settings: &LoginLockSettings,
) -> Result<()> {
    let key = LOGIN_FAILURES.key(digest);
    let stored = LOGIN_FAILURES.get(tx, digest).await?;
    let current = stored
        .filter(|record| record.forget_at > now)
        .unwrap_or_default();
    if let Some(wait) = current.wait(now, settings) {
        metrics::counter!("onsale_login_refused_total", "reason" => if current.locked_until > now { "locked" } else { "delay" })
            .increment(1);
        return Err(Error::Api(locked(wait)));
    }
    let next = current.failed(now, settings);
    if next.locked_until > 0 {
        metrics::counter!("onsale_login_locks_total").increment(1);
        tracing::info!("a username was locked after repeated failed log-ins");
    }
    if let Some(old) = stored {
        LOGIN_FAILURES_EXPIRY.clear(tx, &(old.forget_at, &key));
    }
    LOGIN_FAILURES.set(tx, digest, &next)?;
    LOGIN_FAILURES_EXPIRY.set(tx, &(next.forget_at, &key), &key)?;
    Ok(())
}

/// Forgets the failures of the username whose keyed hash is `digest` (its password was
/// right).
pub(crate) async fn clear(tx: &dyn Tx, digest: &[u8]) -> Result<()> {
    if let Some(record) = LOGIN_FAILURES.get(tx, digest).await? {
        let key = LOGIN_FAILURES.key(digest);
        LOGIN_FAILURES_EXPIRY.clear(tx, &(record.forget_at, &key));
        LOGIN_FAILURES.clear(tx, digest);
    }
    Ok(())
}

/// Deletes records that stopped mattering before `now` (at most `limit`); returns how
/// many.
pub(crate) async fn sweep(tx: &dyn Tx, now: Millis, limit: usize) -> Result<usize> {
    let due = LOGIN_FAILURES_EXPIRY
        .range(tx, LOGIN_FAILURES_EXPIRY.before(&now).limit(limit))
        .await?;
    for (index, record_key) in &due {
        tx.clear(record_key);
        LOGIN_FAILURES_EXPIRY.clear(tx, index);
    }
    Ok(due.len())
}

/// `429 login_locked`, asking to wait `wait` milliseconds.
fn locked(wait: Millis) -> ApiError {
    let seconds = u64::try_from((wait + 999) / 1000).unwrap_or(1).max(1);
    let when = if seconds >= 120 {
        format!("{} minutes", seconds.div_ceil(60))
    } else {
        format!("{seconds} s")
    };
    ApiError::new(
        ErrorCode::LoginLocked,
        format!("too many failed log-ins for this username; try again in {when}"),
    )
    .with_retry_after(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_then_lock_then_everything_is_forgotten() {
        let settings = LoginLockSettings::default();
        let mut record = FailedLogins::default();
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..settings.max_failures {
            if let Some(wait) = record.wait(now, &settings) {
                waits.push(wait);
                now += wait;
            }
            record = record.failed(now, &settings);
        }
        assert_eq!(waits, [1000, 2000, 4000, 8000, 16000, 32000]);
        let lock = settings.lock.as_millis() as Millis;
        assert_eq!(record.wait(now, &settings), Some(lock));
        assert_eq!(record.wait(now + lock - 1, &settings), Some(1));
        assert_eq!(record.forget_at, now + lock);
    }

    #[test]
    fn lock_message_names_the_wait() {
        let error = locked(15 * 60 * 1000);
        assert_eq!(error.retry_after, Some(900));
        assert!(error.message.contains("15 minutes"), "{}", error.message);
        assert_eq!(locked(1).retry_after, Some(1));
    }
}
