//! The contract every backend implements: a [`Store`] that begins serializable
//! transactions, and the [`Tx`] they read and write through.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::retry::{self, RetryPolicy, TxError};
use crate::{Result, tuple};

/// A key-value pair as read from the store.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// One range read: keys in `[begin, end)`, at most `limit` of them (0 = no limit),
/// in ascending order or, when `reverse`, descending.
#[derive(Debug, Clone)]
pub struct RangeRead {
    /// First key included.
    pub begin: Vec<u8>,
    /// First key excluded.
    pub end: Vec<u8>,
    /// Maximum number of pairs returned; 0 means all.
    pub limit: usize,
    /// Read from the end of the range backwards.
    pub reverse: bool,
}

impl RangeRead {
    /// Every key in `[begin, end)`, ascending.
    pub fn new(begin: Vec<u8>, end: Vec<u8>) -> Self {
        RangeRead {
            begin,
            end,
            limit: 0,
            reverse: false,
        }
    }

    /// Every key that starts with `prefix`, ascending.
    pub fn prefix(prefix: Vec<u8>) -> Self {
        let end = tuple::prefix_end(&prefix);
        RangeRead::new(prefix, end)
    }

    /// At most `limit` pairs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Read backwards from the end of the range.
    pub fn reverse(mut self) -> Self {
        self.reverse = true;
        self
    }
}

/// One serializable transaction. Reads see the transaction's own writes.
///
/// Methods take `&self` so that a transaction can be shared by the closure of
/// [`StoreExt::transact`] through a cheap [`Txn`] handle; backends keep their state behind
/// a lock that is never held across an `.await` of the caller.
#[async_trait]
pub trait Tx: Send + Sync {
    /// Reads one key.
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Reads a range of keys (see [`RangeRead`]).
    async fn get_range(&self, range: RangeRead) -> Result<Vec<KeyValue>>;
    /// Writes one key.
    fn set(&self, key: &[u8], value: &[u8]);
    /// Removes one key.
    fn clear(&self, key: &[u8]);
    /// Removes every key in `[begin, end)`.
    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> Result<()>;
    /// Adds `delta` to the little-endian signed 64-bit integer at `key` (absent is 0).
    async fn add(&self, key: &[u8], delta: i64) -> Result<()>;
    /// Appends an entry to the change log. The backend assigns it a
    /// [`LogPosition`](crate::LogPosition) at commit, ordered after every entry of every
    /// transaction that committed before.
    fn append_log(&self, entry: &[u8]);
    /// Commits, durably. Called by the retry loop only.
    async fn commit(&self) -> Result<()>;
    /// Abandons the transaction. Called by the retry loop only.
    async fn rollback(&self);
}

/// A cheap, clonable handle on the running transaction, given to transaction closures.
pub type Txn = Arc<dyn Tx>;

/// An ordered key-value store with serializable transactions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a transaction.
    async fn begin(&self) -> Result<Txn>;
    /// The backend's name, for logs and metrics.
    fn backend(&self) -> &'static str;
    /// The retry policy used by [`StoreExt::transact`].
    fn retry_policy(&self) -> &RetryPolicy;
}

/// The retry loop over any [`Store`].
pub trait StoreExt {
    /// Runs `f` in a transaction and commits it, retrying conflicts with backoff until the
    /// store's [`RetryPolicy`] gives up. `f` may run several times (and a retry may follow
    /// a commit whose outcome was unknown): it must only read and write through the
    /// transaction it is given, and be idempotent.
    fn transact<T, E, F, Fut>(&self, f: F) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: TxError + Send,
        F: FnMut(Txn) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send;
}

impl<S: Store + ?Sized> StoreExt for S {
    fn transact<T, E, F, Fut>(&self, f: F) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: TxError + Send,
        F: FnMut(Txn) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        retry::run(self, f)
    }
}

/// A shared transaction is a transaction, so a [`Txn`] handle is passed as `&tx` where a
/// `&dyn Tx` is wanted.
#[async_trait]
impl<T: Tx + ?Sized> Tx for Arc<T> {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        (**self).get(key).await
    }

    async fn get_range(&self, range: RangeRead) -> Result<Vec<KeyValue>> {
        (**self).get_range(range).await
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        (**self).set(key, value);
    }

    fn clear(&self, key: &[u8]) {
        (**self).clear(key);
    }

    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> Result<()> {
        (**self).clear_range(begin, end).await
    }

    async fn add(&self, key: &[u8], delta: i64) -> Result<()> {
        (**self).add(key, delta).await
    }

    fn append_log(&self, entry: &[u8]) {
        (**self).append_log(entry);
    }

    async fn commit(&self) -> Result<()> {
        (**self).commit().await
    }

    async fn rollback(&self) {
        (**self).rollback().await;
    }
}
