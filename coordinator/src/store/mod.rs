//! The storage contract of the coordinator, in FoundationDB's model.
//!
//! A [`Store`] is an ordered key-value store with serializable transactions. All booking
//! logic is written once against [`Txn`] and runs inside [`Store::transact`], a retry loop
//! that owns begin, commit and retry: the closure only reads and writes through the
//! transaction, may run several times, and so must not have side effects of its own.
//! Effects that must follow a commit (pushes, emails, payments) are appended to the change
//! log in the same transaction ([`Tx::append_log`]) and acted upon by its consumers.
//!
//! Backends:
//! - [`fjall::FjallStore`]: embedded, optimistic serializable transactions, group-committed
//!   fsync. The default.
//! - [`postgres::PgStore`]: PostgreSQL at SERIALIZABLE isolation; serialization failures
//!   are conflicts and are retried.
//! - `fdb::FdbStore` (cargo feature `fdb`): FoundationDB, the multi-node production store.
//!
//! Any of them may be wrapped in [`sealed::SealedStore`], which encrypts values at rest.
//!
//! Keys are built only by [`keys`]; they are order-preserving tuples under one prefix per
//! record kind, so range scans follow the order of the values.

pub mod fjall;
pub mod keys;
pub mod postgres;
pub mod retry;
pub mod sealed;

#[cfg(feature = "fdb")]
pub mod fdb;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

pub use retry::{Attempt, RetryPolicy, TxError};

/// A key-value pair as read from the store.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// Failures of the store itself, kept apart from the caller's errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The transaction conflicted with another one and may be retried.
    #[error("transaction conflict")]
    Conflict,
    /// The commit's outcome is unknown (the connection broke during commit); retrying is
    /// safe only for idempotent transactions, which every transaction here is.
    #[error("commit outcome unknown")]
    MaybeCommitted,
    /// The retry loop gave up: too many attempts or past its deadline.
    #[error("store busy: gave up after {attempts} attempts")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
    },
    /// The transaction was used after it ended.
    #[error("transaction already finished")]
    Finished,
    /// The connection to the store broke (or none could be made) before the transaction
    /// committed, so nothing of it was written: the retry loop runs it again on a fresh
    /// connection.
    #[error("{backend} store connection lost: {source}")]
    Disconnected {
        /// Which backend failed.
        backend: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A backend failure that a retry will not fix.
    #[error("{backend} store error: {source}")]
    Backend {
        /// Which backend failed.
        backend: &'static str,
        /// The backend's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Wraps a backend error, keeping it as the source.
    pub fn backend(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Backend {
            backend,
            source: source.into(),
        }
    }

    /// Whether running the transaction again may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict | StoreError::MaybeCommitted | StoreError::Disconnected { .. }
        )
    }
}

/// Result alias for store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
        let end = keys::prefix_end(&prefix);
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
/// [`Store::transact`] through a cheap [`Txn`] handle; backends keep their state behind a
/// lock that is never held across an `.await` of the caller.
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
    /// Appends an entry to the change log. The backend assigns it a [`keys::LogPosition`]
    /// at commit, ordered after every entry of every transaction that committed before.
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
    /// store's [`RetryPolicy`] gives up. `f` may run several times: it must only read and
    /// write through the transaction it is given.
    fn transact<T, E, F, Fut>(&self, f: F) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: TxError + Send,
        F: FnMut(Txn, Attempt) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send;
}

impl<S: Store + ?Sized> StoreExt for S {
    fn transact<T, E, F, Fut>(&self, f: F) -> impl Future<Output = Result<T, E>> + Send
    where
        T: Send,
        E: TxError + Send,
        F: FnMut(Txn, Attempt) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
    {
        retry::run(self, f)
    }
}

/// Reads the little-endian counter written by [`Tx::add`].
pub fn decode_counter(value: Option<&[u8]>) -> i64 {
    match value {
        Some(bytes) if bytes.len() >= 8 => {
            let mut le = [0u8; 8];
            le.copy_from_slice(&bytes[..8]);
            i64::from_le_bytes(le)
        }
        _ => 0,
    }
}

/// Opens a store from its address: `fjall:PATH`, `postgres://...` or, with the `fdb`
/// feature, `fdb:CLUSTER_FILE` (or `fdb:` for the default cluster file).
pub async fn open(address: &str, policy: RetryPolicy) -> Result<Arc<dyn Store>> {
    if let Some(path) = address.strip_prefix("fjall:") {
        return Ok(Arc::new(fjall::FjallStore::open(path, policy)?));
    }
    if address.starts_with("postgres://") || address.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::connect(address, policy).await?));
    }
    #[cfg(feature = "fdb")]
    if let Some(cluster_file) = address.strip_prefix("fdb:") {
        return Ok(Arc::new(fdb::FdbStore::open(cluster_file, policy)?));
    }
    Err(StoreError::backend(
        "config",
        format!(
            "unknown store address {address:?}: use fjall:PATH, postgres://... or (feature fdb) fdb:CLUSTER_FILE"
        ),
    ))
}
