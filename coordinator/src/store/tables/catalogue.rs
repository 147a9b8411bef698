//! Events, their listing order and their seat maps.

use onsale_model::Event;
use onsale_store::{Empty, Table};

use crate::clock::Millis;
use crate::store::keys::prefix;
use crate::store::records::StoredSeatMap;

/// `event id` → the event.
pub(crate) const EVENTS: Table<u64, Event> = Table::new(prefix::EVENT);

/// `(starts_at, event id)` → nothing: the listing order of published events.
pub(crate) const EVENT_ORDER: Table<(Millis, u64), (), Empty> = Table::new(prefix::EVENT_ORDER);

/// `event id` → nothing: the drafts, which the listing order leaves out.
pub(crate) const EVENT_DRAFTS: Table<u64, (), Empty> = Table::new(prefix::EVENT_DRAFT);

/// `event id` → its seat map, fixed once the event is created.
pub(crate) const SEAT_MAPS: Table<u64, StoredSeatMap> = Table::new(prefix::SEAT_MAP);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tables::key_bytes::int;

    #[test]
    fn keys_keep_their_bytes() {
        let id = 7u64.to_be_bytes();
        assert_eq!(EVENTS.key(&7), [&[0x10][..], &id].concat());
        let order = [&[0x11][..], &int(-5), &id].concat();
        assert_eq!(EVENT_ORDER.key(&(-5, 7)), order);
        assert_eq!(EVENT_ORDER.unpack_key(&order), Some((-5, 7)));
        assert_eq!(SEAT_MAPS.key(&7), [&[0x12][..], &id].concat());
        assert_eq!(EVENT_DRAFTS.key(&7), [&[0x14][..], &id].concat());
    }

    #[test]
    fn the_listing_order_follows_start_times() {
        let mut keys: Vec<_> = [3, i64::MIN, -1, i64::MAX, 0]
            .iter()
            .map(|&at| EVENT_ORDER.key(&(at, 1)))
            .collect();
        keys.sort();
        let starts: Vec<_> = keys
            .iter()
            .map(|key| EVENT_ORDER.unpack_key(key).unwrap().0)
            .collect();
        assert_eq!(starts, [i64::MIN, -1, 0, 3, i64::MAX]);
    }
}
