//! Integration tests of onsale-indexer, through its public API only: one test binary.

mod common;
mod folder;
mod regions;
mod search;
mod snapshot;
