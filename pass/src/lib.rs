//! Waiting-room passes and queue tickets: what the coordinator signs and what the
//! coordinator and the edge check, with one key shared between them.
//!
//! - A [`Ticket`] names a place in an event's queue (event and user). It lets a client
//!   ask for its position without logging in again (a browser's `EventSource` cannot
//!   send headers), and it is never accepted as a pass.
//! - A [`Pass`] says that a user was admitted to an event's booking until `expires_at`.
//!   Hold requests carry it in [`PASS_HEADER`] while the event's waiting room is on.
//!
//! Both are `base64url(version ‖ kind ‖ fields ‖ HMAC-SHA256)`: stateless, so the edge
//! checks a pass with the shared [`QueueKey`] and its own clock, without a call to the
//! coordinator. The kind byte keeps a ticket from ever verifying as a pass.
//!
//! No I/O and no clock of its own (callers pass `now`), so it builds for wasm32.

#![deny(missing_docs)]

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The request header that carries a pass (lower case, as HTTP/2 and the edge spell it).
pub const PASS_HEADER: &str = "x-queue-pass";

const VERSION: u8 = 1;
const KIND_TICKET: u8 = b'T';
const KIND_PASS: u8 = b'P';
const TAG_LEN: usize = 32;
/// version, kind, event id, user id.
const TICKET_FIELDS: usize = 1 + 1 + 8 + 16;
/// version, kind, event id, user id, expiry.
const PASS_FIELDS: usize = TICKET_FIELDS + 8;

/// Proof that a user was admitted to an event's booking until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// The event it admits to.
    pub event_id: u64,
    /// The user it was issued to (a UUID's bytes).
    pub user_id: [u8; 16],
    /// End of validity, in milliseconds since the Unix epoch.
    pub expires_at: i64,
}

/// A place in an event's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// The event whose queue it is.
    pub event_id: u64,
    /// The user in the queue (a UUID's bytes).
    pub user_id: [u8; 16],
}

/// Why a pass or ticket was refused; `Display` is a message for the person who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassError {
    /// Not a pass (or ticket) at all: bad encoding, length, version or kind.
    Malformed,
    /// Well-formed, but not signed with this deployment's key.
    Forged,
    /// Signed, but for another event.
    OtherEvent {
        /// The event the pass is for.
        pass_event: u64,
        /// The event asked for.
        event_id: u64,
    },
    /// Signed for this event, but for another user.
    OtherUser,
    /// Signed for this event, but its time is over.
    Expired {
        /// When it expired, in milliseconds since the Unix epoch.
        expires_at: i64,
    },
}

impl fmt::Display for PassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassError::Malformed => f.write_str("the queue pass is malformed"),
            PassError::Forged => f.write_str("the queue pass was not issued by this site"),
            PassError::OtherEvent {
                pass_event,
                event_id,
            } => write!(
                f,
                "the queue pass is for event {pass_event}, not event {event_id}; join event {event_id}'s queue"
            ),
            PassError::OtherUser => f.write_str("the queue pass was issued to another user"),
            PassError::Expired { .. } => {
                f.write_str("the queue pass has expired; join the queue again")
            }
        }
    }
}

impl std::error::Error for PassError {}

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError;

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a queue key is 32 bytes: 64 hex digits or 43 base64url characters")
    }
}

impl std::error::Error for KeyError {}

/// 32 key bytes written as 64 hex digits or as 43 base64url characters (how onsale's
/// keys are given on command lines and in the environment).
pub fn parse_key_bytes(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| KeyError)?
    } else {
        URL_SAFE_NO_PAD.decode(text).map_err(|_| KeyError)?
    };
    bytes.try_into().map_err(|_| KeyError)
}

/// The key that signs and checks passes and tickets; shared by the coordinators (in the
/// store's secrets) and the edge (given as configuration).
#[derive(Clone, PartialEq, Eq)]
pub struct QueueKey([u8; 32]);

impl fmt::Debug for QueueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueKey(..)")
    }
}

