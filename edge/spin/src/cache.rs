//! The core's response cache, in the component instance's memory.
//!
//! An instance of a wasi:http component usually serves one request, so this cache rarely
//! outlives it; it is what a runtime that reuses instances keeps between requests.
//! (Spin's key-value store would outlive instances, but it is a Spin-only interface that
//! other wasi:http hosts cannot link.)

use std::cell::RefCell;

use onsale_edge::{ByteLru, Cache, EdgeResponse};

/// A cache bounded by the bytes it holds, the least recently used entries evicted first
/// (the core's [`ByteLru`]; an instance runs one thread).
pub struct InstanceCache {
    entries: RefCell<ByteLru>,
}

impl InstanceCache {
    /// A cache of at most `max_bytes` bytes of responses.
    pub fn new(max_bytes: usize) -> Self {
        InstanceCache {
            entries: RefCell::new(ByteLru::new(max_bytes)),
        }
    }
}

impl Cache for InstanceCache {
    async fn get(&self, key: &str) -> Option<EdgeResponse> {
        self.entries.borrow_mut().get(key)
    }

    async fn put(&self, key: &str, response: &EdgeResponse) {
        self.entries.borrow_mut().insert(key, response);
    }
}
