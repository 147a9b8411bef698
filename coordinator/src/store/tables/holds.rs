//! Seats, holds, idempotency records and the seats each account has of an event.

use onsale_store::{Empty, Raw, Table};

use crate::booking::limits::AccountSeats;
use crate::booking::records::{HoldRecord, IdempotencyRecord, SeatRecord};
use crate::clock::Millis;
use crate::store::keys::prefix;

/// `(event id, seat number)` → the seat's state; absent means available. Public for the
/// tests that read the store itself.
pub const SEATS: Table<(u64, u32), SeatRecord> = Table::new(prefix::SEAT);

/// `hold id` → the hold. Public for the tests that read the store itself.
pub const HOLDS: Table<String, HoldRecord> = Table::new(prefix::HOLD);

/// `(expires_at, hold id)` → nothing: what the sweeper releases.
pub(crate) const HOLD_EXPIRY: Table<(Millis, String), (), Empty> = Table::new(prefix::HOLD_EXPIRY);

/// `(user id, scope, idempotency key)` → the answer given.
pub(crate) const IDEMPOTENCY: Table<(String, String, String), IdempotencyRecord> =
    Table::new(prefix::IDEMPOTENCY);

/// `(created_at, idempotency record key)` → that key: what the sweeper forgets.
pub(crate) const IDEMPOTENCY_EXPIRY: Table<(Millis, Vec<u8>), Vec<u8>, Raw> =
    Table::new(prefix::IDEMPOTENCY_EXPIRY);

/// `(event id, user id)` → the seats the account has of the event.
pub(crate) const ACCOUNT_SEATS: Table<(u64, String), AccountSeats> =
    Table::new(prefix::ACCOUNT_SEATS);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn keys_are_those_of_the_key_builders() {
        assert_eq!(SEATS.key(&(7, 300)), keys::seat(7, 300));
        assert_eq!(HOLDS.key("h\0ld"), keys::hold("h\0ld"));
        assert_eq!(
            HOLD_EXPIRY.key(&(-3, "h\0ld")),
            keys::hold_expiry(-3, "h\0ld")
        );
        let idem = keys::idempotency("u", "hold", "k");
        assert_eq!(IDEMPOTENCY.key(&("u", "hold", "k")), idem);
        assert_eq!(
            IDEMPOTENCY_EXPIRY.key(&(5, &idem)),
            keys::idempotency_expiry(5, &idem)
        );
        let account = [&[0x24][..], &7u64.to_be_bytes(), b"user\0"].concat();
        assert_eq!(ACCOUNT_SEATS.key(&(7, "user")), account);
    }

    #[test]
    fn expiry_keys_decode_and_bound_the_sweep() {
        let key = HOLD_EXPIRY.key(&(-3, "h\0ld"));
        assert_eq!(
            HOLD_EXPIRY.unpack_key(&key),
            Some((-3, "h\0ld".to_string()))
        );
        assert!(HOLD_EXPIRY.before(&-2i64).end > key);
        assert!(HOLD_EXPIRY.before(&-3i64).end <= key);
    }
}
