//! Every key the coordinator writes, built in one place.
//!
//! A key is a one-byte prefix naming the record kind followed by an order-preserving tuple
//! (FoundationDB's tuple layer, reduced to the types used here): unsigned integers as
//! fixed-width big-endian, signed integers with the sign bit flipped, byte strings escaped
//! (`0x00` → `0x00 0xFF`) and terminated by `0x00`. Range scans therefore follow the order
//! of the values. Keys never hold personal data: users are found by a keyed hash of their
//! username, email or phone, computed by the caller.

use onsale_store::RangeRead;
use onsale_store::tuple::prefix_end;

/// The one-byte prefix of each record kind; no prefix may start another.
pub mod prefix {
    /// Store-wide settings and counters, by name.
    pub const META: &[u8] = &[0x01];
    /// `event(id)` → the event document.
    pub const EVENT: &[u8] = &[0x10];
    /// `(starts_at, id)` → nothing; the listing order of events.
    pub const EVENT_ORDER: &[u8] = &[0x11];
    /// `event id` → the seat map (immutable once created).
    pub const SEAT_MAP: &[u8] = &[0x12];
    /// `(event id, seat number)` → the seat's state; absent means available.
    pub const SEAT: &[u8] = &[0x13];
    /// `hold id` → the hold.
    pub const HOLD: &[u8] = &[0x20];
    /// `(expires_at, hold id)` → nothing; what the sweeper releases.
    pub const HOLD_EXPIRY: &[u8] = &[0x21];
    /// `(user id, idempotency key)` → the stored answer.
    pub const IDEMPOTENCY: &[u8] = &[0x22];
    /// `(created_at, idempotency key)` → the idempotency key; what the sweeper forgets.
    pub const IDEMPOTENCY_EXPIRY: &[u8] = &[0x23];
    /// `(event id, user id)` → the seats the account has of the event: its live holds and
    /// its booked seats; what the per-account limit is checked against.
    pub const ACCOUNT_SEATS: &[u8] = &[0x24];
    /// `user id` → the user.
    pub const USER: &[u8] = &[0x30];
    /// `(field, keyed hash)` → user id; unique usernames, emails and phones.
    pub const USER_INDEX: &[u8] = &[0x31];
    /// `user id` → the account's token generation (a counter); tokens issued in an older
    /// generation are refused.
    pub const TOKEN_GENERATION: &[u8] = &[0x32];
    /// `keyed hash of a username` → its recent failed log-ins (known or unknown username).
    pub const LOGIN_FAILURES: &[u8] = &[0x38];
    /// `(forget_at, login-failures key)` → the login-failures key; what the sweeper forgets.
    pub const LOGIN_FAILURES_EXPIRY: &[u8] = &[0x39];
    /// `booking id` → the booking.
    pub const BOOKING: &[u8] = &[0x40];
    /// `(due_at, task id)` → a task of the durable queue.
    pub const TASK: &[u8] = &[0x50];
    /// `(provider, provider event id)` → when the webhook was first received.
    pub const WEBHOOK: &[u8] = &[0x51];
    /// `(user id, created_at, notification id)` → a notification.
    pub const NOTIFICATION: &[u8] = &[0x60];
    /// `(event id, part)` → one part of an event's waiting room: its settings, its join
    /// counters, its admission state. Three keys, so that joins and admission, which both
    /// run all the time, never conflict with each other.
    pub const WAITING_ROOM: &[u8] = &[0x70];
    /// `(event id, user id)` → the user's place in the event's queue.
    pub const QUEUE_ENTRY: &[u8] = &[0x71];
    /// `(event id, sequence number)` → who holds that place, and their pass's expiry once
    /// admitted; admission reads it in order.
    pub const QUEUE_ORDER: &[u8] = &[0x72];
    /// `(event id, random slot, user id)` → nothing; who joined before the on-sale shuffle,
    /// in the random order the shuffle places them in.
    pub const QUEUE_LOBBY: &[u8] = &[0x73];
}

/// Appends tuple elements to a key after its prefix.
#[derive(Debug, Clone)]
pub struct KeyBuilder(Vec<u8>);

