//! The coordinator's records in the store ([`onsale_store`]): the key prefix of each kind
//! ([`keys`]), the records themselves ([`records`]) and the typed tables that build and
//! read every key and value ([`tables`]).

pub mod keys;
pub mod records;
pub mod tables;
