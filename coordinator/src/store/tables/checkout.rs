//! Bookings, the durable task queue and the payment provider's webhooks.

use onsale_store::{Counter, Table};

use crate::booking::records::{BookingRecord, TaskRecord};
use crate::clock::Millis;
use crate::store::keys::prefix;

/// `booking id` → the booking.
pub(crate) const BOOKINGS: Table<String, BookingRecord> = Table::new(prefix::BOOKING);

/// `(due_at, task id)` → a task, run once due; claiming one moves it to the end of its
/// lease.
pub(crate) const TASKS: Table<(Millis, String), TaskRecord> = Table::new(prefix::TASK);

/// `(provider, provider event id)` → when the webhook was first received.
pub(crate) const WEBHOOKS: Table<(String, String), Millis, Counter> = Table::new(prefix::WEBHOOK);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys;

    #[test]
    fn keys_are_those_of_the_key_builders() {
        assert_eq!(BOOKINGS.key("b-1"), keys::booking("b-1"));
        assert_eq!(TASKS.key(&(-2, "t\0")), keys::task(-2, "t\0"));
        assert_eq!(TASKS.before(&5i64).end, keys::tasks_due_before(5).end);
        assert_eq!(TASKS.all().begin, keys::tasks_due_before(5).begin);
        assert_eq!(
            WEBHOOKS.key(&("stripe", "evt_1")),
            keys::webhook("stripe", "evt_1")
        );
    }
}
