//! Values sealed at rest: a [`Store`] wrapper that encrypts every value it writes with
//! XChaCha20-Poly1305 before the backend sees it, and opens what it reads, whatever the
//! backend (fjall files, PostgreSQL tables and backups, FoundationDB).
//!
//! Layout of a sealed value: `MAGIC` (4 bytes), the key's fingerprint (4), a random nonce
//! (24), then the ciphertext with its 16-byte tag: 48 bytes more than the value.
//!
//! Decisions:
//! - Keys stay in the clear (they are ordered and scanned, and hold no personal data:
//!   see the tables of the store's users); the value's key is its associated data, so a sealed value copied
//!   under another key fails to open. Change-log entries get their positions at commit, so
//!   they are bound to the log (`"log"`) instead.
//! - Counters written by [`Tx::add`] stay plain little-endian integers (the backend adds
//!   to them in place), empty values (index entries) stay empty, and a value without the
//!   seal's header is read as it is: data
//!   written before sealing was switched on stays readable and is sealed when next
//!   written. Sealing keeps data secret from whoever reads the disks or the backups; it
//!   does not stop someone who can write to the store from writing plain values.
//! - Several keys may open (the current one and earlier ones, told apart by fingerprint),
//!   so a key is rotated by starting with a new current key and the old one as previous;
//!   values move to the new key as they are rewritten.
//! - A value that fails to open is an error, never garbage handed to the caller.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::log;
use crate::{KeyValue, RangeRead, Result, RetryPolicy, Store, StoreError, Tx, Txn};

/// Marks a sealed value (version 1 of the layout).
const MAGIC: [u8; 4] = [0x00, b'o', b's', 0x01];
/// Associated data of change-log entries.
const LOG_AAD: &[u8] = b"log";
const HEADER: usize = MAGIC.len() + 4 + 24;

/// One 32-byte sealing key.
#[derive(Clone)]
pub struct SealKey {
    cipher: XChaCha20Poly1305,
    fingerprint: [u8; 4],
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealKey({:02x?})", self.fingerprint)
    }
}

impl SealKey {
    /// A key from its 32 bytes.
    pub fn new(bytes: [u8; 32]) -> SealKey {
        let digest = Sha256::new()
            .chain_update(b"onsale seal key fingerprint")
            .chain_update(bytes)
            .finalize();
        SealKey {
            cipher: XChaCha20Poly1305::new(&bytes.into()),
            fingerprint: [digest[0], digest[1], digest[2], digest[3]],
        }
    }

    /// A new random key, written as base64url (for `onsale seal-key`).
    pub fn generate() -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    }
}

/// Seals with the current key, opens with any of the keys.
#[derive(Debug, Clone)]
pub struct Sealer {
    current: SealKey,
    previous: Vec<SealKey>,
}

impl Sealer {
    /// Seals with `current`; opens values sealed with it or any of `previous`.
    pub fn new(current: SealKey, previous: Vec<SealKey>) -> Sealer {
        Sealer { current, previous }
    }

    fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; 24] = rand::random();
        let sealed = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .expect("XChaCha20-Poly1305 seals any length the store takes");
        let mut value = Vec::with_capacity(HEADER + sealed.len());
        value.extend_from_slice(&MAGIC);
        value.extend_from_slice(&self.current.fingerprint);
        value.extend_from_slice(&nonce);
        value.extend_from_slice(&sealed);
        value
    }

    fn open(&self, aad: &[u8], value: Vec<u8>) -> Result<Vec<u8>> {
        if !value.starts_with(&MAGIC) {
            return Ok(value);
        }
        let unreadable = |why: &str| StoreError::backend("seal", why.to_string());
        if value.len() < HEADER + 16 {
            return Err(unreadable("a sealed value is cut short"));
        }
        let fingerprint = &value[4..8];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.fingerprint == fingerprint)
            .ok_or_else(|| unreadable("a value is sealed with a key this coordinator lacks"))?;
        key.cipher
            .decrypt(
                XNonce::from_slice(&value[8..HEADER]),
                Payload {
                    msg: &value[HEADER..],
                    aad,
                },
            )
            .map_err(|_| {
                unreadable("a sealed value does not open: damaged, or moved from another key")
            })
    }
}

/// Whether a value read without the wrapper is sealed (a store opened without its key).
pub fn is_sealed(value: &[u8]) -> bool {
    value.starts_with(&MAGIC)
}

