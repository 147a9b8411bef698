//! Operators: accounts with a role (`admin` or `staff`) that sign in with a name and a
//! password, API keys for automation (the deployment's operator token is the admin key
//! `operator-token`), and who each operator call comes from, for the audit trail.
//!
//! A new account gets a one-time password; until the operator replaces it, every call
//! but the password change is refused. Signing out moves the account to its next token
//! generation (kept in its record), which ends every token issued before. Operator calls
//! are few, so each reads its account or key: a removed account, a changed role or a
//! revoked key takes effect on the next call, on every coordinator.

mod keys;

use std::sync::Arc;

use onsale_model::{
    Actor, ActorKind, ApiError, ErrorCode, NewOperator, OperatorCreated, OperatorLogin,
    OperatorSession, OperatorView, PasswordChange, Role,
};
use onsale_store::{Store, StoreExt};
use uuid::Uuid;

use crate::audit;
use crate::auth::{PasswordPool, Secrets, random_secret};
use crate::clock::{Clock, Millis, to_datetime};
use crate::error::{Error, Result};
use crate::login_lock;
use crate::settings::Settings;
use crate::store::records::OperatorRecord;
use crate::store::tables::{OPERATOR_NAMES, OPERATORS};

/// The shortest password an operator may choose.
const MIN_PASSWORD_CHARS: usize = 12;

/// Who an operator call comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The operator or key, as the audit trail names it.
    pub actor: Actor,
    /// Signed in with a one-time password not yet replaced.
    pub password_change_required: bool,
}

/// The operators service; cheap to clone.
#[derive(Clone)]
pub struct Operators {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<Secrets>,
    settings: Arc<Settings>,
    passwords: Arc<PasswordPool>,
}

