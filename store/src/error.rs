//! The store's one error type, kept apart from the caller's errors.

/// Failures of the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The transaction conflicted with another one and may be retried.
    #[error("transaction conflict")]
    Conflict,
    /// The commit's outcome is unknown (the connection broke during commit); retrying is
    /// safe only for idempotent transactions.
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
    /// A stored key or value that its table cannot decode, or a value it cannot encode.
    #[error("corrupt record in {table}: {source}")]
    Corrupt {
        /// The table (its prefix, in hex) the record belongs to.
        table: String,
        /// Why it does not decode.
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

    /// A record of the table under `prefix` that does not decode (or encode).
    pub fn corrupt(
        prefix: &[u8],
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        let table = prefix.iter().map(|b| format!("{b:02x}")).collect();
        StoreError::Corrupt {
            table,
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
