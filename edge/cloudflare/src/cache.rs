//! The core's response cache over the Workers Cache API (`caches.default`).
//!
//! Keys: the Cache API keys by URL, so the core's key (which starts with the snapshot
//! version, `v{version}:{path}?{query}`) becomes one percent-encoded path segment under a
//! host of the cache's own, e.g. `https://edge-cache.onsale.invalid/v42%3A%2Fv1%2Fsearch%3Fq%3Djazz`.
//! A new snapshot therefore never reads an old one's entries.
//!
//! Freshness: the core marks its answers `Cache-Control: public, no-cache` (browsers keep
//! and revalidate them), but the Cache API stores only what has a `max-age`. A stored copy
//! carries `max-age` instead, with the core's header kept beside it and put back on a hit;
//! an entry never goes stale (its key names an immutable snapshot), so the age only bounds
//! how long an entry of a snapshot no longer served occupies the cache.
//!
//! Cloudflare runs the Cache API only for Workers on a custom domain: on `*.workers.dev` a
//! `put` is dropped and every read renders afresh (still correct, only slower).

use onsale_edge::{Cache, EdgeResponse};
use worker::url::form_urlencoded;
use worker::{Headers, Response, ResponseBody};

/// The origin the cache keys live under; never fetched.
const KEY_ORIGIN: &str = "https://edge-cache.onsale.invalid/";

/// How long a stored copy is kept, in seconds (a day).
const STORED_MAX_AGE: &str = "public, max-age=86400";

/// Where a stored copy keeps the core's own `Cache-Control`.
const ORIGINAL_CACHE_CONTROL: &str = "x-onsale-cache-control";

/// Headers the Cache API adds to or changes on a stored copy; not the core's.
const ADDED_BY_CACHE: &[&str] = &["cache-control", "cf-cache-status", "age", "content-length"];

/// The Workers Cache API, as the core's [`Cache`].
pub struct WorkersCache {
    cache: worker::Cache,
}

impl WorkersCache {
    /// The default cache of the zone the worker runs in.
    pub fn new() -> Self {
        WorkersCache {
            cache: worker::Cache::default(),
        }
    }
}

impl Default for WorkersCache {
    fn default() -> Self {
        WorkersCache::new()
    }
}

/// The Cache API key for one of the core's keys.
fn key_url(key: &str) -> String {
    let segment: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    format!("{KEY_ORIGIN}{segment}")
}

impl Cache for WorkersCache {
    async fn get(&self, key: &str) -> Option<EdgeResponse> {
        let mut hit = self.cache.get(key_url(key), false).await.ok()??;
        let mut headers = Vec::new();
        for (name, value) in hit.headers().entries() {
            if name == ORIGINAL_CACHE_CONTROL {
                headers.push(("cache-control".to_string(), value));
            } else if !ADDED_BY_CACHE.contains(&name.as_str()) {
                headers.push((name, value));
            }
        }
        let body = hit.bytes().await.ok()?;
        Some(EdgeResponse {
            status: hit.status_code(),
            headers,
            body: body.into(),
        })
    }

    async fn put(&self, key: &str, response: &EdgeResponse) {
        let headers = Headers::new();
        for (name, value) in &response.headers {
            let name = if name == "cache-control" {
                ORIGINAL_CACHE_CONTROL
            } else {
                name.as_str()
            };
            if headers.append(name, value).is_err() {
                return;
            }
        }
        if headers.set("cache-control", STORED_MAX_AGE).is_err() {
            return;
        }
        let Ok(stored) = Response::from_body(ResponseBody::Body(response.body.to_vec())) else {
            return;
        };
        let stored = stored.with_status(response.status).with_headers(headers);
        // A copy that could not be stored is rendered again next time: nothing to report.
        let _ = self.cache.put(key_url(key), stored).await;
    }
}