impl Operators {
    /// The operators of `store`, hashing passwords on `passwords`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        secrets: Arc<Secrets>,
        settings: Arc<Settings>,
        passwords: Arc<PasswordPool>,
    ) -> Self {
        Operators {
            store,
            clock,
            secrets,
            settings,
            passwords,
        }
    }

    fn name_key(&self, name: &str) -> Vec<u8> {
        self.secrets.index_digest("operator", name)
    }

    /// Adds an operator account with a one-time password, returned only here.
    pub async fn add(&self, new: NewOperator, by: &Actor) -> Result<OperatorCreated> {
        let name = new.validate()?;
        let password = random_secret(15);
        let record = OperatorRecord {
            id: Uuid::new_v4().to_string(),
            name: name.clone(),
            role: new.role,
            password_hash: self.passwords.hash(password.clone()).await?,
            created_at: self.clock.now(),
            password_change_required: true,
            generation: 0,
        };
        let name_key = self.name_key(&name);
        self.store
            .transact(|tx| {
                let (record, name_key) = (&record, &name_key);
                async move {
                    if let Some(owner) = OPERATOR_NAMES.get(&tx, name_key).await? {
                        if owner == record.id {
                            return Ok(());
                        }
                        return Err(Error::Api(
                            ApiError::new(
                                ErrorCode::UsernameTaken,
                                format!("an operator is already called {}", record.name),
                            )
                            .at("name"),
                        ));
                    }
                    OPERATOR_NAMES.set(&tx, name_key, &record.id)?;
                    OPERATORS.set(&tx, &record.id, record)?;
                    audit::record(
                        &*tx,
                        record.created_at,
                        by,
                        "operator.add",
                        format!("operator {}", record.name),
                        Some(format!("role {}", record.role.as_str())),
                    )?;
                    Ok::<_, Error>(())
                }
            })
            .await?;
        tracing::info!(operator = %name, role = new.role.as_str(), by = %by.name, "operator added");
        Ok(OperatorCreated {
            operator: view(&record),
            password,
        })
    }

    /// Every operator account, by name.
    pub async fn list(&self) -> Result<Vec<OperatorView>> {
        let mut records = self
            .store
            .transact(|tx| async move { OPERATORS.values(&tx, OPERATORS.all()).await })
            .await?;
        records.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(records.iter().map(view).collect())
    }

    /// Removes an operator account; its tokens stop working at once.
    pub async fn remove(&self, id: &str, by: &Actor) -> Result<()> {
        let now = self.clock.now();
        self.store
            .transact(|tx| async move {
                let record = OPERATORS.get(&tx, id).await?.ok_or_else(|| {
                    Error::Api(ApiError::new(
                        ErrorCode::NotFound,
                        format!("no operator {id}"),
                    ))
                })?;
                OPERATORS.clear(&tx, id);
                OPERATOR_NAMES.clear(&tx, &self.name_key(&record.name));
                audit::record(
                    &*tx,
                    now,
                    by,
                    "operator.remove",
                    format!("operator {}", record.name),
                    None,
                )?;
                Ok::<_, Error>(())
            })
            .await
    }

    /// Checks an operator's name and password and issues a bearer token. Failed
    /// attempts are slowed down and locked like buyers' log-ins, and an unknown name
    /// costs the same steps as a known one.
    pub async fn sign_in(&self, login: OperatorLogin) -> Result<OperatorSession> {
        let name = login.name.trim().to_ascii_lowercase();
        let name_key = self.name_key(&name);
        let failures = self.secrets.index_digest("operator-login", &name);
        let now = self.clock.now();
        let lock = self.settings.login_lock;
        let record = self
            .store
            .transact(|tx| {
                let (name_key, failures) = (&name_key, &failures);
                async move {
                    login_lock::begin_attempt(&*tx, failures, now, &lock).await?;
                    let Some(id) = OPERATOR_NAMES.get(&tx, name_key).await? else {
                        return Ok(None);
                    };
                    Ok::<_, Error>(OPERATORS.get(&tx, &id).await?)
                }
            })
            .await?;
        let hash = record.as_ref().map(|r| r.password_hash.clone());
        let verified = self.passwords.verify(login.password, hash).await?;
        let record = match record {
            Some(record) if verified => record,
            _ => {
                metrics::counter!("onsale_operator_login_failures_total").increment(1);
                return Err(Error::code(ErrorCode::InvalidCredentials));
            }
        };
        let actor = actor_of(&record);
        self.store
            .transact(|tx| {
                let (failures, actor) = (&failures, &actor);
                async move {
                    login_lock::clear(&*tx, failures).await?;
                    audit::record(&*tx, now, actor, "operator.sign_in", "console", None)?;
                    Ok::<_, Error>(())
                }
            })
            .await?;
        self.session(&record)
    }

    /// A new session token for the account in its current generation.
    fn session(&self, record: &OperatorRecord) -> Result<OperatorSession> {
        let expires_at = self.clock.now() + self.settings.session_ttl.as_millis() as Millis;
        let id = Uuid::parse_str(&record.id)
            .map_err(|e| Error::internal_from("a stored operator id", e))?;
        Ok(OperatorSession {
            token: self
                .secrets
                .issue_operator_token(id, record.generation, expires_at),
            expires_at: to_datetime(expires_at),
            operator: view(record),
        })
    }

    /// Ends every session of the operator `actor` (API keys are revoked instead).
    pub async fn sign_out(&self, actor: &Actor) -> Result<()> {
        if actor.kind != ActorKind::Operator {
            return Err(Error::Api(ApiError::invalid(
                "an API key does not sign out: revoke it (DELETE /v1/operator/keys/{id})",
            )));
        }
        self.update(actor, "operator.sign_out", |record| {
            record.generation += 1;
        })
        .await?;
        Ok(())
    }

    /// Replaces the signed-in operator's password (the one-time password, or any later
    /// one). Every session of the account ends, this one included: the answer carries a
    /// new token.
    pub async fn change_password(
        &self,
        actor: &Actor,
        change: PasswordChange,
    ) -> Result<OperatorSession> {
        if actor.kind != ActorKind::Operator {
            return Err(Error::Api(ApiError::invalid(
                "only an operator signed in with a password has one to change",
            )));
        }
        if change.new_password.chars().count() < MIN_PASSWORD_CHARS
            || change.new_password.chars().count() > 128
        {
            return Err(Error::Api(
                ApiError::new(
                    ErrorCode::WeakPassword,
                    format!("an operator's password must be {MIN_PASSWORD_CHARS}-128 characters"),
                )
                .at("new_password"),
            ));
        }
        crate::password_strength::check(&change.new_password, &[&actor.name])
            .map_err(|e| Error::Api(e.at("new_password")))?;
        if change.new_password == change.current_password {
            return Err(Error::Api(
                ApiError::new(
                    ErrorCode::WeakPassword,
                    "choose a password other than the current one",
                )
                .at("new_password"),
            ));
        }
        let id = actor.id.as_str();
        let current = self
            .store
            .transact(|tx| async move { OPERATORS.get(&tx, id).await })
            .await?
            .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
        if !self
            .passwords
            .verify(change.current_password, Some(current.password_hash))
            .await?
        {
            return Err(Error::Api(
                ApiError::new(
                    ErrorCode::InvalidCredentials,
                    "the current password is wrong",
                )
                .at("current_password"),
            ));
        }
        let hash = self.passwords.hash(change.new_password).await?;
        let record = self
            .update(actor, "operator.password", |record| {
                record.password_hash = hash.clone();
                record.password_change_required = false;
                record.generation += 1;
            })
            .await?;
        self.session(&record)
    }

    /// Changes the record of the operator `actor` and writes `action` into the audit
    /// trail, in one transaction.
    async fn update(
        &self,
        actor: &Actor,
        action: &str,
        change: impl Fn(&mut OperatorRecord) + Send + Sync,
    ) -> Result<OperatorRecord> {
        let now = self.clock.now();
        self.store
            .transact(|tx| {
                let change = &change;
                async move {
                    let mut record = OPERATORS
                        .get(&tx, &actor.id)
                        .await?
                        .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
                    change(&mut record);
                    OPERATORS.set(&tx, &actor.id, &record)?;
                    audit::record(&*tx, now, actor, action, "console", None)?;
                    Ok::<_, Error>(record)
                }
            })
            .await
    }

    /// Who a bearer token belongs to: an API key (`opk_…`), the deployment's operator
    /// token, or a signed-in operator of the current generation; a buyer's token is
    /// `403`, anything else `401`.
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated> {
        if let Some(key) = token.strip_prefix(keys::KEY_PREFIX) {
            return self.authenticate_key(key).await;
        }
        if self.secrets.is_operator(token) {
            return Ok(Authenticated {
                actor: Actor {
                    kind: ActorKind::ApiKey,
                    id: "operator-token".into(),
                    name: "operator token".into(),
                    role: Role::Admin,
                },
                password_change_required: false,
            });
        }
        let now = self.clock.now();
        let Some(claims) = self.secrets.verify_operator_token(token, now) else {
            if self.secrets.verify_token(token, now).is_some() {
                return Err(Error::Api(ApiError::new(
                    ErrorCode::Forbidden,
                    "this call needs an operator's token, not a buyer's",
                )));
            }
            return Err(Error::code(ErrorCode::Unauthorized));
        };
        let id = claims.user_id.to_string();
        let record = self
            .store
            .transact(|tx| {
                let id = &id;
                async move { OPERATORS.get(&tx, id).await }
            })
            .await?
            .filter(|record| record.generation == claims.generation)
            .ok_or_else(|| Error::code(ErrorCode::Unauthorized))?;
        Ok(Authenticated {
            actor: actor_of(&record),
            password_change_required: record.password_change_required,
        })
    }
}

fn actor_of(record: &OperatorRecord) -> Actor {
    Actor {
        kind: ActorKind::Operator,
        id: record.id.clone(),
        name: record.name.clone(),
        role: record.role,
    }
}

fn view(record: &OperatorRecord) -> OperatorView {
    OperatorView {
        id: record.id.clone(),
        name: record.name.clone(),
        role: record.role,
        created_at: to_datetime(record.created_at),
        password_change_required: record.password_change_required,
    }
}
