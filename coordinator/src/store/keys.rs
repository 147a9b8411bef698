//! The key prefix of every record kind the coordinator writes, in one place.
//!
//! A key is a one-byte prefix naming the record kind followed by an order-preserving tuple
//! ([`onsale_store::tuple`]): unsigned integers as fixed-width big-endian, signed integers
//! with the sign bit flipped, byte strings escaped (`0x00` → `0x00 0xFF`) and terminated
//! by `0x00`. Range scans therefore follow the order of the values. The typed tables of
//! [`super::tables`] build and read every key. Keys never hold personal data: users are
//! found by a keyed hash of their username, email or phone, computed by the caller.

/// The one-byte prefix of each record kind; no prefix may start another.
pub mod prefix {
    /// Store-wide settings and counters, by name.
    pub const META: &[u8] = &[0x01];
    /// `event(id)` → the event document.
    pub const EVENT: &[u8] = &[0x10];
    /// `(starts_at, id)` → nothing; the listing order of published events.
    pub const EVENT_ORDER: &[u8] = &[0x11];
    /// `event id` → the seat map (immutable once created).
    pub const SEAT_MAP: &[u8] = &[0x12];
    /// `(event id, seat number)` → the seat's state; absent means available.
    pub const SEAT: &[u8] = &[0x13];
    /// `event id` → nothing; the drafts (events not published), oldest first.
    pub const EVENT_DRAFT: &[u8] = &[0x14];
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
    /// `(user id, created_at, booking id)` → nothing; an account's bookings in time order.
    pub const ACCOUNT_BOOKINGS: &[u8] = &[0x41];
    /// `(event id, created_at, booking id)` → nothing; an event's bookings in time order.
    pub const EVENT_BOOKINGS: &[u8] = &[0x42];
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
    /// `operator id` → an operator account.
    pub const OPERATOR: &[u8] = &[0x80];
    /// `keyed hash of a name` → the id of the operator of that name; unique names.
    pub const OPERATOR_NAME: &[u8] = &[0x81];
    /// `key id` → an API key (its secret only as a keyed hash).
    pub const API_KEY: &[u8] = &[0x82];
    /// `(at, sequence, entry id)` → one operator action; the audit trail in time order.
    pub const AUDIT: &[u8] = &[0x83];
    /// `(booking id, seat id)` → when and by whom the seat's ticket was admitted.
    pub const CHECK_IN: &[u8] = &[0x84];
    /// `event id` → how many of its tickets were admitted (a counter).
    pub const CHECK_IN_COUNT: &[u8] = &[0x85];
    /// `ticket short code` → `(booking id, seat id)`; what the door looks a typed code up in.
    pub const TICKET_CODE: &[u8] = &[0x86];
}

#[cfg(test)]
mod tests {
    use super::prefix::*;

    #[test]
    fn no_prefix_starts_another() {
        let all = [
            META,
            EVENT,
            EVENT_ORDER,
            EVENT_DRAFT,
            SEAT_MAP,
            SEAT,
            HOLD,
            HOLD_EXPIRY,
            IDEMPOTENCY,
            IDEMPOTENCY_EXPIRY,
            ACCOUNT_SEATS,
            USER,
            USER_INDEX,
            TOKEN_GENERATION,
            LOGIN_FAILURES,
            LOGIN_FAILURES_EXPIRY,
            BOOKING,
            ACCOUNT_BOOKINGS,
            EVENT_BOOKINGS,
            TASK,
            WEBHOOK,
            NOTIFICATION,
            WAITING_ROOM,
            QUEUE_ENTRY,
            QUEUE_ORDER,
            QUEUE_LOBBY,
            OPERATOR,
            OPERATOR_NAME,
            API_KEY,
            AUDIT,
            CHECK_IN,
            CHECK_IN_COUNT,
            TICKET_CODE,
            onsale_store::log::LOG_PREFIX,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!a.starts_with(b) && !b.starts_with(a), "{a:?} and {b:?}");
            }
        }
    }
}
