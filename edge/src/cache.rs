//! What a cached response costs, and a byte-bounded least-recently-used cache for the
//! adapters that have no threads (Spin); the native adapter keeps the same weights in
//! moka.

use std::collections::{BTreeMap, HashMap};

use crate::http::EdgeResponse;

/// Bytes an entry costs besides its key, headers and body (the map's slots, the
/// response's fields).
const ENTRY_OVERHEAD: usize = 128;

/// Bytes a header costs besides its name and value.
const HEADER_OVERHEAD: usize = 48;

/// The bytes `response` cached under `key` holds in memory, approximately.
pub fn cache_weight(key: &str, response: &EdgeResponse) -> usize {
    let headers: usize = response
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + HEADER_OVERHEAD)
        .sum();
    ENTRY_OVERHEAD + 2 * key.len() + headers + response.body.len()
}

/// A response cache of at most a number of bytes ([`cache_weight`]); when full, the
/// entries used least recently go first. One thread only (it lives in a `RefCell`).
#[derive(Debug)]
pub struct ByteLru {
    /// Each key's response, its last use and its weight.
    entries: HashMap<String, Entry>,
    /// Keys by last use, oldest first.
    by_use: BTreeMap<u64, String>,
    /// The clock of uses.
    uses: u64,
    bytes: usize,
    max_bytes: usize,
}

#[derive(Debug)]
struct Entry {
    response: EdgeResponse,
    used: u64,
    weight: usize,
}

impl ByteLru {
    /// An empty cache of at most `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        ByteLru {
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            uses: 0,
            bytes: 0,
            max_bytes,
        }
    }

    /// The response under `key`, which becomes the most recently used.
    pub fn get(&mut self, key: &str) -> Option<EdgeResponse> {
        self.uses += 1;
        let entry = self.entries.get_mut(key)?;
        let name = self.by_use.remove(&entry.used)?;
        entry.used = self.uses;
        self.by_use.insert(self.uses, name);
        Some(entry.response.clone())
    }

    /// Keeps `response` under `key`, evicting the least recently used entries to make
    /// room; a response larger than the whole cache is not kept.
    pub fn insert(&mut self, key: &str, response: &EdgeResponse) {
        self.remove(key);
        let weight = cache_weight(key, response);
        if weight > self.max_bytes {
            return;
        }
        while self.bytes + weight > self.max_bytes {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            if let Some(evicted) = self.entries.remove(&oldest) {
                self.bytes -= evicted.weight;
            }
        }
        self.uses += 1;
        self.by_use.insert(self.uses, key.to_string());
        self.entries.insert(
            key.to_string(),
            Entry {
                response: response.clone(),
                used: self.uses,
                weight,
            },
        );
        self.bytes += weight;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.remove(key) {
            self.by_use.remove(&old.used);
            self.bytes -= old.weight;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(size: usize) -> EdgeResponse {
        EdgeResponse::text(200, "x".repeat(size))
    }

    #[test]
    fn stays_under_its_bound_and_keeps_what_is_used() {
        let mut cache = ByteLru::new(64 * 1024);
        cache.insert("popular", &page(1000));
        for n in 0..20_000 {
            cache.insert(&format!("busting-{n}"), &page(500));
            assert!(cache.bytes() <= 64 * 1024);
            if n % 50 == 0 {
                assert!(cache.get("popular").is_some(), "evicted after {n} inserts");
            }
        }
        assert!(cache.get("popular").is_some());
        assert!(cache.get("busting-0").is_none(), "the oldest went first");
        assert!(cache.get("busting-19999").is_some());
        let held: usize = cache.len();
        assert!(held > 10 && !cache.is_empty());
    }

    #[test]
    fn replaces_entries_and_refuses_what_cannot_fit() {
        let mut cache = ByteLru::new(4096);
        cache.insert("a", &page(100));
        let first = cache.bytes();
        cache.insert("a", &page(200));
        assert_eq!(cache.bytes(), first + 100);
        assert_eq!(cache.len(), 1);
        cache.insert("huge", &page(10_000));
        assert!(cache.get("huge").is_none());
        assert_eq!(cache.get("a").unwrap().body.len(), 200);
    }
}