impl QueueKey {
    /// A key from its bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        QueueKey(bytes)
    }

    /// Reads a key written as 64 hex digits or as 43 base64url characters (what
    /// [`QueueKey::encode`] writes).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        parse_key_bytes(text).map(QueueKey)
    }

    /// The key as 43 base64url characters.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Signs a pass.
    pub fn sign_pass(&self, pass: &Pass) -> String {
        let mut bytes = Vec::with_capacity(PASS_FIELDS + TAG_LEN);
        bytes.extend_from_slice(&[VERSION, KIND_PASS]);
        bytes.extend_from_slice(&pass.event_id.to_be_bytes());
        bytes.extend_from_slice(&pass.user_id);
        bytes.extend_from_slice(&pass.expires_at.to_be_bytes());
        self.seal(bytes)
    }

    /// Checks a pass for a hold on `event_id` at `now` (milliseconds since the Unix
    /// epoch), and, when `user_id` is given, that it was issued to that user. The edge,
    /// which does not verify bearer tokens, leaves the user check to the coordinator.
    pub fn check_pass(
        &self,
        text: &str,
        event_id: u64,
        user_id: Option<&[u8; 16]>,
        now: i64,
    ) -> Result<Pass, PassError> {
        let fields = self.open(text, KIND_PASS, PASS_FIELDS)?;
        let pass = Pass {
            event_id: u64_at(&fields, 2),
            user_id: user_at(&fields),
            expires_at: u64_at(&fields, TICKET_FIELDS) as i64,
        };
        if pass.event_id != event_id {
            return Err(PassError::OtherEvent {
                pass_event: pass.event_id,
                event_id,
            });
        }
        if user_id.is_some_and(|user| *user != pass.user_id) {
            return Err(PassError::OtherUser);
        }
        if now >= pass.expires_at {
            return Err(PassError::Expired {
                expires_at: pass.expires_at,
            });
        }
        Ok(pass)
    }

    /// Signs a ticket.
    pub fn sign_ticket(&self, ticket: &Ticket) -> String {
        let mut bytes = Vec::with_capacity(TICKET_FIELDS + TAG_LEN);
        bytes.extend_from_slice(&[VERSION, KIND_TICKET]);
        bytes.extend_from_slice(&ticket.event_id.to_be_bytes());
        bytes.extend_from_slice(&ticket.user_id);
        self.seal(bytes)
    }

    /// The ticket `text` stands for, if this key signed it.
    pub fn verify_ticket(&self, text: &str) -> Result<Ticket, PassError> {
        let fields = self.open(text, KIND_TICKET, TICKET_FIELDS)?;
        Ok(Ticket {
            event_id: u64_at(&fields, 2),
            user_id: user_at(&fields),
        })
    }

    fn mac(&self) -> HmacSha256 {
        HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }

    /// Appends the tag and encodes.
    fn seal(&self, mut fields: Vec<u8>) -> String {
        let mut mac = self.mac();
        mac.update(&fields);
        fields.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD.encode(fields)
    }

    /// Decodes, checks the shape and the tag (in constant time), returns the fields.
    fn open(&self, text: &str, kind: u8, len: usize) -> Result<Vec<u8>, PassError> {
        let mut bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| PassError::Malformed)?;
        if bytes.len() != len + TAG_LEN || bytes[0] != VERSION || bytes[1] != kind {
            return Err(PassError::Malformed);
        }
        let tag = bytes.split_off(len);
        let mut mac = self.mac();
        mac.update(&bytes);
        mac.verify_slice(&tag).map_err(|_| PassError::Forged)?;
        Ok(bytes)
    }
}

fn u64_at(fields: &[u8], at: usize) -> u64 {
    let mut be = [0u8; 8];
    be.copy_from_slice(&fields[at..at + 8]);
    u64::from_be_bytes(be)
}

fn user_at(fields: &[u8]) -> [u8; 16] {
    let mut user = [0u8; 16];
    user.copy_from_slice(&fields[10..26]);
    user
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: [u8; 16] = [7; 16];
    const BOB: [u8; 16] = [8; 16];

    fn key() -> QueueKey {
        QueueKey::new([42; 32])
    }

    fn pass() -> Pass {
        Pass {
            event_id: 3,
            user_id: ALICE,
            expires_at: 10_000,
        }
    }

    #[test]
    fn a_pass_checks_for_its_event_user_and_time_only() {
        let text = key().sign_pass(&pass());
        assert_eq!(key().check_pass(&text, 3, Some(&ALICE), 9_999), Ok(pass()));
        assert_eq!(key().check_pass(&text, 3, None, 0), Ok(pass()));
        assert_eq!(
            key().check_pass(&text, 4, Some(&ALICE), 0),
            Err(PassError::OtherEvent {
                pass_event: 3,
                event_id: 4
            })
        );
        assert_eq!(
            key().check_pass(&text, 3, Some(&BOB), 0),
            Err(PassError::OtherUser)
        );
        assert_eq!(
            key().check_pass(&text, 3, Some(&ALICE), 10_000),
            Err(PassError::Expired { expires_at: 10_000 })
        );
    }

    #[test]
    fn forged_and_malformed_passes_are_refused() {
        let text = key().sign_pass(&pass());
        let other = QueueKey::new([1; 32]);
        assert_eq!(other.check_pass(&text, 3, None, 0), Err(PassError::Forged));
        let mut bytes = URL_SAFE_NO_PAD.decode(&text).unwrap();
        bytes[30] ^= 1; // a later expiry
        assert_eq!(
            key().check_pass(&URL_SAFE_NO_PAD.encode(&bytes), 3, None, 0),
            Err(PassError::Forged)
        );
        for junk in ["", "not a pass", &text[..text.len() - 2]] {
            assert_eq!(
                key().check_pass(junk, 3, None, 0),
                Err(PassError::Malformed)
            );
        }
    }

    #[test]
    fn tickets_round_trip_and_are_never_passes() {
        let ticket = Ticket {
            event_id: 3,
            user_id: ALICE,
        };
        let text = key().sign_ticket(&ticket);
        assert_eq!(key().verify_ticket(&text), Ok(ticket));
        assert_eq!(
            key().check_pass(&text, 3, None, 0),
            Err(PassError::Malformed)
        );
        let pass = key().sign_pass(&pass());
        assert_eq!(key().verify_ticket(&pass), Err(PassError::Malformed));
    }

    #[test]
    fn keys_parse_from_hex_and_base64url() {
        let key = key();
        assert_eq!(QueueKey::parse(&key.encode()), Ok(key.clone()));
        assert_eq!(QueueKey::parse(&"2a".repeat(32)), Ok(key));
        assert_eq!(QueueKey::parse("2a2a"), Err(KeyError));
        assert_eq!(format!("{:?}", QueueKey::new([1; 32])), "QueueKey(..)");
    }
}