fn aad(key: &[u8]) -> &[u8] {
    if log::is_log(key) { LOG_AAD } else { key }
}

/// A store whose values are sealed ([`Sealer`]) on their way to `inner`.
pub struct SealedStore {
    inner: Arc<dyn Store>,
    sealer: Arc<Sealer>,
}

impl SealedStore {
    /// Seals everything written to `inner` from now on.
    pub fn new(inner: Arc<dyn Store>, sealer: Sealer) -> SealedStore {
        SealedStore {
            inner,
            sealer: Arc::new(sealer),
        }
    }
}

#[async_trait]
impl Store for SealedStore {
    async fn begin(&self) -> Result<Txn> {
        Ok(Arc::new(SealedTx {
            inner: self.inner.begin().await?,
            sealer: self.sealer.clone(),
        }))
    }

    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn retry_policy(&self) -> &RetryPolicy {
        self.inner.retry_policy()
    }
}

struct SealedTx {
    inner: Txn,
    sealer: Arc<Sealer>,
}

#[async_trait]
impl Tx for SealedTx {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.inner.get(key).await? {
            Some(value) => Ok(Some(self.sealer.open(aad(key), value)?)),
            None => Ok(None),
        }
    }

    async fn get_range(&self, range: RangeRead) -> Result<Vec<KeyValue>> {
        self.inner
            .get_range(range)
            .await?
            .into_iter()
            .map(|(key, value)| {
                let value = self.sealer.open(aad(&key), value)?;
                Ok((key, value))
            })
            .collect()
    }

    fn set(&self, key: &[u8], value: &[u8]) {
        // An empty value (an index entry, whose key is all there is) has nothing to hide.
        if value.is_empty() {
            self.inner.set(key, value);
        } else {
            self.inner.set(key, &self.sealer.seal(aad(key), value));
        }
    }

    fn clear(&self, key: &[u8]) {
        self.inner.clear(key);
    }

    async fn clear_range(&self, begin: &[u8], end: &[u8]) -> Result<()> {
        self.inner.clear_range(begin, end).await
    }

    async fn add(&self, key: &[u8], delta: i64) -> Result<()> {
        self.inner.add(key, delta).await
    }

    fn append_log(&self, entry: &[u8]) {
        self.inner.append_log(&self.sealer.seal(LOG_AAD, entry));
    }

    async fn commit(&self) -> Result<()> {
        self.inner.commit().await
    }

    async fn rollback(&self) {
        self.inner.rollback().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(SealKey::new([byte; 32]), Vec::new())
    }

    #[test]
    fn seals_and_opens_bound_to_the_key() {
        let s = sealer(1);
        let sealed = s.seal(b"\x30user-1", b"{\"email\":\"ada@example.com\"}");
        assert!(sealed.starts_with(&MAGIC));
        assert!(!sealed.windows(3).any(|w| w == b"ada"));
        assert_eq!(
            s.open(b"\x30user-1", sealed.clone()).unwrap(),
            b"{\"email\":\"ada@example.com\"}"
        );
        assert!(
            s.open(b"\x30user-2", sealed.clone()).is_err(),
            "moved to another key"
        );
        assert!(
            sealer(2).open(b"\x30user-1", sealed.clone()).is_err(),
            "unknown key"
        );
        let mut damaged = sealed;
        *damaged.last_mut().unwrap() ^= 1;
        assert!(s.open(b"\x30user-1", damaged).is_err());
        assert_eq!(s.open(b"k", b"plain".to_vec()).unwrap(), b"plain");
    }

    #[test]
    fn previous_keys_still_open() {
        let old = sealer(1);
        let sealed = old.seal(b"k", b"value");
        let rotated = Sealer::new(SealKey::new([2; 32]), vec![SealKey::new([1; 32])]);
        assert_eq!(rotated.open(b"k", sealed).unwrap(), b"value");
        let resealed = rotated.seal(b"k", b"value");
        assert!(old.open(b"k", resealed).is_err());
    }

    #[test]
    fn generated_keys_are_32_bytes_of_base64url() {
        let text = SealKey::generate();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&text)
            .unwrap();
        assert_eq!(bytes.len(), 32);
        assert_ne!(SealKey::generate(), text);
        assert_ne!(
            SealKey::new([1; 32]).fingerprint,
            SealKey::new([2; 32]).fingerprint
        );
    }
}
