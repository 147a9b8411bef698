//! Accounts: sign-up, log-in (with failed log-ins slowed down and locked), bearer tokens
//! and their generations (signing out everywhere), and what other services need to know
//! of a user (the email address notifications go to).
//!
//! [`Accounts`] is its own service: it owns the cache of token generations, and shares the store, the clock, the secrets, the settings and the password-hashing pool.

mod sessions;
mod users;

use std::sync::Arc;

use onsale_store::Store;

use crate::auth::{PasswordPool, Secrets};
use crate::clock::Clock;
use crate::settings::Settings;

/// The accounts service; cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    settings: Arc<Settings>,
    /// Hashes passwords on threads of their own, with a bounded queue (shared with the
    /// operators).
    passwords: Arc<PasswordPool>,
    /// Recently read token generations, checked on every authenticated request.
    generations: Arc<sessions::Generations>,
}

impl Accounts {
    /// The accounts of `store`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secrets: Arc<Secrets>,
        settings: Arc<Settings>,
        passwords: Arc<PasswordPool>,
    ) -> Self {
        Accounts {
            passwords,
            store,
            clock,
            secrets,
            settings,
            generations: Arc::default(),
        }
    }
}
