//! Secrets, bearer tokens, password hashes and the keyed hashes that index users.
//!
//! Tokens are signed: `base64url(version ‖ user id ‖ generation ‖ expiry ‖ HMAC-SHA256)`,
//! so every coordinator sharing a store (and so its secrets) verifies them without a
//! read. The generation is the account's token generation when the token was issued;
//! signing out moves the account to the next one, and the coordinator refuses tokens of
//! older generations (`accounts::sessions`). Version-1 tokens, issued before generations
//! existed, carry none and count as generation 0.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, PasswordHash};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use onsale_model::{ApiError, ErrorCode};

use crate::clock::Millis;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

const TOKEN_VERSION: u8 = 2;
const TOKEN_LEN: usize = 1 + 16 + 8 + 8 + 32;
const TOKEN_V1: u8 = 1;
const TOKEN_V1_LEN: usize = 1 + 16 + 8 + 32;

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    /// The account it was issued to.
    pub user_id: Uuid,
    /// The account's token generation when it was issued.
    pub generation: u64,
}

/// The keys of one deployment, kept in the store so that every coordinator shares them.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// Signs bearer tokens.
    pub token_key: [u8; 32],
    /// Keys the hashes that index usernames, emails and phones.
    pub index_key: [u8; 32],
    /// The operator's bearer token.
    pub operator_token: String,
    /// Ed25519 seed that signs tickets (all zeros in secrets stored before tickets).
    #[serde(default)]
    pub ticket_key: [u8; 32],
    /// Signs waiting-room passes and queue tickets; edges are given it to check passes
    /// (all zeros in secrets stored before the waiting room).
    #[serde(default)]
    pub queue_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets { .. }")
    }
}

