//! The core's response cache, in the component instance's memory.
//!
//! An instance of a wasi:http component usually serves one request, so this cache rarely
//! outlives it; it is what a runtime that reuses instances keeps between requests.
//! (Spin's key-value store would outlive instances, but it is a Spin-only interface that
//! other wasi:http hosts cannot link.)

use std::cell::RefCell;
use std::collections::HashMap;

use onsale_edge::{Cache, EdgeResponse};

/// A bounded in-memory cache, emptied at once when full: entries of old snapshots are
/// never asked for again, and current ones are rebuilt on demand.
pub struct InstanceCache {
    entries: RefCell<HashMap<String, EdgeResponse>>,
    capacity: usize,
}

impl InstanceCache {
    /// A cache of at most `capacity` responses.
    pub fn new(capacity: usize) -> Self {
        InstanceCache {
            entries: RefCell::new(HashMap::new()),
            capacity,
        }
    }
}

impl Cache for InstanceCache {
    async fn get(&self, key: &str) -> Option<EdgeResponse> {
        self.entries.borrow().get(key).cloned()
    }

    async fn put(&self, key: &str, response: &EdgeResponse) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key.to_string(), response.clone());
    }
}
