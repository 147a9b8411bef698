//! The change log, its entries typed as [`Change`]s.

use onsale_model::Change;
use onsale_store::ChangeLog;

/// Every committed change, in commit order; appended in the transaction that makes it.
pub(crate) const CHANGES: ChangeLog<Change> = ChangeLog::new();
