//! The coordinator's records as typed tables (see [`onsale_store::Table`]): a transaction
//! reads `HOLDS.get(tx, hold_id)` and writes `HOLDS.set(tx, hold_id, &hold)`, and never
//! encodes a value itself. The prefixes are those of [`super::keys::prefix`], so every key
//! is byte-for-byte what it was before the tables (each module's tests pin its keys).
//!
//! Layout, one module per area:
//! - `changes`: the change log's entries, typed.
//! - `meta`: store-wide settings and counters ([`onsale_store::Entry`]s under `META`).
//! - `catalogue`: events, their listing order and seat maps.
//! - `holds`: seats, holds, idempotency records and the per-account seat counts.
//! - `accounts`: users, their unique-field index, token generations, failed log-ins.
//! - `checkout`: bookings, the durable task queue and received webhooks.
//! - `notices`: in-app notifications.
//! - `queue`: waiting rooms and their queues.
//! - `operators`: operator accounts, API keys, the audit trail, check-ins.

mod accounts;
mod catalogue;
mod changes;
mod checkout;
mod holds;
mod meta;
mod notices;
mod operators;
mod queue;

#[cfg(test)]
mod key_bytes;

pub(crate) use accounts::*;
pub(crate) use catalogue::*;
pub(crate) use changes::*;
pub(crate) use checkout::*;
pub use holds::*;
pub use meta::*;
pub(crate) use notices::*;
pub(crate) use operators::*;
pub(crate) use queue::*;
