//! Seats, holds, idempotency records and the seats each account has of an event.

use onsale_store::{Empty, Raw, Table};

use crate::booking::limits::AccountSeats;
use crate::clock::Millis;
use crate::store::keys::prefix;
use crate::store::records::{HoldRecord, IdempotencyRecord, SeatRecord};

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
    use crate::store::tables::key_bytes::{int, text};

    #[test]
    fn keys_keep_their_bytes() {
        let event = 7u64.to_be_bytes();
        let seat = [&[0x13][..], &event, &300u32.to_be_bytes()].concat();
        assert_eq!(SEATS.key(&(7, 300)), seat);
        assert_eq!(HOLDS.key("h\0ld"), [&[0x20][..], b"h\0\xffld\0"].concat());
        assert_eq!(
            HOLD_EXPIRY.key(&(-3, "h\0ld")),
            [&[0x21][..], &int(-3), &text("h\0ld")].concat()
        );
        let idem = [&[0x22][..], b"u\0hold\0k\0"].concat();
        assert_eq!(IDEMPOTENCY.key(&("u", "hold", "k")), idem);
        assert_eq!(
            IDEMPOTENCY_EXPIRY.key(&(5, &idem)),
            [&[0x23][..], &int(5), &text(&idem)].concat()
        );
        let account = [&[0x24][..], &event, b"user\0"].concat();
        assert_eq!(ACCOUNT_SEATS.key(&(7, "user")), account);
    }

    #[test]
    fn strings_are_prefix_free() {
        let (a, b, with_nul) = (HOLDS.key("ab"), HOLDS.key("a"), HOLDS.key("a\0b"));
        assert!(b < with_nul && with_nul < a);
        assert!(!a.starts_with(&b));
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