impl KeyBuilder {
    /// Starts a key under a record-kind prefix.
    fn new(prefix: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(prefix);
        KeyBuilder(bytes)
    }

    /// Appends an unsigned integer.
    pub fn u64(mut self, value: u64) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a 32-bit unsigned integer.
    pub fn u32(mut self, value: u32) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a 128-bit unsigned integer (a UUID), fixed-width.
    pub fn u128(mut self, value: u128) -> Self {
        self.0.extend_from_slice(&value.to_be_bytes());
        self
    }

    /// Appends a signed integer, ordered like the numbers.
    pub fn i64(mut self, value: i64) -> Self {
        self.0
            .extend_from_slice(&((value as u64) ^ (1 << 63)).to_be_bytes());
        self
    }

    /// Appends a byte string (escaped and terminated, so prefixes sort first).
    pub fn bytes(mut self, value: &[u8]) -> Self {
        for &b in value {
            self.0.push(b);
            if b == 0 {
                self.0.push(0xff);
            }
        }
        self.0.push(0);
        self
    }

    /// Appends a text string.
    pub fn str(self, value: &str) -> Self {
        self.bytes(value.as_bytes())
    }

    /// The finished key.
    pub fn build(self) -> Vec<u8> {
        self.0
    }

    /// Every key that extends this one.
    pub fn range(self) -> RangeRead {
        RangeRead::prefix(self.0)
    }
}

/// A named setting or counter.
pub fn meta(name: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::META).str(name).build()
}

/// An event's document.
pub fn event(id: u64) -> Vec<u8> {
    KeyBuilder::new(prefix::EVENT).u64(id).build()
}

/// Every event document, in id order.
pub fn events_all() -> RangeRead {
    KeyBuilder::new(prefix::EVENT).range()
}

/// An event's place in the listing order.
pub fn event_order(starts_at: i64, id: u64) -> Vec<u8> {
    KeyBuilder::new(prefix::EVENT_ORDER)
        .i64(starts_at)
        .u64(id)
        .build()
}

/// All events in listing order (start time, then id).
pub fn event_order_all() -> RangeRead {
    KeyBuilder::new(prefix::EVENT_ORDER).range()
}

/// The event id inside an [`event_order`] key.
pub fn event_order_id(key: &[u8]) -> Option<u64> {
    tail_u64(key)
}

/// An event's seat map.
pub fn seat_map(event_id: u64) -> Vec<u8> {
    KeyBuilder::new(prefix::SEAT_MAP).u64(event_id).build()
}

/// One seat's state.
pub fn seat(event_id: u64, seat_no: u32) -> Vec<u8> {
    KeyBuilder::new(prefix::SEAT)
        .u64(event_id)
        .u32(seat_no)
        .build()
}

/// The seat number of a key built by [`seat`].
pub fn seat_ordinal(key: &[u8]) -> Option<u32> {
    let rest = key.strip_prefix(prefix::SEAT)?;
    let tail: [u8; 4] = rest.get(8..)?.try_into().ok()?;
    Some(u32::from_be_bytes(tail))
}

/// Every seat state of an event.
pub fn seats_of(event_id: u64) -> RangeRead {
    KeyBuilder::new(prefix::SEAT).u64(event_id).range()
}

/// The seat number inside a [`seat`] key.
pub fn seat_no(key: &[u8]) -> Option<u32> {
    let tail: [u8; 4] = key.get(key.len().checked_sub(4)?..)?.try_into().ok()?;
    Some(u32::from_be_bytes(tail))
}

/// A hold.
pub fn hold(hold_id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::HOLD).str(hold_id).build()
}

/// A hold's entry in the expiry index.
pub fn hold_expiry(expires_at: i64, hold_id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::HOLD_EXPIRY)
        .i64(expires_at)
        .str(hold_id)
        .build()
}

/// A stored answer to an idempotent request.
pub fn idempotency(user_id: &str, scope: &str, key: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::IDEMPOTENCY)
        .str(user_id)
        .str(scope)
        .str(key)
        .build()
}

