//! The coordinator's live feeds (the seat feed as a WebSocket and as server-sent events,
//! the queue position, the buyer's notifications): answers that never end, so they cannot
//! go through the core's whole-answer forwarding. Adapters whose platform streams (native,
//! Cloudflare) pass them through before the core sees them ([`is_live_feed`]); on the
//! others (Spin) the core answers at once with where to open them instead.

use onsale_model::{ApiError, ErrorCode};

/// Whether `path` is one of the coordinator's live feeds: `/v1/events/{id}/live` (the
/// WebSocket), `/v1/events/{id}/live.sse`, `/v1/events/{id}/queue/live` and
/// `/v1/me/notifications/live`.
pub fn is_live_feed(path: &str) -> bool {
    if path == "/v1/me/notifications/live" {
        return true;
    }
    let Some(rest) = path.strip_prefix("/v1/events/") else {
        return false;
    };
    let Some((id, feed)) = rest.split_once('/') else {
        return false;
    };
    !id.is_empty() && matches!(feed, "live" | "live.sse" | "queue/live")
}

/// The answer of an edge that cannot stream a live feed: `501 live_elsewhere`, naming
/// `live_url` (the coordinator as browsers reach it) when there is one, at once rather
/// than after a wait for an answer that never ends.
pub(crate) fn elsewhere(path: &str, live_url: Option<&str>) -> ApiError {
    match live_url {
        Some(url) => ApiError {
            live_url: Some(Box::new(url.to_string())),
            ..ApiError::new(
                ErrorCode::LiveElsewhere,
                format!("this edge cannot stream live feeds; open {url}{path}"),
            )
        },
        None => ApiError::new(
            ErrorCode::LiveElsewhere,
            "this edge cannot stream live feeds and knows no address for them; \
             poll the seats or the queue position instead",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::is_live_feed;

    #[test]
    fn live_feeds_are_told_from_other_paths() {
        for path in [
            "/v1/events/7/live",
            "/v1/events/7/live.sse",
            "/v1/events/7/queue/live",
            "/v1/me/notifications/live",
        ] {
            assert!(is_live_feed(path), "{path}");
        }
        for path in [
            "/v1/events/7",
            "/v1/events/7/seats",
            "/v1/events/7/queue",
            "/v1/events//live",
            "/v1/events/7/live/x",
            "/v1/me/notifications",
            "/events/7/live",
        ] {
            assert!(!is_live_feed(path), "{path}");
        }
    }
}
