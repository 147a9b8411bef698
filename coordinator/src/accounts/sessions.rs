//! Sessions that can end: every account has a token generation (a counter in the store,
//! 0 until it first signs out); tokens carry the generation they were issued in, and only
//! tokens of the account's current generation are accepted. Signing out moves the account
//! to the next generation, which ends every token issued before, on every device.
//!
//! The check runs on every authenticated request, so generations read from the store are
//! kept in memory for [`GENERATION_TTL`]: a cached answer costs a lock and a map lookup,
//! a miss one single-key read. A sign-out on this coordinator updates its cache at once;
//! another coordinator sharing the store refuses the old tokens within the TTL. A token
//! newer than the cached generation (issued by another coordinator after a sign-out there)
//! is never refused on the cache's word: the generation is read again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use onsale_model::ErrorCode;
use uuid::Uuid;

use super::Accounts;
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::tables::TOKEN_GENERATIONS;
use onsale_store::StoreExt;

/// How long a generation read from the store is trusted.
const GENERATION_TTL: Duration = Duration::from_secs(2);

/// Accounts whose generation is kept at most; past that the cache starts over.
const GENERATION_CACHE_LIMIT: usize = 100_000;

/// Recently read token generations by account; a std mutex, never held across `.await`.
#[derive(Default)]
pub(crate) struct Generations {
    known: Mutex<HashMap<u128, (u64, Instant)>>,
}

impl Generations {
    fn fresh(&self, user: u128) -> Option<u64> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(&user)
            .filter(|(_, read_at)| read_at.elapsed() < GENERATION_TTL)
            .map(|&(generation, _)| generation)
    }

    /// Keeps a generation just read or written. Generations only grow, so a read that
    /// raced a sign-out never takes the cache back to the older one.
    fn remember(&self, user: u128, generation: u64) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= GENERATION_CACHE_LIMIT {
            known.clear();
        }
        let newest = known
            .get(&user)
            .map_or(generation, |&(cached, _)| cached.max(generation));
        known.insert(user, (newest, Instant::now()));
    }
}

impl Accounts {
    /// The account a bearer token belongs to, if it is signed by us, has not expired and
    /// was issued in the account's current token generation; else `401 unauthorized`.
    pub async fn authenticate(&self, token: &str) -> Result<Uuid> {
        let claims = self
            .secrets
            .verify_token(token, self.clock.now())
            .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
        let user = claims.user_id.as_u128();
        let current = match self.generations.fresh(user) {
            Some(known) if claims.generation <= known => known,
            _ => self.read_generation(user).await?,
        };
        if claims.generation == current {
            Ok(claims.user_id)
        } else {
            metrics::counter!("onsale_tokens_refused_total", "reason" => "signed_out").increment(1);
            Err(Error::code(ErrorCode::Unauthorized))
        }
    }

    /// A bearer token for `user_id` in its current generation, valid for the session
    /// lifetime; returns it with its expiry.
    pub(super) async fn issue_session(&self, user_id: Uuid) -> Result<(String, Millis)> {
        let generation = self.read_generation(user_id.as_u128()).await?;
        let expires_at = self.clock.now() + self.settings.session_ttl.as_millis() as Millis;
        Ok((
            self.secrets.issue_token(user_id, generation, expires_at),
            expires_at,
        ))
    }

    /// Signs an account out everywhere: every token issued to it so far stops working.
    pub async fn sign_out(&self, user_id: Uuid) -> Result<()> {
        let user = user_id.as_u128();
        let generation = self
            .store
            .transact(|tx| async move {
                TOKEN_GENERATIONS.add(&tx, &user, 1).await?;
                let generation = TOKEN_GENERATIONS.get(&tx, &user).await?;
                Ok::<_, Error>(generation.unwrap_or(0))
            })
            .await?;
        self.generations.remember(user, generation.max(0) as u64);
        metrics::counter!("onsale_sign_outs_total").increment(1);
        tracing::debug!(%user_id, generation, "signed out");
        Ok(())
    }

    async fn read_generation(&self, user: u128) -> Result<u64> {
        let value = self
            .store
            .transact(|tx| async move { TOKEN_GENERATIONS.get(&tx, &user).await })
            .await?;
        let generation = value.unwrap_or(0).max(0) as u64;
        self.generations.remember(user, generation);
        Ok(generation)
    }
}
