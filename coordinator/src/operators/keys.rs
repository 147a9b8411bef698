//! API keys: `opk_{id}_{secret}`, made by an admin for automation (an importer, a
//! metrics scraper, a door scanner) with a role of their own, listed without their
//! secrets, and revoked for good. The secret is stored only as a keyed hash.

use onsale_model::{Actor, ActorKind, ApiError, ApiKeyCreated, ApiKeyView, ErrorCode, NewApiKey};
use onsale_store::StoreExt;
use rand::RngCore;

use super::{Authenticated, Operators};
use crate::audit;
use crate::auth::random_secret;
use crate::clock::to_datetime;
use crate::error::{Error, Result};
use crate::store::records::ApiKeyRecord;
use crate::store::tables::API_KEYS;

/// What every API key starts with.
pub(super) const KEY_PREFIX: &str = "opk_";

impl Operators {
    /// Makes an API key; its secret is returned only here.
    pub async fn create_key(&self, new: NewApiKey, by: &Actor) -> Result<ApiKeyCreated> {
        let name = new.validate()?;
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let secret = random_secret(24);
        let record = ApiKeyRecord {
            id: id.clone(),
            name,
            role: new.role,
            secret_digest: self.secrets.api_key_digest(&secret),
            created_at: self.clock.now(),
            created_by: by.clone(),
            revoked_at: None,
        };
        self.store
            .transact(|tx| {
                let record = &record;
                async move {
                    API_KEYS.set(&tx, &record.id, record)?;
                    audit::record(
                        &*tx,
                        record.created_at,
                        by,
                        "key.create",
                        format!("key {} ({})", record.id, record.name),
                        Some(format!("role {}", record.role.as_str())),
                    )?;
                    Ok::<_, Error>(())
                }
            })
            .await?;
        Ok(ApiKeyCreated {
            key: key_view(&record),
            secret: format!("{KEY_PREFIX}{id}_{secret}"),
        })
    }

    /// Every API key, newest first, revoked ones included.
    pub async fn keys(&self) -> Result<Vec<ApiKeyView>> {
        let mut records = self
            .store
            .transact(|tx| async move { API_KEYS.values(&tx, API_KEYS.all()).await })
            .await?;
        records.sort_by_key(|record| std::cmp::Reverse(record.created_at));
        Ok(records.iter().map(key_view).collect())
    }

    /// Revokes an API key for good; revoking it again changes nothing.
    pub async fn revoke_key(&self, id: &str, by: &Actor) -> Result<ApiKeyView> {
        let now = self.clock.now();
        let record = self
            .store
            .transact(|tx| async move {
                let mut record = API_KEYS.get(&tx, id).await?.ok_or_else(|| {
                    Error::Api(ApiError::new(
                        ErrorCode::NotFound,
                        format!("no API key {id}"),
                    ))
                })?;
                if record.revoked_at.is_none() {
                    record.revoked_at = Some(now);
                    API_KEYS.set(&tx, id, &record)?;
                    audit::record(
                        &*tx,
                        now,
                        by,
                        "key.revoke",
                        format!("key {} ({})", record.id, record.name),
                        None,
                    )?;
                }
                Ok::<_, Error>(record)
            })
            .await?;
        Ok(key_view(&record))
    }

    /// The actor of an API key's `{id}_{secret}`, if the key exists, is not revoked and
    /// the secret is its own.
    pub(super) async fn authenticate_key(&self, key: &str) -> Result<Authenticated> {
        let (id, secret) = key
            .split_once('_')
            .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
        let record = self
            .store
            .transact(|tx| async move { API_KEYS.get(&tx, id).await })
            .await?
            .filter(|record| {
                record.revoked_at.is_none()
                    && self.secrets.api_key_matches(secret, &record.secret_digest)
            })
            .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
        Ok(Authenticated {
            actor: Actor {
                kind: ActorKind::ApiKey,
                id: record.id,
                name: record.name,
                role: record.role,
            },
            password_change_required: false,
        })
    }
}

fn key_view(record: &ApiKeyRecord) -> ApiKeyView {
    ApiKeyView {
        id: record.id.clone(),
        name: record.name.clone(),
        role: record.role,
        created_at: to_datetime(record.created_at),
        created_by: record.created_by.clone(),
        revoked_at: record.revoked_at.map(to_datetime),
    }
}
