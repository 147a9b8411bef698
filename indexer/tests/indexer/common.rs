//! Helpers shared by the tests: events, opening snapshots, searching by query string.

use std::collections::HashSet;

use onsale_indexer::{SearchQuery, Snapshot, build_snapshot};
use onsale_model::{Event, Page};
use time::OffsetDateTime;
use time::macros::datetime;

/// An event with plain defaults; tests override fields with struct update syntax.
pub fn event(id: u64, name: &str) -> Event {
    Event {
        id,
        name: name.to_string(),
        category: "concert".to_string(),
        description: String::new(),
        performers: Vec::new(),
        venue: "Town Hall".to_string(),
        city: "Springfield".to_string(),
        starts_at: day(0),
        image_url: String::new(),
        currency: "EUR".to_string(),
        price_min: 1000,
        price_max: 5000,
        seat_count: 100,
        waiting_room: false,
        time_zone: "UTC".into(),
        time_zone_abbreviation: "UTC".into(),
        max_seats_per_account: 8,
        published: true,
    }
}

/// 20:00 UTC, `n` days after 2027-06-01.
pub fn day(n: i64) -> OffsetDateTime {
    datetime!(2027-06-01 20:00 UTC) + time::Duration::days(n)
}

/// Builds and opens a snapshot of `events` (version 1).
pub fn open(events: &[Event]) -> Snapshot {
    Snapshot::from_bytes(build_snapshot(1, events).expect("build")).expect("open")
}

/// Every event of a snapshot in list order, a page at a time.
pub fn every_event(snapshot: &Snapshot) -> Vec<Event> {
    let mut events = Vec::with_capacity(snapshot.len());
    for page in 1.. {
        let found = snapshot
            .list(onsale_model::PageQuery {
                page,
                page_size: 100,
            })
            .expect("list");
        if found.items.is_empty() {
            break;
        }
        events.extend(found.items);
    }
    events
}

/// Parses a query string the way the edge does.
pub fn query(pairs: &str) -> SearchQuery {
    serde_urlencoded::from_str(pairs).expect("query string")
}

/// One page of a search given as a query string.
pub fn search(snapshot: &Snapshot, pairs: &str) -> Page<Event> {
    snapshot.search(&query(pairs)).expect("search")
}

/// The ids on a page.
pub fn ids(page: &Page<Event>) -> Vec<u64> {
    page.items.iter().map(|event| event.id).collect()
}

/// Pages through a whole search, `page_size` at a time, checking that every page agrees on
/// the total and that no event comes twice; returns the ids in order.
pub fn every_result(snapshot: &Snapshot, pairs: &str, page_size: u32) -> Vec<u64> {
    let mut all = Vec::new();
    let mut total = None;
    for page in 1.. {
        let found = search(
            snapshot,
            &format!("{pairs}&page={page}&page_size={page_size}"),
        );
        assert_eq!(found.page, page);
        assert_eq!(found.page_size, page_size);
        assert_eq!(*total.get_or_insert(found.total), found.total, "{pairs}");
        if found.items.is_empty() {
            break;
        }
        assert!(found.items.len() <= page_size as usize);
        all.extend(ids(&found));
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "{pairs}: an event came twice");
    assert_eq!(
        total,
        Some(all.len() as u64),
        "{pairs}: total differs from results"
    );
    all
}

/// Lower-cased words, as a person reading the text would see them (for oracles).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The ids of `events` in list order (start time, then id).
pub fn in_list_order<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<u64> {
    let mut events: Vec<&Event> = events.into_iter().collect();
    events.sort_by_key(|event| (event.starts_at, event.id));
    events.iter().map(|event| event.id).collect()
}
