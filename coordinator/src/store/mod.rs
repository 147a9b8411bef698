//! The coordinator's records in the store ([`onsale_store`]): every key it writes.

pub mod keys;
