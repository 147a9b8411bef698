//! Store-wide settings and counters: named entries under the `META` prefix.

use onsale_store::{Counter, Entry, Text};

use crate::auth::Secrets;
use crate::store::keys::prefix;

/// The keys that sign tokens, tickets and queue passes and hash user identifiers.
pub(crate) const SECRETS: Entry<Secrets> = Entry::new(prefix::META, "secrets");

/// The last event id handed out.
pub(crate) const EVENT_SEQ: Entry<i64, Counter> = Entry::new(prefix::META, "event_seq");

/// How many events are published (drafts are not counted).
pub const EVENT_COUNT: Entry<i64, Counter> = Entry::new(prefix::META, "event_count");

/// The notifier's place in the change log: the position of the last entry it handled, as
/// text.
pub(crate) const NOTIFIER_POSITION: Entry<String, Text> =
    Entry::new(prefix::META, "notifier_position");

/// Set once every booking is in the index of its event's bookings.
pub(crate) const EVENT_BOOKINGS_INDEXED: Entry<String, Text> =
    Entry::new(prefix::META, "event_bookings_indexed");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::key_bytes::text;

    #[test]
    fn keys_keep_their_bytes() {
        let meta = |name: &str| [&[0x01][..], &text(name)].concat();
        assert_eq!(SECRETS.key(), meta("secrets"));
        assert_eq!(EVENT_SEQ.key(), meta("event_seq"));
        assert_eq!(EVENT_COUNT.key(), meta("event_count"));
        assert_eq!(NOTIFIER_POSITION.key(), meta("notifier_position"));
        assert_eq!(EVENT_BOOKINGS_INDEXED.key(), meta("event_bookings_indexed"));
    }
}