impl Secrets {
    /// Fresh random secrets.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let mut token_key = [0u8; 32];
        let mut index_key = [0u8; 32];
        let mut operator = [0u8; 24];
        rng.fill_bytes(&mut token_key);
        rng.fill_bytes(&mut index_key);
        rng.fill_bytes(&mut operator);
        let mut ticket_key = [0u8; 32];
        rng.fill_bytes(&mut ticket_key);
        let mut queue_key = [0u8; 32];
        rng.fill_bytes(&mut queue_key);
        Secrets {
            token_key,
            index_key,
            operator_token: format!("op_{}", URL_SAFE_NO_PAD.encode(operator)),
            ticket_key,
            queue_key,
        }
    }

    /// Fills in keys that secrets stored by an older version lack; returns whether
    /// anything changed (and so must be stored).
    pub fn complete(&mut self) -> bool {
        let mut changed = false;
        for key in [&mut self.ticket_key, &mut self.queue_key] {
            if *key == [0u8; 32] {
                rand::rng().fill_bytes(key);
                changed = true;
            }
        }
        changed
    }

    /// The key that signs waiting-room passes and queue tickets.
    pub fn queue_key(&self) -> onsale_pass::QueueKey {
        onsale_pass::QueueKey::new(self.queue_key)
    }

    /// A ticket code: `base64url(payload) "." base64url(Ed25519 signature)` over
    /// `onsale-ticket:v1:{event_id}:{booking_id}:{seat_id}`.
    pub fn sign_ticket(&self, event_id: u64, booking_id: &str, seat_id: &str) -> String {
        use ed25519_dalek::Signer;
        let payload = format!("onsale-ticket:v1:{event_id}:{booking_id}:{seat_id}");
        let signature =
            ed25519_dalek::SigningKey::from_bytes(&self.ticket_key).sign(payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// Whether `signature` is the ticket key's signature of `payload`.
    pub fn verify_ticket(&self, payload: &[u8], signature: &[u8]) -> bool {
        use ed25519_dalek::Verifier;
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        ed25519_dalek::SigningKey::from_bytes(&self.ticket_key)
            .verifying_key()
            .verify(payload, &signature)
            .is_ok()
    }

    /// The public key gate scanners verify ticket codes with.
    pub fn ticket_public_key(&self) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&self.ticket_key)
            .verifying_key()
            .to_bytes()
    }

    /// The keyed hash under which a unique field is indexed.
    pub fn index_digest(&self, field: &str, value: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.index_key).expect("any key length");
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A bearer token for `user_id` in its token `generation`, valid until `expires_at`.
    pub fn issue_token(&self, user_id: Uuid, generation: u64, expires_at: Millis) -> String {
        sign_token(&self.token_key, user_id, generation, expires_at)
    }

    /// What a token says, if its signature is ours and it has not expired. Whether its
    /// generation is still the account's is the caller's to check.
    pub fn verify_token(&self, token: &str, now: Millis) -> Option<TokenClaims> {
        verify_signed_token(&self.token_key, token, now)
    }

    /// A bearer token for the operator account `operator_id`, signed with a key of its
    /// own so that it is never taken for a buyer's token (nor a buyer's for it).
    pub fn issue_operator_token(
        &self,
        operator_id: Uuid,
        generation: u64,
        expires_at: Millis,
    ) -> String {
        sign_token(&self.operator_key(), operator_id, generation, expires_at)
    }

    /// What an operator token says, if it is one of ours and has not expired.
    pub fn verify_operator_token(&self, token: &str, now: Millis) -> Option<TokenClaims> {
        verify_signed_token(&self.operator_key(), token, now)
    }

    fn operator_key(&self) -> [u8; 32] {
        let mut mac = HmacSha256::new_from_slice(&self.token_key).expect("any key length");
        mac.update(b"onsale operator sessions\0");
        mac.finalize().into_bytes().into()
    }

    /// The keyed hash under which an API key's secret is stored.
    pub fn api_key_digest(&self, secret: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.token_key).expect("any key length");
        mac.update(b"onsale api key\0");
        mac.update(secret.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `secret` is the secret whose keyed hash is `digest`, compared in constant
    /// time.
    pub fn api_key_matches(&self, secret: &str, digest: &[u8]) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.token_key).expect("any key length");
        mac.update(b"onsale api key\0");
        mac.update(secret.as_bytes());
        mac.verify_slice(digest).is_ok()
    }

    /// Whether `token` is the operator token. Both are reduced to keyed SHA-256 digests
    /// first and the digests compared in constant time, so neither the time taken nor
    /// anything else tells how much of the token, or how much of its length, was right.
    pub fn is_operator(&self, token: &str) -> bool {
        let digest = |text: &str| {
            let mut mac = HmacSha256::new_from_slice(&self.token_key).expect("any key length");
            mac.update(b"onsale operator token\0");
            mac.update(text.as_bytes());
            mac
        };
        let expected = digest(&self.operator_token).finalize().into_bytes();
        digest(token).verify_slice(&expected).is_ok()
    }
}

fn sign_token(key: &[u8], user_id: Uuid, generation: u64, expires_at: Millis) -> String {
    let mut payload = Vec::with_capacity(TOKEN_LEN);
    payload.push(TOKEN_VERSION);
    payload.extend_from_slice(user_id.as_bytes());
    payload.extend_from_slice(&generation.to_be_bytes());
    payload.extend_from_slice(&expires_at.to_be_bytes());
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(&payload);
    payload.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE_NO_PAD.encode(payload)
}

fn verify_signed_token(key: &[u8], token: &str, now: Millis) -> Option<TokenClaims> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let payload_len = match (bytes.first(), bytes.len()) {
        (Some(&TOKEN_VERSION), TOKEN_LEN) => TOKEN_LEN - 32,
        (Some(&TOKEN_V1), TOKEN_V1_LEN) => TOKEN_V1_LEN - 32,
        _ => return None,
    };
    let (payload, tag) = bytes.split_at(payload_len);
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(payload);
    mac.verify_slice(tag).ok()?;
    let user_id = Uuid::from_slice(&payload[1..17]).ok()?;
    let (generation, expiry) = match payload.len() {
        33 => (
            u64::from_be_bytes(payload[17..25].try_into().ok()?),
            &payload[25..33],
        ),
        _ => (0, &payload[17..25]),
    };
    let expires_at = Millis::from_be_bytes(expiry.try_into().ok()?);
    (now < expires_at).then_some(TokenClaims {
        user_id,
        generation,
    })
}

