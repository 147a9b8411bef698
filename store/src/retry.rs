//! The retry loop: one attempt, then a policy that alone decides whether to retry.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use crate::{Store, StoreError, Txn};

/// How the retry loop backs off and when it gives up.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts before giving up with [`StoreError::RetriesExhausted`].
    pub max_attempts: u32,
    /// Wall-clock budget for all attempts together.
    pub deadline: Duration,
    /// Backoff before the second attempt; doubles up to `max_backoff`, with jitter.
    pub base_backoff: Duration,
    /// Longest single backoff.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 200,
            deadline: Duration::from_secs(10),
            base_backoff: Duration::from_micros(200),
            max_backoff: Duration::from_millis(50),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        let jitter = rand::rng().random_range(0.5..1.0);
        exp.mul_f64(jitter)
    }
}

/// An error a transaction closure may return: it can carry a [`StoreError`], which the
/// retry loop inspects to decide whether to run the closure again.
pub trait TxError: From<StoreError> {
    /// The store error inside, if this error is one.
    fn store_error(&self) -> Option<&StoreError>;
}

impl TxError for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

/// Runs `f` in fresh transactions until one commits or `store`'s policy gives up.
pub(crate) async fn run<S, T, E, F, Fut>(store: &S, mut f: F) -> Result<T, E>
where
    S: Store + ?Sized,
    E: TxError,
    F: FnMut(Txn) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let policy = store.retry_policy().clone();
    let started = Instant::now();
    let mut attempt: u32 = 0;
    loop {
        let tx = store.begin().await?;
        let outcome = match f(tx.clone()).await {
            Ok(value) => tx.commit().await.map(|()| value).map_err(E::from),
            Err(err) => {
                tx.rollback().await;
                Err(err)
            }
        };
        let err = match outcome {
            Ok(value) => {
                if attempt > 0 {
                    metrics::histogram!("onsale_tx_attempts", "backend" => store.backend())
                        .record(f64::from(attempt + 1));
                }
                return Ok(value);
            }
            Err(err) => err,
        };
        if !err.store_error().is_some_and(StoreError::is_retryable) {
            return Err(err);
        }
        metrics::counter!("onsale_tx_conflicts_total", "backend" => store.backend()).increment(1);
        attempt += 1;
        if attempt >= policy.max_attempts || started.elapsed() >= policy.deadline {
            tracing::warn!(
                backend = store.backend(),
                attempts = attempt,
                "transaction gave up"
            );
            return Err(StoreError::RetriesExhausted { attempts: attempt }.into());
        }
        tokio::time::sleep(policy.backoff(attempt)).await;
    }
}
