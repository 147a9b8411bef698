//! What `onsale dev` runs besides the platform itself, to try it with no account
//! anywhere: a demo catalogue and a sandbox payment provider. Nothing here is part of a
//! production coordinator; the coordinator does not depend on this crate.
//!
//! - [`demo`]: the demo catalogue, generated from a fixed seed.
//! - [`sandbox`]: a Stripe look-alike with a payment page, sending signed webhooks.

pub mod demo;
pub mod sandbox;