/// An idempotency record's entry in the retention index.
pub fn idempotency_expiry(created_at: i64, idempotency_key: &[u8]) -> Vec<u8> {
    KeyBuilder::new(prefix::IDEMPOTENCY_EXPIRY)
        .i64(created_at)
        .bytes(idempotency_key)
        .build()
}

/// An account's token generation.
pub fn token_generation(user_id: u128) -> Vec<u8> {
    KeyBuilder::new(prefix::TOKEN_GENERATION)
        .u128(user_id)
        .build()
}

/// A user.
pub fn user(user_id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::USER).str(user_id).build()
}

/// A unique-field index entry: `field` is `username`, `email` or `phone`, `digest` the
/// keyed hash of its normalised value.
pub fn user_index(field: &str, digest: &[u8]) -> Vec<u8> {
    KeyBuilder::new(prefix::USER_INDEX)
        .str(field)
        .bytes(digest)
        .build()
}

/// The failed log-ins of a username, by the keyed hash of its lower-cased form.
pub fn login_failures(digest: &[u8]) -> Vec<u8> {
    KeyBuilder::new(prefix::LOGIN_FAILURES)
        .bytes(digest)
        .build()
}

/// A failed-log-ins record's entry in the retention index.
pub fn login_failures_expiry(forget_at: i64, record_key: &[u8]) -> Vec<u8> {
    KeyBuilder::new(prefix::LOGIN_FAILURES_EXPIRY)
        .i64(forget_at)
        .bytes(record_key)
        .build()
}

/// Failed-log-ins records to forget before `at` (exclusive), oldest first.
pub fn login_failures_forgotten_before(at: i64) -> RangeRead {
    RangeRead::new(
        KeyBuilder::new(prefix::LOGIN_FAILURES_EXPIRY).build(),
        KeyBuilder::new(prefix::LOGIN_FAILURES_EXPIRY)
            .i64(at)
            .build(),
    )
}

/// A booking.
pub fn booking(booking_id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::BOOKING).str(booking_id).build()
}

/// A task, due at `due_at`.
pub fn task(due_at: i64, task_id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::TASK)
        .i64(due_at)
        .str(task_id)
        .build()
}

/// Tasks due before `now` (exclusive), soonest first.
pub fn tasks_due_before(now: i64) -> RangeRead {
    RangeRead::new(
        KeyBuilder::new(prefix::TASK).build(),
        KeyBuilder::new(prefix::TASK).i64(now).build(),
    )
}

/// A provider's webhook event, recorded once.
pub fn webhook(provider: &str, event_id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::WEBHOOK)
        .str(provider)
        .str(event_id)
        .build()
}

/// A user's notification.
pub fn notification(user_id: &str, created_at: i64, id: &str) -> Vec<u8> {
    KeyBuilder::new(prefix::NOTIFICATION)
        .str(user_id)
        .i64(created_at)
        .str(id)
        .build()
}

/// Every notification of a user, oldest first.
pub fn notifications_of(user_id: &str) -> RangeRead {
    KeyBuilder::new(prefix::NOTIFICATION).str(user_id).range()
}

/// The parts of a waiting room, each under its own key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RoomPart {
    /// The operator's settings; read by joins, holds and admission.
    Settings = 0,
    /// The join counters; written by every batch of joins.
    Joins = 1,
    /// The admission state; written by every admission round.
    Admission = 2,
}

/// One part of an event's waiting room.
pub fn waiting_room(event_id: u64, part: RoomPart) -> Vec<u8> {
    let mut key = KeyBuilder::new(prefix::WAITING_ROOM).u64(event_id).build();
    key.push(part as u8);
    key
}

/// Every part of every waiting room, by event.
pub fn waiting_rooms_all() -> RangeRead {
    KeyBuilder::new(prefix::WAITING_ROOM).range()
}

/// The event of a [`waiting_room`] key, if it is the key of the room's settings.
pub fn waiting_room_settings_event(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix::WAITING_ROOM)?;
    let (id, part) = rest.split_at_checked(8)?;
    if part != [RoomPart::Settings as u8] {
        return None;
    }
    Some(u64::from_be_bytes(id.try_into().ok()?))
}

