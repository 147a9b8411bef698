//! onsale's store: ordered key-value transactions in FoundationDB's model, and typed
//! tables over them.
//!
//! A [`Store`] is an ordered key-value store with serializable transactions. Logic is
//! written once against [`Tx`] and runs inside [`StoreExt::transact`], a retry loop that
//! owns begin, commit and retry: the closure only reads and writes through the
//! transaction, may run several times, and so must not have side effects of its own.
//! Effects that must follow a commit are appended to the change log in the same
//! transaction ([`Tx::append_log`]) and acted upon by its consumers.
//!
//! Layout:
//! - [`tx`]: the [`Store`] and [`Tx`] traits, [`RangeRead`], the retry loop's entry point.
//! - [`retry`]: the retry loop and its [`RetryPolicy`].
//! - [`tuple`]: the order-preserving key encoding (FoundationDB's tuple layer, reduced).
//! - [`table`]: typed tables ([`Table`], [`Entry`]) under a key prefix; [`codec`]: how
//!   their values are written (JSON, empty, raw, text or counters).
//! - [`log`]: the change log's keys, [`LogPosition`] and the typed [`ChangeLog`].
//! - Backends: [`fjall::FjallStore`] (embedded, the default), [`postgres::PgStore`]
//!   (SERIALIZABLE transactions), `fdb::FdbStore` (cargo feature `fdb`), and
//!   [`sealed::SealedStore`], which wraps any of them and encrypts values at rest.
//!
//! Decisions: this crate knows no record kinds except the change log's, so it depends on
//! nothing of onsale; the same conformance suite (`tests/conformance.rs`) runs against
//! every backend.

#![deny(missing_docs)]

pub mod codec;
pub mod error;
pub mod fjall;
pub mod log;
pub mod postgres;
pub mod retry;
pub mod sealed;
pub mod table;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tuple;
pub mod tx;

#[cfg(feature = "fdb")]
pub mod fdb;

use std::sync::Arc;

pub use codec::{Codec, CodecError, Counter, Empty, Json, Raw, Text, decode_counter};
pub use error::{Result, StoreError};
pub use log::{ChangeLog, LogPosition};
pub use retry::{RetryPolicy, TxError};
pub use table::{Entry, Table};
pub use tx::{KeyValue, RangeRead, Store, StoreExt, Tx, Txn};

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
