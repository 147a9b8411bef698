//! The coordinator's records in the store ([`onsale_store`]): every key prefix and key it
//! writes ([`keys`]) and the typed tables over them ([`tables`]).

pub mod keys;
pub mod tables;