/// A user's place in an event's queue.
pub fn queue_entry(event_id: u64, user_id: u128) -> Vec<u8> {
    KeyBuilder::new(prefix::QUEUE_ENTRY)
        .u64(event_id)
        .u128(user_id)
        .build()
}

/// The queue place with sequence number `seq`.
pub fn queue_order(event_id: u64, seq: u64) -> Vec<u8> {
    KeyBuilder::new(prefix::QUEUE_ORDER)
        .u64(event_id)
        .u64(seq)
        .build()
}

/// Queue places from `seq` (inclusive) on, in order.
pub fn queue_order_from(event_id: u64, seq: u64) -> RangeRead {
    RangeRead::new(
        queue_order(event_id, seq),
        prefix_end(&KeyBuilder::new(prefix::QUEUE_ORDER).u64(event_id).build()),
    )
}

/// The sequence number inside a [`queue_order`] key.
pub fn queue_order_seq(key: &[u8]) -> Option<u64> {
    if key.len() != 17 || !key.starts_with(prefix::QUEUE_ORDER) {
        return None;
    }
    tail_u64(key)
}

/// Someone waiting for the on-sale shuffle, in a random `slot`.
pub fn queue_lobby(event_id: u64, slot: u64, user_id: u128) -> Vec<u8> {
    KeyBuilder::new(prefix::QUEUE_LOBBY)
        .u64(event_id)
        .u64(slot)
        .u128(user_id)
        .build()
}

/// Everyone waiting for an event's shuffle, in slot order.
pub fn queue_lobby_all(event_id: u64) -> RangeRead {
    KeyBuilder::new(prefix::QUEUE_LOBBY).u64(event_id).range()
}

/// The user inside a [`queue_lobby`] key.
pub fn queue_lobby_user(key: &[u8]) -> Option<u128> {
    let tail: [u8; 16] = key.get(key.len().checked_sub(16)?..)?.try_into().ok()?;
    (key.len() == 33 && key.starts_with(prefix::QUEUE_LOBBY)).then_some(u128::from_be_bytes(tail))
}

fn tail_u64(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_sort_like_numbers() {
        let mut keys: Vec<_> = [-5i64, 3, -1, 0, i64::MAX, i64::MIN]
            .iter()
            .map(|&n| event_order(n, 1))
            .collect();
        keys.sort();
        let ids: Vec<i64> = [i64::MIN, -5, -1, 0, 3, i64::MAX].to_vec();
        let expected: Vec<_> = ids.iter().map(|&n| event_order(n, 1)).collect();
        assert_eq!(keys, expected);
    }

    #[test]
    fn strings_are_prefix_free() {
        let a = hold("ab");
        let b = hold("a");
        let with_nul = hold("a\0b");
        assert!(b < with_nul && with_nul < a);
        assert!(!a.starts_with(&b));
    }

    #[test]
    fn queue_keys_decode_and_keep_their_order() {
        let settings = waiting_room(7, RoomPart::Settings);
        assert_eq!(waiting_room_settings_event(&settings), Some(7));
        assert_eq!(
            waiting_room_settings_event(&waiting_room(7, RoomPart::Joins)),
            None
        );
        assert!(waiting_rooms_all().begin <= settings && settings < waiting_rooms_all().end);
        assert_eq!(queue_order_seq(&queue_order(7, 300)), Some(300));
        assert!(queue_order(7, 255) < queue_order(7, 256));
        let from = queue_order_from(7, 10);
        assert!(from.begin == queue_order(7, 10) && queue_order(7, u64::MAX) < from.end);
        assert!(from.end <= queue_order(8, 0));
        let lobby = queue_lobby(7, 5, u128::MAX - 1);
        assert_eq!(queue_lobby_user(&lobby), Some(u128::MAX - 1));
        assert!(queue_lobby(7, 5, 1) < queue_lobby(7, 6, 0));
        assert!(queue_lobby_all(7).end <= queue_lobby(8, 0, 0));
        assert_eq!(queue_entry(7, 1).len(), 25);
    }
}
