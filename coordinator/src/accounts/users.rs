//! Users: sign-up with unique username, email and phone; log-in to a bearer token.

use onsale_model::{ApiError, Change, ErrorCode, Login, Session, SignUp, UserCreated};
use uuid::Uuid;

use super::Accounts;
use crate::changelog;
use crate::clock::to_datetime;
use crate::error::{Error, Result};
use crate::login_lock;
use crate::store::records::UserRecord;
use crate::store::tables::{USER_INDEX, USERS};
use onsale_store::StoreExt;

impl Accounts {
    /// Registers a user. Username (any case), email and phone must each be unused.
    pub async fn sign_up(&self, request: SignUp) -> Result<UserCreated> {
        let valid = request.validate()?;
        crate::password_strength::check(
            &request.password,
            &[&valid.username, &valid.email, &valid.phone],
        )?;
        let password_hash = self.passwords.hash(request.password).await?;
        let user = UserRecord {
            id: Uuid::new_v4().to_string(),
            username: valid.username.clone(),
            email: valid.email.clone(),
            phone: valid.phone.clone(),
            password_hash,
            created_at: self.clock.now(),
        };
        let unique = [
            (
                (
                    "username",
                    self.secrets.index_digest("username", &valid.username_key),
                ),
                ErrorCode::UsernameTaken,
            ),
            (
                ("email", self.secrets.index_digest("email", &valid.email)),
                ErrorCode::ContactTaken,
            ),
            (
                ("phone", self.secrets.index_digest("phone", &valid.phone)),
                ErrorCode::ContactTaken,
            ),
        ];
        self.store
            .transact(|tx| {
                let (unique, user) = (&unique, &user);
                async move {
                    for (key, taken) in unique {
                        if let Some(owner) = USER_INDEX.get(&tx, key).await? {
                            if owner == user.id {
                                // An earlier attempt committed; this is its retry.
                                return Ok(());
                            }
                            return Err(Error::code(*taken));
                        }
                    }
                    for (key, _) in unique {
                        USER_INDEX.set(&tx, key, &user.id)?;
                    }
                    USERS.set(&tx, &user.id, user)?;
                    changelog::append(
                        &*tx,
                        &Change::UserCreated {
                            user_id: user.id.clone(),
                        },
                    )?;
                    Ok::<_, Error>(())
                }
            })
            .await?;
        metrics::counter!("onsale_users_created_total").increment(1);
        Ok(UserCreated {
            id: user.id,
            username: user.username,
        })
    }

    /// Checks a username and password and issues a bearer token. Every attempt on a
    /// username, known or not, goes through the same steps (the failed-log-in record,
    /// one password hash), so that answers and their timing do not tell whether it
    /// exists.
    pub async fn log_in(&self, request: Login) -> Result<Session> {
        let username_key = request.username.trim().to_ascii_lowercase();
        let index = (
            "username",
            self.secrets.index_digest("username", &username_key),
        );
        let failures = self.secrets.index_digest("login", &username_key);
        let now = self.clock.now();
        let lock = self.settings.login_lock;
        let user = self
            .store
            .transact(|tx| {
                let (index, failures) = (&index, &failures);
                async move {
                    login_lock::begin_attempt(&*tx, failures, now, &lock).await?;
                    let Some(id) = USER_INDEX.get(&tx, index).await? else {
                        return Ok(None);
                    };
                    Ok::<_, Error>(USERS.get(&tx, &id).await?)
                }
            })
            .await?;
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let verified = self.passwords.verify(request.password, hash).await?;
        let user = match user {
            Some(user) if verified => user,
            _ => {
                metrics::counter!("onsale_login_failures_total").increment(1);
                return Err(Error::Api(ApiError::code(ErrorCode::InvalidCredentials)));
            }
        };
        self.store
            .transact(|tx| {
                let failures = &failures;
                async move { login_lock::clear(&*tx, failures).await }
            })
            .await?;
        let user_id =
            Uuid::parse_str(&user.id).map_err(|e| Error::internal_from("a stored user id", e))?;
        let (token, expires_at) = self.issue_session(user_id).await?;
        Ok(Session {
            token,
            expires_at: to_datetime(expires_at),
        })
    }

    /// Forgets failed-log-in records that stopped mattering (at most `limit`); returns
    /// how many.
    pub async fn sweep_login_failures(&self, limit: usize) -> Result<usize> {
        let now = self.clock.now();
        self.store
            .transact(|tx| async move { login_lock::sweep(&*tx, now, limit).await })
            .await
    }

    /// The email address of a user, if the user exists.
    pub async fn user_email(&self, user_id: &str) -> Result<Option<String>> {
        let record = self
            .store
            .transact(|tx| async move { USERS.get(&tx, user_id).await })
            .await?;
        Ok(record.map(|user| user.email))
    }
}
