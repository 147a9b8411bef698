//! The onsale coordinator: the one source of truth for holds, bookings and users.
//!
//! Layout:
//! - [`store`]: the coordinator's records in the store (the `onsale-store` crate: the
//!   `Store` trait in FoundationDB's model, its retry loop and backends).
//! - [`accounts`]: sign-up, log-in, tokens ([`accounts::Accounts`]).
//! - [`operators`]: operator accounts, roles, API keys ([`operators::Operators`]);
//!   [`audit`]: the audit trail every operator action is written to.
//! - [`events`]: events, seat maps and seat states ([`events::Events`]).
//! - [`services`]: [`Coordinator`], the services below composed in one place;
//!   [`settings`]: what they are configured with.
//! - [`booking`]: holds, checkout, payment outcomes, refunds ([`booking::Bookings`]).
//! - [`api`]: the HTTP API (axum) under `/v1`, errors as JSON, metrics.
//! - [`payments`]: the payment provider trait and a Stripe-shaped adapter.
//! - [`changelog`]: the change log: appended in transactions, read after a position,
//!   followed by the hub, the notifier and the task worker (and the indexer over HTTP).
//! - [`hub`]: the live seat feed, fed from the change log; its follower also keeps
//!   [`seat_views`], the taken seats that best-available choices read.
//! - [`notify`]: emails and in-app notifications from the change log.
//! - [`run`]: [`run::run`] serves the API and runs every background worker, and stops
//!   them in order.
//! - [`worker`]: background tasks that stop in order.
//! - [`sweeper`]: releases expired holds in the background.
//! - [`tasks`]: the worker that runs the durable task queue (payment outcomes, refunds).
//! - [`waiting_room`]: per-event virtual waiting rooms: queues, admission, passes.
//! - [`auth`], [`clock`], [`error`]: secrets and tokens, injected time, the error type.
//! - [`login_lock`]: failed log-ins per username: growing waits, then a lock.
//! - [`password_strength`]: refuses passwords that are easy to guess.
//!
//! Decisions: all booking logic runs inside `store.transact` closures that only touch the
//! transaction, so every backend gives the same guarantees; side effects are change-log
//! entries written in the same transaction (an outbox) for consumers to act on after
//! commit.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod booking;
pub mod changelog;
pub mod clock;
pub mod error;
pub mod events;
pub mod hub;
pub mod login_lock;
pub mod notify;
pub mod operators;
pub mod password_strength;
pub mod payments;
pub mod run;
pub mod seat_views;
pub mod services;
pub mod settings;
pub mod store;
pub mod sweeper;
pub mod tasks;
mod time_zone;
pub mod waiting_room;
pub mod worker;

pub use error::{Error, Result};
pub use run::{RunConfig, run};
pub use services::Coordinator;
pub use settings::{DEFAULT_LIVE_FEEDS_PER_ADDRESS, Settings};