/// A random secret of `bytes` bytes as base64url text, for one-time passwords and API
/// keys.
pub fn random_secret(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut random);
    URL_SAFE_NO_PAD.encode(random)
}

/// Hashes a password with argon2id (OWASP's parameters: 19 MiB, 2 passes). Slow on
/// purpose: call it from a blocking thread.
pub fn hash_password(password: &str) -> Result<String> {
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    let salt = SaltString::encode_b64(&random)
        .map_err(|e| Error::internal(format!("encoding a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::internal(format!("hashing a password: {e}")))
}

/// Checks a password against its stored hash. Slow on purpose, like [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password job for the [`PasswordPool`].
type PasswordJob = Box<dyn FnOnce() + Send>;

/// Hashes that may wait for a thread by default: about half a second of waiting on two
/// cores, past which an answer of `busy` serves a real person better than a queue.
pub const DEFAULT_PASSWORD_QUEUE: usize = 32;

/// How long a client refused with `busy` is told to wait.
const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// A few threads that do all password hashing. Argon2id takes 19 MiB per hash; run on
/// arbitrary blocking threads, every thread's allocator arena would keep such a block
/// (gigabytes after a burst of sign-ups). Here at most one block per core exists. The
/// queue in front of the threads is bounded: when it is full, the work is refused at once
/// (`503 busy` with `Retry-After`) instead of making every later log-in wait behind a
/// flood.
pub struct PasswordPool {
    jobs: std::sync::mpsc::SyncSender<PasswordJob>,
}

impl PasswordPool {
    /// Starts one hashing thread per core, with room for `queue` waiting jobs.
    pub fn new(queue: usize) -> Self {
        let (jobs, waiting) = std::sync::mpsc::sync_channel::<PasswordJob>(queue);
        let waiting = std::sync::Arc::new(std::sync::Mutex::new(waiting));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || {
                    loop {
                        let job = waiting.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("spawning a password thread");
        }
        PasswordPool { jobs }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: PasswordJob = Box::new(move || {
            let _ = done.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(std::sync::mpsc::TrySendError::Full(_)) => {
                metrics::counter!("onsale_password_queue_full_total").increment(1);
                return Err(Error::Api(
                    ApiError::code(ErrorCode::Busy).with_retry_after(BUSY_RETRY_AFTER_SECONDS),
                ));
            }
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                return Err(Error::internal("the password threads stopped"));
            }
        }
        result
            .await
            .map_err(|e| Error::internal_from("a password job was dropped", e))
    }

    /// [`hash_password`] on the pool.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || hash_password(&password)).await?
    }

    /// [`verify_password`] on the pool; `None` as the hash spends the same time and
    /// fails, so timing does not reveal whether a user exists.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        self.run(move || match hash {
            Some(hash) => verify_password(&password, &hash),
            None => {
                let _ = hash_password(&password);
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_expiry_and_only_with_our_key() {
        let secrets = Secrets::generate();
        let user = Uuid::new_v4();
        let token = secrets.issue_token(user, 3, 1_000);
        let claims = TokenClaims {
            user_id: user,
            generation: 3,
        };
        assert_eq!(secrets.verify_token(&token, 999), Some(claims));
        assert_eq!(secrets.verify_token(&token, 1_000), None, "expired");
        assert_eq!(
            Secrets::generate().verify_token(&token, 0),
            None,
            "other key"
        );
        let mut forged = URL_SAFE_NO_PAD.decode(&token).unwrap();
        forged[20] ^= 1;
        assert_eq!(
            secrets.verify_token(&URL_SAFE_NO_PAD.encode(forged), 0),
            None
        );
        assert_eq!(secrets.verify_token("garbage", 0), None);
    }

    #[test]
    fn operator_and_buyer_tokens_are_not_interchangeable() {
        let secrets = Secrets::generate();
        let id = Uuid::new_v4();
        let operator = secrets.issue_operator_token(id, 0, 1_000);
        assert!(secrets.verify_operator_token(&operator, 0).is_some());
        assert_eq!(secrets.verify_token(&operator, 0), None);
        assert_eq!(
            secrets.verify_operator_token(&secrets.issue_token(id, 0, 1_000), 0),
            None
        );
    }

    #[test]
    fn api_key_digests_match_only_their_secret() {
        let secrets = Secrets::generate();
        let digest = secrets.api_key_digest("s3cret");
        assert!(secrets.api_key_matches("s3cret", &digest));
        assert!(!secrets.api_key_matches("s3creT", &digest));
        assert!(!Secrets::generate().api_key_matches("s3cret", &digest));
    }

    #[test]
    fn version_one_tokens_count_as_generation_zero() {
        let secrets = Secrets::generate();
        let user = Uuid::new_v4();
        let mut payload = vec![TOKEN_V1];
        payload.extend_from_slice(user.as_bytes());
        payload.extend_from_slice(&1_000i64.to_be_bytes());
        let mut mac = HmacSha256::new_from_slice(&secrets.token_key).unwrap();
        mac.update(&payload);
        payload.extend_from_slice(&mac.finalize().into_bytes());
        let token = URL_SAFE_NO_PAD.encode(payload);
        assert_eq!(
            secrets.verify_token(&token, 999),
            Some(TokenClaims {
                user_id: user,
                generation: 0
            })
        );
        assert_eq!(secrets.verify_token(&token, 1_000), None, "expired");
    }

    #[test]
    fn ticket_codes_verify_with_the_public_key_only() {
        use ed25519_dalek::{Signature, Verifier, VerifyingKey};
        let secrets = Secrets::generate();
        let code = secrets.sign_ticket(7, "b-1", "FLR-A-1");
        let (payload, signature) = code.split_once('.').unwrap();
        let payload = URL_SAFE_NO_PAD.decode(payload).unwrap();
        assert_eq!(payload, b"onsale-ticket:v1:7:b-1:FLR-A-1");
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        let key = VerifyingKey::from_bytes(&secrets.ticket_public_key()).unwrap();
        assert!(key.verify(&payload, &signature).is_ok());
        assert!(
            key.verify(b"onsale-ticket:v1:7:b-1:FLR-A-2", &signature)
                .is_err()
        );
    }

    #[test]
    fn older_secrets_are_completed_with_the_keys_they_lack() {
        let mut old: Secrets = serde_json::from_value(serde_json::json!({
            "token_key": vec![1u8; 32],
            "index_key": vec![2u8; 32],
            "operator_token": "op_old",
        }))
        .unwrap();
        assert!(old.complete());
        assert_ne!(old.ticket_key, [0u8; 32]);
        assert_ne!(old.queue_key, [0u8; 32]);
        assert_eq!(old.token_key, [1u8; 32], "existing keys are kept");
        assert!(!old.complete(), "nothing left to fill in");
    }

    #[test]
    fn passwords_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
    }

    #[test]
    fn operator_token_comparison() {
        let secrets = Secrets::generate();
        assert!(secrets.is_operator(&secrets.operator_token.clone()));
        assert!(!secrets.is_operator("op_nope"));
        assert!(!secrets.is_operator(""));
        let longer = format!("{}x", secrets.operator_token);
        assert!(
            !secrets.is_operator(&longer),
            "a longer token with the right prefix"
        );
    }
}
