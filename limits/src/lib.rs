//! Rate limits for the requests an attacker repeats (sign-up, log-in, holds, checkouts,
//! queue joins), keyed by client address and by account, shared by the coordinator and
//! the native edge.
//!
//! Layout:
//! - [`Rate`]: one limit (`30/min,burst=10`, or `off`) and its parser.
//! - [`RateLimits`]: the limit of every action, per address and per account.
//! - [`Action`]: which limited action a request is.
//! - [`Limiters`]: GCRA limiters (the `governor` crate), keyed and bounded in memory.
//! - [`ClientAddressPolicy`]: the client's address, from the socket or, from a trusted
//!   edge only, the `X-Onsale-Client-Ip` header.
//! - [`RateLimitLayer`]: all of it as a tower layer answering `429 rate_limited` with
//!   `Retry-After`.
//!
//! Decisions:
//! - IPv6 clients are keyed by their /64 network: one host usually owns a whole /64, so
//!   keying single addresses would let it pick a fresh key per request.
//! - Limits live in each process's memory: a client spread over several coordinators gets
//!   each one's limit. Per-account log-in safety, which must hold everywhere, is in the
//!   store (the coordinator's failed-log-in lock), not here.

mod action;
mod client;
mod layer;
mod limiter;
mod rate;

pub use action::Action;
pub use client::{CLIENT_IP_HEADER, ClientAddress, ClientAddressPolicy, EDGE_SECRET_HEADER};
pub use ipnet::IpNet;
pub use layer::{AccountOf, RateLimitLayer};
pub use limiter::{Limiters, Scope};
pub use rate::{Rate, RateLimits};
