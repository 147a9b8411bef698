//! onsale's catalogue snapshots: the event documents plus a tantivy index over them, in
//! one immutable, versioned blob of bytes that the edge fetches once and caches forever.
//!
//! The write side (feature `build`, on by default) turns a list of events into a blob
//! ([`build_snapshot`]) and publishes blobs to a folder ([`SnapshotFolder`]). The read side
//! ([`Snapshot`]) opens a blob and answers lists, look-ups and searches; it does no I/O of
//! its own and builds for wasm32 with `--no-default-features`.
//!
//! Layout:
//! - [`error`]: the crate's [`Error`], split into the caller's fault and corrupt input.
//! - [`layout`]: where snapshots live in a folder or under a URL, and the `latest` pointer.
//! - `format`: the blob container: a head (index files, list-order table, block directory)
//!   and the event documents in checksummed blocks.
//! - `documents`: the event documents as LZ4-compressed blocks of JSON, decoded per page.
//! - `schema`: the index fields and text analysis, shared by both sides.
//! - `directory`: a read-only tantivy directory over the blob's bytes, without copies.
//! - [`snapshot`]: [`Snapshot`], opening and listing.
//! - [`search`]: [`SearchQuery`], its rules and validation, and running it.
//! - `query`: how a search becomes a tantivy query.
//! - `doc_range`: a query for a range of doc ids, which is how start-time ranges match.
//! - `scored_within`: a query matching one query's documents, scored by others sought to
//!   each match alone (how a search of several words costs what it matches).
//! - [`build`] (feature `build`): [`build_snapshot`].
//! - [`folder`] (feature `build`): [`SnapshotFolder`], atomic publishing.
//! - [`regions`] (feature `build`): [`Regions`], the operator's split by city, published
//!   beside the whole catalogue.
//! - [`synthetic`] (feature `build`): a generated catalogue of any size, for tests and
//!   benchmarks.
//! - [`follower`] (feature `service`): follows a coordinator's change log and publishes a
//!   snapshot after every catalogue change.
//! - [`serve`] (feature `service`): serves a published folder over HTTP.
//!
//! Key decisions:
//! - **Documents are kept in list order.** Events are sorted by `(starts_at, id)` when the
//!   snapshot is built and indexed in that order into one segment, so a tantivy doc id *is*
//!   the position in the list. Listing is a slice, a filter-only search returns doc ids in
//!   ascending order, and relevance ties (broken by ascending doc id in tantivy) fall back to
//!   `(starts_at, id)` for free: paging is stable without a sort key. A start-time range is
//!   a range of doc ids, found by binary search. Opening checks the invariant (one segment,
//!   one doc per event, no deletes, events in order).
//! - **One segment, no threads, no files.** The index is written by tantivy's single-segment
//!   writer into RAM and read back through our own directory over the blob, with
//!   `ReloadPolicy::Manual`: nothing on the read path spawns a thread, reads a clock or maps
//!   a file, which wasm32 cannot do.
//! - **The blob is checksummed.** A CRC-32 over the whole blob is checked before anything is
//!   parsed, so a truncated or damaged download is an error, not a panic deep in tantivy;
//!   every length inside is bounds-checked, and each index file's own checksum is checked
//!   too. (tantivy trusts its files: a blob forged *with* valid checksums could still make
//!   it panic. Snapshots come from our own indexer; the checks are against damage.)
//! - **Events are stored as JSON in LZ4 blocks**, not as tantivy stored fields: the encoding
//!   is as tolerant of additions to [`onsale_model::Event`] as the API itself, a block of 8
//!   events decodes in microseconds with a pure-Rust codec that builds for wasm32, and a
//!   snapshot is opened without parsing a single document (the head carries each event's id
//!   and start, which is all that lists, look-ups and date ranges need).
//! - **Ranking** is BM25 with per-field boosts (performers above names above places above
//!   descriptions); a word found nowhere is treated as a typo and matched by Levenshtein
//!   distance on names and performers; filters score nothing, so they narrow without
//!   reordering. See [`search`].

#![deny(missing_docs)]

pub mod error;
pub mod layout;
pub mod search;
pub mod snapshot;

#[cfg(feature = "build")]
pub mod build;
#[cfg(feature = "build")]
pub mod folder;
#[cfg(feature = "service")]
pub mod follower;
#[cfg(feature = "build")]
pub mod regions;
#[cfg(feature = "service")]
pub mod serve;
#[cfg(feature = "build")]
pub mod synthetic;

mod directory;
mod doc_range;
mod documents;
mod every_term;
mod format;
mod near_word;
mod query;
mod schema;
mod scored_within;
mod spelling;

pub use documents::MissingBlock;
pub use error::{Error, Result};
pub use search::{SearchOrder, SearchQuery};
pub use snapshot::Snapshot;

#[cfg(feature = "build")]
pub use build::build_snapshot;
#[cfg(feature = "build")]
pub use folder::SnapshotFolder;
#[cfg(feature = "build")]
pub use regions::{Region, Regions};
