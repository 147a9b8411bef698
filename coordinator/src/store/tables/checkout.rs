//! Bookings, the durable task queue and the payment provider's webhooks.

use onsale_store::{Counter, Empty, Table};

use crate::clock::Millis;
use crate::store::keys::prefix;
use crate::store::records::{BookingRecord, TaskRecord};

/// `booking id` → the booking.
pub(crate) const BOOKINGS: Table<String, BookingRecord> = Table::new(prefix::BOOKING);

/// `(user id, created_at, booking id)` → nothing: an account's bookings in time order.
/// Bookings made before this index existed are not in it.
pub(crate) const ACCOUNT_BOOKINGS: Table<(String, Millis, String), (), Empty> =
    Table::new(prefix::ACCOUNT_BOOKINGS);

/// `(event id, created_at, booking id)` → nothing: an event's bookings in time order
/// (those made before the index existed are added when a coordinator first starts).
pub(crate) const EVENT_BOOKINGS: Table<(u64, Millis, String), (), Empty> =
    Table::new(prefix::EVENT_BOOKINGS);

/// `(due_at, task id)` → a task, run once due; claiming one moves it to the end of its
/// lease.
pub(crate) const TASKS: Table<(Millis, String), TaskRecord> = Table::new(prefix::TASK);

/// `(provider, provider event id)` → when the webhook was first received.
pub(crate) const WEBHOOKS: Table<(String, String), Millis, Counter> = Table::new(prefix::WEBHOOK);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::key_bytes::int;

    #[test]
    fn keys_keep_their_bytes() {
        assert_eq!(BOOKINGS.key("b-1"), [&[0x40][..], b"b-1\0"].concat());
        assert_eq!(
            ACCOUNT_BOOKINGS.key(&("u", 7, "b")),
            [&[0x41][..], b"u\0", &int(7), b"b\0"].concat()
        );
        assert_eq!(
            EVENT_BOOKINGS.key(&(3u64, 7, "b")),
            [&[0x42][..], &3u64.to_be_bytes(), &int(7), b"b\0"].concat()
        );
        assert_eq!(
            TASKS.key(&(-2, "t\0")),
            [&[0x50][..], &int(-2), b"t\0\xff\0"].concat()
        );
        let due = TASKS.before(&5i64);
        assert_eq!(
            (due.begin, due.end),
            (vec![0x50], [&[0x50][..], &int(5)].concat())
        );
        assert_eq!(
            WEBHOOKS.key(&("stripe", "evt_1")),
            [&[0x51][..], b"stripe\0evt_1\0"].concat()
        );
    }
}
